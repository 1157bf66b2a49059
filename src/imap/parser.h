/* mailferry - incremental IMAP response parser
 *
 * Turns the byte stream a server sends into responses (RFC 3501 section 7 and
 * 9, with the extensions we use: UIDPLUS codes, LIST-EXTENDED/SPECIAL-USE
 * attributes, NAMESPACE, ID, STATUS).  It is fed whatever the socket gave us,
 * in pieces of any size (one byte at a time must work), and never needs a
 * whole response in memory: literals larger than the caller wants to keep are
 * streamed to a sink while they arrive (a 60 MB message body costs a buffer,
 * not 60 MB).
 *
 * The parser is strict about what it must be strict about (CRLF, literal
 * syntax, literal sizes, nesting, line and literal limits) and lenient about
 * the rest (atoms may contain '\' and '*' as flags do; unknown keywords are
 * passed through as data).  Every limit exceeded is a protocol error: the
 * connection cannot be trusted after one, and the caller drops it.
 *
 * Tokenisation rules:
 *  - atom: a run of bytes up to SP, '(', ')', CR, LF; a '[' inside an atom
 *    starts a bracketed section that runs to the matching ']' and may contain
 *    spaces and parentheses, so "BODY[HEADER.FIELDS (MESSAGE-ID)]" and
 *    "BODY[]<0>" are each one atom.  Inside a resp-text-code ("[...]" after
 *    OK/NO/BAD/BYE/PREAUTH) a bare ']' ends the atom and the code.
 *  - quoted string: "..." with \" and \\ escapes; no CR/LF inside.
 *  - literal: {N}CRLF followed by exactly N bytes; also literal8 ~{N} and the
 *    LITERAL+ form {N+} (servers should not send it, but it is harmless).
 *    N is decimal digits only; more than 20 digits, or a value that does not
 *    fit in 64 bits, or one above the limits, is an error.
 *  - NIL (any case) is IMAP_NIL; everything else unquoted is an atom (numbers
 *    are atoms: use imap_value_number()).
 *
 * Ownership: a response returned by imap_parser_next() and every value in it
 * belong to the parser and stay valid until the next call to
 * imap_parser_next() or imap_parser_free().
 */
#ifndef MF_IMAP_PARSER_H
#define MF_IMAP_PARSER_H

#include <stddef.h>
#include <stdint.h>

struct mf_err;

enum imap_vtype {
	IMAP_ATOM,     /* str/len */
	IMAP_STRING,   /* quoted string or in-memory literal: str/len (may hold NULs) */
	IMAP_NIL,      /* str/len: the atom as sent ("NIL", "nil"): an astring NIL is a name */
	IMAP_LIST,     /* items/len */
	IMAP_STREAMED, /* a literal handed to the sink: len = its size, str = NULL */
};

struct imap_value {
	enum imap_vtype type;
	size_t len;      /* bytes of str, items of a list, or streamed size */
	const char *str; /* NUL-terminated (there may be NULs before len) */
	const struct imap_value *items;
};

enum imap_rkind {
	IMAP_R_UNTAGGED,     /* "* ..." */
	IMAP_R_TAGGED,       /* "<tag> OK|NO|BAD ..." */
	IMAP_R_CONTINUATION, /* "+ ..." */
};

enum imap_status {
	IMAP_ST_NONE = 0, /* a data response ("* 3 EXISTS", "* LIST ...") */
	IMAP_ST_OK,
	IMAP_ST_NO,
	IMAP_ST_BAD,
	IMAP_ST_BYE,
	IMAP_ST_PREAUTH,
};

struct imap_response {
	enum imap_rkind kind;
	const char *tag;         /* IMAP_R_TAGGED only */
	enum imap_status status; /* status responses (tagged ones always have one) */
	/* Status responses: the resp-text-code, e.g. [APPENDUID 38505 3955] gives a
	 * list {APPENDUID, 38505, 3955}; [CAPABILITY ...] the whole list; NULL when
	 * there is none.  The text after it, trimmed, is `text` ("" when none). */
	const struct imap_value *code;
	const char *text; /* also the text of a continuation ("+ <text>") */
	/* Data responses: "* 12 FETCH (...)" has has_number=1, number=12,
	 * keyword="FETCH"; "* LIST (...) "/" INBOX" has keyword "LIST".  The keyword
	 * is upper-cased.  args holds the values after the keyword as a list
	 * (for FETCH: one list value, the parenthesised attribute list).
	 * Status responses have args NULL and keyword set to the upper-cased
	 * status word ("OK", "BYE"...). */
	int has_number;
	uint32_t number;
	const char *keyword;
	const struct imap_value *args;
};

/* Where large literals go.  When the parser meets a literal of `size` bytes it
 * asks begin(): returning 1 streams the literal's bytes to write() (then end()
 * is called and the value becomes IMAP_STREAMED); returning 0 keeps it in
 * memory (within limits.max_mem_literal, else error); returning -1 fails the
 * parse with the sink's error.  `key` is the atom just before the literal in
 * the innermost list ("BODY[]", "BODY[HEADER.FIELDS (MESSAGE-ID)]") or NULL;
 * `partial` is the response as far as parsed (kind, tag, number, keyword).
 * A NULL sink, or NULL begin, keeps every literal in memory.  write() gets
 * the caller's input bytes as they arrive (never n == 0) and may be NULL to
 * drop them.  When the parse fails (a protocol error, or write() failing)
 * while a literal is open, end() is not called. */
struct imap_literal_sink {
	int (*begin)(void *aux, const struct imap_response *partial, const char *key, uint64_t size,
	             struct mf_err *err);
	int (*write)(void *aux, const char *data, size_t n, struct mf_err *err);
	int (*end)(void *aux, struct mf_err *err);
	void *aux;
};

struct imap_parser_limits {
	size_t max_line;        /* bytes of one line segment outside literals (default 64 KiB) */
	size_t max_mem_literal; /* largest literal kept in memory (default 1 MiB) */
	uint64_t max_literal;   /* largest literal at all, streamed or not (default 4 GiB) */
	unsigned max_depth;     /* list nesting (default 32) */
	size_t max_items;       /* values in one response (default 100000) */
	/* Bytes one response may hold in memory: strings, lists, in-memory
	 * literals (default 64 MiB, at least max_mem_literal + 1 MiB).  Without
	 * it max_items literals of max_mem_literal bytes each would be allowed. */
	size_t max_response_mem;
};

struct imap_parser;

/* limits may be NULL (defaults) and so may sink; a zero field of limits takes
 * its default.  NULL when out of memory. */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits,
                                    const struct imap_literal_sink *sink);
void imap_parser_free(struct imap_parser *p);
/* Replaces the sink (e.g. per command); the sink is copied.  A literal that
 * is being streamed already stays with the sink that began it. */
void imap_parser_set_sink(struct imap_parser *p, const struct imap_literal_sink *sink);

/* Offers len bytes of input.  Consumes what it can and sets *consumed.
 * Returns 1 with *out set when a response is complete (the caller calls again
 * with the remaining bytes), 0 when all input was consumed without completing
 * a response, -1 on a protocol error (err filled, scope CONN, code PROTO; the
 * parser is then unusable).  Literal bytes passed to a sink are consumed. */
int imap_parser_next(struct imap_parser *p, const char *data, size_t len, size_t *consumed,
                     const struct imap_response **out, struct mf_err *err);

/* Bytes the parser holds right now (arena, line buffer, value stack): stays
 * flat over a session, since the arena is reset between responses.  For tests
 * and diagnostics. */
size_t imap_parser_mem_usage(const struct imap_parser *p);

/* ---- helpers over parsed values ---- */

/* Case-insensitive comparison of an atom (or string) with s. */
int imap_value_is(const struct imap_value *v, const char *s);
/* Parses an unsigned decimal atom; 0 or -1 (not a number, overflow). */
int imap_value_number(const struct imap_value *v, uint64_t *out);
/* For a list of alternating names and values (FETCH attributes, STATUS
 * items): the value after the first name equal (case-insensitively) to key,
 * or NULL. */
const struct imap_value *imap_list_get(const struct imap_value *list, const char *key);
/* Whether a capability list (CAPABILITY response args, or a [CAPABILITY ...]
 * code) contains name, case-insensitively. */
int imap_caps_have(const struct imap_value *caps, const char *name);

#endif
