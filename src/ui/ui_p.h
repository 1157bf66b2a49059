/* mailferry - UI framework internals (src/ui only; includes curses) */
#ifndef MF_UI_UI_P_H
#define MF_UI_UI_P_H

#include <curses.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "ui/tui.h"

#define UI_MIN_COLS   80
#define UI_MIN_LINES  24
#define UI_STACK_MAX  16
#define UI_MODAL_MAX  4
#define UI_WATCH_MAX  16
#define UI_TIMER_MAX  16
#define UI_FRAME_MS   100  /* at most ~10 frames a second */
#define UI_SLOW_MS    2000 /* --slow-ui: data-driven frames every 2 s */
#define UI_IDLE_MS    1000 /* the longest poll(): catches a SIGWINCH that raced poll() */
#define UI_ESCDELAY   150  /* ms to tell Esc from an escape sequence (ESCDELAY overrides) */
#define UI_EMPTY_WAKE 64   /* readable terminal without a key this many times in a row: gone */

struct ui_frame {
	const struct ui_screen_ops *ops; /* borrowed */
	void *state;                     /* borrowed */
	struct ui_focus *focus;          /* borrowed, may be NULL */
};

enum ui_modal_type { UI_MODAL_MESSAGE, UI_MODAL_CONFIRM, UI_MODAL_HELP };

struct ui_modal {
	enum ui_modal_type type;
	char *title, *text; /* owned */
	char *yes, *no;     /* owned (CONFIRM) */
	int on_yes;         /* focus on the Yes button (CONFIRM); starts at 0 */
	int scroll;         /* first text line shown */
	int is_quit;        /* the quit confirmation (a second SIGINT ends) */
	ui_done_fn done;
	void *arg;
};

struct ui_watch {
	int fd;
	ui_fd_fn fn;
	void *arg;
	int wake_wfd; /* >= 0: a wake-up pipe we own (fd is its read end) */
	ui_wake_fn wake_fn;
};

struct ui_timer {
	int id, interval_ms;
	int64_t due;
	ui_timer_fn fn;
	void *arg;
};

struct ui {
	struct ui_options opt;
	pthread_t thread; /* the UI thread: the only one allowed in here */
	SCREEN *sp;
	int in_fd, out_fd;
	int ascii, colors;
	attr_t role_attr[UI_ROLE__COUNT];
	short role_pair[UI_ROLE__COUNT];

	struct ui_frame stack[UI_STACK_MAX];
	int depth;
	struct ui_modal modals[UI_MODAL_MAX];
	int nmodal;

	struct ui_watch watches[UI_WATCH_MAX];
	int nwatch;
	struct ui_timer timers[UI_TIMER_MAX];
	int ntimer, next_timer_id;

	int dirty_input, dirty_data, full_clear;
	int64_t last_frame;
	unsigned long frames;
	int empty_wakeups, hup_wakeups;

	int running, ended;
	enum ui_end end;
	int end_sig;
	char end_msg[256];

	char *banner, *status; /* owned */
	char flash[256];
	enum ui_role flash_role;
	int ssh_hint;
	int cur_y, cur_x, cur_set, cursor_shown;

	ui_busy_fn busy;
	void *busy_arg;
	void (*data_hook)(struct ui *ui, void *arg);
	void *data_arg;
};

/* term.c: terminal, stderr, signals */
int ui_term_open(struct ui *ui, struct mf_err *err);
void ui_term_close(struct ui *ui);
int ui_term_lost(struct ui *ui);
int ui_signals_install(struct mf_err *err);
void ui_signals_restore(void);
int ui_signal_fd(void);
/* Next pending signal number from the self-pipe, 0 when none. */
int ui_signal_next(void);

/* draw.c: theme and primitives */
void ui_theme_init(struct ui *ui);
void ui_attr(struct ui *ui, enum ui_role role);

/* screen.c: chrome, dispatch, frames */
void ui_dispatch_key(struct ui *ui, int key);
void ui_draw_frame(struct ui *ui);
int ui_too_small(const struct ui *ui);
const struct ui_frame *ui_top(const struct ui *ui);

/* dialog.c */
int ui_modal_key(struct ui *ui, int key);
void ui_modal_draw(struct ui *ui);
void ui_modal_free_all(struct ui *ui);
void ui_confirm_quit(struct ui *ui, const char *what);

/* list.c / form.c helpers */
void *ui_xrealloc(void *p, size_t n);

#endif
