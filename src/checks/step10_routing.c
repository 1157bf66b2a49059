/* mailferry - step 10: every resolver sees the new MX; a final delta after the change;
 * nothing new arrives at the source */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "batch/csvin.h"
#include "batch/ledger.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "imap/ops.h"
#include "imap/session.h"
#include "net/dns.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

#define HOURS_72 (DNS_M365_SYNC_AFTER_MX_HOURS * 3600)

/* ---------------------------------------------------------------- dns.mx_resolvers */

enum seen { SEEN_NEW, SEEN_BOTH, SEEN_OLD, SEEN_NONE, SEEN_ERROR };

static enum seen ask_one(struct check_ctx *c, const char *spec, const char *expected, char *line,
                         size_t n)
{
	struct dns_resolver *r;
	struct dns_result res = {0};
	struct check_mx_tally t;
	struct mf_err err;
	char list[400], who[128];
	enum seen s;

	if (!(r = check_dns_one(c, spec, &err))) {
		snprintf(line, n, "%s: %s", spec ? spec : "system resolver", err.msg);
		return SEEN_ERROR;
	}
	dns_resolver_describe(r, who, sizeof(who));
	if (dns_query(r, c->subject, DNS_T_MX, &res, &err)) {
		snprintf(line, n, "%s: no answer: %s", who, res.summary);
		s = SEEN_ERROR;
	} else if (res.status != DNS_ANSWER) {
		snprintf(line, n, "%s: %s", who, res.summary);
		s = SEEN_NONE;
	} else {
		check_mx_tally(&res, c->subject, expected, &t);
		check_mx_list(&res, list, sizeof(list));
		s = t.m365 && !t.other ? SEEN_NEW : t.m365 ? SEEN_BOTH : SEEN_OLD;
		snprintf(line, n, "%s: %s (%s)", who,
		         s == SEEN_NEW    ? "new MX"
		         : s == SEEN_BOTH ? "old and new MX"
		                          : "old MX",
		         list);
	}
	dns_result_free(&res);
	dns_resolver_free(r);
	return s;
}

/* Splits "a,b" into at most DNS_MAX_SERVERS owned strings; *n = 0 for none. */
static char **servers_of(const char *list, size_t *n)
{
	char **v = mf_calloc(DNS_MAX_SERVERS, sizeof(*v));

	*n = 0;
	while (v && list && *list && *n < DNS_MAX_SERVERS) {
		size_t len;

		list += strspn(list, " ,");
		len = strcspn(list, ",");
		while (len && list[len - 1] == ' ')
			len--;
		if (len && !(v[(*n)++] = mf_strndup(list, len))) {
			csvin_strings_free(v, *n);
			return NULL;
		}
		list += strcspn(list, ",");
	}
	return v;
}

void check_dns_mx_resolvers(struct check_ctx *c)
{
	struct check_expected x;
	size_t nserv = 0, count[5] = {0}, asked;
	char **serv, line[512];

	if (check_skip_demo(c, "public DNS") ||
	    check_skip_no_tenant(c, "which MX is the new one is only known for Microsoft 365"))
		return;
	if (!(serv = servers_of(c->env->set->dns_servers, &nserv))) {
		check_fail(c, "Out of memory", "while reading the resolvers");
		return;
	}
	check_expected_records(c, &x);
	asked = nserv ? nserv : 1;
	for (size_t i = 0; i < asked && !check_cancelled(c); i++) {
		count[ask_one(c, nserv ? serv[i] : NULL, x.mx, line, sizeof(line))]++;
		check_detail(c, "%s", line);
	}
	{
		char detail[sizeof(c->result.detail)];

		snprintf(detail, sizeof(detail), "%s", c->result.detail);
		if (count[SEEN_NEW] == asked) {
			check_pass(c, "Every resolver sees the new MX", "%s", detail);
			if (!nserv)
				check_detail(c, "(only the system's resolver was asked: add others "
				                "with --dns-server to watch the change spread)");
		} else if (count[SEEN_ERROR] == asked) {
			check_fail(c, "No resolver answered", "%s", detail);
			check_remedy(c, "Check the resolvers given with --dns-server (or the jump "
			                "host's /etc/resolv.conf).");
		} else if (!count[SEEN_NEW] && !count[SEEN_BOTH]) {
			check_fail(c, "No resolver sees the new MX yet", "%s", detail);
			check_remedy(c, "Change the MX record of %s to %s (step 9).", c->subject,
			             x.mx);
		} else {
			check_warn(c, "The resolvers do not agree yet: the change is spreading",
			           "%s", detail);
			check_remedy(c,
			             "Keep running deltas until every resolver sees only the new "
			             "MX; caches expire within the old MX TTL (step 8).");
		}
	}
	csvin_strings_free(serv, nserv);
}

/* ---------------------------------------------------------------- migration.final_delta */

/* The latest first sighting of the new MX over the batch's domains; *missing
 * lists the domains where it was not seen yet. */
static int64_t latest_sighting(struct check_ctx *c, char *missing, size_t n, size_t *ndomains)
{
	char **domains = csvin_domains(c->env->rows, ndomains);
	int64_t latest = 0;

	missing[0] = 0;
	for (size_t i = 0; domains && i < *ndomains; i++) {
		char *v = check_state_get(c, "mx_first_seen", domains[i]);
		long long t = v ? atoll(v) : 0;

		if (!t)
			snprintf(missing + strlen(missing), n - strlen(missing), "%s%s",
			         missing[0] ? ", " : "", domains[i]);
		else if (t > latest)
			latest = t;
		free(v);
	}
	csvin_strings_free(domains, *ndomains);
	return latest;
}

void check_migration_final_delta(struct check_ctx *c)
{
	const char *name = c->env->set->name ? c->env->set->name : "NAME";
	char missing[512], seen[32], ran[32], until[32];
	int64_t latest, last = 0;
	size_t ndomains = 0;
	struct mf_err err;

	if (check_skip_demo(c, "public DNS") ||
	    check_skip_no_tenant(c, "the MX change is watched for Microsoft 365 targets only"))
		return;
	if (!c->env->rows) {
		check_skip(c, "The CSV cannot be read", "see csv.valid");
		return;
	}
	latest = latest_sighting(c, missing, sizeof(missing), &ndomains);
	if (missing[0]) {
		check_warn(
		        c, "The MX change has not been seen for every domain",
		        "not seen yet: %s (dns.mx in step 9 records when it first sees the new MX)",
		        missing);
		check_remedy(c,
		             "Change the MX records (step 9), then run mailferry check %s --step "
		             "9 so the change is recorded.",
		             name);
		return;
	}
	if (ledger_last_run_end(batch_ledger(c->env->batch), "migrate", &last, &err))
		last = 0;
	time_rfc3339(seen, sizeof(seen), (time_t)latest);
	time_rfc3339(ran, sizeof(ran), (time_t)last);
	time_rfc3339(until, sizeof(until), (time_t)(latest + HOURS_72));
	if (!last) {
		check_fail(c, "No migration has run", "the new MX was first seen at %s", seen);
		check_remedy(c, "Run the migration: mailferry migrate %s", name);
	} else if (last < latest) {
		check_fail(c, "The last delta ran before the MX change",
		           "the last delta ended at %s; the new MX was first seen at %s: mail that "
		           "reached the old server in between is not on the target",
		           ran, seen);
		check_remedy(c, "Run a final delta now: mailferry migrate %s", name);
	} else if (last < latest + HOURS_72) {
		check_warn(
		        c,
		        "The final delta ran after the MX change, but mail can still arrive "
		        "at the old server",
		        "the last delta ended at %s, after the new MX was first seen (%s); "
		        "senders' "
		        "caches may deliver to the old server until %s (72 hours after the change)",
		        ran, seen, until);
		check_remedy(c,
		             "Run another delta after %s (mailferry migrate %s), then finish the "
		             "batch: mailferry finish %s --yes",
		             until, name, name);
	} else {
		check_pass(
		        c, "The final delta ran after the MX change",
		        "the last delta ended at %s, more than 72 hours after the new MX was first "
		        "seen (%s)",
		        ran, seen);
	}
}

/* ---------------------------------------------------------------- source.quiet */

static const struct ledger_folder *find_folder(const struct ledger_folder *v, size_t n,
                                               const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].src_name && !strcmp(v[i].src_name, name))
			return &v[i];
	return NULL;
}

/* New messages in one folder since the ledger's markers (-1: error). */
static int64_t new_in(struct imap_conn *conn, const struct imap_folder *f,
                      const struct ledger_folder *row, struct mf_err *err)
{
	struct imap_status_info st;
	struct imap_msginfo *m = NULL;
	char set[32];
	size_t n = 0;
	int64_t k = 0;

	if (imap_status(conn, f->name, &st, err))
		return -1;
	if (!row)
		return st.messages; /* a folder the last delta did not know */
	if (st.uidvalidity != row->src_uidvalidity)
		return st.messages; /* renumbered: all of it is to be looked at again */
	if (st.uidnext <= row->src_uidnext)
		return 0;
	snprintf(set, sizeof(set), "%" PRIu32 ":*", row->src_uidnext);
	if (imap_select(conn, f->name, 1, err) || imap_fetch_meta(conn, set, 0, &m, &n, err))
		return -1;
	for (size_t i = 0; i < n; i++)
		k += m[i].uid >= row->src_uidnext;
	imap_msginfos_free(m, n);
	return k;
}

void check_source_quiet(struct check_ctx *c)
{
	const struct ledger_mailbox *mb = check_ledger_mailbox(c, c->subject);
	struct ledger_folder *rows = NULL;
	struct imap_folder *folders = NULL;
	struct imap_conn *conn = NULL;
	size_t nrows = 0, nf = 0;
	int64_t total = 0;
	char when[32];
	struct mf_err err;

	if (!mb || !mb->last_synced) {
		check_skip(c, "Not migrated yet",
		           "no delta has run for this mailbox to compare with");
		return;
	}
	time_rfc3339(when, sizeof(when), (time_t)mb->last_synced);
	if (ledger_folders(batch_ledger(c->env->batch), mb->id, &rows, &nrows, &err) ||
	    check_imap_open(c, 1, &conn, &err) ||
	    imap_list_folders(conn, c->row ? c->row->userroot : NULL, &folders, &nf, &err)) {
		check_fail(c, "Cannot look at the source", "%s", err.msg);
		check_remedy(c, "See step 4 (credentials.source).");
		goto out;
	}
	for (size_t i = 0; i < nf; i++) {
		const struct ledger_folder *row = find_folder(rows, nrows, folders[i].name);
		int64_t k;

		/* excluded folders, and those the last delta could not migrate at all
		 * (their failure is reported by the migration, step 7) */
		if (folders[i].attrs & (IMAP_ATTR_NOSELECT | IMAP_ATTR_NONEXISTENT) ||
		    (row && (row->excluded || (row->status && !strncmp(row->status, "failed", 6)))))
			continue;
		if ((k = new_in(conn, &folders[i], row, &err)) < 0) {
			check_fail(c, "Cannot look at the source", "%s: %s", folders[i].name,
			           err.msg);
			goto out;
		}
		if (k)
			check_detail(c, "  %s: %" PRId64 " new%s",
			             row && row->display ? row->display : folders[i].name, k,
			             row ? "" : " (a folder the last delta did not see)");
		total += k;
	}
	if (total) {
		char detail[sizeof(c->result.detail)];

		snprintf(detail, sizeof(detail), "%s", c->result.detail);
		check_warn(c, "New mail at the source since the last delta",
		           "%" PRId64 " message%s arrived after the last sync (%s):\n%s", total,
		           total == 1 ? "" : "s", when, detail);
		check_remedy(c,
		             "Run a delta (mailferry migrate %s); if the MX already points at the "
		             "new system, find what still delivers to the old server (forwarders, "
		             "scripts, a secondary MX).",
		             c->env->set->name ? c->env->set->name : "NAME");
	} else {
		check_pass(c, "Nothing new at the source since the last delta",
		           "%zu folder%s compared with the last sync (%s)", nf, nf == 1 ? "" : "s",
		           when);
	}
out:
	imap_folders_free(folders, nf);
	ledger_folders_free(rows, nrows);
	check_imap_close(c, 1, conn);
}
