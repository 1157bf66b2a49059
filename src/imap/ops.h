/* mailferry - IMAP operations the engine and the checks use
 *
 * Built on the command queue of session.h.  Mailbox names here are always wire
 * names (modified UTF-7, the server's delimiter); src/engine/plan.c turns
 * them into people's names and back.
 */
#ifndef MF_IMAP_OPS_H
#define MF_IMAP_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "imap/session.h" /* struct imap_outcome */

struct imap_conn;
struct imap_value;
struct uidset;
struct mf_err;

/* ---- folders ---- */

enum imap_attr {
	IMAP_ATTR_NOSELECT = 1 << 0,
	IMAP_ATTR_NONEXISTENT = 1 << 1,
	IMAP_ATTR_NOINFERIORS = 1 << 2,
	IMAP_ATTR_HASCHILDREN = 1 << 3,
	IMAP_ATTR_SENT = 1 << 4, /* SPECIAL-USE roles, RFC 6154 */
	IMAP_ATTR_TRASH = 1 << 5,
	IMAP_ATTR_JUNK = 1 << 6,
	IMAP_ATTR_DRAFTS = 1 << 7,
	IMAP_ATTR_ARCHIVE = 1 << 8,
	IMAP_ATTR_ALL = 1 << 9,
	IMAP_ATTR_FLAGGED = 1 << 10,
	IMAP_ATTR_SUBSCRIBED = 1 << 11,
	IMAP_ATTR_UNUSABLE = 1 << 12, /* ours: the name has a NUL or is over 1000 bytes;
					 name holds a printable stand-in, never sent */
};

struct imap_folder {
	char *name;     /* owned: wire name, exactly as the server sent it */
	char delim;     /* hierarchy delimiter, 0 for a flat server (NIL) */
	unsigned attrs; /* enum imap_attr bits */
};

/* All folders (LIST "" "*", or under root when root is not NULL), with
 * SPECIAL-USE roles and subscription, using LIST-EXTENDED when offered and
 * LSUB otherwise.  Names the server sends in a form we cannot use (NUL
 * bytes, empty) are rejected with a protocol error naming them. */
int imap_list_folders(struct imap_conn *c, const char *root, struct imap_folder **out, size_t *n,
		      struct mf_err *err);
void imap_folders_free(struct imap_folder *v, size_t n);
/* The personal namespace: prefix (malloc'd, "" when none) and delimiter. */
int imap_personal_namespace(struct imap_conn *c, char **prefix, char *delim, struct mf_err *err);
/* Both of the above with NAMESPACE and LIST pipelined: one round trip
 * where they cost two.  On failure nothing is left to free. */
int imap_list_with_namespace(struct imap_conn *c, const char *root, struct imap_folder **out,
			     size_t *n, char **prefix, char *delim, struct mf_err *err);

struct imap_status_info {
	uint32_t messages, uidnext, uidvalidity;
	uint64_t highestmodseq; /* 0: the server has no CONDSTORE */
};
int imap_status(struct imap_conn *c, const char *name, struct imap_status_info *out,
		struct mf_err *err);
/* STATUS of several folders at once: the commands are pipelined, so a
 * mailbox's folders cost one round trip, not one each.  Each answer is
 * matched to its request by the name the server echoes.  A request left with
 * seen == 0 (no answer we could match) or ok == 0 (NO, BAD, throttled) is the
 * caller's to ask alone with imap_status(); a throttled answer has been
 * waited out before this returns (once, the longest wait asked for), so that
 * may follow at once.  -1 only when the connection
 * failed or the run was cancelled (err, scope CONN): commands may then still
 * be queued with pointers into reqs, so the caller closes the connection
 * (imap_abort) before reqs goes away. */
struct imap_status_req {
	const char *name;              /* borrowed: the folder's wire name */
	struct imap_status_info st;    /* out */
	int seen, ok;                  /* out */
	unsigned long retry_ms;        /* out: throttled (already waited out) */
};
int imap_status_many(struct imap_conn *c, struct imap_status_req *reqs, size_t n,
		     struct mf_err *err);
/* EXAMINE (read_only) or SELECT; the results are in imap_selected_state().
 * An EXAMINE of the folder already open read-only is not sent again. */
int imap_select(struct imap_conn *c, const char *name, int read_only, struct mf_err *err);
/* The same in two halves, so that other commands (a FETCH on this
 * connection, work on another one) go out before its answer is in.
 * req is written until imap_select_wait returns, which it must be given.
 * A throttled answer is retried (synchronously) by imap_select_wait, and
 * req->retried then says that commands pipelined behind it failed. */
struct imap_select_req {
	const char *name; /* borrowed */
	int read_only;
	int retried;
	struct imap_outcome out;
	unsigned gen; /* private */
};
int imap_select_send(struct imap_conn *c, const char *name, int read_only,
		     struct imap_select_req *req, struct mf_err *err);
int imap_select_wait(struct imap_conn *c, struct imap_select_req *req, struct mf_err *err);
/* CREATE; a folder that already exists is fine (*existed = 1 then; may be NULL). */
int imap_create(struct imap_conn *c, const char *name, int *existed, struct mf_err *err);
/* CREATE then SELECT (read-write), pipelined: one round trip for a new
 * folder.  When the CREATE itself failed, *create_failed is set and err is
 * its reason (the SELECT behind it failed too). */
int imap_create_select(struct imap_conn *c, const char *name, int *existed, int *create_failed,
		       struct mf_err *err);
int imap_subscribe(struct imap_conn *c, const char *name, struct mf_err *err);
/* SUBSCRIBE to each name, pipelined: one round trip for all.  res[i] (n of
 * them, the caller's) says what became of names[i]: done and ok, refused
 * (err.scope below MF_SCOPE_CONN), or not answered.  A throttled one is asked
 * again alone after the suggested wait.  -1 only when the connection failed
 * or memory ran out. */
int imap_subscribe_many(struct imap_conn *c, const char *const *names, struct imap_outcome *res,
			size_t n, struct mf_err *err);

/* ---- message identity ---- */

#define IMAP_IDHASH_LEN 16

/* Identity of a message from its Message-ID (unfolded, trimmed) or, when it
 * has none, from its Date header; used to recognise a message on the other
 * side after a crash or a UIDVALIDITY change.  hdr is the raw text of
 * BODY[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)] (or the whole header). */
void imap_message_identity(const char *hdr, size_t len, unsigned char out[IMAP_IDHASH_LEN],
			   int *has_message_id);
/* The length of a whole message's header section as IMAP servers delimit it
 * (RFC 3501 BODY[HEADER]): everything before the first empty line, or the
 * whole message when it has none.  imap_message_identity() over that prefix
 * equals the identity from BODY[HEADER.FIELDS (...)], so the copy can take
 * a message's identity from its body instead of asking the server twice. */
size_t imap_header_length(const char *msg, size_t len);

/* ---- message metadata ---- */

struct imap_msginfo {
	uint32_t uid;
	uint64_t size;          /* RFC822.SIZE as the server reports it */
	int64_t date;           /* INTERNALDATE, epoch seconds */
	char datestr[32];       /* INTERNALDATE exactly as sent (for APPEND) */
	char *flags;            /* owned: space-separated flags, \Recent removed */
	unsigned char idhash[IMAP_IDHASH_LEN];
	int has_id;             /* idhash is valid (only with with_ids) */
	int has_message_id;
};
void imap_msginfos_free(struct imap_msginfo *v, size_t n);
/* Fills m from one FETCH attribute list (the value after "* n FETCH").
 * 0; -1 when it has no UID (an unsolicited update); -2 out of memory. */
int imap_parse_fetch(const struct imap_value *list, struct imap_msginfo *m);
/* UID FETCH <uidset> (UID FLAGS INTERNALDATE RFC822.SIZE [identity headers]);
 * results sorted by UID.  uidset is e.g. "1:*" or "5:9,12". */
int imap_fetch_meta(struct imap_conn *c, const char *uidset, int with_ids,
		    struct imap_msginfo **out, size_t *n, struct mf_err *err);

/* ---- APPEND ---- */

struct imap_append_msg {
	const char *flags;      /* space-separated flags ("" for none) */
	const char *date;       /* INTERNALDATE string, or NULL */
	const void *mem;        /* the message, in memory ... */
	int fd;                 /* ... or in a file at [off, off+len) when mem is NULL */
	off_t off;
	uint64_t len;
};

struct imap_append_result {
	int ok;
	uint32_t uid;           /* from APPENDUID, 0 when the server has no UIDPLUS */
	uint32_t uidvalidity;
	char error[512];        /* the server's words when !ok */
	unsigned long retry_ms; /* throttled: wait this long and try again */
};

/* Appends msgs[0..n) to one mailbox: as one MULTIAPPEND when multi is set and
 * the server offers it, otherwise as n pipelined APPENDs.  Per-message
 * outcomes go to res[0..n) (a refused MULTIAPPEND marks every message with
 * the same error: retry them one by one).  Returns -1 only when the
 * connection failed (err, scope CONN). */
int imap_append(struct imap_conn *c, const char *mailbox, const struct imap_append_msg *msgs,
		size_t n, int multi, struct imap_append_result *res, struct mf_err *err);

/* The same, without waiting: the results fill in while the connection is
 * pumped (imap_pump); imap_append_op_done() says when every command of it
 * has completed.  The messages and res must stay valid until then; free the
 * op only after it is done (or after the connection was closed, which
 * completes everything).  -1 when the connection died at once. */
struct imap_append_op;
int imap_append_start(struct imap_conn *c, const char *mailbox, const struct imap_append_msg *msgs,
		      size_t n, int multi, struct imap_append_result *res,
		      struct imap_append_op **op, struct mf_err *err);
int imap_append_op_done(const struct imap_append_op *op);
void imap_append_op_free(struct imap_append_op *op);

/* UID STORE uids +FLAGS.SILENT (flags), as few commands as the set allows
 * (used to set \Flagged after APPEND where Exchange drops it: one round
 * trip per chunk, not per message). */
int imap_add_flags(struct imap_conn *c, const struct uidset *uids, const char *flags,
		   struct mf_err *err);
/* The same with sign '+' (add) or '-' (remove).  A refusal is an error of
 * the scope the session gives it (not CONN: the connection is fine). */
int imap_store_flags(struct imap_conn *c, const struct uidset *uids, char sign, const char *flags,
		     struct mf_err *err);

#endif
