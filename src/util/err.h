/* mailferry - errors classified by blast radius
 *
 * Every fallible engine function returns 0 on success or -1 after filling a
 * struct mf_err.  The error says how far the damage reaches (scope), why
 * (code), whether waiting helps (retry_ms), and what happened in words the
 * admin can act on (msg, which quotes the server's own text where there is
 * one).  Callers decide by scope:
 *
 *   MF_SCOPE_MSG      skip and record this message, go on with the folder
 *   MF_SCOPE_FOLDER   record the folder as failed, go on with the mailbox
 *   MF_SCOPE_CONN     the connection is unusable: reconnect and retry (with
 *                     backoff); after the retries, the mailbox fails
 *   MF_SCOPE_MAILBOX  the mailbox fails with this reason, the batch goes on
 *   MF_SCOPE_BATCH    stop everything at a resumable point (ledger write
 *                     failed, disk full, interrupted)
 */
#ifndef MF_UTIL_ERR_H
#define MF_UTIL_ERR_H

#include <stdarg.h>

enum mf_scope {
	MF_SCOPE_NONE = 0,
	MF_SCOPE_MSG,
	MF_SCOPE_FOLDER,
	MF_SCOPE_CONN,
	MF_SCOPE_MAILBOX,
	MF_SCOPE_BATCH,
};

#define MF_ERR_CODES(X)                                                        \
	X(OK, "ok")                                                            \
	X(NOMEM, "out of memory")                                              \
	X(IO, "I/O error")                                                     \
	X(NOSPC, "no space left on device")                                    \
	X(PROTO, "protocol error")                                             \
	X(TLS, "TLS error")                                                    \
	X(CERT, "certificate not trusted")                                     \
	X(AUTH, "authentication failed")                                       \
	X(CONNECT, "connection failed")                                        \
	X(RESOLVE, "name resolution failed")                                   \
	X(TIMEOUT, "timed out")                                                \
	X(CLOSED, "connection closed")                                         \
	X(NO, "server refused")                                                \
	X(BAD, "server rejected the command")                                  \
	X(THROTTLE, "throttled by the server")                                 \
	X(TOOBIG, "too large")                                                 \
	X(CANCEL, "cancelled")                                                 \
	X(CONFIG, "configuration error")                                       \
	X(DATA, "invalid data")                                                \
	X(LOCKED, "locked")                                                    \
	X(NOTFOUND, "not found")                                               \
	X(HTTP, "HTTP error")                                                  \
	X(INTERNAL, "internal error")

enum mf_errcode {
#define MF_ERR_ENUM(name, text) MF_E_##name,
	MF_ERR_CODES(MF_ERR_ENUM)
#undef MF_ERR_ENUM
	MF_E__COUNT
};

struct mf_err {
	enum mf_scope scope;
	enum mf_errcode code;
	unsigned long retry_ms; /* > 0: the server asked us to wait this long */
	char msg[512];
};

/* Fills *e (which may be NULL) and returns -1, so `return mf_fail(...)`. */
int mf_fail(struct mf_err *e, enum mf_scope scope, enum mf_errcode code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int mf_vfail(struct mf_err *e, enum mf_scope scope, enum mf_errcode code, const char *fmt,
	     va_list ap) __attribute__((format(printf, 4, 0)));
/* Shorthand for the common out-of-memory failure. */
int mf_fail_nomem(struct mf_err *e, enum mf_scope scope);
/* Prefixes the message with context ("INBOX: ") keeping scope and code. */
void mf_err_prefix(struct mf_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mf_err_clear(struct mf_err *e);
/* Raises the scope (never lowers it). */
void mf_err_widen(struct mf_err *e, enum mf_scope scope);

const char *mf_errcode_name(enum mf_errcode code); /* "AUTH", stable for JSON */
const char *mf_errcode_text(enum mf_errcode code); /* "authentication failed" */
const char *mf_scope_name(enum mf_scope scope);

#endif
