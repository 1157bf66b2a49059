/* Fuzz target for a whole IMAP client session against a scripted server
 * (src/imap/session.c, auth.c, ops.c, parser.c, the libcurl transport).
 *
 * The input scripts what a server answers; a server thread plays it on a
 * loopback socket (the client's transport is libcurl connect-only, so it needs
 * a real one) while this thread runs a session as the engine does: connect
 * (plaintext or STARTTLS: the server side then does TLS with a certificate
 * made at start-up), log in (LOGIN, SASL PLAIN with an authorization id, or
 * XOAUTH2), NAMESPACE, LIST, STATUS, EXAMINE, UID FETCH of the metadata, UID
 * FETCH of the bodies into a literal sink, CREATE, APPEND (one message from
 * memory, one from a file; MULTIAPPEND when asked), UID STORE, LOGOUT.  A
 * step that fails is followed by the next while the connection lives.
 *
 * Input layout:
 *   byte 0      mode: bits 0-1 security (1 or 3: STARTTLS, else plaintext),
 *               bit 2 SASL PLAIN with an authorization id, bit 3 XOAUTH2,
 *               bit 4 MULTIAPPEND, bit 5 the body sink refuses the literal,
 *               bits 6-7 pipeline depth (1, 2, 8, 64)
 *   the rest    the server's script: sections separated by a line "--" (the
 *               section answers the client's next line: a command, a part of
 *               a command up to a synchronising literal, or a continuation
 *               answer) or "-->" (sent at once).  The first section, the
 *               greeting, is sent at once.  "$T" in a section stands for the
 *               tag of the client's last command.  When the script is used
 *               up the server closes the connection.
 * A section answering STARTTLS that contains "<tag> OK" is followed by the
 * TLS handshake.
 *
 * When does the server send the next section?  As soon as the client has
 * sent a complete line, or when the client waits for the server (it is
 * blocked in poll(): this file interposes poll() to know it), so a script
 * that leaves a command unanswered costs no timeout and every run is
 * deterministic.
 *
 * Checks besides the sanitizers: the password and the XOAUTH2 token never
 * reach the protocol trace and never cross the wire before TLS in STARTTLS
 * mode; only BODY.PEEK is ever fetched; a streamed literal delivers exactly
 * its announced size; metadata comes back sorted by UID; folder names are
 * never empty.
 *
 * FUZZ_SESSION_DEBUG=1 prints what each side sends (for writing seeds).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "imap/ops.h"
#include "imap/parser.h"
#include "imap/session.h"
#include "imap/syntax.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_session: check failed: %s (line %d)\n", #cond,       \
			        __LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define PASSWORD           "fuzz-Pw-9c1e7a"
#define XOAUTH2            "dXNlcj1hbGljZQFhdXRoPUJlYXJlciBmdXp6LXRva2VuLTU1YQEB" /* fuzz-token-55a */
#define MAX_SECTIONS       256
#define MAX_CLIENT_LITERAL (1u << 20)

/* ---------------------------------------------------------------- set-up (once) */

static int listen_fd = -1;
static unsigned listen_port;
static SSL_CTX *server_ctx;
static char ca_path[64];
static int debug;

static void remove_ca(void)
{
	if (ca_path[0])
		unlink(ca_path);
}

/* A self-signed certificate for 127.0.0.1 (CA:TRUE so it is its own trust
 * anchor), written where the client's ca_file can find it. */
static int make_certificate(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	FILE *f;
	int fd, ok = 0;

	if (!key || !x)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                           (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE"))) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1"))) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (!X509_sign(x, key, EVP_sha256()))
		goto out;
	snprintf(ca_path, sizeof(ca_path), "/tmp/fuzz_session-ca-XXXXXX");
	if ((fd = mkstemp(ca_path)) < 0 || !(f = fdopen(fd, "w")))
		goto out;
	atexit(remove_ca);
	PEM_write_X509(f, x);
	fclose(f);
	server_ctx = SSL_CTX_new(TLS_server_method());
	ok = server_ctx && SSL_CTX_use_certificate(server_ctx, x) == 1 &&
	     SSL_CTX_use_PrivateKey(server_ctx, key) == 1;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return ok ? 0 : -1;
}

static void setup_once(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	debug = getenv("FUZZ_SESSION_DEBUG") != NULL;
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_ALL);
	if (make_certificate()) {
		fprintf(stderr, "fuzz_session: cannot make a certificate\n");
		abort();
	}
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(listen_fd, 8) || getsockname(listen_fd, (struct sockaddr *)&a, &len)) {
		perror("fuzz_session: listen");
		abort();
	}
	listen_port = ntohs(a.sin_port);
}

/* ---------------------------------------------------------------- knowing the client waits */

/* The client thread is in poll() (a wait with a timeout, for reading) on
 * client_fd.  When, moreover, that socket holds no unread byte, the client
 * has consumed everything the server sent and waits for more. */
static atomic_int client_waiting;
static atomic_int client_fd = -1;
static pthread_t client_thread;
static atomic_int tracking;

/* gcc 12 with -O2 and ASan warns that the caller's pollfd array may be
 * uninitialised: it cannot see the callers (libcurl, the session) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
int poll(struct pollfd *fds, nfds_t n, int timeout);
int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	struct timespec ts, *tp = NULL;
	int track = timeout != 0 && atomic_load(&tracking) &&
	            pthread_equal(pthread_self(), client_thread);
	int rc;

	/* waiting to write (or for a connect to complete) is not waiting for us */
	for (nfds_t i = 0; track && i < n; i++)
		track = !(fds[i].events & POLLOUT);

	if (timeout >= 0) {
		ts.tv_sec = timeout / 1000;
		ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
		tp = &ts;
	}
	if (track && n > 0) {
		atomic_store(&client_fd, fds[0].fd);
		atomic_fetch_add(&client_waiting, 1);
	} else {
		track = 0;
	}
	rc = ppoll(fds, n, tp, NULL);
	if (track)
		atomic_fetch_sub(&client_waiting, 1);
	return rc;
}

/* ---------------------------------------------------------------- the server */

struct section {
	const uint8_t *p;
	size_t len;
	int wait; /* wait for a client line first */
};

struct server {
	struct section sec[MAX_SECTIONS];
	size_t nsec;
	int starttls; /* the client was told to use STARTTLS */
	int fd;
	SSL *ssl;
	/* what the client sent, not yet consumed as lines */
	char in[65536];
	size_t inlen;
	uint64_t skip; /* literal bytes still to discard */
	char tag[64];  /* tag of the last command */
	char verb[32]; /* its verb, upper case */
	int cont;      /* the next line continues a command (after a literal) */
	int eof;
	int plain_leak; /* a secret crossed the wire in clear in STARTTLS mode */
	int body_fetch; /* a BODY[ fetch without .PEEK */
};

static void split_script(struct server *s, const uint8_t *p, size_t n)
{
	size_t start = 0, i = 0;
	int wait = 0;

	s->nsec = 0;
	while (i <= n && s->nsec < MAX_SECTIONS) {
		size_t line = i, end;
		int sep = 0, next_wait = 1;

		if (i == n) {
			s->sec[s->nsec++] = (struct section){p + start, n - start, wait};
			break;
		}
		while (i < n && p[i] != '\n')
			i++;
		end = i;
		if (end > line && p[end - 1] == '\r')
			end--;
		if (end - line == 2 && !memcmp(p + line, "--", 2))
			sep = 1;
		else if (end - line == 3 && !memcmp(p + line, "-->", 3))
			sep = 1, next_wait = 0;
		if (i < n)
			i++; /* the LF */
		if (sep) {
			s->sec[s->nsec++] = (struct section){p + start, line - start, wait};
			start = i;
			wait = next_wait;
		}
	}
}

static ssize_t srv_read(struct server *s, void *buf, size_t n)
{
	if (s->ssl) {
		int r = SSL_read(s->ssl, buf, (int)n);

		if (r > 0)
			return r;
		return SSL_get_error(s->ssl, r) == SSL_ERROR_WANT_READ ? -2 : 0;
	}
	{
		ssize_t r = recv(s->fd, buf, n, MSG_DONTWAIT);

		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -2 : 0;
		return r;
	}
}

static void srv_write(struct server *s, const void *p, size_t n)
{
	const char *c = p;
	int idle = 0;

	if (debug)
		fprintf(stderr, "S: %.*s%s", (int)n, c, n && c[n - 1] == '\n' ? "" : "\n");
	while (n && !s->eof) {
		struct pollfd pf = {.fd = s->fd, .events = POLLOUT};
		struct timespec ts = {0, 1000000L};
		ssize_t w;

		if (s->ssl) {
			int r = SSL_write(s->ssl, c, (int)(n > 65536 ? 65536 : n)), e;

			w = r;
			if (r <= 0) {
				e = SSL_get_error(s->ssl, r);
				if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
					s->eof = 1;
					return;
				}
				pf.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
				w = 0;
			}
		} else {
			w = send(s->fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				s->eof = 1;
				return;
			}
		}
		if (w > 0) {
			c += w;
			n -= (size_t)w;
			idle = 0;
			continue;
		}
		if (++idle > 3000) {
			s->eof = 1; /* the client stopped reading for 3 s */
			return;
		}
		ppoll(&pf, 1, &ts, NULL);
	}
}

/* Checks bytes the client sent (a line, or literal bytes we skip). */
static void client_bytes(struct server *s, const char *p, size_t n)
{
	if (!s->ssl && s->starttls &&
	    (memmem(p, n, PASSWORD, strlen(PASSWORD)) || memmem(p, n, XOAUTH2, strlen(XOAUTH2))))
		s->plain_leak = 1;
}

/* Notes a line the client sent: its tag and verb when it begins a command. */
static void client_line(struct server *s, const char *line, size_t n, int continued)
{
	const char *sp = memchr(line, ' ', n);
	size_t k = 0;

	if (debug)
		fprintf(stderr, "C: %.*s\n", (int)n, line);
	client_bytes(s, line, n);
	if (memmem(line, n, "BODY[", 5))
		s->body_fetch = 1; /* BODY.PEEK[ does not contain "BODY[" */
	/* A command is "tag SP verb ..." with an alphanumeric tag; anything else
	 * (a SASL answer, the rest of a command after a literal) keeps the tag. */
	if (continued || !sp || sp == line || (size_t)(sp - line) >= sizeof(s->tag))
		return;
	for (const char *c = line; c < sp; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		      (*c >= '0' && *c <= '9')))
			return;
	memcpy(s->tag, line, (size_t)(sp - line));
	s->tag[sp - line] = 0;
	for (const char *c = sp + 1; c < line + n && *c != ' ' && k < sizeof(s->verb) - 1; c++)
		s->verb[k++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
	s->verb[k] = 0;
}

/* The size of a literal announced at the end of a line ("{12}" or "{12+}"):
 * 1 synchronising, 2 non-synchronising, 0 none. */
static int trailing_literal(const char *p, size_t n, uint64_t *size)
{
	size_t i = n, digits;
	int plus = 0;

	if (!n || p[n - 1] != '}')
		return 0;
	i = n - 1;
	if (i && p[i - 1] == '+')
		plus = 1, i--;
	digits = i;
	while (i && p[i - 1] >= '0' && p[i - 1] <= '9')
		i--;
	if (i == digits || digits - i > 10 || !i || p[i - 1] != '{')
		return 0;
	*size = strtoull(p + i, NULL, 10);
	return plus ? 2 : 1;
}

static void wait_readable(struct server *s, int ms)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	struct timespec ts = {0, (long)ms * 1000000L};

	if (s->ssl && SSL_pending(s->ssl))
		return;
	ppoll(&p, 1, &ts, NULL);
}

/* Whether the client waits for the server (see client_waiting): it is in
 * poll(), everything the server wrote has left its socket (TCP_NODELAY, no
 * byte waiting to be sent) and the client has read it all. */
static int client_blocked(const struct server *s)
{
	int fd = atomic_load(&client_fd), avail = 0, unsent = 0;

	return atomic_load(&client_waiting) > 0 && fd >= 0 &&
	       ioctl(s->fd, SIOCOUTQNSD, &unsent) == 0 && unsent == 0 &&
	       ioctl(fd, FIONREAD, &avail) == 0 && avail == 0;
}

enum { EV_EOF = -1, EV_WAITING = 0, EV_LINE = 1 };

/* Waits for the client's next line (or part of a line up to a synchronising
 * literal), skipping the literals it sends.  EV_WAITING when the client is
 * blocked waiting for us instead. */
static int next_event(struct server *s, int *continued)
{
	int idle = 0;

	for (;;) {
		char *nl;
		ssize_t r;

		if (s->skip && s->inlen) {
			size_t k = s->skip < s->inlen ? (size_t)s->skip : s->inlen;

			client_bytes(s, s->in, k);
			memmove(s->in, s->in + k, s->inlen - k);
			s->inlen -= k;
			s->skip -= k;
		}
		if (!s->skip && (nl = memchr(s->in, '\n', s->inlen))) {
			size_t n = (size_t)(nl - s->in), used = n + 1;
			uint64_t lit = 0;
			int kind;

			if (n && s->in[n - 1] == '\r')
				n--;
			*continued = s->cont;
			client_line(s, s->in, n, s->cont);
			kind = trailing_literal(s->in, n, &lit);
			memmove(s->in, s->in + used, s->inlen - used);
			s->inlen -= used;
			s->cont = kind != 0;
			s->skip = kind ? (lit < MAX_CLIENT_LITERAL ? lit : MAX_CLIENT_LITERAL) : 0;
			if (kind != 2)
				return EV_LINE;
			continue;
		}
		if (s->inlen == sizeof(s->in)) {
			*continued = s->cont;
			client_line(s, s->in, s->inlen, s->cont);
			s->inlen = 0;
			return EV_LINE;
		}
		r = srv_read(s, s->in + s->inlen, sizeof(s->in) - s->inlen);
		if (r > 0) {
			s->inlen += (size_t)r;
			idle = 0;
			continue;
		}
		if (r == 0)
			return EV_EOF;
		if (client_blocked(s)) {
			/* the client sent everything before it began to wait: one
			 * more look, then it is our turn */
			r = srv_read(s, s->in + s->inlen, sizeof(s->in) - s->inlen);
			if (r > 0) {
				s->inlen += (size_t)r;
				continue;
			}
			if (r == 0)
				return EV_EOF;
			return EV_WAITING;
		}
		if (++idle > 3000)
			return EV_WAITING; /* a safety net: 3 s of nothing at all */
		wait_readable(s, 1);
	}
}

static int tls_accept(struct server *s)
{
	int idle = 0;

	if (!(s->ssl = SSL_new(server_ctx)) || SSL_set_fd(s->ssl, s->fd) != 1)
		return -1;
	for (;;) {
		int r = SSL_accept(s->ssl), e;
		struct pollfd p = {.fd = s->fd};
		struct timespec ts = {0, 1000000L};

		if (r == 1)
			return 0;
		e = SSL_get_error(s->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			p.events = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			p.events = POLLOUT;
		else
			return -1;
		if (++idle > 3000)
			return -1;
		ppoll(&p, 1, &ts, NULL);
	}
}

/* Sends a section with $T replaced by the tag of the client's last command. */
static void send_section(struct server *s, const struct section *sec, int *tls_now)
{
	struct mf_buf out;
	const char *tag = s->tag[0] ? s->tag : "T0";
	char ok[80];

	buf_init(&out, 0);
	for (size_t i = 0; i < sec->len; i++) {
		if (sec->p[i] == '$' && i + 1 < sec->len && sec->p[i + 1] == 'T') {
			buf_puts(&out, tag);
			i++;
		} else {
			buf_putc(&out, (char)sec->p[i]);
		}
	}
	snprintf(ok, sizeof(ok), "%s OK", tag);
	*tls_now = s->starttls && !s->ssl && !strcmp(s->verb, "STARTTLS") && out.len &&
	           memmem(out.data, out.len, ok, strlen(ok));
	if (out.len)
		srv_write(s, out.data, out.len);
	buf_free(&out);
}

static void *server_main(void *aux)
{
	struct server *s = aux;
	struct pollfd p = {.fd = listen_fd, .events = POLLIN};
	struct timespec ts = {5, 0};
	int tls_now = 0, continued = 0, one = 1;

	s->fd = -1;
	if (ppoll(&p, 1, &ts, NULL) != 1 ||
	    (s->fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0)
		return NULL;
	/* no Nagle: a section must reach the client before we judge it waits */
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (size_t i = 0; i < s->nsec && !s->eof; i++) {
		if (i > 0 && s->sec[i].wait && next_event(s, &continued) == EV_EOF)
			break;
		send_section(s, &s->sec[i], &tls_now);
		if (tls_now) {
			s->inlen = 0;
			s->skip = 0;
			s->cont = 0;
			if (tls_accept(s))
				break;
		}
	}
	if (s->ssl) {
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	return NULL;
}

/* ---------------------------------------------------------------- the client */

struct sink_state {
	int refuse;
	int open;
	uint64_t expect, got;
	unsigned literals;
};

static int sink_begin(void *aux, const struct imap_response *partial, const char *key,
                      uint64_t size, struct mf_err *err)
{
	struct sink_state *st = aux;

	(void)partial;
	st->open = 0;
	if (!key || strcmp(key, "BODY[]"))
		return 0;
	if (st->refuse)
		return mf_fail(err, MF_SCOPE_FOLDER, MF_E_IO, "the sink refuses %llu bytes",
		               (unsigned long long)size);
	st->open = 1;
	st->expect = size;
	st->got = 0;
	return 1;
}

static int sink_write(void *aux, const char *data, size_t n, struct mf_err *err)
{
	struct sink_state *st = aux;

	(void)data;
	(void)err;
	CHECK(st->open && n > 0);
	st->got += n;
	CHECK(st->got <= st->expect);
	return 0;
}

static int sink_end(void *aux, struct mf_err *err)
{
	struct sink_state *st = aux;

	(void)err;
	CHECK(st->open);
	CHECK(st->got == st->expect);
	st->open = 0;
	st->literals++;
	return 0;
}

static void on_body(struct imap_conn *c, const struct imap_response *r, void *aux)
{
	struct imap_msginfo info;

	(void)c;
	(void)aux;
	if (!r->keyword || strcmp(r->keyword, "FETCH") || !r->args || r->args->len < 1)
		return;
	memset(&info, 0, sizeof(info));
	if (imap_parse_fetch(&r->args->items[0], &info) == 0)
		free(info.flags);
}

static void fetch_bodies(struct imap_conn *c, int refuse)
{
	struct sink_state st = {.refuse = refuse};
	struct imap_literal_sink sink = {sink_begin, sink_write, sink_end, &st};
	struct imap_cmd *cmd = imap_cmd_new(c);
	struct mf_err err;
	int ok = 0;

	if (!cmd)
		return;
	if (imap_cmd_text(cmd, "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE "
	                       "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE)] BODY.PEEK[])")) {
		imap_cmd_free(cmd);
		return;
	}
	imap_cmd_on_untagged(cmd, on_body, NULL);
	imap_cmd_set_sink(cmd, &sink);
	imap_exec(c, cmd, &ok, &err);
}

static void session(uint8_t mode, FILE *trace)
{
	static const unsigned depths[] = {1, 2, 8, 64};
	static const char msg1[] = "Message-ID: <1@fuzz>\r\nSubject: one\r\n\r\nbody\r\n";
	static const char msg2[] = "Subject: two (no Message-ID)\r\n\r\nfrom a file\r\n";
	atomic_int cancel = 1; /* waits of a throttled answer end at once */
	struct imap_conn_opts o;
	struct imap_conn *c = NULL;
	struct mf_secret *pw = secret_new(PASSWORD, strlen(PASSWORD));
	struct mf_secret *tok = secret_new(XOAUTH2, strlen(XOAUTH2));
	struct imap_creds cr = {.user = "alice"};
	struct mf_err err;
	struct imap_folder *folders = NULL;
	struct imap_msginfo *mi = NULL;
	size_t n = 0;
	char *prefix = NULL, delim = 0;
	int existed = 0, fd = -1;

	memset(&o, 0, sizeof(o));
	o.net.host = "127.0.0.1";
	o.net.port = listen_port;
	o.net.security = (mode & 1) ? MF_SEC_STARTTLS : MF_SEC_NONE;
	o.net.allow_plaintext = 1;
	o.net.ca_file = ca_path;
	o.net.min_tls12 = 1;
	o.net.connect_timeout_ms = 5000;
	o.net.trace = trace;
	o.pipeline_depth = depths[mode >> 6];
	o.timeout_ms = 10000;
	o.max_mem_literal = 4096;
	o.label = "fuzz";
	o.cancel = &cancel;
	if (!pw || !tok)
		goto out;
	if (mode & 8)
		cr.xoauth2 = tok;
	else
		cr.password = pw;
	if (mode & 4)
		cr.authzid = "bob";
	if (imap_connect(&o, &c, &err))
		goto out;
	imap_has_cap(c, "IMAP4rev1");
	(void)imap_greeting(c);
	(void)imap_server_name(c);
	if (imap_login(c, &cr, &err) && imap_is_dead(c))
		goto out;
	if (!imap_personal_namespace(c, &prefix, &delim, &err))
		free(prefix);
	if (imap_is_dead(c))
		goto out;
	if (!imap_list_folders(c, NULL, &folders, &n, &err)) {
		for (size_t i = 0; i < n; i++)
			CHECK(folders[i].name && folders[i].name[0]);
		imap_folders_free(folders, n);
	}
	if (imap_is_dead(c))
		goto out;
	{
		struct imap_status_info si;

		imap_status(c, "INBOX", &si, &err);
	}
	if (imap_is_dead(c) || (imap_select(c, "INBOX", 1, &err) && imap_is_dead(c)))
		goto out;
	(void)imap_selected_state(c);
	n = 0;
	if (!imap_fetch_meta(c, "1:*", 1, &mi, &n, &err)) {
		for (size_t i = 1; i < n; i++)
			CHECK(mi[i - 1].uid <= mi[i].uid);
		imap_msginfos_free(mi, n);
	}
	if (imap_is_dead(c))
		goto out;
	fetch_bodies(c, (mode & 32) != 0);
	if (imap_is_dead(c) || (imap_create(c, "Archive/2024", &existed, &err) && imap_is_dead(c)))
		goto out;
	imap_subscribe(c, "Archive/2024", &err);
	fd = memfd_create("fuzz_session", MFD_CLOEXEC);
	if (fd >= 0 && write(fd, msg2, sizeof(msg2) - 1) == (ssize_t)(sizeof(msg2) - 1) &&
	    !imap_is_dead(c)) {
		struct imap_append_msg m[2] = {
		        {.flags = "\\Seen $Label1",
		         .date = "01-Jan-2020 10:10:00 +0000",
		         .mem = msg1,
		         .len = sizeof(msg1) - 1},
		        {.flags = "", .fd = fd, .off = 0, .len = sizeof(msg2) - 1},
		};
		struct imap_append_result res[2];

		memset(res, 0, sizeof(res));
		if (imap_append(c, "Archive/2024", m, 2, (mode & 16) != 0, res, &err) == 0 &&
		    !imap_is_dead(c)) {
			struct uidset u;

			uidset_init(&u);
			if (!uidset_add(&u, res[0].uid ? res[0].uid : 1))
				imap_add_flags(c, &u, "\\Flagged", &err);
			uidset_free(&u);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	imap_close(c);
	secret_free(pw);
	secret_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct server *s;
	pthread_t th;
	char *tr = NULL, *lg = NULL;
	size_t trlen = 0, lglen = 0;
	FILE *trace, *logf;

	if (!ready) {
		setup_once();
		ready = 1;
	}
	if (size < 1)
		return 0;
	if (!(s = calloc(1, sizeof(*s))))
		return 0;
	s->starttls = data[0] & 1;
	split_script(s, data + 1, size - 1);
	trace = open_memstream(&tr, &trlen);
	logf = open_memstream(&lg, &lglen);
	if (!trace || !logf)
		abort();
	log_set_echo(logf, LOG_DEBUG);
	client_thread = pthread_self();
	atomic_store(&tracking, 1);
	if (pthread_create(&th, NULL, server_main, s))
		abort();
	session(data[0], trace);
	pthread_join(th, NULL);
	atomic_store(&tracking, 0);
	log_set_echo(NULL, LOG_ERROR);
	fclose(trace);
	fclose(logf);
	if (debug)
		fprintf(stderr, "--- trace:\n%s--- log:\n%s", tr ? tr : "", lg ? lg : "");
	CHECK(!s->plain_leak);
	CHECK(!s->body_fetch);
	CHECK(!memmem(tr, trlen, PASSWORD, strlen(PASSWORD)));
	CHECK(!memmem(tr, trlen, XOAUTH2, strlen(XOAUTH2)));
	CHECK(!memmem(lg, lglen, PASSWORD, strlen(PASSWORD)));
	CHECK(!memmem(lg, lglen, XOAUTH2, strlen(XOAUTH2)));
	free(tr);
	free(lg);
	free(s);
	return 0;
}
