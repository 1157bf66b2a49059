/* mailferry - step 6: the migration endpoint (source) and the target, tested live */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "batch.h"
#include "batch/connect.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "checks/facts.h"
#include "imap/session.h"
#include "net/transport.h"
#include "util/err.h"
#include "util/timeutil.h"

struct endpoint_notes {
	const char *title; /* the first warning's title, NULL: none */
	char lines[3][320];
	int n;
};

static void note(struct endpoint_notes *w, const char *title, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void note(struct endpoint_notes *w, const char *title, const char *fmt, ...)
{
	va_list ap;

	if (!w->title)
		w->title = title;
	if (w->n < 3) {
		va_start(ap, fmt);
		vsnprintf(w->lines[w->n++], sizeof(w->lines[0]), fmt, ap);
		va_end(ap);
	}
}

/* Whether the system's CAs (not the batch's --ca-file) would trust the side. */
static int trusted_by_system(struct check_ctx *c, int source, struct mf_err *err)
{
	struct check_probe p = {.system_ca = 1};
	struct imap_conn *conn = NULL;

	if (check_probe_open(c, source, &p, &conn, err))
		return err->code == MF_E_CERT ? 0 : -1;
	check_imap_close(c, source, conn);
	return 1;
}

static void endpoint_warnings(struct check_ctx *c, int source, const struct transport_tls_info *t,
                              struct endpoint_notes *w)
{
	const struct mf_endpoint *e = source ? &c->env->set->source : &c->env->set->target;
	const char *side = source ? "source" : "target";
	struct mf_err err;

	if (e->security == MF_SEC_NONE)
		note(w,
		     source ? "The source is reached without TLS"
		            : "The target is reached without TLS",
		     "plaintext to %s (explicitly allowed): passwords and mail cross the network "
		     "in clear",
		     e->host);
	if (check_tls_old(t->protocol))
		note(w, "TLS older than 1.2", "%s speaks %s (allowed with --source-legacy-tls)",
		     e->host, t->protocol);
	if (e->security != MF_SEC_NONE && e->ca_file && trusted_by_system(c, source, &err) == 0)
		note(w, "The certificate is trusted only through --ca-file",
		     "%s's certificate verifies with %s but not with the system's CAs", e->host,
		     e->ca_file);
	(void)side;
}

static void endpoint_remedy(struct check_ctx *c, int source)
{
	const struct mf_endpoint *e = source ? &c->env->set->source : &c->env->set->target;
	const char *opt = source ? "--source" : "--target";

	if (e->security == MF_SEC_NONE)
		check_remedy_add(c,
		                 "Use %s-security ssl (port 993) or starttls (port 143) if the "
		                 "server offers it.",
		                 opt);
	if (e->ca_file)
		check_remedy_add(c, "Fine for a private server; other clients (and Microsoft's own "
		                    "migration service) will not trust this certificate: a "
		                    "certificate from a public CA avoids that.");
}

static void endpoint_failed(struct check_ctx *c, int source, const struct mf_err *err,
                            const char *who)
{
	if (err->code == MF_E_AUTH && err->scope != MF_SCOPE_BATCH) {
		check_fail(c,
		           source ? "The source refused the login" : "The target refused the login",
		           "as %s: %s", who ? who : "?", err->msg);
		check_remedy(c, "The connection works; check the credentials (see step 4 for every "
		                "row, step 1 users.imap for the target).");
		return;
	}
	if (err->code == MF_E_AUTH || err->code == MF_E_CONFIG) {
		check_graph_failed(c, "get a token for the target", err);
		return;
	}
	check_side_tls_failure(c, source, err);
}

static void check_endpoint(struct check_ctx *c, int source)
{
	const struct mf_endpoint *e = source ? &c->env->set->source : &c->env->set->target;
	struct endpoint_notes w = {0};
	struct transport_tls_info t;
	struct imap_conn *conn = NULL;
	const char *who = NULL;
	struct mf_err err;
	int64_t start;
	long rtt = -1;

	if (!e->host) {
		check_fail(c, source ? "No source server is configured" : "No target is configured",
		           "the batch has no %s", source ? "--source" : "--target");
		return;
	}
	if (check_imap_open_first(c, source, &conn, &who, &err)) {
		endpoint_failed(c, source, &err, who);
		return;
	}
	start = mono_ms();
	if (imap_simple(conn, NULL, NULL, &err, "NOOP") == 0)
		rtt = (long)(mono_ms() - start);
	transport_tls_info(imap_transport(conn), &t);
	endpoint_warnings(c, source, &t, &w);
	if (w.title)
		check_warn(c, w.title, "%s:%u (%s)", e->host, check_port(e),
		           mf_security_name(e->security));
	else
		check_pass(c,
		           source ? "The source answers with TLS" : "The target answers with TLS",
		           "%s:%u (%s), %s %s", e->host, check_port(e),
		           mf_security_name(e->security), t.protocol, t.cipher);
	for (int i = 0; i < w.n; i++)
		check_detail(c, "%s", w.lines[i]);
	check_detail(c, "connected in %ld ms; round trip (NOOP) %ld ms",
	             transport_connect_ms(imap_transport(conn)), rtt);
	if (who)
		check_detail(c, "logged in as %s in %ld ms", who, imap_login_ms(conn));
	else
		check_detail(c, "no mailbox in the CSV: the login was not tried");
	if (w.title)
		endpoint_remedy(c, source);
	check_imap_close(c, source, conn);
}

void check_endpoint_source(struct check_ctx *c)
{
	check_endpoint(c, 1);
}

void check_endpoint_target(struct check_ctx *c)
{
	check_endpoint(c, 0);
}

/* the runtime libcurl against the known STARTTLS vulnerabilities. */
void check_endpoint_curl(struct check_ctx *c)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	const struct mf_batch_settings *s = c->env->set;
	const struct curl_cve *cves[8];
	size_t n = facts_curl_starttls_cves(v->version_num, cves, 8);
	int src = s->source.security == MF_SEC_STARTTLS,
	    tgt = s->target.security == MF_SEC_STARTTLS;

	if (!n) {
		check_pass(c, "libcurl has no known STARTTLS flaw", "runtime libcurl %s (%s)",
		           v->version, v->ssl_version ? v->ssl_version : "no TLS");
		return;
	}
	if (!src && !tgt) {
		check_pass(c, "libcurl's known STARTTLS flaws do not apply",
		           "runtime libcurl %s (%s) is in the range of %s, but neither side uses "
		           "STARTTLS",
		           v->version, v->ssl_version ? v->ssl_version : "no TLS", cves[0]->id);
		return;
	}
	check_warn(c, "libcurl is in a known STARTTLS vulnerability range",
	           "runtime libcurl %s (%s); the %s%s%s uses STARTTLS:", v->version,
	           v->ssl_version ? v->ssl_version : "no TLS", src ? "source" : "",
	           src && tgt ? " and the " : "", tgt ? "target" : "");
	for (size_t i = 0; i < n; i++)
		check_detail(c, "  %s: %s", cves[i]->id, cves[i]->what);
	check_detail(c, "Distributions backport fixes without changing the version number "
	                "(Debian 12 ships 7.88.1 with patches), so this may be a false positive: "
	                "check your distribution's security tracker for these CVEs.");
	check_remedy(c,
	             "Prefer implicit TLS (--%s-security ssl, port 993) where the server "
	             "offers it, or update libcurl.",
	             src ? "source" : "target");
}
