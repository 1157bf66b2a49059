/* m365probe - drives mailferry's Microsoft 365 C API from shell tests.
 *
 *   m365probe [options] COMMAND [ARGS]
 *
 * options:
 *   --authority URL       token authority (default https://login.microsoftonline.com)
 *   --tenant T            tenant ID or domain
 *   --client-id ID        application (client) ID
 *   --secret-env VAR      the client secret comes from the environment variable VAR
 *   --cert FILE [--key FILE] [--alg ps256|rs256]   certificate credential
 *   --ca FILE             CA bundle for HTTPS (the lab CA)
 *   --graph URL           Graph base URL
 *   --max-retries N --backoff-ms N --max-wait-ms N --max-pages N
 *   --cancel-after MS     raise the cancel flag after MS milliseconds
 *   --verbose             log at debug level to stderr
 *
 * commands (output is key=value lines on stdout; errors on stderr, exit 1):
 *   token SCOPE                  one token: requests=N fp=<sha256 prefix of the token>
 *   token-seq SCOPE MS...        a token now, then one after each pause of MS milliseconds
 *   token-threads SCOPE N        N threads ask at the same moment
 *   xoauth2 MAILBOX [SCOPE]      the XOAUTH2 initial response (base64) for an IMAP token
 *   user ADDRESS                 graph_find_user
 *   licenses USER                licences, plans and the mailbox-plan verdict
 *   mailbox USER                 graph_mailbox_exists
 *   domains                      graph_domains
 *   records DOMAIN               graph_service_records
 *
 * The secret never comes from argv; the XOAUTH2 command prints a credential on
 * purpose (tests feed it to an IMAP login).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "m365/graph.h"
#include "m365/oauth.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/secret.h"
#include "util/timeutil.h"

struct opts {
	struct oauth_config oc;
	struct graph_config gc;
	long cancel_after_ms;
	int verbose;
};

static atomic_int cancel_flag;

static void usage(void)
{
	fputs("usage: m365probe [options] COMMAND [ARGS] (see the source for the list)\n", stderr);
	exit(2);
}

static int fail(const struct mf_err *e)
{
	fprintf(stderr, "error: %s (%s): %s\n", mf_errcode_name(e->code), mf_scope_name(e->scope),
	        e->msg);
	if (e->retry_ms)
		fprintf(stderr, "retry_ms=%lu\n", e->retry_ms);
	return 1;
}

static void fingerprint(const struct mf_secret *tok, char out[17])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(secret_str(tok), secret_len(tok), md, &n, EVP_sha256(), NULL);
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *k = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(k, "--verbose")) {
			o->verbose = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(k, "--authority"))
			o->oc.authority = v;
		else if (!strcmp(k, "--tenant"))
			o->oc.tenant = v;
		else if (!strcmp(k, "--client-id"))
			o->oc.client_id = v;
		else if (!strcmp(k, "--secret-env")) {
			const char *s = getenv(v);

			if (!s) {
				fprintf(stderr, "m365probe: $%s is not set\n", v);
				exit(2);
			}
			o->oc.client_secret = secret_new(s, strlen(s));
		} else if (!strcmp(k, "--cert"))
			o->oc.cert_file = v;
		else if (!strcmp(k, "--key"))
			o->oc.key_file = v;
		else if (!strcmp(k, "--alg"))
			o->oc.alg = !strcmp(v, "rs256") ? JWT_RS256 : JWT_PS256;
		else if (!strcmp(k, "--ca"))
			o->oc.ca_file = o->gc.ca_file = v;
		else if (!strcmp(k, "--graph"))
			o->gc.base_url = v;
		else if (!strcmp(k, "--max-retries"))
			o->gc.max_retries = (unsigned)atoi(v);
		else if (!strcmp(k, "--backoff-ms"))
			o->gc.backoff_ms = atol(v);
		else if (!strcmp(k, "--max-wait-ms"))
			o->gc.max_wait_ms = atol(v);
		else if (!strcmp(k, "--max-pages"))
			o->gc.max_pages = (unsigned)atoi(v);
		else if (!strcmp(k, "--cancel-after"))
			o->cancel_after_ms = atol(v);
		else
			usage();
	}
	return i;
}

/* ---------------------------------------------------------------- tokens */

static int cmd_token_seq(struct oauth_client *oc, const char *scope, int n, char **pauses)
{
	struct mf_err e = {0};
	char fp[17];

	for (int i = 0; i <= n; i++) {
		struct mf_secret *tok;

		if (i > 0)
			sleep_ms(atol(pauses[i - 1]));
		if (oauth_token(oc, scope, &tok, &e))
			return fail(&e);
		fingerprint(tok, fp);
		printf("call=%d requests=%lu fp=%s\n", i + 1, oauth_requests_sent(oc), fp);
		secret_free(tok);
	}
	return 0;
}

struct thread_arg {
	struct oauth_client *oc;
	const char *scope;
	pthread_barrier_t *start;
	char fp[17];
	int rc;
};

static void *token_thread(void *p)
{
	struct thread_arg *a = p;
	struct mf_secret *tok = NULL;
	struct mf_err e = {0};

	pthread_barrier_wait(a->start);
	a->rc = oauth_token(a->oc, a->scope, &tok, &e);
	if (!a->rc)
		fingerprint(tok, a->fp);
	else
		fail(&e);
	secret_free(tok);
	return NULL;
}

static int cmd_token_threads(struct oauth_client *oc, const char *scope, int n)
{
	struct thread_arg *args = calloc((size_t)n, sizeof(*args));
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	pthread_barrier_t start;
	int same = 1, failed = 0;

	if (!args || !t || n < 1)
		return 1;
	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		args[i] = (struct thread_arg){.oc = oc, .scope = scope, .start = &start};
		pthread_create(&t[i], NULL, token_thread, &args[i]);
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < n; i++) {
		failed |= args[i].rc;
		same &= !strcmp(args[i].fp, args[0].fp);
	}
	printf("threads=%d failed=%d same_token=%d requests=%lu\n", n, failed, same,
	       oauth_requests_sent(oc));
	pthread_barrier_destroy(&start);
	free(args);
	free(t);
	return failed;
}

static int cmd_xoauth2(struct oauth_client *oc, const char *mailbox, const char *scope)
{
	struct mf_secret *tok = NULL, *ir = NULL;
	struct mf_err e = {0};

	if (oauth_token(oc, scope, &tok, &e) || oauth_xoauth2(mailbox, tok, &ir, &e)) {
		secret_free(tok);
		return fail(&e);
	}
	printf("%s\n", secret_str(ir));
	secret_free(ir);
	secret_free(tok);
	return 0;
}

/* ---------------------------------------------------------------- Graph */

static const char *s(const char *v)
{
	return v ? v : "";
}

static int cmd_user(struct graph_client *g, const char *address)
{
	struct graph_user u;
	struct mf_err e = {0};

	if (graph_find_user(g, address, &u, &e))
		return fail(&e);
	printf("id=%s\nupn=%s\nmail=%s\nenabled=%d\nfound_by_proxy=%d\n", s(u.id), s(u.upn),
	       s(u.mail), u.account_enabled, u.found_by_proxy);
	for (size_t i = 0; i < u.n_proxy; i++)
		printf("proxy=%s\n", u.proxy_addresses[i]);
	graph_user_free(&u);
	return 0;
}

static int cmd_licenses(struct graph_client *g, const char *user)
{
	struct graph_licenses l;
	struct mf_err e = {0};
	const char *plan = NULL;

	if (graph_license_details(g, user, &l, &e))
		return fail(&e);
	for (size_t i = 0; i < l.n; i++) {
		printf("sku=%s\n", s(l.items[i].sku_part_number));
		for (size_t j = 0; j < l.items[i].n_plans; j++)
			printf("plan=%s %s %s\n", s(l.items[i].plans[j].name),
			       s(l.items[i].plans[j].status), s(l.items[i].plans[j].applies_to));
	}
	printf("mailbox_plan=%s\n", graph_has_mailbox_plan(&l, &plan) ? plan : "none");
	graph_licenses_free(&l);
	return 0;
}

static int cmd_mailbox(struct graph_client *g, const char *user)
{
	struct mf_err e = {0};
	char *purpose = NULL;
	int exists = 0;

	if (graph_mailbox_exists(g, user, &exists, &purpose, &e))
		return fail(&e);
	printf("mailbox=%d\npurpose=%s\n", exists, s(purpose));
	if (!exists)
		printf("graph_code=%s\ngraph_inner_code=%s\ngraph_message=%s\nhttp=%ld\n",
		       graph_last_error(g)->code, graph_last_error(g)->inner_code,
		       graph_last_error(g)->message, graph_last_error(g)->status);
	free(purpose);
	return 0;
}

static int cmd_domains(struct graph_client *g)
{
	struct graph_domain *d;
	struct mf_err e = {0};
	size_t n;

	if (graph_domains(g, &d, &n, &e))
		return fail(&e);
	for (size_t i = 0; i < n; i++)
		printf("domain=%s verified=%d default=%d initial=%d email=%d\n", d[i].id,
		       d[i].is_verified, d[i].is_default, d[i].is_initial,
		       graph_domain_supports(&d[i], "Email"));
	printf("count=%zu\n", n);
	graph_domains_free(d, n);
	return 0;
}

static int cmd_records(struct graph_client *g, const char *domain)
{
	struct graph_dns_record *r;
	struct mf_err e = {0};
	size_t n;

	if (graph_service_records(g, domain, &r, &n, &e))
		return fail(&e);
	for (size_t i = 0; i < n; i++) {
		printf("record=%s label=%s ttl=%lld", s(r[i].record_type), s(r[i].label),
		       (long long)r[i].ttl);
		if (r[i].mail_exchange)
			printf(" mx=%s preference=%lld", r[i].mail_exchange,
			       (long long)r[i].preference);
		if (r[i].text)
			printf(" text=%s", r[i].text);
		if (r[i].canonical_name)
			printf(" cname=%s", r[i].canonical_name);
		printf("\n");
	}
	graph_dns_records_free(r, n);
	return 0;
}

static void *canceller(void *p)
{
	sleep_ms(*(long *)p);
	atomic_store(&cancel_flag, 1);
	return NULL;
}

static int run(struct opts *o, int argc, char **argv)
{
	struct oauth_client *oc = NULL;
	struct graph_client *g = NULL;
	struct mf_err e = {0};
	const char *cmd = argv[0];
	pthread_t ct;
	int rc = 1;

	if (oauth_client_new(&o->oc, &oc, &e))
		return fail(&e);
	o->gc.cancel = &cancel_flag;
	if (graph_client_new(&o->gc, oc, &g, &e)) {
		oauth_client_free(oc);
		return fail(&e);
	}
	if (o->cancel_after_ms > 0) {
		pthread_create(&ct, NULL, canceller, &o->cancel_after_ms);
		pthread_detach(ct);
	}
	if (!strcmp(cmd, "token") && argc == 2)
		rc = cmd_token_seq(oc, argv[1], 0, NULL);
	else if (!strcmp(cmd, "token-seq") && argc >= 2)
		rc = cmd_token_seq(oc, argv[1], argc - 2, argv + 2);
	else if (!strcmp(cmd, "token-threads") && argc == 3)
		rc = cmd_token_threads(oc, argv[1], atoi(argv[2]));
	else if (!strcmp(cmd, "xoauth2") && argc >= 2)
		rc = cmd_xoauth2(oc, argv[1], argc > 2 ? argv[2] : OAUTH_SCOPE_IMAP);
	else if (!strcmp(cmd, "user") && argc == 2)
		rc = cmd_user(g, argv[1]);
	else if (!strcmp(cmd, "licenses") && argc == 2)
		rc = cmd_licenses(g, argv[1]);
	else if (!strcmp(cmd, "mailbox") && argc == 2)
		rc = cmd_mailbox(g, argv[1]);
	else if (!strcmp(cmd, "domains") && argc == 1)
		rc = cmd_domains(g);
	else if (!strcmp(cmd, "records") && argc == 2)
		rc = cmd_records(g, argv[1]);
	else
		usage();
	printf("graph_requests=%lu graph_throttled=%lu token_requests=%lu\n", graph_requests(g),
	       graph_throttled(g), oauth_requests_sent(oc));
	graph_client_free(g);
	oauth_client_free(oc);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	int first, rc;

	memset(&o, 0, sizeof(o));
	mf_mem_init_hooks();
	first = parse_opts(argc, argv, &o);
	if (first >= argc)
		usage();
	if (o.verbose) {
		log_set_level(LOG_DEBUG);
		log_set_echo(stderr, LOG_DEBUG);
	}
	if (curl_global_init(CURL_GLOBAL_ALL))
		return 1;
	rc = run(&o, argc - first, argv + first);
	secret_free((struct mf_secret *)(uintptr_t)o.oc.client_secret);
	curl_global_cleanup();
	return rc;
}
