/* mailferry - byte transport to an IMAP server (libcurl connect-only) */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "net/transport.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/secret.h"
#include "util/timeutil.h"

struct transport {
	CURL *curl;
	curl_socket_t fd;
	int tls;
	int preauth;
	int starttls_sent; /* libcurl sent STARTTLS (seen in its debug output) */
	char *host;              /* owned: for the host name check */
	char greeting[512];
	/* The last "* CAPABILITY" line libcurl received in its connect phase
	 * since TLS began ("" when none, or when it did not fit): what a STARTTLS
	 * server said in clear is wiped when STARTTLS is sent, never used. */
	char caps[1024];
	char tls_protocol[16];   /* from the handshake ("TLSv1.3"), "" before */
	char tls_cipher[64];
	char errbuf[CURL_ERROR_SIZE];
	long connect_ms;
	FILE *trace;             /* borrowed */
	char label[96];
};

const char *mf_security_name(enum mf_security s)
{
	switch (s) {
	case MF_SEC_SSL:
		return "ssl";
	case MF_SEC_STARTTLS:
		return "starttls";
	case MF_SEC_NONE:
		return "none";
	}
	return "?";
}

int mf_security_parse(const char *s, enum mf_security *out)
{
	if (!strcasecmp(s, "ssl") || !strcasecmp(s, "tls") || !strcasecmp(s, "imaps"))
		*out = MF_SEC_SSL;
	else if (!strcasecmp(s, "starttls"))
		*out = MF_SEC_STARTTLS;
	else if (!strcasecmp(s, "none") || !strcasecmp(s, "plain"))
		*out = MF_SEC_NONE;
	else
		return -1;
	return 0;
}

void transport_trace(struct transport *t, char dir, const char *text, size_t len)
{
	struct mf_buf line;
	char stamp[32];

	if (!t->trace)
		return;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	buf_init(&line, 0);
	time_rfc3339_now(stamp, sizeof(stamp));
	if (buf_printf(&line, "%s %s %c ", stamp, t->label, dir) == 0 &&
	    buf_append(&line, text, len) == 0 && buf_putc(&line, '\n') == 0 &&
	    secret_redact(&line) == 0) {
		fwrite(line.data, 1, line.len, t->trace);
		fflush(t->trace);
	}
	buf_free(&line);
}

/* Keeps one response line without its CRLF, or "" when it does not fit
 * (half a capability list would be worse than none). */
static void keep_line(char *dst, size_t cap, const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len >= cap || memchr(line, 0, len)) {
		dst[0] = 0;
		return;
	}
	memcpy(dst, line, len);
	dst[len] = 0;
}

/* libcurl shows us the IMAP lines it exchanged during the connect phase. */
static int on_curl_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *aux)
{
	struct transport *t = aux;

	(void)curl;
	if (type == CURLINFO_HEADER_IN) {
		if (!t->greeting[0]) {
			size_t n = size < sizeof(t->greeting) - 1 ? size : sizeof(t->greeting) - 1;

			memcpy(t->greeting, data, n);
			while (n && (t->greeting[n - 1] == '\n' || t->greeting[n - 1] == '\r'))
				n--;
			t->greeting[n] = 0;
			t->preauth = !strncasecmp(t->greeting, "* PREAUTH", 9);
		}
		if (size > 13 && !strncasecmp(data, "* CAPABILITY ", 13))
			keep_line(t->caps, sizeof(t->caps), data, size);
		transport_trace(t, '<', data, size);
	} else if (type == CURLINFO_HEADER_OUT) {
		if (size >= 8 && memmem(data, size, "STARTTLS", 8)) {
			t->starttls_sent = 1;
			t->caps[0] = 0;
		}
		transport_trace(t, '>', data, size);
	} else if (type == CURLINFO_TEXT && log_enabled(LOG_DEBUG)) {
		log_debug("%s: curl: %.*s", t->label, (int)(size && data[size - 1] == '\n' ? size - 1 : size),
			  data);
	}
	return 0;
}

static char *build_url(const struct transport_opts *o)
{
	unsigned port = o->port ? o->port : (o->security == MF_SEC_SSL ? 993 : 143);
	int v6 = strchr(o->host, ':') != NULL;

	return mf_sprintf("%s://%s%s%s:%u/", o->security == MF_SEC_SSL ? "imaps" : "imap",
			  v6 ? "[" : "", o->host, v6 ? "]" : "", port);
}

/* The protocol and cipher are noted when the handshake is done: libcurl
 * hands out its SSL pointer only after our first read or write, and the
 * checks report on TLS before that. */
static int ssl_ctx_index = -1;
static pthread_once_t ssl_ctx_index_once = PTHREAD_ONCE_INIT;

static void make_ssl_ctx_index(void)
{
	ssl_ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static void on_ssl_info(const SSL *ssl, int where, int ret)
{
	struct transport *t;
	const SSL_CIPHER *c;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_DONE) ||
	    !(t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_ctx_index)))
		return;
	snprintf(t->tls_protocol, sizeof(t->tls_protocol), "%s", SSL_get_version(ssl));
	if ((c = SSL_get_current_cipher(ssl)))
		snprintf(t->tls_cipher, sizeof(t->tls_cipher), "%s", SSL_CIPHER_get_name(c));
}

static CURLcode on_ssl_ctx(CURL *curl, void *ctx, void *aux)
{
	(void)curl;
	if (ssl_ctx_index >= 0 && SSL_CTX_set_ex_data(ctx, ssl_ctx_index, aux))
		SSL_CTX_set_info_callback(ctx, on_ssl_info);
	return CURLE_OK;
}

static int setup(struct transport *t, const struct transport_opts *o, const char *url)
{
	CURL *c = t->curl;
	int rc = 0;

	rc |= curl_easy_setopt(c, CURLOPT_URL, url);
	rc |= curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
	rc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			       o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 30000L);
	/* Required TLS: never CURLUSESSL_TRY, which silently continues in clear. */
	rc |= curl_easy_setopt(c, CURLOPT_USE_SSL,
			       o->security == MF_SEC_NONE ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	rc |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, o->no_verify ? 0L : 1L);
	rc |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, o->no_verify ? 0L : 2L);
	rc |= curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
	/* Every connection is new: never one reused across TLS settings (the
	 * CVE-2026-8286 class).  (FORBID_REUSE would close it after "perform",
	 * and connect-only connections are never reused anyway.) */
	rc |= curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	if (o->ca_file)
		rc |= curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	if (o->legacy_tls) {
		rc |= curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_0);
		rc |= curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, "DEFAULT:@SECLEVEL=0");
	} else if (o->min_tls12) {
		rc |= curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	}
	if (o->proxy)
		rc |= curl_easy_setopt(c, CURLOPT_PROXY, o->proxy);
	if (o->bind_address)
		rc |= curl_easy_setopt(c, CURLOPT_INTERFACE, o->bind_address);
	rc |= curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_curl_debug);
	rc |= curl_easy_setopt(c, CURLOPT_DEBUGDATA, t);
	rc |= curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	/* Not every TLS backend has it: then the SSL pointer is the fallback. */
	pthread_once(&ssl_ctx_index_once, make_ssl_ctx_index);
	if (curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, t) == CURLE_OK)
		curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	return rc;
}

static int fail_connect(struct transport *t, const struct transport_opts *o, CURLcode cc,
			struct mf_err *err)
{
	const char *why = t->errbuf[0] ? t->errbuf : curl_easy_strerror(cc);
	long verify = 0;

	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return mf_fail(err, MF_SCOPE_CONN, MF_E_RESOLVE, "cannot resolve %s: %s", o->host,
			       why);
	case CURLE_COULDNT_CONNECT:
		return mf_fail(err, MF_SCOPE_CONN, MF_E_CONNECT, "cannot connect to %s port %u: %s",
			       o->host, o->port, why);
	case CURLE_OPERATION_TIMEDOUT:
		return mf_fail(err, MF_SCOPE_CONN, MF_E_TIMEOUT, "connecting to %s timed out: %s",
			       o->host, why);
	case CURLE_PEER_FAILED_VERIFICATION:
		/* OpenSSL's reason when it has a specific one; libcurl's own
		 * (which names a host name mismatch) when OpenSSL's is only
		 * "unspecified" */
		curl_easy_getinfo(t->curl, CURLINFO_SSL_VERIFYRESULT, &verify);
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CERT,
			       "the certificate of %s is not trusted: %s%s", o->host,
			       verify > X509_V_ERR_UNSPECIFIED ? X509_verify_cert_error_string(verify)
							       : why,
			       o->ca_file ? "" : " (use --ca-file to trust a private CA)");
	case CURLE_USE_SSL_FAILED:
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_TLS,
			       "%s refused to start TLS, so nothing was sent: %s", o->host, why);
	case CURLE_SSL_CONNECT_ERROR:
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_TLS, "TLS handshake with %s failed: %s",
			       o->host, why);
	case CURLE_WEIRD_SERVER_REPLY:
		/* libcurl refuses a response that came with (or right after) the
		 * STARTTLS answer, in clear: an injection (CVE-2021-22947's case).
		 * Trying again would meet the same attacker. */
		if (t->starttls_sent)
			return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_TLS,
				       "%s sent more than its answer to STARTTLS before TLS began "
				       "(a response injected in clear?): refused, nothing was sent",
				       o->host);
		__attribute__((fallthrough)); /* a plain protocol surprise */
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return mf_fail(err, MF_SCOPE_CONN, MF_E_PROTO, "%s answered unexpectedly: %s",
			       o->host, why);
	default:
		return mf_fail(err, MF_SCOPE_CONN, MF_E_CONNECT, "connecting to %s failed: %s",
			       o->host, why);
	}
}

int transport_connect(const struct transport_opts *o, struct transport **out, struct mf_err *err)
{
	struct transport *t;
	char *url;
	CURLcode cc;
	int64_t start;

	*out = NULL;
	if (o->security == MF_SEC_NONE && !o->allow_plaintext)
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CONFIG,
			       "refusing to connect to %s without TLS: plaintext needs an explicit "
			       "opt-in for this server (--allow-plaintext)",
			       o->host);
	t = mf_calloc(1, sizeof(*t));
	url = build_url(o);
	if (!t || !url || !(t->host = mf_strdup(o->host)) || !(t->curl = curl_easy_init())) {
		free(url);
		transport_close(t);
		return mf_fail_nomem(err, MF_SCOPE_MAILBOX);
	}
	t->trace = o->trace;
	snprintf(t->label, sizeof(t->label), "%s", o->trace_label ? o->trace_label : o->host);
	t->fd = CURL_SOCKET_BAD;
	if (setup(t, o, url)) {
		free(url);
		transport_close(t);
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_INTERNAL, "libcurl rejected an option");
	}
	free(url);
	start = mono_ms();
	cc = curl_easy_perform(t->curl);
	t->connect_ms = (long)(mono_ms() - start);
	if (cc != CURLE_OK) {
		fail_connect(t, o, cc, err);
		transport_close(t);
		return -1;
	}
	if (curl_easy_getinfo(t->curl, CURLINFO_ACTIVESOCKET, &t->fd) != CURLE_OK ||
	    t->fd == CURL_SOCKET_BAD) {
		transport_close(t);
		return mf_fail(err, MF_SCOPE_CONN, MF_E_CONNECT, "libcurl gave no socket");
	}
	t->tls = o->security != MF_SEC_NONE;
	*out = t;
	return 0;
}

void transport_close(struct transport *t)
{
	if (!t)
		return;
	if (t->curl)
		curl_easy_cleanup(t->curl);
	free(t->host);
	free(t);
}

const char *transport_greeting(const struct transport *t)
{
	return t->greeting;
}

const char *transport_capability_line(const struct transport *t)
{
	return t->caps[0] ? t->caps : NULL;
}

int transport_preauth(const struct transport *t)
{
	return t->preauth;
}

int transport_is_tls(const struct transport *t)
{
	return t->tls;
}

long transport_connect_ms(const struct transport *t)
{
	return t->connect_ms;
}

ssize_t transport_send(struct transport *t, const void *data, size_t len, struct mf_err *err)
{
	size_t sent = 0;
	CURLcode cc = curl_easy_send(t->curl, data, len, &sent);

	if (cc == CURLE_AGAIN)
		return 0;
	if (cc != CURLE_OK)
		return mf_fail(err, MF_SCOPE_CONN, MF_E_CLOSED, "sending to the server failed: %s",
			       curl_easy_strerror(cc));
	return (ssize_t)sent;
}

ssize_t transport_recv(struct transport *t, void *buf, size_t len, struct mf_err *err)
{
	size_t got = 0;
	CURLcode cc = curl_easy_recv(t->curl, buf, len, &got);

	if (cc == CURLE_AGAIN)
		return 0;
	if (cc != CURLE_OK)
		return mf_fail(err, MF_SCOPE_CONN, MF_E_CLOSED, "receiving from the server failed: %s",
			       curl_easy_strerror(cc));
	if (got == 0)
		return mf_fail(err, MF_SCOPE_CONN, MF_E_CLOSED, "the server closed the connection");
	return (ssize_t)got;
}

int transport_fd(const struct transport *t)
{
	return (int)t->fd;
}

int transport_wait(struct transport *t, int want_write, long timeout_ms, struct mf_err *err)
{
	struct pollfd p = {.fd = t->fd, .events = POLLIN | (want_write ? POLLOUT : 0)};
	int n;

	do
		n = poll(&p, 1, (int)(timeout_ms > 0x7fffffff ? 0x7fffffff : timeout_ms));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return mf_fail(err, MF_SCOPE_CONN, MF_E_IO, "poll: %s", strerror(errno));
	return n > 0;
}

/* ---------------------------------------------------------------- TLS report */

static void copy_field(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src);
}

static void info_from_certinfo(struct transport *t, struct transport_tls_info *info, X509 **leaf)
{
	struct curl_certinfo *ci = NULL;

	if (curl_easy_getinfo(t->curl, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci ||
	    ci->num_of_certs < 1)
		return;
	for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next) {
		if (!strncmp(s->data, "Subject:", 8))
			copy_field(info->subject, sizeof(info->subject), s->data + 8);
		else if (!strncmp(s->data, "Issuer:", 7))
			copy_field(info->issuer, sizeof(info->issuer), s->data + 7);
		else if (!strncmp(s->data, "X509v3 Subject Alternative Name:", 32))
			copy_field(info->sans, sizeof(info->sans), s->data + 32);
		else if (!strncmp(s->data, "Expire date:", 12))
			copy_field(info->not_after, sizeof(info->not_after), s->data + 12);
		else if (!strncmp(s->data, "Cert:", 5) && !*leaf) {
			BIO *bio = BIO_new_mem_buf(s->data + 5, -1);

			if (bio) {
				*leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
				BIO_free(bio);
			}
		}
	}
}

int transport_tls_info(struct transport *t, struct transport_tls_info *info)
{
	struct curl_tlssessioninfo *ti = NULL;
	X509 *leaf = NULL;
	int day = 0, sec = 0;

	memset(info, 0, sizeof(*info));
	info->tls = t->tls;
	if (!t->tls)
		return 0;
	info_from_certinfo(t, info, &leaf);
	curl_easy_getinfo(t->curl, CURLINFO_SSL_VERIFYRESULT, &info->verify_result);
	if (info->verify_result)
		copy_field(info->verify_error, sizeof(info->verify_error),
			   X509_verify_cert_error_string(info->verify_result));
	if (leaf) {
		info->hostname_match = X509_check_host(leaf, t->host, 0, 0, NULL) == 1 ||
				       X509_check_ip_asc(leaf, t->host, 0) == 1;
		if (ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(leaf)))
			info->days_left = day;
		X509_free(leaf);
	}
	copy_field(info->protocol, sizeof(info->protocol), t->tls_protocol);
	copy_field(info->cipher, sizeof(info->cipher), t->tls_cipher);
	/* Without the handshake callback: the SSL pointer, which libcurl shows
	 * once our own layer has read or written. */
	if (!info->protocol[0] &&
	    curl_easy_getinfo(t->curl, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK && ti &&
	    ti->backend == CURLSSLBACKEND_OPENSSL && ti->internals) {
		SSL *ssl = ti->internals;
		const SSL_CIPHER *c = SSL_get_current_cipher(ssl);

		copy_field(info->protocol, sizeof(info->protocol), SSL_get_version(ssl));
		if (c)
			copy_field(info->cipher, sizeof(info->cipher), SSL_CIPHER_get_name(c));
	}
	return 0;
}
