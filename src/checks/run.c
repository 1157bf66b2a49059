/* mailferry - running checks: tasks, threads, watchdog, limits, results, step status */
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
#include "imap/ops.h"
#include "imap/session.h"
#include "m365/graph.h"
#include "m365/oauth.h"
#include "net/dns.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

struct task {
	const struct check_def *def;
	char *subject;               /* owned */
	const struct csvin_row *row; /* borrowed from env.rows */
};

/* One per checks thread: what the watchdog needs to stop its current check. */
struct worker {
	struct mf_checks_run *run;
	pthread_t thread;
	atomic_int stop; /* 2: give up now (deadline passed or cancelled) */
	atomic_int busy;
	_Atomic int64_t deadline_ms;
	atomic_int timed_out; /* the watchdog stopped it for its deadline */
};

struct mf_checks_run {
	struct check_env env;
	struct check_run_cfg cfg;
	struct mf_checks_opts opts;
	const struct check_def *defs;
	size_t ndefs;
	struct ledger *ledger;
	struct task *tasks;
	size_t ntasks, next;
	struct worker *workers;
	unsigned nworkers;
	pthread_t watchdog;
	int have_watchdog;
	pthread_mutex_t lock; /* next, sum, worst, counts */
	atomic_int cancel;
	atomic_int live;
	int joined;
	struct mf_checks_summary sum;
	int worst[MF_STEPS + 1]; /* -1: no result for the step */
	unsigned counts[MF_STEPS + 1][4];
};

/* ---------------------------------------------------------------- results */

static void set_result(struct check_ctx *c, enum check_status st, const char *title,
                       const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
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

static void append_line(char *dst, size_t size, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));
static void append_line(char *dst, size_t size, const char *fmt, va_list ap)
{
	size_t len = strlen(dst);

	if (len && len < size - 1)
		dst[len++] = '\n';
	if (len < size)
		vsnprintf(dst + len, size - len, fmt, ap);
}

void check_detail(struct check_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append_line(c->result.detail, sizeof(c->result.detail), fmt, ap);
	va_end(ap);
}

void check_remedy_add(struct check_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append_line(c->result.remedy, sizeof(c->result.remedy), fmt, ap);
	va_end(ap);
}

int check_cancelled(const struct check_ctx *c)
{
	return (c->env->cancel && atomic_load(c->env->cancel)) || (c->stop && atomic_load(c->stop));
}

long check_left_ms(const struct check_ctx *c)
{
	int64_t left = c->deadline_ms - mono_ms();

	return left > 0 ? (long)left : 1;
}

/* ---------------------------------------------------------------- applicability */

int check_is_m365(const struct check_ctx *c)
{
	return c->env->set->target_kind == MF_TARGET_M365;
}

int check_skip_demo(struct check_ctx *c, const char *what)
{
	if (!c->env->set->demo)
		return 0;
	check_skip(c, "Not checked in the demo",
	           "the demo uses local servers on this machine: there is no %s to ask", what);
	return 1;
}

int check_skip_no_tenant(struct check_ctx *c, const char *instead)
{
	if (check_skip_demo(c, "Microsoft 365 tenant"))
		return 1;
	if (check_is_m365(c))
		return 0;
	check_skip(c, "No tenant to ask: the target is a generic IMAP server",
	           "this question is for Microsoft 365 targets%s%s", instead ? "; " : "",
	           instead ? instead : "");
	return 1;
}

/* ---------------------------------------------------------------- the tenant */

static int tenant_clients(struct check_env *env, struct mf_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&env->lock);
	if (!env->oauth && !env->tenant_error) {
		struct mf_err e;

		if (batch_oauth_client(env->batch, &env->oauth, &e)) {
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

/* The Graph client is for one thread at a time: each checks thread gets its
 * own, sharing the run's OAuth client (and so its token cache), and its
 * waits (Retry-After) end as soon as the watchdog stops the thread's check. */
static __thread struct graph_client *thread_graph;
static __thread struct check_env *thread_graph_env;

static int loopback_http(const char *url)
{
	return url && (!strncmp(url, "http://127.", 11) || !strncmp(url, "http://[::1]", 12) ||
	               !strncmp(url, "http://localhost", 16));
}

int check_graph(struct check_ctx *c, struct graph_client **out, struct mf_err *err)
{
	const struct mf_batch_settings *s = c->env->set;
	struct graph_config cfg = {0};

	*out = NULL;
	if (tenant_clients(c->env, err))
		return -1;
	if (thread_graph && thread_graph_env != c->env) {
		graph_client_free(thread_graph);
		thread_graph = NULL;
	}
	if (!thread_graph) {
		cfg.base_url = s->m365.graph_url;
		cfg.ca_file = s->target.ca_file;
		cfg.allow_plain_loopback = loopback_http(s->m365.graph_url);
		cfg.timeout_ms = c->env->timeout_ms;
		cfg.max_wait_ms = c->env->timeout_ms;
		cfg.cancel = c->stop;
		if (graph_client_new(&cfg, c->env->oauth, &thread_graph, err))
			return -1;
	}
	thread_graph_env = c->env;
	*out = thread_graph;
	return 0;
}

void check_graph_failed(struct check_ctx *c, const char *what, const struct mf_err *err)
{
	const struct mf_m365 *m = &c->env->set->m365;

	switch (err->code) {
	case MF_E_AUTH:
		check_fail(c, "Microsoft 365 refused the application's credentials",
		           "could not %s: %s", what, err->msg);
		check_remedy(c,
		             "Check the tenant (%s), the application (client) ID (%s) and its "
		             "credential in the Microsoft Entra admin center > App registrations > "
		             "Certificates & secrets; store a new secret with: mailferry batch set "
		             "%s --client-secret-file FILE",
		             m->tenant ? m->tenant : "?", m->client_id ? m->client_id : "?",
		             c->env->set->name ? c->env->set->name : "NAME");
		break;
	case MF_E_THROTTLE:
		check_fail(c, "Microsoft Graph is throttling the application", "could not %s: %s%s",
		           what, err->msg,
		           err->retry_ms ? " (it asked to wait longer than this check may take)"
		                         : "");
		check_remedy(c,
		             "Wait %lu s and run the check again; fewer checks at once "
		             "(--only) also help.",
		             err->retry_ms ? (err->retry_ms + 999) / 1000 : 60);
		break;
	case MF_E_CONFIG:
		check_fail(c, "The batch has no usable Microsoft 365 tenant settings",
		           "could not %s: %s", what, err->msg);
		check_remedy(c,
		             "Set them with: mailferry batch set %s --tenant TENANT --client-id "
		             "ID --client-secret-file FILE (or --client-cert)",
		             c->env->set->name ? c->env->set->name : "NAME");
		break;
	case MF_E_CANCEL:
		check_fail(c, "The check was stopped", "could not %s: %s", what, err->msg);
		break;
	default:
		if (strstr(err->msg, "Authorization_RequestDenied") ||
		    strstr(err->msg, "ErrorAccessDenied") || strstr(err->msg, "Forbidden")) {
			check_fail(c, "The application lacks a Microsoft Graph permission",
			           "could not %s: %s", what, err->msg);
			check_remedy(c, "Grant the application these Microsoft Graph application "
			                "permissions with admin consent (Entra admin center > App "
			                "registrations > API permissions): User.Read.All, "
			                "Domain.Read.All, MailboxSettings.Read.");
		} else {
			check_fail(c, "Microsoft 365 could not be asked", "could not %s: %s", what,
			           err->msg);
			check_remedy(c,
			             "Check the network path to %s and %s (proxy, firewall), then "
			             "run the check again.",
			             m->authority ? m->authority : OAUTH_DEFAULT_AUTHORITY,
			             m->graph_url ? m->graph_url : GRAPH_DEFAULT_BASE);
		}
	}
}

void check_note_throttling(struct check_ctx *c, struct graph_client *g, unsigned long before)
{
	unsigned long n = graph_throttled(g) - before;

	if (n)
		check_detail(
		        c,
		        "(Microsoft Graph throttled %lu request%s (429/503): waited as asked by "
		        "Retry-After and tried again)",
		        n, n == 1 ? "" : "s");
}

static void once_lock(struct check_once *o)
{
	pthread_mutex_lock(&o->lock);
}

static int once_unlock(struct check_once *o, struct mf_err *err)
{
	int failed = o->failed;

	if (failed && err)
		*err = o->err;
	pthread_mutex_unlock(&o->lock);
	return failed ? -1 : 0;
}

int check_tenant_domains(struct check_ctx *c, const struct graph_domain **out, size_t *n,
                         struct mf_err *err)
{
	struct check_env *env = c->env;
	struct check_once *o = &env->domains_once;

	*out = NULL;
	*n = 0;
	once_lock(o);
	if (!o->done) {
		struct graph_client *g;
		unsigned long before;

		if (check_graph(c, &g, &o->err)) {
			o->failed = 1;
		} else {
			before = graph_throttled(g);
			o->failed = graph_domains(g, &env->domains, &env->ndomains, &o->err) != 0;
			check_note_throttling(c, g, before);
		}
		/* a cancelled fetch is not an answer: the next check asks again */
		o->done = !(o->failed && o->err.code == MF_E_CANCEL);
	}
	*out = env->domains;
	*n = env->ndomains;
	return once_unlock(o, err);
}

const struct graph_domain *check_find_domain(const struct graph_domain *d, size_t n,
                                             const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (d[i].id && !strcasecmp(d[i].id, name))
			return &d[i];
	return NULL;
}

/* ---------------------------------------------------------------- connections */

/* Waits for a connection slot towards one side and for the rate limit;
 * -1 when the check is stopped meanwhile. */
int check_server_take(struct check_ctx *c, int source)
{
	struct check_env *env = c->env;
	int side = !source;

	pthread_mutex_lock(&env->server_lock);
	for (;;) {
		int64_t now = mono_ms();

		if (check_cancelled(c)) {
			pthread_mutex_unlock(&env->server_lock);
			return -1;
		}
		if (env->in_use[side] < env->per_server && now >= env->next_connect_ms[side]) {
			env->in_use[side]++;
			env->next_connect_ms[side] = now + 1000 / env->connect_rate;
			break;
		}
		pthread_mutex_unlock(&env->server_lock);
		sleep_ms(10);
		pthread_mutex_lock(&env->server_lock);
	}
	pthread_mutex_unlock(&env->server_lock);
	return 0;
}

void check_server_give(struct check_ctx *c, int source)
{
	struct check_env *env = c->env;

	pthread_mutex_lock(&env->server_lock);
	env->in_use[!source]--;
	pthread_cond_broadcast(&env->server_cond);
	pthread_mutex_unlock(&env->server_lock);
}

void check_server_take_all(struct check_ctx *c, int source)
{
	struct check_env *env = c->env;

	pthread_mutex_lock(&env->server_lock);
	while (env->in_use[!source] && !check_cancelled(c)) {
		pthread_mutex_unlock(&env->server_lock);
		sleep_ms(10);
		pthread_mutex_lock(&env->server_lock);
	}
	env->in_use[!source] += env->per_server;
	pthread_mutex_unlock(&env->server_lock);
}

void check_server_give_all(struct check_ctx *c, int source)
{
	struct check_env *env = c->env;

	pthread_mutex_lock(&env->server_lock);
	env->in_use[!source] -= env->per_server;
	env->next_connect_ms[!source] = mono_ms() + 1000 / env->connect_rate;
	pthread_cond_broadcast(&env->server_cond);
	pthread_mutex_unlock(&env->server_lock);
}

static int open_for(struct check_ctx *c, int source, const struct csvin_row *row,
                    struct imap_conn **out, struct mf_err *err)
{
	struct mf_login src = {0}, tgt = {0};
	struct ledger_mailbox mb = {0};
	char label[400];
	struct batch_conn_opts o = {.source = source,
	                            .label = label,
	                            .cancel = c->stop,
	                            .timeout_ms = check_left_ms(c),
	                            .connect_timeout_ms = check_left_ms(c)};
	int rc;

	*out = NULL;
	snprintf(label, sizeof(label), "check %s %s", source ? "source" : "target",
	         row ? row->email : c->subject);
	if (row) {
		mb.email = row->email;
		if (batch_logins(c->env->batch, &mb, &src, &tgt, err))
			return -1;
	}
	if (!source && tgt.oauth_user && check_oauth(c, &o.oauth, err)) {
		mf_login_clear(&src);
		mf_login_clear(&tgt);
		return -1;
	}
	if (check_server_take(c, source)) {
		mf_login_clear(&src);
		mf_login_clear(&tgt);
		return mf_fail(err, MF_SCOPE_CONN, MF_E_CANCEL, "the check was stopped");
	}
	snprintf(c->login, sizeof(c->login), "%s",
	         source ? (src.user ? src.user : "")
	                : (tgt.oauth_user ? tgt.oauth_user
	                   : tgt.user     ? tgt.user
	                                  : ""));
	rc = batch_connect(c->env->batch, &o, row ? (source ? &src : &tgt) : NULL, out, err);
	mf_login_clear(&src);
	mf_login_clear(&tgt);
	if (rc)
		check_server_give(c, source);
	return rc;
}

int check_imap_open(struct check_ctx *c, int source, struct imap_conn **out, struct mf_err *err)
{
	return open_for(c, source, c->row, out, err);
}

int check_imap_open_first(struct check_ctx *c, int source, struct imap_conn **out, const char **who,
                          struct mf_err *err)
{
	const struct csvin_result *rows = c->env->rows;
	int rc;

	*who = NULL;
	if (!rows || !rows->nrows)
		return open_for(c, source, NULL, out, err);
	rc = open_for(c, source, &rows->rows[0], out, err);
	*who = c->login;
	return rc;
}

void check_imap_close(struct check_ctx *c, int source, struct imap_conn *conn)
{
	if (!conn)
		return;
	if (imap_is_dead(conn) || check_cancelled(c))
		imap_abort(conn);
	else
		imap_close(conn);
	check_server_give(c, source);
}

int check_target_namespace(struct check_ctx *c, char *delim, const char **prefix,
                           struct mf_err *err)
{
	struct check_env *env = c->env;
	struct check_once *o = &env->tgt_ns_once;

	once_lock(o);
	if (!o->done) {
		struct imap_conn *conn = NULL;

		o->failed =
		        check_imap_open(c, 0, &conn, &o->err) ||
		        imap_personal_namespace(conn, &env->tgt_prefix, &env->tgt_delim, &o->err);
		check_imap_close(c, 0, conn);
		o->done = !(o->failed && o->err.code == MF_E_CANCEL);
	}
	*delim = env->tgt_delim ? env->tgt_delim : '/';
	*prefix = env->tgt_prefix ? env->tgt_prefix : "";
	return once_unlock(o, err);
}

/* ---------------------------------------------------------------- DNS */

unsigned check_dns_auth_port(void)
{
	const char *v = getenv("MAILFERRY_TEST_DNS_AUTH_PORT");
	long p = v ? strtol(v, NULL, 10) : 0;

	return p > 0 && p < 65536 ? (unsigned)p : 53;
}

static void dns_opts_for(struct check_ctx *c, struct dns_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->total_ms = (int)(c->env->timeout_ms < 20000 ? c->env->timeout_ms : 20000);
	o->auth_port = (uint16_t)check_dns_auth_port();
	if (c->env->set->dns_servers) {
		o->timeout_ms = o->total_ms / 4 > 0 ? o->total_ms / 4 : 1;
		if (o->timeout_ms > 3000)
			o->timeout_ms = 3000;
	}
}

/* Splits "a,b, c" into at most DNS_MAX_SERVERS owned strings. */
static size_t split_servers(const char *list, char **out)
{
	size_t n = 0;

	while (list && *list && n < DNS_MAX_SERVERS) {
		size_t len;

		list += strspn(list, " ,");
		len = strcspn(list, ",");
		while (len && list[len - 1] == ' ')
			len--;
		if (len && !(out[n++] = mf_strndup(list, len)))
			return (size_t)-1;
		list += strcspn(list, ",");
	}
	return n;
}

int check_dns(struct check_ctx *c, const struct dns_resolver **out, struct mf_err *err)
{
	struct check_env *env = c->env;
	struct check_once *o = &env->dns_once;

	once_lock(o);
	if (!o->done) {
		struct dns_opts opts;
		char *servers[DNS_MAX_SERVERS] = {0};
		size_t n;

		dns_opts_for(c, &opts);
		if (!env->set->dns_servers) {
			env->dns = dns_resolver_system(&opts, &o->err);
		} else if ((n = split_servers(env->set->dns_servers, servers)) == (size_t)-1) {
			mf_fail_nomem(&o->err, MF_SCOPE_BATCH);
		} else {
			env->dns =
			        dns_resolver_new((const char *const *)servers, n, &opts, &o->err);
		}
		for (size_t i = 0; i < DNS_MAX_SERVERS; i++)
			free(servers[i]);
		o->failed = env->dns == NULL;
		o->done = 1;
	}
	*out = env->dns;
	return once_unlock(o, err);
}

struct dns_resolver *check_dns_one(struct check_ctx *c, const char *spec, struct mf_err *err)
{
	struct dns_opts opts;
	const char *one[1] = {spec};

	dns_opts_for(c, &opts);
	if (opts.total_ms > check_left_ms(c))
		opts.total_ms = (int)check_left_ms(c);
	if (!spec)
		return dns_resolver_system(&opts, err);
	return dns_resolver_new(one, 1, &opts, err);
}

/* ---------------------------------------------------------------- the ledger */

const struct ledger_mailbox *check_ledger_mailbox(struct check_ctx *c, const char *email)
{
	struct check_env *env = c->env;
	struct check_once *o = &env->mailboxes_once;
	const struct ledger_mailbox *found = NULL;

	once_lock(o);
	if (!o->done) {
		o->failed = ledger_mailboxes(batch_ledger(env->batch), &env->mailboxes,
		                             &env->nmailboxes, &o->err) != 0;
		o->done = 1;
	}
	for (size_t i = 0; i < env->nmailboxes; i++)
		if (env->mailboxes[i].email && !strcasecmp(env->mailboxes[i].email, email))
			found = &env->mailboxes[i];
	once_unlock(o, NULL);
	return found;
}

int check_verify_results(struct check_ctx *c, const struct ledger_check **out, size_t *n)
{
	struct check_env *env = c->env;
	struct check_once *o = &env->verify_once;

	once_lock(o);
	if (!o->done) {
		struct ledger_check *all = NULL;
		size_t nall = 0, k = 0;

		o->failed = ledger_checks(batch_ledger(env->batch), 7, &all, &nall, &o->err) != 0;
		for (size_t i = 0; i < nall; i++) {
			if (all[i].id && !strcmp(all[i].id, "migration.verify")) {
				struct ledger_check tmp = all[k];

				all[k++] = all[i];
				all[i] = tmp;
			}
		}
		/* the others are freed now; the verify results stay for the run */
		if (k < nall) {
			for (size_t i = k; i < nall; i++) {
				free(all[i].id);
				free(all[i].subject);
				free(all[i].title);
				free(all[i].detail);
				free(all[i].remedy);
			}
		}
		env->verify = all;
		env->nverify = k;
		o->done = 1;
	}
	*out = env->verify;
	*n = env->nverify;
	return once_unlock(o, NULL);
}

char *check_state_get(struct check_ctx *c, const char *prefix, const char *subject)
{
	char *key = mf_sprintf("%s/%s", prefix, subject), *value = NULL;
	struct mf_err err;

	if (key && ledger_setting_get(batch_ledger(c->env->batch), key, &value, &err))
		value = NULL;
	free(key);
	return value;
}

void check_state_set(struct check_ctx *c, const char *prefix, const char *subject,
                     const char *value)
{
	char *key = mf_sprintf("%s/%s", prefix, subject);
	struct mf_err err;

	if (!key || ledger_setting_set(batch_ledger(c->env->batch), key, value, &err))
		log_warn("cannot store %s/%s: %s", prefix, subject,
		         key ? err.msg : "out of memory");
	free(key);
}

/* ---------------------------------------------------------------- the run */

static int want(const struct mf_checks_opts *o, const struct check_def *d, const char *subject)
{
	if (o->step && d->step != o->step)
		return 0;
	if (!o->only || !strcmp(o->only, d->id) || !strcasecmp(o->only, subject))
		return 1;
	/* a group: "users" selects users.exists, users.license, ... */
	return !strncmp(d->id, o->only, strlen(o->only)) && d->id[strlen(o->only)] == '.';
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
	for (size_t i = 0; i < r->ndefs && !rc; i++) {
		const struct check_def *d = &r->defs[i];

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

	if (r->opts.only || r->cfg.keep_previous || r->cfg.no_store)
		return;
	for (size_t i = 0; i < r->ndefs; i++)
		if (!r->opts.step || r->defs[i].step == r->opts.step)
			ledger_checks_clear(r->ledger, r->defs[i].step, r->defs[i].id, &err);
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

	if (!r->cfg.no_store && !c->no_store && ledger_check_put(r->ledger, &lc, &err))
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

static void run_task(struct worker *w, const struct task *t)
{
	struct mf_checks_run *r = w->run;
	struct check_ctx c = {.env = &r->env, .def = t->def, .subject = t->subject, .row = t->row};

	atomic_store(&w->stop, 0);
	atomic_store(&w->timed_out, 0);
	c.stop = &w->stop;
	c.timeout_ms = r->env.timeout_ms;
	c.deadline_ms = mono_ms() + c.timeout_ms;
	atomic_store(&w->deadline_ms, c.deadline_ms);
	atomic_store(&w->busy, 1);
	c.result.step = t->def->step;
	snprintf(c.result.id, sizeof(c.result.id), "%s", t->def->id);
	snprintf(c.result.subject, sizeof(c.result.subject), "%s", t->subject);
	t->def->run(&c);
	atomic_store(&w->busy, 0);
	if (atomic_load(&r->cancel))
		return; /* cancelled half-way: no verdict */
	if ((atomic_load(&w->timed_out) || mono_ms() >= c.deadline_ms) &&
	    (!c.set || c.result.status == CHECK_FAIL)) {
		char detail[sizeof(c.result.detail)];

		snprintf(detail, sizeof(detail), "%s", c.result.detail);
		check_fail(&c, "The check did not finish in time",
		           "stopped after %ld s without an answer%s%s", c.timeout_ms / 1000,
		           detail[0] ? ": " : "", detail);
		if (!c.result.remedy[0])
			check_remedy(&c, "A server did not answer in time: check that it is "
			                 "reachable and not overloaded, then run the check again.");
	}
	if (!c.set)
		check_fail(&c, "The check did not report a result",
		           "check %s (a bug; please report it)", t->def->id);
	c.result.when = (int64_t)time(NULL);
	record(r, &c);
}

static void *checks_thread(void *arg)
{
	struct worker *w = arg;
	struct mf_checks_run *r = w->run;

	for (;;) {
		const struct task *t = NULL;

		pthread_mutex_lock(&r->lock);
		if (!atomic_load(&r->cancel) && r->next < r->ntasks)
			t = &r->tasks[r->next++];
		pthread_mutex_unlock(&r->lock);
		if (!t)
			break;
		run_task(w, t);
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

/* Stops a check whose deadline passed, and every check on cancel: its
 * IMAP waits and Graph waits end with MF_E_CANCEL. */
static void *watchdog_thread(void *arg)
{
	struct mf_checks_run *r = arg;

	while (atomic_load(&r->live) > 0) {
		int64_t now = mono_ms();
		int cancel = atomic_load(&r->cancel);

		for (unsigned i = 0; i < r->nworkers; i++) {
			struct worker *w = &r->workers[i];

			if (!atomic_load(&w->busy) || atomic_load(&w->stop))
				continue;
			if (cancel) {
				atomic_store(&w->stop, 2);
			} else if (now >= atomic_load(&w->deadline_ms)) {
				atomic_store(&w->timed_out, 1);
				atomic_store(&w->stop, 2);
			}
		}
		sleep_ms(50);
	}
	return NULL;
}

static void once_init(struct check_once *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
}

static void env_init(struct check_env *env, struct mf_batch *b, const struct mf_checks_opts *o,
                     const struct check_run_cfg *cfg, const atomic_int *cancel)
{
	struct mf_err err;

	memset(env, 0, sizeof(*env));
	env->batch = b;
	env->set = batch_settings(b);
	env->cfg = cfg;
	if (batch_rows(b, &env->rows, &err))
		env->rows = NULL; /* the CSV checks say why */
	pthread_mutex_init(&env->lock, NULL);
	pthread_mutex_init(&env->server_lock, NULL);
	pthread_cond_init(&env->server_cond, NULL);
	once_init(&env->dns_once);
	once_init(&env->domains_once);
	once_init(&env->mailboxes_once);
	once_init(&env->verify_once);
	once_init(&env->tgt_ns_once);
	env->cancel = cancel;
	env->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	env->per_server = o->per_server ? o->per_server : 4;
	env->connect_rate = o->connect_rate ? o->connect_rate : 10;
}

static void env_clear(struct check_env *env)
{
	oauth_client_free(env->oauth);
	dns_resolver_free(env->dns);
	graph_domains_free(env->domains, env->ndomains);
	ledger_mailboxes_free(env->mailboxes, env->nmailboxes);
	ledger_checks_free(env->verify, env->nverify);
	free(env->tgt_prefix);
	pthread_mutex_destroy(&env->lock);
	pthread_mutex_destroy(&env->server_lock);
	pthread_cond_destroy(&env->server_cond);
	pthread_mutex_destroy(&env->dns_once.lock);
	pthread_mutex_destroy(&env->domains_once.lock);
	pthread_mutex_destroy(&env->mailboxes_once.lock);
	pthread_mutex_destroy(&env->verify_once.lock);
	pthread_mutex_destroy(&env->tgt_ns_once.lock);
}

static int run_start(struct mf_batch *b, const struct check_def *defs, size_t ndefs,
                     const struct mf_checks_opts *o, const struct check_run_cfg *cfg,
                     struct mf_checks_run **out, struct mf_err *err)
{
	struct mf_checks_run *r = mf_calloc(1, sizeof(*r));
	unsigned want_threads;
	sigset_t all, old;

	*out = NULL;
	if (!r)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	r->opts = *o;
	if (cfg)
		r->cfg = *cfg;
	r->defs = defs;
	r->ndefs = ndefs;
	r->ledger = batch_ledger(b);
	pthread_mutex_init(&r->lock, NULL);
	for (int s = 0; s <= MF_STEPS; s++)
		r->worst[s] = -1;
	env_init(&r->env, b, o, &r->cfg, &r->cancel);
	if (build_tasks(r, err)) {
		checks_free(r);
		return -1;
	}
	forget_previous(r);
	want_threads = o->parallel ? o->parallel : 8;
	if (want_threads > r->ntasks)
		want_threads = (unsigned)r->ntasks;
	if (want_threads && !(r->workers = mf_calloc(want_threads, sizeof(*r->workers)))) {
		checks_free(r);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* signals stay with the caller's thread */
	atomic_store(&r->live, (int)want_threads);
	for (unsigned i = 0; i < want_threads; i++) {
		r->workers[i].run = r;
		if (pthread_create(&r->workers[i].thread, NULL, checks_thread, &r->workers[i])) {
			atomic_fetch_sub(&r->live, (int)(want_threads - i));
			break;
		}
		r->nworkers++;
	}
	if (r->nworkers && !pthread_create(&r->watchdog, NULL, watchdog_thread, r))
		r->have_watchdog = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (want_threads && !r->nworkers) {
		checks_free(r);
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_INTERNAL, "cannot start check threads");
	}
	*out = r;
	return 0;
}

int checks_start(struct mf_batch *b, const struct mf_checks_opts *o, struct mf_checks_run **out,
                 struct mf_err *err)
{
	return run_start(b, check_table, check_table_len, o, NULL, out, err);
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
		st = r->worst[s] == CHECK_FAIL   ? STEP_FAILED
		     : r->worst[s] == CHECK_WARN ? STEP_WARNINGS
		                                 : STEP_PASSED;
		if (ledger_step_get(r->ledger, s, &cur, &old, &when, &err) == 0 &&
		    cur == STEP_DONE && st != STEP_FAILED)
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
	if (!r->joined) {
		for (unsigned i = 0; i < r->nworkers; i++)
			pthread_join(r->workers[i].thread, NULL);
		if (r->have_watchdog)
			pthread_join(r->watchdog, NULL);
		r->joined = 1;
		if (!atomic_load(&r->cancel) && !r->cfg.no_step_status && !r->cfg.no_store)
			store_steps(r);
	}
	if (sum)
		*sum = r->sum;
}

void checks_free(struct mf_checks_run *r)
{
	if (!r)
		return;
	if (r->nworkers && !r->joined) {
		checks_cancel(r);
		checks_wait(r, NULL);
	}
	for (size_t i = 0; i < r->ntasks; i++)
		free(r->tasks[i].subject);
	free(r->tasks);
	free(r->workers);
	env_clear(&r->env);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int checks_run_defs(struct mf_batch *b, const struct check_def *defs, size_t ndefs,
                    const struct mf_checks_opts *o, const struct check_run_cfg *cfg,
                    struct mf_checks_summary *sum, struct mf_err *err)
{
	struct mf_checks_run *r;

	if (run_start(b, defs, ndefs, o, cfg, &r, err))
		return -1;
	checks_wait(r, sum);
	checks_free(r);
	return 0;
}

int checks_last(struct mf_batch *b, int step, struct mf_check **out, size_t *n, struct mf_err *err)
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
