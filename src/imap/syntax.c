/* mailferry - writing IMAP command syntax */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/syntax.h"
#include "util/buf.h"
#include "util/mem.h"

/* ATOM-CHAR: any CHAR except atom-specials, i.e. except "(" ")" "{" SP, CTL,
 * "%" "*" (list-wildcards), DQUOTE "\" (quoted-specials) and "]". */
static int is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return !strchr("(){%*\"\\]", c);
}

/* Bytes a quoted string cannot carry: the caller must send a literal. */
static int needs_literal(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n' || c == 0 || c >= 0x80)
			return 1;
	}
	return 0;
}

static void truncate_to(struct mf_buf *b, size_t len)
{
	b->len = len;
	if (b->data)
		b->data[len] = 0;
}

int imap_put_quoted(struct mf_buf *b, const char *s, size_t n)
{
	size_t extra = 2;

	if (needs_literal(s, n))
		return 1;
	for (size_t i = 0; i < n; i++)
		extra += s[i] == '"' || s[i] == '\\';
	if (n > SIZE_MAX - extra || buf_reserve(b, n + extra))
		return -1;
	/* Room is reserved: the appends below cannot fail. */
	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_putc(b, '\\');
		buf_putc(b, s[i]);
	}
	buf_putc(b, '"');
	return 0;
}

int imap_put_astring(struct mf_buf *b, const char *s, size_t n)
{
	size_t i;

	if (needs_literal(s, n))
		return 1;
	for (i = 0; i < n && is_atom_char((unsigned char)s[i]); i++)
		;
	if (n > 0 && i == n)
		return buf_append(b, s, n) ? -1 : 0;
	return imap_put_quoted(b, s, n);
}

/* ------------------------------------------------------------------ uidset */

void uidset_init(struct uidset *s)
{
	s->r = NULL;
	s->n = s->cap = 0;
}

void uidset_free(struct uidset *s)
{
	free(s->r);
	uidset_init(s);
}

/* Index of the first range whose hi + 1 >= uid (could touch or hold uid). */
static size_t first_reaching(const struct uidset *s, uint32_t uid)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((uint64_t)s->r[mid].hi + 1 < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int uidset_add_range(struct uidset *s, uint32_t lo, uint32_t hi)
{
	size_t i, j;

	if (lo > hi) {
		uint32_t t = lo;

		lo = hi;
		hi = t;
	}
	if (lo == 0)
		return -1; /* not a UID */
	/* Common case: UIDs arrive in ascending order. */
	if (s->n && lo >= s->r[s->n - 1].lo) {
		struct uidrange *last = &s->r[s->n - 1];

		if ((uint64_t)last->hi + 1 >= lo) {
			if (hi > last->hi)
				last->hi = hi;
			return 0;
		}
		i = j = s->n;
	} else {
		i = first_reaching(s, lo);
		/* Ranges i..j-1 overlap or touch [lo, hi]. */
		for (j = i; j < s->n && (uint64_t)s->r[j].lo <= (uint64_t)hi + 1; j++)
			;
	}
	if (i < j) {
		if (s->r[i].lo < lo)
			lo = s->r[i].lo;
		if (s->r[j - 1].hi > hi)
			hi = s->r[j - 1].hi;
		s->r[i].lo = lo;
		s->r[i].hi = hi;
		memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(*s->r));
		s->n -= j - i - 1;
		return 0;
	}
	if (mf_grow(&s->r, &s->cap, s->n + 1, sizeof(*s->r)))
		return -1;
	memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
	s->r[i].lo = lo;
	s->r[i].hi = hi;
	s->n++;
	return 0;
}

int uidset_add(struct uidset *s, uint32_t uid)
{
	return uidset_add_range(s, uid, uid);
}

int uidset_has(const struct uidset *s, uint32_t uid)
{
	size_t i = first_reaching(s, uid);

	return uid && i < s->n && s->r[i].lo <= uid && uid <= s->r[i].hi;
}

uint64_t uidset_count(const struct uidset *s)
{
	uint64_t total = 0;

	for (size_t i = 0; i < s->n; i++)
		total += (uint64_t)s->r[i].hi - s->r[i].lo + 1;
	return total;
}

int uidset_format(const struct uidset *s, size_t *pos, size_t max_bytes, struct mf_buf *out)
{
	size_t written = 0, start_len = out->len;

	for (; *pos < s->n; (*pos)++) {
		const struct uidrange *r = &s->r[*pos];
		char text[32];
		int n;

		if (r->lo == r->hi)
			n = snprintf(text, sizeof(text), "%s%" PRIu32, written ? "," : "", r->lo);
		else
			n = snprintf(text, sizeof(text), "%s%" PRIu32 ":%" PRIu32,
			             written ? "," : "", r->lo, r->hi);
		if (written && max_bytes && written + (size_t)n > max_bytes)
			break;
		if (buf_append(out, text, (size_t)n)) {
			truncate_to(out, start_len);
			return -1;
		}
		written += (size_t)n;
	}
	return 0;
}

/* A UID (nz-number fitting in 32 bits) at s[*i..len). */
static int parse_uid(const char *s, size_t len, size_t *i, uint32_t *out)
{
	uint64_t v = 0;
	size_t k = *i;

	while (k < len && s[k] >= '0' && s[k] <= '9' && k - *i < 11)
		v = v * 10 + (uint64_t)(s[k++] - '0');
	if (k == *i || v == 0 || v > UINT32_MAX || (k < len && s[k] >= '0' && s[k] <= '9'))
		return -1;
	*out = (uint32_t)v;
	*i = k;
	return 0;
}

int uidset_parse_list(const char *s, size_t len, uint32_t *out, size_t max, size_t *n)
{
	size_t i = 0, count = 0;

	*n = 0;
	if (len == 0)
		return -1;
	for (;;) {
		uint32_t lo, hi;

		if (parse_uid(s, len, &i, &lo))
			return -1;
		hi = lo;
		if (i < len && s[i] == ':') {
			i++;
			if (parse_uid(s, len, &i, &hi))
				return -1;
			if (lo > hi) {
				uint32_t t = lo;

				lo = hi;
				hi = t;
			}
		}
		if ((uint64_t)hi - lo + 1 > max - count)
			return -1;
		for (uint64_t u = lo; u <= hi; u++)
			out[count++] = (uint32_t)u;
		if (i == len)
			break;
		if (s[i] != ',')
			return -1;
		i++;
	}
	*n = count;
	return 0;
}

/* ------------------------------------------------------------------- flags */

/* A flag we may send: "\" atom (system flag or flag-extension) or a keyword
 * atom; \Recent cannot be set and "\*" is not a flag. */
static int flag_valid(const char *f)
{
	size_t i = f[0] == '\\';

	if (!f[i])
		return 0;
	for (; f[i]; i++) {
		if (!is_atom_char((unsigned char)f[i]))
			return 0;
	}
	return 1;
}

int imap_put_flag_list(struct mf_buf *b, const char *const *flags, size_t n, size_t *dropped)
{
	size_t start_len = b->len, bad = 0, put = 0;

	if (buf_putc(b, '('))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *f = flags[i];

		if (f && !strcasecmp(f, "\\Recent"))
			continue;
		if (!f || !flag_valid(f)) {
			bad++;
			continue;
		}
		if ((put++ && buf_putc(b, ' ')) || buf_puts(b, f)) {
			truncate_to(b, start_len);
			return -1;
		}
	}
	if (buf_putc(b, ')')) {
		truncate_to(b, start_len);
		return -1;
	}
	if (dropped)
		*dropped = bad;
	return 0;
}
