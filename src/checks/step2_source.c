/* mailferry - step 2: the source resolves, accepts TCP, has sound TLS, and who it is */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "batch.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "checks/facts.h"
#include "imap/parser.h"
#include "imap/session.h"
#include "net/transport.h"
#include "util/err.h"
#include "util/timeutil.h"

static int no_source(struct check_ctx *c)
{
	if (c->env->set->source.host)
		return 0;
	check_fail(c, "No source server is configured", "the batch has no --source");
	check_remedy(c, "mailferry batch set %s --source HOST[:PORT]",
	             c->env->set->name ? c->env->set->name : "NAME");
	return 1;
}

/* ---------------------------------------------------------------- source.reach */

/* A TCP connect to one address within timeout_ms: 0, or an errno. */
static int tcp_try(const struct addrinfo *ai, long timeout_ms)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                ai->ai_protocol);
	struct pollfd p;
	int e = 0, rc;
	socklen_t len = sizeof(e);

	if (fd < 0)
		return errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		close(fd);
		return 0;
	}
	if (errno != EINPROGRESS) {
		e = errno;
		close(fd);
		return e;
	}
	p.fd = fd;
	p.events = POLLOUT;
	rc = poll(&p, 1, (int)timeout_ms);
	if (rc == 0)
		e = ETIMEDOUT;
	else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len))
		e = errno;
	close(fd);
	return e;
}

void check_source_reach(struct check_ctx *c)
{
	const struct mf_endpoint *e = &c->env->set->source;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	char port[8], addrs[512] = "", why[256] = "";
	int64_t start;
	int rc, ok = 0;

	if (no_source(c))
		return;
	if (e->proxy) {
		check_skip(c, "Reached through a proxy",
		           "%s resolves and connects to %s for us: see source.tls", e->proxy,
		           e->host);
		return;
	}
	snprintf(port, sizeof(port), "%u", check_port(e));
	rc = getaddrinfo(e->host, port, &hints, &res);
	if (rc) {
		check_fail(c, "The source's name does not resolve", "%s: %s", e->host,
		           gai_strerror(rc));
		check_remedy(c,
		             "Check the server name %s (a typo?) and the jump host's DNS "
		             "(/etc/resolv.conf).",
		             e->host);
		return;
	}
	start = mono_ms();
	for (struct addrinfo *ai = res; ai && !ok; ai = ai->ai_next) {
		char a[64] = "?";
		int err;

		getnameinfo(ai->ai_addr, ai->ai_addrlen, a, sizeof(a), NULL, 0, NI_NUMERICHOST);
		snprintf(addrs + strlen(addrs), sizeof(addrs) - strlen(addrs), "%s%s",
		         addrs[0] ? ", " : "", a);
		err = tcp_try(ai, check_left_ms(c));
		if (!err)
			ok = 1;
		else
			snprintf(why, sizeof(why), "%s: %s", a, strerror(err));
	}
	freeaddrinfo(res);
	if (ok) {
		check_pass(c, "The source resolves and accepts TCP",
		           "%s resolves to %s; port %u accepted the connection in %ld ms", e->host,
		           addrs, check_port(e), (long)(mono_ms() - start));
		return;
	}
	check_fail(c, "The source does not accept connections", "%s (%s), port %u: %s", e->host,
	           addrs, check_port(e), why);
	check_remedy(c,
	             "Check that the IMAP service runs on port %u of %s and that firewalls let "
	             "this jump host in (ssl is usually 993, starttls 143).",
	             check_port(e), e->host);
}

/* ---------------------------------------------------------------- source.tls */

/* A certificate that ends within this many whole days may end during the
 * migration (a delta days later fails).  Not more: automated CAs renew a
 * 90-day certificate 30 days ahead, and short-lived ones always have a
 * few days left, so a wider window would warn about healthy servers. */
#define EXPIRY_WARN_DAYS 2

static void tls_verdict_ok(struct check_ctx *c, const struct transport_tls_info *t,
                           const char *host)
{
	if (check_tls_old(t->protocol)) {
		check_warn(c, "The source speaks only an old TLS version",
		           "%s (allowed for this source with --source-legacy-tls):", t->protocol);
		check_remedy(c, "TLS below 1.2 is deprecated for mail (RFC 8997): upgrade the "
		                "server's TLS; until then keep --source-legacy-tls.");
	} else if (t->days_left < EXPIRY_WARN_DAYS) {
		check_warn(c, "The source's certificate expires soon",
		           "in %ld day%s; a migration that runs past it will fail:", t->days_left,
		           t->days_left == 1 ? "" : "s");
		check_remedy(c, "Renew the certificate of %s before the migration ends.", host);
	} else {
		check_pass(c, "The source's TLS is sound", "%s:", host);
	}
	check_tls_report(c, t, host, NULL);
}

/* Why a certificate does not verify, in words, and what to do.  The report
 * comes from a second connection without verification (which reads the
 * certificate but checks no chain), so the chain's verdict is the first
 * connection's: why (libcurl's or OpenSSL's words). */
static void cert_verdict(struct check_ctx *c, const struct transport_tls_info *t, const char *host,
                         const char *side_opt, const char *why)
{
	if (t->days_left < 0) {
		check_fail(c, "The certificate has expired", "%s: expired on %s", host,
		           t->not_after);
		check_remedy(c,
		             "Renew the certificate of %s (mailferry never accepts an expired "
		             "certificate).",
		             host);
	} else if (!t->hostname_match) {
		check_fail(c, "The certificate is for another host name",
		           "%s is not among the names of the certificate (%s)", host,
		           t->sans[0] ? t->sans : t->subject);
		check_remedy(c,
		             "Connect with a name the certificate holds (see SANs below), or "
		             "reissue the certificate for %s.",
		             host);
	} else {
		check_fail(c, "The certificate is not trusted", "%s: %s", host, why);
		check_remedy(c,
		             "If the server uses a private CA, give its certificate with %s FILE "
		             "(mailferry batch set NAME %s FILE); otherwise install a certificate "
		             "from a public CA on %s.",
		             side_opt, side_opt, host);
	}
	check_tls_report(c, t, host, why);
}

/* The handshake failed: find out whether the server speaks only old TLS. */
static void tls_handshake_verdict(struct check_ctx *c, int source, const struct mf_err *first)
{
	const struct mf_endpoint *e = source ? &c->env->set->source : &c->env->set->target;
	struct check_probe p = {.no_verify = 1, .legacy_tls = 1};
	struct transport_tls_info t;
	struct imap_conn *conn = NULL;
	struct mf_err err;

	if (check_probe_open(c, source, &p, &conn, &err) == 0) {
		transport_tls_info(imap_transport(conn), &t);
		check_imap_close(c, source, conn);
		if (check_tls_old(t.protocol)) {
			check_fail(c,
			           source ? "The source speaks only an old TLS version"
			                  : "The target speaks only an old TLS version",
			           "%s offers only %s; mailferry requires TLS 1.2 or newer%s:",
			           e->host, t.protocol,
			           source ? " unless --source-legacy-tls is given"
			                  : " towards the target, always");
			if (source)
				check_remedy(c, "Upgrade the server's TLS (RFC 8997 deprecates TLS "
				                "below 1.2); until then: mailferry batch set NAME "
				                "--source-legacy-tls");
			else
				check_remedy(c, "Enable TLS 1.2 or 1.3 on the target server (RFC "
				                "8997).");
			check_tls_report(c, &t, e->host, NULL);
			return;
		}
	}
	check_fail(c, "The TLS handshake failed", "%s", first->msg);
	check_remedy(c, "Check the port and security (ssl on 993, starttls on 143) and the "
	                "server's TLS configuration.");
}

/* "source: the certificate of H is not trusted: <why> (use ...)" -> "<why>" */
static const char *cert_words(const char *msg)
{
	const char *p = strstr(msg, "is not trusted: ");

	return p ? p + 16 : msg;
}

void check_side_tls_failure(struct check_ctx *c, int source, const struct mf_err *err)
{
	const struct mf_endpoint *e = source ? &c->env->set->source : &c->env->set->target;
	struct check_probe p = {.no_verify = 1, .legacy_tls = source && e->legacy_tls};
	struct transport_tls_info t;
	struct imap_conn *conn = NULL;
	struct mf_err e2;

	if (err->code == MF_E_CERT && check_probe_open(c, source, &p, &conn, &e2) == 0) {
		transport_tls_info(imap_transport(conn), &t);
		check_imap_close(c, source, conn);
		cert_verdict(c, &t, e->host, source ? "--source-ca-file" : "--target-ca-file",
		             cert_words(err->msg));
	} else if (err->code == MF_E_TLS) {
		tls_handshake_verdict(c, source, err);
	} else {
		check_fail(c,
		           source ? "Cannot connect to the source" : "Cannot connect to the target",
		           "%s:%u (%s): %s", e->host, check_port(e), mf_security_name(e->security),
		           err->msg);
		check_remedy(c, "Check the server name, port and security (ssl on 993, starttls on "
		                "143), and that this jump host may connect.");
	}
}

void check_source_tls(struct check_ctx *c)
{
	const struct mf_endpoint *e = &c->env->set->source;
	struct check_probe p = {0};
	struct transport_tls_info t;
	struct imap_conn *conn = NULL;
	struct mf_err err;

	if (no_source(c))
		return;
	if (e->security == MF_SEC_NONE) {
		check_warn(c, "No TLS towards the source",
		           "security none (plaintext explicitly allowed): passwords and mail cross "
		           "the network in clear; there is no certificate to report");
		check_remedy(c,
		             "Use --source-security ssl (port 993) or starttls (port 143) if the "
		             "server offers it.");
		return;
	}
	if (check_probe_open(c, 1, &p, &conn, &err)) {
		check_side_tls_failure(c, 1, &err);
		return;
	}
	transport_tls_info(imap_transport(conn), &t);
	check_imap_close(c, 1, conn);
	tls_verdict_ok(c, &t, e->host);
}

/* ---------------------------------------------------------------- source.server */

struct id_info {
	char name[128], vendor[128], version[64];
};

static void copy_id_field(const struct imap_value *list, const char *key, char *out, size_t n)
{
	const struct imap_value *v = imap_list_get(list, key);

	if (v && v->type == IMAP_STRING)
		snprintf(out, n, "%s", v->str);
}

static void on_id(struct imap_conn *conn, const struct imap_response *r, void *aux)
{
	struct id_info *id = aux;

	(void)conn;
	if (!r->keyword || strcmp(r->keyword, "ID") || !r->args || r->args->len < 1 ||
	    r->args->items[0].type != IMAP_LIST)
		return;
	copy_id_field(&r->args->items[0], "name", id->name, sizeof(id->name));
	copy_id_field(&r->args->items[0], "vendor", id->vendor, sizeof(id->vendor));
	copy_id_field(&r->args->items[0], "version", id->version, sizeof(id->version));
}

static void list_caps(struct imap_conn *conn, char *out, size_t n)
{
	static const char *const caps[] = {
	        "IMAP4rev1",   "IMAP4rev2",   "STARTTLS",     "LOGINDISABLED",
	        "AUTH=PLAIN",  "AUTH=LOGIN",  "AUTH=XOAUTH2", "SASL-IR",
	        "ID",          "NAMESPACE",   "UIDPLUS",      "LITERAL+",
	        "LITERAL-",    "MULTIAPPEND", "SPECIAL-USE",  "LIST-EXTENDED",
	        "LIST-STATUS", "CONDSTORE",   "QRESYNC",      "MOVE",
	        "IDLE",        "ENABLE",      "UTF8=ACCEPT",  "QUOTA",
	};

	out[0] = 0;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (imap_has_cap(conn, caps[i]))
			snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? " " : "",
			         caps[i]);
}

static void server_verdict(struct check_ctx *c, const struct server_identity *s)
{
	const struct mf_endpoint *e = &c->env->set->source;
	const char *who = s->name[0] ? s->name : "an IMAP server mailferry does not recognise";

	if (e->auth != MF_AUTH_ADMIN) {
		check_pass(c,
		           s->name[0] ? "The source server is identified"
		                      : "The source answers as an IMAP server",
		           "%s; each mailbox logs in with its own UserName and Password", who);
	} else if (s->kind == SRV_UNKNOWN) {
		check_warn(c, "Could not tell which server software the source runs",
		           "the admin login form %s is configured",
		           mf_admin_form_name(e->admin_form));
		check_remedy(c,
		             "Make sure the server accepts the %s admin form; step 4 "
		             "(credentials.source) logs in every mailbox with it.",
		             mf_admin_form_name(e->admin_form));
	} else if (!facts_form_fits(s, e->admin_form)) {
		check_warn(c, "The admin login form does not fit the source server",
		           "%s with the %s form", s->name, mf_admin_form_name(e->admin_form));
		check_remedy(c, "%s takes %s.", s->name, s->advice);
	} else {
		check_pass(c, "The source server is identified",
		           "%s; the configured admin form %s fits it", s->name,
		           mf_admin_form_name(e->admin_form));
	}
}

void check_source_server(struct check_ctx *c)
{
	struct check_probe p = {0};
	struct imap_conn *conn = NULL;
	struct id_info id = {0};
	const struct server_identity *s;
	char caps[512];
	struct mf_err err;
	int unverified = 0;

	if (no_source(c))
		return;
	if (check_probe_open(c, 1, &p, &conn, &err)) {
		if (err.code != MF_E_CERT) {
			check_fail(c, "Cannot connect to the source", "%s", err.msg);
			check_remedy(c, "See source.reach and source.tls.");
			return;
		}
		/* no credential is sent here: identify it over an unverified connection */
		p.no_verify = 1;
		unverified = 1;
		if (check_probe_open(c, 1, &p, &conn, &err)) {
			check_fail(c, "Cannot connect to the source", "%s", err.msg);
			check_remedy(c, "See source.reach and source.tls.");
			return;
		}
	}
	if (imap_has_cap(conn, "ID"))
		imap_simple(conn, on_id, &id, &err, "ID NIL");
	s = facts_identify_server(imap_greeting(conn), id.name[0] ? id.name : NULL,
	                          id.vendor[0] ? id.vendor : NULL);
	list_caps(conn, caps, sizeof(caps));
	server_verdict(c, s);
	check_detail(c, "greeting: %s", imap_greeting(conn)[0] ? imap_greeting(conn) : "(none)");
	if (id.name[0] || id.vendor[0])
		check_detail(c, "ID: name \"%s\", vendor \"%s\", version \"%s\"", id.name,
		             id.vendor, id.version);
	check_detail(c, "capabilities before login: %s", caps[0] ? caps : "(none announced)");
	if (s->kind != SRV_UNKNOWN)
		check_detail(c, "admin login on %s: %s", s->name, s->advice);
	if (!imap_has_cap(conn, "IMAP4rev1") && !imap_has_cap(conn, "IMAP4rev2"))
		check_detail(c, "the server does not announce IMAP4rev1 before login");
	if (unverified)
		check_detail(c, "(identified over a connection whose certificate did not verify; "
		                "see source.tls)");
	check_imap_close(c, 1, conn);
}
