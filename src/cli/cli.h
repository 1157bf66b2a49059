/* mailferry - the command line (headless subcommands)
 *
 * main() hands argv to cli_main(), which parses the global options and runs
 * one subcommand.  Each subcommand lives in its own file and returns an exit
 * status from include/exitcodes.h.  Nothing here draws; the wizard is started
 * through include/ui.h.
 */
#ifndef MF_CLI_CLI_H
#define MF_CLI_CLI_H

#include <stdio.h>

struct cli_globals {
	const char *batch; /* --batch NAME (or the positional NAME of a subcommand) */
	int json;          /* --json: JSON Lines on stdout */
	int ascii;         /* --ascii: no UTF-8 line drawing */
	int slow_ui;       /* --slow-ui: redraw at most every 2 s */
	int keep_running;  /* --keep-running: continue headless after a hangup */
	int color;         /* -1 auto, 0 never, 1 always */
	const char *trace; /* --trace FILE: protocol trace with secrets redacted */
};

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv, struct cli_globals *g);
	const char *synopsis; /* arguments, for usage */
	const char *summary;  /* one line */
};

int cli_main(int argc, char **argv);
void cli_usage(FILE *out);
/* Prints "mailferry: <msg>" and the short usage hint to stderr; returns 64. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* subcommands */
int cmd_batch(int argc, char **argv, struct cli_globals *g);
int cmd_check(int argc, char **argv, struct cli_globals *g);
int cmd_demo(int argc, char **argv, struct cli_globals *g);
int cmd_finish(int argc, char **argv, struct cli_globals *g);
int cmd_migrate(int argc, char **argv, struct cli_globals *g);
int cmd_notify(int argc, char **argv, struct cli_globals *g);
int cmd_report(int argc, char **argv, struct cli_globals *g);
int cmd_status(int argc, char **argv, struct cli_globals *g);
int cmd_verify(int argc, char **argv, struct cli_globals *g);
int cmd_welcome(int argc, char **argv, struct cli_globals *g);

#endif
