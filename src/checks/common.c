/* mailferry - helpers shared by several checks: probe connections, TLS report, DNS failures */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "batch/connect.h"
#include "checks/checks_p.h"
#include "imap/session.h"
#include "net/dns.h"
#include "net/transport.h"
#include "util/err.h"
#include "util/timeutil.h"

unsigned check_port(const struct mf_endpoint *e)
{
	return e->port ? e->port : (e->security == MF_SEC_SSL ? 993 : 143);
}

int check_probe_open(struct check_ctx *c, int source, const struct check_probe *p,
                     struct imap_conn **out, struct mf_err *err)
{
	struct batch_conn_opts bo = {.source = source,
	                             .label = source ? "check source (probe)"
	                                             : "check target (probe)",
	                             .cancel = c->stop,
	                             .timeout_ms = check_left_ms(c),
	                             .connect_timeout_ms = check_left_ms(c),
	                             .no_verify = p->no_verify};
	struct imap_conn_opts co;
	int rc;

	*out = NULL;
	batch_conn_opts_fill(c->env->batch, &bo, &co);
	if (p->legacy_tls) {
		co.net.legacy_tls = 1;
		co.net.min_tls12 = 0;
	}
	if (p->system_ca)
		co.net.ca_file = getenv("MAILFERRY_TEST_SYSTEM_CA_FILE");
	if (check_server_take(c, source))
		return mf_fail(err, MF_SCOPE_CONN, MF_E_CANCEL, "the check was stopped");
	rc = imap_connect(&co, out, err);
	if (rc) {
		mf_err_prefix(err, "%s: ", source ? "source" : "target");
		check_server_give(c, source);
	}
	return rc;
}

int check_tls_old(const char *protocol)
{
	return protocol && protocol[0] &&
	       (!strcmp(protocol, "TLSv1") || !strcmp(protocol, "TLSv1.1") ||
	        !strncmp(protocol, "SSL", 3));
}

void check_tls_report(struct check_ctx *c, const struct transport_tls_info *t, const char *host,
                      const char *chain)
{
	if (!t->tls) {
		check_detail(c, "no TLS: the connection is plaintext");
		return;
	}
	check_detail(c, "protocol %s, cipher %s", t->protocol[0] ? t->protocol : "?",
	             t->cipher[0] ? t->cipher : "?");
	check_detail(c, "subject: %s", t->subject[0] ? t->subject : "?");
	check_detail(c, "SANs: %s", t->sans[0] ? t->sans : "(none)");
	check_detail(c, "issuer: %s", t->issuer[0] ? t->issuer : "?");
	if (t->days_left < 0)
		check_detail(c, "expires: %s (EXPIRED %ld day%s ago)", t->not_after, -t->days_left,
		             t->days_left == -1 ? "" : "s");
	else
		check_detail(c, "expires: %s (%ld day%s left)", t->not_after, t->days_left,
		             t->days_left == 1 ? "" : "s");
	check_detail(c, "host name %s: %s", host,
	             t->hostname_match ? "matches the certificate"
	                               : "does NOT match the certificate");
	check_detail(c, "chain: %s",
	             chain              ? chain
	             : t->verify_result ? t->verify_error
	                                : "verified");
}

int check_resolver(struct check_ctx *c, const struct dns_resolver **out)
{
	struct mf_err err;

	if (check_dns(c, out, &err) == 0)
		return 0;
	check_fail(c, "No DNS resolver", "%s", err.msg);
	check_remedy(c, "Check --dns-server (HOST:PORT, numeric addresses).");
	return -1;
}

void check_dns_failed(struct check_ctx *c, const struct dns_result *r, const char *what)
{
	const char *server = r->server[0] ? r->server : "the resolver";
	const char *name = r->qname ? r->qname : c->subject;

	check_fail(c, "DNS gave no answer", "%s %s: %s", what, name,
	           r->summary[0] ? r->summary : dns_status_text(r->status));
	switch (r->status) {
	case DNS_SERVFAIL:
		check_remedy(
		        c,
		        "The servers of %s's zone failed to answer (SERVFAIL: a broken zone, "
		        "a DNSSEC failure, or its servers are down). Check the zone at your DNS "
		        "host (dig %s %s), then run the check again.",
		        name, name, what);
		break;
	case DNS_REFUSED:
		check_remedy(c,
		             "%s refused the question: give a resolver that answers for this "
		             "host with --dns-server (mailferry batch set NAME --dns-server "
		             "HOST:PORT).",
		             server);
		break;
	case DNS_CNAME_LOOP:
		check_remedy(c,
		             "The aliases (CNAME) of %s loop or never end: fix them at your "
		             "DNS host.",
		             name);
		break;
	default:
		check_remedy(
		        c,
		        "%s did not answer in time or could not be reached: check the jump "
		        "host's DNS (/etc/resolv.conf) or the servers given with --dns-server, "
		        "then run the check again.",
		        server);
	}
}
