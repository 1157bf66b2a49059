/* Unit tests for the pure parts of src/m365 and src/net/http: the mailbox-plan
 * verdict, the token refresh margin, configuration checks, URL encoding and
 * the refusal of plaintext or non-HTTP URLs before anything is sent. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "m365/graph.h"
#include "m365/oauth.h"
#include "net/http.h"
#include "unit.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/secret.h"

START_TEST(exchange_plans_that_give_a_mailbox)
{
	ck_assert(graph_plan_gives_mailbox("EXCHANGE_S_STANDARD", "Success"));
	ck_assert(graph_plan_gives_mailbox("EXCHANGE_S_ENTERPRISE", "Success"));
	ck_assert(graph_plan_gives_mailbox("EXCHANGE_S_DESKLESS", "Success"));
	ck_assert(graph_plan_gives_mailbox("EXCHANGE_S_ESSENTIALS", "Success"));
	ck_assert(graph_plan_gives_mailbox("EXCHANGE_B_STANDARD", "Success"));
	ck_assert(graph_plan_gives_mailbox("EXCHANGE_S_ENTERPRISE_GOV", "Success"));
	/* the trap: in many SKUs and no mailbox */
	ck_assert(!graph_plan_gives_mailbox("EXCHANGE_S_FOUNDATION", "Success"));
	ck_assert(!graph_plan_gives_mailbox("EXCHANGE_S_FOUNDATION_GOV", "Success"));
	/* archive add-ons */
	ck_assert(!graph_plan_gives_mailbox("EXCHANGE_S_ARCHIVE", "Success"));
	ck_assert(!graph_plan_gives_mailbox("EXCHANGE_S_ARCHIVE_ADDON", "Success"));
	/* not (yet) provisioned */
	ck_assert(!graph_plan_gives_mailbox("EXCHANGE_S_STANDARD", "PendingProvisioning"));
	ck_assert(!graph_plan_gives_mailbox("EXCHANGE_S_STANDARD", "Disabled"));
	ck_assert(!graph_plan_gives_mailbox("EXCHANGE_S_STANDARD", "PendingInput"));
	ck_assert(!graph_plan_gives_mailbox("EXCHANGE_S_STANDARD", "Error"));
	ck_assert(!graph_plan_gives_mailbox("EXCHANGE_S_STANDARD", NULL));
	/* other services */
	ck_assert(!graph_plan_gives_mailbox("SHAREPOINTSTANDARD", "Success"));
	ck_assert(!graph_plan_gives_mailbox("EXCHANGEONLINE", "Success"));
	ck_assert(!graph_plan_gives_mailbox(NULL, "Success"));
}
END_TEST

START_TEST(mailbox_plan_across_licenses)
{
	char fname[] = "EXCHANGE_S_FOUNDATION", biname[] = "BI_AZURE_P0";
	char stdname[] = "EXCHANGE_S_STANDARD", ok[] = "Success";
	struct graph_service_plan foundation = {.name = fname, .status = ok};
	struct graph_service_plan bi = {.name = biname, .status = ok};
	struct graph_service_plan std = {.name = stdname, .status = ok};
	struct graph_service_plan p1[] = {foundation, bi};
	struct graph_license only_foundation = {.plans = p1, .n_plans = 2};
	struct graph_license plan1 = {.plans = &std, .n_plans = 1};
	struct graph_license both[] = {only_foundation, plan1};
	struct graph_licenses l = {.items = &only_foundation, .n = 1};
	const char *which = NULL;

	ck_assert(!graph_has_mailbox_plan(&l, &which));
	ck_assert_ptr_null(which);
	l.items = both;
	l.n = 2;
	ck_assert(graph_has_mailbox_plan(&l, &which));
	ck_assert_str_eq(which, "EXCHANGE_S_STANDARD");
	l.n = 0;
	ck_assert(!graph_has_mailbox_plan(&l, NULL));
	ck_assert(!graph_has_mailbox_plan(NULL, NULL));
}
END_TEST

START_TEST(tokens_are_renewed_with_a_sensible_margin)
{
	/* 60-minute token: 10% (6 min) is more than 5 minutes */
	ck_assert_int_eq(oauth_refresh_margin_s(3600), 360);
	ck_assert_int_eq(oauth_refresh_margin_s(3599), 359);
	/* 24 h: 10% */
	ck_assert_int_eq(oauth_refresh_margin_s(86400), 8640);
	/* 30 minutes: the 5 minutes win */
	ck_assert_int_eq(oauth_refresh_margin_s(1800), 300);
	/* short tokens: never more than a quarter of the lifetime early */
	ck_assert_int_eq(oauth_refresh_margin_s(600), 150);
	ck_assert_int_eq(oauth_refresh_margin_s(8), 2);
	/* every token is used for most of its life, and renewed before it ends */
	for (int64_t life = 4; life <= 86400; life += 97) {
		int64_t m = oauth_refresh_margin_s(life);

		ck_assert_int_ge(m, 1);
		ck_assert_int_le(m, life / 4 > life / 10 ? life / 4 : life / 10);
	}
}
END_TEST

START_TEST(oauth_config_is_checked)
{
	struct mf_secret *sec = secret_new("s3cret", 6), *empty = secret_new("", 0);
	struct oauth_config c = {.tenant = "contoso.onmicrosoft.com",
	                         .client_id = "5f0c2b7e-8d41-4c3a-9e6b-1a2d3c4e5f60",
	                         .client_secret = sec};
	struct oauth_client *oc = NULL;
	struct mf_err err = {0};

	ck_assert_int_eq(oauth_client_new(&c, &oc, &err), 0);
	ck_assert_str_eq(
	        oauth_token_url(oc),
	        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
	ck_assert_uint_eq(oauth_requests_sent(oc), 0);
	oauth_client_free(oc);

	/* sovereign clouds: another authority, a trailing slash is fine */
	c.authority = "https://login.microsoftonline.us/";
	c.tenant = "7d3a1f52-9c4e-4b8a-a1d6-2f0e5c9b8a31";
	ck_assert_int_eq(oauth_client_new(&c, &oc, &err), 0);
	ck_assert_str_eq(oauth_token_url(oc),
	                 "https://login.microsoftonline.us/"
	                 "7d3a1f52-9c4e-4b8a-a1d6-2f0e5c9b8a31/oauth2/v2.0/token");
	oauth_client_free(oc);

	c.tenant = "contoso.com/../../evil";
	ck_assert_int_eq(oauth_client_new(&c, &oc, &err), -1);
	ck_assert_int_eq(err.code, MF_E_CONFIG);
	c.tenant = "";
	ck_assert_int_eq(oauth_client_new(&c, &oc, &err), -1);
	c.tenant = "contoso.com";
	c.client_id = NULL;
	ck_assert_int_eq(oauth_client_new(&c, &oc, &err), -1);
	c.client_id = "x";
	c.cert_file = "/nonexistent.pem";
	ck_assert_int_eq(oauth_client_new(&c, &oc, &err), -1);
	ck_assert_msg(strstr(err.msg, "either a client secret or a certificate"), "%s", err.msg);
	c.client_secret = NULL;
	ck_assert_int_eq(oauth_client_new(&c, &oc, &err), -1);
	ck_assert_msg(strstr(err.msg, "cannot read the certificate"), "%s", err.msg);
	c.cert_file = NULL;
	ck_assert_int_eq(oauth_client_new(&c, &oc, &err), -1);
	c.client_secret = empty;
	ck_assert_int_eq(oauth_client_new(&c, &oc, &err), -1);
	ck_assert_ptr_null(oc);
	secret_free(sec);
	secret_free(empty);
}
END_TEST

START_TEST(graph_config_is_checked)
{
	struct mf_secret *sec = secret_new("s3cret", 6);
	struct oauth_config oc_cfg = {
	        .tenant = "t.example", .client_id = "c", .client_secret = sec};
	struct graph_config gc = {0};
	struct oauth_client *oc = NULL;
	struct graph_client *g = NULL;
	struct mf_err err = {0};

	ck_assert_int_eq(oauth_client_new(&oc_cfg, &oc, &err), 0);
	ck_assert_int_eq(graph_client_new(&gc, oc, &g, &err), 0);
	graph_client_free(g);
	gc.base_url = "https://graph.microsoft.us/v1.0/";
	ck_assert_int_eq(graph_client_new(&gc, oc, &g, &err), 0);
	graph_client_free(g);
	gc.base_url = "ftp://graph.example/v1.0";
	ck_assert_int_eq(graph_client_new(&gc, oc, &g, &err), -1);
	ck_assert_int_eq(err.code, MF_E_CONFIG);
	gc.base_url = "https://";
	ck_assert_int_eq(graph_client_new(&gc, oc, &g, &err), -1);
	ck_assert_ptr_null(g);
	oauth_client_free(oc);
	secret_free(sec);
}
END_TEST

START_TEST(urls_and_forms_are_percent_encoded)
{
	struct mf_buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(http_escape(&b, "a b+c/d@e~f", 11, NULL), 0);
	ck_assert_str_eq(b.data, "a%20b%2Bc%2Fd%40e~f");
	buf_reset(&b);
	ck_assert_int_eq(http_escape(&b, "x_ext#EXT#@t.com", 16, "@"), 0);
	ck_assert_str_eq(b.data, "x_ext%23EXT%23@t.com");
	buf_reset(&b);
	ck_assert_int_eq(http_escape(&b, "\xc3\xa9\x01", 3, NULL), 0);
	ck_assert_str_eq(b.data, "%C3%A9%01");
	buf_reset(&b);
	ck_assert_int_eq(http_form_add(&b, "client_id", "abc"), 0);
	ck_assert_int_eq(http_form_add(&b, "scope", "https://graph.microsoft.com/.default"), 0);
	ck_assert_int_eq(http_form_add(&b, "client_secret", "p&s=w+d%~"), 0);
	ck_assert_str_eq(b.data, "client_id=abc&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
	                         "&client_secret=p%26s%3Dw%2Bd%25~");
	buf_free(&b);
	buf_init(&b, 5); /* bounded like every buffer */
	ck_assert_int_eq(http_escape(&b, "abc def", 7, NULL), -1);
	buf_free(&b);
}
END_TEST

START_TEST(loopback_literals_are_recognised)
{
	ck_assert(http_host_is_loopback("127.0.0.1"));
	ck_assert(http_host_is_loopback("127.1.2.3"));
	ck_assert(http_host_is_loopback("[::1]"));
	ck_assert(!http_host_is_loopback("localhost"));
	ck_assert(!http_host_is_loopback("128.0.0.1"));
	ck_assert(!http_host_is_loopback("[::2]"));
	ck_assert(!http_host_is_loopback("::1"));
	ck_assert(!http_host_is_loopback("127.0.0.1.evil.example"));
	ck_assert(!http_host_is_loopback(NULL));
}
END_TEST

static int perform(const char *url, int allow, struct mf_err *err)
{
	struct http_request req = {.url = url,
	                           .allow_plain_loopback = allow,
	                           .connect_timeout_ms = 5000,
	                           .timeout_ms = 5000};
	struct http_response resp;
	int rc;

	http_response_init(&resp);
	rc = http_perform(NULL, &req, &resp, err);
	http_response_free(&resp);
	return rc;
}

START_TEST(plaintext_is_refused_before_connecting)
{
	struct mf_err err = {0};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char url[64];
	int s;

	ck_assert_int_eq(perform("http://127.0.0.1:1/", 0, &err), -1);
	ck_assert_int_eq(err.code, MF_E_CONFIG);
	ck_assert_msg(strstr(err.msg, "only https:// is allowed"), "%s", err.msg);
	ck_assert_int_eq(perform("http://graph.microsoft.com/v1.0", 1, &err), -1);
	ck_assert_int_eq(err.code, MF_E_CONFIG);
	ck_assert_int_eq(perform("ftp://127.0.0.1/", 1, &err), -1);
	ck_assert_int_eq(err.code, MF_E_CONFIG);
	ck_assert_int_eq(perform("file:///etc/passwd", 1, &err), -1);
	ck_assert_int_eq(err.code, MF_E_CONFIG);
	ck_assert_int_eq(perform("not a url", 1, &err), -1);
	ck_assert_int_eq(err.code, MF_E_CONFIG);

	/* allowed: http:// to a loopback literal; a closed port is a connection error */
	s = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(s, (struct sockaddr *)&sa, &sl);
	close(s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", ntohs(sa.sin_port));
	ck_assert_int_eq(perform(url, 1, &err), -1);
	ck_assert_msg(err.code == MF_E_CONNECT, "%s: %s", mf_errcode_name(err.code), err.msg);
	ck_assert_int_eq(err.scope, MF_SCOPE_CONN);
}
END_TEST

static Suite *m365_suite(void)
{
	Suite *s = suite_create("m365");
	TCase *tc = tcase_create("m365");

	tcase_add_test(tc, exchange_plans_that_give_a_mailbox);
	tcase_add_test(tc, mailbox_plan_across_licenses);
	tcase_add_test(tc, tokens_are_renewed_with_a_sensible_margin);
	tcase_add_test(tc, oauth_config_is_checked);
	tcase_add_test(tc, graph_config_is_checked);
	tcase_add_test(tc, urls_and_forms_are_percent_encoded);
	tcase_add_test(tc, loopback_literals_are_recognised);
	tcase_add_test(tc, plaintext_is_refused_before_connecting);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_ALL);
	sr = srunner_create(m365_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
