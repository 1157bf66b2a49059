/* mailferry - incremental IMAP response parser
 *
 * How it works: bytes outside literals are collected into a line segment (up
 * to CRLF, at most max_line bytes).  A complete segment is tokenised at once;
 * the lists it leaves open stay on a value stack, so a segment ending in a
 * literal announcement {N} hands over to literal mode (N bytes copied into
 * the arena or streamed to the sink) and the next segment carries on where
 * the previous one stopped.  A segment that ends with no literal pending and
 * no list open completes the response.
 *
 * Values, strings and in-memory literals of a response live in an arena that
 * is reset when the next response starts, keeping one small chunk, so memory
 * stays flat over a long session.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/parser.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

#define DEF_MAX_LINE         ((size_t)64 * 1024)
#define DEF_MAX_MEM_LITERAL  ((size_t)1024 * 1024)
#define DEF_MAX_LITERAL      ((uint64_t)4 * 1024 * 1024 * 1024)
#define DEF_MAX_DEPTH        32u
#define DEF_MAX_ITEMS        ((size_t)100000)
#define DEF_MAX_RESPONSE_MEM ((size_t)64 * 1024 * 1024)

#define ARENA_BASE     ((size_t)4096)  /* the chunk kept between responses */
#define ARENA_MAX_STEP ((size_t)65536) /* growth of ordinary chunks stops here */
#define ARENA_ALIGN    (sizeof(void *) > sizeof(size_t) ? sizeof(void *) : sizeof(size_t))
/* Buffers larger than these are released between responses. */
#define KEEP_LINE_CAP  ((size_t)16 * 1024)
#define KEEP_STACK_CAP ((size_t)1024)

/* ------------------------------------------------------------------ arena */

struct arena_chunk {
	struct arena_chunk *next;
	size_t size; /* bytes usable in data */
	size_t used;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head; /* the chunk small allocations come from */
	size_t held;              /* bytes of every chunk, headers included */
	size_t given;             /* bytes handed out since the last reset */
	size_t nchunks;
};

static void arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	memset(a, 0, sizeof(*a));
}

/* Frees every chunk but one base-sized chunk, which is emptied and kept. */
static void arena_reset(struct arena *a)
{
	struct arena_chunk *c, *next, *keep = NULL;

	for (c = a->head; c; c = next) {
		next = c->next;
		if (!keep && c->size == ARENA_BASE) {
			keep = c;
			continue;
		}
		free(c);
	}
	a->head = keep;
	a->given = 0;
	a->nchunks = keep ? 1 : 0;
	a->held = keep ? sizeof(*keep) + keep->size : 0;
	if (keep) {
		keep->next = NULL;
		keep->used = 0;
	}
}

static struct arena_chunk *arena_new_chunk(struct arena *a, size_t size)
{
	struct arena_chunk *c;

	if (size > SIZE_MAX - sizeof(*c))
		return NULL;
	c = mf_malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	c->size = size;
	c->used = 0;
	a->held += sizeof(*c) + size;
	a->nchunks++;
	return c;
}

/* n bytes aligned for any value, or NULL when out of memory. */
static void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t step, need;

	if (n > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	need = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (c && c->size - c->used >= need) {
		void *r = (char *)c->data + c->used;

		c->used += need;
		a->given += need;
		return r;
	}
	step = ARENA_BASE;
	for (size_t i = 0; i < a->nchunks && step < ARENA_MAX_STEP; i++)
		step *= 2;
	if (need > step) {
		/* A large block (a literal) gets a chunk of its own behind the
		 * current one, so the current one's free space is not wasted. */
		c = arena_new_chunk(a, need);
		if (!c)
			return NULL;
		if (a->head) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = NULL;
			a->head = c;
		}
	} else {
		c = arena_new_chunk(a, a->head ? step : ARENA_BASE);
		if (!c)
			return NULL;
		c->next = a->head;
		a->head = c;
	}
	c->used = need;
	a->given += need;
	return c->data;
}

/* ----------------------------------------------------------------- parser */

struct imap_parser {
	struct imap_parser_limits lim;
	struct imap_literal_sink sink;
	int has_sink;

	struct arena arena;
	struct mf_buf line; /* the current segment, CRLF excluded */
	int saw_cr;

	int in_response; /* the first segment of the response was parsed */
	int delivered;   /* resp was handed out: reset before reading on */
	int failed;
	struct mf_err fail_err;
	int brackets_off; /* an unbalanced '[' in this segment: no more lookahead */

	/* Values of the lists still open; frames[i] is where list i starts. */
	struct imap_value *stack;
	size_t nstack, capstack;
	size_t *frames;
	size_t nframes, capframes;
	size_t nvalues; /* values made for this response (max_items) */

	/* The literal being read. */
	int in_literal;
	int lit_streamed;
	uint64_t lit_size, lit_left;
	char *lit_mem;
	struct imap_literal_sink lit_sink;

	struct imap_response resp;
};

static void set_limits(struct imap_parser *p, const struct imap_parser_limits *l)
{
	struct imap_parser_limits z = {0};

	if (!l)
		l = &z;
	p->lim.max_line = l->max_line ? l->max_line : DEF_MAX_LINE;
	p->lim.max_mem_literal = l->max_mem_literal ? l->max_mem_literal : DEF_MAX_MEM_LITERAL;
	p->lim.max_literal = l->max_literal ? l->max_literal : DEF_MAX_LITERAL;
	if (p->lim.max_literal > SIZE_MAX)
		p->lim.max_literal = SIZE_MAX; /* value lengths are size_t */
	p->lim.max_depth = l->max_depth ? l->max_depth : DEF_MAX_DEPTH;
	p->lim.max_items = l->max_items ? l->max_items : DEF_MAX_ITEMS;
	p->lim.max_response_mem = l->max_response_mem ? l->max_response_mem : DEF_MAX_RESPONSE_MEM;
	if (!l->max_response_mem && p->lim.max_response_mem < p->lim.max_mem_literal + (1u << 20))
		p->lim.max_response_mem = p->lim.max_mem_literal + (1u << 20);
	if (p->lim.max_mem_literal > SIZE_MAX - 1)
		p->lim.max_mem_literal = SIZE_MAX - 1;
}

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits,
                                    const struct imap_literal_sink *sink)
{
	struct imap_parser *p = mf_calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	set_limits(p, limits);
	buf_init(&p->line, p->lim.max_line);
	imap_parser_set_sink(p, sink);
	return p;
}

void imap_parser_free(struct imap_parser *p)
{
	if (!p)
		return;
	arena_free(&p->arena);
	buf_free(&p->line);
	free(p->stack);
	free(p->frames);
	free(p);
}

void imap_parser_set_sink(struct imap_parser *p, const struct imap_literal_sink *sink)
{
	p->has_sink = sink != NULL;
	if (sink)
		p->sink = *sink;
	else
		memset(&p->sink, 0, sizeof(p->sink));
}

size_t imap_parser_mem_usage(const struct imap_parser *p)
{
	return sizeof(*p) + p->arena.held + p->line.cap + p->capstack * sizeof(*p->stack) +
	       p->capframes * sizeof(*p->frames);
}

/* Forgets the previous response: its values die here. */
static void reset_response(struct imap_parser *p)
{
	arena_reset(&p->arena);
	if (p->line.cap > KEEP_LINE_CAP)
		buf_free(&p->line);
	buf_reset(&p->line);
	if (p->capstack > KEEP_STACK_CAP) {
		mf_freep(&p->stack);
		p->capstack = 0;
	}
	p->nstack = p->nframes = p->nvalues = 0;
	p->in_response = p->delivered = p->in_literal = 0;
	memset(&p->resp, 0, sizeof(p->resp));
}

/* ----------------------------------------------------------------- errors */

/* Copies up to 48 bytes of s into out, printable, for quoting in messages. */
static const char *excerpt(const char *s, size_t n, char *out, size_t outsz)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 5 < outsz && i < 48; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outsz - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (i < n && o + 4 <= outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = 0;
	return out;
}

static int fail_saved(struct imap_parser *p, struct mf_err *err)
{
	p->failed = 1;
	p->fail_err = *err;
	return -1;
}

static int proto_err(struct imap_parser *p, struct mf_err *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int proto_err(struct imap_parser *p, struct mf_err *err, const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof(err->msg)];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mf_fail(err, MF_SCOPE_CONN, MF_E_PROTO, "IMAP protocol error: %s", msg);
	return fail_saved(p, err);
}

static int nomem_err(struct imap_parser *p, struct mf_err *err)
{
	mf_fail(err, MF_SCOPE_CONN, MF_E_NOMEM, "out of memory while reading an IMAP response");
	return fail_saved(p, err);
}

/* Allocation for the current response, within max_response_mem. */
static void *resp_alloc(struct imap_parser *p, size_t n, struct mf_err *err)
{
	void *r;

	if (n > p->lim.max_response_mem || p->arena.given > p->lim.max_response_mem - n) {
		proto_err(p, err, "a response needs more than %zu bytes of memory",
		          p->lim.max_response_mem);
		return NULL;
	}
	r = arena_alloc(&p->arena, n);
	if (!r)
		nomem_err(p, err);
	return r;
}

static char *resp_strndup(struct imap_parser *p, const char *s, size_t n, struct mf_err *err)
{
	char *d = n < SIZE_MAX ? resp_alloc(p, n + 1, err) : NULL;

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* ------------------------------------------------------------ value stack */

static int count_value(struct imap_parser *p, struct mf_err *err)
{
	if (p->nvalues >= p->lim.max_items)
		return proto_err(p, err, "more than %zu values in one response", p->lim.max_items);
	p->nvalues++;
	return 0;
}

static int push_value(struct imap_parser *p, const struct imap_value *v, struct mf_err *err)
{
	if (mf_grow(&p->stack, &p->capstack, p->nstack + 1, sizeof(*p->stack)))
		return nomem_err(p, err);
	p->stack[p->nstack++] = *v;
	return 0;
}

static int open_list(struct imap_parser *p, struct mf_err *err)
{
	/* frames[0] is the response's own list (args or code), not a paren. */
	if (p->nframes > p->lim.max_depth)
		return proto_err(p, err, "lists nested deeper than %u levels", p->lim.max_depth);
	if (mf_grow(&p->frames, &p->capframes, p->nframes + 1, sizeof(*p->frames)))
		return nomem_err(p, err);
	p->frames[p->nframes++] = p->nstack;
	return 0;
}

/* Closes the innermost list into a LIST value; *out gets a copy of it. */
static int close_list(struct imap_parser *p, struct imap_value *out, struct mf_err *err)
{
	size_t start = p->frames[--p->nframes];
	size_t n = p->nstack - start;
	struct imap_value v = {.type = IMAP_LIST, .len = n};

	if (n) {
		struct imap_value *items = resp_alloc(p, n * sizeof(*items), err);

		if (!items)
			return -1;
		memcpy(items, p->stack + start, n * sizeof(*items));
		v.items = items;
	}
	p->nstack = start;
	*out = v;
	return 0;
}

/* Moves the finished top-level list into the arena. */
static const struct imap_value *close_root(struct imap_parser *p, struct mf_err *err)
{
	struct imap_value v, *r;

	if (close_list(p, &v, err))
		return NULL;
	r = resp_alloc(p, sizeof(*r), err);
	if (r)
		*r = v;
	return r;
}

/* -------------------------------------------------------------- tokenising */

enum tok_mode {
	MODE_ARGS, /* data response arguments: literals allowed, end at CRLF */
	MODE_CODE, /* resp-text-code: no literals, ends at ']' */
};

enum tok_result {
	TOK_ERROR = -1, /* hard error (limits, memory, syntax in args): p failed */
	TOK_SOFT = 0,   /* code mode only: not a well-formed code, treat as text */
	TOK_END = 1,    /* args: end of segment; code: the closing ']' */
	TOK_LITERAL = 2 /* args: a literal announcement ends the segment */
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return 0;
	}
	return 1;
}

static size_t skip_spaces(const char *s, size_t pos, size_t n)
{
	while (pos < n && s[pos] == ' ')
		pos++;
	return pos;
}

/* Index of the ']' matching the '[' at s[pos], or SIZE_MAX. */
static size_t match_bracket(const char *s, size_t pos, size_t n)
{
	size_t depth = 0;

	for (size_t k = pos; k < n; k++) {
		if (s[k] == '[')
			depth++;
		else if (s[k] == ']' && --depth == 0)
			return k;
	}
	return SIZE_MAX;
}

static int parse_atom(struct imap_parser *p, const char *s, size_t n, size_t *pos,
                      enum tok_mode mode, struct mf_err *err)
{
	size_t start = *pos, k = *pos, bdepth = 0;
	struct imap_value v = {.type = IMAP_ATOM};

	while (k < n) {
		char c = s[k];

		if (c == ' ' || c == '(' || c == ')')
			break;
		if (mode == MODE_CODE) {
			if (c == ']' && bdepth == 0)
				break;
			if (c == ']')
				bdepth--;
			else if (c == '[')
				bdepth++;
		} else if (c == '[' && !p->brackets_off) {
			/* BODY[HEADER.FIELDS (DATE)]: spaces and parens inside
			 * the brackets belong to the atom.  A '[' that is never
			 * closed (a mailbox called "a[b") is an ordinary byte,
			 * and the segment is not searched again (linear time). */
			size_t m = match_bracket(s, k, n);

			if (m != SIZE_MAX) {
				k = m + 1;
				continue;
			}
			p->brackets_off = 1;
		}
		k++;
	}
	if (k - start == 3 && strncasecmp(s + start, "NIL", 3) == 0)
		v.type = IMAP_NIL;
	v.len = k - start;
	v.str = resp_strndup(p, s + start, v.len, err);
	if (!v.str || count_value(p, err) || push_value(p, &v, err))
		return TOK_ERROR;
	*pos = k;
	return TOK_END;
}

static int parse_quoted(struct imap_parser *p, const char *s, size_t n, size_t *pos,
                        enum tok_mode mode, struct mf_err *err)
{
	size_t k = *pos + 1, o = 0;
	struct imap_value v = {.type = IMAP_STRING};
	char *d, ex[256];

	while (k < n && s[k] != '"')
		k += (s[k] == '\\' && k + 1 < n) ? 2 : 1;
	if (k >= n) {
		if (mode == MODE_CODE)
			return TOK_SOFT;
		return proto_err(p, err, "unterminated quoted string: %s",
		                 excerpt(s + *pos, n - *pos, ex, sizeof(ex)));
	}
	d = resp_alloc(p, k - *pos, err);
	if (!d)
		return TOK_ERROR;
	for (size_t i = *pos + 1; i < k; i++) {
		/* \" and \\ are the escapes; a backslash before anything else
		 * is kept as sent (lenient). */
		if (s[i] == '\\' && (s[i + 1] == '"' || s[i + 1] == '\\'))
			i++;
		d[o++] = s[i];
	}
	d[o] = 0;
	v.str = d;
	v.len = o;
	if (count_value(p, err) || push_value(p, &v, err))
		return TOK_ERROR;
	*pos = k + 1;
	return TOK_END;
}

/* {N}, {N+} or ~{N} at s[*pos], which must end the segment. */
static int parse_literal_spec(struct imap_parser *p, const char *s, size_t n, size_t pos,
                              struct mf_err *err)
{
	size_t q = pos + (s[pos] == '~') + 1, d0 = q, ndig;
	uint64_t size = 0;
	char ex[256];

	while (q < n && is_digit(s[q]))
		q++;
	ndig = q - d0;
	if (ndig && q < n && s[q] == '+')
		q++;
	if (q >= n || s[q] != '}') {
		return proto_err(p, err, "invalid literal size %s",
		                 excerpt(s + pos, n - pos, ex, sizeof(ex)));
	}
	if (!ndig)
		return proto_err(p, err, "empty literal size %s",
		                 excerpt(s + pos, q + 1 - pos, ex, sizeof(ex)));
	if (ndig > 20)
		return proto_err(p, err, "literal size %s has more than 20 digits",
		                 excerpt(s + pos, q + 1 - pos, ex, sizeof(ex)));
	for (size_t i = d0; i < d0 + ndig; i++) {
		unsigned dig = (unsigned)(s[i] - '0');

		if (size > (UINT64_MAX - dig) / 10)
			return proto_err(p, err, "literal size %s does not fit in 64 bits",
			                 excerpt(s + pos, q + 1 - pos, ex, sizeof(ex)));
		size = size * 10 + dig;
	}
	if (q + 1 != n)
		return proto_err(p, err, "literal size %s is not at the end of the line",
		                 excerpt(s + pos, q + 1 - pos, ex, sizeof(ex)));
	if (size > p->lim.max_literal)
		return proto_err(p, err,
		                 "literal of %" PRIu64 " bytes exceeds the limit of %" PRIu64
		                 " bytes",
		                 size, p->lim.max_literal);
	if (count_value(p, err))
		return TOK_ERROR;
	p->lit_size = size;
	return TOK_LITERAL;
}

/* Parses values from s[*pos..n) into the open lists (see enum tok_result). */
static int parse_values(struct imap_parser *p, const char *s, size_t n, size_t *pos,
                        enum tok_mode mode, struct mf_err *err)
{
	size_t k = *pos;
	int r;

	for (;;) {
		struct imap_value v;
		char c;

		k = skip_spaces(s, k, n);
		if (k >= n) {
			*pos = k;
			return mode == MODE_CODE ? TOK_SOFT : TOK_END;
		}
		c = s[k];
		if (c == '(') {
			if (count_value(p, err) || open_list(p, err))
				return TOK_ERROR;
			k++;
		} else if (c == ')') {
			if (p->nframes <= 1) {
				if (mode == MODE_CODE)
					return TOK_SOFT;
				return proto_err(p, err, "unbalanced ')' in \"%.*s\"",
				                 (int)(k + 1 < 60 ? k + 1 : 60), s);
			}
			if (close_list(p, &v, err) || push_value(p, &v, err))
				return TOK_ERROR;
			k++;
		} else if (mode == MODE_CODE && c == ']') {
			if (p->nframes != 1)
				return TOK_SOFT;
			*pos = k + 1;
			return TOK_END;
		} else if (c == '"') {
			r = parse_quoted(p, s, n, &k, mode, err);
			if (r != TOK_END)
				return r;
		} else if (mode == MODE_ARGS &&
		           (c == '{' || (c == '~' && k + 1 < n && s[k + 1] == '{'))) {
			*pos = n;
			return parse_literal_spec(p, s, n, k, err);
		} else {
			if (parse_atom(p, s, n, &k, mode, err) != TOK_END)
				return TOK_ERROR;
		}
	}
}

/* ------------------------------------------------------------ responses */

static int parse_code(struct imap_parser *p, const char *s, size_t n, size_t *pos,
                      struct mf_err *err)
{
	size_t k = *pos;
	int r;

	if (open_list(p, err))
		return TOK_ERROR;
	r = parse_values(p, s, n, &k, MODE_CODE, err);
	if (r != TOK_END)
		return r;
	p->resp.code = close_root(p, err);
	if (!p->resp.code)
		return TOK_ERROR;
	*pos = k;
	return TOK_END;
}

/* resp-text: an optional [code] and the text; completes the response. */
static int parse_resp_text(struct imap_parser *p, const char *s, size_t n, size_t pos,
                           struct mf_err *err)
{
	size_t end = n;

	pos = skip_spaces(s, pos, n);
	if (pos < n && s[pos] == '[') {
		size_t k = pos + 1, saved = p->nvalues;
		int r = parse_code(p, s, n, &k, err);

		if (r == TOK_ERROR)
			return -1;
		if (r == TOK_END) {
			pos = skip_spaces(s, k, n);
		} else {
			/* Not a code we can read: it stays part of the text. */
			p->nvalues = saved;
			p->nstack = p->nframes = 0;
		}
	}
	while (end > pos && s[end - 1] == ' ')
		end--;
	p->resp.text = resp_strndup(p, s + pos, end - pos, err);
	return p->resp.text ? 1 : -1;
}

static size_t word_end(const char *s, size_t pos, size_t n)
{
	while (pos < n && s[pos] != ' ')
		pos++;
	return pos;
}

static char *upper_word(struct imap_parser *p, const char *s, size_t n, struct mf_err *err)
{
	char *w = resp_strndup(p, s, n, err);

	for (size_t i = 0; w && i < n; i++) {
		if (w[i] >= 'a' && w[i] <= 'z')
			w[i] = (char)(w[i] - 'a' + 'A');
	}
	return w;
}

static enum imap_status status_word(const char *w, int tagged)
{
	if (!strcmp(w, "OK"))
		return IMAP_ST_OK;
	if (!strcmp(w, "NO"))
		return IMAP_ST_NO;
	if (!strcmp(w, "BAD"))
		return IMAP_ST_BAD;
	if (!tagged && !strcmp(w, "BYE"))
		return IMAP_ST_BYE;
	if (!tagged && !strcmp(w, "PREAUTH"))
		return IMAP_ST_PREAUTH;
	return IMAP_ST_NONE;
}

/* Data response arguments from s[pos..n): 1 done, 0 literal pending, -1. */
static int parse_args(struct imap_parser *p, const char *s, size_t n, size_t pos,
                      struct mf_err *err)
{
	int r;

	p->brackets_off = 0;
	r = parse_values(p, s, n, &pos, MODE_ARGS, err);
	if (r == TOK_ERROR)
		return -1;
	if (r == TOK_LITERAL)
		return 0;
	if (p->nframes > 1) {
		char ex[256];

		return proto_err(p, err, "line ended inside a parenthesised list: %s",
		                 excerpt(s, n, ex, sizeof(ex)));
	}
	p->resp.args = close_root(p, err);
	return p->resp.args ? 1 : -1;
}

static int parse_untagged(struct imap_parser *p, const char *s, size_t n, struct mf_err *err)
{
	size_t pos = skip_spaces(s, 1, n), e = word_end(s, pos, n);
	char ex[256];

	p->resp.kind = IMAP_R_UNTAGGED;
	if (e > pos && all_digits(s + pos, e - pos)) {
		uint64_t num = 0;

		for (size_t k = pos; k < e && num <= UINT32_MAX; k++)
			num = num * 10 + (unsigned)(s[k] - '0');
		if (num > UINT32_MAX)
			return proto_err(p, err, "message number out of range: %s",
			                 excerpt(s, n, ex, sizeof(ex)));
		p->resp.has_number = 1;
		p->resp.number = (uint32_t)num;
		pos = skip_spaces(s, e, n);
		e = word_end(s, pos, n);
	}
	if (e == pos)
		return proto_err(p, err, "untagged response without a keyword: %s",
		                 excerpt(s, n, ex, sizeof(ex)));
	p->resp.keyword = upper_word(p, s + pos, e - pos, err);
	if (!p->resp.keyword)
		return -1;
	if (!p->resp.has_number) {
		p->resp.status = status_word(p->resp.keyword, 0);
		if (p->resp.status != IMAP_ST_NONE)
			return parse_resp_text(p, s, n, e, err);
	}
	if (open_list(p, err))
		return -1;
	return parse_args(p, s, n, e, err);
}

static int parse_tagged(struct imap_parser *p, const char *s, size_t n, struct mf_err *err)
{
	size_t e = word_end(s, 0, n), pos, we;
	char ex[256];
	char *w;

	p->resp.kind = IMAP_R_TAGGED;
	if (e == 0)
		return proto_err(p, err, "response line starts with a space: %s",
		                 excerpt(s, n, ex, sizeof(ex)));
	p->resp.tag = resp_strndup(p, s, e, err);
	if (!p->resp.tag)
		return -1;
	pos = skip_spaces(s, e, n);
	we = word_end(s, pos, n);
	w = upper_word(p, s + pos, we - pos, err);
	if (!w)
		return -1;
	p->resp.status = status_word(w, 1);
	if (p->resp.status == IMAP_ST_NONE)
		return proto_err(p, err, "tagged response without OK, NO or BAD: %s",
		                 excerpt(s, n, ex, sizeof(ex)));
	p->resp.keyword = w;
	return parse_resp_text(p, s, n, we, err);
}

/* The first segment of a response: 1 complete, 0 literal pending, -1. */
static int parse_first(struct imap_parser *p, const char *s, size_t n, struct mf_err *err)
{
	if (n == 0)
		return proto_err(p, err, "empty line where a response should start");
	if (s[0] == '+') {
		p->resp.kind = IMAP_R_CONTINUATION;
		return parse_resp_text(p, s, n, 1, err);
	}
	if (s[0] == '*')
		return parse_untagged(p, s, n, err);
	return parse_tagged(p, s, n, err);
}

/* ---------------------------------------------------------------- literals */

static const char *literal_key(const struct imap_parser *p)
{
	size_t start = p->frames[p->nframes - 1];
	const struct imap_value *last;

	if (p->nstack == start)
		return NULL;
	last = &p->stack[p->nstack - 1];
	return last->type == IMAP_ATOM ? last->str : NULL;
}

static int sink_failed(struct imap_parser *p, struct mf_err *err, const char *what)
{
	if (err->code == MF_E_OK)
		mf_fail(err, MF_SCOPE_CONN, MF_E_IO, "the literal sink failed in %s", what);
	return fail_saved(p, err);
}

static int finish_literal(struct imap_parser *p, struct mf_err *err)
{
	struct imap_value v = {.len = (size_t)p->lit_size};

	p->in_literal = 0;
	if (p->lit_streamed) {
		v.type = IMAP_STREAMED;
		mf_err_clear(err);
		if (p->lit_sink.end && p->lit_sink.end(p->lit_sink.aux, err))
			return sink_failed(p, err, "end()");
	} else {
		v.type = IMAP_STRING;
		v.str = p->lit_mem;
	}
	return push_value(p, &v, err);
}

static int start_literal(struct imap_parser *p, struct mf_err *err)
{
	int r = 0;

	p->in_literal = 1;
	p->lit_left = p->lit_size;
	p->lit_streamed = 0;
	p->lit_sink = p->sink;
	if (p->has_sink && p->sink.begin) {
		mf_err_clear(err);
		r = p->sink.begin(p->sink.aux, &p->resp, literal_key(p), p->lit_size, err);
		if (r < 0)
			return sink_failed(p, err, "begin()");
	}
	if (r > 0) {
		p->lit_streamed = 1;
	} else {
		if (p->lit_size > p->lim.max_mem_literal)
			return proto_err(p, err,
			                 "literal of %" PRIu64
			                 " bytes is larger than the %zu bytes "
			                 "that may be kept in memory",
			                 p->lit_size, p->lim.max_mem_literal);
		p->lit_mem = resp_alloc(p, (size_t)p->lit_size + 1, err);
		if (!p->lit_mem)
			return -1;
		p->lit_mem[p->lit_size] = 0;
	}
	return p->lit_size ? 0 : finish_literal(p, err);
}

static int feed_literal(struct imap_parser *p, const char *data, size_t n, struct mf_err *err)
{
	if (p->lit_streamed) {
		mf_err_clear(err);
		if (p->lit_sink.write && p->lit_sink.write(p->lit_sink.aux, data, n, err))
			return sink_failed(p, err, "write()");
	} else {
		memcpy(p->lit_mem + (p->lit_size - p->lit_left), data, n);
	}
	p->lit_left -= n;
	return p->lit_left ? 0 : finish_literal(p, err);
}

/* ------------------------------------------------------------ line input */

/* A segment ended (CRLF seen): 1 response complete, 0 need more, -1. */
static int segment_done(struct imap_parser *p, struct mf_err *err)
{
	const char *s = p->line.data ? p->line.data : "";
	size_t n = p->line.len;
	int r;

	if (!p->in_response) {
		p->in_response = 1;
		r = parse_first(p, s, n, err);
	} else {
		r = parse_args(p, s, n, 0, err);
	}
	buf_reset(&p->line);
	if (r == 0 && start_literal(p, err))
		return -1;
	return r;
}

static int line_append(struct imap_parser *p, const char *data, size_t n, struct mf_err *err)
{
	if (n > p->lim.max_line - p->line.len) {
		char ex[256];

		return proto_err(p, err, "line longer than %zu bytes: %s", p->lim.max_line,
		                 excerpt(p->line.data ? p->line.data : data,
		                         p->line.len ? p->line.len : n, ex, sizeof(ex)));
	}
	if (buf_append(&p->line, data, n))
		return nomem_err(p, err);
	return 0;
}

static int is_special(char c)
{
	return c == '\r' || c == '\n' || c == '\0';
}

int imap_parser_next(struct imap_parser *p, const char *data, size_t len, size_t *consumed,
                     const struct imap_response **out, struct mf_err *err)
{
	struct mf_err tmp;
	size_t i = 0;

	if (!err)
		err = &tmp;
	*consumed = 0;
	*out = NULL;
	if (p->failed) {
		*err = p->fail_err;
		return -1;
	}
	if (p->delivered)
		reset_response(p);
	while (i < len) {
		if (p->in_literal) {
			size_t n = len - i;

			if (n > p->lit_left)
				n = (size_t)p->lit_left;
			if (feed_literal(p, data + i, n, err))
				return -1;
			i += n;
		} else if (p->saw_cr) {
			int r;

			if (data[i] != '\n')
				return proto_err(p, err, "CR not followed by LF");
			i++;
			p->saw_cr = 0;
			r = segment_done(p, err);
			if (r < 0)
				return -1;
			if (r > 0) {
				p->delivered = 1;
				*consumed = i;
				*out = &p->resp;
				return 1;
			}
		} else if (!is_special(data[i])) {
			size_t j = i + 1;

			while (j < len && !is_special(data[j]))
				j++;
			if (line_append(p, data + i, j - i, err))
				return -1;
			i = j;
		} else if (data[i] == '\r') {
			p->saw_cr = 1;
			i++;
		} else if (data[i] == '\n') {
			return proto_err(p, err, "LF without CR");
		} else {
			return proto_err(p, err, "NUL byte outside a literal");
		}
	}
	*consumed = len;
	return 0;
}

/* ----------------------------------------------------------------- helpers */

int imap_value_is(const struct imap_value *v, const char *s)
{
	size_t n;

	if (!v || !s || (v->type != IMAP_ATOM && v->type != IMAP_STRING))
		return 0;
	n = strlen(s);
	return v->len == n && strncasecmp(v->str, s, n) == 0;
}

int imap_value_number(const struct imap_value *v, uint64_t *out)
{
	uint64_t num = 0;

	if (!v || (v->type != IMAP_ATOM && v->type != IMAP_STRING) || v->len == 0 || v->len > 20)
		return -1;
	for (size_t i = 0; i < v->len; i++) {
		unsigned dig;

		if (!is_digit(v->str[i]))
			return -1;
		dig = (unsigned)(v->str[i] - '0');
		if (num > (UINT64_MAX - dig) / 10)
			return -1;
		num = num * 10 + dig;
	}
	*out = num;
	return 0;
}

const struct imap_value *imap_list_get(const struct imap_value *list, const char *key)
{
	if (!list || list->type != IMAP_LIST)
		return NULL;
	for (size_t i = 0; i + 1 < list->len; i += 2) {
		if (imap_value_is(&list->items[i], key))
			return &list->items[i + 1];
	}
	return NULL;
}

int imap_caps_have(const struct imap_value *caps, const char *name)
{
	if (!caps || caps->type != IMAP_LIST)
		return 0;
	for (size_t i = 0; i < caps->len; i++) {
		if (imap_value_is(&caps->items[i], name))
			return 1;
	}
	return 0;
}
