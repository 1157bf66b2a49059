/* mailferry - `mailferry demo`: local servers with sample mail, a ready batch, the wizard
 *
 * Starts two private Dovecot servers from the lab (tests/lab/mflab) on free
 * loopback ports: a source with five users and sample mail, and an empty
 * Exchange-like target.  Then it creates a ready batch "demo" (settings demo
 * = 1: steps that need a Microsoft 365 tenant or public DNS say why they are
 * skipped) whose CSV lists the seeded users, whose target logs in as the
 * lab's master user, and which trusts the lab's CA, and opens the wizard on
 * it so a newcomer can walk the eleven steps and watch a real migration.
 *
 * Everything - servers, mail, the batch's state (XDG_STATE_HOME points into
 * the demo's directory) - lives in one temporary directory that is removed
 * when the demo ends, whatever ends it.  Without a terminal (or built
 * without the wizard) the demo only prints how to reach the servers and
 * waits for Ctrl-C.
 */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "batch.h"
#include "batch/csvin.h"
#include "cli/cli.h"
#include "cli/lab.h"
#include "exitcodes.h"
#include "ui.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/secret.h"

#define DEMO_BATCH  "demo"
#define DEMO_DOMAIN "example.org"

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

	if (d->dir[0]) {
		if (lab_run(d->dir, NULL, &err, "stop", NULL))
			fprintf(stderr, "mailferry: stopping the demo servers: %s\n", err.msg);
		fs_remove_tree(d->dir);
		d->dir[0] = 0;
	}
	buf_free(&d->src_env);
	buf_free(&d->tgt_env);
	buf_free(&d->users);
}

/* $TMPDIR when Dovecot's unprivileged processes can reach into it (a private
 * 0700 TMPDIR would make every login fail with "temporary authentication
 * failure"), else /tmp. */
static const char *demo_tmpdir(void)
{
	const char *tmp = getenv("TMPDIR");
	struct stat st;

	if (!tmp || *tmp != '/' || strlen(tmp) >= 30 || stat(tmp, &st) < 0 ||
	    !S_ISDIR(st.st_mode) || !(st.st_mode & S_IXOTH))
		return "/tmp";
	return tmp;
}

static int demo_setup(struct demo *d, struct mf_err *err)
{
	snprintf(d->dir, sizeof(d->dir), "%s/mailferry-demo-XXXXXX", demo_tmpdir());
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

/* ---------------------------------------------------------------- the demo batch */

static int write_private(const char *path, const char *text, struct mf_err *err)
{
	int fd = fs_open_private(path, O_WRONLY | O_CREAT | O_TRUNC, err);
	size_t len = strlen(text);
	int rc = 0;

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len)
		rc = mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "%s: cannot write", path);
	close(fd);
	return rc;
}

/* The CSV of the seeded users ("user<TAB>password" lines from mflab): the
 * source logs in with each user's password; the target (the lab's master
 * user, with Dovecot's user*admin form) needs the plain user name. */
static int write_csv(const struct demo *d, const char *path, struct mf_err *err)
{
	struct mf_buf csv;
	int rc = 0;

	buf_init(&csv, 0);
	rc = buf_puts(&csv, "EmailAddress,UserName,Password,TargetUserName\r\n");
	for (const char *p = d->users.data; p && *p;) {
		const char *eol = strchr(p, '\n'), *tab;
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		tab = memchr(p, '\t', len);
		if (tab && !rc)
			rc = buf_printf(&csv, "%.*s@%s,%.*s,%.*s,%.*s\r\n", (int)(tab - p), p,
			                DEMO_DOMAIN, (int)(tab - p), p,
			                (int)(len - (size_t)(tab - p) - 1), tab + 1, (int)(tab - p),
			                p);
		p = eol ? eol + 1 : p + len;
	}
	if (rc || !csv.data)
		rc = mf_fail_nomem(err, MF_SCOPE_BATCH);
	else
		rc = write_private(path, csv.data, err);
	buf_free_secure(&csv); /* it holds the users' passwords */
	return rc;
}

static char *env_dup(const struct mf_buf *env, const char *key)
{
	return lab_env_value(env, key);
}

static int demo_batch(const struct demo *d, struct mf_err *err)
{
	struct mf_batch_settings s;
	struct batch_secrets sec = {0};
	struct csvin_result problems = {0};
	char *csv = fs_join(d->dir, "demo.csv"), *state = fs_join(d->dir, "state");
	char *notice = fs_join(d->dir, "notice.txt"), *welcome = fs_join(d->dir, "welcome.txt");
	char *sport = env_dup(&d->src_env, "SOURCE_TLSPORT");
	char *tport = env_dup(&d->tgt_env, "TARGET_TLSPORT");
	char *master = env_dup(&d->tgt_env, "TARGET_MASTER");
	char *master_pw = env_dup(&d->tgt_env, "TARGET_MASTER_PASS");
	struct mf_secret *pw = NULL;
	int rc = -1;

	batch_settings_init(&s);
	if (!csv || !state || !notice || !welcome || !sport || !tport || !master || !master_pw ||
	    !(pw = secret_new(master_pw, strlen(master_pw)))) {
		mf_fail(err, MF_SCOPE_BATCH, MF_E_INTERNAL, "the lab did not report its servers");
		goto out;
	}
	/* the demo's state lives and dies with the demo */
	if (setenv("XDG_STATE_HOME", state, 1) < 0) {
		mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "cannot set XDG_STATE_HOME");
		goto out;
	}
	if (write_csv(d, csv, err) ||
	    write_private(notice,
	                  "From: IT department <it@example.org>\r\n"
	                  "Subject: Your mailbox moves on Saturday\r\n\r\nHello {username},\r\n\r\n"
	                  "your mailbox {email} moves to the new server on Saturday.\r\n"
	                  "Nothing is lost: folders, flags and dates come along.\r\n",
	                  err) ||
	    write_private(welcome,
	                  "From: IT department <it@example.org>\r\n"
	                  "Subject: Welcome to your new mailbox\r\n\r\nHello {username},\r\n\r\n"
	                  "your mail is here now, folders and all.\r\n",
	                  err))
		goto out;
	s.name = mf_strdup(DEMO_BATCH);
	s.demo = 1;
	s.source.host = mf_strdup("127.0.0.1");
	s.source.port = (unsigned)atoi(sport);
	s.source.security = MF_SEC_SSL;
	s.source.ca_file = lab_env_value(&d->src_env, "LAB_CA");
	s.source.auth = MF_AUTH_CSV;
	s.target.host = mf_strdup("127.0.0.1");
	s.target.port = (unsigned)atoi(tport);
	s.target.security = MF_SEC_SSL;
	s.target.ca_file = lab_env_value(&d->tgt_env, "LAB_CA");
	s.target.auth = MF_AUTH_ADMIN;
	s.target.admin_form = MF_ADMIN_DOVECOT;
	s.target.admin_sep = '*';
	s.target.admin_user = master;
	master = NULL;
	s.target_kind = MF_TARGET_IMAP;
	s.notice_template = notice;
	s.welcome_template = welcome;
	notice = welcome = NULL;
	s.concurrency = 3;
	if (!s.name || !s.source.host || !s.target.host || !s.source.ca_file || !s.target.ca_file) {
		mf_fail_nomem(err, MF_SCOPE_BATCH);
		goto out;
	}
	sec.target_admin = pw;
	rc = batch_create(&s, csv, &sec, &problems, err);
out:
	csvin_result_free(&problems);
	batch_settings_clear(&s);
	secret_free(pw);
	free(csv);
	free(state);
	free(notice);
	free(welcome);
	free(sport);
	free(tport);
	free(master);
	if (master_pw)
		OPENSSL_cleanse(master_pw, strlen(master_pw));
	free(master_pw);
	return rc;
}

/* ---------------------------------------------------------------- without the wizard */

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
	printf("  A ready batch '%s' is in %s/state/mailferry.\n", DEMO_BATCH, d->dir);
	printf("\nPress Ctrl-C to stop the servers and remove everything.\n");
	fflush(stdout);
	free(ca);
}

/* ---------------------------------------------------------------- the command */

static int run_wizard(struct cli_globals *g)
{
#ifdef HAVE_TUI
	struct ui_wizard_opts o = {
	        .ui = {.ascii = g->ascii, .color = g->color, .slow_ui = g->slow_ui},
	        .batch = DEMO_BATCH,
	        .keep_running = g->keep_running,
	        .demo = 1,
	};
	struct ui_wizard_result r;

	if (ui_wizard_run(&o, &r) < 0)
		return r.status;
	if (r.headless_status >= 0)
		return r.headless_status;
	return r.end == UI_END_QUIT    ? MF_EXIT_OK
	       : r.end == UI_END_ERROR ? MF_EXIT_INTERNAL
	                               : MF_EXIT_RESUMABLE;
#else
	(void)g;
	return -1;
#endif
}

static int wizard_possible(void)
{
#ifdef HAVE_TUI
	char why[512];

	return ui_terminal_check(why, sizeof(why)) == 0;
#else
	return 0;
#endif
}

int cmd_demo(int argc, char **argv, struct cli_globals *g)
{
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
	                                         {"servers-only", no_argument, NULL, 's'},
	                                         {NULL, 0, NULL, 0}};
	struct demo d = {0};
	struct mf_err err;
	sigset_t stop, pending;
	int c, sig, rc = MF_EXIT_OK, servers_only = 0;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			printf("Usage: mailferry demo [--servers-only]\n"
			       "Starts local source and target IMAP servers with sample mail, "
			       "creates a "
			       "ready batch and opens the wizard on it.\nEverything is removed on "
			       "exit. "
			       "--servers-only: no wizard, wait for Ctrl-C.\n");
			return MF_EXIT_OK;
		}
		if (c == 's') {
			servers_only = 1;
			continue;
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
		fprintf(stderr,
		        "mailferry: the lab script mflab is missing; reinstall mailferry\n");
		return MF_EXIT_SOFTWARE;
	}
	buf_init(&d.src_env, 0);
	buf_init(&d.tgt_env, 0);
	buf_init(&d.users, 0);
	/* a signal while the servers start must not leave them running */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	if (demo_setup(&d, &err) || demo_batch(&d, &err)) {
		fprintf(stderr, "mailferry: the demo could not start: %s\n", err.msg);
		rc = MF_EXIT_SOFTWARE;
	} else if (sigpending(&pending) == 0 &&
	           (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
	            sigismember(&pending, SIGHUP))) {
		printf("Interrupted.\n");
		rc = MF_EXIT_RESUMABLE;
	} else if (!servers_only && wizard_possible()) {
		/* the wizard handles the signals itself; blocked again for the clean-up */
		sigprocmask(SIG_UNBLOCK, &stop, NULL);
		rc = run_wizard(g);
		sigprocmask(SIG_BLOCK, &stop, NULL);
	} else {
		if (!servers_only)
			printf("(The wizard needs a terminal; here are the servers instead.)\n");
		print_info(&d);
		sigwait(&stop, &sig);
		printf("\nStopping the demo servers...\n");
	}
	demo_teardown(&d);
	printf("The demo servers are stopped and their files removed.\n");
	fflush(stdout);
	/* drop what arrived during the clean-up, then restore the mask */
	while (sigpending(&pending) == 0 &&
	       (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
	        sigismember(&pending, SIGHUP)))
		sigwait(&stop, &sig);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
	return rc;
}
