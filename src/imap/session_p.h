/* mailferry - IMAP session internals shared by session.c, auth.c and ops.c */
#ifndef MF_IMAP_SESSION_P_H
#define MF_IMAP_SESSION_P_H

#include <stdint.h>
#include <sys/types.h>

#include "imap/session.h"
#include "util/buf.h"
#include "util/err.h"

/* A command is sent as a sequence of chunks. */
enum chunk_kind {
	CH_BYTES,   /* owned text (bytes), with its trace form (secrets masked) */
	CH_LITERAL, /* the "{n}" / "{n+}" header of the literal that follows */
	CH_MEM,     /* borrowed literal bytes */
	CH_FILE,    /* literal bytes read from a borrowed fd */
};

struct out_chunk {
	enum chunk_kind kind;
	char *bytes;          /* CH_BYTES: owned */
	char *trace;          /* CH_BYTES: owned, NUL-terminated, secrets masked */
	uint64_t len;         /* bytes of text or literal data */
	const void *mem;      /* CH_MEM */
	int fd;               /* CH_FILE */
	off_t off;            /* CH_FILE */
	uint64_t lit_len;     /* CH_LITERAL */
	int sync;             /* CH_LITERAL: wait for "+" before the data */
	char header[32];      /* CH_LITERAL: "{n}\r\n" */
};

struct imap_cmd {
	struct imap_conn *conn;
	struct imap_cmd *next;
	char tag[16];
	char verb[24];                /* "UID FETCH", for messages */
	struct out_chunk *chunks;     /* owned */
	size_t nchunks, chunkcap;
	size_t chunk_i;               /* next chunk to send */
	struct mf_buf line, trace_line; /* text being collected */
	int failed;                   /* building failed: never send */
	int has_secret;               /* wipe its buffers when freed */
	int started;                  /* sending began (counts in in_flight) */
	int waiting_cont;             /* sent a synchronising literal header */
	int exclusive;                /* nothing may be sent behind it until done */
	imap_untagged_fn on_untagged;
	void *untagged_aux;
	imap_done_fn on_done;
	void *done_aux;
	imap_cont_fn on_cont;
	void *cont_aux;
	struct imap_literal_sink sink;
	int has_sink;
};

struct imap_conn {
	struct transport *t;
	struct imap_parser *parser;
	char label[128];
	char tag_letter;
	unsigned tagn;
	unsigned depth;
	long timeout_ms;
	const atomic_int *cancel;
	int tracing;

	struct imap_cmd *head, *tail; /* every command not yet completed, in order */
	struct imap_cmd *send_cur;    /* first command not completely sent */
	size_t in_flight, ncmds;
	uint64_t chunk_off;           /* progress in the current chunk */
	char fbuf[64 * 1024];         /* file literal staging */
	size_t fbuf_len, fbuf_off;
	/* small pieces (command lines, literal headers, small bodies) gather
	 * here so they leave as few, full TLS records: fewer syscalls for us
	 * and fewer reads for the server */
	char obuf[32 * 1024];
	size_t obuf_len, obuf_off;
	int obuf_secret;              /* obuf held a credential: wipe when sent */
	struct mf_buf urgent;         /* continuation answers, sent first */
	size_t urgent_off;
	char rbuf[64 * 1024];
	struct imap_cmd *sink_cmd;    /* the command streaming the current literal */

	int dead;
	int logging_out;              /* LOGOUT sent: the server's close is expected */
	struct mf_err dead_err;
	char bye[256];
	int64_t last_activity;

	char **caps;
	size_t ncaps, capcap;
	unsigned caps_updates; /* counts capability lists received */
	int literal_plus, literal_minus;
	char greeting[512];
	char server_name[128];
	long login_ms;
	struct imap_selected sel;
	unsigned select_gen;          /* counts SELECT/EXAMINE sent: which one sel is about */

	struct mf_buf tr_line;        /* incoming trace line being collected */
	uint64_t tr_skip;             /* literal bytes the trace skips */
};

/* Pumps until done(c, aux) is true. -1 when the connection failed. */
int session_pump(struct imap_conn *c, int (*done)(struct imap_conn *, void *), void *aux,
		 struct mf_err *err);
/* Replaces the capability list; -1 (and an empty list) when memory ran out. */
int session_caps_set(struct imap_conn *c, const struct imap_value *list);

#endif
