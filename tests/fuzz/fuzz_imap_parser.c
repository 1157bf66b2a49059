/* Fuzz target for the IMAP response parser (src/imap/parser.c).
 *
 * Input layout: the first byte says how many of the following bytes (0..7)
 * describe chunk sizes; the rest is the server's byte stream, fed to the
 * parser in chunks of those sizes (cycling), so split points are fuzzed too.
 * The same stream is then parsed again in one piece and both runs must give
 * the same responses, the same literal sink calls and the same outcome.
 * Small limits and a streaming sink make every limit reachable. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/parser.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

struct run {
	uint64_t hash;
	uint64_t lit_size, lit_got;
	int in_literal, fail_write, fail_end;
	size_t responses;
	int failed;
};

static void mix(struct run *r, const void *p, size_t n)
{
	const unsigned char *u = p;

	for (size_t i = 0; i < n; i++)
		r->hash = (r->hash ^ u[i]) * 0x100000001b3ULL;
}

static void mix_str(struct run *r, const char *s)
{
	if (s)
		mix(r, s, strlen(s) + 1);
	else
		mix(r, "\xff", 1);
}

static void mix_value(struct run *r, const struct imap_value *v, unsigned depth)
{
	CHECK(depth < 64);
	mix(r, &v->type, sizeof(v->type));
	mix(r, &v->len, sizeof(v->len));
	switch (v->type) {
	case IMAP_ATOM:
	case IMAP_STRING:
	case IMAP_NIL:
		CHECK(v->str && v->str[v->len] == 0);
		mix(r, v->str, v->len);
		break;
	case IMAP_LIST:
		CHECK(v->len == 0 || v->items);
		for (size_t i = 0; i < v->len; i++)
			mix_value(r, &v->items[i], depth + 1);
		break;
	case IMAP_STREAMED:
		CHECK(!v->str);
		break;
	}
}

static void mix_response(struct run *r, const struct imap_response *resp)
{
	uint64_t num;

	mix(r, &resp->kind, sizeof(resp->kind));
	mix(r, &resp->status, sizeof(resp->status));
	mix(r, &resp->has_number, sizeof(resp->has_number));
	mix(r, &resp->number, sizeof(resp->number));
	mix_str(r, resp->tag);
	mix_str(r, resp->keyword);
	mix_str(r, resp->text);
	CHECK(resp->kind != IMAP_R_TAGGED || (resp->tag && resp->status != IMAP_ST_NONE));
	if (resp->code)
		mix_value(r, resp->code, 0);
	if (resp->args) {
		mix_value(r, resp->args, 0);
		/* The helpers must cope with whatever came in. */
		for (size_t i = 0; i < resp->args->len; i++) {
			const struct imap_value *v = &resp->args->items[i];

			if (imap_value_number(v, &num) == 0)
				mix(r, &num, sizeof(num));
			if (imap_list_get(v, "BODY[]"))
				mix(r, "B", 1);
			if (imap_caps_have(v, "IMAP4rev1"))
				mix(r, "C", 1);
		}
	}
}

static int sink_begin(void *aux, const struct imap_response *partial, const char *key,
                      uint64_t size, struct mf_err *err)
{
	struct run *r = aux;

	CHECK(!r->in_literal);
	mix_str(r, key);
	mix_str(r, partial->keyword);
	mix(r, &size, sizeof(size));
	if (key && !strcmp(key, "FAIL[]"))
		return mf_fail(err, MF_SCOPE_MSG, MF_E_DATA, "sink refused");
	/* BODY[...] is streamed, anything else kept in memory (so literals
	 * over max_mem_literal are refused); FAILW[] and FAILE[] make write()
	 * or end() fail. */
	if (key && (!strncmp(key, "BODY[", 5) || !strncmp(key, "FAIL", 4))) {
		r->fail_write = !strcmp(key, "FAILW[]");
		r->fail_end = !strcmp(key, "FAILE[]");
		r->in_literal = 1;
		r->lit_size = size;
		r->lit_got = 0;
		return 1;
	}
	return 0;
}

static int sink_write(void *aux, const char *data, size_t n, struct mf_err *err)
{
	struct run *r = aux;

	CHECK(r->in_literal && n > 0 && r->lit_got + n <= r->lit_size);
	if (r->fail_write)
		return mf_fail(err, MF_SCOPE_MSG, MF_E_IO, "write failed");
	r->lit_got += n;
	for (size_t i = 0; i < n; i++)
		r->hash += (unsigned char)data[i]; /* order-free: chunking differs */
	return 0;
}

static int sink_end(void *aux, struct mf_err *err)
{
	struct run *r = aux;

	CHECK(r->in_literal && r->lit_got == r->lit_size);
	if (r->fail_end)
		return mf_fail(err, MF_SCOPE_MSG, MF_E_IO, "end failed");
	r->in_literal = 0;
	mix(r, "E", 1);
	return 0;
}

static void parse_all(struct run *r, const uint8_t *data, size_t size, const uint8_t *chunks,
                      size_t nchunks)
{
	const struct imap_parser_limits lim = {
	        .max_line = 512,
	        .max_mem_literal = 256,
	        .max_literal = 1u << 20,
	        .max_depth = 8,
	        .max_items = 300,
	        .max_response_mem = 16384,
	};
	const struct imap_literal_sink sink = {sink_begin, sink_write, sink_end, r};
	struct imap_parser *p = imap_parser_new(&lim, &sink);
	size_t pos = 0, ci = 0;

	CHECK(p);
	memset(r, 0, sizeof(*r));
	r->hash = 0xcbf29ce484222325ULL;
	while (pos < size && !r->failed) {
		size_t len = size - pos, off = 0;

		if (nchunks) {
			size_t want = (size_t)chunks[ci++ % nchunks] + 1;

			if (len > want)
				len = want;
		}
		while (off < len) {
			const struct imap_response *resp;
			struct mf_err err = {0};
			size_t used = 0;
			int rc = imap_parser_next(p, (const char *)data + pos + off, len - off,
			                          &used, &resp, &err);

			CHECK(used <= len - off);
			if (rc < 0) {
				CHECK(err.scope != MF_SCOPE_NONE && err.msg[0]);
				CHECK((err.scope == MF_SCOPE_CONN && err.code == MF_E_PROTO) ||
				      (err.scope == MF_SCOPE_MSG &&
				       (err.code == MF_E_DATA || err.code == MF_E_IO)));
				r->failed = 1;
				break;
			}
			off += used;
			if (rc == 1) {
				CHECK(resp);
				r->responses++;
				mix_response(r, resp);
			} else {
				CHECK(off == len);
			}
		}
		pos += len;
		CHECK(imap_parser_mem_usage(p) < (size_t)1 << 20);
	}
	imap_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run chunked, whole;
	size_t nchunks = 0;

	if (size > 0) {
		nchunks = data[0] & 7;
		if (nchunks > size - 1)
			nchunks = size - 1;
	}
	if (size == 0)
		return 0;
	parse_all(&chunked, data + 1 + nchunks, size - 1 - nchunks, data + 1, nchunks);
	parse_all(&whole, data + 1 + nchunks, size - 1 - nchunks, NULL, 0);
	CHECK(chunked.failed == whole.failed);
	CHECK(chunked.responses == whole.responses);
	CHECK(chunked.hash == whole.hash);
	return 0;
}
