/* Unit tests for src/batch/csvin.c: Microsoft's IMAP migration CSV.
 *
 * Each bad file asserts the exact line, column and text (or its key phrase)
 * the admin will see; each good file asserts the rows that come out (email,
 * user name, password bytes).  The corpus lives in tests/data/csv/. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "batch/csvin.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/secret.h"

#define H "EmailAddress,UserName,Password\n"

static const struct csvin_options defaults = {0};

/* ---------------------------------------------------------------- helpers */

static char *slurp(const char *name, size_t *len)
{
	const char *srcdir = getenv("srcdir");
	char path[4096];
	struct stat st;
	char *data;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/csv/%s", srcdir ? srcdir : MF_SRCDIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	data = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(data);
	*len = fread(data, 1, (size_t)st.st_size, f);
	ck_assert_uint_eq(*len, (size_t)st.st_size);
	fclose(f);
	return data;
}

static void load_mem(const char *data, size_t len, const struct csvin_options *o,
                     struct csvin_result *r)
{
	struct mf_err err;

	ck_assert_int_eq(csvin_load_mem(data, len, o, r, &err), 0);
}

static void load_str(const char *s, const struct csvin_options *o, struct csvin_result *r)
{
	load_mem(s, strlen(s), o, r);
}

/* Loads a corpus file from memory (csvin_load_file is tested on its own,
 * because it adds a warning for files other users can read). */
static void load(const char *name, const struct csvin_options *o, struct csvin_result *r)
{
	size_t len;
	char *data = slurp(name, &len);

	load_mem(data, len, o, r);
	free(data);
}

static char *dump(const struct csvin_result *r)
{
	struct mf_buf b;

	buf_init(&b, 0);
	buf_puts(&b, "");
	for (size_t i = 0; i < r->nproblems; i++) {
		buf_puts(&b, "\n  ");
		csvin_problem_format(&r->problems[i], &b);
	}
	return b.data;
}

/* The problem at line/column whose text contains phrase. */
static const struct csvin_problem *expect(const struct csvin_result *r, unsigned line, unsigned col,
                                          enum csvin_severity sev, const char *phrase)
{
	for (size_t i = 0; i < r->nproblems; i++) {
		const struct csvin_problem *p = &r->problems[i];

		if (p->line == line && p->column == col && p->severity == sev &&
		    strstr(p->text, phrase))
			return p;
	}
	ck_abort_msg("no %s at line %u column %u with \"%s\"; problems:%s",
	             sev == CSVIN_ERROR ? "error" : "warning", line, col, phrase, dump(r));
	return NULL;
}

static void expect_exact(const struct csvin_result *r, unsigned line, unsigned col,
                         const char *text)
{
	const struct csvin_problem *p = expect(r, line, col, CSVIN_ERROR, text);

	ck_assert_str_eq(p->text, text);
}

static void expect_counts(const struct csvin_result *r, size_t nproblems, size_t nerrors)
{
	ck_assert_msg(r->nproblems == nproblems && r->nerrors == nerrors,
	              "expected %zu problems (%zu errors), got %zu (%zu):%s", nproblems, nerrors,
	              r->nproblems, r->nerrors, dump(r));
}

static void expect_row(const struct csvin_result *r, size_t i, unsigned line, const char *email,
                       const char *user, const char *pw, size_t pwlen)
{
	const struct csvin_row *row;

	ck_assert_uint_lt(i, r->nrows);
	row = &r->rows[i];
	ck_assert_uint_eq(row->line, line);
	ck_assert_str_eq(row->email, email);
	ck_assert_str_eq(row->username, user);
	if (!pw) {
		ck_assert_ptr_null(row->password);
		return;
	}
	ck_assert_ptr_nonnull(row->password);
	ck_assert_uint_eq(secret_len(row->password), pwlen);
	ck_assert_mem_eq(secret_str(row->password), pw, pwlen);
}

/* ---------------------------------------------------------------- good files */

START_TEST(lf_and_crlf_files_give_the_same_rows)
{
	static const char *const names[] = {"good_lf.csv", "good_crlf.csv"};

	for (size_t k = 0; k < 2; k++) {
		struct csvin_result r;

		load(names[k], &defaults, &r);
		expect_counts(&r, 0, 0);
		ck_assert_uint_eq(r.nrows, 3);
		ck_assert_int_eq(r.delimiter, ',');
		ck_assert_int_eq(r.has_userroot, 0);
		ck_assert_int_eq(r.has_target_credentials, 0);
		expect_row(&r, 0, 2, "terrya@contoso.edu", "terry.adams", "1091990", 7);
		expect_row(&r, 1, 3, "annb@contoso.edu", "ann.beebe", "2111991", 7);
		expect_row(&r, 2, 4, "paulc@contoso.edu", "paul.cannon", "3281986", 7);
		csvin_result_free(&r);
	}
}
END_TEST

START_TEST(a_utf8_bom_is_skipped)
{
	struct csvin_result r;

	load("good_bom_crlf.csv", &defaults, &r);
	expect_counts(&r, 0, 0);
	ck_assert_uint_eq(r.nrows, 2);
	expect_row(&r, 0, 2, "terrya@contoso.edu", "terry.adams", "1091990", 7);
	expect_row(&r, 1, 3, "\xc3\xbcmit@contoso.edu", "\xc3\xbcmit.kaya", "P\xc3\xa4ss", 5);
	csvin_result_free(&r);
}
END_TEST

START_TEST(quoted_commas_and_quotes_and_unquoted_spaces_in_passwords)
{
	struct csvin_result r;

	load("good_quoted.csv", &defaults, &r);
	/* the only problem: a warning about the spaces, never naming the password */
	expect_counts(&r, 1, 0);
	ck_assert_str_eq(expect(&r, 5, 3, CSVIN_WARNING, "begins or ends with a space")->text,
	                 "Password begins or ends with a space, which is used as part of the "
	                 "password; remove the space if it is not");
	ck_assert_uint_eq(r.nrows, 4);
	expect_row(&r, 0, 2, "terrya@contoso.edu", "contoso\\terry.adams", "pa,ss", 5);
	expect_row(&r, 1, 3, "annb@contoso.edu", "ann.beebe", "say \"hi\", ok", 12);
	expect_row(&r, 2, 4, "paulc@contoso.edu", "paul.cannon", "\"", 1);
	/* EmailAddress and UserName are trimmed, the password is kept byte for byte */
	expect_row(&r, 3, 5, "zoe@contoso.edu", "zoe.a", " spaced pw ", 11);
	csvin_result_free(&r);
}
END_TEST

START_TEST(quoted_newlines_keep_physical_line_numbers)
{
	struct csvin_options o = {.allow_unknown_columns = 1};
	struct csvin_result r;

	load("good_quoted_notes.csv", &o, &r);
	expect_counts(&r, 1, 0);
	expect(&r, 1, 2, CSVIN_WARNING, "Column \"Notes\" is not one mailferry uses");
	ck_assert_uint_eq(r.nrows, 3);
	/* row 1 spans lines 2-3 (CRLF inside quotes), row 2 spans lines 4-6 */
	expect_row(&r, 0, 2, "terrya@contoso.edu", "terry.adams", "a", 1);
	expect_row(&r, 1, 4, "annb@contoso.edu", "ann.beebe", "b", 1);
	expect_row(&r, 2, 7, "paulc@contoso.edu", "paul.cannon", "c", 1);
	csvin_result_free(&r);
}
END_TEST

START_TEST(userroot_and_target_columns_any_case)
{
	struct csvin_result r;

	load("good_userroot_target.csv", &defaults, &r);
	expect_counts(&r, 0, 0);
	ck_assert_int_eq(r.has_userroot, 1);
	ck_assert_int_eq(r.has_target_credentials, 1);
	ck_assert_uint_eq(r.nrows, 2);
	expect_row(&r, 0, 2, "terrya@contoso.edu", "mailadmin", "P@ssw0rd", 8);
	ck_assert_str_eq(r.rows[0].userroot, "/users/terry.adams");
	ck_assert_str_eq(r.rows[0].target_username, "terrya@contoso.onmicrosoft.com");
	ck_assert_str_eq(secret_str(r.rows[0].target_password), "T1");
	/* empty optional fields are NULL */
	ck_assert_ptr_null(r.rows[1].userroot);
	ck_assert_ptr_null(r.rows[1].target_username);
	ck_assert_ptr_null(r.rows[1].target_password);
	csvin_result_free(&r);
}
END_TEST

START_TEST(semicolon_files_are_read_with_a_warning)
{
	struct csvin_result r;

	load("good_semicolon.csv", &defaults, &r);
	expect_counts(&r, 1, 0);
	expect(&r, 1, 0, CSVIN_WARNING, "separated by semicolons");
	ck_assert_int_eq(r.delimiter, ';');
	expect_row(&r, 0, 2, "terrya@contoso.edu", "terry.adams", "pa,ss", 5);
	expect_row(&r, 1, 3, "annb@contoso.edu", "ann.beebe", "x;y", 3);
	csvin_result_free(&r);
}
END_TEST

START_TEST(admin_credential_user_names_pass_through)
{
	struct csvin_result r;

	load("good_admin_formats.csv", &defaults, &r);
	expect_counts(&r, 0, 0);
	expect_row(&r, 0, 2, "terrya@contoso-students.edu",
	           "contoso-students/mailadmin/terry.adams", "P@ssw0rd", 8);
	expect_row(&r, 1, 3, "annb@contoso-students.edu", "ann.beebe*mailadmin", "P@ssw0rd", 8);
	expect_row(&r, 2, 4, "paulc@contoso-students.edu",
	           "#paul.cannon@contoso-students.edu#mailadmin#", "P@ssw0rd", 8);
	csvin_result_free(&r);
}
END_TEST

START_TEST(blank_lines_are_skipped_but_counted_as_lines)
{
	struct csvin_result r;

	/* blank line, header on line 2, blank, row, spaces, ",,", CRLF, last row */
	load("good_blank_lines.csv", &defaults, &r);
	expect_counts(&r, 0, 0);
	ck_assert_uint_eq(r.nrows, 2);
	expect_row(&r, 0, 4, "terrya@contoso.edu", "terry.adams", "a", 1);
	expect_row(&r, 1, 8, "annb@contoso.edu", "ann.beebe", "b", 1);
	csvin_result_free(&r);

	/* old Mac line ends (CR only) are line breaks too */
	load("good_cr_only.csv", &defaults, &r);
	expect_counts(&r, 0, 0);
	expect_row(&r, 1, 3, "annb@contoso.edu", "ann.beebe", "b", 1);
	csvin_result_free(&r);
}
END_TEST

/* ---------------------------------------------------------------- bad files */

START_TEST(empty_files_get_microsofts_text)
{
	static const char *const names[] = {"bad_empty.csv", "bad_blank.csv"};
	struct csvin_result r;

	for (size_t k = 0; k < 2; k++) {
		load(names[k], &defaults, &r);
		expect_counts(&r, 1, 1);
		expect_exact(&r, 0, 0, "Upload file can't be empty");
		csvin_result_free(&r);
	}
	/* a BOM alone is empty too */
	load_str("\xef\xbb\xbf\r\n", &defaults, &r);
	expect_exact(&r, 0, 0, "Upload file can't be empty");
	csvin_result_free(&r);
}
END_TEST

START_TEST(a_header_without_rows_is_an_error)
{
	struct csvin_result r;

	load("bad_header_only.csv", &defaults, &r);
	expect_counts(&r, 1, 1);
	expect(&r, 0, 0, CSVIN_ERROR, "header row but no mailbox rows");
	csvin_result_free(&r);
}
END_TEST

START_TEST(an_unclosed_quote_is_reported_where_its_field_starts)
{
	struct csvin_result r;

	/* line 3's password opens a quote that the file never closes */
	load("bad_unbalanced_quote.csv", &defaults, &r);
	expect_counts(&r, 1, 1);
	expect(&r, 3, 3, CSVIN_ERROR,
	       "Unbalanced quotes: the quoted field that begins here is "
	       "never closed");
	/* reading resumed after line 3: the swallowed rows are still checked */
	ck_assert_uint_eq(r.nrows, 3);
	expect_row(&r, 0, 2, "terrya@contoso.edu", "terry.adams", "a", 1);
	expect_row(&r, 1, 4, "paulc@contoso.edu", "paul.cannon", "c", 1);
	expect_row(&r, 2, 5, "zoe@contoso.edu", "zoe", "d", 1);
	csvin_result_free(&r);
}
END_TEST

START_TEST(a_runaway_quote_names_both_ends)
{
	struct csvin_result r;

	load("bad_unbalanced_quote_mid.csv", &defaults, &r);
	expect_counts(&r, 2, 2);
	expect(&r, 2, 2, CSVIN_ERROR, "runs on to line 4, where a quote is followed by other text");
	expect(&r, 4, 3, CSVIN_ERROR, "A quote inside a quoted field must be doubled");
	ck_assert_uint_eq(r.nrows, 2);
	expect_row(&r, 0, 3, "annb@contoso.edu", "ann.beebe", "b", 1);
	expect_row(&r, 1, 5, "zoe@contoso.edu", "zoe", "d", 1);
	csvin_result_free(&r);
}
END_TEST

START_TEST(stray_quotes_and_spaces_around_quotes)
{
	struct csvin_result r;

	load("bad_quote_in_field.csv", &defaults, &r);
	expect_counts(&r, 3, 3);
	expect(&r, 2, 3, CSVIN_ERROR, "A quote (\") inside a field that does not begin with one");
	expect(&r, 3, 2, CSVIN_ERROR, "There is a space before the opening quote");
	expect(&r, 4, 2, CSVIN_ERROR, "There is a space after the closing quote");
	ck_assert_uint_eq(r.nrows, 1);
	expect_row(&r, 0, 5, "zoe@contoso.edu", "zoe", "d", 1);
	csvin_result_free(&r);
}
END_TEST

START_TEST(email_address_with_a_space_in_the_header)
{
	struct csvin_result r;

	load("bad_header_space.csv", &defaults, &r);
	/* the suggestion replaces Microsoft's "missing" text for the same column */
	expect_counts(&r, 2, 2);
	ck_assert_str_eq(expect(&r, 1, 1, CSVIN_ERROR, "EmailAddress")->text,
	                 "Column \"Email Address\" must be written \"EmailAddress\": column names "
	                 "can't contain spaces");
	expect(&r, 1, 2, CSVIN_ERROR, "Column \"User Name\" must be written \"UserName\"");
	ck_assert_uint_eq(r.nrows, 0);
	csvin_result_free(&r);

	load("bad_header_synonym.csv", &defaults, &r);
	expect_counts(&r, 2, 2);
	expect(&r, 1, 1, CSVIN_ERROR, "Unknown column \"Email\": did you mean \"EmailAddress\"?");
	expect(&r, 1, 2, CSVIN_ERROR, "Unknown column \"Login\": did you mean \"UserName\"?");
	csvin_result_free(&r);
}
END_TEST

START_TEST(a_missing_column_gets_microsofts_text)
{
	struct csvin_options o = {.passwords_optional = 1};
	struct csvin_result r;

	load("bad_missing_column.csv", &defaults, &r);
	expect_counts(&r, 1, 1);
	expect_exact(&r, 1, 0,
	             "Column \"Password\" is missing from the CSV file. The import process can't "
	             "continue because this column is required. Please edit the CSV file and "
	             "re-submit it.");
	ck_assert_uint_eq(r.nrows, 0);
	csvin_result_free(&r);

	/* with admin credentials the Password column may be left out */
	load("bad_missing_column.csv", &o, &r);
	expect_counts(&r, 0, 0);
	expect_row(&r, 0, 2, "terrya@contoso.edu", "terry.adams", NULL, 0);
	csvin_result_free(&r);

	load_str("UserName,Password\nbob,x\n", &defaults, &r);
	expect_exact(&r, 1, 0,
	             "Column \"EmailAddress\" is missing from the CSV file. The import process "
	             "can't continue because this column is required. Please edit the CSV file "
	             "and re-submit it.");
	csvin_result_free(&r);
}
END_TEST

START_TEST(unknown_columns_fail_unless_allowed)
{
	struct csvin_options o = {.allow_unknown_columns = 1};
	struct csvin_result r;

	load("bad_unknown_column.csv", &defaults, &r);
	expect_counts(&r, 1, 1);
	expect(&r, 1, 4, CSVIN_ERROR, "Unknown column \"Department\"");
	ck_assert_uint_eq(r.nrows, 0);
	csvin_result_free(&r);

	load("bad_unknown_column.csv", &o, &r);
	expect_counts(&r, 1, 0);
	expect(&r, 1, 4, CSVIN_WARNING, "Column \"Department\" is not one mailferry uses");
	expect_row(&r, 0, 2, "terrya@contoso.edu", "terry.adams", "a", 1);
	csvin_result_free(&r);

	load("bad_duplicate_header.csv", &defaults, &r);
	expect_counts(&r, 1, 1);
	expect(&r, 1, 4, CSVIN_ERROR, "Column \"UserName\" appears twice (columns 2 and 4)");
	csvin_result_free(&r);
}
END_TEST

START_TEST(a_missing_header_row_is_named_as_such)
{
	struct csvin_result r;

	load("bad_no_header.csv", &defaults, &r);
	expect_counts(&r, 1, 1);
	expect(&r, 1, 0, CSVIN_ERROR, "the header row is missing");
	ck_assert_uint_eq(r.nrows, 0);
	csvin_result_free(&r);

	/* no '@', but no known column name either: never quoted (may be a password) */
	load_str("bob,hunter2-canary\n", &defaults, &r);
	expect_counts(&r, 1, 1);
	expect(&r, 1, 0, CSVIN_ERROR, "header row is missing or misspelt");
	ck_assert_ptr_null(strstr(r.problems[0].text, "canary"));
	csvin_result_free(&r);
}
END_TEST

START_TEST(wrong_column_count_gets_microsofts_text)
{
	struct csvin_result r;

	load("bad_column_count_row3.csv", &defaults, &r);
	expect_counts(&r, 2, 2);
	expect_exact(&r, 4, 0,
	             "Row 3 has the wrong number of columns. Expected number: 3. Actual number: "
	             "4. Please edit this row and re-submit the file.");
	expect_exact(&r, 5, 0,
	             "Row 4 has the wrong number of columns. Expected number: 3. Actual number: "
	             "2. Please edit this row and re-submit the file.");
	ck_assert_uint_eq(r.nrows, 2);
	csvin_result_free(&r);

	/* X counts rows, not lines: blank lines and a two-line row do not shift it */
	load_str(H "\n\"a@b.cd\",u,\"p\nq\"\n\nc@d.ef,u\n", &defaults, &r);
	expect(&r, 6, 0, CSVIN_ERROR, "Row 2 has the wrong number of columns");
	csvin_result_free(&r);
}
END_TEST

START_TEST(duplicates_name_the_first_line)
{
	struct csvin_result r;

	load("bad_duplicates.csv", &defaults, &r);
	expect_counts(&r, 2, 2);
	ck_assert_str_eq(
	        expect(&r, 4, 1, CSVIN_ERROR, "already on line 2")->text,
	        "EmailAddress \"TerryA@Contoso.EDU\" is a duplicate: it is already on line "
	        "2 (addresses are compared ignoring case)");
	expect(&r, 5, 1, CSVIN_ERROR, "already on line 3");
	ck_assert_uint_eq(r.nrows, 2);
	csvin_result_free(&r);
}
END_TEST

START_TEST(empty_passwords_and_user_names)
{
	struct csvin_options o = {.passwords_optional = 1};
	struct csvin_result r;

	load("bad_empty_password.csv", &defaults, &r);
	expect_counts(&r, 3, 3);
	expect(&r, 2, 3, CSVIN_ERROR, "Password is empty");
	expect(&r, 4, 2, CSVIN_ERROR, "UserName is empty");
	expect(&r, 4, 3, CSVIN_ERROR, "Password is empty");
	ck_assert_uint_eq(r.nrows, 1);
	csvin_result_free(&r);

	load("bad_empty_password.csv", &o, &r);
	expect_counts(&r, 1, 1);
	expect(&r, 4, 2, CSVIN_ERROR, "UserName is empty");
	ck_assert_uint_eq(r.nrows, 2);
	expect_row(&r, 0, 2, "terrya@contoso.edu", "terry.adams", NULL, 0);
	csvin_result_free(&r);
}
END_TEST

START_TEST(address_syntax)
{
	struct csvin_result r;

	load("bad_addresses.csv", &defaults, &r);
	expect_counts(&r, 8, 8);
	expect(&r, 2, 1, CSVIN_ERROR, "it has no @");
	expect(&r, 3, 1, CSVIN_ERROR, "it has more than one @");
	expect(&r, 4, 1, CSVIN_ERROR, "there is nothing before the @");
	expect(&r, 5, 1, CSVIN_ERROR, "the domain after the @ has no dot");
	expect(&r, 6, 1, CSVIN_ERROR, "it contains a space");
	expect(&r, 7, 1, CSVIN_ERROR, "the domain after the @ has an empty part");
	expect(&r, 8, 1, CSVIN_ERROR, "EmailAddress is empty");
	expect(&r, 9, 1, CSVIN_ERROR, "longer than 254 characters");
	ck_assert_uint_eq(r.nrows, 0);
	csvin_result_free(&r);

	/* 254 characters is still fine */
	{
		char buf[400];

		snprintf(buf, sizeof(buf), H "%0242d@contoso.edu,u,p\n", 0);
		load_str(buf, &defaults, &r);
		expect_counts(&r, 0, 0);
		ck_assert_uint_eq(strlen(r.rows[0].email), 254);
		csvin_result_free(&r);
	}
}
END_TEST

START_TEST(windows_1252_bytes_are_pointed_at)
{
	struct csvin_options o = {.allow_unknown_columns = 1};
	struct csvin_result r;

	load("bad_latin1.csv", &defaults, &r);
	expect_counts(&r, 2, 2);
	ck_assert_str_eq(expect(&r, 3, 2, CSVIN_ERROR, "Windows-1252")->text,
	                 "Bytes that are not UTF-8: the file is probably saved as Windows-1252 / "
	                 "Latin-1 (Excel's plain \"CSV (Comma delimited)\"). Save it as \"CSV "
	                 "UTF-8 (Comma delimited)\" and load it again");
	expect(&r, 4, 2, CSVIN_ERROR, "not UTF-8 (as on line 3");
	ck_assert_uint_eq(r.nrows, 1);
	csvin_result_free(&r);

	/* inside a quoted field, the physical line of the bad byte itself */
	load_str("EmailAddress,UserName,Password,Notes\na@b.cd,u,p,\"line one\nline \xff two\"\n",
	         &o, &r);
	expect(&r, 3, 4, CSVIN_ERROR, "not UTF-8");
	csvin_result_free(&r);

	/* overlong encodings and surrogates are not UTF-8 either */
	load_str(H "a@b.cd,\xc0\xaf,p\nb@b.cd,\xed\xa0\x80,p\n", &defaults, &r);
	expect(&r, 2, 2, CSVIN_ERROR, "not UTF-8");
	expect(&r, 3, 2, CSVIN_ERROR, "not UTF-8");
	csvin_result_free(&r);
}
END_TEST

START_TEST(nul_bytes_utf16_and_tabs)
{
	struct csvin_result r;

	load("bad_nul.csv", &defaults, &r);
	expect_counts(&r, 1, 1);
	expect(&r, 3, 2, CSVIN_ERROR, "A NUL byte");
	csvin_result_free(&r);

	load("bad_utf16.csv", &defaults, &r);
	expect_counts(&r, 1, 1);
	expect(&r, 0, 0, CSVIN_ERROR, "saved as UTF-16");
	csvin_result_free(&r);

	load("bad_tabs.csv", &defaults, &r);
	expect_counts(&r, 1, 1);
	expect(&r, 1, 0, CSVIN_ERROR, "separated by tabs");
	csvin_result_free(&r);
}
END_TEST

START_TEST(a_line_break_in_a_password_is_refused)
{
	struct csvin_result r;

	load("bad_password_newline.csv", &defaults, &r);
	expect_counts(&r, 1, 1);
	expect(&r, 2, 3, CSVIN_ERROR, "Password contains a line break");
	expect_row(&r, 0, 4, "annb@contoso.edu", "ann.beebe", "b", 1);
	csvin_result_free(&r);
}
END_TEST

/* ---------------------------------------------------------------- limits */

static char *rows_file(size_t nrows, const char *password, size_t *len)
{
	struct mf_buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(buf_puts(&b, H), 0);
	for (size_t i = 0; i < nrows; i++)
		ck_assert_int_eq(
		        buf_printf(&b, "user%zu@contoso.edu,user%zu,%s\r\n", i, i, password), 0);
	*len = b.len;
	return b.data;
}

START_TEST(fifty_thousand_rows_and_one_more)
{
	struct csvin_result r;
	size_t len;
	char *data = rows_file(50001, "pw", &len);

	load_mem(data, len, &defaults, &r);
	expect_counts(&r, 1, 1);
	/* reported on the line of the first row past the limit */
	expect_exact(&r, 50002, 0,
	             "The CSV file contains more than 50,000 rows. Please divide the file into "
	             "two or more files and submit them separately.");
	ck_assert_uint_eq(r.nrows, 50000);
	csvin_result_free(&r);

	/* exactly 50,000 is fine: cut the last row off */
	len -= strlen("user50000@contoso.edu,user50000,pw\r\n");
	load_mem(data, len, &defaults, &r);
	expect_counts(&r, 0, 0);
	ck_assert_uint_eq(r.nrows, 50000);
	expect_row(&r, 49999, 50001, "user49999@contoso.edu", "user49999", "pw", 2);
	csvin_result_free(&r);
	free(data);
}
END_TEST

START_TEST(smaller_limits_from_the_options)
{
	struct csvin_options o = {.max_rows = 2};
	struct csvin_result r;

	load_str(H "a@b.cd,a,p\nb@b.cd,b,p\n\nc@b.cd,c,p\nd@b.cd,,p\n", &o, &r);
	/* the row past the limit is still checked */
	expect_counts(&r, 2, 2);
	expect(&r, 5, 0, CSVIN_ERROR, "more than 2 rows");
	expect(&r, 6, 2, CSVIN_ERROR, "UserName is empty");
	ck_assert_uint_eq(r.nrows, 2);
	csvin_result_free(&r);

	o.max_rows = 0;
	o.max_bytes = 40;
	load_str(H "a@b.cd,a,p\n", &o, &r);
	expect_counts(&r, 1, 1);
	expect(&r, 0, 0, CSVIN_ERROR, "The file is larger than 40 bytes");
	csvin_result_free(&r);
}
END_TEST

START_TEST(problems_are_capped_with_a_summary)
{
	struct csvin_result r;
	size_t len;
	char *data = rows_file(1500, "", &len);

	load_mem(data, len, &defaults, &r);
	ck_assert_uint_eq(r.nerrors, 1500);
	ck_assert_uint_eq(r.nproblems, CSVIN_MAX_PROBLEMS + 1);
	/* the first ones listed, in line order */
	expect(&r, 2, 3, CSVIN_ERROR, "Password is empty");
	for (size_t i = 1; i < CSVIN_MAX_PROBLEMS; i++)
		ck_assert_uint_lt(r.problems[i - 1].line, r.problems[i].line);
	ck_assert_uint_eq(r.problems[CSVIN_MAX_PROBLEMS].line, 0);
	ck_assert_int_eq(r.problems[CSVIN_MAX_PROBLEMS].severity, CSVIN_ERROR);
	ck_assert_str_eq(r.problems[CSVIN_MAX_PROBLEMS].text, "\xe2\x80\xa6 and 500 more problems");
	csvin_result_free(&r);
	free(data);

	data = rows_file(CSVIN_MAX_PROBLEMS + 1, "", &len);
	load_mem(data, len, &defaults, &r);
	ck_assert_uint_eq(r.nerrors, CSVIN_MAX_PROBLEMS + 1);
	ck_assert_str_eq(r.problems[CSVIN_MAX_PROBLEMS].text, "\xe2\x80\xa6 and 1 more problem");
	csvin_result_free(&r);
	free(data);
}
END_TEST

/* ---------------------------------------------------------------- secrets */

START_TEST(no_problem_text_ever_shows_a_password)
{
	static const char *const files[] = {
	        /* columns in the wrong order: passwords sit under EmailAddress */
	        H "canary-pw-1,alice,alice@contoso.edu\n"
	          "P@ssw0rd-canary,bob,bob@contoso.edu\n"
	          "canary@pw.x,bob,bob@contoso.edu\n",
	        /* a password that is a valid address, then the same address (of
		 * another row, and of its own row) as a duplicate */
	        H "a@contoso.edu,a,x@canary.pw\nx@canary.pw,b,q\nx@canary.pw,c,q\n"
	          "y@canary.pw,d,y@canary.pw\ny@canary.pw,e,y@canary.pw\n"
	          /* an address that contains its own row's password */
	          "canary@x.yz,f,q\ncanary@x.yz,g,canary\n",
	        /* quote trouble inside passwords */
	        H "a@b.cd,a,canary\"pw\na@b.cd,a,\"canary\"pw\"\n",
	        /* passwords with spaces and line breaks, shifted rows */
	        H "a@b.cd,a, canary \nb@b.cd,b,\"canary\nline\"\nc@b.cd,canary-too\n",
	};
	struct csvin_result r;

	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		load_str(files[k], &defaults, &r);
		ck_assert_uint_gt(r.nproblems, 0);
		for (size_t i = 0; i < r.nproblems; i++)
			ck_assert_msg(!strstr(r.problems[i].text, "canary"), "file %zu leaks: %s",
			              k, r.problems[i].text);
		csvin_result_free(&r);
	}
}
END_TEST

/* ---------------------------------------------------------------- files */

static char *temp_csv(char *dir, const char *name, const char *content, mode_t mode)
{
	char *path;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = fs_join(dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

START_TEST(load_file_reads_and_warns_about_readable_files)
{
	char dir[] = "/tmp/mf-csv-XXXXXX";
	char *path = temp_csv(dir, "list.csv", H "a@b.cd,a,secret1\n", 0600);
	struct csvin_result r;
	struct mf_err err;

	ck_assert_int_eq(csvin_load_file(path, NULL, &r, &err), 0);
	expect_counts(&r, 0, 0);
	expect_row(&r, 0, 2, "a@b.cd", "a", "secret1", 7);
	csvin_result_free(&r);

	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(csvin_load_file(path, NULL, &r, &err), 0);
	expect_counts(&r, 1, 0);
	expect(&r, 0, 0, CSVIN_WARNING, "chmod 600");
	csvin_result_free(&r);
	free(path);
	fs_remove_tree(dir);
}
END_TEST

START_TEST(load_file_refuses_a_big_file_without_reading_it)
{
	char dir[] = "/tmp/mf-csv-XXXXXX";
	char *path = temp_csv(dir, "big.csv", "", 0600);
	struct csvin_result r;
	struct mf_err err;

	ck_assert_int_eq(truncate(path, CSVIN_MAX_BYTES + 1), 0); /* sparse */
	ck_assert_int_eq(csvin_load_file(path, NULL, &r, &err), 0);
	expect_counts(&r, 1, 1);
	ck_assert_str_eq(expect(&r, 0, 0, CSVIN_ERROR, "larger than 10 MB")->text,
	                 "The file is larger than 10 MB; Microsoft accepts at most 10 MB per file. "
	                 "Please divide it into two or more files and submit them separately.");
	csvin_result_free(&r);

	/* exactly the limit is read (and is all NUL bytes here) */
	ck_assert_int_eq(truncate(path, 16), 0);
	ck_assert_int_eq(csvin_load_file(path, NULL, &r, &err), 0);
	expect(&r, 1, 1, CSVIN_ERROR, "A NUL byte");
	csvin_result_free(&r);
	free(path);
	fs_remove_tree(dir);
}
END_TEST

START_TEST(load_file_errors_are_errors)
{
	struct csvin_result r;
	struct mf_err err;

	ck_assert_int_eq(csvin_load_file("/nonexistent/list.csv", NULL, &r, &err), -1);
	ck_assert_int_eq(err.code, MF_E_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/list.csv"));
	csvin_result_free(&r);
	ck_assert_int_eq(csvin_load_file("/tmp", NULL, &r, &err), -1);
	ck_assert_int_eq(err.code, MF_E_IO);
	csvin_result_free(&r);
	csvin_result_free(&r); /* twice is harmless */
}
END_TEST

/* ---------------------------------------------------------------- memory */

START_TEST(every_failed_allocation_fails_cleanly)
{
	static const char data[] = "\xef\xbb\xbf"
	                           "EmailAddress,UserName,Password,UserRoot,TargetPassword\r\n"
	                           "terrya@contoso.edu,terry.adams,\"pa,ss\",/u/t,tp\r\n"
	                           "annb@contoso.edu,ann.beebe, b ,,\r\n"
	                           "annb@contoso.edu,ann.beebe,,,\r\n";
	struct csvin_result r;
	struct mf_err err;
	char nbuf[16];
	int rc = -1;
	unsigned n;

	for (n = 1; n < 10000 && rc != 0; n++) {
		snprintf(nbuf, sizeof(nbuf), "%u", n);
		setenv("MAILFERRY_TEST_FAIL_ALLOC", nbuf, 1);
		mf_mem_init_hooks();
		memset(&err, 0, sizeof(err));
		rc = csvin_load_mem(data, sizeof(data) - 1, NULL, &r, &err);
		if (rc) {
			ck_assert_int_eq(rc, -1);
			ck_assert_int_eq(err.code, MF_E_NOMEM);
		}
		csvin_result_free(&r);
	}
	unsetenv("MAILFERRY_TEST_FAIL_ALLOC");
	mf_mem_init_hooks();
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(n, 10); /* the walk did cover a real number of allocations */

	/* and the result is then complete */
	load_mem(data, sizeof(data) - 1, NULL, &r);
	expect_counts(&r, 3, 2);
	ck_assert_uint_eq(r.nrows, 2);
	csvin_result_free(&r);
}
END_TEST

/* ---------------------------------------------------------------- helpers of the API */

START_TEST(domains_are_distinct_lower_case_and_sorted)
{
	struct csvin_result r;
	char **d;
	size_t n;

	load_str(H "a@Fabrikam.COM,a,p\nb@contoso.com,b,p\nc@CONTOSO.com,c,p\nd@fabrikam.com,d,p\n",
	         &defaults, &r);
	d = csvin_domains(&r, &n);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(d[0], "contoso.com");
	ck_assert_str_eq(d[1], "fabrikam.com");
	csvin_strings_free(d, n);
	csvin_result_free(&r);

	d = csvin_domains(&r, &n); /* no rows: empty, not NULL */
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(n, 0);
	csvin_strings_free(d, n);
}
END_TEST

START_TEST(report_fields_are_quoted_and_formulas_neutralised)
{
	struct mf_buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(csvin_put_field(&b, "plain", 0), 0);
	ck_assert_int_eq(csvin_put_field(&b, "say \"hi\", ok", 0), 0);
	ck_assert_int_eq(csvin_put_field(&b, "=HYPERLINK(\"http://x\")", 0), 0);
	ck_assert_int_eq(csvin_put_field(&b, "+1", 0), 0);
	ck_assert_int_eq(csvin_put_field(&b, "-2", 0), 0);
	ck_assert_int_eq(csvin_put_field(&b, "@SUM(A1)", 0), 0);
	ck_assert_int_eq(csvin_put_field(&b, "\tx", 0), 0);
	ck_assert_int_eq(csvin_put_field(&b, "\rx", 0), 0);
	ck_assert_int_eq(csvin_put_field(&b, "a=b", 0), 0);
	ck_assert_int_eq(csvin_put_field(&b, NULL, 1), 0);
	ck_assert_str_eq(b.data,
	                 "\"plain\",\"say \"\"hi\"\", ok\",\"'=HYPERLINK(\"\"http://x\"\")\","
	                 "\"'+1\",\"'-2\",\"'@SUM(A1)\",\"'\tx\",\"'\rx\",\"a=b\",\"\"\r\n");

	/* what we write reads back through our own reader */
	{
		struct csvin_result r;

		buf_reset(&b);
		csvin_put_field(&b, "EmailAddress", 0);
		csvin_put_field(&b, "UserName", 0);
		csvin_put_field(&b, "Password", 1);
		csvin_put_field(&b, "a@b.cd", 0);
		csvin_put_field(&b, "x", 0);
		csvin_put_field(&b, "p\"w,", 1);
		load_str(b.data, &defaults, &r);
		expect_counts(&r, 0, 0);
		expect_row(&r, 0, 2, "a@b.cd", "x", "p\"w,", 4);
		csvin_result_free(&r);
	}
	buf_free(&b);
}
END_TEST

START_TEST(problems_format_with_line_and_column)
{
	char text[] = "UserName is empty";
	struct csvin_problem p = {4, 2, CSVIN_ERROR, text};
	struct mf_buf b;

	buf_init(&b, 0);
	csvin_problem_format(&p, &b);
	ck_assert_str_eq(b.data, "line 4, column 2: UserName is empty");
	buf_reset(&b);
	p.column = 0;
	csvin_problem_format(&p, &b);
	ck_assert_str_eq(b.data, "line 4: UserName is empty");
	buf_reset(&b);
	p.line = 0;
	csvin_problem_format(&p, &b);
	ck_assert_str_eq(b.data, "UserName is empty");
	buf_free(&b);
}
END_TEST

static Suite *csvin_suite(void)
{
	Suite *s = suite_create("csvin");
	TCase *good = tcase_create("good files");
	TCase *bad = tcase_create("bad files");
	TCase *lim = tcase_create("limits");
	TCase *api = tcase_create("api");

	tcase_add_test(good, lf_and_crlf_files_give_the_same_rows);
	tcase_add_test(good, a_utf8_bom_is_skipped);
	tcase_add_test(good, quoted_commas_and_quotes_and_unquoted_spaces_in_passwords);
	tcase_add_test(good, quoted_newlines_keep_physical_line_numbers);
	tcase_add_test(good, userroot_and_target_columns_any_case);
	tcase_add_test(good, semicolon_files_are_read_with_a_warning);
	tcase_add_test(good, admin_credential_user_names_pass_through);
	tcase_add_test(good, blank_lines_are_skipped_but_counted_as_lines);
	suite_add_tcase(s, good);

	tcase_add_test(bad, empty_files_get_microsofts_text);
	tcase_add_test(bad, a_header_without_rows_is_an_error);
	tcase_add_test(bad, an_unclosed_quote_is_reported_where_its_field_starts);
	tcase_add_test(bad, a_runaway_quote_names_both_ends);
	tcase_add_test(bad, stray_quotes_and_spaces_around_quotes);
	tcase_add_test(bad, email_address_with_a_space_in_the_header);
	tcase_add_test(bad, a_missing_column_gets_microsofts_text);
	tcase_add_test(bad, unknown_columns_fail_unless_allowed);
	tcase_add_test(bad, a_missing_header_row_is_named_as_such);
	tcase_add_test(bad, wrong_column_count_gets_microsofts_text);
	tcase_add_test(bad, duplicates_name_the_first_line);
	tcase_add_test(bad, empty_passwords_and_user_names);
	tcase_add_test(bad, address_syntax);
	tcase_add_test(bad, windows_1252_bytes_are_pointed_at);
	tcase_add_test(bad, nul_bytes_utf16_and_tabs);
	tcase_add_test(bad, a_line_break_in_a_password_is_refused);
	tcase_add_test(bad, no_problem_text_ever_shows_a_password);
	suite_add_tcase(s, bad);

	tcase_add_test(lim, fifty_thousand_rows_and_one_more);
	tcase_add_test(lim, smaller_limits_from_the_options);
	tcase_add_test(lim, problems_are_capped_with_a_summary);
	tcase_add_test(lim, every_failed_allocation_fails_cleanly);
	suite_add_tcase(s, lim);

	tcase_add_test(api, load_file_reads_and_warns_about_readable_files);
	tcase_add_test(api, load_file_refuses_a_big_file_without_reading_it);
	tcase_add_test(api, load_file_errors_are_errors);
	tcase_add_test(api, domains_are_distinct_lower_case_and_sorted);
	tcase_add_test(api, report_fields_are_quoted_and_formulas_neutralised);
	tcase_add_test(api, problems_format_with_line_and_column);
	suite_add_tcase(s, api);
	return s;
}

UNIT_MAIN(csvin_suite)
