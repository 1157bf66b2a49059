/* mailferry tests - mfproxy: what happens to the bytes of one direction
 *
 * The scanner hands over lines and raw bytes; here the rules act on them.
 * Line rules (drop, rewrite, inject, and close/reset/blackhole with match=)
 * see whole lines, so a direction that has any holds a partial line until
 * its end.  Every byte that leaves goes through pipe_emit(), which counts the
 * direction's output offset and cuts exactly at the offsets where positional
 * rules fire: a "close after=100" queues exactly 100 bytes, then a close
 * marker; the writer performs the close once those bytes are written.
 * Shaping (delay, rate, slice) happens in dir_write().
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/timeutil.h"
#include "mfproxy.h"

#define SEG_MIN_CAP   16384
#define WRITE_MAX     65536
#define TLS_WRITE_MAX 16384

static const char *dir_name(const struct dir *d)
{
	return d->which == PX_C2S ? "c2s" : "s2c";
}

static int rule_on_dir(const struct conn *c, int i, const struct dir *d)
{
	return !c->rs[i].done && (c->px->rules[i].dirs & (1u << d->which));
}

static int rule_applies_to_conn(const struct rule *r, long id)
{
	return r->conn == 0 || r->conn == id;
}

int dir_init(struct conn *c, int which)
{
	struct dir *d = &c->d[which];
	struct px *px = c->px;

	memset(d, 0, sizeof(*d));
	d->which = which;
	d->src = which == PX_C2S ? &c->cl : &c->up;
	d->dst = which == PX_C2S ? &c->up : &c->cl;
	buf_init(&d->in, 0);
	buf_init(&d->sc.line, 0);
	for (int i = 0; i < px->nrules; i++) {
		const struct rule *r = &px->rules[i];

		if (!rule_applies_to_conn(r, c->id) || !(r->dirs & (1u << which)))
			continue;
		if (rule_is_line_rule(r))
			d->hold = 1;
		if (r->kind == RULE_DELAY) {
			d->delay_ms = r->ms;
			d->jitter_ms = r->jitter;
			d->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(c->id * 2 + which + 1);
		} else if (r->kind == RULE_RATE) {
			d->bps = r->bps;
		} else if (r->kind == RULE_SLICE) {
			d->slice = r->size;
			d->gap = r->gap;
		}
	}
	return 0;
}

void queue_clear(struct queue *q)
{
	while (q->head) {
		struct seg *s = q->head;

		q->head = s->next;
		free(s);
	}
	q->tail = NULL;
	q->bytes = 0;
}

void dir_free(struct dir *d)
{
	buf_free(&d->in);
	buf_free(&d->sc.line);
	queue_clear(&d->out);
}

static struct seg *seg_new(size_t cap)
{
	struct seg *s = mf_calloc(1, sizeof(*s) + cap);

	if (s)
		s->cap = cap;
	return s;
}

static void queue_link(struct queue *q, struct seg *s)
{
	if (q->tail)
		q->tail->next = s;
	else
		q->head = s;
	q->tail = s;
}

/* When a chunk read now may be written: now + delay +- jitter, never
 * before an earlier chunk (0: at once). */
static int64_t dir_release_time(struct dir *d)
{
	int64_t now, t;

	if (!d->delay_ms && !d->jitter_ms)
		return 0;
	now = mono_ms();
	t = now + d->delay_ms;
	if (d->jitter_ms) {
		/* xorshift64: the same run gives the same delays */
		d->rng ^= d->rng << 13;
		d->rng ^= d->rng >> 7;
		d->rng ^= d->rng << 17;
		t += (int64_t)(d->rng % (uint64_t)(2 * d->jitter_ms + 1)) - d->jitter_ms;
	}
	if (t < now)
		t = now;
	if (t < d->last_release)
		t = d->last_release;
	d->last_release = t;
	return t;
}

static int queue_push(struct dir *d, const char *p, size_t n)
{
	struct queue *q = &d->out;
	int64_t release = dir_release_time(d);
	struct seg *t = q->tail;

	if (!n)
		return 0;
	if (t && t->ctrl == SEG_DATA && t->release == release && t->cap - t->len >= n) {
		memcpy(t->data + t->len, p, n);
		t->len += n;
		q->bytes += n;
		return 0;
	}
	t = seg_new(n > SEG_MIN_CAP ? n : SEG_MIN_CAP);
	if (!t)
		return -1;
	memcpy(t->data, p, n);
	t->len = n;
	t->release = release;
	queue_link(q, t);
	q->bytes += n;
	return 0;
}

static int queue_push_ctrl(struct dir *d, enum seg_ctrl ctrl, int rule_id)
{
	struct seg *s = seg_new(0);

	if (!s)
		return -1;
	s->ctrl = ctrl;
	s->rule_id = rule_id;
	/* a close after delayed bytes happens after them, not before */
	s->release = d->out.tail ? d->out.tail->release : 0;
	queue_link(&d->out, s);
	return 0;
}

/* A positional rule reached its offset. */
static int pipe_fire(struct conn *c, struct dir *d, int i)
{
	const struct rule *r = &c->px->rules[i];

	c->rs[i].done = 1;
	c->rs[i].fired++;
	px_log(c->px, "conn %ld: rule %d (%s) fired at %s byte %" PRIu64, c->id, r->id, r->spec,
	       dir_name(d), d->out_bytes);
	if (r->kind == RULE_BLACKHOLE) {
		d->blackholed = 1;
		return 0;
	}
	d->cut = 1;
	return queue_push_ctrl(d, r->kind == RULE_RESET ? SEG_RESET : SEG_CLOSE, r->id);
}

/* Fires the triggers that are due; returns the nearest future offset or -1. */
static int pipe_fire_due(struct conn *c, struct dir *d, int64_t *next)
{
	*next = -1;
	for (int i = 0; i < c->px->nrules; i++) {
		const struct rule *r = &c->px->rules[i];
		struct rstate *rs = &c->rs[i];

		if (!rule_is_positional(r) || !rule_on_dir(c, i, d) || !rs->armed || rs->pos < 0)
			continue;
		if ((uint64_t)rs->pos <= d->out_bytes) {
			if (pipe_fire(c, d, i) < 0)
				return -1;
			if (d->cut || d->blackholed)
				return 0;
			continue;
		}
		if (*next < 0 || rs->pos < *next)
			*next = rs->pos;
	}
	return 0;
}

int pipe_emit(struct conn *c, struct dir *d, const char *p, size_t n)
{
	for (;;) {
		int64_t next;
		size_t take;

		if (d->cut || d->blackholed) {
			d->dropped_bytes += n;
			return 0;
		}
		if (pipe_fire_due(c, d, &next) < 0)
			return -1;
		if (d->cut || d->blackholed)
			continue;
		if (n == 0)
			return 0;
		take = n;
		if (next >= 0 && (uint64_t)next - d->out_bytes < take)
			take = (size_t)((uint64_t)next - d->out_bytes);
		if (queue_push(d, p, take) < 0)
			return -1;
		d->out_bytes += take;
		p += take;
		n -= take;
	}
}

int dir_check_triggers(struct conn *c, struct dir *d)
{
	return pipe_emit(c, d, NULL, 0);
}

/* Arms the rules of the other direction whose when= matches this line. */
static int pipe_arm(struct conn *c, struct dir *d, const char *text)
{
	struct dir *o = &c->d[!d->which];

	for (int i = 0; i < c->px->nrules; i++) {
		const struct rule *r = &c->px->rules[i];
		struct rstate *rs = &c->rs[i];

		if (!r->has_when || rs->armed || !rule_on_dir(c, i, o) ||
		    !rule_regex_hit(&r->when, text))
			continue;
		rs->armed = 1;
		px_log(c->px, "conn %ld: rule %d (%s) armed by a %s line", c->id, r->id, r->spec,
		       dir_name(d));
		if (rule_is_positional(r) && !r->has_match) {
			rs->pos = (int64_t)o->out_bytes + r->after;
			if (dir_check_triggers(c, o) < 0)
				return -1;
		}
	}
	return 0;
}

static int count_left(const struct conn *c, int i)
{
	const struct rule *r = &c->px->rules[i];

	return r->count == 0 || c->rs[i].fired < r->count;
}

/* Line rules on a whole line: builds what is forwarded into out. */
static int pipe_apply_rules(struct conn *c, struct dir *d, const char *text, size_t tlen,
                            const char *ending, size_t elen, struct mf_buf *out, int *dropped)
{
	struct mf_buf cur, inj;
	int rc = -1;

	buf_init(&cur, 0);
	buf_init(&inj, 0);
	*dropped = 0;
	if (buf_append(&cur, text, tlen) < 0)
		goto out;
	for (int i = 0; i < c->px->nrules; i++) {
		const struct rule *r = &c->px->rules[i];
		struct rstate *rs = &c->rs[i];

		if (!rule_on_dir(c, i, d) || !rs->armed || !r->has_match || !count_left(c, i))
			continue;
		if (r->kind == RULE_REWRITE) {
			struct mf_buf next;
			int hits;

			/* rewrites chain: each works on the previous one's result */
			if (!rule_regex_hit(&r->match, cur.data))
				continue;
			buf_init(&next, 0);
			hits = rule_rewrite(r, cur.data, cur.len, &next);
			if (hits < 0 || buf_reserve(&next, 0) < 0) {
				buf_free(&next);
				goto out;
			}
			buf_free(&cur);
			cur = next;
			rs->fired++;
			px_log(c->px, "conn %ld: rule %d (%s) rewrote a %s line", c->id, r->id,
			       r->spec, dir_name(d));
			continue;
		}
		if (!rule_regex_hit(&r->match, text))
			continue;
		if (r->kind == RULE_DROP) {
			*dropped = 1;
			rs->fired++;
			px_log(c->px, "conn %ld: rule %d (%s) dropped a %s line", c->id, r->id,
			       r->spec, dir_name(d));
		} else if (r->kind == RULE_INJECT) {
			if (buf_append(&inj, r->data, r->data_len) < 0)
				goto out;
			rs->fired++;
			px_log(c->px, "conn %ld: rule %d (%s) injected %zu bytes into %s", c->id,
			       r->id, r->spec, r->data_len, dir_name(d));
		} else if (rule_is_positional(r) && rs->pos < 0) {
			/* the trigger point is the start of the matching line */
			rs->pos = (int64_t)d->out_bytes + r->after;
			px_log(c->px, "conn %ld: rule %d (%s) matched a %s line at byte %" PRIu64,
			       c->id, r->id, r->spec, dir_name(d), d->out_bytes);
		}
	}
	if (!*dropped &&
	    (buf_append(out, cur.data, cur.len) < 0 || buf_append(out, ending, elen) < 0))
		goto out;
	if (buf_append(out, inj.data, inj.len) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&cur);
	buf_free(&inj);
	return rc;
}

/* The server answered the client's STARTTLS. */
static void pipe_starttls_answer(struct conn *c, const char *text, size_t tlen,
                                 const struct mf_buf *sent, int whole)
{
	struct scanner *cs = &c->d[PX_C2S].sc;
	char st[8], st2[8];
	int server_ok, client_ok;

	if (!scan_tagged(text, tlen, cs->starttls_tag, st, sizeof(st)))
		return;
	server_ok = !strcmp(st, "OK");
	client_ok = server_ok;
	if (whole)
		client_ok =
		        sent->len &&
		        scan_tagged(sent->data, sent->len, cs->starttls_tag, st2, sizeof(st2)) &&
		        !strcmp(st2, "OK");
	cs->starttls_tag[0] = '\0';
	conn_starttls_answer(c, server_ok, client_ok);
}

int pipe_line(struct conn *c, struct dir *d, const char *line, size_t len, int whole)
{
	size_t tlen = len;
	char *text;
	struct mf_buf out;
	int dropped = 0, rc = -1;

	while (tlen > 0 && (line[tlen - 1] == '\n' || line[tlen - 1] == '\r'))
		tlen--;
	text = mf_strndup(line, tlen); /* NUL-terminated for regexec */
	buf_init(&out, 0);
	if (!text)
		return -1;
	if (pipe_arm(c, d, text) < 0)
		goto out;
	if (whole) {
		if (pipe_apply_rules(c, d, text, tlen, line + tlen, len - tlen, &out, &dropped) <
		            0 ||
		    pipe_emit(c, d, out.data, out.len) < 0)
			goto out;
	}
	if (d->which == PX_S2C && c->d[PX_C2S].sc.starttls_tag[0])
		pipe_starttls_answer(c, text, tlen, &out, whole);
	rc = 0;
out:
	free(text);
	buf_free(&out);
	return rc;
}

int dir_process(struct conn *c, struct dir *d)
{
	size_t off = 0;

	while (off < d->in.len && !d->paused && !c->aborting) {
		long n = scan_step(c, d, d->in.data + off, d->in.len - off);

		if (n < 0)
			return -1;
		off += (size_t)n;
	}
	buf_consume(&d->in, off);
	return 0;
}

int dir_flush_partial(struct conn *c, struct dir *d)
{
	struct scanner *sc = &d->sc;
	int rc = 0;

	if (sc->line_emitted < sc->line.len)
		rc = pipe_emit(c, d, sc->line.data + sc->line_emitted,
		               sc->line.len - sc->line_emitted);
	buf_reset(&sc->line);
	sc->line_emitted = 0;
	return rc;
}

/* ------------------------------------------------------------------ writing */

static size_t dir_gather(const struct dir *d, int64_t now, char *buf, size_t max)
{
	size_t n = 0;

	for (const struct seg *s = d->out.head; s && n < max; s = s->next) {
		size_t take;

		if (s->ctrl != SEG_DATA || s->release > now)
			break;
		take = s->len - s->off;
		if (take > max - n)
			take = max - n;
		memcpy(buf + n, s->data + s->off, take);
		n += take;
	}
	return n;
}

static void dir_advance(struct dir *d, size_t n)
{
	struct queue *q = &d->out;

	q->bytes -= n;
	while (n > 0 && q->head) {
		struct seg *s = q->head;
		size_t take = s->len - s->off;

		if (take > n)
			take = n;
		s->off += take;
		n -= take;
		if (s->off == s->len) {
			q->head = s->next;
			if (!q->head)
				q->tail = NULL;
			free(s);
		}
	}
}

int dir_write_ready(const struct dir *d, int64_t now)
{
	const struct seg *s = d->out.head;

	if (!s)
		return 0;
	if (s->ctrl != SEG_DATA)
		return 1;
	return s->release <= now && d->next_write <= now && d->dst->state == EP_READY &&
	       !d->dst->wr_shut;
}

int64_t dir_next_deadline(const struct dir *d, int64_t now)
{
	const struct seg *s = d->out.head;
	int64_t t;

	if (!s)
		return INT64_MAX;
	t = s->release > d->next_write ? s->release : d->next_write;
	return t > now ? t : INT64_MAX;
}

/* How many bytes the next write may carry. */
static size_t dir_write_size(const struct dir *d)
{
	size_t max = d->dst->tls ? TLS_WRITE_MAX : WRITE_MAX;

	if (d->slice > 0 && (size_t)d->slice < max)
		max = (size_t)d->slice;
	if (d->bps > 0) {
		int64_t chunk = d->bps / 20; /* 50 ms worth */

		if (chunk < 1)
			chunk = 1;
		if ((uint64_t)chunk < max)
			max = (size_t)chunk;
	}
	return max;
}

int dir_write(struct conn *c, struct dir *d, int64_t now)
{
	static char scratch[WRITE_MAX];
	char err[256];
	int writes = 0;

	while (d->out.head && !c->aborting) {
		struct seg *s = d->out.head;
		size_t max, n;
		long w;

		if (s->ctrl != SEG_DATA) {
			char why[64];

			snprintf(why, sizeof(why), "rule %d", s->rule_id);
			conn_abort(c, s->ctrl, why);
			return 0;
		}
		if (!dir_write_ready(d, now) || writes >= 4096)
			return 0;
		max = dir_write_size(d);
		if (d->dst->tls_retry)
			max = d->dst->tls_retry;
		n = dir_gather(d, now, scratch, max);
		if (!n)
			return 0;
		w = ep_write(d->dst, scratch, n, err, sizeof(err));
		if (w == EP_AGAIN)
			return 0;
		if (w < 0) {
			char why[300];

			snprintf(why, sizeof(why), "writing to the %s failed: %s", d->dst->name,
			         err);
			conn_abort(c, SEG_RESET, why);
			return -1;
		}
		dir_advance(d, (size_t)w);
		d->wrote_bytes += (uint64_t)w;
		d->writes++;
		writes++;
		if (d->slice > 0 && d->gap > 0)
			d->next_write = now + d->gap;
		if (d->bps > 0) {
			int64_t base = d->next_write > now ? d->next_write : now;

			/* rounded up: never faster than the limit */
			d->next_write =
			        base + (int64_t)(((uint64_t)w * 1000 + (uint64_t)d->bps - 1) /
			                         (uint64_t)d->bps);
		}
	}
	return 0;
}
