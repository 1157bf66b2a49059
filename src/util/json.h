/* mailferry - a small, strict, bounded JSON reader and a JSON writer
 *
 * Reading (RFC 8259, strictly): the whole text is parsed into a tree that
 * lives in one struct json_doc.  What comes from a server is bounded: the text
 * size, the nesting depth and the number of values all have limits, and going
 * past one is an error (MF_E_TOOBIG), never a crash or an unbounded
 * allocation.  Strings must be valid UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF); \u escapes are decoded, a surrogate pair into one
 * code point, a lone surrogate is an error.  Two kinds of valid JSON are
 * refused on purpose because they could make two readers disagree about what
 * a document says: a string containing U+0000 (C strings would cut it short)
 * and an object with the same key twice.  A leading byte-order mark is
 * refused too.  Numbers are kept as their text; json_int64() converts an
 * integer that fits.
 *
 * Ownership: json_parse() returns a document the caller frees with
 * json_free(); every json_value, key and string reached from it belongs to
 * the document and stays valid until json_free().  Accessors are NULL-safe:
 * asking a NULL value or a value of the wrong type for something returns
 * NULL / 0 / -1, so chains like json_str(json_get(json_get(root, "error"),
 * "code")) need no checks in between.
 *
 * Writing: json_put_str() appends one escaped, quoted string to a struct
 * mf_buf (bytes that are not valid UTF-8 become U+FFFD, so the output is
 * always valid JSON); struct json_w builds a whole object or array (one JSON
 * Lines record) with commas handled and a sticky error, checked once at the
 * end with json_w_finish().
 */
#ifndef MF_UTIL_JSON_H
#define MF_UTIL_JSON_H

#include <stddef.h>
#include <stdint.h>

struct mf_buf;
struct mf_err;

enum json_type {
	JSON_NULL = 0,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

/* Limits for one document; a zero field takes the default. */
struct json_limits {
	size_t max_bytes;   /* size of the text (default JSON_DEFAULT_MAX_BYTES) */
	unsigned max_depth; /* nesting of arrays/objects (default 64, at most 1000) */
	size_t max_values;  /* values in the whole document (default 1,000,000) */
};

#define JSON_DEFAULT_MAX_BYTES  ((size_t)16 << 20)
#define JSON_DEFAULT_MAX_DEPTH  64u
#define JSON_DEFAULT_MAX_VALUES ((size_t)1000000)

struct json_doc;
struct json_value;

/* Parses text[0..len) (need not be NUL-terminated).  0 with *out set (the
 * caller frees it), or -1 with err filled: MF_E_DATA for malformed JSON (the
 * message names the byte offset and the reason), MF_E_TOOBIG for a limit,
 * MF_E_NOMEM.  The error scope is MF_SCOPE_MSG; callers widen it. */
int json_parse(const char *text, size_t len, const struct json_limits *lim, struct json_doc **out,
               struct mf_err *err);
void json_free(struct json_doc *doc);
/* json_free() that first wipes every string of the document (for documents
 * holding a token).  The parser reserves its string space once, up front, so
 * no copy of a string is ever left behind by a realloc. */
void json_free_secure(struct json_doc *doc);
const struct json_value *json_root(const struct json_doc *doc);

enum json_type json_type(const struct json_value *v); /* JSON_NULL for a NULL v */
int json_is_null(const struct json_value *v);         /* 1 only for a JSON null */

/* Object member by key (NULL when v is not an object or has no such key). */
const struct json_value *json_get(const struct json_value *v, const char *key);
/* Number of elements of an array or members of an object, else 0. */
size_t json_count(const struct json_value *v);
/* The i-th element of an array or member of an object (NULL when out of range). */
const struct json_value *json_at(const struct json_value *v, size_t i);
/* The key of an object member returned by json_at() (NULL otherwise). */
const char *json_key(const struct json_value *member);

/* The text of a string (NULL when v is not a string); never contains NUL. */
const char *json_str(const struct json_value *v);
size_t json_str_len(const struct json_value *v);
/* The text of a number as it appeared ("1.5e3"), NULL for other types. */
const char *json_num_text(const struct json_value *v);
/* 0 and *out set when v is a boolean, else -1. */
int json_bool(const struct json_value *v, int *out);
/* 0 and *out set when v is an integer number (no fraction or exponent) that
 * fits in int64_t, else -1. */
int json_int64(const struct json_value *v, int64_t *out);

/* Shorthands on an object member: NULL / -1 when absent or of another type. */
const char *json_get_str(const struct json_value *obj, const char *key);
int json_get_bool(const struct json_value *obj, const char *key, int *out);
int json_get_int64(const struct json_value *obj, const char *key, int64_t *out);

/* ---------------------------------------------------------------- writing */

/* Appends s[0..n) as a quoted JSON string. 0 or -1 (buffer limit or memory). */
int json_put_strn(struct mf_buf *b, const char *s, size_t n);
int json_put_str(struct mf_buf *b, const char *s); /* NULL writes null */

#define JSON_W_MAX_DEPTH 32

/* A writer for one JSON value into a borrowed buffer.  Every call after the
 * first failure does nothing; json_w_finish() reports it.  Keys are given
 * with json_w_key() (or the json_w_kv_* shorthands) before each member value
 * of an object. */
struct json_w {
	struct mf_buf *out; /* borrowed */
	int failed;
	unsigned depth;                            /* 0: top level */
	unsigned char first[JSON_W_MAX_DEPTH + 1]; /* 1: nothing written yet at that level */
	unsigned char in_object[JSON_W_MAX_DEPTH + 1];
	unsigned char after_key; /* a key was written, its value is due */
};

void json_w_init(struct json_w *w, struct mf_buf *out);
void json_w_object_begin(struct json_w *w);
void json_w_object_end(struct json_w *w);
void json_w_array_begin(struct json_w *w);
void json_w_array_end(struct json_w *w);
void json_w_key(struct json_w *w, const char *key);
void json_w_str(struct json_w *w, const char *s); /* NULL writes null */
void json_w_strn(struct json_w *w, const char *s, size_t n);
void json_w_int(struct json_w *w, int64_t v);
void json_w_uint(struct json_w *w, uint64_t v);
void json_w_bool(struct json_w *w, int v);
/* A number given as JSON number text (e.g. from json_num_text()); text that
 * is not a JSON number fails the writer. */
void json_w_number(struct json_w *w, const char *text);
void json_w_null(struct json_w *w);
void json_w_kv_str(struct json_w *w, const char *key, const char *s);
void json_w_kv_int(struct json_w *w, const char *key, int64_t v);
void json_w_kv_uint(struct json_w *w, const char *key, uint64_t v);
void json_w_kv_bool(struct json_w *w, const char *key, int v);
/* 0 when everything was written and every object/array closed, else -1. */
int json_w_finish(struct json_w *w);

#endif
