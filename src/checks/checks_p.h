/* mailferry - how a check is written (internal to src/checks)
 *
 * A check is one small function registered in the table of registry.c with
 * its step, a stable id and what it runs over:
 *
 *     CHK_BATCH    once for the batch (subject "")
 *     CHK_MAILBOX  once per mailbox of the CSV (subject = the address)
 *     CHK_DOMAIN   once per domain of the CSV's addresses (subject = the domain)
 *
 * The runner (run.c) calls it on a checks thread with a context that gives
 * the batch, the shared clients (created on first use, thread-safe), the
 * deadline, and the result to fill in.  A check never blocks longer than its
 * deadline (pass check_left_ms() to every network call; the IMAP connections
 * and Graph requests made through the helpers below are cut short by the
 * runner's watchdog when the deadline passes or the run is cancelled), never
 * writes to a server unless it is an action, and reports in words an admin
 * can act on:
 *
 *     static void check_source_tls(struct check_ctx *ctx)
 *     {
 *             ...
 *             check_fail(ctx, "The source's certificate has expired",
 *                        "expired on %s", date);
 *             check_remedy(ctx, "Renew the certificate of %s.", host);
 *     }
 *
 * A check that does not apply sets SKIP with the reason (no tenant for a
 * generic IMAP target: "checked over IMAP instead" where that is possible;
 * the demo's local servers have no public DNS and no tenant).
 *
 * The step actions (actions.c) are written the same way and run through the
 * same runner with their own table (checks_run_defs), so they share its
 * threads, limits, timeouts and cancellation.
 */
#ifndef MF_CHECKS_CHECKS_P_H
#define MF_CHECKS_CHECKS_P_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "batch.h"
#include "checks.h"
#include "util/err.h"

struct csvin_result;
struct csvin_row;
struct dns_resolver;
struct graph_client;
struct graph_domain;
struct imap_conn;
struct ledger_check;
struct ledger_mailbox;
struct oauth_client;

enum check_scope { CHK_BATCH = 0, CHK_MAILBOX, CHK_DOMAIN };

struct check_ctx;

struct check_def {
	int step;
	const char *id;
	enum check_scope scope;
	void (*run)(struct check_ctx *ctx);
};

/* The table of every check, in display order (registry.c). */
extern const struct check_def check_table[];
extern const size_t check_table_len;

/* How a table is run (checks_start uses the defaults: all zero). */
struct check_run_cfg {
	int dry_run;        /* actions: report what would be done, change nothing */
	int no_store;       /* results go to the callback only, not to the ledger */
	int keep_previous;  /* do not forget earlier results of these ids first */
	int no_step_status; /* leave the steps' status alone */
	void *aux;          /* for the table's functions (actions: the template) */
};

/* A lazily filled, run-wide cache entry: filled once, under its own lock
 * (so a slow fill does not hold up the others). */
struct check_once {
	pthread_mutex_t lock;
	int done;
	int failed;
	struct mf_err err; /* why it failed */
};

/* Shared by every check of one run. */
struct check_env {
	struct mf_batch *batch; /* borrowed */
	const struct mf_batch_settings *set;
	const struct csvin_result *rows; /* the batch's CSV (NULL when it cannot be read) */
	const struct check_run_cfg *cfg; /* borrowed */
	pthread_mutex_t lock;            /* guards the OAuth client */
	struct oauth_client *oauth;      /* NULL until first asked for */
	int tenant_error;                /* the clients could not be made: why in tenant_msg */
	char tenant_msg[512];
	const atomic_int *cancel; /* the run's */
	long timeout_ms;
	unsigned per_server;
	unsigned connect_rate;       /* new connections per second towards one server */
	pthread_mutex_t server_lock; /* connections in flight towards each side */
	pthread_cond_t server_cond;
	unsigned in_use[2];         /* 0 source, 1 target */
	int64_t next_connect_ms[2]; /* rate limit: earliest next connection */
	/* run-wide caches (under lock) */
	struct dns_resolver *dns; /* every configured resolver, in order */
	struct check_once dns_once;
	struct graph_domain *domains; /* the tenant's domains */
	size_t ndomains;
	struct check_once domains_once;
	struct ledger_mailbox *mailboxes; /* the ledger's mailboxes */
	size_t nmailboxes;
	struct check_once mailboxes_once;
	struct ledger_check *verify; /* step 7 results of the engine's verification */
	size_t nverify;
	struct check_once verify_once;
	char tgt_delim;   /* a generic target's hierarchy delimiter */
	char *tgt_prefix; /* owned: its personal namespace prefix */
	struct check_once tgt_ns_once;
};

struct check_ctx {
	struct check_env *env;
	const struct check_def *def;
	const char *subject;         /* "" / address / domain */
	const struct csvin_row *row; /* CHK_MAILBOX: the mailbox's CSV row */
	int64_t deadline_ms;         /* monotonic */
	long timeout_ms;             /* the check's whole budget */
	atomic_int *stop;            /* set to 2 by the watchdog: deadline or cancel */
	struct mf_check result;
	int set;         /* a status was given */
	char login[320]; /* the login name check_imap_open used last */
	int no_store;    /* keep this result out of the ledger (the stored one stays) */
};

/* Results. The formats are printf-style; the last call wins for the status. */
void check_pass(struct check_ctx *c, const char *title, const char *detail_fmt, ...)
        __attribute__((format(printf, 3, 4)));
void check_warn(struct check_ctx *c, const char *title, const char *detail_fmt, ...)
        __attribute__((format(printf, 3, 4)));
void check_fail(struct check_ctx *c, const char *title, const char *detail_fmt, ...)
        __attribute__((format(printf, 3, 4)));
void check_skip(struct check_ctx *c, const char *title, const char *detail_fmt, ...)
        __attribute__((format(printf, 3, 4)));
void check_remedy(struct check_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a line to the detail / to the remedy. */
void check_detail(struct check_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_remedy_add(struct check_ctx *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

int check_cancelled(const struct check_ctx *c);
/* What is left of the check's time (at least 1 ms). */
long check_left_ms(const struct check_ctx *c);

/* ---- applicability: each returns 1 after setting SKIP when the check does not apply ---- */

/* The demo's servers are local: no public DNS, no tenant.  what: "public DNS". */
int check_skip_demo(struct check_ctx *c, const char *what);
/* A generic IMAP target has no tenant; instead: what is checked in its place
 * (e.g. "checked over IMAP instead: see users.imap"), or NULL. */
int check_skip_no_tenant(struct check_ctx *c, const char *instead);
int check_is_m365(const struct check_ctx *c);

/* ---- the tenant ---- */

/* The OAuth client (shared) and this thread's Graph client (cut short by the
 * watchdog).  MF_E_CONFIG when the batch has no tenant. */
int check_oauth(struct check_ctx *c, struct oauth_client **out, struct mf_err *err);
int check_graph(struct check_ctx *c, struct graph_client **out, struct mf_err *err);
/* FAILs the check for a Graph or token error with the right title and
 * remedy (refused credentials, missing permission, throttling...).  what:
 * what was asked ("look up the user"). */
void check_graph_failed(struct check_ctx *c, const char *what, const struct mf_err *err);
/* Adds a detail line when Graph throttled this thread's requests since
 * `before` (graph_throttled() taken before the calls). */
void check_note_throttling(struct check_ctx *c, struct graph_client *g, unsigned long before);
/* The tenant's domains (fetched once per run; borrowed). */
int check_tenant_domains(struct check_ctx *c, const struct graph_domain **out, size_t *n,
                         struct mf_err *err);
const struct graph_domain *check_find_domain(const struct graph_domain *d, size_t n,
                                             const char *name);

/* ---- IMAP ---- */

/* Connects and logs in to one side for the mailbox of c (source = 1), using
 * the batch's login rules, respecting the per-server connection limit and
 * connection rate (held until check_imap_close).  Without a row (batch
 * checks) it only connects.  Errors carry the server's words. */
int check_imap_open(struct check_ctx *c, int source, struct imap_conn **out, struct mf_err *err);
/* The same with the login of the first row of the CSV (endpoint checks);
 * *who gets the login name used (c->login), NULL without a row. */
int check_imap_open_first(struct check_ctx *c, int source, struct imap_conn **out, const char **who,
                          struct mf_err *err);
void check_imap_close(struct check_ctx *c, int source, struct imap_conn *conn);
/* One connection slot towards one side, after the rate limit (-1: stopped
 * meanwhile); check_imap_close gives it back, or check_server_give. */
int check_server_take(struct check_ctx *c, int source);
void check_server_give(struct check_ctx *c, int source);
/* Takes every connection slot towards one side (for the concurrency check,
 * which opens its own connections), and gives them back. */
void check_server_take_all(struct check_ctx *c, int source);
void check_server_give_all(struct check_ctx *c, int source);
/* The generic target's delimiter and namespace prefix, learnt once per run
 * by a login for the mailbox of c (borrowed). */
int check_target_namespace(struct check_ctx *c, char *delim, const char **prefix,
                           struct mf_err *err);

/* ---- DNS ---- */

/* The run's resolver: the batch's dns_servers in order, or the system's. */
int check_dns(struct check_ctx *c, const struct dns_resolver **out, struct mf_err *err);
/* A resolver for one server spec (owned by the caller), bounded by the check's time. */
struct dns_resolver *check_dns_one(struct check_ctx *c, const char *spec, struct mf_err *err);
/* The port authoritative servers are asked on (53; tests set
 * MAILFERRY_TEST_DNS_AUTH_PORT to point it at their own server). */
unsigned check_dns_auth_port(void);

/* ---- the ledger ---- */

/* The mailbox of an address from the ledger (borrowed; NULL when none). */
const struct ledger_mailbox *check_ledger_mailbox(struct check_ctx *c, const char *email);
/* The engine's verification results (id "migration.verify"; borrowed). */
int check_verify_results(struct check_ctx *c, const struct ledger_check **out, size_t *n);
/* Ledger settings as values of this module: "<prefix>/<subject>". */
char *check_state_get(struct check_ctx *c, const char *prefix, const char *subject);
void check_state_set(struct check_ctx *c, const char *prefix, const char *subject,
                     const char *value);

/* ---- shared by several checks (common.c) ---- */

struct transport_tls_info;
struct dns_result;

/* Connects to one side without logging in, for a report: no_verify reads a
 * certificate that does not verify; legacy_tls lets TLS 1.0/1.1 through (to
 * name what an old server speaks); system_ca verifies against the system's
 * CAs instead of the batch's --ca-file (tests point MAILFERRY_TEST_SYSTEM_CA_FILE
 * at a bundle playing the system's).  Close with check_imap_close. */
struct check_probe {
	int no_verify;
	int legacy_tls;
	int system_ca;
};
int check_probe_open(struct check_ctx *c, int source, const struct check_probe *p,
                     struct imap_conn **out, struct mf_err *err);
/* The TLS report as detail lines: protocol, cipher, subject, SANs, issuer,
 * expiry with days left, host name match, chain verdict in words (chain:
 * the verdict to show instead of the connection's own, NULL: its own). */
void check_tls_report(struct check_ctx *c, const struct transport_tls_info *t, const char *host,
                      const char *chain);
/* TLS older than 1.2 ("TLSv1", "TLSv1.1", "SSLv3"). */
int check_tls_old(const char *protocol);
/* The port of one side (its security's default when not set). */
unsigned check_port(const struct mf_endpoint *e);
/* A connection to one side failed (err): FAIL with the reason in words - a
 * certificate that does not verify (read once more without verification
 * for the report), TLS older than 1.2, or the connection error
 * (step2_source.c). */
void check_side_tls_failure(struct check_ctx *c, int source, const struct mf_err *err);
/* notice.template and welcome.template: the file parses and renders for
 * the first mailbox (step3_census.c).  source: delivered into the source's
 * INBOX (else the target's). */
void check_template_file(struct check_ctx *c, const char *path, const char *what,
                         const char *option, int source);
/* What Microsoft 365 wants published for the domain of c (step9_mx.c):
 * from Graph's serviceConfigurationRecords, else computed the documented
 * way (from_tenant 0). */
struct check_expected {
	char mx[256];
	char spf[512];
	char autodiscover[256];
	int from_tenant;
};
void check_expected_records(struct check_ctx *c, struct check_expected *x);
/* MX records of a result: Microsoft 365's for domain (the expected host, or
 * an accepted form), others, and among the others another domain's
 * Microsoft host. */
struct check_mx_tally {
	size_t m365, other, wrong_tenant;
};
void check_mx_tally(const struct dns_result *res, const char *domain, const char *expected,
                    struct check_mx_tally *t);
/* "0 a.example, 10 b.example" */
void check_mx_list(const struct dns_result *res, char *out, size_t n);
/* The run's resolver (check_dns); when there is none the check fails with
 * the reason and -1 is returned. */
int check_resolver(struct check_ctx *c, const struct dns_resolver **out);
/* A lookup that gave no answer about the name (SERVFAIL, timeout, refused,
 * alias loop...): FAIL with the reason and the remedy.  what: "MX". */
void check_dns_failed(struct check_ctx *c, const struct dns_result *r, const char *what);

/* ---- running a table (actions) ---- */

int checks_run_defs(struct mf_batch *b, const struct check_def *defs, size_t ndefs,
                    const struct mf_checks_opts *o, const struct check_run_cfg *cfg,
                    struct mf_checks_summary *sum, struct mf_err *err);

#endif
