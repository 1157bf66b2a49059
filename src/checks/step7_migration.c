/* mailferry - step 7: each mailbox's last run and what the verification found */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "batch.h"
#include "batch/ledger.h"
#include "checks.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "util/err.h"
#include "util/timeutil.h"

#define SHOWN 10

struct verify_tally {
	size_t folders, failed;
	int64_t last;
};

/* The engine's verification results of this mailbox: subject "<email> <folder>". */
static void verify_tally(struct check_ctx *c, struct verify_tally *v, int list_failures)
{
	const struct ledger_check *r;
	size_t n, len = strlen(c->subject), shown = 0;

	memset(v, 0, sizeof(*v));
	check_verify_results(c, &r, &n);
	for (size_t i = 0; i < n; i++) {
		if (!r[i].subject || strncasecmp(r[i].subject, c->subject, len) ||
		    r[i].subject[len] != ' ')
			continue;
		v->folders++;
		if (r[i].when > v->last)
			v->last = r[i].when;
		if (r[i].status != CHECK_FAIL)
			continue;
		v->failed++;
		if (list_failures && shown++ < SHOWN)
			check_detail(c, "  %s (%s)", r[i].title ? r[i].title : "",
			             r[i].detail ? r[i].detail : "");
	}
}

static void state_line(struct check_ctx *c, const struct ledger_mailbox *m)
{
	char when[32] = "never", done[16], total[16];

	if (m->last_synced)
		time_rfc3339(when, sizeof(when), (time_t)m->last_synced);
	format_bytes(done, sizeof(done), m->bytes_done);
	format_bytes(total, sizeof(total), m->bytes_total);
	check_detail(c, "state %s; last synced %s; %" PRIu64 " of %" PRIu64 " messages (%s of %s)",
	             mbx_state_name(m->state), when, m->msgs_done, m->msgs_total, done, total);
	if (m->skipped)
		check_detail(c,
		             "%" PRIu64 " message%s skipped with the server's reason (mailferry "
		             "report %s lists them)",
		             m->skipped, m->skipped == 1 ? "" : "s",
		             c->env->set->name ? c->env->set->name : "NAME");
}

static void not_done(struct check_ctx *c, const struct ledger_mailbox *m)
{
	const char *name = c->env->set->name ? c->env->set->name : "NAME";

	switch (m->state) {
	case MBX_FAILED:
		check_fail(c, "The last migration of this mailbox failed", "%s",
		           m->last_error ? m->last_error : "(no reason recorded)");
		check_remedy(c,
		             "Fix the cause above, then run mailferry migrate %s again: it "
		             "resumes where it stopped.",
		             name);
		break;
	case MBX_STOPPED:
		check_warn(c, "The migration of this mailbox was interrupted",
		           "it stopped at a resumable point");
		check_remedy(c, "Run mailferry migrate %s to resume it.", name);
		break;
	case MBX_CONNECTING:
	case MBX_SYNCING:
		check_warn(c, "The mailbox is being migrated",
		           "a run is in progress (or one ended without recording its end)");
		check_remedy(c, "Wait for the run to finish (mailferry status %s).", name);
		break;
	default:
		check_warn(c, "Not migrated yet", "no run has synced this mailbox");
		check_remedy(c, "Start the migration: mailferry migrate %s (try --dry-run first).",
		             name);
	}
}

void check_migration_state(struct check_ctx *c)
{
	const struct ledger_mailbox *m = check_ledger_mailbox(c, c->subject);
	const char *name = c->env->set->name ? c->env->set->name : "NAME";
	struct verify_tally v;

	if (!m) {
		check_warn(c, "Not migrated yet", "the mailbox is not in the batch's ledger");
		check_remedy(c, "Start the migration: mailferry migrate %s", name);
		return;
	}
	if (m->state != MBX_SYNCED) {
		not_done(c, m);
		state_line(c, m);
		return;
	}
	verify_tally(c, &v, 0);
	if (v.failed) {
		check_fail(c, "The verification found differences",
		           "%zu of %zu folder%s differ between source and target:", v.failed,
		           v.folders, v.folders == 1 ? "" : "s");
		verify_tally(c, &v, 1);
		check_remedy(c,
		             "Run a delta (mailferry migrate %s), then verify again (mailferry "
		             "verify %s); messages the target refused are listed as skipped with "
		             "the server's reason.",
		             name, name);
	} else if (!v.folders || v.last < m->last_synced) {
		check_warn(c, "Synced, not verified since", "%s",
		           v.folders ? "the last verification is older than the last sync"
		                     : "no verification has run for this mailbox");
		check_remedy(c,
		             "Run mailferry verify %s: it compares every folder, message by "
		             "message.",
		             name);
	} else if (m->skipped) {
		check_warn(c, "Synced and verified, with skipped messages", "%zu folder%s verified",
		           v.folders, v.folders == 1 ? "" : "s");
		check_remedy(c,
		             "Tell the user which messages were not migrated (mailferry report "
		             "%s --format csv lists them with the server's reason).",
		             name);
	} else {
		check_pass(c, "Synced and verified",
		           "%zu folder%s verified: every message is on "
		           "the target",
		           v.folders, v.folders == 1 ? "" : "s");
	}
	state_line(c, m);
}
