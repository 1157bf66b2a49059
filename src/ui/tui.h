/* mailferry - the wizard's UI framework, for screens (no <curses.h> needed)
 *
 * One UI thread owns the terminal.  It runs ui_run(): poll() on the terminal,
 * a signal self-pipe, wake-up pipes and registered fds, with timers; it reads
 * keys, hands them to the screen on top of a stack, and redraws when something
 * changed, at most ~10 times a second (every 2 s with --slow-ui for changes
 * that come from data rather than from keys).  A frame is erase(), the chrome
 * (title line, banner, message line, status line with key hints), the top
 * screen's draw(), any modal (dialog or help), then one doupdate().
 *
 * Writing a screen: an init/draw/key trio (ncdu's pattern) plus optional
 * hooks, registered with ui_push():
 *
 *	struct home { struct ui_field fields[3]; struct ui_form form; struct ui_focus focus; };
 *
 *	static int home_init(struct ui *ui, void *p)          // on push; 0 or -1
 *	{
 *		struct home *h = p;
 *		ui_field_text(&h->fields[0], 1, "Server", 40, "");  ...
 *		ui_form_init(&h->form, h->fields, 3);
 *		ui_focus_init(&h->focus);
 *		ui_focus_add(&h->focus, &h->form.base);
 *		ui_screen_focus(ui, &h->focus);                // Tab/Shift-Tab, cursor
 *		return 0;
 *	}
 *	static void home_draw(struct ui *ui, void *p, struct ui_rect area)
 *	{
 *		struct home *h = p;                             // lay out, then draw
 *		h->form.base.rect = area;
 *		ui_widget_draw(ui, &h->form.base);
 *	}
 *	static int home_key(struct ui *ui, void *p, int key)   // 1 if used
 *	{
 *		if (key == 'r') { ...; return 1; }
 *		return 0;
 *	}
 *	static void home_event(struct ui *ui, void *p, struct ui_widget *w, enum ui_kr what)
 *	{ ... what == UI_KR_ACTIVATED: h->form.activated is the button's id ... }
 *	static const struct ui_keyhelp home_keys[] = {{"r", "run the checks", 1}, {NULL}};
 *	const struct ui_screen_ops home_screen = {.title = "Home", .init = home_init,
 *		.draw = home_draw, .key = home_key, .event = home_event,
 *		.keys = home_keys, .help = "..."};
 *
 *	ui_push(ui, &home_screen, &home_state);              // ui_pop() or Esc goes back
 *
 * Key routing, in this order: KEY_RESIZE (central relayout, clear) -> Ctrl-L
 * (full repaint) -> F10 (quit) -> an open modal (dialog, help) -> the "terminal
 * too small" screen (only q quits) -> F1 (help) -> the focused widget of the top
 * screen's focus ring (a widget that changes or activates something reports it
 * to ops->event) -> ops->key -> global keys: Tab/Shift-Tab move the focus, Esc
 * goes back (never quits from the root screen), '?' help, 'q' quit (asking
 * first when the quit guard says a transfer is running).  So a text field gets
 * 'q' and '?' as text, while F1, F10 and Ctrl-L always work.
 *
 * Engine -> UI: workers call nothing here but ui_wakeup_send().  The UI makes a
 * wake-up pipe with ui_wakeup_new() and gives its write end to the engine,
 * which writes one byte (non-blocking; a full pipe means a wake-up is already
 * pending) whenever a mailbox changes state.  The UI thread drains the pipe and
 * calls ui_mark_changed(); before the next frame (at most every 100 ms, or 2 s
 * with --slow-ui) the data hook (ui_set_data_hook) copies the engine's progress
 * snapshot under the engine's lock, then every screen's ops->update() runs.
 *
 * Every state is written in words ("PASS", "FAIL", "DRY RUN"); colour and
 * attributes only repeat what the words say.  Widgets put the hardware cursor
 * on the focused element, for screen readers.
 *
 * Memory: the UI layer uses xmalloc & co. (src/util/mem.h): running out of
 * memory restores the terminal and exits.  All structs below are owned by the
 * screen that embeds them unless a field says "borrowed".
 */
#ifndef MF_UI_TUI_H
#define MF_UI_TUI_H

#include <stddef.h>
#include <stdint.h>

#include "ui.h"

struct mf_secret;

/* ------------------------------------------------------------------ keys */

/* Keys are Unicode code points (typed characters, Ctrl-letters as 1..26) or
 * one of these; Enter arrives as UI_KEY_ENTER whatever the terminal sends. */
#define UI_KEY_TAB     9
#define UI_KEY_ESC     27
#define UI_KEY_CTRL(c) ((c)&0x1f)
#define UI_KEY_BASE    0x110000
enum ui_key {
	UI_KEY_ENTER = UI_KEY_BASE,
	UI_KEY_BTAB, /* Shift-Tab (KEY_BTAB or "\033[Z") */
	UI_KEY_UP,
	UI_KEY_DOWN,
	UI_KEY_LEFT,
	UI_KEY_RIGHT,
	UI_KEY_PGUP,
	UI_KEY_PGDN,
	UI_KEY_HOME,
	UI_KEY_END,
	UI_KEY_BACKSPACE,
	UI_KEY_DELETE,
	UI_KEY_INSERT,
	UI_KEY_RESIZE,
	UI_KEY_UNKNOWN, /* a function key we have no name for */
	UI_KEY_F0 = UI_KEY_BASE + 0x100,
};
#define UI_KEY_F(n) (UI_KEY_F0 + (n))

/* ------------------------------------------------------------------ drawing */

struct ui_rect {
	int y, x, h, w;
};

/* Theme roles.  Colour (when enabled) and attributes follow the role; the
 * text drawn must say the same thing in words. */
enum ui_role {
	UI_ROLE_NORMAL = 0,
	UI_ROLE_OK,     /* PASS, DONE */
	UI_ROLE_WARN,   /* WARN, RETRY */
	UI_ROLE_FAIL,   /* FAIL, FAILED */
	UI_ROLE_SKIP,   /* SKIP, not applicable */
	UI_ROLE_FOCUS,  /* the focused field or row */
	UI_ROLE_TITLE,  /* title line, headings */
	UI_ROLE_BANNER, /* "DRY RUN" */
	UI_ROLE_DIM,    /* secondary text */
	UI_ROLE__COUNT
};

/* Line-drawing and symbol glyphs, UTF-8 or ASCII depending on the mode. */
enum ui_glyph {
	UI_G_HLINE,
	UI_G_VLINE,
	UI_G_ULCORNER,
	UI_G_URCORNER,
	UI_G_LLCORNER,
	UI_G_LRCORNER,
	UI_G_POINTER, /* marks the focused row/field: ">" */
	UI_G_SORT_UP,
	UI_G_SORT_DOWN,
	UI_G_ELLIPSIS,
	UI_G_MORE_UP, /* "more above" */
	UI_G_MORE_DOWN,
	UI_G__COUNT
};

/* Whether the terminal gets ASCII only (non-UTF-8 locale or --ascii). */
int ui_ascii(const struct ui *ui);
int ui_colors(const struct ui *ui);
const char *ui_glyph(const struct ui *ui, enum ui_glyph g);
int ui_cols(const struct ui *ui);
int ui_lines(const struct ui *ui);

/* Draws s (UTF-8, sanitised: see textutil.h) at (y, x), clipped to the screen
 * and to maxw columns (maxw < 0: to the right edge).  Returns the columns
 * drawn.  The *_ell variant ends a clipped string with an ellipsis glyph. */
int ui_put(struct ui *ui, int y, int x, int maxw, enum ui_role role, const char *s);
int ui_putn(struct ui *ui, int y, int x, int maxw, enum ui_role role, const char *s, size_t n);
int ui_put_ell(struct ui *ui, int y, int x, int maxw, enum ui_role role, const char *s);
int ui_putf(struct ui *ui, int y, int x, int maxw, enum ui_role role, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));
/* Fills a rectangle with spaces in a role. */
void ui_fill(struct ui *ui, struct ui_rect r, enum ui_role role);
void ui_hline(struct ui *ui, int y, int x, int w, enum ui_role role);
/* A frame around r with an optional title in its top edge. */
void ui_box(struct ui *ui, struct ui_rect r, enum ui_role role, const char *title);
/* Wrapped text in r (see ui_wrap_next); skips the first `skip` lines.
 * Returns the number of lines the whole text takes at r.w. */
int ui_text(struct ui *ui, struct ui_rect r, enum ui_role role, const char *text, int skip);
/* A progress bar in w columns: bar + space + percentage ("  ?%" when total == 0). */
void ui_progress(struct ui *ui, int y, int x, int w, uint64_t done, uint64_t total);

/* The hardware cursor goes here at the end of the frame (screen readers).
 * Widgets call it for the focused element; the last call in a frame wins. */
void ui_set_cursor(struct ui *ui, int y, int x);

/* ------------------------------------------------------------------ screens */

struct ui_widget;

/* One line of help: keys ("Space", "s S") and what they do.  status != 0 also
 * shows it in the status line.  Arrays end with {NULL}. */
struct ui_keyhelp {
	const char *keys;
	const char *what;
	int status;
};

/* Results of a widget's key handler. */
enum ui_kr {
	UI_KR_IGNORED = 0, /* not for this widget: the screen and then the globals get it */
	UI_KR_USED,        /* consumed (moved, typed) */
	UI_KR_CHANGED,     /* a value changed (Space on a checkbox, typing) */
	UI_KR_ACTIVATED,   /* Enter on a button or a list row */
};

struct ui_screen_ops {
	const char *title; /* shown in the title line after the parents' titles */
	/* Called by ui_push; 0, or -1 and the screen is not pushed. */
	int (*init)(struct ui *ui, void *state);
	/* Draws inside area (below the title line, above the message line); must
	 * work for any area, the framework only calls it at 80x24 or more. */
	void (*draw)(struct ui *ui, void *state, struct ui_rect area);
	/* A key nobody before took (see the routing above); 1 if used. */
	int (*key)(struct ui *ui, void *state, int key);
	/* Optional: a widget of the focus ring reported CHANGED or ACTIVATED. */
	void (*event)(struct ui *ui, void *state, struct ui_widget *w, enum ui_kr what);
	/* Optional: before a frame after ui_mark_changed() (copy snapshots here). */
	void (*update)(struct ui *ui, void *state);
	/* Optional: after a resize, with the new size. */
	void (*resize)(struct ui *ui, void *state, int cols, int lines);
	/* Optional: when popped (or at ui_close): release what init took. */
	void (*fini)(struct ui *ui, void *state);
	const struct ui_keyhelp *keys; /* this screen's keys for help and status line */
	const char *help;              /* a paragraph for the help overlay */
};

/* Pushes a screen (calls init).  state is borrowed: it must live until fini.
 * 0 or -1. */
int ui_push(struct ui *ui, const struct ui_screen_ops *ops, void *state);
/* Pops the top screen (calls fini); the root screen is never popped by Esc. */
void ui_pop(struct ui *ui);
int ui_depth(const struct ui *ui);
/* The focus ring of the top screen (borrowed; NULL for none).  Call from init. */
struct ui_focus;
void ui_screen_focus(struct ui *ui, struct ui_focus *ring);

/* Something changed because of a key: redraw soon (at most ~10 Hz). */
void ui_redraw(struct ui *ui);
/* Data changed (engine, timer): run the screens' update() and redraw, at
 * most every 100 ms, or every 2 s with --slow-ui. */
void ui_mark_changed(struct ui *ui);
/* Called once before a frame when data changed (ui_mark_changed), before
 * the screens' update() hooks: copy the engine's progress snapshot here. */
void ui_set_data_hook(struct ui *ui, void (*fn)(struct ui *ui, void *arg), void *arg);
/* Ends ui_run() with the given reason (after the current key). */
void ui_stop(struct ui *ui, enum ui_end why);
/* As if the user pressed q: asks first when the quit guard says busy. */
void ui_request_quit(struct ui *ui);
/* Whether a transfer is running: returns 1 and writes what is running into
 * what (e.g. "3 of 120 mailboxes are being copied") to make q ask first. */
typedef int (*ui_busy_fn)(void *arg, char *what, size_t n);
void ui_set_quit_guard(struct ui *ui, ui_busy_fn fn, void *arg);
/* A banner shown on every screen, e.g. "DRY RUN" (copied; NULL removes it). */
void ui_set_banner(struct ui *ui, const char *text);
/* A one-line message in the message line until the next key. */
void ui_flash(struct ui *ui, enum ui_role role, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Right-hand side of the status line (copied; NULL clears), e.g. totals. */
void ui_set_status(struct ui *ui, const char *text);
/* Frames drawn so far (tests use it to check the redraw rate). */
unsigned long ui_frame_count(const struct ui *ui);

/* ------------------------------------------------------------------ loop */

/* Called on the UI thread when fd is readable.  When it has hung up
 * (POLLHUP/POLLERR/POLLNVAL) fn is called a last time and the fd is unwatched. */
typedef void (*ui_fd_fn)(struct ui *ui, int fd, int revents, void *arg);
/* Watches fd (borrowed: the caller closes it after ui_unwatch).  0 or -1. */
int ui_watch(struct ui *ui, int fd, ui_fd_fn fn, void *arg);
void ui_unwatch(struct ui *ui, int fd);

/* A wake-up pipe for another thread.  Returns the write end (non-blocking,
 * close-on-exec) to give to the engine, or -1.  Each batch of bytes calls
 * fn(ui, arg) on the UI thread (fn NULL: just ui_mark_changed). */
typedef void (*ui_wake_fn)(struct ui *ui, void *arg);
int ui_wakeup_new(struct ui *ui, ui_wake_fn fn, void *arg);
/* Closes both ends.  The engine must have stopped writing first: e.g. it
 * writes while holding its lock, and the UI sets the engine's copy of the fd
 * to -1 under that lock before calling this (or ui_close). */
void ui_wakeup_free(struct ui *ui, int write_fd);
/* What the other thread does (async-signal-safe, never blocks). */
void ui_wakeup_send(int write_fd);

/* A timer every interval_ms on the UI thread; returns an id > 0 or -1. */
typedef void (*ui_timer_fn)(struct ui *ui, void *arg);
int ui_timer_add(struct ui *ui, int interval_ms, ui_timer_fn fn, void *arg);
void ui_timer_remove(struct ui *ui, int id);

/* ------------------------------------------------------------------ dialogs */

/* A modal box over the current screen.  Esc/Enter/Space close it. */
typedef void (*ui_done_fn)(struct ui *ui, int yes, void *arg);
void ui_message(struct ui *ui, const char *title, const char *text, ui_done_fn done, void *arg);
/* A question with two buttons; the focus starts on No, so Enter alone never
 * confirms.  'y' answers yes, 'n' and Esc answer no; Left/Right/Tab move.
 * done(ui, yes, arg) is called once. */
void ui_confirm(struct ui *ui, const char *title, const char *text, const char *yes_label,
                const char *no_label, ui_done_fn done, void *arg);
/* The help overlay for the top screen (F1 or ?). */
void ui_help(struct ui *ui);
int ui_modal_open(const struct ui *ui);

/* ------------------------------------------------------------------ widgets */

struct ui_widget_ops {
	void (*draw)(struct ui *ui, struct ui_widget *w, int focused);
	enum ui_kr (*key)(struct ui *ui, struct ui_widget *w, int key);
	/* Moves focus inside the widget by dir (+1/-1): 1 if it moved, 0 at the
	 * edge (Tab then goes to the next widget).  NULL: one stop. */
	int (*focus_step)(struct ui_widget *w, int dir);
	/* Focus arrives from the previous widget (dir +1) or the next (-1). */
	void (*focus_enter)(struct ui_widget *w, int dir);
};

struct ui_widget {
	const struct ui_widget_ops *ops;
	struct ui_rect rect; /* set by the screen before drawing */
	int id;              /* the screen's name for it (events) */
};

/* Draws w in w->rect, focused if it is the current widget of the top
 * screen's ring and no modal is open. */
void ui_widget_draw(struct ui *ui, struct ui_widget *w);

#define UI_FOCUS_MAX 16
struct ui_focus {
	struct ui_widget *items[UI_FOCUS_MAX]; /* borrowed */
	int n, cur;
};
void ui_focus_init(struct ui_focus *f);
void ui_focus_add(struct ui_focus *f, struct ui_widget *w);
struct ui_widget *ui_focus_current(const struct ui_focus *f);
void ui_focus_set(struct ui_focus *f, struct ui_widget *w);
/* Tab (+1) / Shift-Tab (-1): inside the widget first, then the next widget. */
void ui_focus_move(struct ui_focus *f, int dir);

/* --- forms: labelled fields, one per line; buttons share the last line --- */

enum ui_field_type {
	UI_FIELD_TEXT,
	UI_FIELD_NUMBER,
	UI_FIELD_CHOICE,   /* Space/Right next, Left previous */
	UI_FIELD_CHECK,    /* Space toggles */
	UI_FIELD_PASSWORD, /* drawn as '*', content never drawn, wiped */
	UI_FIELD_BUTTON,   /* Enter activates */
};

#define UI_FIELD_CAP 256
struct ui_field {
	enum ui_field_type type;
	int id;
	const char *label;          /* borrowed */
	const char *const *choices; /* borrowed, NULL-terminated (CHOICE) */
	long min, max;              /* NUMBER bounds */
	int width;                  /* columns of the value (0: up to 40) */
	int checked;                /* CHECK */
	int choice;                 /* CHOICE index */
	char buf[UI_FIELD_CAP];     /* TEXT/NUMBER/PASSWORD, NUL-terminated UTF-8 */
	size_t len, cur;            /* bytes, cursor (byte offset) */
	size_t scroll;              /* first byte shown */
};

struct ui_form {
	struct ui_widget base;
	struct ui_field *fields; /* borrowed array */
	int n, cur, top;
	int activated; /* id of the button last activated, or -1 */
	int changed;   /* id of the field last changed, or -1 */
};

void ui_form_init(struct ui_form *f, struct ui_field *fields, int n);
/* Field constructors (fill *fl; the label is borrowed). */
void ui_field_text(struct ui_field *fl, int id, const char *label, int width, const char *value);
void ui_field_number(struct ui_field *fl, int id, const char *label, long min, long max,
                     long value);
void ui_field_choice(struct ui_field *fl, int id, const char *label, const char *const *choices,
                     int choice);
void ui_field_check(struct ui_field *fl, int id, const char *label, int checked);
void ui_field_password(struct ui_field *fl, int id, const char *label, int width);
void ui_field_button(struct ui_field *fl, int id, const char *label);
struct ui_field *ui_form_field(struct ui_form *f, int id);
/* The text of a TEXT/NUMBER field (NULL for a password field: use take_secret). */
const char *ui_field_value(const struct ui_field *fl);
int ui_field_set(struct ui_field *fl, const char *value);
/* NUMBER: 0 and *out, or -1 when empty, not a number or out of bounds. */
int ui_field_get_number(const struct ui_field *fl, long *out);
/* PASSWORD: moves the content into a new mf_secret (NULL if empty or out of
 * memory) and wipes the field. */
struct mf_secret *ui_field_take_secret(struct ui_field *fl);
size_t ui_field_length(const struct ui_field *fl); /* characters typed */
/* Wipes every field's buffer (call from fini: passwords must not linger). */
void ui_form_wipe(struct ui_form *f);
/* Lines the form needs. */
int ui_form_height(const struct ui_form *f);

/* --- list/table: only the visible rows are asked for --- */

struct ui_column {
	const char *title; /* borrowed */
	int width;         /* > 0 fixed columns; 0 shares what is left */
	int right;         /* right-aligned (numbers) */
};

/* Fills buf with row `row`'s text for column col (UTF-8) and may set *role. */
typedef void (*ui_cell_fn)(void *arg, size_t row, int col, char *buf, size_t n, enum ui_role *role);
/* <0, 0, >0 comparing data rows a and b by column col (NULL: not sortable). */
typedef int (*ui_cmp_fn)(void *arg, size_t a, size_t b, int col);

struct ui_list {
	struct ui_widget base;
	const struct ui_column *cols; /* borrowed */
	int ncols;
	ui_cell_fn cell;
	ui_cmp_fn cmp;
	void *arg; /* borrowed, for cell and cmp */
	size_t count;
	size_t *order;        /* owned: display position -> data row */
	unsigned char *marks; /* owned, per data row, when markable */
	size_t cap;
	size_t sel, top; /* display positions */
	int page;        /* rows shown at the last draw (PgUp/PgDn) */
	int sort_col;    /* -1: data order */
	int sort_desc;
	int markable;      /* Space marks rows */
	const char *empty; /* shown when count == 0 (borrowed) */
	const char *noun;  /* "mailboxes" for the footer (borrowed; NULL: "rows") */
};

void ui_list_init(struct ui_list *l, const struct ui_column *cols, int ncols, ui_cell_fn cell,
                  ui_cmp_fn cmp, void *arg);
void ui_list_free(struct ui_list *l);
/* The data has n rows now (re-sorts, keeps the selected data row selected). */
void ui_list_set_count(struct ui_list *l, size_t n);
/* Re-sorts after the data changed (cheap enough for every frame at 10,000 rows). */
void ui_list_resort(struct ui_list *l);
void ui_list_sort(struct ui_list *l, int col, int desc);
/* The selected data row; -1 when empty. */
long ui_list_selected(const struct ui_list *l);
int ui_list_marked(const struct ui_list *l, size_t row);

#endif
