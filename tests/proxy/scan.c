/* mailferry tests - mfproxy: the IMAP-aware scanner
 *
 * Splits each direction into protocol lines and literal bytes, so that rules
 * and command counts never look inside a message body: a line ending in
 * "{n}", "{n+}" or "~{n}" is followed by n raw bytes, then by the rest of the
 * same command on the next line.  On the client side it also keeps enough
 * state to know which lines are commands: an AUTHENTICATE exchange sends
 * SASL lines until the server answers the tag, IDLE ends with "DONE", and a
 * synchronizing literal is only sent if the server answered "+" (a tagged
 * NO/BAD cancels it).  A client's TLS ClientHello at a line start (implicit
 * TLS, or STARTTLS passing through) makes the connection opaque.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/mem.h"
#include "mfproxy.h"

/* Lines longer than this are forwarded unmatched (1 MB server lines pass). */
#define SCAN_LINE_CAP (4u * 1024 * 1024)

/* ------------------------------------------------------------------ counts */

struct count_entry {
	char verb[40];
	long total;
	long plain;
};

static struct count_entry *count_tab;
static size_t count_n, count_cap;
static long count_conns;

void counts_add(const char *verb, int plaintext)
{
	size_t i;

	for (i = 0; i < count_n; i++)
		if (!strcmp(count_tab[i].verb, verb))
			break;
	if (i == count_n) {
		if (mf_grow(&count_tab, &count_cap, count_n + 1, sizeof(*count_tab)) < 0)
			return; /* out of memory: the count file will say less */
		memset(&count_tab[i], 0, sizeof(count_tab[i]));
		snprintf(count_tab[i].verb, sizeof(count_tab[i].verb), "%s", verb);
		count_n++;
	}
	count_tab[i].total++;
	if (plaintext)
		count_tab[i].plain++;
}

void counts_connection(void)
{
	count_conns++;
}

static int count_cmp(const void *a, const void *b)
{
	return strcmp(((const struct count_entry *)a)->verb, ((const struct count_entry *)b)->verb);
}

int counts_write(const char *path)
{
	char *tmp = mf_sprintf("%s.tmp", path);
	FILE *f;
	int rc = 0;

	if (!tmp)
		return -1;
	f = fopen(tmp, "w");
	if (!f) {
		free(tmp);
		return -1;
	}
	if (count_n)
		qsort(count_tab, count_n, sizeof(*count_tab), count_cmp);
	for (size_t i = 0; i < count_n; i++)
		fprintf(f, "%s\t%ld\n", count_tab[i].verb, count_tab[i].total);
	fprintf(f, "connections\t%ld\n", count_conns);
	for (size_t i = 0; i < count_n; i++)
		if (count_tab[i].plain)
			fprintf(f, "plain:%s\t%ld\n", count_tab[i].verb, count_tab[i].plain);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		rc = -1;
	free(tmp);
	return rc;
}

void counts_free(void)
{
	mf_freep(&count_tab);
	count_n = count_cap = 0;
}

/* ------------------------------------------------------------------ line helpers */

int scan_literal_marker(const char *tail, size_t len, uint64_t *n, int *sync)
{
	size_t i = len;
	uint64_t v = 0, mul = 1;
	int digits = 0;

	while (i > 0 && (tail[i - 1] == '\n' || tail[i - 1] == '\r'))
		i--;
	if (i == 0 || tail[i - 1] != '}')
		return 0;
	i--;
	*sync = 1;
	if (i > 0 && tail[i - 1] == '+') {
		*sync = 0;
		i--;
	}
	while (i > 0 && isdigit((unsigned char)tail[i - 1])) {
		uint64_t d = (uint64_t)(tail[i - 1] - '0');

		/* saturate: a literal bigger than 2^64 just runs to the end */
		if (digits >= 20 || (d && mul > UINT64_MAX / d) || v > UINT64_MAX - d * mul)
			v = UINT64_MAX;
		else
			v += d * mul;
		if (digits < 20)
			mul = digits == 19 ? UINT64_MAX : mul * 10;
		digits++;
		i--;
	}
	if (!digits || i == 0 || tail[i - 1] != '{')
		return 0;
	*n = v;
	return 1;
}

static size_t scan_word(const char *p, size_t len, size_t pos, size_t *wlen)
{
	size_t s = pos;

	while (pos < len && p[pos] != ' ' && p[pos] != '\r' && p[pos] != '\n')
		pos++;
	*wlen = pos - s;
	return s;
}

int scan_command(const char *line, size_t len, char *tag, size_t tagsz, char *verb, size_t verbsz)
{
	size_t tl, vl, vs, ul, us;

	scan_word(line, len, 0, &tl);
	if (tl == 0 || tl >= tagsz || tl >= len || line[tl] != ' ')
		return -1;
	memcpy(tag, line, tl);
	tag[tl] = '\0';
	vs = scan_word(line, len, tl + 1, &vl);
	if (vl == 0 || vl >= verbsz)
		return -1;
	for (size_t i = 0; i < vl; i++) {
		unsigned char ch = (unsigned char)line[vs + i];

		if (!isalnum(ch) && ch != '-' && ch != '.')
			return -1;
		verb[i] = (char)toupper(ch);
	}
	verb[vl] = '\0';
	if (!strcmp(verb, "UID") && vs + vl < len && line[vs + vl] == ' ') {
		us = scan_word(line, len, vs + vl + 1, &ul);
		if (ul > 0 && vl + 1 + ul < verbsz) {
			verb[vl] = ' ';
			for (size_t i = 0; i < ul; i++)
				verb[vl + 1 + i] = (char)toupper((unsigned char)line[us + i]);
			verb[vl + 1 + ul] = '\0';
		}
	}
	return 0;
}

int scan_tagged(const char *line, size_t len, const char *tag, char *status, size_t statsz)
{
	size_t tl = strlen(tag), sl, ss;

	status[0] = '\0';
	if (!tl || len <= tl || strncmp(line, tag, tl) != 0 || line[tl] != ' ')
		return 0;
	ss = scan_word(line, len, tl + 1, &sl);
	if (sl < statsz) {
		for (size_t i = 0; i < sl; i++)
			status[i] = (char)toupper((unsigned char)line[ss + i]);
		status[sl] = '\0';
	}
	return 1;
}

static int tag_is(const char *line, size_t len, const char *tag)
{
	size_t tl = strlen(tag);

	return tag[0] && len > tl && !strncmp(line, tag, tl) && line[tl] == ' ';
}

/* ------------------------------------------------------------------ per-line state */

/* Client line complete: is it a command?  Count it and track exchanges. */
static void scan_client_line(struct conn *c, struct dir *d, const char *line, size_t len)
{
	struct scanner *sc = &d->sc;
	char tag[SCAN_TAG_MAX], verb[40];
	size_t tl = len;

	while (tl > 0 && (line[tl - 1] == '\n' || line[tl - 1] == '\r'))
		tl--;
	if (sc->continuation) {
		sc->continuation = 0;
		return;
	}
	if (sc->sasl_tag[0])
		return; /* a SASL response line, not a command */
	if (sc->idle && tl == 4 && !strncasecmp(line, "DONE", 4)) {
		sc->idle = 0;
		return;
	}
	if (scan_command(line, len, tag, sizeof(tag), verb, sizeof(verb)) < 0)
		return;
	counts_add(verb, !c->cl.tls);
	if (!strcmp(verb, "AUTHENTICATE"))
		snprintf(sc->sasl_tag, sizeof(sc->sasl_tag), "%s", tag);
	else if (!strcmp(verb, "IDLE"))
		sc->idle = 1;
	else if (!strcmp(verb, "STARTTLS") && !c->cl.tls) {
		snprintf(sc->starttls_tag, sizeof(sc->starttls_tag), "%s", tag);
		/* terminating STARTTLS: what the client sends next belongs to TLS */
		if (c->px->tls == TLS_STARTTLS)
			d->paused = 1;
	}
	snprintf(sc->lit_tag, sizeof(sc->lit_tag), "%s", tag);
}

/* Server line complete: answers end SASL exchanges, confirm or cancel a
 * pending synchronizing literal, and answer STARTTLS. */
static void scan_server_line(struct conn *c, const char *line, size_t len)
{
	struct scanner *cs = &c->d[PX_C2S].sc;

	if (len > 0 && line[0] == '+') {
		cs->lit_sync = 0;
		return;
	}
	if (tag_is(line, len, cs->sasl_tag))
		cs->sasl_tag[0] = '\0';
	if (cs->lit_sync && tag_is(line, len, cs->lit_tag)) {
		/* the server refused the command before the literal: no literal follows */
		cs->lit_sync = 0;
		cs->lit_left = 0;
		cs->continuation = 0;
	}
}

/* A line has ended (the line buffer holds it, possibly capped). */
static int scan_line_end(struct conn *c, struct dir *d)
{
	struct scanner *sc = &d->sc;
	uint64_t n = 0;
	int sync = 0, whole = d->hold && !sc->overlong;
	int has_lit = scan_literal_marker(sc->tail, sc->tail_len, &n, &sync);

	if (d->which == PX_C2S)
		scan_client_line(c, d, sc->line.data, sc->line.len);
	else
		scan_server_line(c, sc->line.data, sc->line.len);
	if (pipe_line(c, d, sc->line.data, sc->line.len, whole) < 0)
		return -1;
	buf_reset(&sc->line);
	sc->line_emitted = 0;
	sc->overlong = 0;
	sc->tail_len = 0;
	if (has_lit) {
		sc->lit_left = n;
		if (d->which == PX_C2S) {
			sc->continuation = 1;
			sc->lit_sync = sync && n > 0;
		}
	}
	return 0;
}

static void scan_tail_add(struct scanner *sc, const char *p, size_t n)
{
	size_t cap = sizeof(sc->tail);

	if (n >= cap) {
		memcpy(sc->tail, p + n - cap, cap);
		sc->tail_len = cap;
		return;
	}
	if (sc->tail_len + n > cap) {
		size_t drop = sc->tail_len + n - cap;

		memmove(sc->tail, sc->tail + drop, sc->tail_len - drop);
		sc->tail_len -= drop;
	}
	memcpy(sc->tail + sc->tail_len, p, n);
	sc->tail_len += n;
}

/* Part of a line (up to and including its LF, if any). */
static int scan_line_part(struct conn *c, struct dir *d, const char *p, size_t n)
{
	struct scanner *sc = &d->sc;
	size_t room = sc->line.len < SCAN_LINE_CAP ? SCAN_LINE_CAP - sc->line.len : 0;
	size_t keep = n < room ? n : room;

	scan_tail_add(sc, p, n);
	if (keep && buf_append(&sc->line, p, keep) < 0)
		return -1;
	if (d->hold && !sc->overlong && keep < n) {
		/* too long to match: forward what is held and stream the rest */
		sc->overlong = 1;
		px_log(c->px, "conn %ld %s: line longer than %u bytes is not matched by rules",
		       c->id, d->which == PX_C2S ? "c2s" : "s2c", SCAN_LINE_CAP);
	}
	if (!d->hold || sc->overlong) {
		if (sc->line_emitted < sc->line.len) {
			size_t held = sc->line.len - sc->line_emitted - keep;

			/* held part that was not forwarded yet (overlong just began) */
			if (held && pipe_emit(c, d, sc->line.data + sc->line_emitted, held) < 0)
				return -1;
		}
		if (pipe_emit(c, d, p, n) < 0)
			return -1;
		sc->line_emitted = sc->line.len;
	}
	return 0;
}

long scan_step(struct conn *c, struct dir *d, const char *p, size_t n)
{
	struct scanner *sc = &d->sc;
	const char *lf;
	size_t take;

	if (sc->opaque)
		return pipe_emit(c, d, p, n) < 0 ? -1 : (long)n;
	if (sc->lit_left > 0) {
		take = sc->lit_left < n ? (size_t)sc->lit_left : n;
		if (sc->lit_left != UINT64_MAX)
			sc->lit_left -= take;
		return pipe_emit(c, d, p, take) < 0 ? -1 : (long)take;
	}
	if (d->which == PX_C2S && !c->cl.tls && sc->line.len == 0 && sc->lit_left == 0 &&
	    (unsigned char)p[0] == 0x16) {
		/* a TLS ClientHello where a command should start: TLS passes through */
		px_log(c->px, "conn %ld: client starts TLS, passing it through opaquely", c->id);
		sc->opaque = 1;
		c->d[PX_S2C].sc.opaque = 1;
		return pipe_emit(c, d, p, n) < 0 ? -1 : (long)n;
	}
	lf = memchr(p, '\n', n);
	take = lf ? (size_t)(lf - p) + 1 : n;
	if (scan_line_part(c, d, p, take) < 0)
		return -1;
	if (lf && scan_line_end(c, d) < 0)
		return -1;
	return (long)take;
}
