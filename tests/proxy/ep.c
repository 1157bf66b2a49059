/* mailferry tests - mfproxy: one end of a proxied connection, plain or TLS
 *
 * Sockets are non-blocking.  With TLS, OpenSSL may need the socket readable
 * to write or writable to read; need_in/need_out record what the last call
 * asked for so that the poll loop can wait for it.  A TLS write that could
 * not complete must be repeated with the same length (tls_retry).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "mfproxy.h"

void ep_init(struct ep *e, int fd, const char *name)
{
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	e->state = EP_READY;
	e->pfd = -1;
	e->name = name;
}

static void ep_ssl_error(char *errbuf, size_t errlen, const char *what)
{
	unsigned long code = ERR_get_error();
	char detail[200];

	if (code)
		ERR_error_string_n(code, detail, sizeof(detail));
	else if (errno)
		snprintf(detail, sizeof(detail), "%s", strerror(errno));
	else
		snprintf(detail, sizeof(detail), "connection closed");
	snprintf(errbuf, errlen, "%s: %s", what, detail);
	ERR_clear_error();
}

/* Classifies a failed TLS call: EP_AGAIN (with need flags), 0 (EOF) or EP_ERR. */
static long ep_ssl_result(struct ep *e, int r, const char *what, char *errbuf, size_t errlen)
{
	switch (SSL_get_error(e->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		e->need_in = 1;
		return EP_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		e->need_out = 1;
		return EP_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && (errno == 0 || r == 0))
			return 0; /* EOF without close_notify */
		ep_ssl_error(errbuf, errlen, what);
		return EP_ERR;
	default:
		ep_ssl_error(errbuf, errlen, what);
		return EP_ERR;
	}
}

long ep_read(struct ep *e, char *buf, size_t n, char *errbuf, size_t errlen)
{
	int r;

	if (!e->tls) {
		ssize_t got = recv(e->fd, buf, n, 0);

		if (got >= 0)
			return (long)got;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return EP_AGAIN;
		snprintf(errbuf, errlen, "%s", strerror(errno));
		return EP_ERR;
	}
	ERR_clear_error();
	errno = 0;
	r = SSL_read(e->ssl, buf, n > 16384 ? 16384 : (int)n);
	if (r > 0)
		return r;
	return ep_ssl_result(e, r, "TLS read", errbuf, errlen);
}

long ep_write(struct ep *e, const char *buf, size_t n, char *errbuf, size_t errlen)
{
	int r;

	if (!e->tls) {
		ssize_t put = send(e->fd, buf, n, MSG_NOSIGNAL);

		if (put >= 0)
			return (long)put;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return EP_AGAIN;
		snprintf(errbuf, errlen, "%s", strerror(errno));
		return EP_ERR;
	}
	ERR_clear_error();
	errno = 0;
	r = SSL_write(e->ssl, buf, (int)n);
	if (r > 0) {
		e->tls_retry = 0;
		return r;
	}
	r = (int)ep_ssl_result(e, r, "TLS write", errbuf, errlen);
	if (r == EP_AGAIN) {
		e->tls_retry = n;
		return EP_AGAIN;
	}
	if (r == 0)
		snprintf(errbuf, errlen, "TLS write: connection closed");
	return EP_ERR;
}

/* Whether s is an IPv4 or IPv6 address (verified as an IP, not a name). */
static int is_ip(const char *s)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

int ep_start_tls(struct ep *e, SSL_CTX *ctx, int server_role, const char *verify_name,
                 const char *sni, char *errbuf, size_t errlen)
{
	e->ssl = SSL_new(ctx);
	if (!e->ssl || !SSL_set_fd(e->ssl, e->fd)) {
		ep_ssl_error(errbuf, errlen, "TLS setup");
		return -1;
	}
	SSL_set_mode(e->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	e->server_role = server_role;
	if (server_role) {
		SSL_set_accept_state(e->ssl);
	} else {
		X509_VERIFY_PARAM *vp = SSL_get0_param(e->ssl);
		char host[256]; /* the SNI macro wants a mutable string; OpenSSL copies it */
		int ok;

		SSL_set_connect_state(e->ssl);
		if (verify_name && is_ip(verify_name))
			ok = X509_VERIFY_PARAM_set1_ip_asc(vp, verify_name);
		else
			ok = X509_VERIFY_PARAM_set1_host(vp, verify_name, 0);
		snprintf(host, sizeof(host), "%s", sni ? sni : "");
		if (!ok || (sni && !SSL_set_tlsext_host_name(e->ssl, host))) {
			ep_ssl_error(errbuf, errlen, "TLS setup");
			return -1;
		}
	}
	e->state = EP_HANDSHAKE;
	e->tls_retry = 0;
	return 0;
}

int ep_handshake(struct ep *e, char *errbuf, size_t errlen)
{
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(e->ssl);
	if (r == 1) {
		e->tls = 1;
		e->state = EP_READY;
		return 1;
	}
	switch (SSL_get_error(e->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		e->need_in = 1;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		e->need_out = 1;
		return 0;
	default:
		if (!e->server_role && SSL_get_verify_result(e->ssl) != X509_V_OK) {
			snprintf(errbuf, errlen,
			         "TLS handshake: certificate verification failed: %s",
			         X509_verify_cert_error_string(SSL_get_verify_result(e->ssl)));
			ERR_clear_error();
			return -1;
		}
		ep_ssl_error(errbuf, errlen, "TLS handshake");
		return -1;
	}
}

int ep_has_pending(const struct ep *e)
{
	return e->tls && e->ssl && SSL_pending(e->ssl) > 0;
}

void ep_shutdown_write(struct ep *e)
{
	if (e->wr_shut || e->fd < 0)
		return;
	if (e->tls) {
		ERR_clear_error();
		SSL_shutdown(e->ssl); /* close_notify; the answer does not matter */
		ERR_clear_error();
	}
	shutdown(e->fd, SHUT_WR);
	e->wr_shut = 1;
}

int ep_drain(struct ep *e)
{
	char buf[4096];

	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(e->fd, buf, sizeof(buf), 0);

		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : 1;
	}
	return 0;
}

long ep_unsent(const struct ep *e)
{
	int v = 0;

	if (e->fd < 0 || ioctl(e->fd, SIOCOUTQ, &v) < 0)
		return 0;
	return v;
}

void ep_close(struct ep *e, int rst)
{
	if (e->ssl) {
		SSL_free(e->ssl);
		e->ssl = NULL;
	}
	if (e->fd >= 0) {
		if (rst) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};

			setsockopt(e->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(e->fd);
		e->fd = -1;
	}
	e->tls = 0;
	e->state = EP_CLOSED;
}
