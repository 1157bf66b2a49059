/* dnsprobe - runs src/net/dns lookups for the shell tests and prints what came back.
 *
 *   dnsprobe [--server HOST:PORT]... [--auth] [--auth-port P] [--timeout-ms N]
 *            [--attempts N] [--total-ms N] [--m365 DOMAIN] [--parallel N] TYPE NAME
 *
 * TYPE is MX, TXT, CNAME, NS, SOA, A or AAAA.  Without --server the system
 * resolver (/etc/resolv.conf) is used.  Output, one fact per line:
 *
 *   status ANSWER|NODATA|NXDOMAIN|SERVFAIL|REFUSED|TIMEOUT|...
 *   rcode N               (-1 when no server answered)
 *   aa 0|1
 *   server 127.0.0.1:5353
 *   canonical NAME
 *   chain A -> B -> C     (only when CNAMEs were followed)
 *   zone NAME             (when an SOA told it)
 *   neg_ttl N             (NXDOMAIN / NODATA)
 *   rr TYPE TTL [PREF] DATA
 *   m365-mx HOST yes|no|other-domain     (with --m365, for MX answers)
 *   spf yes|no TEXT                      (with --m365, for SPF TXT records)
 *   ms-verify VALUE                      (with --m365, for MS=ms... records)
 *   m365-tally M OTHER                   (with --m365, MX: Microsoft's / others)
 *   spf-records N                        (with --m365, TXT: how many are SPF)
 *   summary ...
 *   error CODE ...        (when the lookup returned -1)
 *
 * Exit status: 0 when dns_query returned 0, 2 when it returned -1, 64 usage.
 * With --parallel N the same lookup runs in N threads on one shared resolver;
 * the output is printed once and the exit status is 3 if any thread's
 * output differed from the first one's.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/dns.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

struct probe {
	const struct dns_resolver *r;
	const char *name;
	enum dns_type type;
	int auth;
	const char *m365_domain;
	int rc;
	struct mf_buf out;
};

static void usage(void)
{
	fputs("usage: dnsprobe [--server HOST:PORT]... [--auth] [--auth-port P] [--timeout-ms N]\n"
	      "                [--attempts N] [--total-ms N] [--m365 DOMAIN] [--parallel N] TYPE "
	      "NAME\n",
	      stderr);
	exit(64);
}

static int parse_type(const char *s, enum dns_type *t)
{
	static const struct {
		const char *name;
		enum dns_type type;
	} types[] = {{"MX", DNS_T_MX},    {"TXT", DNS_T_TXT}, {"CNAME", DNS_T_CNAME},
	             {"NS", DNS_T_NS},    {"SOA", DNS_T_SOA}, {"A", DNS_T_A},
	             {"AAAA", DNS_T_AAAA}};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].name) == 0) {
			*t = types[i].type;
			return 0;
		}
	return -1;
}

static void print_m365(struct mf_buf *o, const struct dns_result *res, const char *domain)
{
	static const char *const verdict[] = {"no", "yes", "other-domain"};
	char ms[64];

	for (size_t i = 0; i < res->n_rr; i++) {
		const struct dns_rr *rr = &res->rr[i];

		if (rr->type == DNS_T_MX)
			buf_printf(o, "m365-mx %s %s\n", rr->data,
			           verdict[dns_mx_is_m365(domain, rr->data)]);
		if (rr->type == DNS_T_TXT && dns_txt_is_spf(rr->data))
			buf_printf(o, "spf %s %s\n", dns_spf_includes_m365(rr->data) ? "yes" : "no",
			           rr->data);
		if (rr->type == DNS_T_TXT && dns_txt_ms_verification(rr->data, ms, sizeof(ms)))
			buf_printf(o, "ms-verify %s\n", ms);
	}
	if (res->qtype == DNS_T_MX) {
		size_t m365, other;

		dns_mx_tally(res, domain, &m365, &other);
		buf_printf(o, "m365-tally %zu %zu\n", m365, other);
	}
	if (res->qtype == DNS_T_TXT)
		buf_printf(o, "spf-records %zu\n", dns_result_spf(res, NULL));
}

static void *probe_run(void *arg)
{
	struct probe *p = arg;
	struct dns_result res;
	struct mf_err err = {0};
	struct mf_buf *o = &p->out;

	buf_init(o, 1 << 20);
	p->rc = p->auth ? dns_query_auth(p->r, p->name, p->type, &res, &err)
	                : dns_query(p->r, p->name, p->type, &res, &err);
	buf_printf(o, "status %s\n", dns_status_name(res.status));
	buf_printf(o, "rcode %d\n", res.rcode);
	buf_printf(o, "aa %d\n", res.authoritative);
	buf_printf(o, "server %s\n", res.server);
	if (res.canonical)
		buf_printf(o, "canonical %s\n", res.canonical);
	if (res.n_chain > 1) {
		buf_puts(o, "chain");
		for (size_t i = 0; i < res.n_chain; i++)
			buf_printf(o, "%s%s", i ? " -> " : " ", res.chain[i]);
		buf_putc(o, '\n');
	}
	if (res.zone)
		buf_printf(o, "zone %s\n", res.zone);
	if (res.status == DNS_NXDOMAIN || res.status == DNS_NODATA)
		buf_printf(o, "neg_ttl %u\n", res.neg_ttl);
	for (size_t i = 0; i < res.n_rr; i++) {
		const struct dns_rr *rr = &res.rr[i];

		if (rr->type == DNS_T_MX)
			buf_printf(o, "rr MX %u %u %s\n", rr->ttl, (unsigned)rr->pref, rr->data);
		else if (rr->type == DNS_T_SOA)
			buf_printf(o, "rr SOA %u %s %u\n", rr->ttl, rr->data, rr->soa_minimum);
		else
			buf_printf(o, "rr %s %u %s\n", dns_type_name(rr->type), rr->ttl, rr->data);
	}
	if (p->m365_domain)
		print_m365(o, &res, p->m365_domain);
	buf_printf(o, "summary %s\n", res.summary);
	if (p->rc < 0)
		buf_printf(o, "error %s %s\n", mf_errcode_name(err.code), err.msg);
	dns_result_free(&res);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *servers[DNS_MAX_SERVERS];
	size_t nservers = 0;
	struct dns_opts opts = {0};
	struct probe proto = {0};
	struct dns_resolver *r;
	struct mf_err err = {0};
	int parallel = 1, i, status = 0;

	mf_mem_init_hooks();
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--auth")) {
			proto.auth = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(a, "--server")) {
			if (nservers == DNS_MAX_SERVERS)
				usage();
			servers[nservers++] = argv[++i];
		} else if (!strcmp(a, "--auth-port")) {
			opts.auth_port = (uint16_t)atoi(argv[++i]);
		} else if (!strcmp(a, "--timeout-ms")) {
			opts.timeout_ms = atoi(argv[++i]);
		} else if (!strcmp(a, "--attempts")) {
			opts.attempts = atoi(argv[++i]);
		} else if (!strcmp(a, "--total-ms")) {
			opts.total_ms = atoi(argv[++i]);
		} else if (!strcmp(a, "--m365")) {
			proto.m365_domain = argv[++i];
		} else if (!strcmp(a, "--parallel")) {
			parallel = atoi(argv[++i]);
			if (parallel < 1 || parallel > 64)
				usage();
		} else {
			usage();
		}
	}
	if (argc - i != 2 || parse_type(argv[i], &proto.type) < 0)
		usage();
	proto.name = argv[i + 1];
	r = nservers ? dns_resolver_new(servers, nservers, &opts, &err)
	             : dns_resolver_system(&opts, &err);
	if (!r) {
		printf("error %s %s\n", mf_errcode_name(err.code), err.msg);
		return 2;
	}
	proto.r = r;
	{
		struct probe *p = calloc((size_t)parallel, sizeof(*p));
		pthread_t *t = calloc((size_t)parallel, sizeof(*t));

		if (!p || !t) {
			fputs("dnsprobe: out of memory\n", stderr);
			return 1;
		}
		for (int k = 0; k < parallel; k++) {
			p[k] = proto;
			if (pthread_create(&t[k], NULL, probe_run, &p[k]) != 0) {
				fputs("dnsprobe: cannot start a thread\n", stderr);
				return 1;
			}
		}
		for (int k = 0; k < parallel; k++)
			pthread_join(t[k], NULL);
		fputs(p[0].out.data ? p[0].out.data : "", stdout);
		status = p[0].rc < 0 ? 2 : 0;
		for (int k = 1; k < parallel; k++) {
			if (p[k].rc != p[0].rc || !p[k].out.data || !p[0].out.data ||
			    strcmp(p[k].out.data, p[0].out.data) != 0) {
				printf("differs thread %d\n%s", k,
				       p[k].out.data ? p[k].out.data : "");
				status = 3;
			}
		}
		for (int k = 0; k < parallel; k++)
			buf_free(&p[k].out);
		free(p);
		free(t);
	}
	dns_resolver_free(r);
	return status;
}
