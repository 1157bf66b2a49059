/* mailferry - byte transport to an IMAP server (libcurl connect-only)
 *
 * libcurl does the connecting: name resolution, TCP (IPv4/IPv6), proxies
 * (socks5h:// through an SSH tunnel is common on jump hosts), implicit TLS
 * (imaps://) or STARTTLS with CURLUSESSL_ALL, certificate and host name
 * verification.  For STARTTLS libcurl reads the greeting, asks CAPABILITY,
 * sends STARTTLS and refuses a downgrade: no STARTTLS capability, a NO answer,
 * a PREAUTH greeting, or a response pipelined behind the STARTTLS OK (the
 * CVE-2021-22947 class) all fail the connection before any credential exists
 * on the wire.  It never authenticates: we pass no credentials, and speak IMAP
 * ourselves (src/imap) on the socket it hands over.
 *
 * The lines libcurl exchanged before handing over (greeting, CAPABILITY,
 * STARTTLS) are kept: the greeting identifies the server software, and a
 * PREAUTH greeting on a plaintext connection means no login is needed.
 *
 * A transport is used by one thread at a time.
 */
#ifndef MF_NET_TRANSPORT_H
#define MF_NET_TRANSPORT_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct mf_err;
struct mf_buf;

enum mf_security {
	MF_SEC_SSL = 0,  /* implicit TLS (993) */
	MF_SEC_STARTTLS, /* plaintext 143 upgraded with STARTTLS, required */
	MF_SEC_NONE,     /* no TLS at all: only with an explicit opt-in */
};

struct transport_opts {
	const char *host;          /* name, IPv4 or IPv6 literal (no brackets) */
	unsigned port;             /* 0: 993 for SSL, else 143 */
	enum mf_security security;
	int allow_plaintext;       /* required for MF_SEC_NONE */
	const char *ca_file;       /* PEM bundle to trust instead of the system's; NULL: system */
	int no_verify;             /* do not verify the certificate (TLS report only, never for mail) */
	int min_tls12;             /* refuse TLS older than 1.2 (all but a legacy source) */
	int legacy_tls;            /* allow TLS 1.0/1.1 and old ciphers (source opt-in) */
	const char *proxy;         /* e.g. socks5h://127.0.0.1:1080; NULL: none */
	const char *bind_address;  /* local address to connect from; NULL: any */
	long connect_timeout_ms;   /* 0: 30 s */
	FILE *trace;               /* borrowed: protocol trace (already redacted lines) or NULL */
	const char *trace_label;   /* prefix for trace lines, e.g. "source alice" */
};

/* What we learnt about TLS when connecting (for the step 2 and 6 checks). */
struct transport_tls_info {
	int tls;                 /* 0: the connection is plaintext */
	char protocol[16];       /* "TLSv1.3" */
	char cipher[64];
	char subject[256];
	char issuer[256];
	char sans[512];          /* "DNS:mail.example.org, IP Address:192.0.2.1" */
	char not_after[64];      /* as printed by OpenSSL */
	long days_left;          /* until expiry; negative when expired */
	long verify_result;      /* OpenSSL X509 verify code, 0 = OK */
	char verify_error[160];  /* in words, "" when OK */
	int hostname_match;      /* 1 if the certificate is valid for the host we asked for */
};

struct transport;

/* Connects (and for STARTTLS upgrades).  On failure err says, in words,
 * whether name resolution, the TCP connect, the TLS handshake, the
 * certificate (and why), or the STARTTLS negotiation failed. */
int transport_connect(const struct transport_opts *opts, struct transport **out,
		      struct mf_err *err);
void transport_close(struct transport *t);

/* The server's greeting line ("* OK [CAPABILITY ...] Dovecot ready."),
 * without CRLF; "" if libcurl did not show it to us. */
const char *transport_greeting(const struct transport *t);
/* The "* CAPABILITY ..." line (without CRLF) that answered libcurl's own
 * CAPABILITY command in the connect phase, inside TLS for ssl and STARTTLS
 * (what came in clear before STARTTLS is never kept); NULL if none. */
const char *transport_capability_line(const struct transport *t);
int transport_preauth(const struct transport *t);
int transport_is_tls(const struct transport *t);
int transport_tls_info(struct transport *t, struct transport_tls_info *info);
/* Round trip of the TCP connect and the whole connect phase, in ms. */
long transport_connect_ms(const struct transport *t);

/* Non-blocking I/O.  send: bytes sent (0 = would block).  recv: bytes read,
 * 0 = nothing available now.  Both return -1 with err filled (scope CONN;
 * MF_E_CLOSED when the server closed the connection). */
ssize_t transport_send(struct transport *t, const void *data, size_t len, struct mf_err *err);
ssize_t transport_recv(struct transport *t, void *buf, size_t len, struct mf_err *err);
/* The socket, for poll() over several connections (see transport_wait's rule). */
int transport_fd(const struct transport *t);
/* Waits until the socket is readable (and writable if want_write) or the
 * timeout passes.  Returns 1 ready, 0 timeout, -1 error.  Always call
 * transport_recv until it returns 0 before waiting: TLS may hold plaintext
 * that poll() cannot see. */
int transport_wait(struct transport *t, int want_write, long timeout_ms, struct mf_err *err);

/* Writes one trace line "label > text" or "label < text" (text already
 * redacted by the caller; secret_redact() is applied again here). */
void transport_trace(struct transport *t, char dir, const char *text, size_t len);

const char *mf_security_name(enum mf_security s); /* "ssl", "starttls", "none" */
int mf_security_parse(const char *s, enum mf_security *out);

#endif
