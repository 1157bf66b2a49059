/* mailferry - running checks: tasks, threads, results, step status */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "batch/connect.h"
#include "batch/csvin.h"
#include "batch/ledger.h"
#include "batch/tenant.h"
#include "checks.h"
#include "checks/checks_p.h"
#include "imap/session.h"
#include "m365/graph.h"
#include "m365/oauth.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

struct task {
	const struct check_def *def;
	char *subject;                 /* owned */
	const struct csvin_row *row;   /* borrowed from env.rows */
};

struct mf_checks_run {
	struct check_env env;
	struct mf_checks_opts opts;
	struct ledger *ledger;
	struct task *tasks;
	size_t ntasks, next;
	pthread_t *threads;
	unsigned nthreads;
	pthread_mutex_t lock;          /* next, sum, worst */
	atomic_int cancel;
	atomic_int live;
	struct mf_checks_summary sum;
	int worst[MF_STEPS + 1];       /* -1: no result for the step */
	unsigned counts[MF_STEPS + 1][4];
};

/* ---------------------------------------------------------------- results */

static void set_result(struct check_ctx *c, enum check_status st, const char *title,
		       const char *fmt, va_list ap)
{
	c->result.status = st;
	c->set = 1;
	snprintf(c->result.title, sizeof(c->result.title), "%s", title);
	if (fmt)
		vsnprintf(c->result.detail, sizeof(c->result.detail), fmt, ap);
	else
		c->result.detail[0] = 0;
}

#define RESULT_FN(name, status)                                                                    \
	void name(struct check_ctx *c, const char *title, const char *fmt, ...)                    \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		set_result(c, status, title, fmt, ap);                                             \
		va_end(ap);                                                                        \
	}

RESULT_FN(check_pass, CHECK_PASS)
RESULT_FN(check_warn, CHECK_WARN)
RESULT_FN(check_fail, CHECK_FAIL)
RESULT_FN(check_skip, CHECK_SKIP)

void check_remedy(struct check_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->result.remedy, sizeof(c->result.remedy), fmt, ap);
	va_end(ap);
}

void check_detail(struct check_ctx *c, const char *fmt, ...)
{
	size_t len = strlen(c->result.detail);
	va_list ap;

	if (len && len < sizeof(c->result.detail) - 1)
		c->result.detail[len++] = '\n';
	va_start(ap, fmt);
	vsnprintf(c->result.detail + len, sizeof(c->result.detail) - len, fmt, ap);
	va_end(ap);
}

int check_cancelled(const struct check_ctx *c)
{
	return c->env->cancel && atomic_load(c->env->cancel);
}

/* ---------------------------------------------------------------- clients */

static int tenant_clients(struct check_env *env, struct mf_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&env->lock);
	if (!env->oauth && !env->tenant_error) {
		struct mf_err e;

		if (batch_oauth_client(env->batch, &env->oauth, &e) == 0 &&
		    batch_graph_client(env->batch, env->oauth, &env->graph, &e) == 0) {
			/* ready */
		} else {
			env->tenant_error = e.code ? (int)e.code : 1;
			snprintf(env->tenant_msg, sizeof(env->tenant_msg), "%s", e.msg);
		}
	}
	if (env->tenant_error)
		rc = mf_fail(err, MF_SCOPE_BATCH, (enum mf_errcode)env->tenant_error, "%s",
			     env->tenant_msg);
	pthread_mutex_unlock(&env->lock);
	return rc;
}

int check_oauth(struct check_ctx *c, struct oauth_client **out, struct mf_err *err)
{
	*out = NULL;
	if (tenant_clients(c->env, err))
		return -1;
	*out = c->env->oauth;
	return 0;
}

/* The Graph client is for one thread at a time: each check thread gets its
 * own, sharing the run's OAuth client (and so its token cache). */
static __thread struct graph_client *thread_graph;
static __thread struct check_env *thread_graph_env;

int check_graph(struct check_ctx *c, struct graph_client **out, struct mf_err *err)
{
	*out = NULL;
	if (tenant_clients(c->env, err))
		return -1;
	if (thread_graph && thread_graph_env != c->env) {
		graph_client_free(thread_graph);
		thread_graph = NULL;
	}
	if (!thread_graph && batch_graph_client(c->env->batch, c->env->oauth, &thread_graph, err))
		return -1;
	thread_graph_env = c->env;
	*out = thread_graph;
	return 0;
}

/* ---------------------------------------------------------------- IMAP */

static void server_take(struct check_env *env, int source)
{
	pthread_mutex_lock(&env->server_lock);
	while (env->in_use[!source] >= env->per_server)
		pthread_cond_wait(&env->server_cond, &env->server_lock);
	env->in_use[!source]++;
	pthread_mutex_unlock(&env->server_lock);
}

static void server_give(struct check_env *env, int source)
{
	pthread_mutex_lock(&env->server_lock);
	env->in_use[!source]--;
	pthread_cond_broadcast(&env->server_cond);
	pthread_mutex_unlock(&env->server_lock);
}

int check_imap_open(struct check_ctx *c, int source, struct imap_conn **out, struct mf_err *err)
{
	struct mf_login src = {0}, tgt = {0};
	struct ledger_mailbox mb = {0};
	char label[400];
	struct batch_conn_opts o = {.source = source,
				    .label = label,
				    .cancel = c->env->cancel,
				    .timeout_ms = c->timeout_ms,
				    .connect_timeout_ms = c->timeout_ms};
	int rc;

	*out = NULL;
	snprintf(label, sizeof(label), "check %s %s", source ? "source" : "target", c->subject);
	if (c->row) {
		mb.email = c->row->email;
		if (batch_logins(c->env->batch, &mb, &src, &tgt, err))
			return -1;
	}
	if (!source && tgt.oauth_user && check_oauth(c, &o.oauth, err)) {
		mf_login_clear(&src);
		mf_login_clear(&tgt);
		return -1;
	}
	server_take(c->env, source);
	rc = batch_connect(c->env->batch, &o, c->row ? (source ? &src : &tgt) : NULL, out, err);
	mf_login_clear(&src);
	mf_login_clear(&tgt);
	if (rc)
		server_give(c->env, source);
	return rc;
}

void check_imap_close(struct check_ctx *c, int source, struct imap_conn *conn)
{
	if (!conn)
		return;
	if (imap_is_dead(conn))
		imap_abort(conn);
	else
		imap_close(conn);
	server_give(c->env, source);
}

/* ---------------------------------------------------------------- the run */

static int want(const struct mf_checks_opts *o, const struct check_def *d, const char *subject)
{
	if (o->step && d->step != o->step)
		return 0;
	if (o->only && strcmp(o->only, d->id) && strcasecmp(o->only, subject) &&
	    strncmp(d->id, o->only, strlen(o->only)))
		return 0;
	return 1;
}

static int add_task(struct mf_checks_run *r, size_t *cap, const struct check_def *d,
		    const char *subject, const struct csvin_row *row)
{
	if (!want(&r->opts, d, subject))
		return 0;
	if (mf_grow(&r->tasks, cap, r->ntasks + 1, sizeof(*r->tasks)))
		return -1;
	r->tasks[r->ntasks].def = d;
	r->tasks[r->ntasks].row = row;
	if (!(r->tasks[r->ntasks].subject = mf_strdup(subject)))
		return -1;
	r->ntasks++;
	return 0;
}

static int build_tasks(struct mf_checks_run *r, struct mf_err *err)
{
	const struct csvin_result *rows = r->env.rows;
	char **domains = NULL;
	size_t cap = 0, ndomains = 0;
	int rc = 0;

	if (rows && !(domains = csvin_domains(rows, &ndomains)))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	for (size_t i = 0; i < check_table_len && !rc; i++) {
		const struct check_def *d = &check_table[i];

		if (d->scope == CHK_BATCH)
			rc = add_task(r, &cap, d, "", NULL);
		else if (d->scope == CHK_MAILBOX)
			for (size_t k = 0; rows && k < rows->nrows && !rc; k++)
				rc = add_task(r, &cap, d, rows->rows[k].email, &rows->rows[k]);
		else
			for (size_t k = 0; k < ndomains && !rc; k++)
				rc = add_task(r, &cap, d, domains[k], NULL);
	}
	csvin_strings_free(domains, ndomains);
	return rc ? mf_fail_nomem(err, MF_SCOPE_BATCH) : 0;
}

/* Stale results of a check about subjects that are gone (a mailbox removed
 * from the CSV) must not linger: a full run of a check replaces them all. */
static void forget_previous(struct mf_checks_run *r)
{
	struct mf_err err;

	if (r->opts.only)
		return;
	for (size_t i = 0; i < check_table_len; i++)
		if (!r->opts.step || check_table[i].step == r->opts.step)
			ledger_checks_clear(r->ledger, check_table[i].step, check_table[i].id, &err);
}

static void record(struct mf_checks_run *r, struct check_ctx *c)
{
	struct ledger_check lc = {.step = c->result.step,
				  .id = c->result.id,
				  .subject = c->result.subject,
				  .status = c->result.status,
				  .title = c->result.title,
				  .detail = c->result.detail,
				  .remedy = c->result.remedy,
				  .when = c->result.when};
	struct mf_err err;
	char byte = 1;

	if (ledger_check_put(r->ledger, &lc, &err))
		log_warn("cannot store a check result: %s", err.msg);
	pthread_mutex_lock(&r->lock);
	switch (c->result.status) {
	case CHECK_PASS:
		r->sum.pass++;
		break;
	case CHECK_WARN:
		r->sum.warn++;
		break;
	case CHECK_FAIL:
		r->sum.fail++;
		break;
	case CHECK_SKIP:
		r->sum.skip++;
		break;
	}
	if (c->result.step >= 1 && c->result.step <= MF_STEPS && (unsigned)c->result.status < 4) {
		r->counts[c->result.step][c->result.status]++;
		if (c->result.status != CHECK_SKIP && (int)c->result.status > r->worst[c->result.step])
			r->worst[c->result.step] = (int)c->result.status;
	}
	pthread_mutex_unlock(&r->lock);
	if (r->opts.on_result)
		r->opts.on_result(&c->result, r->opts.aux);
	if (r->opts.wake_fd >= 0)
		(void)!write(r->opts.wake_fd, &byte, 1);
}

static void run_task(struct mf_checks_run *r, const struct task *t)
{
	struct check_ctx c = {.env = &r->env, .def = t->def, .subject = t->subject, .row = t->row};

	c.timeout_ms = r->env.timeout_ms;
	c.deadline_ms = mono_ms() + c.timeout_ms;
	c.result.step = t->def->step;
	snprintf(c.result.id, sizeof(c.result.id), "%s", t->def->id);
	snprintf(c.result.subject, sizeof(c.result.subject), "%s", t->subject);
	t->def->run(&c);
	if (!c.set)
		check_fail(&c, "The check did not report a result", "check %s (a bug; please report it)",
			   t->def->id);
	if (atomic_load(&r->cancel) && c.result.status == CHECK_FAIL)
		return; /* cancelled half-way: no verdict */
	c.result.when = (int64_t)time(NULL);
	record(r, &c);
}

static void *checks_thread(void *arg)
{
	struct mf_checks_run *r = arg;

	for (;;) {
		const struct task *t = NULL;

		pthread_mutex_lock(&r->lock);
		if (!atomic_load(&r->cancel) && r->next < r->ntasks)
			t = &r->tasks[r->next++];
		pthread_mutex_unlock(&r->lock);
		if (!t)
			break;
		run_task(r, t);
	}
	graph_client_free(thread_graph);
	thread_graph = NULL;
	thread_graph_env = NULL;
	if (atomic_fetch_sub(&r->live, 1) == 1 && r->opts.wake_fd >= 0) {
		char byte = 1;

		(void)!write(r->opts.wake_fd, &byte, 1);
	}
	return NULL;
}

static void env_init(struct check_env *env, struct mf_batch *b, const struct mf_checks_opts *o,
		     const atomic_int *cancel)
{
	struct mf_err err;

	memset(env, 0, sizeof(*env));
	env->batch = b;
	env->set = batch_settings(b);
	if (batch_rows(b, &env->rows, &err))
		env->rows = NULL; /* the CSV checks say why */
	pthread_mutex_init(&env->lock, NULL);
	pthread_mutex_init(&env->server_lock, NULL);
	pthread_cond_init(&env->server_cond, NULL);
	env->cancel = cancel;
	env->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	env->per_server = o->per_server ? o->per_server : 4;
}

static void env_clear(struct check_env *env)
{
	graph_client_free(env->graph);
	oauth_client_free(env->oauth);
	pthread_mutex_destroy(&env->lock);
	pthread_mutex_destroy(&env->server_lock);
	pthread_cond_destroy(&env->server_cond);
}

int checks_start(struct mf_batch *b, const struct mf_checks_opts *o, struct mf_checks_run **out,
		 struct mf_err *err)
{
	struct mf_checks_run *r = mf_calloc(1, sizeof(*r));
	unsigned want_threads;
	sigset_t all, old;

	*out = NULL;
	if (!r)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	r->opts = *o;
	r->ledger = batch_ledger(b);
	pthread_mutex_init(&r->lock, NULL);
	for (int s = 0; s <= MF_STEPS; s++)
		r->worst[s] = -1;
	env_init(&r->env, b, o, &r->cancel);
	if (build_tasks(r, err)) {
		checks_free(r);
		return -1;
	}
	forget_previous(r);
	want_threads = o->parallel ? o->parallel : 8;
	if (want_threads > r->ntasks)
		want_threads = r->ntasks ? (unsigned)r->ntasks : 0;
	if (want_threads && !(r->threads = mf_calloc(want_threads, sizeof(*r->threads)))) {
		checks_free(r);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* signals stay with the caller's thread */
	atomic_store(&r->live, (int)want_threads);
	for (unsigned i = 0; i < want_threads; i++) {
		if (pthread_create(&r->threads[r->nthreads], NULL, checks_thread, r)) {
			atomic_fetch_sub(&r->live, (int)(want_threads - i));
			break;
		}
		r->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (want_threads && !r->nthreads) {
		checks_free(r);
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_INTERNAL, "cannot start check threads");
	}
	*out = r;
	return 0;
}

int checks_running(struct mf_checks_run *r)
{
	return atomic_load(&r->live) > 0;
}

void checks_cancel(struct mf_checks_run *r)
{
	atomic_store(&r->cancel, 1);
}

/* The step's status from its results: failed > warnings > passed. */
static void store_steps(struct mf_checks_run *r)
{
	struct mf_err err;

	for (int s = 1; s <= MF_STEPS; s++) {
		enum step_status st, cur;
		char summary[160], *old = NULL;
		int64_t when;

		if (r->worst[s] < 0)
			continue;
		st = r->worst[s] == CHECK_FAIL ? STEP_FAILED
		     : r->worst[s] == CHECK_WARN ? STEP_WARNINGS
						 : STEP_PASSED;
		if (ledger_step_get(r->ledger, s, &cur, &old, &when, &err) == 0 && cur == STEP_DONE &&
		    st != STEP_FAILED)
			st = STEP_DONE; /* a finished step stays finished while its checks pass */
		free(old);
		snprintf(summary, sizeof(summary), "%u passed, %u warning%s, %u failed, %u skipped",
			 r->counts[s][CHECK_PASS], r->counts[s][CHECK_WARN],
			 r->counts[s][CHECK_WARN] == 1 ? "" : "s", r->counts[s][CHECK_FAIL],
			 r->counts[s][CHECK_SKIP]);
		if (ledger_step_set(r->ledger, s, st, summary, &err))
			log_warn("cannot store the status of step %d: %s", s, err.msg);
	}
}

void checks_wait(struct mf_checks_run *r, struct mf_checks_summary *sum)
{
	for (unsigned i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i], NULL);
	r->nthreads = 0;
	if (!atomic_load(&r->cancel))
		store_steps(r);
	if (sum)
		*sum = r->sum;
}

void checks_free(struct mf_checks_run *r)
{
	if (!r)
		return;
	if (r->nthreads) {
		checks_cancel(r);
		checks_wait(r, NULL);
	}
	for (size_t i = 0; i < r->ntasks; i++)
		free(r->tasks[i].subject);
	free(r->tasks);
	free(r->threads);
	env_clear(&r->env);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int checks_last(struct mf_batch *b, int step, struct mf_check **out, size_t *n,
		struct mf_err *err)
{
	struct ledger_check *lc;
	size_t cnt;

	*out = NULL;
	*n = 0;
	if (ledger_checks(batch_ledger(b), step, &lc, &cnt, err))
		return -1;
	if (!(*out = mf_calloc(cnt ? cnt : 1, sizeof(**out)))) {
		ledger_checks_free(lc, cnt);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	for (size_t i = 0; i < cnt; i++) {
		struct mf_check *c = &(*out)[i];

		c->step = lc[i].step;
		c->status = (enum check_status)lc[i].status;
		c->when = lc[i].when;
		snprintf(c->id, sizeof(c->id), "%s", lc[i].id ? lc[i].id : "");
		snprintf(c->subject, sizeof(c->subject), "%s", lc[i].subject ? lc[i].subject : "");
		snprintf(c->title, sizeof(c->title), "%s", lc[i].title ? lc[i].title : "");
		snprintf(c->detail, sizeof(c->detail), "%s", lc[i].detail ? lc[i].detail : "");
		snprintf(c->remedy, sizeof(c->remedy), "%s", lc[i].remedy ? lc[i].remedy : "");
	}
	*n = cnt;
	ledger_checks_free(lc, cnt);
	return 0;
}
