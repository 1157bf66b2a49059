/* libFuzzer target for src/util/json.
 *
 * For any input: parsing never crashes, never runs out of its pre-reserved
 * string space (no MF_E_NOMEM without the allocation-failure hook), and a
 * document it accepts survives a round trip: written back with struct json_w
 * and parsed again, it is the same tree.  The raw input written as one JSON
 * string always parses back as one string. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *why)
{
	fprintf(stderr, "fuzz_json: %s\n", why);
	abort();
}

static void write_value(struct json_w *w, const struct json_value *v)
{
	int b;

	switch (json_type(v)) {
	case JSON_NULL:
		json_w_null(w);
		break;
	case JSON_BOOL:
		json_bool(v, &b);
		json_w_bool(w, b);
		break;
	case JSON_NUMBER:
		json_w_number(w, json_num_text(v));
		break;
	case JSON_STRING:
		json_w_strn(w, json_str(v), json_str_len(v));
		break;
	case JSON_ARRAY:
		json_w_array_begin(w);
		for (size_t i = 0; i < json_count(v); i++)
			write_value(w, json_at(v, i));
		json_w_array_end(w);
		break;
	case JSON_OBJECT:
		json_w_object_begin(w);
		for (size_t i = 0; i < json_count(v); i++) {
			json_w_key(w, json_key(json_at(v, i)));
			write_value(w, json_at(v, i));
		}
		json_w_object_end(w);
		break;
	}
}

static void same(const struct json_value *a, const struct json_value *b)
{
	int x, y;

	if (json_type(a) != json_type(b))
		die("round trip changed a type");
	switch (json_type(a)) {
	case JSON_BOOL:
		json_bool(a, &x);
		json_bool(b, &y);
		if (x != y)
			die("round trip changed a boolean");
		break;
	case JSON_NUMBER:
		if (strcmp(json_num_text(a), json_num_text(b)))
			die("round trip changed a number");
		break;
	case JSON_STRING:
		if (json_str_len(a) != json_str_len(b) || strcmp(json_str(a), json_str(b)))
			die("round trip changed a string");
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		if (json_count(a) != json_count(b))
			die("round trip changed a size");
		for (size_t i = 0; i < json_count(a); i++) {
			const struct json_value *ma = json_at(a, i), *mb = json_at(b, i);

			if (json_type(a) == JSON_OBJECT &&
			    (strcmp(json_key(ma), json_key(mb)) || json_get(a, json_key(ma)) != ma))
				die("round trip changed a key");
			same(ma, mb);
		}
		break;
	case JSON_NULL:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_limits lim = {.max_depth = JSON_W_MAX_DEPTH, .max_values = 100000};
	struct json_doc *doc = NULL, *again = NULL;
	struct mf_err err = {0};
	struct mf_buf out;
	struct json_w w;
	int64_t n;

	buf_init(&out, 0);
	/* 1. any bytes as one JSON string come back as that string, or as
	 *    U+FFFD where they were not UTF-8, and parse */
	if (json_put_strn(&out, (const char *)data, size))
		die("json_put_strn failed");
	if (json_parse(out.data, out.len, NULL, &doc, &err)) {
		if (err.code != MF_E_DATA || !memchr(data, 0, size))
			die("an escaped string did not parse back");
	} else if (json_type(json_root(doc)) != JSON_STRING) {
		die("an escaped string parsed as something else");
	}
	json_free(doc);
	doc = NULL;
	buf_reset(&out);

	/* 2. the input as a document */
	if (json_parse((const char *)data, size, &lim, &doc, &err)) {
		if (err.code == MF_E_NOMEM)
			die("the string space reserved up front was too small");
		buf_free(&out);
		return 0;
	}
	(void)json_int64(json_root(doc), &n);
	json_w_init(&w, &out);
	write_value(&w, json_root(doc));
	if (w.failed || w.depth)
		die("the writer refused a parsed document");
	if (json_parse(out.data, out.len, &lim, &again, &err))
		die("what the writer wrote does not parse");
	same(json_root(doc), json_root(again));
	json_free(again);
	json_free_secure(doc);
	buf_free(&out);
	return 0;
}
