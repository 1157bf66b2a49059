/* mailferry - one mailbox: connect both sides, plan the folders, copy, retry
 *
 * An attempt connects to the source (read only: EXAMINE and BODY.PEEK) and to
 * the target, lists and plans the folders, scans every folder to learn what is
 * left to copy (so the progress bar has real totals), then copies folder by
 * folder.  A connection failure ends the attempt; the mailbox is retried with
 * a growing pause, and gives up after a few attempts with the last reason.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batch.h"
#include "batch/connect.h"
#include "batch/ledger.h"
#include "engine/engine_p.h"
#include "engine/plan.h"
#include "engine/spool.h"
#include "imap/ops.h"
#include "imap/session.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/secret.h"
#include "util/timeutil.h"

#define MAX_ATTEMPTS 5
#define SPOOL_MEM_BUDGET (12u * 1024 * 1024) /* per worker, shared by its slots */
#define SPOOL_MEM_ITEM_MAX (1024u * 1024)     /* larger bodies always go to a file */

/* ---------------------------------------------------------------- connections */

int mbx_connect(struct mbx_ctx *m, int source, struct imap_conn **out, struct mf_err *err)
{
	char label[300];
	struct batch_conn_opts o = {.source = source,
				    .label = label,
				    .trace = m->run->trace,
				    .cancel = &m->run->stop,
				    .oauth = m->run->oauth};

	snprintf(label, sizeof(label), "%s %s", source ? "source" : "target", m->job->mb.email);
	return batch_connect(m->run->batch, &o, source ? &m->src_login : &m->tgt_login, out, err);
}

static int is_exchange(struct mbx_ctx *m)
{
	const char *name = imap_server_name(m->tgt), *greet = imap_greeting(m->tgt);

	return m->run->set->target_kind == MF_TARGET_M365 ||
	       (name && strcasestr(name, "Exchange")) || (greet && strcasestr(greet, "Exchange"));
}

/* ---------------------------------------------------------------- planning */

/* One side's connection and folder list.  The source and the target are
 * opened at the same time, the target by a thread of its own: against a
 * distant server the logins and listings are most of a delta sync. */
struct side {
	struct mbx_ctx *m;
	int source;
	struct imap_conn *conn;
	struct imap_folder *f;
	size_t n;
	char *prefix;
	char delim;
	int rc;
	struct mf_err err;
};

static void open_side(struct side *s)
{
	const char *root = s->source ? s->m->src_login.root : NULL;

	s->rc = mbx_connect(s->m, s->source, &s->conn, &s->err);
	if (!s->rc)
		s->rc = imap_list_with_namespace(s->conn, root, &s->f, &s->n, &s->prefix, &s->delim,
						 &s->err);
	if (!s->rc && !s->delim)
		for (size_t i = 0; i < s->n && !s->delim; i++)
			s->delim = s->f[i].delim;
}

static void *open_side_thread(void *arg)
{
	open_side(arg);
	return NULL;
}

static void side_clear(struct side *s)
{
	imap_folders_free(s->f, s->n);
	free(s->prefix);
}

/* Both sides connected and listed; the connections go to m->src and m->tgt
 * even when the other side failed (end_attempt closes them).  Without a
 * thread the target is opened after the source, and not when it failed. */
static int open_sides(struct mbx_ctx *m, struct side *src, struct side *tgt, struct mf_err *err)
{
	pthread_t th;
	int threaded;

	*src = (struct side){.m = m, .source = 1};
	*tgt = (struct side){.m = m, .source = 0};
	threaded = pthread_create(&th, NULL, open_side_thread, tgt) == 0;
	open_side(src);
	if (threaded)
		pthread_join(th, NULL);
	else if (!src->rc)
		open_side(tgt);
	m->src = src->conn;
	m->tgt = tgt->conn;
	if (src->rc || tgt->rc) {
		*err = src->rc ? src->err : tgt->err;
		return -1;
	}
	return 0;
}

static int make_plan(struct mbx_ctx *m, const struct side *src, const struct side *tgt,
		     struct mf_err *err)
{
	struct plan_input in = {0};

	in.src = src->f;
	in.nsrc = src->n;
	in.src_delim = src->delim;
	in.src_prefix = m->src_login.root ? NULL : src->prefix;
	in.src_root = m->src_login.root;
	in.tgt = tgt->f;
	in.ntgt = tgt->n;
	in.tgt_delim = tgt->delim ? tgt->delim : '/';
	in.tgt_prefix = tgt->prefix;
	in.target_exchange = m->target_exchange;
	in.exclude = m->run->set->exclude;
	in.nexclude = m->run->set->nexclude;
	return plan_build(&in, &m->plan, &m->nplan, err);
}

static void note_plan(struct mbx_ctx *m)
{
	for (size_t i = 0; i < m->nplan; i++) {
		const struct plan_folder *pf = &m->plan[i];
		struct mf_event ev = {.kind = MF_EV_WARNING,
				      .mailbox_id = m->job->mb.id,
				      .email = m->job->mb.email,
				      .folder = pf->display,
				      .text = pf->note};

		if (!pf->note || pf->excluded)
			continue;
		log_info("%s: %s: %s", m->job->mb.email, pf->display, pf->note);
		if (!pf->failed)
			run_event(m->run, &ev);
	}
}

/* ---------------------------------------------------------------- the work */

static void add_failed_folder(struct mbx_ctx *m, const char *display, const char *why)
{
	size_t len = strlen(m->failed_folders);

	if (len < sizeof(m->failed_folders) - 8)
		snprintf(m->failed_folders + len, sizeof(m->failed_folders) - len, "%s%s (%s)",
			 len ? "; " : "", display, why);
}

/* Finds (dry run) or stores the ledger row of a planned folder. */
static int folder_row(struct mbx_ctx *m, struct plan_folder *pf, struct ledger_folder *row,
		      struct mf_err *err)
{
	memset(row, 0, sizeof(*row));
	row->mailbox_id = m->job->mb.id;
	if (!(row->src_name = mf_strdup(pf->src_name)) ||
	    !(row->tgt_name = mf_strdup(pf->tgt_name ? pf->tgt_name : "")) ||
	    !(row->display = mf_strdup(pf->display)) ||
	    !(row->status = mf_strdup(pf->excluded ? "excluded" : pf->note ? pf->note : "ok")))
		return mf_fail_nomem(err, MF_SCOPE_MAILBOX);
	row->excluded = pf->excluded;
	/* owed before the folder is created, so that no crash can lose it */
	row->subscribe_owed = pf->subscribed && !pf->excluded && !pf->exists_on_target &&
			      pf->tgt_name && strcmp(pf->tgt_name, "INBOX");
	if (!m->dry)
		return ledger_folder_put(m->run->ledger, row, err);
	{
		struct ledger_folder *all;
		size_t n;

		if (ledger_folders(m->run->ledger, m->job->mb.id, &all, &n, err))
			return -1;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(all[i].src_name, pf->src_name)) {
				ledger_folder_clear(row);
				*row = all[i];
				memset(&all[i], 0, sizeof(all[i]));
			}
		ledger_folders_free(all, n);
	}
	return 0;
}

static int scans_folder(const struct plan_folder *pf)
{
	return !pf->failed && !pf->excluded && pf->selectable;
}

/* The STATUS of every folder to scan, pipelined: one round trip for the
 * mailbox instead of one per folder, which is most of a delta sync's time
 * against a distant server.  Fills st/have_status of the folders answered;
 * folder_scan asks the others alone.  NULL only when out of memory (then
 * every folder asks alone); on a connection failure the source is dropped
 * and err set. */
static struct imap_status_req *status_all(struct mbx_ctx *m, struct mf_err *err, int *failed)
{
	struct imap_status_req *reqs = mf_calloc(m->nplan ? m->nplan : 1, sizeof(*reqs));
	size_t n = 0;

	*failed = 0;
	if (!reqs)
		return NULL;
	for (size_t i = 0; i < m->nplan; i++)
		if (scans_folder(&m->plan[i]))
			reqs[n++].name = m->plan[i].src_name;
	if (n && imap_status_many(m->src, reqs, n, err)) {
		mbx_drop_source(m); /* its commands complete into reqs now */
		free(reqs);
		*failed = 1;
		return NULL;
	}
	return reqs;
}

static int scan_all(struct mbx_ctx *m, struct folder_work *w, size_t *nw, struct mf_err *err)
{
	uint64_t mt = 0, md = 0, bt = 0, bd = 0;
	struct imap_status_req *reqs;
	size_t nreq = 0;
	int failed;

	*nw = 0;
	reqs = status_all(m, err, &failed);
	if (failed)
		return -1;
	for (size_t i = 0; i < m->nplan; i++) {
		struct plan_folder *pf = &m->plan[i];
		struct folder_work *fw = &w[*nw];

		if (pf->failed) {
			add_failed_folder(m, pf->display, pf->note);
			continue;
		}
		memset(fw, 0, sizeof(*fw));
		fw->pf = pf;
		if (folder_row(m, pf, &fw->row, err)) {
			ledger_folder_clear(&fw->row); /* not counted in *nw: ours to free */
			free(reqs);
			return -1;
		}
		(*nw)++;
		if (!scans_folder(pf))
			continue;
		if (reqs && reqs[nreq].seen && reqs[nreq].ok) {
			fw->st = reqs[nreq].st;
			fw->have_status = 1;
		}
		nreq++;
		job_set_folder(m->run, m->job, pf->display);
		if (folder_scan(m, fw, err)) {
			if (err->scope > MF_SCOPE_FOLDER) {
				free(reqs);
				return -1;
			}
			add_failed_folder(m, pf->display, err->msg);
			fw->unchanged = 1;
			fw->npending = 0;
			continue;
		}
		mt += fw->st.messages;
		md += fw->st.messages > fw->npending ? fw->st.messages - fw->npending : 0;
		bt += fw->total_bytes;
		bd += fw->total_bytes > fw->pending_bytes ? fw->total_bytes - fw->pending_bytes : 0;
	}
	free(reqs);
	job_set_totals(m->run, m->job, mt, md, bt, bd);
	return 0;
}

static void connect_extra_targets(struct mbx_ctx *m);

static int copy_all(struct mbx_ctx *m, struct folder_work *w, size_t nw, struct mf_err *err)
{
	int extras_tried = m->dry || m->run->opts.kind != MF_RUN_MIGRATE;

	for (size_t i = 0; i < nw; i++) {
		struct folder_work *fw = &w[i];

		if (fw->pf->excluded || !fw->pf->selectable || fw->unchanged)
			continue;
		if (run_stopping(m->run))
			return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CANCEL, "stopped");
		/* Extra target connections only once a folder has more than one
		 * chunk to append: a delta sync with a few new messages (the usual
		 * case, every day until the cut-over) logs in once per side. */
		if (!extras_tried && folder_needs_chunks(fw)) {
			connect_extra_targets(m);
			extras_tried = 1;
		}
		job_set_folder(m->run, m->job, fw->pf->display);
		if (folder_copy(m, fw, err)) {
			if (err->scope > MF_SCOPE_FOLDER)
				return -1;
			add_failed_folder(m, fw->pf->display, err->msg);
			if (!m->dry) {
				char *st = mf_sprintf("failed: %s", err->msg);

				if (st) {
					free(fw->row.status);
					fw->row.status = st;
					ledger_folder_update(m->run->ledger, &fw->row, err);
				}
			}
		}
	}
	return 0;
}

/* Whether w's subscription is owed and can be paid now: the folder is on
 * the target (a subscription to a folder whose CREATE failed would dangle). */
static int subscription_due(const struct folder_work *w)
{
	return w->row.subscribe_owed && !w->pf->failed &&
	       (w->pf->exists_on_target || w->on_target || !w->pf->selectable);
}

/* Records what the target answered to the SUBSCRIBE of w: an OK or a
 * refusal settles the debt (a refusal is logged: the user will have to
 * subscribe by hand); no answer leaves it owed for the next attempt. */
static void settle_subscription(struct mbx_ctx *m, struct folder_work *w,
				const struct imap_outcome *o)
{
	struct mf_err err;

	if (!o->done || (!o->ok && (o->err.scope >= MF_SCOPE_CONN || o->err.code == MF_E_THROTTLE)))
		return;
	if (!o->ok)
		log_warn("%s: the target refused to subscribe to %s: %s", m->job->mb.email,
			 w->pf->tgt_display, o->err.msg);
	w->row.subscribe_owed = 0;
	if (ledger_folder_update(m->run->ledger, &w->row, &err))
		log_warn("%s: %s", m->job->mb.email, err.msg); /* owed still: asked again next run */
}

/* Subscribes, on the target, the folders the user had subscribed whose
 * subscription mailferry still owes (the ledger remembers, so a connection
 * lost here, or a crash, only delays it).  A folder the user unsubscribed on
 * the target after its subscription was copied is left alone.  -1 when the
 * target connection failed. */
static int subscribe_all(struct mbx_ctx *m, struct folder_work *w, size_t nw, struct mf_err *err)
{
	const char **names;
	struct imap_outcome *res;
	size_t *which, n = 0;
	int rc = 0;

	if (m->dry)
		return 0;
	names = mf_calloc(nw ? nw : 1, sizeof(*names));
	res = mf_calloc(nw ? nw : 1, sizeof(*res));
	which = mf_calloc(nw ? nw : 1, sizeof(*which));
	if (!names || !res || !which) {
		rc = mf_fail_nomem(err, MF_SCOPE_MAILBOX);
		goto out;
	}
	for (size_t i = 0; i < nw; i++)
		if (subscription_due(&w[i])) {
			which[n] = i;
			names[n++] = w[i].pf->tgt_name;
		}
	if (n) {
		rc = imap_subscribe_many(m->tgt, names, res, n, err);
		for (size_t k = 0; k < n; k++)
			settle_subscription(m, &w[which[k]], &res[k]);
	}
out:
	free(names);
	free(res);
	free(which);
	return rc;
}

static int verify_all(struct mbx_ctx *m, struct mf_err *err)
{
	for (size_t i = 0; i < m->nplan; i++) {
		struct plan_folder *pf = &m->plan[i];

		if (pf->failed || pf->excluded || !pf->selectable)
			continue;
		job_set_folder(m->run, m->job, pf->display);
		if (folder_verify(m, pf, err)) {
			if (err->scope > MF_SCOPE_FOLDER)
				return -1;
			add_failed_folder(m, pf->display, err->msg);
		}
	}
	return 0;
}

/* More connections to the target, so that several chunks are appended at
 * once (the target's per-message work is what limits the speed).  One that
 * cannot connect is simply not used.  Called when the first folder with more
 * than one chunk to copy comes up. */
static void connect_extra_targets(struct mbx_ctx *m)
{
	unsigned want = m->run->set->target_conns;
	struct mf_err err;

	if (want > MBX_MAX_TARGETS)
		want = MBX_MAX_TARGETS;
	while (m->ntgts < want && m->ntgts < m->nspools - 1) {
		if (mbx_connect(m, 0, &m->tgts[m->ntgts], &err)) {
			log_info("%s: an extra target connection failed (%s); going on with %zu",
				 m->job->mb.email, err.msg, m->ntgts);
			break;
		}
		m->ntgts++;
	}
}

/* One attempt: 0 when every folder is done (failed folders are listed in
 * m->failed_folders), -1 with err otherwise. */
static int attempt(struct mbx_ctx *m, struct mf_err *err)
{
	struct side src, tgt;
	struct folder_work *w;
	size_t nw = 0;
	int rc;

	job_set_state(m->run, m->job, MBX_CONNECTING, NULL);
	rc = open_sides(m, &src, &tgt, err);
	if (m->tgt) {
		m->tgts[0] = m->tgt;
		m->ntgts = 1;
	}
	if (!rc) {
		/* after the listing: by then the target has answered ID */
		m->target_exchange = is_exchange(m);
		job_set_state(m->run, m->job, MBX_SYNCING, NULL);
		rc = make_plan(m, &src, &tgt, err);
	}
	side_clear(&src);
	side_clear(&tgt);
	if (rc)
		return -1;
	note_plan(m);
	if (m->run->opts.kind == MF_RUN_VERIFY)
		return verify_all(m, err);
	if (!(w = mf_calloc(m->nplan ? m->nplan : 1, sizeof(*w))))
		return mf_fail_nomem(err, MF_SCOPE_MAILBOX);
	rc = scan_all(m, w, &nw, err);
	if (!rc)
		rc = copy_all(m, w, nw, err);
	if (!rc)
		rc = subscribe_all(m, w, nw, err);
	for (size_t i = 0; i < nw; i++)
		folder_work_clear(&w[i]);
	free(w);
	return rc;
}

void mbx_drop_targets(struct mbx_ctx *m)
{
	for (size_t i = 0; i < m->ntgts; i++)
		imap_abort(m->tgts[i]);
	if (!m->ntgts)
		imap_abort(m->tgt);
	m->ntgts = 0;
	m->tgt = NULL;
}

void mbx_drop_source(struct mbx_ctx *m)
{
	imap_abort(m->src);
	m->src = NULL;
}

static void end_attempt(struct mbx_ctx *m)
{
	struct imap_conn *all[MBX_MAX_TARGETS + 1];
	size_t n = 0;

	all[n++] = m->src;
	for (size_t i = 0; i < m->ntgts; i++)
		all[n++] = m->tgts[i];
	if (!m->ntgts)
		all[n++] = m->tgt;
	imap_close_many(all, n); /* LOGOUT on every side at once */
	m->src = m->tgt = NULL;
	m->ntgts = 0;
	plan_free(m->plan, m->nplan);
	m->plan = NULL;
	m->nplan = 0;
}

static long backoff_ms(int attempt, const struct mf_err *err)
{
	long ms = 2000L << (attempt - 1); /* 2, 4, 8, 16 s */

	if (err->retry_ms > (unsigned long)ms)
		ms = (long)err->retry_ms;
	return ms > 60000 ? 60000 : ms;
}

static void finish(struct mbx_ctx *m, int rc, const struct mf_err *err)
{
	struct mf_run *r = m->run;
	struct mailbox_job *job = m->job;
	enum mbx_state st;
	char reason[700] = "";
	uint64_t skipped;
	struct mf_err e2;

	if (rc && err->code == MF_E_CANCEL) {
		st = MBX_STOPPED;
	} else if (rc && err->scope == MF_SCOPE_BATCH) {
		st = MBX_STOPPED;
		pthread_mutex_lock(&r->lock);
		if (!r->sum.batch_error) {
			r->sum.batch_error = 1;
			snprintf(r->sum.error, sizeof(r->sum.error), "%s", err->msg);
		}
		pthread_mutex_unlock(&r->lock);
		engine_stop(r, 0);
		snprintf(reason, sizeof(reason), "%s", err->msg);
	} else if (rc) {
		st = MBX_FAILED;
		snprintf(reason, sizeof(reason), "%s", err->msg);
	} else if (m->failed_folders[0]) {
		st = MBX_FAILED;
		snprintf(reason, sizeof(reason), "%s: %s",
			 r->opts.kind == MF_RUN_VERIFY ? "differences in" : "could not migrate",
			 m->failed_folders);
	} else {
		st = MBX_SYNCED;
	}
	job_set_state(r, job, st, reason[0] ? reason : NULL);
	if (reason[0])
		log_warn("%s: %s: %s", job->mb.email, mbx_state_name(st), reason);
	else
		log_info("%s: %s", job->mb.email, mbx_state_name(st));
	if (r->opts.dry_run || r->opts.kind == MF_RUN_VERIFY)
		return; /* a rehearsal or a verification leaves the migration state alone */
	/* the mailbox's skipped count is every message the ledger records as
	 * skipped, not only this run's */
	if (ledger_skipped_count(r->ledger, job->mb.id, &skipped, &e2))
		skipped = job->prog.skipped;
	if (ledger_mailbox_set_state(r->ledger, job->mb.id, st, reason[0] ? reason : NULL, &e2) ||
	    ledger_mailbox_set_totals(r->ledger, job->mb.id, job->prog.msgs_total,
				      job->prog.msgs_done, job->prog.bytes_total,
				      job->prog.bytes_done, skipped, st == MBX_SYNCED, &e2))
		log_error("%s: cannot record the result: %s", job->mb.email, e2.msg);
}

/* One spool per pipeline slot, sharing the worker's memory budget. */
static int make_spools(struct mbx_ctx *m)
{
	unsigned targets = m->dry ? 1 : m->run->set->target_conns;
	size_t n;

	if (targets < 1)
		targets = 1;
	if (targets > MBX_MAX_TARGETS)
		targets = MBX_MAX_TARGETS;
	n = targets + 1;
	for (m->nspools = 0; m->nspools < n; m->nspools++)
		if (!(m->spools[m->nspools] =
			      spool_new(m->run->spool_dir, SPOOL_MEM_BUDGET / n, SPOOL_MEM_ITEM_MAX)))
			return -1;
	return 0;
}

void mailbox_run(struct mf_run *r, struct mailbox_job *job)
{
	struct mbx_ctx m = {.run = r, .job = job, .dry = r->opts.dry_run};
	struct mf_err err = {0};
	int rc = -1;

	if (!r->opts.dry_run && r->opts.kind == MF_RUN_MIGRATE)
		ledger_mailbox_set_state(r->ledger, job->mb.id, MBX_CONNECTING, NULL, &err);
	if (batch_logins(r->batch, &job->mb, &m.src_login, &m.tgt_login, &err)) {
		finish(&m, -1, &err);
		return;
	}
	if (make_spools(&m)) {
		mf_fail_nomem(&err, MF_SCOPE_MAILBOX);
		goto out;
	}
	for (int n = 1; n <= MAX_ATTEMPTS; n++) {
		pthread_mutex_lock(&r->lock);
		job->prog.attempts = n;
		pthread_mutex_unlock(&r->lock);
		m.failed_folders[0] = 0;
		rc = attempt(&m, &err);
		end_attempt(&m);
		if (!rc || err.scope != MF_SCOPE_CONN || err.code == MF_E_CANCEL ||
		    n == MAX_ATTEMPTS || run_stopping(r))
			break;
		log_info("%s: attempt %d failed (%s); trying again", job->mb.email, n, err.msg);
		job_set_state(r, job, MBX_CONNECTING, err.msg);
		if (run_sleep(r, backoff_ms(n, &err))) {
			mf_fail(&err, MF_SCOPE_MAILBOX, MF_E_CANCEL, "stopped");
			break;
		}
	}
	if (rc && run_stopping(r) && err.scope == MF_SCOPE_CONN)
		err.code = MF_E_CANCEL;
out:
	finish(&m, rc, &err);
	for (size_t i = 0; i < m.nspools; i++)
		spool_free(m.spools[i]);
	mf_login_clear(&m.src_login);
	mf_login_clear(&m.tgt_login);
}
