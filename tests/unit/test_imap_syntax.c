/* Unit tests for src/imap/syntax.c: astrings, UID sets, flag lists. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "imap/syntax.h"
#include "util/buf.h"
#include "util/mem.h"

struct astring_case {
	const char *in;
	size_t n;
	int rc;
	const char *out;
};

static const struct astring_case astrings[] = {
        {"INBOX", 5, 0, "INBOX"},
        {"Entw&APw-rfe", 12, 0, "Entw&APw-rfe"},
        {"user@example.com", 16, 0, "user@example.com"},
        {"NIL", 3, 0, "NIL"},
        {"", 0, 0, "\"\""},
        {"Sent Items", 10, 0, "\"Sent Items\""},
        {"a\"b", 3, 0, "\"a\\\"b\""},
        {"a\\b", 3, 0, "\"a\\\\b\""},
        {"a]b", 3, 0, "\"a]b\""},
        {"50%", 3, 0, "\"50%\""},
        {"*", 1, 0, "\"*\""},
        {"{5}", 3, 0, "\"{5}\""},
        {"(x)", 3, 0, "\"(x)\""},
        {"a\tb", 3, 0, "\"a\tb\""},
        {"p4ss\"w\\rd", 9, 0, "\"p4ss\\\"w\\\\rd\""},
        /* bytes a quoted string cannot carry: the caller must send a literal */
        {"a\rb", 3, 1, NULL},
        {"a\nb", 3, 1, NULL},
        {"a\0b", 3, 1, NULL},
        {"Entw\xc3\xbcrfe", 9, 1, NULL},
        {"\x80", 1, 1, NULL},
};

START_TEST(astring_quoting)
{
	const struct astring_case *c = &astrings[_i];
	struct mf_buf b;

	buf_init(&b, 0);
	buf_puts(&b, "LOGIN ");
	ck_assert_int_eq(imap_put_astring(&b, c->in, c->n), c->rc);
	if (c->rc == 0) {
		ck_assert_str_eq(b.data + 6, c->out);
	} else {
		ck_assert_str_eq(b.data, "LOGIN "); /* nothing half-written */
		ck_assert_int_eq(imap_put_quoted(&b, c->in, c->n), 1);
		ck_assert_str_eq(b.data, "LOGIN ");
	}
	buf_free(&b);
}
END_TEST

START_TEST(quoted_always_quotes)
{
	struct mf_buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(imap_put_quoted(&b, "INBOX", 5), 0);
	ck_assert_str_eq(b.data, "\"INBOX\"");
	buf_free(&b);
	/* a buffer limit fails cleanly, without a partial string */
	buf_init(&b, 4);
	buf_puts(&b, "ab");
	ck_assert_int_eq(imap_put_quoted(&b, "xyz", 3), -1);
	ck_assert_str_eq(b.data, "ab");
	ck_assert_int_eq(imap_put_astring(&b, "xyz", 3), -1);
	ck_assert_str_eq(b.data, "ab");
	buf_free(&b);
}
END_TEST

static char *format_all(const struct uidset *s, size_t max_bytes)
{
	struct mf_buf b;
	size_t pos = 0;

	buf_init(&b, 0);
	while (pos < s->n) {
		if (b.len)
			buf_putc(&b, '|');
		ck_assert_int_eq(uidset_format(s, &pos, max_bytes, &b), 0);
	}
	return b.data ? buf_steal(&b) : strdup("");
}

START_TEST(uidset_coalesces)
{
	struct uidset s;
	static const uint32_t uids[] = {5, 3, 4, 1, 10, 11, 2, 30, 12};
	char *txt;

	uidset_init(&s);
	for (size_t i = 0; i < sizeof(uids) / sizeof(uids[0]); i++)
		ck_assert_int_eq(uidset_add(&s, uids[i]), 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(uidset_count(&s), 9);
	ck_assert(uidset_has(&s, 3));
	ck_assert(uidset_has(&s, 12));
	ck_assert(!uidset_has(&s, 6));
	ck_assert(!uidset_has(&s, 0));
	ck_assert(!uidset_has(&s, 31));
	txt = format_all(&s, 0);
	ck_assert_str_eq(txt, "1:5,10:12,30");
	free(txt);

	/* a reversed range, and one that swallows and joins neighbours */
	ck_assert_int_eq(uidset_add_range(&s, 20, 15), 0);
	txt = format_all(&s, 0);
	ck_assert_str_eq(txt, "1:5,10:12,15:20,30");
	free(txt);
	ck_assert_int_eq(uidset_add_range(&s, 6, 14), 0);
	txt = format_all(&s, 0);
	ck_assert_str_eq(txt, "1:20,30");
	free(txt);
	ck_assert_int_eq(uidset_add_range(&s, 21, 29), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(uidset_count(&s), 30);
	ck_assert_int_eq(uidset_add(&s, 0), -1); /* not a UID */
	ck_assert_uint_eq(uidset_count(&s), 30);
	uidset_free(&s);
}
END_TEST

START_TEST(uidset_edges_of_32_bits)
{
	struct uidset s;
	char *txt;

	uidset_init(&s);
	ck_assert_int_eq(uidset_add(&s, UINT32_MAX), 0);
	ck_assert_int_eq(uidset_add(&s, UINT32_MAX - 1), 0);
	ck_assert_int_eq(uidset_add(&s, UINT32_MAX), 0);
	txt = format_all(&s, 0);
	ck_assert_str_eq(txt, "4294967294:4294967295");
	free(txt);
	ck_assert_int_eq(uidset_add_range(&s, 1, UINT32_MAX), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(uidset_count(&s), UINT32_MAX);
	ck_assert(uidset_has(&s, UINT32_MAX));
	uidset_free(&s);
}
END_TEST

START_TEST(uidset_format_splits_by_size)
{
	struct uidset s;
	char *txt;

	uidset_init(&s);
	uidset_add_range(&s, 1, 5);
	uidset_add_range(&s, 10, 11);
	uidset_add_range(&s, 15, 20);
	uidset_add(&s, 30);
	txt = format_all(&s, 9);
	ck_assert_str_eq(txt, "1:5,10:11|15:20,30");
	free(txt);
	txt = format_all(&s, 8);
	ck_assert_str_eq(txt, "1:5|10:11|15:20,30");
	free(txt);
	/* at least one range per call, however small the limit */
	txt = format_all(&s, 1);
	ck_assert_str_eq(txt, "1:5|10:11|15:20|30");
	free(txt);
	uidset_free(&s);
}
END_TEST

/* Random sets against a bitmap: has, count, and format -> parse. */
START_TEST(uidset_matches_a_bitmap)
{
	enum { MAXUID = 3000 };
	unsigned seed = 42;

	for (int round = 0; round < 50; round++) {
		static unsigned char bits[MAXUID + 2];
		struct uidset s;
		uint64_t expect = 0;
		size_t pos = 0, n = 0;
		uint32_t *list = malloc(sizeof(*list) * MAXUID);

		memset(bits, 0, sizeof(bits));
		uidset_init(&s);
		for (int k = 0; k < 400; k++) {
			uint32_t lo = 1 + (uint32_t)rand_r(&seed) % MAXUID, hi = lo;

			if (rand_r(&seed) % 4 == 0) {
				hi = 1 + (uint32_t)rand_r(&seed) % MAXUID;
				if ((hi > lo ? hi - lo : lo - hi) > 40)
					hi = lo;
			}
			ck_assert_int_eq(uidset_add_range(&s, lo, hi), 0);
			for (uint32_t u = lo < hi ? lo : hi; u <= (lo < hi ? hi : lo); u++)
				bits[u] = 1;
		}
		for (uint32_t u = 1; u <= MAXUID; u++) {
			ck_assert_int_eq(uidset_has(&s, u), bits[u]);
			expect += bits[u];
		}
		ck_assert_uint_eq(uidset_count(&s), expect);
		for (size_t i = 1; i < s.n; i++) /* sorted, disjoint, not touching */
			ck_assert((uint64_t)s.r[i - 1].hi + 1 < s.r[i].lo);
		while (pos < s.n) {
			struct mf_buf b;
			size_t got = 0;

			buf_init(&b, 0);
			ck_assert_int_eq(uidset_format(&s, &pos, 64, &b), 0);
			ck_assert(b.len <= 64);
			ck_assert_int_eq(
			        uidset_parse_list(b.data, b.len, list + n, MAXUID - n, &got), 0);
			n += got;
			buf_free(&b);
		}
		ck_assert_uint_eq(n, expect);
		for (size_t i = 0; i < n; i++) {
			ck_assert(bits[list[i]]);
			ck_assert(i == 0 || list[i] > list[i - 1]);
		}
		uidset_free(&s);
		free(list);
	}
}
END_TEST

START_TEST(parse_list_expands_in_order)
{
	uint32_t out[16];
	size_t n = 99;

	ck_assert_int_eq(uidset_parse_list("4:6,9", 5, out, 16, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(out[0], 4);
	ck_assert_uint_eq(out[1], 5);
	ck_assert_uint_eq(out[2], 6);
	ck_assert_uint_eq(out[3], 9);
	/* a reversed range means the same UIDs */
	ck_assert_int_eq(uidset_parse_list("6:4", 3, out, 16, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(out[0], 4);
	ck_assert_uint_eq(out[2], 6);
	/* COPYUID keeps the server's order, which pairs source and target */
	ck_assert_int_eq(uidset_parse_list("304,319:320", 11, out, 16, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(out[0], 304);
	ck_assert_uint_eq(out[1], 319);
	ck_assert_uint_eq(out[2], 320);
	ck_assert_int_eq(uidset_parse_list("4294967295", 10, out, 16, &n), 0);
	ck_assert_uint_eq(out[0], UINT32_MAX);
	/* only len bytes are read */
	ck_assert_int_eq(uidset_parse_list("12]", 2, out, 16, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0], 12);
}
END_TEST

static const char *const bad_lists[] = {
        "",     "*",    "1:*", "*:4", ",1",         "1,",
        "1,,2", "1::2", "0",   "0:3", "4294967296", "99999999999999999999",
        "a",    "1 2",  "1-3", "-1",  "+1",         " 1",
        "1:",   ":1",
};

START_TEST(parse_list_rejects_garbage)
{
	uint32_t out[16];
	size_t n = 99;
	const char *s = bad_lists[_i];

	ck_assert_msg(uidset_parse_list(s, strlen(s), out, 16, &n) == -1, "accepted \"%s\"", s);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(parse_list_respects_max)
{
	uint32_t out[4];
	size_t n;

	ck_assert_int_eq(uidset_parse_list("1:4", 3, out, 4, &n), 0);
	ck_assert_int_eq(uidset_parse_list("1:5", 3, out, 4, &n), -1);
	ck_assert_int_eq(uidset_parse_list("1,2,3,4,5", 9, out, 4, &n), -1);
	/* a huge range is refused before anything is expanded */
	ck_assert_int_eq(uidset_parse_list("1:4294967295", 12, out, 4, &n), -1);
}
END_TEST

START_TEST(flag_lists_drop_what_cannot_be_set)
{
	static const char *const flags[] = {
	        "\\Seen", "\\Recent", "$Label1",  "bad flag",  "\\*",     "",     "\\",
	        "Junk",   "a(b",      "\\recent", "\\Flagged", "NonJunk", "x\"y", "\xc3\xa4",
	};
	struct mf_buf b;
	size_t dropped = 99;

	buf_init(&b, 0);
	ck_assert_int_eq(imap_put_flag_list(&b, flags, sizeof(flags) / sizeof(flags[0]), &dropped),
	                 0);
	ck_assert_str_eq(b.data, "(\\Seen $Label1 Junk \\Flagged NonJunk)");
	ck_assert_uint_eq(dropped, 7); /* \Recent is not counted: it is never settable */
	buf_reset(&b);
	ck_assert_int_eq(imap_put_flag_list(&b, NULL, 0, NULL), 0);
	ck_assert_str_eq(b.data, "()");
	buf_reset(&b);
	{
		const char *const with_null[] = {NULL, "\\Answered"};

		ck_assert_int_eq(imap_put_flag_list(&b, with_null, 2, &dropped), 0);
		ck_assert_str_eq(b.data, "(\\Answered)");
		ck_assert_uint_eq(dropped, 1);
	}
	buf_free(&b);
}
END_TEST

/* Running out of memory fails cleanly at every allocation: UID sets stay
 * valid, buffers hold nothing half-written. */
START_TEST(survives_allocation_failures)
{
	static const char *const flags[] = {"\\Seen", "$Label1", "\\Flagged"};
	int done = 0;

	for (int n = 1; n < 100 && !done; n++) {
		struct uidset s;
		struct mf_buf b;
		size_t pos = 0;
		char env[16];
		int ok = 1;

		snprintf(env, sizeof(env), "%d", n);
		setenv("MAILFERRY_TEST_FAIL_ALLOC", env, 1);
		mf_mem_init_hooks();
		uidset_init(&s);
		buf_init(&b, 0);
		for (uint32_t u = 1; u < 200 && ok; u += 2)
			ok = uidset_add(&s, u) == 0;
		for (size_t i = 1; i < s.n; i++)
			ck_assert(s.r[i - 1].hi < s.r[i].lo);
		if (ok)
			ok = uidset_format(&s, &pos, 0, &b) == 0;
		if (ok)
			ok = imap_put_flag_list(&b, flags, 3, NULL) == 0;
		else
			ck_assert_uint_eq(b.len, 0);
		if (ok) {
			ck_assert_uint_eq(uidset_count(&s), 100);
			ck_assert_ptr_nonnull(strstr(b.data, "197,199(\\Seen $Label1 \\Flagged)"));
			done = 1;
		}
		uidset_free(&s);
		buf_free(&b);
	}
	unsetenv("MAILFERRY_TEST_FAIL_ALLOC");
	mf_mem_init_hooks();
	ck_assert(done);
}
END_TEST

static Suite *syntax_suite(void)
{
	Suite *s = suite_create("imap_syntax");
	TCase *tc = tcase_create("syntax");

	tcase_add_loop_test(tc, astring_quoting, 0, (int)(sizeof(astrings) / sizeof(astrings[0])));
	tcase_add_test(tc, quoted_always_quotes);
	tcase_add_test(tc, uidset_coalesces);
	tcase_add_test(tc, uidset_edges_of_32_bits);
	tcase_add_test(tc, uidset_format_splits_by_size);
	tcase_add_test(tc, uidset_matches_a_bitmap);
	tcase_add_test(tc, parse_list_expands_in_order);
	tcase_add_loop_test(tc, parse_list_rejects_garbage, 0,
	                    (int)(sizeof(bad_lists) / sizeof(bad_lists[0])));
	tcase_add_test(tc, parse_list_respects_max);
	tcase_add_test(tc, flag_lists_drop_what_cannot_be_set);
	tcase_add_test(tc, survives_allocation_failures);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(syntax_suite)
