/* Unit tests for src/util/json: strict parsing, limits, hostile input, the writer. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/mem.h"

static struct json_doc *parse_ok(const char *text)
{
	struct json_doc *doc = NULL;
	struct mf_err err = {0};

	if (json_parse(text, strlen(text), NULL, &doc, &err))
		ck_abort_msg("refused valid JSON %s: %s", text, err.msg);
	return doc;
}

/* Parses and expects a refusal with the given error code; returns the message. */
static const char *parse_bad(const char *text, size_t len, const struct json_limits *lim,
                             enum mf_errcode code)
{
	static struct mf_err err;
	struct json_doc *doc = NULL;

	memset(&err, 0, sizeof(err));
	ck_assert_msg(json_parse(text, len, lim, &doc, &err) == -1, "accepted %.60s", text);
	ck_assert_ptr_null(doc);
	ck_assert_msg(err.code == code, "%.60s: got %s (%s)", text, mf_errcode_name(err.code),
	              err.msg);
	return err.msg;
}

#define BAD(text) parse_bad(text, sizeof(text) - 1, NULL, MF_E_DATA)

START_TEST(graph_shapes_are_read)
{
	const char *text =
	        "{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#domains\","
	        " \"value\": [ {\"id\":\"contoso.com\",\"isVerified\":true,\"supportedServices\":"
	        "[\"Email\",\"OfficeCommunicationsOnline\"]},\n"
	        "{\"id\":\"fabrikam.com\",\"isVerified\":false,\"supportedServices\":[],"
	        "\"ttl\":3600,\"x\":null} ],"
	        "\"@odata.nextLink\":\"https://graph.microsoft.com/v1.0/domains?$skiptoken=X\"}";
	struct json_doc *doc = parse_ok(text);
	const struct json_value *root = json_root(doc), *value, *d;
	int b = -1;
	int64_t n = 0;

	ck_assert_int_eq(json_type(root), JSON_OBJECT);
	ck_assert_uint_eq(json_count(root), 3);
	ck_assert_str_eq(json_key(json_at(root, 2)), "@odata.nextLink");
	value = json_get(root, "value");
	ck_assert_int_eq(json_type(value), JSON_ARRAY);
	ck_assert_uint_eq(json_count(value), 2);
	d = json_at(value, 0);
	ck_assert_str_eq(json_get_str(d, "id"), "contoso.com");
	ck_assert_int_eq(json_get_bool(d, "isVerified", &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_str_eq(json_str(json_at(json_get(d, "supportedServices"), 1)),
	                 "OfficeCommunicationsOnline");
	d = json_at(value, 1);
	ck_assert_int_eq(json_get_bool(d, "isVerified", &b), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_uint_eq(json_count(json_get(d, "supportedServices")), 0);
	ck_assert_int_eq(json_get_int64(d, "ttl", &n), 0);
	ck_assert_int_eq(n, 3600);
	ck_assert(json_is_null(json_get(d, "x")));
	ck_assert_ptr_null(json_get(d, "missing"));
	/* wrong types and NULLs answer "nothing", never crash */
	ck_assert_ptr_null(json_get_str(d, "ttl"));
	ck_assert_int_eq(json_get_int64(d, "id", &n), -1);
	ck_assert_ptr_null(json_at(value, 2));
	ck_assert_ptr_null(json_get(json_get(NULL, "a"), "b"));
	ck_assert_uint_eq(json_count(NULL), 0);
	json_free(doc);
}
END_TEST

START_TEST(numbers_keep_their_text_and_convert_exactly)
{
	struct json_doc *doc = parse_ok("[0, -0, 9223372036854775807, -9223372036854775808,"
	                                " 9223372036854775808, 1.5, 2e3, -12.25E-2, 123]");
	const struct json_value *a = json_root(doc);
	int64_t v;

	ck_assert_int_eq(json_int64(json_at(a, 0), &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(json_int64(json_at(a, 1), &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(json_int64(json_at(a, 2), &v), 0);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(json_int64(json_at(a, 3), &v), 0);
	ck_assert(v == INT64_MIN);
	ck_assert_int_eq(json_int64(json_at(a, 4), &v), -1); /* does not fit */
	ck_assert_int_eq(json_int64(json_at(a, 5), &v), -1); /* a fraction */
	ck_assert_int_eq(json_int64(json_at(a, 6), &v), -1); /* an exponent */
	ck_assert_str_eq(json_num_text(json_at(a, 7)), "-12.25E-2");
	ck_assert_str_eq(json_num_text(json_at(a, 8)), "123");
	json_free(doc);
	/* a lone number at the top level (its NUL has no following byte to use) */
	doc = parse_ok("7");
	ck_assert_int_eq(json_int64(json_root(doc), &v), 0);
	ck_assert_int_eq(v, 7);
	json_free(doc);
}
END_TEST

START_TEST(escapes_decode_to_utf8)
{
	struct json_doc *doc = parse_ok(
	        "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\", "
	        "\"\\ud83d\\ude00\", \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\", \"\"]");
	const struct json_value *a = json_root(doc);

	ck_assert_str_eq(json_str(json_at(a, 0)), "a\"b\\c/d\b\f\n\r\t");
	ck_assert_str_eq(json_str(json_at(a, 1)), "\xc3\xa9\xe2\x82\xac");
	ck_assert_str_eq(json_str(json_at(a, 2)), "\xf0\x9f\x98\x80"); /* U+1F600 from a pair */
	ck_assert_str_eq(json_str(json_at(a, 3)), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	ck_assert_str_eq(json_str(json_at(a, 4)), "");
	ck_assert_uint_eq(json_str_len(json_at(a, 1)), 5);
	json_free(doc);
}
END_TEST

START_TEST(malformed_json_is_refused_with_its_position)
{
	const char *msg;

	msg = BAD("{\"a\":1,}");
	ck_assert_msg(strstr(msg, "at byte 7"), "%s", msg);
	BAD("[1,]");
	BAD("[1 2]");
	BAD("{\"a\" 1}");
	BAD("{a:1}");
	BAD("{'a':1}");
	BAD("01");
	BAD("+1");
	BAD(".5");
	BAD("1.");
	BAD("1e");
	BAD("-");
	BAD("NaN");
	BAD("Infinity");
	BAD("tru");
	BAD("nul");
	BAD("[1] x");
	BAD("");
	BAD("   ");
	BAD("[");
	BAD("{\"a\":");
	BAD("\"abc");
	BAD("\"\\x\"");
	BAD("\"\\u12G4\"");
	BAD("\"\\u123\"");
	BAD("[1]\0");
	msg = BAD("\xef\xbb\xbf{}"); /* a byte-order mark */
	ck_assert_msg(strstr(msg, "at byte 0"), "%s", msg);
}
END_TEST

START_TEST(ambiguous_json_is_refused)
{
	/* two readers could disagree on these: refuse them */
	ck_assert(strstr(BAD("{\"code\":\"a\",\"code\":\"b\"}"), "duplicate key"));
	BAD("{\"x\":{\"k\":1,\"j\":2,\"k\":3}}");
	ck_assert(strstr(BAD("\"a\\u0000b\""), "\\u0000"));
	/* raw control characters */
	BAD("\"a\nb\"");
	BAD("\"a\tb\"");
	BAD("\"\x01\"");
}
END_TEST

START_TEST(invalid_utf8_is_refused)
{
	BAD("\"\x80\"");             /* lone continuation */
	BAD("\"\xc0\x80\"");         /* overlong NUL */
	BAD("\"\xc1\xbf\"");         /* overlong */
	BAD("\"\xe0\x80\x80\"");     /* overlong 3-byte */
	BAD("\"\xed\xa0\x80\"");     /* UTF-16 surrogate D800 */
	BAD("\"\xf0\x80\x80\x80\""); /* overlong 4-byte */
	BAD("\"\xf4\x90\x80\x80\""); /* above U+10FFFF */
	BAD("\"\xf5\x80\x80\x80\"");
	BAD("\"\xff\"");
	BAD("\"\xe2\x82\""); /* truncated */
	BAD("\"\xc3\"");
	BAD("\"\\ud83d\"");        /* high surrogate alone */
	BAD("\"\\ud83d\\u0041\""); /* high surrogate + not a low one */
	BAD("\"\\ude00\"");        /* low surrogate alone */
}
END_TEST

START_TEST(limits_hold_against_hostile_input)
{
	struct json_limits lim = {.max_depth = 4};
	struct json_doc *doc = NULL;
	struct mf_err err = {0};
	size_t n = 200000;
	char *deep = malloc(n + 1), *wide;

	/* depth: 4 levels fine, 5 refused */
	ck_assert_int_eq(json_parse("[[[[1]]]]", 9, &lim, &doc, &err), 0);
	json_free(doc);
	parse_bad("[[[[[1]]]]]", 11, &lim, MF_E_TOOBIG);
	parse_bad("{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}", 26, &lim, MF_E_TOOBIG);
	/* 200,000 opening brackets: refused, no stack overflow */
	memset(deep, '[', n);
	deep[n] = 0;
	parse_bad(deep, n, NULL, MF_E_TOOBIG);
	/* size */
	lim = (struct json_limits){.max_bytes = 8};
	parse_bad("[1,2,3,4,5]", 11, &lim, MF_E_TOOBIG);
	/* values */
	lim = (struct json_limits){.max_values = 3};
	ck_assert_int_eq(json_parse("[1,2]", 5, &lim, &doc, &err), 0);
	json_free(doc);
	parse_bad("[1,2,3]", 7, &lim, MF_E_TOOBIG);
	/* a wide flat array and a big object parse and are all there */
	wide = malloc(2 * n + 2);
	wide[0] = '[';
	for (size_t i = 0; i < n; i++) {
		wide[1 + 2 * i] = '1';
		wide[2 + 2 * i] = i + 1 < n ? ',' : ']';
	}
	wide[2 * n + 1] = 0;
	ck_assert_int_eq(json_parse(wide, strlen(wide), NULL, &doc, &err), 0);
	ck_assert_uint_eq(json_count(json_root(doc)), n);
	json_free(doc);
	{
		struct mf_buf b;

		buf_init(&b, 0);
		buf_putc(&b, '{');
		for (int i = 0; i < 20000; i++)
			buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
		buf_putc(&b, '}');
		ck_assert_int_eq(json_parse(b.data, b.len, NULL, &doc, &err), 0);
		ck_assert_int_eq(json_get_int64(json_root(doc), "k19999", &(int64_t){0}), 0);
		json_free(doc);
		/* the same with one key repeated far apart */
		b.data[b.len - 1] = 0;
		b.len--;
		buf_puts(&b, ",\"k7\":0}");
		parse_bad(b.data, b.len, NULL, MF_E_DATA);
		buf_free(&b);
	}
	free(wide);
	free(deep);
}
END_TEST

START_TEST(every_allocation_failure_is_survived)
{
	const char *text =
	        "{\"value\":[{\"id\":\"a\",\"n\":[1,2,{\"x\":\"\\u00e9\"}]},"
	        "{\"id\":\"b\",\"k\":{\"q\":true,\"r\":null}}],\"@odata.nextLink\":\"u\"}";
	struct json_doc *doc = NULL;
	struct mf_err err = {0};
	char n[16];
	int i;

	for (i = 1; i < 200; i++) {
		int rc;

		snprintf(n, sizeof(n), "%d", i);
		setenv("MAILFERRY_TEST_FAIL_ALLOC", n, 1);
		mf_mem_init_hooks();
		rc = json_parse(text, strlen(text), NULL, &doc, &err);
		unsetenv("MAILFERRY_TEST_FAIL_ALLOC");
		mf_mem_init_hooks();
		if (rc == 0)
			break;
		ck_assert_msg(err.code == MF_E_NOMEM, "allocation %d: %s", i, err.msg);
		ck_assert_ptr_null(doc);
	}
	ck_assert_msg(i > 3 && i < 200, "parse never succeeded (%d)", i);
	ck_assert_str_eq(json_get_str(json_at(json_get(json_root(doc), "value"), 1), "id"), "b");
	json_free_secure(doc);
}
END_TEST

START_TEST(writer_escapes_and_stays_valid)
{
	struct mf_buf b;
	struct json_w w;
	struct json_doc *doc;
	const char nasty[] = "q\"b\\s/\n\r\t\x01\x1f \xc3\xa9 \xff\xfe bad \xed\xa0\x80 end";

	buf_init(&b, 0);
	ck_assert_int_eq(json_put_str(&b, "a\"b\\c\n\x01"), 0);
	ck_assert_str_eq(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
	buf_reset(&b);

	json_w_init(&w, &b);
	json_w_object_begin(&w);
	json_w_kv_str(&w, "event", "mailbox_done");
	json_w_kv_int(&w, "messages", -3);
	json_w_kv_uint(&w, "bytes", UINT64_MAX);
	json_w_kv_bool(&w, "ok", 1);
	json_w_key(&w, "ratio");
	json_w_number(&w, "-1.5e3");
	json_w_key(&w, "error");
	json_w_null(&w);
	json_w_key(&w, "folders");
	json_w_array_begin(&w);
	json_w_str(&w, "INBOX");
	json_w_strn(&w, nasty, sizeof(nasty) - 1);
	json_w_str(&w, NULL);
	json_w_array_end(&w);
	json_w_object_end(&w);
	ck_assert_int_eq(json_w_finish(&w), 0);
	ck_assert_msg(!strchr(b.data, '\n'), "one JSON Lines record: %s", b.data);

	/* what we write, we read back: invalid bytes became U+FFFD */
	doc = parse_ok(b.data);
	ck_assert_str_eq(json_get_str(json_root(doc), "event"), "mailbox_done");
	ck_assert_str_eq(json_num_text(json_get(json_root(doc), "bytes")), "18446744073709551615");
	ck_assert_str_eq(json_num_text(json_get(json_root(doc), "ratio")), "-1.5e3");
	ck_assert_str_eq(json_str(json_at(json_get(json_root(doc), "folders"), 1)),
	                 "q\"b\\s/\n\r\t\x01\x1f \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd bad "
	                 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
	ck_assert(json_is_null(json_at(json_get(json_root(doc), "folders"), 2)));
	json_free(doc);
	buf_free(&b);
}
END_TEST

START_TEST(writer_misuse_is_reported)
{
	struct mf_buf b;
	struct json_w w;

	buf_init(&b, 0);
	json_w_init(&w, &b); /* a member without a key */
	json_w_object_begin(&w);
	json_w_str(&w, "x");
	ck_assert_int_eq(json_w_finish(&w), -1);

	buf_reset(&b);
	json_w_init(&w, &b); /* not closed */
	json_w_array_begin(&w);
	ck_assert_int_eq(json_w_finish(&w), -1);

	buf_reset(&b);
	json_w_init(&w, &b); /* two top-level values */
	json_w_int(&w, 1);
	json_w_int(&w, 2);
	ck_assert_int_eq(json_w_finish(&w), -1);

	buf_reset(&b);
	json_w_init(&w, &b); /* wrong closer */
	json_w_array_begin(&w);
	json_w_object_end(&w);
	ck_assert_int_eq(json_w_finish(&w), -1);

	buf_reset(&b);
	json_w_init(&w, &b); /* not a number */
	json_w_number(&w, "1.");
	ck_assert_int_eq(json_w_finish(&w), -1);

	buf_reset(&b);
	json_w_init(&w, &b); /* nothing at all */
	ck_assert_int_eq(json_w_finish(&w), -1);
	buf_free(&b);

	buf_init(&b, 10); /* the buffer's limit is an error, not an overflow */
	json_w_init(&w, &b);
	json_w_object_begin(&w);
	json_w_kv_str(&w, "key", "a long value");
	json_w_object_end(&w);
	ck_assert_int_eq(json_w_finish(&w), -1);
	ck_assert_uint_le(b.len, 10);
	buf_free(&b);
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, graph_shapes_are_read);
	tcase_add_test(tc, numbers_keep_their_text_and_convert_exactly);
	tcase_add_test(tc, escapes_decode_to_utf8);
	tcase_add_test(tc, malformed_json_is_refused_with_its_position);
	tcase_add_test(tc, ambiguous_json_is_refused);
	tcase_add_test(tc, invalid_utf8_is_refused);
	tcase_add_test(tc, limits_hold_against_hostile_input);
	tcase_add_test(tc, every_allocation_failure_is_survived);
	tcase_add_test(tc, writer_escapes_and_stays_valid);
	tcase_add_test(tc, writer_misuse_is_reported);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(json_suite)
