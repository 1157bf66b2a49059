/* Unit tests for src/imap/mutf7.c: mailbox names in modified UTF-7.
 *
 * Table-driven like isync's tst_imap_utf7: {utf8, utf7} pairs, where a NULL
 * on one side means the other side must be rejected. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "imap/mutf7.h"
#include "util/buf.h"
#include "util/mem.h"

struct pair {
	const char *utf8;
	const char *utf7;
};

/* Both directions: encode(utf8) == utf7 and decode(utf7) == utf8. */
static const struct pair both_ways[] = {
        {"", ""},
        {"INBOX", "INBOX"},
        {"Sent Items", "Sent Items"},
        {"Entwürfe", "Entw&APw-rfe"},
        {"&", "&-"},
        {"Tom & Jerry", "Tom &- Jerry"},
        {"&&", "&-&-"},
        {"Ä&ä", "&AMQ-&-&AOQ-"},
        {"日本語", "&ZeVnLIqe-"},
        {"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
        {"Входящие", "&BBIERQQ+BDQETwRJBDgENQ-"},
        {"😀", "&2D3eAA-"},
        {"🇩🇪 Flagge", "&2Dzd6dg83eo- Flagge"},
        {"Archiv/2023 Ü", "Archiv/2023 &ANw-"},
        {"a\tb", "a&AAk-b"}, /* a tab is not printable ASCII: it is encoded */
        {"~!#$%'()*+,-./:;<=>?@[\\]^_`{|}", "~!#$%'()*+,-./:;<=>?@[\\]^_`{|}"},
};

/* Modified UTF-7 that must be rejected: mutf7.h lists every class. */
static const char *const bad_utf7[] = {
        "&Jjo!",           /* '!' is not modified base64 */
        "&U/BTFw-",        /* '/' is plain base64, modified uses ',' */
        "&U,BTFw",         /* unterminated shift */
        "&",               /* unterminated shift, nothing in it */
        "Entw&APw",        /* unterminated at the end of the name */
        "&AGE-",           /* "a" encoded in base64 */
        "&ACY-",           /* "&" encoded in base64 instead of "&-" */
        "&ACA-",           /* a space encoded in base64 */
        "&AOR-",           /* padding bits not zero (AOQ is right) */
        "&AA-",            /* 12 bits: no whole UTF-16 unit */
        "&AOQA-",          /* a sixth bit group too many */
        "&AMQ-&AOQ-",      /* two shifts in a row must be one */
        "&2D0-",           /* lone high surrogate */
        "&3gA-",           /* lone low surrogate */
        "&2D3YPQ-",        /* high surrogate followed by another high one */
        "&AAA-",           /* NUL */
        "Entw\xc3\xbcrfe", /* raw 8-bit byte */
        "a\tb",            /* raw control character */
        "a\x7f",           /* raw DEL */
};

/* UTF-8 that must not be encoded. */
static const char *const bad_utf8[] = {
        "\xff",             /* never valid */
        "abc\xc3",          /* truncated sequence */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong '/' */
        "\xed\xa0\x80",     /* a surrogate encoded in UTF-8 */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\x80",             /* lone continuation byte */
};

START_TEST(encode_table)
{
	const struct pair *t = &both_ways[_i];
	struct mf_buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(mutf7_encode(t->utf8, strlen(t->utf8), &b), 0);
	ck_assert_str_eq(b.data ? b.data : "", t->utf7);
	buf_free(&b);
}
END_TEST

START_TEST(decode_table)
{
	const struct pair *t = &both_ways[_i];
	struct mf_buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(mutf7_decode(t->utf7, strlen(t->utf7), &b), 0);
	ck_assert_str_eq(b.data ? b.data : "", t->utf8);
	buf_free(&b);
}
END_TEST

START_TEST(decode_rejects_invalid)
{
	struct mf_buf b;

	buf_init(&b, 0);
	buf_puts(&b, "keep:");
	ck_assert_msg(mutf7_decode(bad_utf7[_i], strlen(bad_utf7[_i]), &b) == -1, "accepted \"%s\"",
	              bad_utf7[_i]);
	/* A rejected name leaves nothing half-decoded behind. */
	ck_assert_str_eq(b.data, "keep:");
	buf_free(&b);
}
END_TEST

START_TEST(encode_rejects_invalid_utf8)
{
	struct mf_buf b;

	buf_init(&b, 0);
	buf_puts(&b, "keep:");
	ck_assert_int_eq(mutf7_encode(bad_utf8[_i], strlen(bad_utf8[_i]), &b), -1);
	ck_assert_str_eq(b.data, "keep:");
	ck_assert(!utf8_valid(bad_utf8[_i], strlen(bad_utf8[_i])));
	buf_free(&b);
}
END_TEST

START_TEST(encode_rejects_nul)
{
	struct mf_buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(mutf7_encode("a\0b", 3, &b), -1);
	ck_assert_int_eq(mutf7_decode("a\0b", 3, &b), -1);
	buf_free(&b);
}
END_TEST

START_TEST(encode_fails_at_the_buffer_limit)
{
	struct mf_buf b;

	buf_init(&b, 8);
	ck_assert_int_eq(mutf7_encode("日本語", strlen("日本語"), &b), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(utf8_valid_classes)
{
	ck_assert(utf8_valid("", 0));
	ck_assert(utf8_valid("Entwürfe", strlen("Entwürfe")));
	ck_assert(utf8_valid("😀 日本語", strlen("😀 日本語")));
	ck_assert(utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
	ck_assert(!utf8_valid("a\0b", 3));
	ck_assert(!utf8_valid("a\tb", 3));
	ck_assert(!utf8_valid("a\rb", 3));
	ck_assert(!utf8_valid("a\x7f", 2));
	ck_assert(!utf8_valid("a\xc2\x85", 3)); /* U+0085 NEL, a C1 control */
	ck_assert(utf8_valid("a\xc2\xa0", 3));  /* U+00A0 is fine */
}
END_TEST

/* Random valid UTF-8 (every plane, surrogates excluded) must survive
 * encode -> decode unchanged, and the encoded form must be printable ASCII. */
static size_t random_utf8(char *out, unsigned *seed)
{
	size_t n = 0, count = (size_t)(rand_r(seed) % 12);

	for (size_t k = 0; k < count; k++) {
		uint32_t c;

		switch (rand_r(seed) % 4) {
		case 0:
			c = 0x20 + (uint32_t)rand_r(seed) % 0x5f; /* printable, '&' included */
			break;
		case 1:
			c = 0xa0 + (uint32_t)rand_r(seed) % 0x760;
			break;
		case 2:
			do {
				c = 0x800 + (uint32_t)rand_r(seed) % 0xf800;
			} while (c >= 0xd800 && c <= 0xdfff);
			break;
		default:
			c = 0x10000 + (uint32_t)rand_r(seed) % 0x100000;
			break;
		}
		if (c < 0x80) {
			out[n++] = (char)c;
		} else if (c < 0x800) {
			out[n++] = (char)(0xc0 | (c >> 6));
			out[n++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[n++] = (char)(0xe0 | (c >> 12));
			out[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[n++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[n++] = (char)(0xf0 | (c >> 18));
			out[n++] = (char)(0x80 | ((c >> 12) & 0x3f));
			out[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[n++] = (char)(0x80 | (c & 0x3f));
		}
	}
	return n;
}

START_TEST(round_trip_random_names)
{
	unsigned seed = 20240601;

	for (int iter = 0; iter < 20000; iter++) {
		char name[64];
		size_t n = random_utf8(name, &seed);
		struct mf_buf enc, dec;

		buf_init(&enc, 0);
		buf_init(&dec, 0);
		ck_assert(utf8_valid(name, n));
		ck_assert_int_eq(mutf7_encode(name, n, &enc), 0);
		for (size_t i = 0; i < enc.len; i++)
			ck_assert(enc.data[i] >= 0x20 && enc.data[i] <= 0x7e);
		ck_assert_int_eq(mutf7_decode(enc.data ? enc.data : "", enc.len, &dec), 0);
		ck_assert_uint_eq(dec.len, n);
		ck_assert(n == 0 || memcmp(dec.data, name, n) == 0);
		buf_free(&enc);
		buf_free(&dec);
	}
}
END_TEST

/* Decoding is strict enough that a name has exactly one encoding: whatever
 * decodes must encode back to the same bytes (random printable input). */
START_TEST(decode_is_canonical)
{
	static const char alphabet[] = "&-AOQPwZeVnLIqe2D3aA,+Bx09 ";
	unsigned seed = 7;
	int accepted = 0;

	for (int iter = 0; iter < 50000; iter++) {
		char in[16];
		size_t n = 1 + (size_t)rand_r(&seed) % (sizeof(in) - 1);
		struct mf_buf dec, enc;

		for (size_t i = 0; i < n; i++)
			in[i] = alphabet[(size_t)rand_r(&seed) % (sizeof(alphabet) - 1)];
		buf_init(&dec, 0);
		buf_init(&enc, 0);
		if (mutf7_decode(in, n, &dec) == 0) {
			accepted++;
			ck_assert_int_eq(mutf7_encode(dec.data ? dec.data : "", dec.len, &enc), 0);
			ck_assert_uint_eq(enc.len, n);
			ck_assert(memcmp(enc.data, in, n) == 0);
		}
		buf_free(&dec);
		buf_free(&enc);
	}
	ck_assert_int_gt(accepted, 1000); /* the property was exercised */
}
END_TEST

/* Running out of memory fails the conversion cleanly at every allocation. */
START_TEST(survives_allocation_failures)
{
	const char *name = "~peter/mail/台北/日本語 Entwürfe & 😀";
	int done = 0;

	for (int n = 1; n < 50 && !done; n++) {
		struct mf_buf enc, dec;
		char env[16];

		snprintf(env, sizeof(env), "%d", n);
		setenv("MAILFERRY_TEST_FAIL_ALLOC", env, 1);
		mf_mem_init_hooks();
		buf_init(&enc, 0);
		buf_init(&dec, 0);
		if (mutf7_encode(name, strlen(name), &enc) == 0 &&
		    mutf7_decode(enc.data, enc.len, &dec) == 0) {
			ck_assert_str_eq(dec.data, name);
			done = 1;
		} else {
			ck_assert(dec.len == 0);
		}
		buf_free(&enc);
		buf_free(&dec);
	}
	unsetenv("MAILFERRY_TEST_FAIL_ALLOC");
	mf_mem_init_hooks();
	ck_assert(done);
}
END_TEST

static Suite *mutf7_suite(void)
{
	Suite *s = suite_create("mutf7");
	TCase *tc = tcase_create("mutf7");

	tcase_add_loop_test(tc, encode_table, 0, (int)(sizeof(both_ways) / sizeof(both_ways[0])));
	tcase_add_loop_test(tc, decode_table, 0, (int)(sizeof(both_ways) / sizeof(both_ways[0])));
	tcase_add_loop_test(tc, decode_rejects_invalid, 0,
	                    (int)(sizeof(bad_utf7) / sizeof(bad_utf7[0])));
	tcase_add_loop_test(tc, encode_rejects_invalid_utf8, 0,
	                    (int)(sizeof(bad_utf8) / sizeof(bad_utf8[0])));
	tcase_add_test(tc, encode_rejects_nul);
	tcase_add_test(tc, encode_fails_at_the_buffer_limit);
	tcase_add_test(tc, utf8_valid_classes);
	tcase_add_test(tc, round_trip_random_names);
	tcase_add_test(tc, decode_is_canonical);
	tcase_add_test(tc, survives_allocation_failures);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(mutf7_suite)
