/* mailferry - a small, strict, bounded JSON reader and a JSON writer */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/mem.h"

#define NONE ((size_t)-1)

struct json_value {
	enum json_type type;
	int boolean;
	const char *key;                 /* object members only */
	const char *str;                 /* strings and numbers */
	size_t len;                      /* bytes of str */
	const struct json_value **items; /* arrays and objects: count pointers */
	size_t count;
	/* While parsing the arenas move, so values refer to them by offset;
	 * json_parse() turns offsets into the pointers above at the end. */
	size_t key_off, str_off, first;
};

struct json_doc {
	struct json_value *values; /* owned; values[0] is the root */
	char *strings;             /* owned: every key, string and number text */
	size_t strings_len;
	const struct json_value **kids; /* owned: children of all containers */
};

struct parser {
	const unsigned char *s;
	size_t len, pos;
	unsigned max_depth;
	size_t max_values;
	struct json_value *values;
	size_t n_values, cap_values;
	struct mf_buf strings;
	size_t *stack; /* children of the containers being parsed */
	size_t n_stack, cap_stack;
	size_t *kids; /* children of closed containers, contiguous per container */
	size_t n_kids, cap_kids;
	const char **scratch; /* keys of one object, for the duplicate check */
	size_t cap_scratch;
	struct mf_err *err;
};

/* ---------------------------------------------------------------- UTF-8 */

static int is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/* Length of the valid UTF-8 sequence at s[0..n) (1-4), or 0 when it is not
 * valid: overlong forms, surrogates and code points above U+10FFFF are not. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0; /* a continuation byte, or an overlong 2-byte form */
	if (c < 0xE0)
		return n >= 2 && is_cont(s[1]) ? 2 : 0;
	if (c < 0xF0) {
		if (n < 3 || !is_cont(s[1]) || !is_cont(s[2]))
			return 0;
		cp = (uint32_t)(c & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
		return cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF) ? 0 : 3;
	}
	if (c < 0xF5) {
		if (n < 4 || !is_cont(s[1]) || !is_cont(s[2]) || !is_cont(s[3]))
			return 0;
		cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
		     (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
		return cp < 0x10000 || cp > 0x10FFFF ? 0 : 4;
	}
	return 0;
}

static int utf8_put(struct mf_buf *b, uint32_t cp)
{
	char out[4];
	size_t n;

	if (cp < 0x80) {
		out[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		out[0] = (char)(0xF0 | cp >> 18);
		out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return buf_append(b, out, n);
}

/* ---------------------------------------------------------------- parser */

static int p_fail(struct parser *ps, enum mf_errcode code, const char *what)
{
	return mf_fail(ps->err, MF_SCOPE_MSG, code, "JSON: %s at byte %zu", what, ps->pos);
}

static int p_nomem(struct parser *ps)
{
	return mf_fail_nomem(ps->err, MF_SCOPE_MSG);
}

static void p_skip_ws(struct parser *ps)
{
	while (ps->pos < ps->len) {
		unsigned char c = ps->s[ps->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		ps->pos++;
	}
}

static int p_peek(const struct parser *ps)
{
	return ps->pos < ps->len ? ps->s[ps->pos] : -1;
}

/* Adds a value and returns its index, or NONE after filling the error. */
static size_t p_new_value(struct parser *ps, enum json_type type)
{
	struct json_value *v;

	if (ps->n_values >= ps->max_values) {
		p_fail(ps, MF_E_TOOBIG, "too many values");
		return NONE;
	}
	if (mf_grow(&ps->values, &ps->cap_values, ps->n_values + 1, sizeof(*ps->values))) {
		p_nomem(ps);
		return NONE;
	}
	v = &ps->values[ps->n_values];
	memset(v, 0, sizeof(*v));
	v->type = type;
	v->key_off = v->str_off = v->first = NONE;
	return ps->n_values++;
}

static int p_hex4(struct parser *ps, uint32_t *out)
{
	uint32_t v = 0;

	if (ps->len - ps->pos < 4)
		return p_fail(ps, MF_E_DATA, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		unsigned char c = ps->s[ps->pos++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return p_fail(ps, MF_E_DATA, "bad hex digit in \\u escape");
	}
	*out = v;
	return 0;
}

/* After "\u": decodes one code point, joining a surrogate pair. */
static int p_unicode_escape(struct parser *ps)
{
	uint32_t cp, lo;

	if (p_hex4(ps, &cp))
		return -1;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return p_fail(ps, MF_E_DATA, "lone low surrogate");
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (ps->len - ps->pos < 2 || ps->s[ps->pos] != '\\' || ps->s[ps->pos + 1] != 'u')
			return p_fail(ps, MF_E_DATA, "high surrogate without a low one");
		ps->pos += 2;
		if (p_hex4(ps, &lo))
			return -1;
		if (lo < 0xDC00 || lo > 0xDFFF)
			return p_fail(ps, MF_E_DATA, "high surrogate without a low one");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	if (cp == 0)
		return p_fail(ps, MF_E_DATA, "\\u0000 in a string");
	return utf8_put(&ps->strings, cp) ? p_nomem(ps) : 0;
}

static int p_escape(struct parser *ps)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	int c;

	if (ps->pos >= ps->len)
		return p_fail(ps, MF_E_DATA, "unterminated string");
	c = ps->s[ps->pos++];
	if (c == 'u')
		return p_unicode_escape(ps);
	hit = c ? strchr(from, c) : NULL;
	if (!hit) {
		ps->pos--;
		return p_fail(ps, MF_E_DATA, "bad escape in a string");
	}
	return buf_putc(&ps->strings, to[hit - from]) ? p_nomem(ps) : 0;
}

/* At the opening quote: decodes the string into the string arena, NUL
 * terminated, and returns its offset and length there. */
static int p_string(struct parser *ps, size_t *off, size_t *len)
{
	size_t start;

	ps->pos++; /* the quote */
	*off = ps->strings.len;
	for (;;) {
		unsigned char c;
		size_t n;

		/* copy a run of plain printable ASCII at once */
		start = ps->pos;
		while (ps->pos < ps->len && (c = ps->s[ps->pos]) >= 0x20 && c < 0x80 && c != '"' &&
		       c != '\\')
			ps->pos++;
		if (ps->pos > start && buf_append(&ps->strings, ps->s + start, ps->pos - start))
			return p_nomem(ps);
		if (ps->pos >= ps->len)
			return p_fail(ps, MF_E_DATA, "unterminated string");
		c = ps->s[ps->pos];
		if (c == '"') {
			ps->pos++;
			break;
		}
		if (c == '\\') {
			ps->pos++;
			if (p_escape(ps))
				return -1;
			continue;
		}
		if (c < 0x20)
			return p_fail(ps, MF_E_DATA, "control character in a string");
		n = utf8_seq(ps->s + ps->pos, ps->len - ps->pos);
		if (!n)
			return p_fail(ps, MF_E_DATA, "invalid UTF-8 in a string");
		if (buf_append(&ps->strings, ps->s + ps->pos, n))
			return p_nomem(ps);
		ps->pos += n;
	}
	*len = ps->strings.len - *off;
	return buf_append(&ps->strings, "", 1) ? p_nomem(ps) : 0;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int p_digits(struct parser *ps)
{
	if (!is_digit(p_peek(ps)))
		return p_fail(ps, MF_E_DATA, "digit expected in a number");
	while (is_digit(p_peek(ps)))
		ps->pos++;
	return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int p_number(struct parser *ps, size_t idx)
{
	size_t start = ps->pos;
	struct json_value *v;

	if (p_peek(ps) == '-')
		ps->pos++;
	if (p_peek(ps) == '0')
		ps->pos++;
	else if (p_digits(ps))
		return -1;
	if (p_peek(ps) == '.') {
		ps->pos++;
		if (p_digits(ps))
			return -1;
	}
	if (p_peek(ps) == 'e' || p_peek(ps) == 'E') {
		ps->pos++;
		if (p_peek(ps) == '+' || p_peek(ps) == '-')
			ps->pos++;
		if (p_digits(ps))
			return -1;
	}
	v = &ps->values[idx];
	v->str_off = ps->strings.len;
	v->len = ps->pos - start;
	if (buf_append(&ps->strings, ps->s + start, ps->pos - start) ||
	    buf_append(&ps->strings, "", 1))
		return p_nomem(ps);
	return 0;
}

static int p_literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if (ps->len - ps->pos < n || memcmp(ps->s + ps->pos, word, n))
		return p_fail(ps, MF_E_DATA, "unexpected character");
	ps->pos += n;
	return 0;
}

static int p_push(struct parser *ps, size_t idx)
{
	if (mf_grow(&ps->stack, &ps->cap_stack, ps->n_stack + 1, sizeof(*ps->stack)))
		return p_nomem(ps);
	ps->stack[ps->n_stack++] = idx;
	return 0;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Refuses an object whose members [base, n_stack) repeat a key. */
static int p_check_keys(struct parser *ps, size_t base)
{
	size_t n = ps->n_stack - base;

	if (n < 2)
		return 0;
	if (mf_grow(&ps->scratch, &ps->cap_scratch, n, sizeof(*ps->scratch)))
		return p_nomem(ps);
	for (size_t i = 0; i < n; i++)
		ps->scratch[i] = ps->strings.data + ps->values[ps->stack[base + i]].key_off;
	qsort(ps->scratch, n, sizeof(*ps->scratch), by_key);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(ps->scratch[i - 1], ps->scratch[i]))
			return p_fail(ps, MF_E_DATA, "duplicate key in an object");
	return 0;
}

/* Moves the children [base, n_stack) of container idx to the kids array. */
static int p_close(struct parser *ps, size_t idx, size_t base)
{
	size_t n = ps->n_stack - base;

	if (mf_grow(&ps->kids, &ps->cap_kids, ps->n_kids + n + 1, sizeof(*ps->kids)))
		return p_nomem(ps);
	if (n)
		memcpy(ps->kids + ps->n_kids, ps->stack + base, n * sizeof(*ps->kids));
	ps->values[idx].first = ps->n_kids;
	ps->values[idx].count = n;
	ps->n_kids += n;
	ps->n_stack = base;
	return 0;
}

static size_t p_value(struct parser *ps, unsigned depth);

static int p_array(struct parser *ps, size_t idx, unsigned depth)
{
	size_t base = ps->n_stack, child;

	ps->pos++; /* [ */
	p_skip_ws(ps);
	if (p_peek(ps) == ']') {
		ps->pos++;
		return p_close(ps, idx, base);
	}
	for (;;) {
		child = p_value(ps, depth + 1);
		if (child == NONE || p_push(ps, child))
			return -1;
		p_skip_ws(ps);
		if (p_peek(ps) == ',') {
			ps->pos++;
			continue;
		}
		if (p_peek(ps) == ']') {
			ps->pos++;
			return p_close(ps, idx, base);
		}
		return p_fail(ps, MF_E_DATA,
		              ps->pos < ps->len ? "',' or ']' expected" : "unterminated array");
	}
}

static int p_object(struct parser *ps, size_t idx, unsigned depth)
{
	size_t base = ps->n_stack, child, key_off, key_len;

	ps->pos++; /* { */
	p_skip_ws(ps);
	if (p_peek(ps) == '}') {
		ps->pos++;
		return p_close(ps, idx, base);
	}
	for (;;) {
		p_skip_ws(ps);
		if (p_peek(ps) != '"')
			return p_fail(ps, MF_E_DATA,
			              ps->pos < ps->len ? "object key expected"
			                                : "unterminated object");
		if (p_string(ps, &key_off, &key_len))
			return -1;
		p_skip_ws(ps);
		if (p_peek(ps) != ':')
			return p_fail(ps, MF_E_DATA, "':' expected");
		ps->pos++;
		child = p_value(ps, depth + 1);
		if (child == NONE || p_push(ps, child))
			return -1;
		ps->values[child].key_off = key_off;
		p_skip_ws(ps);
		if (p_peek(ps) == ',') {
			ps->pos++;
			continue;
		}
		if (p_peek(ps) == '}') {
			ps->pos++;
			if (p_check_keys(ps, base))
				return -1;
			return p_close(ps, idx, base);
		}
		return p_fail(ps, MF_E_DATA,
		              ps->pos < ps->len ? "',' or '}' expected" : "unterminated object");
	}
}

/* Parses one value (after optional white space); returns its index or NONE. */
static size_t p_value(struct parser *ps, unsigned depth)
{
	size_t idx, len;
	int c, rc;

	p_skip_ws(ps);
	c = p_peek(ps);
	switch (c) {
	case '{':
	case '[':
		if (depth >= ps->max_depth) {
			p_fail(ps, MF_E_TOOBIG, "nested too deeply");
			return NONE;
		}
		idx = p_new_value(ps, c == '{' ? JSON_OBJECT : JSON_ARRAY);
		if (idx == NONE)
			return NONE;
		rc = c == '{' ? p_object(ps, idx, depth) : p_array(ps, idx, depth);
		break;
	case '"':
		idx = p_new_value(ps, JSON_STRING);
		if (idx == NONE)
			return NONE;
		rc = p_string(ps, &ps->values[idx].str_off, &len);
		ps->values[idx].len = len;
		break;
	case 't':
	case 'f':
		idx = p_new_value(ps, JSON_BOOL);
		if (idx == NONE)
			return NONE;
		ps->values[idx].boolean = c == 't';
		rc = p_literal(ps, c == 't' ? "true" : "false");
		break;
	case 'n':
		idx = p_new_value(ps, JSON_NULL);
		if (idx == NONE)
			return NONE;
		rc = p_literal(ps, "null");
		break;
	default:
		if (c != '-' && !is_digit(c)) {
			p_fail(ps, MF_E_DATA, c < 0 ? "value expected" : "unexpected character");
			return NONE;
		}
		idx = p_new_value(ps, JSON_NUMBER);
		if (idx == NONE)
			return NONE;
		rc = p_number(ps, idx);
		break;
	}
	return rc ? NONE : idx;
}

/* Turns arena offsets into pointers once nothing moves any more. */
static int p_resolve(struct parser *ps, struct json_doc *doc)
{
	doc->kids = mf_calloc(ps->n_kids ? ps->n_kids : 1, sizeof(*doc->kids));
	if (!doc->kids)
		return p_nomem(ps);
	for (size_t i = 0; i < ps->n_kids; i++)
		doc->kids[i] = &ps->values[ps->kids[i]];
	for (size_t i = 0; i < ps->n_values; i++) {
		struct json_value *v = &ps->values[i];

		if (v->key_off != NONE)
			v->key = ps->strings.data + v->key_off;
		if (v->str_off != NONE)
			v->str = ps->strings.data + v->str_off;
		if (v->first != NONE)
			v->items = doc->kids + v->first;
	}
	doc->values = ps->values;
	doc->strings_len = ps->strings.len;
	doc->strings = buf_steal(&ps->strings);
	ps->values = NULL;
	return 0;
}

static void p_free(struct parser *ps)
{
	free(ps->values);
	buf_free_secure(&ps->strings);
	free(ps->stack);
	free(ps->kids);
	free(ps->scratch);
}

int json_parse(const char *text, size_t len, const struct json_limits *lim, struct json_doc **out,
               struct mf_err *err)
{
	struct parser ps = {0};
	size_t max_bytes = lim && lim->max_bytes ? lim->max_bytes : JSON_DEFAULT_MAX_BYTES;
	struct json_doc *doc;

	*out = NULL;
	ps.s = (const unsigned char *)text;
	ps.len = len;
	ps.err = err;
	ps.max_depth = lim && lim->max_depth ? lim->max_depth : JSON_DEFAULT_MAX_DEPTH;
	if (ps.max_depth > 1000)
		ps.max_depth = 1000; /* the parser recurses once per level */
	ps.max_values = lim && lim->max_values ? lim->max_values : JSON_DEFAULT_MAX_VALUES;
	buf_init(&ps.strings, 0);
	if (len > max_bytes)
		return mf_fail(err, MF_SCOPE_MSG, MF_E_TOOBIG,
		               "JSON: document of %zu bytes is over the limit of %zu", len,
		               max_bytes);
	/* Decoded strings are never longer than their JSON text, and each NUL
	 * terminator can be charged to a quote or to the byte after a number
	 * (or, for a lone number, to the +1): len + 1 bytes always suffice, so
	 * the string space never moves. */
	ps.strings.limit = len + 1; /* the fuzz target checks this never bites */
	if (buf_reserve(&ps.strings, len + 1)) {
		p_nomem(&ps);
		goto fail;
	}
	if (p_value(&ps, 0) == NONE)
		goto fail;
	p_skip_ws(&ps);
	if (ps.pos != len) {
		p_fail(&ps, MF_E_DATA, "data after the value");
		goto fail;
	}
	doc = mf_calloc(1, sizeof(*doc));
	if (!doc) {
		p_nomem(&ps);
		goto fail;
	}
	if (p_resolve(&ps, doc)) {
		free(doc);
		goto fail;
	}
	p_free(&ps);
	*out = doc;
	return 0;
fail:
	p_free(&ps);
	return -1;
}

void json_free(struct json_doc *doc)
{
	if (!doc)
		return;
	free(doc->values);
	free(doc->strings);
	free(doc->kids);
	free(doc);
}

/* ---------------------------------------------------------------- access */

void json_free_secure(struct json_doc *doc)
{
	if (doc && doc->strings)
		OPENSSL_cleanse(doc->strings, doc->strings_len);
	json_free(doc);
}

const struct json_value *json_root(const struct json_doc *doc)
{
	return doc ? &doc->values[0] : NULL;
}

enum json_type json_type(const struct json_value *v)
{
	return v ? v->type : JSON_NULL;
}

int json_is_null(const struct json_value *v)
{
	return v && v->type == JSON_NULL;
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
	if (!v || v->type != JSON_OBJECT || !key)
		return NULL;
	for (size_t i = 0; i < v->count; i++)
		if (!strcmp(v->items[i]->key, key))
			return v->items[i];
	return NULL;
}

size_t json_count(const struct json_value *v)
{
	return v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) ? v->count : 0;
}

const struct json_value *json_at(const struct json_value *v, size_t i)
{
	return i < json_count(v) ? v->items[i] : NULL;
}

const char *json_key(const struct json_value *member)
{
	return member ? member->key : NULL;
}

const char *json_str(const struct json_value *v)
{
	return v && v->type == JSON_STRING ? v->str : NULL;
}

size_t json_str_len(const struct json_value *v)
{
	return v && v->type == JSON_STRING ? v->len : 0;
}

const char *json_num_text(const struct json_value *v)
{
	return v && v->type == JSON_NUMBER ? v->str : NULL;
}

int json_bool(const struct json_value *v, int *out)
{
	if (!v || v->type != JSON_BOOL)
		return -1;
	*out = v->boolean;
	return 0;
}

int json_int64(const struct json_value *v, int64_t *out)
{
	const char *p;
	int neg;
	uint64_t acc = 0, lim;

	if (!v || v->type != JSON_NUMBER)
		return -1;
	p = v->str;
	neg = *p == '-';
	p += neg;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p; p++) {
		if (!is_digit(*p))
			return -1; /* a fraction or an exponent */
		if (acc > (lim - (uint64_t)(*p - '0')) / 10)
			return -1;
		acc = acc * 10 + (uint64_t)(*p - '0');
	}
	if (neg)
		*out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	else
		*out = (int64_t)acc;
	return 0;
}

const char *json_get_str(const struct json_value *obj, const char *key)
{
	return json_str(json_get(obj, key));
}

int json_get_bool(const struct json_value *obj, const char *key, int *out)
{
	return json_bool(json_get(obj, key), out);
}

int json_get_int64(const struct json_value *obj, const char *key, int64_t *out)
{
	return json_int64(json_get(obj, key), out);
}

/* ---------------------------------------------------------------- writing */

int json_put_strn(struct mf_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run;

	if (buf_putc(b, '"'))
		return -1;
	while (i < n) {
		unsigned char c = u[i];
		char esc[7];

		/* a run of bytes that need no escaping */
		run = i;
		while (run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' &&
		       u[run] != '\\')
			run++;
		if (run > i) {
			if (buf_append(b, s + i, run - i))
				return -1;
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			if (buf_append(b, esc, 2))
				return -1;
			i++;
		} else if (c < 0x20) {
			const char *named = c == '\n'   ? "\\n"
			                    : c == '\r' ? "\\r"
			                    : c == '\t' ? "\\t"
			                    : c == '\b' ? "\\b"
			                    : c == '\f' ? "\\f"
			                                : NULL;

			if (named) {
				if (buf_puts(b, named))
					return -1;
			} else {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				if (buf_append(b, esc, 6))
					return -1;
			}
			i++;
		} else {
			size_t len = utf8_seq(u + i, n - i);

			if (len) {
				if (buf_append(b, s + i, len))
					return -1;
				i += len;
			} else {
				if (buf_puts(b, "\xEF\xBF\xBD")) /* U+FFFD */
					return -1;
				i++;
			}
		}
	}
	return buf_putc(b, '"');
}

int json_put_str(struct mf_buf *b, const char *s)
{
	return s ? json_put_strn(b, s, strlen(s)) : buf_puts(b, "null");
}

void json_w_init(struct json_w *w, struct mf_buf *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->first[0] = 1;
}

/* Everything a value needs written before it (a comma), or a failure when a
 * value is not allowed here (an object member without a key, a second value
 * at the top level). */
static int w_before_value(struct json_w *w)
{
	if (w->failed)
		return -1;
	if (w->in_object[w->depth]) {
		if (!w->after_key) {
			w->failed = 1;
			return -1;
		}
		w->after_key = 0;
		return 0;
	}
	if (w->depth == 0 && !w->first[0]) {
		w->failed = 1;
		return -1;
	}
	if (!w->first[w->depth] && buf_putc(w->out, ',')) {
		w->failed = 1;
		return -1;
	}
	w->first[w->depth] = 0;
	return 0;
}

static void w_put(struct json_w *w, int rc)
{
	if (rc)
		w->failed = 1;
}

static void w_open(struct json_w *w, char c, int is_object)
{
	if (w_before_value(w))
		return;
	if (w->depth >= JSON_W_MAX_DEPTH) {
		w->failed = 1;
		return;
	}
	w->depth++;
	w->first[w->depth] = 1;
	w->in_object[w->depth] = (unsigned char)is_object;
	w_put(w, buf_putc(w->out, c));
}

static void w_close(struct json_w *w, char c, int is_object)
{
	if (w->failed)
		return;
	if (w->depth == 0 || w->in_object[w->depth] != is_object || w->after_key) {
		w->failed = 1;
		return;
	}
	w->depth--;
	w_put(w, buf_putc(w->out, c));
}

void json_w_object_begin(struct json_w *w)
{
	w_open(w, '{', 1);
}

void json_w_object_end(struct json_w *w)
{
	w_close(w, '}', 1);
}

void json_w_array_begin(struct json_w *w)
{
	w_open(w, '[', 0);
}

void json_w_array_end(struct json_w *w)
{
	w_close(w, ']', 0);
}

void json_w_key(struct json_w *w, const char *key)
{
	if (w->failed)
		return;
	if (!w->in_object[w->depth] || w->after_key || !key) {
		w->failed = 1;
		return;
	}
	if (!w->first[w->depth] && buf_putc(w->out, ',')) {
		w->failed = 1;
		return;
	}
	w->first[w->depth] = 0;
	w_put(w, json_put_str(w->out, key) || buf_putc(w->out, ':'));
	w->after_key = 1;
}

void json_w_strn(struct json_w *w, const char *s, size_t n)
{
	if (!w_before_value(w))
		w_put(w, s ? json_put_strn(w->out, s, n) : buf_puts(w->out, "null"));
}

void json_w_str(struct json_w *w, const char *s)
{
	json_w_strn(w, s, s ? strlen(s) : 0);
}

void json_w_int(struct json_w *w, int64_t v)
{
	if (!w_before_value(w))
		w_put(w, buf_printf(w->out, "%" PRId64, v));
}

void json_w_uint(struct json_w *w, uint64_t v)
{
	if (!w_before_value(w))
		w_put(w, buf_printf(w->out, "%" PRIu64, v));
}

void json_w_bool(struct json_w *w, int v)
{
	if (!w_before_value(w))
		w_put(w, buf_puts(w->out, v ? "true" : "false"));
}

/* Whether s is exactly one JSON number. */
static int number_text(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (is_digit(*s))
		while (is_digit(*s))
			s++;
	else
		return 0;
	if (*s == '.') {
		if (!is_digit(*++s))
			return 0;
		while (is_digit(*s))
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!is_digit(*s))
			return 0;
		while (is_digit(*s))
			s++;
	}
	return *s == 0;
}

void json_w_number(struct json_w *w, const char *text)
{
	if (!text || !number_text(text)) {
		w->failed = 1;
		return;
	}
	if (!w_before_value(w))
		w_put(w, buf_puts(w->out, text));
}

void json_w_null(struct json_w *w)
{
	if (!w_before_value(w))
		w_put(w, buf_puts(w->out, "null"));
}

void json_w_kv_str(struct json_w *w, const char *key, const char *s)
{
	json_w_key(w, key);
	json_w_str(w, s);
}

void json_w_kv_int(struct json_w *w, const char *key, int64_t v)
{
	json_w_key(w, key);
	json_w_int(w, v);
}

void json_w_kv_uint(struct json_w *w, const char *key, uint64_t v)
{
	json_w_key(w, key);
	json_w_uint(w, v);
}

void json_w_kv_bool(struct json_w *w, const char *key, int v)
{
	json_w_key(w, key);
	json_w_bool(w, v);
}

int json_w_finish(struct json_w *w)
{
	return w->failed || w->depth != 0 || w->first[0] ? -1 : 0;
}
