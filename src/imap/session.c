/* mailferry - an IMAP connection: command queue, pipelining, literals */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "imap/session.h"
#include "imap/session_p.h"
#include "imap/syntax.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#define CMD_TEXT_MAX (64 * 1024)   /* a command line never needs more */
#define FILE_CHUNK (64 * 1024)
#define LITERAL_MINUS_MAX 4096     /* RFC 7888: LITERAL- allows {n+} up to 4096 */

/* ---------------------------------------------------------------- commands */

static void chunk_free(struct out_chunk *ch, int wipe)
{
	if (ch->kind == CH_BYTES) {
		if (wipe && ch->bytes)
			OPENSSL_cleanse(ch->bytes, ch->len);
		free(ch->bytes);
		free(ch->trace);
	}
}

void imap_cmd_free(struct imap_cmd *cmd)
{
	if (!cmd)
		return;
	for (size_t i = 0; i < cmd->nchunks; i++)
		chunk_free(&cmd->chunks[i], cmd->has_secret);
	free(cmd->chunks);
	if (cmd->has_secret)
		buf_free_secure(&cmd->line);
	buf_free(&cmd->line);
	buf_free(&cmd->trace_line);
	free(cmd);
}

struct imap_cmd *imap_cmd_new(struct imap_conn *c)
{
	struct imap_cmd *cmd = mf_calloc(1, sizeof(*cmd));

	if (!cmd)
		return NULL;
	cmd->conn = c;
	buf_init(&cmd->line, CMD_TEXT_MAX);
	buf_init(&cmd->trace_line, CMD_TEXT_MAX);
	return cmd;
}

static int add_chunk(struct imap_cmd *cmd, const struct out_chunk *ch)
{
	if (mf_grow(&cmd->chunks, &cmd->chunkcap, cmd->nchunks + 1, sizeof(*cmd->chunks)))
		return -1;
	cmd->chunks[cmd->nchunks++] = *ch;
	return 0;
}

static int append_text(struct imap_cmd *cmd, const char *s, size_t n, int secret)
{
	if (cmd->failed)
		return -1;
	if (memchr(s, '\r', n) || memchr(s, '\n', n)) {
		cmd->failed = 1; /* CRLF injection into a command is a bug, never sent */
		return -1;
	}
	cmd->has_secret |= secret;
	if (buf_append(&cmd->line, s, n) ||
	    (secret ? buf_puts(&cmd->trace_line, "********") : buf_append(&cmd->trace_line, s, n))) {
		cmd->failed = 1;
		return -1;
	}
	if (!cmd->verb[0]) {
		/* remember the verb for error messages: "UID FETCH", "APPEND" */
		size_t k = 0;

		for (size_t i = 0; i < n && k < sizeof(cmd->verb) - 1; i++) {
			if (s[i] == ' ' && k && strncasecmp(cmd->verb, "UID", 3))
				break;
			if (s[i] == ' ' && k > 3)
				break;
			cmd->verb[k++] = (char)toupper((unsigned char)s[i]);
		}
		cmd->verb[k] = 0;
	}
	return 0;
}

int imap_cmd_text(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	s = mf_vsprintf(fmt, ap);
	va_end(ap);
	if (!s) {
		cmd->failed = 1;
		return -1;
	}
	rc = append_text(cmd, s, strlen(s), 0);
	free(s);
	return rc;
}

int imap_cmd_secret(struct imap_cmd *cmd, const char *s, size_t n)
{
	return append_text(cmd, s, n, 1);
}

/* Closes the text collected so far into a chunk (the command line up to a
 * literal, or the whole command). */
static int flush_line(struct imap_cmd *cmd)
{
	struct out_chunk ch = {.kind = CH_BYTES};

	if (!cmd->line.len)
		return 0;
	ch.len = cmd->line.len;
	ch.bytes = buf_steal(&cmd->line);
	ch.trace = buf_steal(&cmd->trace_line);
	if (!ch.trace)
		ch.trace = mf_strdup("");
	buf_init(&cmd->line, CMD_TEXT_MAX);
	buf_init(&cmd->trace_line, CMD_TEXT_MAX);
	if (!ch.trace || add_chunk(cmd, &ch)) {
		free(ch.bytes);
		free(ch.trace);
		cmd->failed = 1;
		return -1;
	}
	return 0;
}

static int add_literal(struct imap_cmd *cmd, const struct out_chunk *data)
{
	struct out_chunk lit = {.kind = CH_LITERAL, .lit_len = data->len};

	if (cmd->failed)
		return -1;
	/* The "{n}" header is written at submit time, when we know whether the
	 * server takes non-synchronising literals. */
	if (flush_line(cmd) || add_chunk(cmd, &lit) || add_chunk(cmd, data)) {
		cmd->failed = 1;
		return -1;
	}
	return 0;
}

int imap_cmd_literal(struct imap_cmd *cmd, const void *data, size_t n)
{
	struct out_chunk ch = {.kind = CH_MEM, .mem = data, .len = n};

	return add_literal(cmd, &ch);
}

int imap_cmd_literal_file(struct imap_cmd *cmd, int fd, off_t off, uint64_t n)
{
	struct out_chunk ch = {.kind = CH_FILE, .fd = fd, .off = off, .len = n};

	return add_literal(cmd, &ch);
}

int imap_cmd_astring(struct imap_cmd *cmd, const char *s, size_t n)
{
	struct mf_buf tmp;
	int rc;

	buf_init(&tmp, CMD_TEXT_MAX);
	rc = imap_put_astring(&tmp, s, n);
	if (rc == 0)
		rc = append_text(cmd, tmp.data, tmp.len, 0);
	else if (rc == 1)
		rc = imap_cmd_literal(cmd, s, n) ? -1 : 0;
	else
		cmd->failed = 1;
	buf_free(&tmp);
	return rc ? -1 : 0;
}

void imap_cmd_on_untagged(struct imap_cmd *cmd, imap_untagged_fn fn, void *aux)
{
	cmd->on_untagged = fn;
	cmd->untagged_aux = aux;
}

void imap_cmd_on_done(struct imap_cmd *cmd, imap_done_fn fn, void *aux)
{
	cmd->on_done = fn;
	cmd->done_aux = aux;
}

void imap_cmd_on_continuation(struct imap_cmd *cmd, imap_cont_fn fn, void *aux)
{
	cmd->on_cont = fn;
	cmd->cont_aux = aux;
}

void imap_cmd_set_sink(struct imap_cmd *cmd, const struct imap_literal_sink *sink)
{
	if (sink) {
		cmd->sink = *sink;
		cmd->has_sink = 1;
	} else {
		cmd->has_sink = 0;
	}
}

/* Prepares a command for the wire, now that its tag and the server's literal
 * capabilities are known: the tag goes in front, every literal gets its
 * "{n}" or "{n+}" header, and CRLF goes after the last text. */
static int finalize_cmd(struct imap_conn *c, struct imap_cmd *cmd)
{
	struct out_chunk *first, *last;
	char head[32];
	char *b, *t;

	if (flush_line(cmd) || !cmd->nchunks || cmd->chunks[0].kind != CH_BYTES)
		return -1;
	if (cmd->chunks[cmd->nchunks - 1].kind != CH_BYTES) {
		struct out_chunk tail = {.kind = CH_BYTES, .bytes = mf_strdup(""),
					 .trace = mf_strdup("")};

		if (!tail.bytes || !tail.trace || add_chunk(cmd, &tail)) {
			free(tail.bytes);
			free(tail.trace);
			return -1;
		}
	}
	snprintf(cmd->tag, sizeof(cmd->tag), "%c%u", c->tag_letter, ++c->tagn);
	snprintf(head, sizeof(head), "%s ", cmd->tag);
	first = &cmd->chunks[0];
	b = mf_sprintf("%s%.*s", head, (int)first->len, first->bytes);
	t = mf_sprintf("%s%s", head, first->trace);
	if (!b || !t) {
		free(b);
		free(t);
		return -1;
	}
	free(first->bytes);
	free(first->trace);
	first->bytes = b;
	first->trace = t;
	first->len += strlen(head);
	last = &cmd->chunks[cmd->nchunks - 1];
	if (!(b = mf_realloc(last->bytes, last->len + 3)))
		return -1;
	memcpy(b + last->len, "\r\n", 3);
	last->bytes = b;
	last->len += 2;
	for (size_t i = 0; i < cmd->nchunks; i++) {
		struct out_chunk *ch = &cmd->chunks[i];

		if (ch->kind != CH_LITERAL)
			continue;
		ch->sync = !(c->literal_plus ||
			     (c->literal_minus && ch->lit_len <= LITERAL_MINUS_MAX));
		snprintf(ch->header, sizeof(ch->header), "{%llu%s}\r\n",
			 (unsigned long long)ch->lit_len, ch->sync ? "" : "+");
	}
	return 0;
}

/* ---------------------------------------------------------------- connection */

static void conn_fail(struct imap_conn *c, const struct mf_err *why);

static int refuse_cmd(struct imap_conn *c, struct imap_cmd *cmd, const struct mf_err *why,
		      struct mf_err *err)
{
	if (cmd->on_done)
		cmd->on_done(c, 0, NULL, why, cmd->done_aux);
	imap_cmd_free(cmd);
	if (err)
		*err = *why;
	return -1;
}

int imap_submit(struct imap_conn *c, struct imap_cmd *cmd, struct mf_err *err)
{
	struct mf_err e;

	if (c->dead)
		return refuse_cmd(c, cmd, &c->dead_err, err);
	if (cmd->failed) {
		mf_fail(&e, MF_SCOPE_FOLDER, MF_E_INTERNAL, "refusing to send a malformed command");
		return refuse_cmd(c, cmd, &e, err);
	}
	if (finalize_cmd(c, cmd)) {
		mf_fail_nomem(&e, MF_SCOPE_FOLDER);
		return refuse_cmd(c, cmd, &e, err);
	}
	cmd->next = NULL;
	if (c->tail)
		c->tail->next = cmd;
	else
		c->head = cmd;
	c->tail = cmd;
	if (!c->send_cur)
		c->send_cur = cmd;
	c->ncmds++;
	return 0;
}

size_t imap_pending(const struct imap_conn *c)
{
	return c->ncmds;
}

static void unlink_cmd(struct imap_conn *c, struct imap_cmd *cmd)
{
	struct imap_cmd **pp = &c->head, *prev = NULL;

	while (*pp && *pp != cmd) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = cmd->next;
	if (c->tail == cmd)
		c->tail = prev;
	if (c->send_cur == cmd)
		c->send_cur = cmd->next;
	if (cmd->started)
		c->in_flight--;
	c->ncmds--;
}

static void complete_cmd(struct imap_conn *c, struct imap_cmd *cmd, int ok,
			 const struct imap_response *tagged, const struct mf_err *err)
{
	unlink_cmd(c, cmd);
	if (cmd->on_done)
		cmd->on_done(c, ok, tagged, err, cmd->done_aux);
	imap_cmd_free(cmd);
}

static void conn_fail(struct imap_conn *c, const struct mf_err *why)
{
	if (!c->dead) {
		c->dead = 1;
		c->dead_err = *why;
		/* at least the connection; wider when the cause is (a full disk
		 * while spooling is the batch's problem, not this server's) */
		mf_err_widen(&c->dead_err, MF_SCOPE_CONN);
		if (c->bye[0] && why->code == MF_E_CLOSED)
			snprintf(c->dead_err.msg, sizeof(c->dead_err.msg),
				 "the server closed the connection: %s", c->bye);
		/* after our LOGOUT the server's close is the goodbye, not a loss */
		if (!(c->logging_out && why->code == MF_E_CLOSED))
			log_info("%s: connection lost: %s", c->label, c->dead_err.msg);
	}
	while (c->head)
		complete_cmd(c, c->head, 0, NULL, &c->dead_err);
}

int imap_is_dead(const struct imap_conn *c)
{
	return c->dead;
}

/* ---------------------------------------------------------------- tracing */

static void trace_out(struct imap_conn *c, const char *text)
{
	transport_trace(c->t, '>', text, strlen(text));
}

/* Incoming bytes, as lines; literal contents are summarised, never shown. */
static void trace_in(struct imap_conn *c, const char *p, size_t n)
{
	if (!c->tracing)
		return;
	while (n) {
		if (c->tr_skip) {
			size_t k = n < c->tr_skip ? n : (size_t)c->tr_skip;

			c->tr_skip -= k;
			p += k;
			n -= k;
			continue;
		}
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) + 1 : n;

		if (c->tr_line.len < 2000)
			buf_append(&c->tr_line, p, k < 2000 ? k : 2000);
		p += k;
		n -= k;
		if (nl) {
			const char *l = c->tr_line.data;
			size_t len = c->tr_line.len;
			const char *brace;

			while (len && (l[len - 1] == '\n' || l[len - 1] == '\r'))
				len--;
			brace = len && l[len - 1] == '}' ? memrchr(l, '{', len) : NULL;
			if (brace) {
				uint64_t lit = strtoull(brace + 1, NULL, 10);
				char note[64];

				c->tr_skip = lit;
				transport_trace(c->t, '<', l, len);
				snprintf(note, sizeof(note), "[%llu bytes of literal]",
					 (unsigned long long)lit);
				transport_trace(c->t, '<', note, strlen(note));
			} else {
				transport_trace(c->t, '<', l, len);
			}
			buf_reset(&c->tr_line);
		}
	}
}

/* ---------------------------------------------------------------- sending */

static int can_start(const struct imap_conn *c, const struct imap_cmd *cmd)
{
	if (cmd->started)
		return 1;
	if (c->in_flight >= c->depth)
		return 0;
	/* Nothing is sent behind a command that is still in a "+" exchange. */
	for (const struct imap_cmd *p = c->head; p && p != cmd; p = p->next)
		if (p->exclusive || p->waiting_cont)
			return 0;
	return 1;
}

/* One write to the connection: bytes written, 0 would block, -1 error. */
static ssize_t send_raw(struct imap_conn *c, const char *p, size_t n, struct mf_err *err)
{
	ssize_t w = transport_send(c->t, p, n, err);

	if (w > 0)
		c->last_activity = mono_ms();
	return w;
}

/* Writes what it can of obuf: 1 all of it is out, 0 would block, -1 error. */
static int out_flush(struct imap_conn *c, struct mf_err *err)
{
	while (c->obuf_off < c->obuf_len) {
		ssize_t w = send_raw(c, c->obuf + c->obuf_off, c->obuf_len - c->obuf_off, err);

		if (w <= 0)
			return (int)w;
		c->obuf_off += (size_t)w;
	}
	if (c->obuf_secret)
		OPENSSL_cleanse(c->obuf, c->obuf_len);
	c->obuf_len = c->obuf_off = 0;
	c->obuf_secret = 0;
	return 1;
}

static int out_pending(const struct imap_conn *c)
{
	return c->obuf_off < c->obuf_len;
}

/* Sends what it can of the current piece: pieces under half of obuf are
 * gathered there, larger ones go out directly once obuf is empty (so order
 * is kept).  1 progress, 0 would block, -1 error. */
static int send_bytes(struct imap_conn *c, const char *p, size_t n, size_t *off, int secret,
		      struct mf_err *err)
{
	size_t left, k;
	int direct, rc;

	if (*off >= n)
		return 1;
	left = n - *off;
	direct = left >= sizeof(c->obuf) / 2;
	if ((direct || c->obuf_len == sizeof(c->obuf)) && (rc = out_flush(c, err)) <= 0)
		return rc;
	if (direct) {
		ssize_t w = send_raw(c, p + *off, left, err);

		if (w <= 0)
			return (int)w;
		*off += (size_t)w;
		return 1;
	}
	k = sizeof(c->obuf) - c->obuf_len;
	k = left < k ? left : k;
	memcpy(c->obuf + c->obuf_len, p + *off, k);
	c->obuf_len += k;
	c->obuf_secret |= secret;
	*off += k;
	return 1;
}

static int send_file(struct imap_conn *c, struct out_chunk *ch, struct mf_err *err)
{
	if (c->fbuf_off >= c->fbuf_len) {
		uint64_t left = ch->len - c->chunk_off;
		size_t want = left < FILE_CHUNK ? (size_t)left : FILE_CHUNK;
		ssize_t r = pread(ch->fd, c->fbuf, want, ch->off + (off_t)c->chunk_off);

		if (r <= 0)
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "reading the spool: %s",
				       r < 0 ? strerror(errno) : "unexpected end of file");
		c->fbuf_len = (size_t)r;
		c->fbuf_off = 0;
	}
	{
		size_t before = c->fbuf_off;
		int rc = send_bytes(c, c->fbuf, c->fbuf_len, &c->fbuf_off, 0, err);

		c->chunk_off += c->fbuf_off - before;
		return rc;
	}
}

/* Advances the command being sent; returns 1 if progress was made. */
static int send_pieces(struct imap_conn *c, struct mf_err *err)
{
	int progress = 0, rc;

	if (c->urgent.len) {
		size_t off = c->urgent_off;

		rc = send_bytes(c, c->urgent.data, c->urgent.len, &off, 1, err);
		c->urgent_off = off;
		if (rc < 0)
			return -1;
		if (c->urgent_off >= c->urgent.len) {
			/* continuation answers carry credentials: wipe them once sent */
			OPENSSL_cleanse(c->urgent.data, c->urgent.len);
			buf_reset(&c->urgent);
			c->urgent_off = 0;
		}
		return rc;
	}
	while (c->send_cur && can_start(c, c->send_cur)) {
		struct imap_cmd *cmd = c->send_cur;
		struct out_chunk *ch;

		if (!cmd->started) {
			cmd->started = 1;
			c->in_flight++;
		}
		if (cmd->waiting_cont)
			return progress;
		if (cmd->chunk_i >= cmd->nchunks) {
			c->send_cur = cmd->next;
			continue;
		}
		ch = &cmd->chunks[cmd->chunk_i];
		switch (ch->kind) {
		case CH_BYTES:
			if (c->chunk_off == 0 && c->tracing)
				trace_out(c, ch->trace);
			{
				size_t off = (size_t)c->chunk_off;

				rc = send_bytes(c, ch->bytes, ch->len, &off, cmd->has_secret, err);
				c->chunk_off = off;
			}
			break;
		case CH_LITERAL:
			if (c->chunk_off == 0 && c->tracing)
				trace_out(c, ch->header);
			{
				size_t off = (size_t)c->chunk_off;

				rc = send_bytes(c, ch->header, strlen(ch->header), &off, 0, err);
				c->chunk_off = off;
			}
			if (rc > 0 && c->chunk_off >= strlen(ch->header) && ch->sync) {
				cmd->waiting_cont = 1;
				cmd->chunk_i++;
				c->chunk_off = 0;
				return 1;
			}
			break;
		case CH_MEM: {
			size_t off = (size_t)c->chunk_off;

			rc = send_bytes(c, ch->mem, ch->len, &off, cmd->has_secret, err);
			c->chunk_off = off;
			break;
		}
		case CH_FILE:
			rc = send_file(c, ch, err);
			break;
		default:
			rc = -1;
		}
		if (rc < 0)
			return -1;
		if (rc == 0)
			return progress;
		progress = 1;
		if (c->chunk_off >= (ch->kind == CH_LITERAL ? strlen(ch->header) : ch->len)) {
			cmd->chunk_i++;
			c->chunk_off = 0;
			c->fbuf_len = c->fbuf_off = 0;
			if (cmd->chunk_i >= cmd->nchunks)
				c->send_cur = cmd->next;
		}
	}
	return progress;
}

/* Gathers what can be sent, then writes it out. */
static int send_some(struct imap_conn *c, struct mf_err *err)
{
	int progress = send_pieces(c, err);
	size_t before;

	if (progress < 0)
		return -1;
	before = c->obuf_len - c->obuf_off;
	if (out_flush(c, err) < 0)
		return -1;
	return progress || c->obuf_len - c->obuf_off < before;
}

/* ---------------------------------------------------------------- receiving */

static struct imap_cmd *find_tag(struct imap_conn *c, const char *tag)
{
	for (struct imap_cmd *p = c->head; p && p->started; p = p->next)
		if (!strcmp(p->tag, tag))
			return p;
	return NULL;
}

static int note_caps(struct imap_conn *c, const struct imap_value *list, size_t skip)
{
	struct imap_value rest;

	if (!list || list->type != IMAP_LIST || list->len < skip)
		return 0;
	rest = *list;
	rest.items += skip;
	rest.len -= skip;
	return session_caps_set(c, &rest);
}

/* Bookkeeping every response gets before it is routed to a command.  Fails
 * only when memory runs out while storing the capabilities: going on would
 * misreport the server as one that lacks them. */
static int note_untagged(struct imap_conn *c, const struct imap_response *r)
{
	uint64_t v;
	int rc = 0;

	if (r->status == IMAP_ST_BYE) {
		snprintf(c->bye, sizeof(c->bye), "%s", r->text ? r->text : "");
	}
	if (r->code && r->code->len >= 1) {
		const struct imap_value *k = &r->code->items[0];

		if (imap_value_is(k, "CAPABILITY"))
			rc |= note_caps(c, r->code, 1);
		else if (r->code->len >= 2 && imap_value_number(&r->code->items[1], &v) == 0) {
			if (imap_value_is(k, "UIDVALIDITY"))
				c->sel.uidvalidity = (uint32_t)v;
			else if (imap_value_is(k, "UIDNEXT"))
				c->sel.uidnext = (uint32_t)v;
		}
	}
	if (r->status == IMAP_ST_NONE && r->keyword) {
		if (!strcmp(r->keyword, "CAPABILITY"))
			rc |= note_caps(c, r->args, 0);
		else if (r->has_number && !strcmp(r->keyword, "EXISTS"))
			c->sel.exists = r->number;
		else if (r->has_number && !strcmp(r->keyword, "EXPUNGE") && c->sel.exists)
			c->sel.exists--;
	}
	return rc;
}

static int handle_continuation(struct imap_conn *c, const struct imap_response *r,
			       struct mf_err *err)
{
	struct imap_cmd *cmd = c->send_cur;

	if (cmd && cmd->waiting_cont) {
		cmd->waiting_cont = 0;
		return 0;
	}
	for (cmd = c->head; cmd && cmd->started; cmd = cmd->next) {
		if (!cmd->on_cont)
			continue;
		if (cmd->on_cont(c, r->text ? r->text : "", &c->urgent, cmd->cont_aux) ||
		    buf_puts(&c->urgent, "\r\n"))
			return mf_fail(err, MF_SCOPE_CONN, MF_E_PROTO,
				       "cannot answer the server's continuation request");
		if (c->tracing)
			trace_out(c, "********");
		return 0;
	}
	return mf_fail(err, MF_SCOPE_CONN, MF_E_PROTO,
		       "the server sent a continuation request nobody asked for: + %s",
		       r->text ? r->text : "");
}

static void handle_tagged(struct imap_conn *c, const struct imap_response *r)
{
	struct imap_cmd *cmd = find_tag(c, r->tag);
	struct mf_err e;

	if (!cmd) {
		log_warn("%s: the server answered an unknown tag %s", c->label, r->tag);
		return;
	}
	if (r->status == IMAP_ST_OK) {
		complete_cmd(c, cmd, 1, r, NULL);
		return;
	}
	imap_tagged_error(r, cmd->verb, &e);
	if (cmd->waiting_cont || (cmd == c->send_cur && cmd->chunk_i < cmd->nchunks)) {
		/* refused before all of it was sent (a synchronising literal): the
		 * rest of this command must never reach the server */
		if (c->send_cur == cmd) {
			c->send_cur = cmd->next;
			c->chunk_off = 0;
			c->fbuf_len = c->fbuf_off = 0;
		}
	}
	complete_cmd(c, cmd, 0, r, &e);
}

static void route_untagged(struct imap_conn *c, const struct imap_response *r)
{
	for (struct imap_cmd *cmd = c->head; cmd && cmd->started; cmd = cmd->next)
		if (cmd->on_untagged) {
			cmd->on_untagged(c, r, cmd->untagged_aux);
			return;
		}
}

static int handle_response(struct imap_conn *c, const struct imap_response *r, struct mf_err *err)
{
	switch (r->kind) {
	case IMAP_R_CONTINUATION:
		return handle_continuation(c, r, err);
	case IMAP_R_TAGGED:
		handle_tagged(c, r);
		return 0;
	case IMAP_R_UNTAGGED:
		if (note_untagged(c, r))
			return mf_fail_nomem(err, MF_SCOPE_CONN);
		route_untagged(c, r);
		return 0;
	}
	return 0;
}

/* Literal sink: the first command in flight with a sink gets the literal. */
static struct imap_cmd *sink_owner(struct imap_conn *c)
{
	for (struct imap_cmd *cmd = c->head; cmd && cmd->started; cmd = cmd->next)
		if (cmd->has_sink)
			return cmd;
	return NULL;
}

static int conn_sink_begin(void *aux, const struct imap_response *partial, const char *key,
			   uint64_t size, struct mf_err *err)
{
	struct imap_conn *c = aux;
	struct imap_cmd *cmd = sink_owner(c);

	c->sink_cmd = NULL;
	if (!cmd || !cmd->sink.begin)
		return 0;
	{
		int rc = cmd->sink.begin(cmd->sink.aux, partial, key, size, err);

		if (rc == 1)
			c->sink_cmd = cmd;
		return rc;
	}
}

static int conn_sink_write(void *aux, const char *data, size_t n, struct mf_err *err)
{
	struct imap_conn *c = aux;

	c->last_activity = mono_ms();
	if (!c->sink_cmd || !c->sink_cmd->sink.write)
		return 0;
	return c->sink_cmd->sink.write(c->sink_cmd->sink.aux, data, n, err);
}

static int conn_sink_end(void *aux, struct mf_err *err)
{
	struct imap_conn *c = aux;
	struct imap_cmd *cmd = c->sink_cmd;

	c->sink_cmd = NULL;
	if (!cmd || !cmd->sink.end)
		return 0;
	return cmd->sink.end(cmd->sink.aux, err);
}

/* Reads what is available, at most ~1 MB per call so that one busy connection
 * does not starve the others of a worker's pump (a call that read something
 * returns 1, and the pump comes back without polling, so bytes TLS holds are
 * never left waiting); 1 progress, 0 nothing, -1 error. */
static int recv_some(struct imap_conn *c, struct mf_err *err)
{
	int progress = 0;

	for (int reads = 0; reads < 16; reads++) {
		ssize_t n = transport_recv(c->t, c->rbuf, sizeof(c->rbuf), err);
		size_t off = 0;

		if (n < 0)
			return -1;
		if (n == 0)
			return progress;
		progress = 1;
		c->last_activity = mono_ms();
		trace_in(c, c->rbuf, (size_t)n);
		while (off < (size_t)n) {
			const struct imap_response *r = NULL;
			size_t used = 0;
			int rc = imap_parser_next(c->parser, c->rbuf + off, (size_t)n - off, &used,
						  &r, err);

			if (rc < 0) {
				mf_err_widen(err, MF_SCOPE_CONN);
				return -1;
			}
			off += used;
			if (rc == 1 && handle_response(c, r, err))
				return -1;
			if (rc == 0 && used == 0)
				break;
		}
	}
	return progress;
}

/* ---------------------------------------------------------------- the pump */

static int cancelled(const struct imap_conn *c)
{
	return c->cancel && atomic_load(c->cancel) >= 2;
}

/* One round of I/O on one connection: 1 progress, 0 none, -1 it failed (and
 * is dead now, its commands completed with the error). */
static int conn_step(struct imap_conn *c)
{
	struct mf_err e;
	int sent, got;

	if (c->dead)
		return -1;
	sent = send_some(c, &e);
	if (sent < 0) {
		conn_fail(c, &e);
		return -1;
	}
	got = recv_some(c, &e);
	if (got < 0) {
		conn_fail(c, &e);
		return -1;
	}
	return c->dead ? -1 : (sent || got);
}

static int conn_timed_out(struct imap_conn *c, int64_t now)
{
	struct mf_err e;

	if (!c->head || now - c->last_activity <= c->timeout_ms)
		return 0;
	mf_fail(&e, MF_SCOPE_CONN, MF_E_TIMEOUT, "no answer from the server for %ld seconds%s%s%s",
		c->timeout_ms / 1000, c->head ? " (waiting for " : "", c->head ? c->head->verb : "",
		c->head ? ")" : "");
	conn_fail(c, &e);
	return 1;
}

static int want_write(const struct imap_conn *c)
{
	return c->urgent.len || out_pending(c) ||
	       (c->send_cur && can_start(c, c->send_cur) && !c->send_cur->waiting_cont);
}

static int fail_out(struct imap_conn *c, struct mf_err *err)
{
	if (err)
		*err = c->dead_err;
	return -1;
}

int imap_pump(struct imap_conn *const *cs, size_t n, int (*done)(void *), void *aux,
	      struct mf_err *err)
{
	struct pollfd pfd[16];
	int64_t now = mono_ms();

	if (n > sizeof(pfd) / sizeof(pfd[0]))
		return mf_fail(err, MF_SCOPE_CONN, MF_E_INTERNAL, "too many connections to pump");
	for (size_t i = 0; i < n; i++) {
		if (cs[i]->dead)
			return fail_out(cs[i], err);
		if (!cs[i]->head)
			cs[i]->last_activity = now; /* idle time before now is not silence */
	}
	while (!done(aux)) {
		int progress = 0;
		long wait = 500; /* wake up now and then to notice a cancel */

		for (size_t i = 0; i < n; i++) {
			int r = conn_step(cs[i]);

			if (r < 0)
				return fail_out(cs[i], err);
			progress |= r;
		}
		if (progress)
			continue;
		now = mono_ms();
		for (size_t i = 0; i < n; i++) {
			if (cancelled(cs[i])) {
				struct mf_err e;

				mf_fail(&e, MF_SCOPE_CONN, MF_E_CANCEL, "stopped");
				for (size_t k = 0; k < n; k++)
					conn_fail(cs[k], &e);
				return fail_out(cs[i], err);
			}
			if (conn_timed_out(cs[i], now))
				return fail_out(cs[i], err);
			if (cs[i]->head) {
				long left = cs[i]->timeout_ms - (long)(now - cs[i]->last_activity);

				if (left < wait)
					wait = left < 1 ? 1 : left;
			}
			pfd[i].fd = transport_fd(cs[i]->t);
			pfd[i].events = POLLIN | (want_write(cs[i]) ? POLLOUT : 0);
			pfd[i].revents = 0;
		}
		while (poll(pfd, n, (int)wait) < 0 && errno == EINTR)
			;
	}
	return 0;
}

struct one_conn {
	struct imap_conn *c;
	int (*done)(struct imap_conn *, void *);
	void *aux;
};

static int one_done(void *aux)
{
	struct one_conn *o = aux;

	return o->done(o->c, o->aux);
}

int session_pump(struct imap_conn *c, int (*done)(struct imap_conn *, void *), void *aux,
		 struct mf_err *err)
{
	struct one_conn o = {c, done, aux};

	return imap_pump(&c, 1, one_done, &o, err);
}

int imap_flush(struct imap_conn *c, struct mf_err *err)
{
	struct mf_err e;

	if (c->dead)
		return fail_out(c, err);
	if (send_some(c, &e) < 0) {
		conn_fail(c, &e);
		return fail_out(c, err);
	}
	return 0;
}

static int queue_empty(struct imap_conn *c, void *aux)
{
	(void)aux;
	return c->head == NULL;
}

int imap_run(struct imap_conn *c, struct mf_err *err)
{
	return session_pump(c, queue_empty, NULL, err);
}

/* ---------------------------------------------------------------- errors */

int imap_throttle_wait(struct imap_conn *c, unsigned long ms, struct mf_err *err)
{
	if (ms > 600000)
		ms = 600000;
	log_info("%s: the server asks us to wait %lu ms (throttled)", c->label, ms);
	while (ms) {
		unsigned long step = ms > 200 ? 200 : ms;

		if (c->cancel && atomic_load(c->cancel))
			return mf_fail(err, MF_SCOPE_CONN, MF_E_CANCEL, "stopped");
		sleep_ms((long)step);
		ms -= step;
	}
	return 0;
}

static unsigned long throttle_ms(const char *text)
{
	const char *p = text ? strcasestr(text, "Suggested Backoff Time:") : NULL;

	if (!p)
		return 0;
	p += strlen("Suggested Backoff Time:");
	while (*p == ' ')
		p++;
	return strtoul(p, NULL, 10);
}

void imap_tagged_error(const struct imap_response *r, const char *what, struct mf_err *err)
{
	const char *text = r && r->text ? r->text : "";
	const char *st = r && r->status == IMAP_ST_BAD ? "BAD" : "NO";
	unsigned long wait = throttle_ms(text);
	char code[128] = "";

	if (r && r->code && r->code->len && r->code->items[0].type == IMAP_ATOM)
		snprintf(code, sizeof(code), "[%s] ", r->code->items[0].str);
	if (wait || strcasestr(text, "throttl")) {
		mf_fail(err, MF_SCOPE_FOLDER, MF_E_THROTTLE, "%s: %s %s%s", what, st, code, text);
		if (err)
			err->retry_ms = wait ? wait : 1000;
		return;
	}
	mf_fail(err, MF_SCOPE_FOLDER, r && r->status == IMAP_ST_BAD ? MF_E_BAD : MF_E_NO,
		"%s: %s %s%s", what, st, code, text);
}

/* ---------------------------------------------------------------- simple commands */

void imap_outcome_note(struct imap_outcome *o, int ok, const struct mf_err *err)
{
	o->done = 1;
	o->ok = ok;
	if (!ok && err)
		o->err = *err;
}

static void outcome_done(struct imap_conn *c, int ok, const struct imap_response *tagged,
			 const struct mf_err *err, void *aux)
{
	(void)c;
	(void)tagged;
	imap_outcome_note(aux, ok, err);
}

static int outcome_is_done(struct imap_conn *c, void *aux)
{
	(void)c;
	return ((struct imap_outcome *)aux)->done;
}

void imap_cmd_track(struct imap_cmd *cmd, struct imap_outcome *o)
{
	memset(o, 0, sizeof(*o));
	imap_cmd_on_done(cmd, outcome_done, o);
}

int imap_await(struct imap_conn *c, struct imap_outcome *o, struct mf_err *err)
{
	/* a failing connection completes its commands, so o is done after this */
	if (!o->done && session_pump(c, outcome_is_done, o, err) && !o->done)
		return -1;
	return 0;
}

int imap_simple(struct imap_conn *c, imap_untagged_fn on_untagged, void *aux, struct mf_err *err,
		const char *fmt, ...)
{
	struct imap_outcome res;
	struct imap_cmd *cmd = imap_cmd_new(c);
	va_list ap;
	char *text;

	if (!cmd)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	va_start(ap, fmt);
	text = mf_vsprintf(fmt, ap);
	va_end(ap);
	if (!text || append_text(cmd, text, strlen(text), 0)) {
		free(text);
		imap_cmd_free(cmd);
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	}
	free(text);
	imap_cmd_on_untagged(cmd, on_untagged, aux);
	imap_cmd_track(cmd, &res);
	if (imap_submit(c, cmd, err) || imap_await(c, &res, err))
		return -1;
	if (!res.ok) {
		if (err)
			*err = res.err;
		return -1;
	}
	return 0;
}

int imap_exec(struct imap_conn *c, struct imap_cmd *cmd, int *ok, struct mf_err *err)
{
	struct imap_outcome res;

	imap_cmd_track(cmd, &res);
	if (imap_submit(c, cmd, err) || imap_await(c, &res, err))
		return -1;
	*ok = res.ok;
	if (!res.ok && err)
		*err = res.err;
	return 0;
}

/* ---------------------------------------------------------------- accessors */

int imap_has_cap(const struct imap_conn *c, const char *cap)
{
	for (size_t i = 0; i < c->ncaps; i++)
		if (!strcasecmp(c->caps[i], cap))
			return 1;
	return 0;
}

const char *imap_greeting(const struct imap_conn *c)
{
	return c->greeting;
}

const char *imap_server_name(const struct imap_conn *c)
{
	return c->server_name;
}

struct transport *imap_transport(struct imap_conn *c)
{
	return c->t;
}

const char *imap_label(const struct imap_conn *c)
{
	return c->label;
}

long imap_login_ms(const struct imap_conn *c)
{
	return c->login_ms;
}

const struct imap_selected *imap_selected_state(const struct imap_conn *c)
{
	return &c->sel;
}

int session_caps_set(struct imap_conn *c, const struct imap_value *list)
{
	int rc = 0;

	for (size_t i = 0; i < c->ncaps; i++)
		free(c->caps[i]);
	c->ncaps = 0;
	c->caps_updates++;
	for (size_t i = 0; i < list->len && !rc; i++) {
		const struct imap_value *v = &list->items[i];

		if (v->type != IMAP_ATOM)
			continue;
		if (mf_grow(&c->caps, &c->capcap, c->ncaps + 1, sizeof(*c->caps)) ||
		    !(c->caps[c->ncaps] = mf_strdup(v->str)))
			rc = -1;
		else
			c->ncaps++;
	}
	c->literal_plus = imap_has_cap(c, "LITERAL+");
	c->literal_minus = imap_has_cap(c, "LITERAL-");
	return rc;
}

/* ---------------------------------------------------------------- connect */

/* Takes the capabilities from libcurl's connect phase, which already asked
 * (after TLS began): one round trip less per connection.  Parsed with a
 * parser of its own, so that a line we cannot read leaves the connection's
 * parser untouched.  0 when there was none we could use: the caller asks. */
static int caps_from_connect(struct imap_conn *c)
{
	const char *line = transport_capability_line(c->t);
	const struct imap_response *r = NULL;
	struct imap_parser *p;
	char text[1100];
	size_t used = 0;
	struct mf_err err;
	int n, ok = 0;

	if (!line)
		return 0;
	n = snprintf(text, sizeof(text), "%s\r\n", line);
	if (n < 0 || (size_t)n >= sizeof(text) || !(p = imap_parser_new(NULL, NULL)))
		return 0;
	if (imap_parser_next(p, text, (size_t)n, &used, &r, &err) == 1 && used == (size_t)n &&
	    r->kind == IMAP_R_UNTAGGED && r->keyword && !strcmp(r->keyword, "CAPABILITY") && r->args)
		ok = note_caps(c, r->args, 0) == 0 && c->ncaps > 0;
	imap_parser_free(p);
	return ok;
}

static int read_capabilities(struct imap_conn *c, struct mf_err *err)
{
	if (!caps_from_connect(c) && imap_simple(c, NULL, NULL, err, "CAPABILITY")) {
		mf_err_widen(err, MF_SCOPE_CONN);
		return -1;
	}
	if (!imap_has_cap(c, "IMAP4rev1") && !imap_has_cap(c, "IMAP4rev2"))
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_PROTO,
			       "the server does not speak IMAP4rev1 (capabilities: %s)",
			       c->ncaps ? c->caps[0] : "none");
	return 0;
}

int imap_connect(const struct imap_conn_opts *o, struct imap_conn **out, struct mf_err *err)
{
	struct imap_conn *c = mf_calloc(1, sizeof(*c));
	struct imap_parser_limits lim = {.max_mem_literal = o->max_mem_literal};
	struct imap_literal_sink sink;
	static atomic_uint letter;

	*out = NULL;
	if (!c)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	c->depth = o->pipeline_depth ? o->pipeline_depth : 64;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 120000;
	c->cancel = o->cancel;
	c->tracing = o->net.trace != NULL;
	c->tag_letter = (char)('A' + atomic_fetch_add(&letter, 1) % 26);
	snprintf(c->label, sizeof(c->label), "%s", o->label ? o->label : o->net.host);
	buf_init(&c->urgent, CMD_TEXT_MAX);
	buf_init(&c->tr_line, 4096);
	sink = (struct imap_literal_sink){conn_sink_begin, conn_sink_write, conn_sink_end, c};
	if (!(c->parser = imap_parser_new(&lim, &sink))) {
		imap_abort(c);
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	}
	{
		struct transport_opts net = o->net;

		net.trace_label = c->label;
		if (transport_connect(&net, &c->t, err)) {
			imap_abort(c);
			return -1;
		}
	}
	snprintf(c->greeting, sizeof(c->greeting), "%s", transport_greeting(c->t));
	if (read_capabilities(c, err)) {
		imap_abort(c);
		return -1;
	}
	*out = c;
	return 0;
}

void imap_abort(struct imap_conn *c)
{
	if (!c)
		return;
	while (c->head) {
		struct mf_err e;

		mf_fail(&e, MF_SCOPE_CONN, MF_E_CANCEL, "connection closed");
		complete_cmd(c, c->head, 0, NULL, &e);
	}
	transport_close(c->t);
	imap_parser_free(c->parser);
	for (size_t i = 0; i < c->ncaps; i++)
		free(c->caps[i]);
	free(c->caps);
	buf_free_secure(&c->urgent);
	buf_free(&c->tr_line);
	if (c->obuf_secret)
		OPENSSL_cleanse(c->obuf, sizeof(c->obuf));
	free(c);
}

/* Queues a polite LOGOUT: 0 when it is on its way. */
static int logout_send(struct imap_conn *c)
{
	struct imap_cmd *cmd;

	if (c->dead || !(cmd = imap_cmd_new(c)))
		return -1;
	if (append_text(cmd, "LOGOUT", 6, 0)) {
		imap_cmd_free(cmd);
		return -1;
	}
	c->timeout_ms = 5000; /* a polite LOGOUT, not a long wait */
	c->logging_out = 1;
	return imap_submit(c, cmd, NULL);
}

struct close_set {
	struct imap_conn **c;
	size_t n;
};

static int all_answered(void *aux)
{
	const struct close_set *s = aux;

	for (size_t i = 0; i < s->n; i++)
		if (!s->c[i]->dead && s->c[i]->head)
			return 0;
	return 1;
}

/* Up to 16 at a time: what one imap_pump polls. */
static void close_group(struct imap_conn *const *cs, size_t n)
{
	struct imap_conn *live[16];
	struct close_set set = {live, 0};

	/* every LOGOUT is on the wire before any answer is read */
	for (size_t i = 0; i < n; i++)
		if (cs[i] && !logout_send(cs[i]) && !imap_flush(cs[i], NULL))
			live[set.n++] = cs[i];
	while (set.n) {
		struct mf_err ignored;
		size_t k = 0;

		if (!imap_pump(live, set.n, all_answered, &set, &ignored))
			break;
		/* one of them failed: go on with the others */
		for (size_t i = 0; i < set.n; i++)
			if (!live[i]->dead)
				live[k++] = live[i];
		if (k == set.n)
			break;
		set.n = k;
	}
	for (size_t i = 0; i < n; i++)
		imap_abort(cs[i]);
}

void imap_close_many(struct imap_conn *const *cs, size_t n)
{
	for (size_t i = 0; i < n; i += 16)
		close_group(cs + i, n - i < 16 ? n - i : 16);
}

void imap_close(struct imap_conn *c)
{
	imap_close_many(&c, 1);
}
