/* mailferry tests - mfproxy, the fault proxy: shared declarations
 *
 * The proxy is split in five files:
 *   mfproxy.c  options, the poll loop, connection life cycle, signals
 *   rule.c     the rule language (parsing, printing, the --help text for it)
 *   scan.c     the IMAP-aware scanner: lines, literals, commands, STARTTLS
 *   pipe.c     what happens to the bytes of one direction: rules, triggers, queue
 *   ep.c       one socket end, plain or TLS, and its output writes
 *
 * Data flow of one direction (client->server is "c2s", server->client "s2c"):
 *
 *   src endpoint --read--> d->in --scan--> lines / literal bytes --rules-->
 *   emit() (byte-exact triggers) --> d->out queue (delays) --write (slice, rate)--> dst
 *
 * Everything the rules see is plaintext IMAP: with TLS termination the
 * endpoints decrypt and encrypt, so byte offsets count plaintext bytes.
 */
#ifndef MF_TESTS_PROXY_MFPROXY_H
#define MF_TESTS_PROXY_MFPROXY_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/ssl.h>

#include "util/buf.h"

#define PX_C2S     0
#define PX_S2C     1
#define PX_DIR_C2S (1u << PX_C2S)
#define PX_DIR_S2C (1u << PX_S2C)

/* ------------------------------------------------------------------ rules */

enum rule_kind {
	RULE_CLOSE,     /* FIN both sides at a byte position */
	RULE_RESET,     /* RST both sides at a byte position */
	RULE_BLACKHOLE, /* forward nothing more in that direction */
	RULE_DELAY,     /* hold every chunk for ms */
	RULE_RATE,      /* bytes per second */
	RULE_SLICE,     /* writes of size bytes, gap ms apart */
	RULE_INJECT,    /* append data after a matching line */
	RULE_REWRITE,   /* regex substitution inside lines */
	RULE_DROP,      /* remove matching lines */
};

struct rule {
	int id; /* 1-based, in command-line order (logs name rules by it) */
	enum rule_kind kind;
	unsigned dirs; /* PX_DIR_* mask */
	long conn;     /* 0: every connection, else only the conn-th */
	int64_t after; /* bytes after the trigger point; 0 by default */
	long ms;       /* delay */
	long jitter;   /* delay: +- this many ms, order kept */
	long gap;      /* slice: ms between writes */
	long size;     /* slice: bytes per write */
	int64_t bps;   /* rate */
	long count;    /* line rules: how many times per connection, 0 = unlimited */
	int has_match;
	regex_t match; /* owned when has_match */
	int has_when;
	regex_t when; /* owned when has_when: arms the rule (opposite direction) */
	char *data;   /* owned: inject bytes */
	size_t data_len;
	char *replace; /* owned: rewrite replacement (\0..\9 back-references) */
	size_t replace_len;
	char *spec; /* owned: the rule as given, for logs */
};

/* Parses one rule ("close dir=c2s after=100").  0, or -1 with a message in
 * err (errlen bytes). */
int rule_parse(const char *spec, int id, struct rule *r, char *err, size_t errlen);
void rule_free(struct rule *r);
const char *rule_kind_name(enum rule_kind k);
/* Whether the rule works on whole lines (the direction then holds partial
 * lines until their end). */
int rule_is_line_rule(const struct rule *r);
/* Whether the rule fires at a byte position (close, reset, blackhole). */
int rule_is_positional(const struct rule *r);
/* One line describing the parsed rule (for --check). */
void rule_print(FILE *f, const struct rule *r);
/* Regex match of a line (NUL-terminated view); 1 on match. */
int rule_regex_hit(const regex_t *re, const char *text);
/* Rewrites text with every match of r->match replaced; the result is
 * appended to out.  Returns the number of replacements or -1 (memory). */
int rule_rewrite(const struct rule *r, const char *text, size_t len, struct mf_buf *out);

/* ------------------------------------------------------------------ counts */

/* Counts client commands by verb ("UID FETCH"), also separately for
 * commands that travelled unencrypted from the client. */
void counts_add(const char *verb, int plaintext);
void counts_connection(void);
/* Writes FILE atomically (FILE.tmp + rename).  0 or -1. */
int counts_write(const char *path);
void counts_free(void);

/* ------------------------------------------------------------------ endpoints */

enum ep_state {
	EP_CONNECTING, /* upstream TCP connect in progress */
	EP_HANDSHAKE,  /* TLS handshake in progress */
	EP_READY,
	EP_CLOSING, /* FIN sent, reading until EOF or deadline */
	EP_CLOSED,
};

struct ep {
	int fd;
	SSL *ssl;        /* owned; NULL for plain */
	int server_role; /* TLS: we accept (client side of the proxy) */
	enum ep_state state;
	int tls;          /* TLS established: bytes are decrypted */
	int need_in;      /* the last TLS call wants the socket readable */
	int need_out;     /* ... writable */
	int eof;          /* the peer has finished sending */
	int wr_shut;      /* we have sent our FIN */
	size_t tls_retry; /* a TLS write to repeat with exactly this length */
	int64_t deadline; /* EP_CLOSING: give up draining at this time */
	int pfd;          /* index in the poll array, -1 if not polled */
	short revents;
	const char *name; /* "client" or "server" */
};

#define EP_AGAIN (-1)
#define EP_ERR   (-2)

void ep_init(struct ep *e, int fd, const char *name);
/* Reads plaintext: >0 bytes, 0 at EOF, EP_AGAIN or EP_ERR (why: errbuf). */
long ep_read(struct ep *e, char *buf, size_t n, char *errbuf, size_t errlen);
/* Writes; the gathered iov is copied for TLS.  >0, EP_AGAIN or EP_ERR. */
long ep_write(struct ep *e, const char *buf, size_t n, char *errbuf, size_t errlen);
/* Starts TLS on the endpoint.  0 or -1. */
int ep_start_tls(struct ep *e, SSL_CTX *ctx, int server_role, const char *verify_name,
                 const char *sni, char *errbuf, size_t errlen);
/* Drives a handshake: 1 done, 0 in progress, -1 failed (errbuf). */
int ep_handshake(struct ep *e, char *errbuf, size_t errlen);
/* Whether decrypted bytes wait inside the TLS layer (poll will not tell). */
int ep_has_pending(const struct ep *e);
/* Half-close our sending side (TLS: close_notify first). */
void ep_shutdown_write(struct ep *e);
/* Reads and throws away raw bytes (EP_CLOSING); 1 when the peer is done. */
int ep_drain(struct ep *e);
/* Bytes still in the kernel send queue (not yet acknowledged). */
long ep_unsent(const struct ep *e);
/* Closes now; with rst, SO_LINGER 0 makes the kernel send a RST. */
void ep_close(struct ep *e, int rst);

/* ------------------------------------------------------------------ output queue */

enum seg_ctrl { SEG_DATA = 0, SEG_CLOSE, SEG_RESET };

struct seg {
	struct seg *next;
	int64_t release; /* not written before this time (delay rule) */
	enum seg_ctrl ctrl;
	int rule_id; /* SEG_CLOSE/SEG_RESET: the rule that asked for it */
	size_t len, off, cap;
	char data[];
};

struct queue {
	struct seg *head, *tail;
	size_t bytes; /* data bytes not yet written */
};

/* ------------------------------------------------------------------ scanner */

#define SCAN_TAG_MAX 64

struct scanner {
	int opaque;        /* TLS passing through: no parsing at all */
	uint64_t lit_left; /* > 0: inside a literal */
	int lit_sync;      /* c2s: synchronizing literal not yet confirmed by "+" */
	char lit_tag[SCAN_TAG_MAX];
	struct mf_buf line;  /* current line (capped) */
	size_t line_emitted; /* bytes of line already forwarded */
	int overlong;        /* the line grew past the cap: streamed, not matched */
	char tail[48];       /* last bytes of the line, for the literal marker */
	size_t tail_len;
	int continuation;            /* c2s: the next line continues a command after a literal */
	char sasl_tag[SCAN_TAG_MAX]; /* c2s: AUTHENTICATE exchange in progress */
	int idle;                    /* c2s: IDLE in progress (DONE is not a command) */
	char starttls_tag[SCAN_TAG_MAX]; /* c2s: STARTTLS sent, answer pending */
};

/* ------------------------------------------------------------------ connections */

struct rstate {
	int armed;   /* when= seen (or no when=) */
	long fired;  /* times the rule did something on this connection */
	int64_t pos; /* positional rules: output offset to fire at, -1 unset */
	int done;
};

struct dir {
	int which;            /* PX_C2S or PX_S2C */
	struct ep *src, *dst; /* borrowed from the connection */
	struct mf_buf in;     /* read, not yet scanned */
	struct queue out;
	uint64_t in_bytes;      /* plaintext bytes read from src */
	uint64_t out_bytes;     /* bytes handed to the queue (rule offsets) */
	uint64_t wrote_bytes;   /* bytes written to dst */
	uint64_t writes;        /* write calls that carried them (slicing shows here) */
	uint64_t dropped_bytes; /* discarded (blackhole, cut) */
	int hold;               /* line rules active: buffer whole lines */
	int cut;                /* close/reset pending: discard input */
	int blackholed;
	int paused;         /* STARTTLS switch in progress */
	int finished;       /* EOF forwarded (or direction dead) */
	int64_t next_write; /* slice gap / rate: no write before this */
	long delay_ms, jitter_ms, slice, gap;
	uint64_t rng;         /* jitter: reproducible per connection and direction */
	int64_t last_release; /* jitter never reorders chunks */
	int64_t bps;
	struct scanner sc;
};

enum starttls_phase { ST_NONE = 0, ST_DRAIN, ST_HANDSHAKE };

struct px; /* the proxy (options, rules, contexts) */

struct conn {
	long id;
	struct px *px; /* borrowed */
	struct ep cl, up;
	struct dir d[2];
	struct rstate *rs; /* owned, one per rule */
	enum starttls_phase st_phase;
	int st_client, st_server; /* which sides switch to TLS after STARTTLS */
	int aborting;             /* 0, SEG_CLOSE or SEG_RESET */
	int64_t abort_deadline;
	int dead;
	struct conn *next;
};

enum tls_mode { TLS_NONE = 0, TLS_IMPLICIT, TLS_STARTTLS };

struct px {
	struct rule *rules; /* owned */
	int nrules;
	enum tls_mode tls;
	SSL_CTX *srv_ctx; /* owned: TLS towards the client */
	SSL_CTX *cli_ctx; /* owned: TLS towards the upstream */
	const char *verify_name;
	const char *sni;
	FILE *log; /* owned */
	int64_t t0;
};

/* pipe.c */
int dir_init(struct conn *c, int which);
void dir_free(struct dir *d);
/* Scans and processes what d->in holds.  0 or -1 (out of memory). */
int dir_process(struct conn *c, struct dir *d);
/* The source reached EOF: forward a held partial line. */
int dir_flush_partial(struct conn *c, struct dir *d);
/* Fires positional triggers already due (at start, after arming). */
int dir_check_triggers(struct conn *c, struct dir *d);
/* Writes what may be written now.  0, or -1 when the destination failed. */
int dir_write(struct conn *c, struct dir *d, int64_t now);
/* Earliest time the queue wants to write (INT64_MAX: none pending). */
int64_t dir_next_deadline(const struct dir *d, int64_t now);
/* Whether a write could happen right now (for poll events). */
int dir_write_ready(const struct dir *d, int64_t now);
void queue_clear(struct queue *q);

/* scan.c */
/* Consumes bytes from p (n > 0); 0..n consumed or -1 (memory).  Calls back
 * into pipe.c for emission and line handling. */
long scan_step(struct conn *c, struct dir *d, const char *p, size_t n);
/* Literal size announced at the end of a line ("{123}", "{5+}", "~{7}"):
 * 1 with *n and *sync filled, 0 if none. */
int scan_literal_marker(const char *tail, size_t len, uint64_t *n, int *sync);
/* First word (tag) and verb of a client command line; verb uppercased,
 * "UID FETCH" for UID commands.  0, or -1 when the line is not a command. */
int scan_command(const char *line, size_t len, char *tag, size_t tagsz, char *verb, size_t verbsz);
/* Whether line is a tagged response for tag; its status word ("OK", "NO",
 * "BAD", uppercased) goes to status. */
int scan_tagged(const char *line, size_t len, const char *tag, char *status, size_t statsz);

/* pipe.c, called by scan.c */
int pipe_emit(struct conn *c, struct dir *d, const char *p, size_t n);
int pipe_line(struct conn *c, struct dir *d, const char *line, size_t len, int whole);

/* mfproxy.c */
void px_log(struct px *px, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void conn_abort(struct conn *c, int how, const char *why);
/* STARTTLS answer seen on the s2c line: server_ok as sent by the server,
 * client_ok as forwarded to the client. */
void conn_starttls_answer(struct conn *c, int server_ok, int client_ok);

#endif
