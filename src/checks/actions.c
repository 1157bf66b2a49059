/* mailferry - the step actions: notice (3) and welcome (11) by APPEND, finishing the batch (11)
 *
 * The deliveries run through the checks runner with a table of their own
 * (one task per mailbox), so they share its threads, per-server limits,
 * connection rate, timeouts and cancellation, and each mailbox's outcome is
 * a result of the step like any check's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "batch.h"
#include "batch/csvin.h"
#include "batch/ledger.h"
#include "checks.h"
#include "checks/checks_p.h"
#include "checks/template.h"
#include "imap/ops.h"
#include "imap/session.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

struct delivery {
	struct tmpl *t;
	const char *what; /* "notice", "welcome message" */
	int source;       /* into the source's INBOX (else the target's) */
	int dry_run;
	time_t now;
	struct ledger_check *before; /* earlier results of the step (owned) */
	size_t nbefore;
	const char *id;
};

/* When the message already reached this mailbox (a stored PASS), else 0. */
static int64_t delivered_at(const struct delivery *d, const char *email)
{
	for (size_t i = 0; i < d->nbefore; i++)
		if (d->before[i].id && !strcmp(d->before[i].id, d->id) && d->before[i].subject &&
		    !strcasecmp(d->before[i].subject, email) && d->before[i].status == CHECK_PASS)
			return d->before[i].when ? d->before[i].when : 1;
	return 0;
}

static int render(struct check_ctx *c, const struct delivery *d, struct mf_buf *msg)
{
	const struct mf_batch_settings *s = c->env->set;
	struct tmpl_vars v = {.email = c->row->email,
	                      .username = c->row->username,
	                      .batch = s->name,
	                      .source = s->source.host,
	                      .target = s->target.host};
	struct mf_err err;

	if (tmpl_render(d->t, &v, d->now, msg, &err) == 0)
		return 0;
	check_fail(c, "The message cannot be built for this mailbox", "%s", err.msg);
	check_remedy(c, "Fix the template at the line named above.");
	return -1;
}

static void preview(struct check_ctx *c, const struct delivery *d, struct imap_conn *conn,
                    const struct mf_buf *msg)
{
	struct mf_err err;

	if (imap_select(conn, "INBOX", 1, &err)) {
		check_fail(c, "The INBOX cannot be opened", "%s", err.msg);
		return;
	}
	check_pass(c,
	           d->source ? "Would deliver into the source INBOX"
	                     : "Would deliver into the target INBOX",
	           "dry run, nothing written; %zu bytes (INBOX holds %u messages):\n%.1700s",
	           msg->len, imap_selected_state(conn)->exists, msg->data);
}

static void append(struct check_ctx *c, const struct delivery *d, struct imap_conn *conn,
                   const struct mf_buf *msg)
{
	struct imap_append_msg m = {.flags = "", .mem = msg->data, .fd = -1, .len = msg->len};
	struct imap_append_result res = {0};
	struct mf_err err;

	if (imap_append(conn, "INBOX", &m, 1, 0, &res, &err)) {
		check_fail(c, "The connection failed during the delivery", "%s", err.msg);
		check_remedy(c, "Run the action again: mailboxes that got the %s are skipped.",
		             d->what);
	} else if (!res.ok) {
		check_fail(c, "The server refused the message", "%s", res.error);
		check_remedy(c, "Check the mailbox's quota and the template (size, headers).");
	} else {
		check_pass(c,
		           d->source ? "Delivered into the source INBOX"
		                     : "Delivered into the target INBOX",
		           "%s \"%s\", %zu bytes%s", d->what, tmpl_subject(d->t), msg->len,
		           res.uid ? "" : " (the server gave no APPENDUID)");
		if (res.uid)
			check_detail(c, "UID %u in INBOX (UIDVALIDITY %u)", res.uid,
			             res.uidvalidity);
	}
}

static void deliver_one(struct check_ctx *c)
{
	const struct delivery *d = c->env->cfg->aux;
	struct imap_conn *conn = NULL;
	struct mf_buf msg;
	struct mf_err err;
	int64_t was = delivered_at(d, c->subject);

	if (was) {
		char when[32];

		time_rfc3339(when, sizeof(when), (time_t)was);
		check_skip(c, "Already delivered",
		           "the %s reached this INBOX at %s: not sent again", d->what, when);
		c->no_store = 1; /* the stored PASS stays: it is what prevents a second copy */
		return;
	}
	buf_init(&msg, 0);
	if (render(c, d, &msg))
		goto out;
	if (check_imap_open(c, d->source, &conn, &err)) {
		check_fail(c,
		           d->source ? "Cannot log in at the source"
		                     : "Cannot log in at the target",
		           "%s", err.msg);
		check_remedy(c, "%s",
		             d->source ? "See step 4 (credentials.source)."
		                       : "See step 1 (users.imap).");
		goto out;
	}
	if (d->dry_run)
		preview(c, d, conn, &msg);
	else
		append(c, d, conn, &msg);
	check_imap_close(c, d->source, conn);
out:
	buf_free(&msg);
}

static const struct check_def notice_def = {3, "notice.sent", CHK_MAILBOX, deliver_one};
static const struct check_def welcome_def = {11, "welcome.sent", CHK_MAILBOX, deliver_one};

static int deliver(struct mf_batch *b, const struct check_def *def, const char *path,
                   const char *what, const char *option, int source, int dry_run,
                   const struct mf_checks_opts *o, struct mf_action_result *res, struct mf_err *err)
{
	struct delivery d = {.what = what,
	                     .source = source,
	                     .dry_run = dry_run,
	                     .now = time(NULL),
	                     .id = def->id};
	struct check_run_cfg cfg = {.dry_run = dry_run,
	                            .no_store = dry_run,
	                            .keep_previous = 1,
	                            .no_step_status = 1,
	                            .aux = &d};
	struct mf_checks_opts opts = *o;
	struct mf_checks_summary sum = {0};
	int rc;

	memset(res, 0, sizeof(*res));
	if (!path)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "no %s template is set: mailferry batch set %s %s FILE", what,
		               batch_settings(b)->name, option);
	if (tmpl_load(path, &d.t, err))
		return -1;
	if (ledger_checks(batch_ledger(b), def->step, &d.before, &d.nbefore, err)) {
		tmpl_free(d.t);
		return -1;
	}
	opts.step = 0;
	opts.only = o->only;
	rc = checks_run_defs(b, def, 1, &opts, &cfg, &sum, err);
	res->done = sum.pass;
	res->failed = sum.fail;
	res->skipped = sum.skip;
	if (!rc)
		snprintf(res->summary, sizeof(res->summary),
		         "%s%zu mailbox%s %s the %s, %zu failed, %zu skipped (already had it)",
		         dry_run ? "dry run: " : "", res->done, res->done == 1 ? "" : "es",
		         dry_run ? "would get" : "got", what, res->failed, res->skipped);
	ledger_checks_free(d.before, d.nbefore);
	tmpl_free(d.t);
	return rc;
}

int action_send_notices(struct mf_batch *b, int dry_run, const struct mf_checks_opts *o,
                        struct mf_action_result *res, struct mf_err *err)
{
	return deliver(b, &notice_def, batch_settings(b)->notice_template, "notice",
	               "--notice-template", 1, dry_run, o, res, err);
}

int action_send_welcome(struct mf_batch *b, int dry_run, const struct mf_checks_opts *o,
                        struct mf_action_result *res, struct mf_err *err)
{
	return deliver(b, &welcome_def, batch_settings(b)->welcome_template, "welcome message",
	               "--welcome-template", 0, dry_run, o, res, err);
}

int action_finish_batch(struct mf_batch *b, struct mf_action_result *res, struct mf_err *err)
{
	struct ledger *l = batch_ledger(b);
	char title[] = "No credentials are stored", id[] = "finish.credentials", subject[] = "";
	char detail[96];
	struct ledger_check c = {.step = 11,
	                         .id = id,
	                         .subject = subject,
	                         .status = CHECK_PASS,
	                         .title = title,
	                         .detail = detail,
	                         .remedy = NULL};
	char stamp[32];

	memset(res, 0, sizeof(*res));
	if (batch_wipe_credentials(b, err))
		return -1;
	if (ledger_step_set(l, 11, STEP_DONE, "finished: stored credentials wiped", err))
		return -1;
	time_rfc3339_now(stamp, sizeof(stamp));
	snprintf(detail, sizeof(detail), "the batch was finished at %s", stamp);
	c.when = (int64_t)time(NULL);
	if (ledger_check_put(l, &c, err))
		return -1;
	res->done = 1;
	snprintf(
	        res->summary, sizeof(res->summary),
	        "stored credentials wiped (CSV passwords, admin passwords, client secret); step 11 "
	        "marked done");
	return 0;
}
