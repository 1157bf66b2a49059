/* mailferry - modified UTF-7 mailbox names (RFC 3501 section 5.1.3) */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "imap/mutf7.h"
#include "util/buf.h"

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* Printable US-ASCII, which modified UTF-7 carries as itself. */
static int is_direct(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* Decodes one UTF-8 sequence at s[*i..n) into *cp, rejecting overlong forms,
 * surrogates and values above U+10FFFF.  0 or -1. */
static int utf8_next(const char *s, size_t n, size_t *i, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s + *i;
	size_t left = n - *i, len;
	uint32_t c, min;

	if (u[0] < 0x80) {
		*cp = u[0];
		*i += 1;
		return 0;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		len = 2;
		c = u[0] & 0x1f;
		min = 0x80;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		len = 3;
		c = u[0] & 0x0f;
		min = 0x800;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		len = 4;
		c = u[0] & 0x07;
		min = 0x10000;
	} else {
		return -1; /* continuation byte, 0xc0/0xc1 or 0xf5.. */
	}
	if (left < len)
		return -1;
	for (size_t k = 1; k < len; k++) {
		if ((u[k] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (u[k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	*i += len;
	return 0;
}

static int utf8_put(struct mf_buf *out, uint32_t c)
{
	char b[4];
	size_t n;

	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | (c >> 6));
		b[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | (c >> 12));
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (c >> 18));
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	return buf_append(out, b, n);
}

int utf8_valid(const char *s, size_t n)
{
	size_t i = 0;
	uint32_t c;

	while (i < n) {
		if (utf8_next(s, n, &i, &c))
			return 0;
		/* C0 controls (NUL included), DEL, and C1 controls. */
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
			return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------- encoding */

struct b64_out {
	struct mf_buf *out;
	uint32_t bits; /* pending bits, the low `nbits` of them */
	unsigned nbits;
};

static int b64_put16(struct b64_out *b, uint32_t unit)
{
	b->bits = (b->bits << 16) | unit;
	b->nbits += 16;
	while (b->nbits >= 6) {
		b->nbits -= 6;
		if (buf_putc(b->out, b64_chars[(b->bits >> b->nbits) & 0x3f]))
			return -1;
	}
	b->bits &= (1u << b->nbits) - 1;
	return 0;
}

/* Flushes the last bits (zero-padded) and closes the shift with '-'. */
static int b64_close(struct b64_out *b)
{
	if (b->nbits && buf_putc(b->out, b64_chars[(b->bits << (6 - b->nbits)) & 0x3f]))
		return -1;
	b->bits = 0;
	b->nbits = 0;
	return buf_putc(b->out, '-');
}

int mutf7_encode(const char *s, size_t n, struct mf_buf *out)
{
	struct b64_out b = {.out = out};
	size_t i = 0, start_len = out->len;
	int shifted = 0;
	uint32_t c;

	while (i < n) {
		if (utf8_next(s, n, &i, &c) || c == 0)
			goto fail;
		if (is_direct(c)) {
			if (shifted && b64_close(&b))
				goto fail;
			shifted = 0;
			if (buf_putc(out, (char)c) || (c == '&' && buf_putc(out, '-')))
				goto fail;
			continue;
		}
		if (!shifted && buf_putc(out, '&'))
			goto fail;
		shifted = 1;
		if (c >= 0x10000) {
			c -= 0x10000;
			if (b64_put16(&b, 0xd800 | (c >> 10)) ||
			    b64_put16(&b, 0xdc00 | (c & 0x3ff)))
				goto fail;
		} else if (b64_put16(&b, c)) {
			goto fail;
		}
	}
	if (shifted && b64_close(&b))
		goto fail;
	return 0;
fail:
	/* Leave out as it was: a half-encoded name is worse than none. */
	out->len = start_len;
	if (out->data)
		out->data[start_len] = 0;
	return -1;
}

/* ---------------------------------------------------------------- decoding */

/* Decodes the base64 run s[*i..) of a shift (after '&', up to and including
 * the '-') into UTF-8.  0, -1 (invalid) or -2 (out of memory). */
static int decode_shift(const char *s, size_t n, size_t *i, struct mf_buf *out)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	size_t k = *i, units = 0;

	for (;; k++) {
		int v;

		if (k >= n)
			return -1; /* unterminated shift */
		if (s[k] == '-')
			break;
		v = b64_value((unsigned char)s[k]);
		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		{
			uint32_t u = (bits >> nbits) & 0xffff;

			bits &= (1u << nbits) - 1;
			units++;
			if (high) {
				if (u < 0xdc00 || u > 0xdfff)
					return -1; /* high surrogate without its low half */
				if (utf8_put(out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00)))
					return -2;
				high = 0;
			} else if (u >= 0xd800 && u <= 0xdbff) {
				high = u;
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				return -1; /* lone low surrogate */
			} else if (u == 0 || is_direct(u)) {
				return -1; /* NUL, or ASCII that must be sent as itself */
			} else if (utf8_put(out, u)) {
				return -2;
			}
		}
	}
	/* Everything after the last whole unit is padding: fewer than 6 bits,
	 * all zero.  A shift holding no unit at all ("&AA-") is invalid too. */
	if (!units || high || nbits >= 6 || bits != 0)
		return -1;
	*i = k + 1;
	return 0;
}

int mutf7_decode(const char *s, size_t n, struct mf_buf *out)
{
	size_t i = 0, start_len = out->len;
	int after_shift = 0, rc = -1, shift;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (!is_direct(c))
			goto fail; /* 8-bit bytes and controls never appear raw */
		if (c != '&') {
			if (buf_putc(out, (char)c))
				goto nomem;
			i++;
			after_shift = 0;
			continue;
		}
		if (i + 1 < n && s[i + 1] == '-') {
			if (buf_putc(out, '&'))
				goto nomem;
			i += 2;
			after_shift = 0;
			continue;
		}
		/* Two shifts in a row must have been one. */
		if (after_shift)
			goto fail;
		i++;
		if ((shift = decode_shift(s, n, &i, out)) == -2)
			goto nomem;
		if (shift)
			goto fail;
		after_shift = 1;
	}
	return 0;
nomem:
	rc = -2;
fail:
	out->len = start_len;
	if (out->data)
		out->data[start_len] = 0;
	return rc;
}
