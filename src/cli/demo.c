/* mailferry - `mailferry demo`: local source and target servers with sample mail
 *
 * Starts two private Dovecot servers from the lab (tests/lab/mflab) on free
 * loopback ports: a source with five users and sample mail, and an empty
 * Exchange-like target.  Everything lives in one temporary directory that is
 * removed when the demo ends (Ctrl-C, SIGTERM or hangup).
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/lab.h"
#include "exitcodes.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"

struct demo {
	char dir[64];
	struct mf_buf src_env, tgt_env, users;
};

static int have_dovecot(void)
{
	const char *path = getenv("PATH");
	char candidate[4096];

	if (access("/usr/sbin/dovecot", X_OK) == 0)
		return 1;
	while (path && *path) {
		size_t len = strcspn(path, ":");

		snprintf(candidate, sizeof(candidate), "%.*s/dovecot", (int)len, path);
		if (access(candidate, X_OK) == 0)
			return 1;
		path += len + (path[len] == ':');
	}
	return 0;
}

static void demo_teardown(struct demo *d)
{
	struct mf_err err;

	if (!d->dir[0])
		return;
	if (lab_run(d->dir, NULL, &err, "stop", NULL))
		fprintf(stderr, "mailferry: stopping the demo servers: %s\n", err.msg);
	fs_remove_tree(d->dir);
	buf_free(&d->src_env);
	buf_free(&d->tgt_env);
	buf_free(&d->users);
}

static int demo_setup(struct demo *d, struct mf_err *err)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(d->dir, sizeof(d->dir), "%s/mailferry-demo-XXXXXX",
		 tmp && *tmp == '/' && strlen(tmp) < 30 ? tmp : "/tmp");
	if (!mkdtemp(d->dir)) {
		d->dir[0] = 0;
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "cannot create a temporary directory");
	}
	fputs("Starting the demo servers...\n", stdout);
	fflush(stdout);
	if (lab_run(d->dir, NULL, err, "init", NULL) ||
	    lab_run(d->dir, &d->src_env, err, "start", "source", "--sep", ".", NULL) ||
	    lab_run(d->dir, &d->tgt_env, err, "start", "target", "--sep", "/", "--layout",
		    "exchange", "--autocreate", NULL) ||
	    lab_run(d->dir, &d->users, err, "seed-demo", "source", "--target", "target", NULL))
		return -1;
	return 0;
}

static void print_server(const char *label, const struct mf_buf *env, const char *prefix)
{
	char key[64];
	char *host, *port, *tlsport;

	snprintf(key, sizeof(key), "%s_HOST", prefix);
	host = lab_env_value(env, key);
	snprintf(key, sizeof(key), "%s_PORT", prefix);
	port = lab_env_value(env, key);
	snprintf(key, sizeof(key), "%s_TLSPORT", prefix);
	tlsport = lab_env_value(env, key);
	printf("  %s  %s  implicit TLS port %s, STARTTLS port %s\n", label, host ? host : "?",
	       tlsport ? tlsport : "?", port ? port : "?");
	free(host);
	free(port);
	free(tlsport);
}

static void print_info(const struct demo *d)
{
	char *ca = lab_env_value(&d->src_env, "LAB_CA");

	printf("\nThe demo servers are running (Dovecot, private to this demo):\n\n");
	print_server("source", &d->src_env, "SOURCE");
	print_server("target", &d->tgt_env, "TARGET");
	printf("\n  CA certificate: %s\n", ca ? ca : "?");
	printf("  Users on the source (user, password), with sample mail:\n");
	for (const char *p = d->users.data; p && *p;) {
		const char *eol = strchr(p, '\n');
		int len = eol ? (int)(eol - p) : (int)strlen(p);

		printf("    %.*s\n", len, p);
		p = eol ? eol + 1 : p + len;
	}
	printf("  The target has the same users with the password prefixed by 'target-'.\n");
	printf("\nPress Ctrl-C to stop the servers and remove everything.\n");
	fflush(stdout);
	free(ca);
}

int cmd_demo(int argc, char **argv, struct cli_globals *g)
{
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
						  {NULL, 0, NULL, 0}};
	struct demo d = {0};
	struct mf_err err;
	sigset_t stop;
	int c, sig, rc = MF_EXIT_OK;

	(void)g;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			printf("Usage: mailferry demo\n"
			       "Starts local source and target IMAP servers with sample mail.\n");
			return MF_EXIT_OK;
		}
		return cli_usage_error("demo: unrecognized option '%s'", argv[optind - 1]);
	}
	if (optind < argc)
		return cli_usage_error("demo takes no arguments");
	if (!have_dovecot()) {
		fprintf(stderr, "mailferry: the demo needs Dovecot; install it with "
				"'apt-get install dovecot-imapd' (or run scripts/install-deps)\n");
		return MF_EXIT_SOFTWARE;
	}
	if (!lab_script()) {
		fprintf(stderr, "mailferry: the lab script mflab is missing; reinstall mailferry\n");
		return MF_EXIT_SOFTWARE;
	}
	buf_init(&d.src_env, 0);
	buf_init(&d.tgt_env, 0);
	buf_init(&d.users, 0);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	if (demo_setup(&d, &err)) {
		fprintf(stderr, "mailferry: the demo could not start: %s\n", err.msg);
		rc = MF_EXIT_SOFTWARE;
	} else {
		print_info(&d);
		sigwait(&stop, &sig);
		printf("\nStopping the demo servers...\n");
	}
	demo_teardown(&d);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
	return rc;
}
