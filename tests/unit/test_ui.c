/* Unit tests for the pure text code of the UI (src/ui/textutil.c): UTF-8
 * decoding and sanitising, display widths, word wrapping, progress bars. */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "ui/textutil.h"

static void use_utf8(void)
{
	ck_assert_ptr_nonnull(setlocale(LC_ALL, "C.UTF-8"));
}

START_TEST(utf8_decodes_valid_sequences)
{
	uint32_t cp;

	ck_assert_uint_eq(ui_utf8_decode("A", 1, &cp), 1);
	ck_assert_uint_eq(cp, 'A');
	ck_assert_uint_eq(ui_utf8_decode("\xc3\xa9", 2, &cp), 2);
	ck_assert_uint_eq(cp, 0xE9);
	ck_assert_uint_eq(ui_utf8_decode("\xe6\x9d\xb1", 3, &cp), 3);
	ck_assert_uint_eq(cp, 0x6771);
	ck_assert_uint_eq(ui_utf8_decode("\xf0\x9f\x93\xa7", 4, &cp), 4);
	ck_assert_uint_eq(cp, 0x1F4E7);
}
END_TEST

START_TEST(utf8_rejects_malformed_sequences_one_byte_at_a_time)
{
	static const char *const bad[] = {
	        "\xc0\x80",         /* overlong NUL */
	        "\xe0\x80\xaf",     /* overlong '/' */
	        "\xed\xa0\x80",     /* surrogate */
	        "\xf4\x90\x80\x80", /* past U+10FFFF */
	        "\xf5\x80\x80\x80", /* invalid lead */
	        "\x80",             /* lone continuation */
	        "\xe2\x82",         /* truncated */
	        "\xc3(",            /* bad continuation */
	};
	uint32_t cp;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_uint_eq(ui_utf8_decode(bad[i], strlen(bad[i]), &cp), 1);
		ck_assert_uint_eq(cp, 0xFFFD);
	}
}
END_TEST

START_TEST(utf8_encode_round_trips)
{
	static const uint32_t cps[] = {0x24, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFD, 0x10000, 0x10FFFF};
	char buf[4];
	uint32_t back;

	for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
		size_t n = ui_utf8_encode(cps[i], buf);

		ck_assert_uint_gt(n, 0);
		ck_assert_uint_eq(ui_utf8_decode(buf, n, &back), n);
		ck_assert_uint_eq(back, cps[i]);
	}
	ck_assert_uint_eq(ui_utf8_encode(0xD800, buf), 0);
	ck_assert_uint_eq(ui_utf8_encode(0x110000, buf), 0);
	ck_assert_uint_eq(ui_utf8_prev("a\xc3\xa9", 3), 1);
	ck_assert_uint_eq(ui_utf8_prev("a\xc3\xa9", 1), 0);
	ck_assert_uint_eq(ui_utf8_prev("a", 0), 0);
}
END_TEST

START_TEST(control_characters_never_reach_the_terminal)
{
	use_utf8();
	/* ESC would let a mailbox name drive the terminal */
	ck_assert_uint_eq(ui_cp_shown(0x1B, 0), '?');
	ck_assert_uint_eq(ui_cp_shown('\n', 0), '?');
	ck_assert_uint_eq(ui_cp_shown(0x7F, 0), '?');
	ck_assert_uint_eq(ui_cp_shown(0x9B, 0), '?'); /* C1 CSI */
	ck_assert_uint_eq(ui_cp_shown(0xFFFD, 0), '?');
	ck_assert_uint_eq(ui_cp_shown(0xE9, 0), 0xE9);
	/* ASCII mode: everything outside printable ASCII */
	ck_assert_uint_eq(ui_cp_shown(0xE9, 1), '?');
	ck_assert_uint_eq(ui_cp_shown('~', 1), '~');
}
END_TEST

START_TEST(widths_follow_the_mode)
{
	use_utf8();
	ck_assert_int_eq(ui_str_width("Zürich", 0), 6);
	ck_assert_int_eq(ui_str_width("東京", 0), 4);
	ck_assert_int_eq(ui_str_width("東京", 1), 2);      /* "??" */
	ck_assert_int_eq(ui_str_width("e\xcc\x81", 0), 1); /* e + combining acute */
	ck_assert_int_eq(ui_str_width("a\x1b[31m", 0), 6); /* ESC shown as '?' */
	ck_assert_int_eq(ui_str_width(NULL, 0), 0);
}
END_TEST

START_TEST(fit_never_splits_a_character)
{
	int used;

	use_utf8();
	ck_assert_uint_eq(ui_text_fit("東京", 6, 3, 0, &used), 3);
	ck_assert_int_eq(used, 2);
	ck_assert_uint_eq(ui_text_fit("東京", 6, 1, 0, &used), 0);
	ck_assert_int_eq(used, 0);
	ck_assert_uint_eq(ui_text_fit("東京", 6, 3, 1, &used), 6); /* ASCII: "??" */
	ck_assert_uint_eq(ui_text_fit("abc", 3, 10, 0, &used), 3);
	ck_assert_int_eq(used, 3);
}
END_TEST

/* Collects the wrapped lines of s at width into one "|"-joined string. */
static char *wrapped(const char *s, int width)
{
	static char out[1024];
	struct ui_wrap w;
	size_t off, len, at = 0;

	ui_wrap_init(&w, s, width, 0);
	out[0] = 0;
	while (ui_wrap_next(&w, &off, &len)) {
		at += (size_t)snprintf(out + at, sizeof(out) - at, "%s%.*s", at ? "|" : "",
		                       (int)len, s + off);
	}
	return out;
}

START_TEST(wrap_breaks_at_spaces_and_splits_long_words)
{
	use_utf8();
	ck_assert_str_eq(wrapped("the quick brown fox", 10), "the quick|brown fox");
	ck_assert_str_eq(wrapped("the quick brown fox", 9), "the quick|brown fox");
	ck_assert_str_eq(wrapped("abcdefghij", 4), "abcd|efgh|ij");
	ck_assert_str_eq(wrapped("one\n\ntwo", 20), "one||two");
	ck_assert_str_eq(wrapped("a    b", 2), "a|b");
	ck_assert_str_eq(wrapped("東京東京", 3), "東|京|東|京");
	ck_assert_str_eq(wrapped("", 5), "");
	ck_assert_int_eq(ui_wrap_count("", 5, 0), 1);
	ck_assert_int_eq(ui_wrap_count("the quick brown fox", 10, 0), 2);
	/* width 1 still makes progress on wide characters */
	ck_assert_str_eq(wrapped("東", 1), "東");
}
END_TEST

START_TEST(wrapped_lines_fit_and_keep_every_word)
{
	static const char *const words[] = {
	        "a", "IMAP", "mailbox", "Zürich", "東京", "verylongwordthatneverfits", "x"};
	char text[512], rebuilt[512], orig[512];

	use_utf8();
	srand(42);
	for (int round = 0; round < 500; round++) {
		size_t at = 0, k = 0;
		int width = 1 + rand() % 30;
		struct ui_wrap w;
		size_t off, len;

		text[0] = 0;
		for (int i = 0; i < 12; i++)
			at += (size_t)snprintf(text + at, sizeof(text) - at, "%s%s",
			                       words[rand() % 7], rand() % 5 ? " " : "  ");
		ui_wrap_init(&w, text, width, 0);
		rebuilt[0] = 0;
		while (ui_wrap_next(&w, &off, &len)) {
			int lw = ui_text_width(text + off, len, 0);

			ck_assert_msg(lw <= width ||
			                      ui_text_fit(text + off, len, width, 0, NULL) == 0,
			              "line '%.*s' is %d wide at width %d", (int)len, text + off,
			              lw, width);
			for (size_t i = 0; i < len; i++)
				if (text[off + i] != ' ')
					rebuilt[k++] = text[off + i];
		}
		rebuilt[k] = 0;
		k = 0;
		for (size_t i = 0; text[i]; i++)
			if (text[i] != ' ')
				orig[k++] = text[i];
		orig[k] = 0;
		ck_assert_str_eq(rebuilt, orig);
	}
}
END_TEST

START_TEST(ascii_bars_never_claim_more_than_done)
{
	char b[64];

	ui_bar_render(b, sizeof(b), 10, 0, 100, 1);
	ck_assert_str_eq(b, "..........");
	ui_bar_render(b, sizeof(b), 10, 50, 100, 1);
	ck_assert_str_eq(b, "#####.....");
	ui_bar_render(b, sizeof(b), 10, 999, 1000, 1);
	ck_assert_str_eq(b, "#########.");
	ui_bar_render(b, sizeof(b), 10, 1000, 1000, 1);
	ck_assert_str_eq(b, "##########");
	ui_bar_render(b, sizeof(b), 10, 2000, 1000, 1);
	ck_assert_str_eq(b, "##########");
	/* unknown total: an empty bar, not a guess */
	ui_bar_render(b, sizeof(b), 5, 123, 0, 1);
	ck_assert_str_eq(b, ".....");
	ui_bar_render(b, sizeof(b), 0, 1, 2, 1);
	ck_assert_str_eq(b, "");
	/* too small a buffer: truncated, still terminated */
	ui_bar_render(b, 4, 10, 5, 10, 1);
	ck_assert_uint_eq(strlen(b), 3);
}
END_TEST

START_TEST(utf8_bars_use_eighths)
{
	char b[64];

	ui_bar_render(b, sizeof(b), 1, 1, 8, 0);
	ck_assert_str_eq(b, "▏");
	ui_bar_render(b, sizeof(b), 2, 12, 16, 0);
	ck_assert_str_eq(b, "█▌");
	ui_bar_render(b, sizeof(b), 3, 0, 0, 0);
	ck_assert_str_eq(b, "░░░");
	ui_bar_render(b, sizeof(b), 2, 16, 16, 0);
	ck_assert_str_eq(b, "██");
}
END_TEST

START_TEST(percentages_round_down_and_admit_ignorance)
{
	char p[8];

	ui_percent_text(p, sizeof(p), 0, 0);
	ck_assert_str_eq(p, "  ?%");
	ui_percent_text(p, sizeof(p), 5, 0);
	ck_assert_str_eq(p, "  ?%");
	ui_percent_text(p, sizeof(p), 0, 10);
	ck_assert_str_eq(p, "  0%");
	ui_percent_text(p, sizeof(p), 1, 3);
	ck_assert_str_eq(p, " 33%");
	ui_percent_text(p, sizeof(p), 999, 1000);
	ck_assert_str_eq(p, " 99%");
	ui_percent_text(p, sizeof(p), UINT64_MAX - 1, UINT64_MAX);
	ck_assert_str_eq(p, " 99%");
	ui_percent_text(p, sizeof(p), 1000, 1000);
	ck_assert_str_eq(p, "100%");
}
END_TEST

static Suite *ui_suite(void)
{
	Suite *s = suite_create("ui");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, utf8_decodes_valid_sequences);
	tcase_add_test(tc, utf8_rejects_malformed_sequences_one_byte_at_a_time);
	tcase_add_test(tc, utf8_encode_round_trips);
	tcase_add_test(tc, control_characters_never_reach_the_terminal);
	tcase_add_test(tc, widths_follow_the_mode);
	tcase_add_test(tc, fit_never_splits_a_character);
	tcase_add_test(tc, wrap_breaks_at_spaces_and_splits_long_words);
	tcase_add_test(tc, wrapped_lines_fit_and_keep_every_word);
	tcase_add_test(tc, ascii_bars_never_claim_more_than_done);
	tcase_add_test(tc, utf8_bars_use_eighths);
	tcase_add_test(tc, percentages_round_down_and_admit_ignorance);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(ui_suite)
