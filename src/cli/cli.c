/* mailferry - command line: global options and subcommand dispatch */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "cli/cli.h"
#include "exitcodes.h"
#include "ui.h"
#include "version.h"

static const struct cli_command commands[] = {
	{"batch", cmd_batch, "create|set|list|show|delete", "manage migration batches"},
	{"check", cmd_check, "NAME [--step N]", "live prerequisite checks of the checklist"},
	{"migrate", cmd_migrate, "NAME [--dry-run]", "copy the mail: first sync or delta"},
	{"verify", cmd_verify, "NAME", "check that every message is on the target"},
	{"status", cmd_status, "NAME [--json]", "each mailbox's state"},
	{"report", cmd_report, "NAME [--format F]", "batch report as CSV or JSON"},
	{"notify", cmd_notify, "NAME [--dry-run]", "step 3: the notice into each source INBOX"},
	{"welcome", cmd_welcome, "NAME [--dry-run]", "step 11: the welcome into each target INBOX"},
	{"finish", cmd_finish, "NAME --yes", "step 11: wipe the stored credentials"},
	{"demo", cmd_demo, "", "local source and target servers with sample mail"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

void version_print(FILE *out)
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

	fprintf(out, "mailferry %s\n", PACKAGE_VERSION);
#ifdef HAVE_TUI
	fprintf(out, "%s\n", ui_curses_version());
#else
	fprintf(out, "ncurses: not built in (--disable-tui)\n");
#endif
	fprintf(out, "libcurl %s (%s)\n", cv->version, cv->ssl_version ? cv->ssl_version : "no TLS");
	fprintf(out, "%s\n", OpenSSL_version(OPENSSL_VERSION));
	fprintf(out, "SQLite %s\n", sqlite3_libversion());
	fprintf(out, "libcsv %d.%d.%d\n", CSV_MAJOR, CSV_MINOR, CSV_RELEASE);
}

void cli_usage(FILE *out)
{
	fprintf(out,
		"Usage: mailferry [OPTION]...                 the wizard (resumes the last batch)\n"
		"  or:  mailferry [OPTION]... COMMAND [ARG]...\n"
		"\n"
		"Moves mailboxes from an IMAP server to Microsoft 365 or any IMAP server,\n"
		"following Microsoft's eleven-step IMAP migration checklist.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-9s %-22s %s\n", commands[i].name, commands[i].synopsis,
			commands[i].summary);
	fprintf(out,
		"\n"
		"Options:\n"
		"  -b, --batch=NAME     work on the named batch\n"
		"      --ascii          draw with ASCII characters only\n"
		"      --color=WHEN     use colours: auto (default), always, never\n"
		"      --slow-ui        redraw at most every 2 seconds (thin SSH links)\n"
		"      --keep-running   continue headless when the terminal goes away\n"
		"  -h, --help           display this help and exit\n"
		"  -V, --version        output version information and exit\n"
		"\n"
		"Passwords are never taken from the command line.  See mailferry(1) for the\n"
		"CSV format, where state is kept, and the exit statuses.\n"
		"\n"
		"Report bugs to: %s\n",
		PACKAGE_BUGREPORT);
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mailferry: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nUsage: mailferry [OPTION]... [COMMAND [ARG]...]\n"
	      "Try 'mailferry --help' for more information.\n",
	      stderr);
	return MF_EXIT_USAGE;
}

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* No command: the wizard on --batch NAME, the batch used last, or the list of
 * batches.  Its end becomes the exit status: quit 0; a signal or a lost
 * terminal 4 (resumable: a running transfer was stopped at a resumable
 * point); an error of the UI 1.  After a hangup with --keep-running the
 * transfer went on headless, and its own outcome is the status. */
static int run_wizard(const struct cli_globals *g)
{
#ifdef HAVE_TUI
	struct ui_wizard_opts o = {
		.ui = {.ascii = g->ascii, .color = g->color, .slow_ui = g->slow_ui},
		.batch = g->batch,
		.keep_running = g->keep_running,
	};
	struct ui_wizard_result r;

	if (ui_wizard_run(&o, &r) < 0)
		return r.status;
	if (r.headless_status >= 0)
		return r.headless_status;
	switch (r.end) {
	case UI_END_QUIT:
		return MF_EXIT_OK;
	case UI_END_SIGNAL:
	case UI_END_HANGUP:
		return MF_EXIT_RESUMABLE;
	default:
		return MF_EXIT_INTERNAL;
	}
#else
	(void)g;
	return cli_usage_error("this mailferry was built without the wizard (--disable-tui); "
			       "use a command");
#endif
}

enum { OPT_ASCII = 256, OPT_COLOR, OPT_SLOW_UI, OPT_KEEP_RUNNING };

int cli_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"batch", required_argument, NULL, 'b'},
		{"ascii", no_argument, NULL, OPT_ASCII},
		{"color", required_argument, NULL, OPT_COLOR},
		{"colour", required_argument, NULL, OPT_COLOR},
		{"slow-ui", no_argument, NULL, OPT_SLOW_UI},
		{"keep-running", no_argument, NULL, OPT_KEEP_RUNNING},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct cli_globals g = {.color = -1};
	const struct cli_command *cmd;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+b:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			g.batch = optarg;
			break;
		case OPT_ASCII:
			g.ascii = 1;
			break;
		case OPT_COLOR:
			if (!strcmp(optarg, "auto"))
				g.color = -1;
			else if (!strcmp(optarg, "always"))
				g.color = 1;
			else if (!strcmp(optarg, "never"))
				g.color = 0;
			else
				return cli_usage_error("--color takes auto, always or never, not '%s'",
						       optarg);
			break;
		case OPT_SLOW_UI:
			g.slow_ui = 1;
			break;
		case OPT_KEEP_RUNNING:
			g.keep_running = 1;
			break;
		case 'h':
			cli_usage(stdout);
			return MF_EXIT_OK;
		case 'V':
			version_print(stdout);
			return MF_EXIT_OK;
		default:
			if (optopt)
				return cli_usage_error("invalid option -- '%c'", optopt);
			return cli_usage_error("unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return run_wizard(&g);
	cmd = find_command(argv[optind]);
	if (!cmd)
		return cli_usage_error("unknown command '%s'", argv[optind]);
	argc -= optind;
	argv += optind;
	optind = 0; /* reset getopt for the subcommand */
	return cmd->run(argc, argv, &g);
}
