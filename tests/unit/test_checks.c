/* Unit tests for the pure logic of src/checks: message templates, server
 * identities and admin forms, libcurl STARTTLS CVE ranges. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/facts.h"
#include "checks/template.h"
#include "unit.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

static const char good_template[] =
        "# the notice\n"
        "From: IT department <it@contoso.com>\n"
        "Subject: Your mailbox {email} moves\n"
        "X-Batch: {batch}\n"
        "\n"
        "Hello {username} ({local} at {domain}),\n"
        "the new server is {target}, the old one {source}; {{sent}} on {date}.\n";

static const struct tmpl_vars vars = {.email = "alice@contoso.com",
                                      .username = "alice",
                                      .batch = "b1",
                                      .source = "imap.old.example",
                                      .target = "outlook.office365.com"};

/* 2026-11-22T04:40:31Z, a Sunday */
#define NOW ((time_t)1795322431)

static char *render(const char *text, const struct tmpl_vars *v, struct mf_err *err)
{
	struct tmpl *t = NULL;
	struct mf_buf out;

	buf_init(&out, 0);
	if (tmpl_parse(text, strlen(text), &t, err) || tmpl_render(t, v, NOW, &out, err)) {
		tmpl_free(t);
		buf_free(&out);
		return NULL;
	}
	tmpl_free(t);
	return buf_steal(&out);
}

START_TEST(template_fills_every_placeholder)
{
	struct mf_err err;
	char *m = render(good_template, &vars, &err);

	ck_assert_msg(m != NULL, "%s", err.msg);
	ck_assert_ptr_nonnull(strstr(m, "Subject: Your mailbox alice@contoso.com moves\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "X-Batch: b1\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\n\r\nHello alice (alice at contoso.com),\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "the new server is outlook.office365.com, the old one "
	                                "imap.old.example; {sent} on 2026-11-22.\r\n"));
	ck_assert_ptr_null(strstr(m, "# the notice")); /* comments are not sent */
	free(m);
}
END_TEST

START_TEST(template_generates_date_message_id_to_and_mime)
{
	struct mf_err err;
	char *m = render(good_template, &vars, &err);

	ck_assert_msg(m != NULL, "%s", err.msg);
	ck_assert_ptr_nonnull(strstr(m, "Date: Sun, 22 Nov 2026 04:40:31 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Message-ID: <1795322431."));
	ck_assert_ptr_nonnull(strstr(m, "@contoso.com>\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "To: <alice@contoso.com>\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Content-Type: text/plain; charset=us-ascii\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Content-Transfer-Encoding: 7bit\r\n"));
	/* every line ends in CRLF: no bare LF */
	for (const char *p = m; (p = strchr(p, '\n')); p++)
		ck_assert_int_eq(p[-1], '\r');
	free(m);
}
END_TEST

START_TEST(template_keeps_its_own_to_and_content_type)
{
	static const char text[] =
	        "From: a@b.c\r\nTo: All staff <staff@contoso.com>\r\n"
	        "Subject: s\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nx\r\n";
	struct mf_err err;
	char *m = render(text, &vars, &err);

	ck_assert_msg(m != NULL, "%s", err.msg);
	ck_assert_ptr_nonnull(strstr(m, "To: All staff <staff@contoso.com>\r\n"));
	ck_assert_ptr_null(strstr(m, "To: <alice@contoso.com>"));
	ck_assert_ptr_null(strstr(m, "MIME-Version"));
	free(m);
}
END_TEST

START_TEST(template_encodes_a_non_ascii_subject_and_declares_utf8)
{
	static const char text[] =
	        "From: a@b.c\nSubject: Ihr Postfach zieht um \xe2\x80\x93 "
	        "\xc3\xa4\xc3\xb6\xc3\xbc \xc3\xa4\xc3\xb6\xc3\xbc \xc3\xa4\xc3\xb6\xc3\xbc "
	        "\xc3\xa4\xc3\xb6\xc3\xbc \xc3\xa4\xc3\xb6\xc3\xbc\n\nGr\xc3\xbc\xc3\x9f"
	        "e\n";
	struct mf_err err;
	char *m = render(text, &vars, &err), *subj, *end;

	ck_assert_msg(m != NULL, "%s", err.msg);
	subj = strstr(m, "Subject: =?UTF-8?B?");
	ck_assert_ptr_nonnull(subj);
	end = strstr(subj, "\r\nTo:");
	ck_assert_ptr_nonnull(end);
	/* folded into encoded-words of at most 75 characters */
	ck_assert_ptr_nonnull(strstr(subj, "?=\r\n =?UTF-8?B?"));
	for (const char *w = strstr(subj, "=?UTF-8"); w && w < end; w = strstr(w + 1, "=?UTF-8"))
		ck_assert_int_le(strstr(w, "?=") + 2 - w, 75);
	ck_assert_ptr_nonnull(strstr(m, "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Gr\xc3\xbc\xc3\x9f"
	                                "e\r\n"));
	free(m);
}
END_TEST

static void expect_error(const char *text, const char *words)
{
	struct tmpl *t = NULL;
	struct mf_err err;

	ck_assert_int_eq(tmpl_parse(text, strlen(text), &t, &err), -1);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(err.code, MF_E_DATA);
	ck_assert_msg(strstr(err.msg, words) != NULL, "'%s' does not say '%s'", err.msg, words);
}

START_TEST(template_errors_name_their_line)
{
	expect_error("From: a@b.c\nSubject: s\n\nHello {nmae}\n",
	             "line 4: unknown placeholder {nmae}");
	expect_error("From: a@b.c\nSubject: {email\n\nx\n", "line 2: a '{' is not closed");
	expect_error("From: a@b.c\n\nx\n", "no Subject header");
	expect_error("Subject: s\n\nx\n", "no From header");
	expect_error("From: a@b.c\nSubject: s\nnot a header\n\nx\n", "line 3: not a header line");
	expect_error("From: a@b.c\nSubject: s\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nx\n",
	             "line 3: Date is written by mailferry");
	expect_error("From: J\xc3\xb6rg <j@b.c>\nSubject: s\n\nx\n",
	             "line 1: the From header holds "
	             "characters outside ASCII");
	expect_error("", "the template is empty");
	{
		static const char nul[] = "From: a@b.c\nSubject: s\n\nnul\0byte\n";
		struct tmpl *t = NULL;
		struct mf_err err;

		ck_assert_int_eq(tmpl_parse(nul, sizeof(nul) - 1, &t, &err), -1);
		ck_assert_ptr_nonnull(strstr(err.msg, "NUL byte"));
	}
}
END_TEST

START_TEST(template_refuses_long_lines)
{
	char *text = malloc(2000);

	strcpy(text, "From: a@b.c\nSubject: s\n\n");
	memset(text + strlen(text), 'x', 1000);
	text[24 + 1000] = 0;
	expect_error(text, "line 4: longer than 998 bytes");
	free(text);
}
END_TEST

START_TEST(template_refuses_a_rendered_header_outside_ascii)
{
	struct tmpl_vars v = vars;
	struct tmpl *t = NULL;
	struct mf_buf out;
	struct mf_err err;
	static const char text[] = "From: {username} <it@contoso.com>\nSubject: s\n\nx\n";

	v.username = "J\xc3\xb6rg";
	ck_assert_int_eq(tmpl_parse(text, strlen(text), &t, &err), 0);
	buf_init(&out, 0);
	ck_assert_int_eq(tmpl_render(t, &v, NOW, &out, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "line 1: the From header would hold"));
	buf_free(&out);
	tmpl_free(t);
}
END_TEST

START_TEST(template_survives_every_allocation_failure)
{
	unsigned long n;
	int ok = 0;

	for (n = 1; n < 400 && !ok; n++) {
		char env[24];
		struct mf_err err;
		char *m;

		snprintf(env, sizeof(env), "%lu", n);
		setenv("MAILFERRY_TEST_FAIL_ALLOC", env, 1);
		mf_mem_init_hooks();
		m = render(good_template, &vars, &err);
		unsetenv("MAILFERRY_TEST_FAIL_ALLOC");
		mf_mem_init_hooks();
		if (m) {
			ok = 1;
			ck_assert_ptr_nonnull(strstr(m, "Hello alice"));
			free(m);
		} else {
			ck_assert_msg(err.code == MF_E_NOMEM, "allocation %lu: %s", n, err.msg);
		}
	}
	ck_assert_msg(ok, "never succeeded");
}
END_TEST

START_TEST(rfc5322_date_is_in_the_c_locale)
{
	char d[40];

	tmpl_rfc5322_date(d, sizeof(d), (time_t)0);
	ck_assert_str_eq(d, "Thu, 01 Jan 1970 00:00:00 +0000");
}
END_TEST

START_TEST(servers_are_identified_from_id_then_greeting)
{
	const struct server_identity *s;

	s = facts_identify_server("* OK [CAPABILITY IMAP4rev1] Dovecot (Debian) ready.", NULL,
	                          NULL);
	ck_assert_int_eq(s->kind, SRV_DOVECOT);
	ck_assert(facts_form_fits(s, MF_ADMIN_DOVECOT));
	ck_assert(facts_form_fits(s, MF_ADMIN_AUTHZID));
	ck_assert(!facts_form_fits(s, MF_ADMIN_EXCHANGE));
	/* a customised greeting, but ID says who it is */
	s = facts_identify_server("* OK mail.contoso.com ready",
	                          "Microsoft.Exchange.Imap4.Imap4Server", NULL);
	ck_assert_int_eq(s->kind, SRV_EXCHANGE);
	ck_assert(facts_form_fits(s, MF_ADMIN_EXCHANGE));
	s = facts_identify_server("* OK server ready", "Cyrus IMAP", "Project Cyrus");
	ck_assert_int_eq(s->kind, SRV_CYRUS);
	ck_assert(facts_form_fits(s, MF_ADMIN_AUTHZID));
	ck_assert(!facts_form_fits(s, MF_ADMIN_DOVECOT));
	s = facts_identify_server(
	        "* OK [CAPABILITY IMAP4rev1] Courier-IMAP ready. Copyright 1998-2018", NULL, NULL);
	ck_assert_int_eq(s->kind, SRV_COURIER);
	ck_assert(facts_form_fits(s, MF_ADMIN_USERROOT));
	s = facts_identify_server("* OK IMAP4rev1 Zimbra 9.0.0_GA_4546 server ready", NULL, NULL);
	ck_assert_int_eq(s->kind, SRV_ZIMBRA);
	s = facts_identify_server("* OK Gimap ready for requests from 192.0.2.1", NULL, NULL);
	ck_assert_int_eq(s->kind, SRV_GMAIL);
	ck_assert_uint_eq(s->forms, 0);
	s = facts_identify_server("* OK IMAP server ready", NULL, NULL);
	ck_assert_int_eq(s->kind, SRV_UNKNOWN);
	ck_assert_str_eq(s->name, "");
	s = facts_identify_server(NULL, NULL, NULL);
	ck_assert_int_eq(s->kind, SRV_UNKNOWN);
}
END_TEST

#define V(a, b, c) ((unsigned)((a) << 16 | (b) << 8 | (c)))

START_TEST(curl_starttls_ranges)
{
	const struct curl_cve *c[8];

	/* Debian 12's 7.88.1: inside CVE-2026-8286 (7.30.0 - 8.14.1), past the 2021 pair */
	ck_assert_uint_eq(facts_curl_starttls_cves(V(7, 88, 1), c, 8), 1);
	ck_assert_str_eq(c[0]->id, "CVE-2026-8286");
	/* 7.78.0 is in all three */
	ck_assert_uint_eq(facts_curl_starttls_cves(V(7, 78, 0), c, 8), 3);
	/* 7.79.0 fixed the 2021 pair */
	ck_assert_uint_eq(facts_curl_starttls_cves(V(7, 79, 0), c, 8), 1);
	/* before STARTTLS support of these flaws */
	ck_assert_uint_eq(facts_curl_starttls_cves(V(7, 19, 7), c, 8), 0);
	/* the fixed releases and the gaps between the ranges */
	ck_assert_uint_eq(facts_curl_starttls_cves(V(8, 14, 2), c, 8), 0);
	ck_assert_uint_eq(facts_curl_starttls_cves(V(8, 15, 0), c, 8), 1);
	ck_assert_uint_eq(facts_curl_starttls_cves(V(8, 16, 1), c, 8), 0);
	ck_assert_uint_eq(facts_curl_starttls_cves(V(8, 17, 0), c, 8), 1);
	ck_assert_uint_eq(facts_curl_starttls_cves(V(8, 20, 0), c, 8), 1);
	ck_assert_uint_eq(facts_curl_starttls_cves(V(8, 20, 1), c, 8), 0);
	/* never more than asked for */
	ck_assert_uint_eq(facts_curl_starttls_cves(V(7, 78, 0), c, 1), 1);
}
END_TEST

static Suite *checks_suite(void)
{
	Suite *s = suite_create("checks");
	TCase *t = tcase_create("template");

	tcase_add_test(t, template_fills_every_placeholder);
	tcase_add_test(t, template_generates_date_message_id_to_and_mime);
	tcase_add_test(t, template_keeps_its_own_to_and_content_type);
	tcase_add_test(t, template_encodes_a_non_ascii_subject_and_declares_utf8);
	tcase_add_test(t, template_errors_name_their_line);
	tcase_add_test(t, template_refuses_long_lines);
	tcase_add_test(t, template_refuses_a_rendered_header_outside_ascii);
	tcase_add_test(t, template_survives_every_allocation_failure);
	tcase_add_test(t, rfc5322_date_is_in_the_c_locale);
	suite_add_tcase(s, t);
	t = tcase_create("facts");
	tcase_add_test(t, servers_are_identified_from_id_then_greeting);
	tcase_add_test(t, curl_starttls_ranges);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(checks_suite)
