/* mailferry tests - mfproxy, a TCP fault proxy that breaks IMAP on purpose
 *
 * mfproxy sits between a client and a real server (the lab's Dovecot) and,
 * as the rules on its command line say, drops, resets, stalls, delays,
 * throttles, slices, rewrites and injects traffic, per connection and per
 * direction, at exact byte offsets or at IMAP lines matching a regex.  It
 * counts the client's commands by verb without being fooled by literals, and
 * it can terminate TLS (implicit, or after STARTTLS) so that all of this also
 * works inside TLS.  The complete reference is the usage text below
 * (`mfproxy --help`); the helpers in tests/proxy/proxy.sh start and stop it
 * from a shell test.  Typical uses:
 *
 *   # RST in the middle of an APPEND literal, on the first connection only
 *   mfproxy --upstream 127.0.0.1:$SRC_PORT --port-file p \
 *           --rule 'reset dir=c2s match=" APPEND " after=500 conn=1'
 *   # hang after LOGIN: the server's answers never arrive
 *   mfproxy ... --rule 'blackhole dir=s2c when=" LOGIN "'
 *   # CVE-2021-22947: a response in the same segment as the STARTTLS OK
 *   mfproxy ... --rule 'inject dir=s2c when=" STARTTLS$" icase match="^[^ ]+ OK"
 *                       data="* OK [CAPABILITY IMAP4rev1] injected\r\n"'
 *   # STARTTLS stripping
 *   mfproxy ... --rule 'rewrite dir=s2c match=" STARTTLS" replace=""'
 *
 * Design: one process, one poll loop, non-blocking sockets; see mfproxy.h for
 * the data flow.  Nothing but the files named on the command line is
 * written; the listening port comes from the kernel.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "util/mem.h"
#include "util/timeutil.h"
#include "mfproxy.h"

static const char usage_text[] =
        "Usage: mfproxy --upstream HOST:PORT [OPTION]... [--rule RULE]...\n"
        "\n"
        "A TCP fault proxy for mailferry's tests.  It listens on a loopback port chosen by\n"
        "the kernel, forwards every connection to HOST:PORT and breaks the traffic on\n"
        "purpose as the rules say.  Connections are numbered from 1 in the order they\n"
        "are accepted.  It runs until SIGTERM or SIGINT (or --watch-pid, --lifetime),\n"
        "then closes every connection, writes the counts file and exits 0.\n"
        "\n"
        "Where:\n"
        "  --upstream HOST:PORT    where to forward to ([::1]:PORT for IPv6)   (required)\n"
        "  --listen ADDR           address to listen on (default 127.0.0.1); the port is\n"
        "                          always chosen by the kernel\n"
        "  --upstream-source ADDR  local address of upstream connections, e.g. 127.0.0.2\n"
        "                          (the lab's Dovecot then shows LOGINDISABLED)\n"
        "  --port-file FILE        write the port number to FILE (atomically) once listening\n"
        "  --name NAME             stdout gets one line NAME_PORT=<port> (default PROXY)\n"
        "\n"
        "Records:\n"
        "  --log FILE              one line per event: connections, TLS, rules firing\n"
        "                          (\"rule N (...) fired at c2s byte 1234\"), byte counts\n"
        "  --counts FILE           client commands by IMAP verb, written at exit and on\n"
        "                          SIGUSR1 (atomically: remove the file, send SIGUSR1,\n"
        "                          wait for it to reappear).  Format, one per line,\n"
        "                          sorted, tab-separated:\n"
        "                            VERB<TAB>N        all commands (\"UID FETCH\", \"APPEND\")\n"
        "                            connections<TAB>N connections accepted\n"
        "                            plain:VERB<TAB>N  those that came from the client\n"
        "                                              without TLS (verbs never seen: absent)\n"
        "                          Counting skips literal bytes ({n} and {n+}: an APPEND\n"
        "                          body that contains \"a1 LOGIN x y\" is not a LOGIN), SASL\n"
        "                          lines after AUTHENTICATE, the DONE of IDLE, and a\n"
        "                          synchronizing literal the server refused.  Without TLS\n"
        "                          termination, commands inside TLS are not seen.\n"
        "\n"
        "TLS termination (default none: the bytes pass through, TLS inside is opaque):\n"
        "  --tls implicit          the client speaks TLS to the proxy and the proxy speaks\n"
        "                          TLS to the upstream (for an imaps port)\n"
        "  --tls starttls          plaintext until the client's STARTTLS; once the server\n"
        "                          answers OK, TLS on both sides.  Each side switches on\n"
        "                          its own: if a rule turns the OK the client sees into NO,\n"
        "                          the client side stays plaintext while the upstream\n"
        "                          side goes TLS.  Client bytes sent after STARTTLS but\n"
        "                          before its handshake are logged and discarded.\n"
        "  --tls-cert FILE         certificate shown to the client (lab: certs/good.crt)\n"
        "  --tls-key FILE          its key (lab: certs/good.key)\n"
        "  --tls-ca FILE           CA that must have signed the upstream's certificate\n"
        "                          (lab: ca/ca.crt); the upstream is always verified\n"
        "  --tls-verify-name NAME  name or IP the upstream certificate must match\n"
        "                          (default: the upstream host)\n"
        "  --tls-sni NAME          server name sent to the upstream (default: the upstream\n"
        "                          host when it is a name)\n"
        "  With termination, the rules and the counts see the plaintext IMAP, and byte\n"
        "  offsets count plaintext bytes (before and after STARTTLS together).\n"
        "  Without termination, once the server answered STARTTLS with OK (or the\n"
        "  client opened with a TLS ClientHello) the rest of the connection is opaque:\n"
        "  line rules and counts stop there; byte positions and shaping go on, counting\n"
        "  raw TLS bytes.\n"
        "\n"
        "Life:\n"
        "  --watch-pid PID         exit when process PID is gone (pass the test's $$)\n"
        "  --lifetime SEC          exit after SEC seconds whatever happens\n"
        "  --check                 parse the rules, print them one per line, exit\n"
        "                          (status 0 if all are valid, 2 otherwise)\n"
        "  --help, --version\n"
        "\n"
        "Rules (--rule, repeatable; each is one argument: a kind, then key=value words):\n"
        "\n"
        "  Common keys:\n"
        "    dir=c2s|s2c|both  direction: client->server or server->client (delay, rate\n"
        "                      and slice default to both; the others need c2s or s2c)\n"
        "    conn=N|all        only the N-th connection (from 1), or every one (default)\n"
        "    when=REGEX        the rule is armed only once a line of the OTHER direction\n"
        "                      matched, e.g. a s2c rule with when=\" LOGIN \" acts on what\n"
        "                      the server sends after the client sent LOGIN\n"
        "    icase             (a flag, no value) regexes of this rule ignore case\n"
        "\n"
        "  Byte positions (the connection breaks at an exact offset):\n"
        "    close     dir= [after=N] [match=REGEX] [when=]   FIN on both sides\n"
        "    reset     dir= [after=N] [match=REGEX] [when=]   RST on both sides\n"
        "    blackhole dir= [after=N] [match=REGEX] [when=]   forward nothing more in that\n"
        "              direction, keep the connection open, never pass on its FIN\n"
        "    The offset counts bytes forwarded in that direction: from the start of the\n"
        "    connection; or from the start of the first line matching match= (so\n"
        "    match=\" LOGIN \" with after=0 stops the LOGIN itself); or, without match=,\n"
        "    from the moment when= armed the rule.  Exactly N bytes are delivered, then\n"
        "    the close happens (a reset waits until the peer has acknowledged them).\n"
        "    Queued data of the other direction is discarded.  No TLS close_notify is sent.\n"
        "\n"
        "  Shaping (every chunk, for the whole connection):\n"
        "    delay     ms=M [jitter=J]         hold every chunk read for M ms (+- J ms,\n"
        "                                      reproducible, never reordering chunks)\n"
        "    rate      bps=N                   at most N bytes per second (writes of\n"
        "                                      about 50 ms worth each)\n"
        "    slice     [size=1] [gap=MS]       write in pieces of size bytes, MS ms apart\n"
        "                                      (TCP_NODELAY: each write is its own segment)\n"
        "    Numbers take k (x1024) and m (x1048576) suffixes: bps=64k.\n"
        "\n"
        "  IMAP lines (a line is what ends in LF outside literals; regexes are POSIX\n"
        "  extended, matched against the line without its CRLF):\n"
        "    inject    dir= match=REGEX data=BYTES [count=1]   after the matching line,\n"
        "              in the same write (same TCP segment) as the line itself\n"
        "    rewrite   dir= match=REGEX replace=TEXT [count=all]  replace every match in\n"
        "              the line; \\0..\\9 in TEXT are the matched groups; rewrites chain\n"
        "    drop      dir= match=REGEX [count=all]            remove the whole line\n"
        "    count=N   fire on at most N lines per connection.  drop, inject and match=\n"
        "              look at the line as received; rewrites see each other's results.\n"
        "    A direction with line rules (or match=) forwards each line only once its\n"
        "    LF has arrived; literal bytes always flow through unmatched.\n"
        "\n"
        "  Values are bare words or \"double-quoted\"; in both, \\r \\n \\t \\\" \\\\ and \\xHH\n"
        "  are decoded and every other backslash sequence is kept (regex \\. \\[ \\( work).\n"
        "\n"
        "Examples:\n"
        "  close dir=s2c after=1000                     client gets exactly 1000 bytes, then FIN\n"
        "  reset dir=c2s match=\" APPEND \" after=300 conn=1   RST inside the APPEND literal\n"
        "  blackhole dir=s2c when=\" LOGIN \"             answers stop after the client's LOGIN\n"
        "  slice dir=s2c size=1 gap=1                   server bytes one by one, 1 ms apart\n"
        "  delay ms=500 jitter=200   rate bps=64k      R-03: latency 500 +- 200 ms, 64 KB/s\n"
        "  rewrite dir=s2c match=\" STARTTLS\" replace=\"\"   strip STARTTLS from CAPABILITY\n"
        "  rewrite dir=s2c when=\" STARTTLS$\" icase match=\"^([^ ]+) OK .*\"\n"
        "          replace=\"\\1 NO STARTTLS refused\" count=1     answer STARTTLS with NO\n"
        "  rewrite dir=s2c match=\"^\\* OK\" replace=\"* PREAUTH\" count=1   PREAUTH greeting\n"
        "  inject dir=s2c when=\" STARTTLS$\" icase match=\"^[^ ]+ OK\"\n"
        "          data=\"* OK [ALERT] injected\\r\\n\"      response injection (CVE-2021-22947)\n"
        "  drop dir=s2c match=\"^\\* [0-9]+ EXISTS\"       lose EXISTS updates\n"
        "\n"
        "Signals: SIGTERM/SIGINT exit cleanly, SIGUSR1 writes the counts file.\n"
        "Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage.\n"
        "From a shell test: tests/proxy/proxy.sh (proxy_start, proxy_count, proxy_stop).\n";

static struct px px;
static struct conn *conns;
static long conn_seq;
static int listen_fd = -1;
static struct addrinfo *up_ai;
static struct sockaddr_storage up_src;
static socklen_t up_src_len;
static int sig_fds[2] = {-1, -1};
static volatile sig_atomic_t sig_term, sig_usr1;

struct options {
	const char *upstream, *listen, *upstream_source, *port_file, *name;
	const char *log, *counts, *tls, *cert, *key, *ca, *verify_name, *sni;
	long watch_pid, lifetime;
	int check;
	const char **rules;
	int nrules;
	char *up_host, *up_port; /* owned: split from upstream */
};

static struct options opt;

/* ------------------------------------------------------------------ logging */

void px_log(struct px *p, const char *fmt, ...)
{
	va_list ap;
	int64_t t;

	if (!p->log)
		return;
	t = mono_ms() - p->t0;
	fprintf(p->log, "%" PRId64 ".%03" PRId64 " ", t / 1000, t % 1000);
	va_start(ap, fmt);
	vfprintf(p->log, fmt, ap);
	va_end(ap);
	fputc('\n', p->log);
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("mfproxy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(mfproxy --help tells more)\n", stderr);
	exit(2);
}

/* ------------------------------------------------------------------ options */

static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	const char *a = argv[*i];
	size_t nl = strlen(name);

	if (!strncmp(a, name, nl) && a[nl] == '=')
		return a + nl + 1;
	if (*i + 1 >= argc)
		die_usage("%s needs a value", name);
	return argv[++*i];
}

static long opt_number(const char *name, const char *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < 0)
		die_usage("%s needs a number, not \"%s\"", name, v);
	return n;
}

static int opt_is(const char *arg, const char *name)
{
	size_t nl = strlen(name);

	return !strncmp(arg, name, nl) && (arg[nl] == '\0' || arg[nl] == '=');
}

static void opt_parse(int argc, char **argv)
{
	static const struct {
		const char *name;
		const char **dest;
	} strs[] = {
	        {"--upstream", &opt.upstream},
	        {"--listen", &opt.listen},
	        {"--upstream-source", &opt.upstream_source},
	        {"--port-file", &opt.port_file},
	        {"--name", &opt.name},
	        {"--log", &opt.log},
	        {"--counts", &opt.counts},
	        {"--tls", &opt.tls},
	        {"--tls-cert", &opt.cert},
	        {"--tls-key", &opt.key},
	        {"--tls-ca", &opt.ca},
	        {"--tls-verify-name", &opt.verify_name},
	        {"--tls-sni", &opt.sni},
	};

	opt.rules = mf_calloc((size_t)argc, sizeof(*opt.rules));
	if (!opt.rules)
		die_usage("out of memory");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t k;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			exit(0);
		}
		if (!strcmp(a, "--version")) {
			printf("mfproxy (mailferry tests) %s\n", PACKAGE_VERSION);
			exit(0);
		}
		if (!strcmp(a, "--check")) {
			opt.check = 1;
			continue;
		}
		if (opt_is(a, "--rule")) {
			opt.rules[opt.nrules++] = opt_value(argc, argv, &i, "--rule");
			continue;
		}
		if (opt_is(a, "--watch-pid")) {
			opt.watch_pid =
			        opt_number("--watch-pid", opt_value(argc, argv, &i, "--watch-pid"));
			continue;
		}
		if (opt_is(a, "--lifetime")) {
			opt.lifetime =
			        opt_number("--lifetime", opt_value(argc, argv, &i, "--lifetime"));
			continue;
		}
		for (k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
			if (opt_is(a, strs[k].name))
				break;
		if (k == sizeof(strs) / sizeof(strs[0]))
			die_usage("unknown option \"%s\"", a);
		*strs[k].dest = opt_value(argc, argv, &i, strs[k].name);
	}
}

/* "host:port", "[v6]:port". */
static void opt_split_upstream(void)
{
	const char *u = opt.upstream, *colon;

	if (!u)
		die_usage("--upstream HOST:PORT is required");
	if (u[0] == '[') {
		const char *close = strchr(u, ']');

		if (!close || close[1] != ':')
			die_usage("--upstream: expected [ADDR]:PORT, got \"%s\"", u);
		opt.up_host = mf_strndup(u + 1, (size_t)(close - u - 1));
		opt.up_port = mf_strdup(close + 2);
	} else {
		colon = strrchr(u, ':');
		if (!colon || colon == u || !colon[1])
			die_usage("--upstream: expected HOST:PORT, got \"%s\"", u);
		opt.up_host = mf_strndup(u, (size_t)(colon - u));
		opt.up_port = mf_strdup(colon + 1);
	}
	if (!opt.up_host || !opt.up_port)
		die_usage("out of memory");
}

static void rules_load(void)
{
	char err[300];

	px.rules = mf_calloc((size_t)opt.nrules + 1, sizeof(*px.rules));
	if (!px.rules)
		die_usage("out of memory");
	for (int i = 0; i < opt.nrules; i++) {
		if (rule_parse(opt.rules[i], i + 1, &px.rules[i], err, sizeof(err)) < 0)
			die_usage("rule %d \"%s\": %s", i + 1, opt.rules[i], err);
		px.nrules++;
	}
}

static void rules_free(void)
{
	for (int i = 0; i < px.nrules; i++)
		rule_free(&px.rules[i]);
	mf_freep(&px.rules);
	px.nrules = 0;
}

/* ------------------------------------------------------------------ TLS contexts */

static void tls_fail(const char *what)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	die_usage("%s: %s", what, buf);
}

static void tls_setup(void)
{
	if (!opt.tls || !strcmp(opt.tls, "none")) {
		if (opt.cert || opt.key || opt.ca || opt.verify_name || opt.sni)
			die_usage("--tls-* options need --tls implicit or --tls starttls");
		px.tls = TLS_NONE;
		return;
	}
	if (!strcmp(opt.tls, "implicit"))
		px.tls = TLS_IMPLICIT;
	else if (!strcmp(opt.tls, "starttls"))
		px.tls = TLS_STARTTLS;
	else
		die_usage("--tls must be implicit, starttls or none");
	if (!opt.cert || !opt.key || !opt.ca)
		die_usage("--tls %s needs --tls-cert, --tls-key and --tls-ca", opt.tls);
	px.srv_ctx = SSL_CTX_new(TLS_server_method());
	px.cli_ctx = SSL_CTX_new(TLS_client_method());
	if (!px.srv_ctx || !px.cli_ctx)
		tls_fail("TLS context");
	if (SSL_CTX_use_certificate_chain_file(px.srv_ctx, opt.cert) != 1)
		tls_fail(opt.cert);
	if (SSL_CTX_use_PrivateKey_file(px.srv_ctx, opt.key, SSL_FILETYPE_PEM) != 1)
		tls_fail(opt.key);
	if (SSL_CTX_load_verify_locations(px.cli_ctx, opt.ca, NULL) != 1)
		tls_fail(opt.ca);
	SSL_CTX_set_verify(px.cli_ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_options(px.srv_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_options(px.cli_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	px.verify_name = opt.verify_name ? opt.verify_name : opt.up_host;
	if (opt.sni) {
		px.sni = opt.sni;
	} else {
		struct in6_addr tmp;

		if (inet_pton(AF_INET, opt.up_host, &tmp) != 1 &&
		    inet_pton(AF_INET6, opt.up_host, &tmp) != 1)
			px.sni = opt.up_host;
	}
}

/* ------------------------------------------------------------------ sockets */

static void net_setup(void)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *la;
	const char *laddr = opt.listen ? opt.listen : "127.0.0.1";
	int rc, one = 1;

	rc = getaddrinfo(opt.up_host, opt.up_port, &hints, &up_ai);
	if (rc)
		die_usage("--upstream %s: %s", opt.upstream, gai_strerror(rc));
	if (opt.upstream_source) {
		struct addrinfo *sa;

		hints.ai_flags = AI_NUMERICHOST;
		hints.ai_family = up_ai->ai_family;
		rc = getaddrinfo(opt.upstream_source, NULL, &hints, &sa);
		if (rc)
			die_usage("--upstream-source %s: %s", opt.upstream_source,
			          gai_strerror(rc));
		memcpy(&up_src, sa->ai_addr, sa->ai_addrlen);
		up_src_len = sa->ai_addrlen;
		freeaddrinfo(sa);
	}
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	hints.ai_family = AF_UNSPEC;
	rc = getaddrinfo(laddr, "0", &hints, &la);
	if (rc)
		die_usage("--listen %s: %s", laddr, gai_strerror(rc));
	listen_fd = socket(la->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 ||
	    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(listen_fd, la->ai_addr, la->ai_addrlen) < 0 || listen(listen_fd, 64) < 0) {
		freeaddrinfo(la);
		fprintf(stderr, "mfproxy: cannot listen on %s: %s\n", laddr, strerror(errno));
		exit(1);
	}
	freeaddrinfo(la);
}

static int listen_port(void)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(listen_fd, (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void announce_port(int port)
{
	const char *name = opt.name ? opt.name : "PROXY";

	if (opt.port_file) {
		char *tmp = mf_sprintf("%s.tmp", opt.port_file);
		FILE *f = tmp ? fopen(tmp, "w") : NULL;

		if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
		    rename(tmp, opt.port_file) != 0) {
			fprintf(stderr, "mfproxy: cannot write %s: %s\n", opt.port_file,
			        strerror(errno));
			exit(1);
		}
		free(tmp);
	}
	for (const char *p = name; *p; p++)
		putchar(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	printf("_PORT=%d\n", port);
	fflush(stdout);
}

static void sock_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char host[64];
	int port;

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	}
	snprintf(out, n, "%s:%d", host, port);
}

/* ------------------------------------------------------------------ connections */

static void conn_free(struct conn *c)
{
	ep_close(&c->cl, 0);
	ep_close(&c->up, 0);
	dir_free(&c->d[0]);
	dir_free(&c->d[1]);
	free(c->rs);
	free(c);
}

static void conn_log_bytes(struct conn *c, const char *how)
{
	px_log(&px,
	       "conn %ld: %s; c2s read %" PRIu64 " forwarded %" PRIu64 " in %" PRIu64
	       " writes dropped %" PRIu64 "; s2c read %" PRIu64 " forwarded %" PRIu64 " in %" PRIu64
	       " writes dropped %" PRIu64,
	       c->id, how, c->d[0].in_bytes, c->d[0].wrote_bytes, c->d[0].writes,
	       c->d[0].dropped_bytes, c->d[1].in_bytes, c->d[1].wrote_bytes, c->d[1].writes,
	       c->d[1].dropped_bytes);
}

void conn_abort(struct conn *c, int how, const char *why)
{
	int64_t now = mono_ms();

	if (c->aborting)
		return;
	c->aborting = how;
	conn_log_bytes(c, how == SEG_RESET ? "resetting (RST)" : "closing (FIN)");
	px_log(&px, "conn %ld: reason: %s", c->id, why);
	for (int i = 0; i < 2; i++) {
		queue_clear(&c->d[i].out);
		buf_reset(&c->d[i].in);
	}
	if (how == SEG_RESET) {
		c->abort_deadline = now + 2000;
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct ep *e = i ? &c->up : &c->cl;

		if (e->state == EP_CLOSED)
			continue;
		if (e->state == EP_CONNECTING) {
			ep_close(e, 0);
			continue;
		}
		shutdown(e->fd, SHUT_WR);
		e->wr_shut = 1;
		e->state = EP_CLOSING;
		e->deadline = now + 1000;
	}
}

/* Aborting: finish the FIN close (drain until EOF) or the RST (after the
 * bytes already written have been acknowledged). */
static void conn_step_abort(struct conn *c, int64_t now)
{
	if (c->aborting == SEG_RESET) {
		if (ep_unsent(&c->cl) + ep_unsent(&c->up) > 0 && now < c->abort_deadline)
			return;
		ep_close(&c->cl, 1);
		ep_close(&c->up, 1);
	} else {
		for (int i = 0; i < 2; i++) {
			struct ep *e = i ? &c->up : &c->cl;

			if (e->state == EP_CLOSING && (ep_drain(e) || now >= e->deadline))
				ep_close(e, 0);
		}
	}
	if (c->cl.state == EP_CLOSED && c->up.state == EP_CLOSED)
		c->dead = 1;
}

void conn_starttls_answer(struct conn *c, int server_ok, int client_ok)
{
	px_log(&px, "conn %ld: STARTTLS answered: server said %s, client was told %s", c->id,
	       server_ok ? "OK" : "no", client_ok ? "OK" : "no");
	if (px.tls == TLS_NONE) {
		/* passing through: after the server's OK its bytes are TLS; the client
		 * side becomes opaque when its ClientHello shows up (scan.c) */
		if (server_ok)
			c->d[PX_S2C].sc.opaque = 1;
		return;
	}
	if (px.tls != TLS_STARTTLS)
		return;
	if (!server_ok && !client_ok) {
		c->d[PX_C2S].paused = 0;
		return;
	}
	c->st_server = server_ok;
	c->st_client = client_ok;
	c->st_phase = ST_DRAIN;
	c->d[PX_S2C].paused = 1;
	c->d[PX_C2S].paused = 1;
}

static int conn_start_tls(struct conn *c, struct ep *e, int server_role)
{
	char err[256];

	if (ep_start_tls(e, server_role ? px.srv_ctx : px.cli_ctx, server_role, px.verify_name,
	                 px.sni, err, sizeof(err)) < 0) {
		conn_abort(c, SEG_CLOSE, err);
		return -1;
	}
	return 0;
}

static void conn_step_handshakes(struct conn *c);

/* STARTTLS with termination: once the answer is out, switch each side. */
static void conn_step_starttls(struct conn *c)
{
	struct dir *c2s = &c->d[PX_C2S], *s2c = &c->d[PX_S2C];

	if (c->st_phase == ST_DRAIN) {
		if (s2c->out.head || c2s->out.head)
			return;
		if (c->st_server && s2c->in.len) {
			px_log(&px,
			       "conn %ld: server sent %zu bytes after its STARTTLS OK: discarded",
			       c->id, s2c->in.len);
			buf_reset(&s2c->in);
		}
		if (c->st_client && c2s->in.len) {
			px_log(&px,
			       "conn %ld: client sent %zu bytes after STARTTLS before TLS: "
			       "discarded",
			       c->id, c2s->in.len);
			buf_reset(&c2s->in);
		}
		if (c->st_server && conn_start_tls(c, &c->up, 0) < 0)
			return;
		if (c->st_client && conn_start_tls(c, &c->cl, 1) < 0)
			return;
		c->st_phase = ST_HANDSHAKE;
		conn_step_handshakes(c);
		return;
	}
	if (c->st_phase == ST_HANDSHAKE && c->cl.state == EP_READY && c->up.state == EP_READY) {
		px_log(&px, "conn %ld: STARTTLS done: client side %s, server side %s", c->id,
		       c->cl.tls ? "TLS" : "plaintext", c->up.tls ? "TLS" : "plaintext");
		c->st_phase = ST_NONE;
		c2s->paused = 0;
		s2c->paused = 0;
	}
}

static void conn_step_connect(struct conn *c)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (!(c->up.revents & (POLLOUT | POLLERR | POLLHUP)))
		return;
	if (getsockopt(c->up.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err) {
		char why[200];

		snprintf(why, sizeof(why), "cannot connect to the upstream %s: %s", opt.upstream,
		         strerror(err));
		conn_abort(c, SEG_CLOSE, why);
		return;
	}
	c->up.state = EP_READY;
	px_log(&px, "conn %ld: connected to the upstream %s", c->id, opt.upstream);
	if (px.tls == TLS_IMPLICIT)
		conn_start_tls(c, &c->up, 0);
}

static void conn_step_handshakes(struct conn *c)
{
	for (int i = 0; i < 2 && !c->aborting; i++) {
		struct ep *e = i ? &c->up : &c->cl;
		char err[300];
		int r;

		if (e->state != EP_HANDSHAKE)
			continue;
		r = ep_handshake(e, err, sizeof(err));
		if (r < 0) {
			char why[400];

			snprintf(why, sizeof(why), "TLS with the %s failed: %s", e->name, err);
			conn_abort(c, SEG_CLOSE, why);
		} else if (r > 0) {
			px_log(&px, "conn %ld: TLS with the %s established (%s, %s)", c->id,
			       e->name, SSL_get_version(e->ssl), SSL_get_cipher(e->ssl));
		}
	}
}

#define DIR_HIGH_WATER (256u * 1024)

static int dir_wants_read(const struct dir *d)
{
	return d->src->state == EP_READY && !d->src->eof && !d->paused &&
	       d->in.len < DIR_HIGH_WATER && d->out.bytes < DIR_HIGH_WATER;
}

static void conn_step_read(struct conn *c, struct dir *d)
{
	static char buf[16384];
	char err[256];

	if (!d->paused && d->in.len && dir_process(c, d) < 0) {
		conn_abort(c, SEG_RESET, "out of memory");
		return;
	}
	for (int iter = 0; iter < 16 && !c->aborting && dir_wants_read(d); iter++) {
		long n = ep_read(d->src, buf, sizeof(buf), err, sizeof(err));

		if (n == EP_AGAIN)
			return;
		if (n == EP_ERR) {
			char why[300];

			snprintf(why, sizeof(why), "reading from the %s failed: %s", d->src->name,
			         err);
			conn_abort(c, SEG_RESET, why);
			return;
		}
		if (n == 0) {
			d->src->eof = 1;
			px_log(&px,
			       "conn %ld: the %s closed its side (EOF) after %" PRIu64 " bytes",
			       c->id, d->src->name, d->in_bytes);
			if (dir_flush_partial(c, d) < 0)
				conn_abort(c, SEG_RESET, "out of memory");
			return;
		}
		d->in_bytes += (uint64_t)n;
		if (buf_append(&d->in, buf, (size_t)n) < 0 || dir_process(c, d) < 0) {
			conn_abort(c, SEG_RESET, "out of memory");
			return;
		}
	}
}

/* Passes on an EOF once everything before it is written; a black-holed
 * direction never does, it ends when its destination goes away. */
static void conn_step_eof(struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		struct dir *d = &c->d[i];

		if (d->finished || d->cut)
			continue;
		if (d->blackholed) {
			if (d->dst->eof || d->dst->state == EP_CLOSED)
				d->finished = 1;
			continue;
		}
		if (!d->src->eof || d->in.len || d->out.head || d->paused ||
		    d->dst->state != EP_READY)
			continue;
		ep_shutdown_write(d->dst);
		d->finished = 1;
	}
	if (c->d[0].finished && c->d[1].finished) {
		conn_log_bytes(c, "finished");
		ep_close(&c->cl, 0);
		ep_close(&c->up, 0);
		c->dead = 1;
	}
}

static void conn_step(struct conn *c, int64_t now)
{
	if (c->aborting) {
		conn_step_abort(c, now);
		return;
	}
	c->cl.need_in = c->cl.need_out = c->up.need_in = c->up.need_out = 0;
	if (c->up.state == EP_CONNECTING)
		conn_step_connect(c);
	conn_step_handshakes(c);
	if (c->st_phase != ST_NONE && !c->aborting)
		conn_step_starttls(c);
	for (int i = 0; i < 2 && !c->aborting; i++)
		conn_step_read(c, &c->d[i]);
	for (int i = 0; i < 2 && !c->aborting; i++)
		dir_write(c, &c->d[i], now);
	if (c->st_phase != ST_NONE && !c->aborting)
		conn_step_starttls(c);
	if (!c->aborting)
		conn_step_eof(c);
	if (c->aborting)
		conn_step_abort(c, now);
}

static int conn_connect_upstream(struct conn *c)
{
	int fd = socket(up_ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	ep_init(&c->up, fd, "server");
	sock_nodelay(fd);
	if (up_src_len && bind(fd, (struct sockaddr *)&up_src, up_src_len) < 0)
		return -1;
	if (connect(fd, up_ai->ai_addr, up_ai->ai_addrlen) == 0) {
		c->up.state = EP_READY;
		return 0;
	}
	if (errno != EINPROGRESS)
		return -1;
	c->up.state = EP_CONNECTING;
	return 0;
}

static void conn_rules_init(struct conn *c)
{
	for (int i = 0; i < px.nrules; i++) {
		const struct rule *r = &px.rules[i];
		struct rstate *rs = &c->rs[i];

		rs->pos = -1;
		rs->done = !(r->conn == 0 || r->conn == c->id);
		rs->armed = !r->has_when;
		if (rule_is_positional(r) && !r->has_match && rs->armed)
			rs->pos = r->after;
	}
}

static void conn_accept(int fd, const struct sockaddr_storage *peer)
{
	struct conn *c = mf_calloc(1, sizeof(*c));
	char who[80];

	counts_connection();
	conn_seq++;
	if (!c) {
		close(fd);
		return;
	}
	c->id = conn_seq;
	c->px = &px;
	ep_init(&c->cl, fd, "client");
	ep_init(&c->up, -1, "server");
	c->rs = mf_calloc((size_t)px.nrules + 1, sizeof(*c->rs));
	c->next = conns;
	conns = c;
	sock_nodelay(fd);
	addr_text(peer, who, sizeof(who));
	px_log(&px, "conn %ld: accepted from %s", c->id, who);
	if (!c->rs || dir_init(c, PX_C2S) < 0 || dir_init(c, PX_S2C) < 0) {
		conn_abort(c, SEG_RESET, "out of memory");
		return;
	}
	conn_rules_init(c);
	if (conn_connect_upstream(c) < 0) {
		char why[200];

		snprintf(why, sizeof(why), "cannot connect to the upstream %s: %s", opt.upstream,
		         strerror(errno));
		conn_abort(c, SEG_CLOSE, why);
		return;
	}
	if (c->up.state == EP_READY)
		px_log(&px, "conn %ld: connected to the upstream %s", c->id, opt.upstream);
	if (px.tls == TLS_IMPLICIT) {
		if (conn_start_tls(c, &c->cl, 1) < 0)
			return;
		if (c->up.state == EP_READY && conn_start_tls(c, &c->up, 0) < 0)
			return;
	}
	if (dir_check_triggers(c, &c->d[PX_C2S]) < 0 || dir_check_triggers(c, &c->d[PX_S2C]) < 0)
		conn_abort(c, SEG_RESET, "out of memory");
	conn_step(c, mono_ms());
}

static void accept_all(void)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd = accept4(listen_fd, (struct sockaddr *)&peer, &pl,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		conn_accept(fd, &peer);
	}
}

static void conns_reap(void)
{
	struct conn **pp = &conns;

	while (*pp) {
		struct conn *c = *pp;

		if (c->dead) {
			*pp = c->next;
			conn_free(c);
		} else {
			pp = &c->next;
		}
	}
}

/* ------------------------------------------------------------------ poll */

static short ep_events(const struct conn *c, const struct ep *e, int64_t now)
{
	const struct dir *from = e == &c->cl ? &c->d[PX_C2S] : &c->d[PX_S2C];
	const struct dir *to = e == &c->cl ? &c->d[PX_S2C] : &c->d[PX_C2S];
	short ev = 0;

	switch (e->state) {
	case EP_CONNECTING:
		return POLLOUT;
	case EP_CLOSING:
		return POLLIN;
	case EP_HANDSHAKE:
		if (!e->need_in && !e->need_out)
			return POLLIN; /* not driven yet: wake up for the peer's bytes */
		break;
	case EP_READY:
		if (dir_wants_read(from))
			ev |= POLLIN;
		if (dir_write_ready(to, now))
			ev |= POLLOUT;
		break;
	default:
		return 0;
	}
	if (e->need_in)
		ev |= POLLIN;
	if (e->need_out)
		ev |= POLLOUT;
	return ev;
}

static int64_t conn_deadline(const struct conn *c, int64_t now)
{
	int64_t t = INT64_MAX;

	if (c->aborting == SEG_RESET)
		return now + 5;
	if (c->aborting) {
		for (int i = 0; i < 2; i++) {
			const struct ep *e = i ? &c->up : &c->cl;

			if (e->state == EP_CLOSING && e->deadline < t)
				t = e->deadline;
		}
		return t;
	}
	for (int i = 0; i < 2; i++) {
		const struct dir *d = &c->d[i];
		int64_t dt = dir_next_deadline(d, now);

		if (dt < t)
			t = dt;
		if (dir_wants_read(d) && ep_has_pending(d->src))
			t = now;
		if (!d->paused && d->in.len)
			t = now;
	}
	if (c->st_phase == ST_DRAIN && !c->d[0].out.head && !c->d[1].out.head)
		t = now;
	return t;
}

static void on_signal(int sig)
{
	int saved = errno;
	char b = 0;

	if (sig == SIGUSR1)
		sig_usr1 = 1;
	else
		sig_term = 1;
	if (write(sig_fds[1], &b, 1) < 0) {
		/* the pipe is full: a wake-up is pending anyway */
	}
	errno = saved;
}

static void signals_setup(void)
{
	struct sigaction sa;

	if (pipe2(sig_fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		perror("mfproxy: pipe");
		exit(1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void write_counts(void)
{
	if (opt.counts && counts_write(opt.counts) < 0)
		px_log(&px, "cannot write %s: %s", opt.counts, strerror(errno));
}

/* Runs until a stop condition.  Returns the exit status. */
static int run(void)
{
	struct pollfd *pfds = NULL;
	size_t pcap = 0;
	int64_t end = opt.lifetime ? mono_ms() + opt.lifetime * 1000 : INT64_MAX;
	int64_t next_watch = 0;

	while (!sig_term) {
		int64_t now = mono_ms(), deadline = end;
		size_t n = 2, nconns = 0;
		int timeout;
		char drain[64];

		if (now >= end) {
			px_log(&px, "lifetime of %ld s reached", opt.lifetime);
			break;
		}
		if (opt.watch_pid && now >= next_watch) {
			if (kill((pid_t)opt.watch_pid, 0) < 0 && errno == ESRCH) {
				px_log(&px, "process %ld is gone: exiting", opt.watch_pid);
				break;
			}
			next_watch = now + 250;
		}
		if (opt.watch_pid && next_watch < deadline)
			deadline = next_watch;
		if (sig_usr1) {
			sig_usr1 = 0;
			write_counts();
			if (px.log)
				fflush(px.log);
		}
		for (struct conn *c = conns; c; c = c->next)
			nconns++;
		if (mf_grow(&pfds, &pcap, 2 + 2 * nconns, sizeof(*pfds)) < 0) {
			px_log(&px, "out of memory");
			return 1;
		}
		pfds[0] = (struct pollfd){.fd = sig_fds[0], .events = POLLIN};
		pfds[1] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
		for (struct conn *c = conns; c; c = c->next) {
			int64_t t = conn_deadline(c, now);

			if (t < deadline)
				deadline = t;
			for (int i = 0; i < 2; i++) {
				struct ep *e = i ? &c->up : &c->cl;
				short ev = e->fd >= 0 ? ep_events(c, e, now) : 0;

				e->pfd = -1;
				e->revents = 0;
				if (!ev)
					continue;
				e->pfd = (int)n;
				pfds[n++] = (struct pollfd){.fd = e->fd, .events = ev};
			}
		}
		timeout = deadline == INT64_MAX ? -1
		          : deadline <= now
		                  ? 0
		                  : (int)(deadline - now > 60000 ? 60000 : deadline - now);
		if (poll(pfds, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			px_log(&px, "poll: %s", strerror(errno));
			free(pfds);
			return 1;
		}
		while (read(sig_fds[0], drain, sizeof(drain)) > 0)
			;
		if (pfds[1].revents & POLLIN)
			accept_all();
		for (struct conn *c = conns; c; c = c->next) {
			if (c->cl.pfd >= 0)
				c->cl.revents = pfds[c->cl.pfd].revents;
			if (c->up.pfd >= 0)
				c->up.revents = pfds[c->up.pfd].revents;
			conn_step(c, mono_ms());
		}
		conns_reap();
	}
	free(pfds);
	return 0;
}

static void shutdown_all(void)
{
	while (conns) {
		struct conn *c = conns;

		conns = c->next;
		if (!c->aborting)
			conn_log_bytes(c, "closed at exit");
		conn_free(c);
	}
	if (listen_fd >= 0)
		close(listen_fd);
	write_counts();
	px_log(&px, "exit: %ld connections", conn_seq);
	counts_free();
	rules_free();
	SSL_CTX_free(px.srv_ctx);
	SSL_CTX_free(px.cli_ctx);
	if (up_ai)
		freeaddrinfo(up_ai);
	if (px.log)
		fclose(px.log);
	close(sig_fds[0]);
	close(sig_fds[1]);
	free(opt.rules);
	free(opt.up_host);
	free(opt.up_port);
}

int main(int argc, char **argv)
{
	int status;

	/* The allocation-failure test hook (MAILFERRY_TEST_FAIL_ALLOC) is meant
	 * for the program under test, not for this tool: it is never armed here. */
	opt_parse(argc, argv);
	rules_load();
	if (opt.check) {
		for (int i = 0; i < px.nrules; i++)
			rule_print(stdout, &px.rules[i]);
		rules_free();
		free(opt.rules);
		return 0;
	}
	opt_split_upstream();
	tls_setup();
	net_setup();
	px.t0 = mono_ms();
	if (opt.log) {
		px.log = fopen(opt.log, "a");
		if (!px.log) {
			fprintf(stderr, "mfproxy: cannot open %s: %s\n", opt.log, strerror(errno));
			return 1;
		}
		setvbuf(px.log, NULL, _IOLBF, 0);
	}
	signals_setup();
	announce_port(listen_port());
	px_log(&px, "listening on port %d, forwarding to %s, %d rules, TLS %s", listen_port(),
	       opt.upstream, px.nrules, opt.tls ? opt.tls : "none");
	for (int i = 0; i < px.nrules; i++)
		px_log(&px, "rule %d: %s", px.rules[i].id, px.rules[i].spec);
	status = run();
	shutdown_all();
	return status;
}
