/* mailferry - entry points of the wizard (src/ui), for main and the CLI
 *
 * Call sequence (main has already called setlocale(LC_ALL, "")):
 *
 *	char why[256];
 *	if (ui_terminal_check(why, sizeof(why)) < 0) {   // no tty, TERM=dumb...
 *		fprintf(stderr, "mailferry: %s\n", why);        // suggests the headless commands
 *		return MF_EXIT_USAGE;
 *	}
 *	struct ui_options o = {.color = -1, .log_path = batch_log};
 *	struct ui *ui;
 *	if (ui_open(&ui, &o, &err) < 0) ...                 // err.msg says why
 *	ui_push(ui, &home_screen, state);                   // src/ui/tui.h
 *	enum ui_end end = ui_run(ui);
 *	ui_close(ui);                                       // terminal restored, stderr back
 *	switch (end) ...                                    // see enum ui_end
 *
 * Nothing here needs <curses.h>; screens use src/ui/tui.h.
 */
#ifndef MF_UI_H
#define MF_UI_H

#include <stddef.h>

struct mf_err;
struct ui;

struct ui_options {
	int ascii;   /* --ascii: ASCII drawing even in a UTF-8 locale */
	int color;   /* -1 auto (has_colors() and NO_COLOR unset or empty), 0 never, 1 always */
	int slow_ui; /* --slow-ui: data-driven redraws at most every 2 s */
	const char
	        *log_path; /* fd 2 goes here (appended, 0600) while curses runs; NULL: /dev/null */
	const char *app_name; /* first word of the title line; NULL: "mailferry" */
};

/* Why ui_run() returned.  Whatever the reason, the engine is still running:
 * the caller stops it at a resumable point (or, after UI_END_HANGUP with
 * --keep-running, lets it finish headless, logging to the batch log). */
enum ui_end {
	UI_END_QUIT = 0, /* the user quit (after confirming, if a transfer was running) */
	UI_END_SIGNAL,   /* SIGTERM, or SIGINT pressed twice: stop, resumable (exit 4) */
	UI_END_HANGUP,   /* SIGHUP or the terminal vanished (SSH drop): nothing more is drawn */
	UI_END_ERROR,    /* the UI could not go on (see ui_end_message) */
};

/* 0 when the wizard can run on this terminal (stdin and stdout are ttys,
 * TERM is set and not "dumb"); else -1 with a sentence in why that suggests
 * the headless commands.  Does not start curses. */
int ui_terminal_check(char *why, size_t n);

/* Takes over the terminal: redirects fd 2, newterm(), colours, key setup,
 * signal handlers.  0, or -1 with err filled (the terminal is left as it was). */
int ui_open(struct ui **out, const struct ui_options *opt, struct mf_err *err);
/* Runs the loop until quit, signal, hangup or error.  Screens must have been
 * pushed (src/ui/tui.h). */
enum ui_end ui_run(struct ui *ui);
/* The signal behind UI_END_SIGNAL/UI_END_HANGUP (0 if none); a sentence for UI_END_ERROR. */
int ui_end_signal(const struct ui *ui);
const char *ui_end_message(const struct ui *ui);
const char *ui_end_name(enum ui_end end); /* "quit", "signal", "terminal lost", "error" */
/* Pops every screen, restores the terminal and fd 2, frees everything. NULL-safe. */
void ui_close(struct ui *ui);

/* ---- the wizard: home, the eleven steps, the dashboard (src/ui/wizmain.c) ----
 *
 *	struct ui_wizard_opts o = {.ui = {.color = -1}, .batch = g->batch};
 *	struct ui_wizard_result r;
 *	if (ui_wizard_run(&o, &r) < 0) ...        // r.status says why it did not start
 *	switch (r.end) ...                        // quit 0, signal/hangup 4, error 1
 *
 * ui_wizard_run checks the terminal, opens the batch (--batch NAME, else the
 * one used last, else the list of batches), runs the wizard and, after the
 * terminal is restored, stops a transfer that still runs at a resumable point
 * - or, after a hangup with keep_running, lets it finish headless. */
struct ui_wizard_opts {
	struct ui_options ui; /* log_path is filled in from the batch */
	const char *batch;    /* NULL: the last used batch, else the list */
	int keep_running;     /* --keep-running */
	int demo;             /* a demo batch: not remembered as the last used one */
};

struct ui_wizard_result {
	enum ui_end end;
	int status;          /* when ui_wizard_run returns -1: the exit status (no terminal: 64,
	                        no such batch: 66, locked: 5, ...) */
	int interrupted;     /* a transfer was stopped at a resumable point */
	int headless_status; /* >= 0: a transfer went on headless after a hangup and ended
	                        with this exit status */
};

int ui_wizard_run(const struct ui_wizard_opts *o, struct ui_wizard_result *res);

/* Restores the terminal and fd 2 right now if curses is running (idempotent,
 * safe before exit() on a fatal path; registered as the mf_mem fatal handler). */
void ui_emergency_restore(void);

/* A fatal error while the wizard may be running: restores the terminal,
 * prints "mailferry: <message>" to stderr and exits with MF_EXIT_INTERNAL.
 * (Crashes - SIGSEGV, SIGABRT... - restore the terminal by themselves.) */
void ui_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ncurses version string, e.g. "ncurses 6.4.20221231" (only with the TUI). */
const char *ui_curses_version(void);

#endif
