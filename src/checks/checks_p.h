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
 * deadline (pass ctx->timeout_ms to every network call), never writes to a
 * server unless it is an action, and reports in words an admin can act on:
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
 * generic IMAP target: "checked over IMAP instead" where that is possible).
 */
#ifndef MF_CHECKS_CHECKS_P_H
#define MF_CHECKS_CHECKS_P_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

#include "batch.h"
#include "checks.h"

struct csvin_result;
struct csvin_row;
struct oauth_client;
struct graph_client;
struct imap_conn;
struct mf_err;

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

/* Shared by every check of one run. */
struct check_env {
	struct mf_batch *batch;             /* borrowed */
	const struct mf_batch_settings *set;
	const struct csvin_result *rows;    /* the batch's CSV (NULL when it cannot be read) */
	pthread_mutex_t lock;               /* guards the lazily created clients below */
	struct oauth_client *oauth;         /* NULL until first asked for */
	struct graph_client *graph;
	int tenant_error;                   /* the clients could not be made: why in tenant_msg */
	char tenant_msg[512];
	const atomic_int *cancel;
	long timeout_ms;
	unsigned per_server;
	pthread_mutex_t server_lock;        /* connections in flight towards each side */
	pthread_cond_t server_cond;
	unsigned in_use[2];                 /* 0 source, 1 target */
};

struct check_ctx {
	struct check_env *env;
	const struct check_def *def;
	const char *subject;                /* "" / address / domain */
	const struct csvin_row *row;        /* CHK_MAILBOX: the mailbox's CSV row */
	int64_t deadline_ms;                /* monotonic */
	long timeout_ms;                    /* what is left of it when the check starts */
	struct mf_check result;
	int set;                            /* a status was given */
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
/* Appends a line to the detail. */
void check_detail(struct check_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The tenant's clients, created once per run (MF_E_CONFIG when the batch has
 * no tenant: the caller then SKIPs or checks over IMAP). */
int check_oauth(struct check_ctx *c, struct oauth_client **out, struct mf_err *err);
int check_graph(struct check_ctx *c, struct graph_client **out, struct mf_err *err);

/* Connects and logs in to one side for the mailbox of c (source = 1), using
 * the batch's login rules, respecting the per-server connection limit (held
 * until check_imap_close).  Errors carry the server's words. */
int check_imap_open(struct check_ctx *c, int source, struct imap_conn **out, struct mf_err *err);
void check_imap_close(struct check_ctx *c, int source, struct imap_conn *conn);

int check_cancelled(const struct check_ctx *c);

#endif
