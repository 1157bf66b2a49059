/* mailferry - an IMAP connection: command queue, pipelining, literals, login
 *
 * One struct imap_conn per connection, used by one thread.  Commands are built
 * with imap_cmd_*, queued with imap_submit() and sent as fast as the pipeline
 * depth allows; imap_run() pumps the connection until every queued command has
 * completed (or one of the stop conditions below).  Each command may have an
 * untagged handler (e.g. to collect FETCH responses), a literal sink (to
 * stream message bodies), and a done callback with its tagged response.
 *
 * Rules the queue enforces:
 *  - no command is sent behind one that waits for a "+" continuation
 *    (a synchronising literal or an AUTHENTICATE exchange);
 *  - non-synchronising literals {n+} are used only within what the server
 *    allows (LITERAL+ any size, LITERAL- up to 4096 bytes), else {n} and a
 *    wait for "+";
 *  - \Recent is never sent, BODY.PEEK is the only body fetch we build, and
 *    the source is opened with EXAMINE (src/imap/ops.c).
 *
 * Failure of a command (NO/BAD) is reported to that command only; failure of
 * the connection (closed, BYE, timeout, protocol error) fails every command
 * in flight with scope MF_SCOPE_CONN and leaves the connection dead.
 * Exchange's "Request is throttled. Suggested Backoff Time: N milliseconds"
 * becomes MF_E_THROTTLE with retry_ms = N.
 *
 * Ownership: the connection owns its commands from imap_submit() until their
 * done callback returns; literal data added by reference must stay valid until
 * then.  Responses passed to callbacks are valid only during the call.
 */
#ifndef MF_IMAP_SESSION_H
#define MF_IMAP_SESSION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "imap/parser.h"
#include "net/transport.h"
#include "util/err.h"

struct mf_err;
struct mf_secret;
struct imap_conn;
struct imap_cmd;

struct imap_conn_opts {
	struct transport_opts net;
	unsigned pipeline_depth;  /* commands in flight, default 64 */
	long timeout_ms;          /* no byte from the server for this long: the connection
				     is dead (default 120 s) */
	size_t max_mem_literal;   /* literals up to this stay in memory (default 1 MiB) */
	const char *label;        /* for logs and traces: "source alice@example.org" */
	const atomic_int *cancel; /* borrowed: when *cancel >= 2, waits end with MF_E_CANCEL */
};

/* Credentials for imap_login().  Exactly one of password / xoauth2 is set. */
struct imap_creds {
	const char *user;                /* login name (admin forms already applied) */
	const char *authzid;             /* SASL PLAIN authorization id, or NULL */
	const struct mf_secret *password;
	const struct mf_secret *xoauth2; /* the SASL XOAUTH2 initial response, in base64 as
					    oauth_xoauth2() builds it */
};

/* Connects (TLS as configured), reads the capabilities.  0 or -1. */
int imap_connect(const struct imap_conn_opts *opts, struct imap_conn **out, struct mf_err *err);
/* Logs in: LOGINDISABLED is honoured (no LOGIN or PLAIN without TLS), PLAIN
 * with an authorization id when one is given, XOAUTH2 for tokens, LOGIN
 * otherwise.  Refreshes the capabilities afterwards and asks the server's ID.
 * A refused login fails with MF_E_AUTH, scope MAILBOX, quoting the server. */
int imap_login(struct imap_conn *c, const struct imap_creds *creds, struct mf_err *err);
/* Sends LOGOUT (best effort, short timeout) and frees everything. NULL-safe. */
void imap_close(struct imap_conn *c);
/* The same for several connections at once: the LOGOUTs go out together and
 * are waited for together (one round trip, not one per connection).  NULL
 * entries are skipped. */
void imap_close_many(struct imap_conn *const *cs, size_t n);
/* Closes without LOGOUT (after a connection error). NULL-safe. */
void imap_abort(struct imap_conn *c);

int imap_has_cap(const struct imap_conn *c, const char *cap);
/* The server's greeting and ID "name" (e.g. "Dovecot", "Microsoft.Exchange.Imap4.Imap4Server").
 * imap_login only queues ID: the name is known once a later command has
 * been answered (it is "" before, and when the server has no ID). */
const char *imap_greeting(const struct imap_conn *c);
const char *imap_server_name(const struct imap_conn *c);
struct transport *imap_transport(struct imap_conn *c);
int imap_is_dead(const struct imap_conn *c);
const char *imap_label(const struct imap_conn *c);
long imap_login_ms(const struct imap_conn *c);

/* ---- building commands ---- */

typedef void (*imap_untagged_fn)(struct imap_conn *c, const struct imap_response *r, void *aux);
/* ok: 1 for a tagged OK, 0 otherwise (err says why: the server's NO/BAD text,
 * or the connection failure). */
typedef void (*imap_done_fn)(struct imap_conn *c, int ok, const struct imap_response *tagged,
			     const struct mf_err *err, void *aux);
/* A continuation request ("+ text") arrived for a command that does not send
 * a literal: append the line to send (without CRLF) to out.  -1 aborts. */
typedef int (*imap_cont_fn)(struct imap_conn *c, const char *text, struct mf_buf *out, void *aux);

struct imap_cmd *imap_cmd_new(struct imap_conn *c);
/* Appends command text (no CR/LF allowed). 0 or -1 (memory). */
int imap_cmd_text(struct imap_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as an astring, or as a literal when it cannot be quoted. */
int imap_cmd_astring(struct imap_cmd *cmd, const char *s, size_t n);
/* Appends a literal whose bytes are borrowed until the command is done. */
int imap_cmd_literal(struct imap_cmd *cmd, const void *data, size_t n);
/* Appends a literal read from a file (borrowed fd) at [off, off+n). */
int imap_cmd_literal_file(struct imap_cmd *cmd, int fd, off_t off, uint64_t n);
/* Marks text that must never reach a trace or log (passwords): the trace
 * shows "********" for it. */
int imap_cmd_secret(struct imap_cmd *cmd, const char *s, size_t n);
void imap_cmd_on_untagged(struct imap_cmd *cmd, imap_untagged_fn fn, void *aux);
void imap_cmd_on_done(struct imap_cmd *cmd, imap_done_fn fn, void *aux);
void imap_cmd_on_continuation(struct imap_cmd *cmd, imap_cont_fn fn, void *aux);
void imap_cmd_set_sink(struct imap_cmd *cmd, const struct imap_literal_sink *sink);
/* Frees a command that was never submitted. */
void imap_cmd_free(struct imap_cmd *cmd);

/* What became of a command, filled in when it completes (answered, refused,
 * or failed with its connection). */
struct imap_outcome {
	int done, ok;
	struct mf_err err; /* when !ok */
};
/* The command fills o when it completes; o must live until then (until
 * imap_await returned, or the connection was closed). */
void imap_cmd_track(struct imap_cmd *cmd, struct imap_outcome *o);
/* Pumps until o's command completed: so that commands can be queued ahead
 * and their answers collected later.  -1 (err) only when the pump itself
 * failed and o is still pending, which a failing connection never leaves. */
int imap_await(struct imap_conn *c, struct imap_outcome *o, struct mf_err *err);
/* For a done callback of one's own that also fills an outcome. */
void imap_outcome_note(struct imap_outcome *o, int ok, const struct mf_err *err);

/* Queues the command (the connection owns it from now on, even on error). */
int imap_submit(struct imap_conn *c, struct imap_cmd *cmd, struct mf_err *err);
/* Pumps I/O until nothing is queued or in flight.  -1 when the connection
 * failed (err: scope CONN) or was cancelled; command failures are reported
 * to their done callbacks, not here. */
int imap_run(struct imap_conn *c, struct mf_err *err);
/* Pumps several connections at once (one thread, one poll) until done(aux)
 * is true: how a worker appends on some target connections while it fetches
 * from the source.  -1 as soon as one of them fails or the run is cancelled
 * (err says which); the others stay usable. */
int imap_pump(struct imap_conn *const *cs, size_t n, int (*done)(void *), void *aux,
	      struct mf_err *err);
/* Sends what is queued as far as the socket takes it now, without waiting
 * (and reads nothing): a command queued ahead is on its way while the caller
 * works on another connection.  -1 when the connection failed. */
int imap_flush(struct imap_conn *c, struct mf_err *err);
/* Number of commands queued or in flight. */
size_t imap_pending(const struct imap_conn *c);

/* Submits cmd and waits for it alone: *ok = 1 for a tagged OK, else 0 with
 * err holding the server's words.  -1 when the command could not be
 * submitted or the connection died (err, scope CONN); the command's own done
 * callback is replaced. */
int imap_exec(struct imap_conn *c, struct imap_cmd *cmd, int *ok, struct mf_err *err);
/* Runs one command built from fmt and waits for it; OK -> 0, NO/BAD -> -1
 * with err (scope FOLDER, code NO/BAD/THROTTLE, the server's text). */
int imap_simple(struct imap_conn *c, imap_untagged_fn on_untagged, void *aux, struct mf_err *err,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Waits the time a throttled answer asked for (at most 10 minutes), waking
 * early when the run is cancelled (then -1 with MF_E_CANCEL). */
int imap_throttle_wait(struct imap_conn *c, unsigned long ms, struct mf_err *err);
/* Turns a tagged NO/BAD into an error with the server's words. */
void imap_tagged_error(const struct imap_response *r, const char *what, struct mf_err *err);

/* The state learnt from the last SELECT/EXAMINE. */
struct imap_selected {
	uint32_t uidvalidity, uidnext, exists;
	int read_only;
	int open;       /* the last SELECT/EXAMINE succeeded (until another is sent) */
	char name[1024]; /* what it opened, as sent (longer names: "", never reused) */
};
const struct imap_selected *imap_selected_state(const struct imap_conn *c);

#endif
