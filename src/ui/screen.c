/* mailferry - the screen stack, key routing, the focus ring and the frame
 *
 * Layout of every frame at 80x24 or more:
 *   line 0           title line: "mailferry > Step 6 > ..." and the banner
 *   lines 1..L-3     the top screen's area
 *   line L-2         message line: ui_flash() text, else the SSH hint
 *   line L-1         status line: key hints left, ui_set_status() right
 * Below 80x24 the whole frame is the "terminal too small" screen.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ui/textutil.h"
#include "ui/ui_p.h"
#include "util/mem.h"

#define SSH_HINT                                                                                   \
	"Hint: over SSH, run mailferry inside tmux or screen so a dropped link cannot stop it."

int ui_push(struct ui *ui, const struct ui_screen_ops *ops, void *state)
{
	struct ui_frame *f;

	if (ui->depth >= UI_STACK_MAX || !ops || !ops->draw)
		return -1;
	f = &ui->stack[ui->depth++];
	*f = (struct ui_frame){.ops = ops, .state = state};
	if (ops->init && ops->init(ui, state) < 0) {
		ui->depth--;
		return -1;
	}
	ui->flash[0] = 0;
	ui->dirty_input = 1;
	return 0;
}

void ui_pop(struct ui *ui)
{
	struct ui_frame f;

	if (ui->depth <= 0)
		return;
	f = ui->stack[--ui->depth];
	if (f.ops->fini)
		f.ops->fini(ui, f.state);
	ui->dirty_input = 1;
}

int ui_depth(const struct ui *ui)
{
	return ui->depth;
}

const struct ui_frame *ui_top(const struct ui *ui)
{
	return ui->depth ? &ui->stack[ui->depth - 1] : NULL;
}

void ui_screen_focus(struct ui *ui, struct ui_focus *ring)
{
	if (ui->depth)
		ui->stack[ui->depth - 1].focus = ring;
}

int ui_too_small(const struct ui *ui)
{
	(void)ui;
	return COLS < UI_MIN_COLS || LINES < UI_MIN_LINES;
}

/* ---------------------------------------------------------------- focus */

void ui_focus_init(struct ui_focus *f)
{
	memset(f, 0, sizeof(*f));
}

void ui_focus_add(struct ui_focus *f, struct ui_widget *w)
{
	if (f->n < UI_FOCUS_MAX)
		f->items[f->n++] = w;
}

struct ui_widget *ui_focus_current(const struct ui_focus *f)
{
	return f && f->n ? f->items[f->cur] : NULL;
}

void ui_focus_set(struct ui_focus *f, struct ui_widget *w)
{
	for (int i = 0; i < f->n; i++)
		if (f->items[i] == w)
			f->cur = i;
}

void ui_focus_move(struct ui_focus *f, int dir)
{
	struct ui_widget *w = ui_focus_current(f);

	if (!w)
		return;
	if (w->ops->focus_step && w->ops->focus_step(w, dir))
		return;
	f->cur = (f->cur + dir + f->n) % f->n;
	w = f->items[f->cur];
	if (w->ops->focus_enter)
		w->ops->focus_enter(w, dir);
}

void ui_widget_draw(struct ui *ui, struct ui_widget *w)
{
	const struct ui_frame *top = ui_top(ui);
	int focused = !ui->nmodal && top && top->focus && ui_focus_current(top->focus) == w;

	if (w && w->ops && w->ops->draw && w->rect.w > 0 && w->rect.h > 0)
		w->ops->draw(ui, w, focused);
}

/* ---------------------------------------------------------------- keys */

static int global_key(struct ui *ui, int key)
{
	const struct ui_frame *top = ui_top(ui);

	switch (key) {
	case UI_KEY_TAB:
	case UI_KEY_BTAB:
		if (top && top->focus) {
			ui_focus_move(top->focus, key == UI_KEY_TAB ? 1 : -1);
			return 1;
		}
		return 0;
	case UI_KEY_ESC:
		if (ui->depth > 1)
			ui_pop(ui);
		else
			ui_flash(ui, UI_ROLE_NORMAL, "This is the first screen: press q to quit.");
		return 1;
	case '?':
		ui_help(ui);
		return 1;
	case 'q':
	case 'Q':
		ui_request_quit(ui);
		return 1;
	}
	return 0;
}

void ui_dispatch_key(struct ui *ui, int key)
{
	const struct ui_frame *top;
	struct ui_widget *w;

	ui->dirty_input = 1;
	if (key == UI_KEY_RESIZE) {
		ui->full_clear = 1;
		for (int i = 0; i < ui->depth; i++)
			if (ui->stack[i].ops->resize)
				ui->stack[i].ops->resize(ui, ui->stack[i].state, COLS, LINES);
		return;
	}
	if (key == UI_KEY_CTRL('l')) {
		ui->full_clear = 1;
		return;
	}
	ui->flash[0] = 0;
	if (key == UI_KEY_F(10)) {
		if (!(ui->nmodal && ui->modals[ui->nmodal - 1].is_quit))
			ui_request_quit(ui);
		return;
	}
	if (ui->nmodal) {
		ui_modal_key(ui, key);
		return;
	}
	if (ui_too_small(ui)) {
		if (key == 'q' || key == 'Q')
			ui_request_quit(ui);
		return;
	}
	if (key == UI_KEY_F(1)) {
		ui_help(ui);
		return;
	}
	top = ui_top(ui);
	if (!top)
		return;
	w = top->focus ? ui_focus_current(top->focus) : NULL;
	if (w && w->ops->key) {
		enum ui_kr r = w->ops->key(ui, w, key);

		if (r != UI_KR_IGNORED) {
			if ((r == UI_KR_CHANGED || r == UI_KR_ACTIVATED) && top->ops->event)
				top->ops->event(ui, top->state, w, r);
			return;
		}
	}
	if (top->ops->key && top->ops->key(ui, top->state, key))
		return;
	global_key(ui, key);
}

/* ---------------------------------------------------------------- frame */

static void draw_title(struct ui *ui)
{
	char buf[512];
	size_t at;
	int bw = 0, cols = COLS;

	ui_fill(ui, (struct ui_rect){0, 0, 1, cols}, UI_ROLE_TITLE);
	if (ui->banner) {
		char b[128];

		snprintf(b, sizeof(b), " %s ", ui->banner);
		bw = ui_str_width(b, ui->ascii);
		if (bw > cols / 2)
			bw = cols / 2;
		ui_put(ui, 0, cols - bw, bw, UI_ROLE_BANNER, b);
	}
	at = (size_t)snprintf(buf, sizeof(buf), " %s", ui->opt.app_name);
	for (int i = 0; i < ui->depth && at < sizeof(buf); i++)
		if (ui->stack[i].ops->title)
			at += (size_t)snprintf(buf + at, sizeof(buf) - at, " > %s",
			                       ui->stack[i].ops->title);
	ui_put_ell(ui, 0, 0, cols - bw - 1, UI_ROLE_TITLE, buf);
}

static int hint_width(struct ui *ui, const char *keys, const char *what)
{
	return ui_str_width(keys, ui->ascii) + 1 + ui_str_width(what, ui->ascii) + 2;
}

static int add_hint(struct ui *ui, int x, const char *keys, const char *what)
{
	x += ui_put(ui, LINES - 1, x, -1, UI_ROLE_TITLE, keys);
	x += ui_put(ui, LINES - 1, x, -1, UI_ROLE_NORMAL, " ");
	x += ui_put(ui, LINES - 1, x, -1, UI_ROLE_NORMAL, what);
	return x + 2;
}

/* Key hints: the screen's own (those that fit) and then the global ones,
 * which always get their room: help, next field, back, quit. */
static void draw_status(struct ui *ui, const struct ui_frame *top)
{
	const char *gk[4], *gw[4];
	int ng = 0, limit = COLS, x = 0, reserve = 0;

	gk[ng] = "F1/?", gw[ng++] = "help";
	if (top->focus && top->focus->n > 0)
		gk[ng] = "Tab", gw[ng++] = "next";
	if (ui->depth > 1)
		gk[ng] = "Esc", gw[ng++] = "back";
	gk[ng] = "q", gw[ng++] = "quit";
	if (ui->status) {
		int sw = ui_str_width(ui->status, ui->ascii);

		if (sw > COLS / 3)
			sw = COLS / 3;
		ui_put_ell(ui, LINES - 1, COLS - sw, sw, UI_ROLE_NORMAL, ui->status);
		limit = COLS - sw - 1;
	}
	for (int i = 0; i < ng; i++)
		reserve += hint_width(ui, gk[i], gw[i]);
	for (const struct ui_keyhelp *k = top->ops->keys; k && k->keys; k++) {
		if (!k->status)
			continue;
		if (x + hint_width(ui, k->keys, k->what) + reserve > limit)
			break;
		x = add_hint(ui, x, k->keys, k->what);
	}
	for (int i = 0; i < ng; i++) {
		if (x + hint_width(ui, gk[i], gw[i]) - 2 > limit)
			break;
		x = add_hint(ui, x, gk[i], gw[i]);
	}
}

/* Says what is wrong in words that fit: one sentence when there is room,
 * else short lines.  Whatever the size, nothing is drawn off screen. */
static void draw_too_small(struct ui *ui)
{
	char have[40], need[40], line[120];
	int y;

	snprintf(have, sizeof(have), "have %dx%d", COLS, LINES);
	snprintf(need, sizeof(need), "need %dx%d", UI_MIN_COLS, UI_MIN_LINES);
	if (COLS >= 48) {
		y = LINES >= 4 ? LINES / 2 - 1 : 0;
		snprintf(line, sizeof(line), "Terminal too small: %s, %s.", have, need);
		ui_put(ui, y, 0, -1, UI_ROLE_FAIL, line);
		ui_put(ui, y + 1, 0, -1, UI_ROLE_NORMAL, "Enlarge the window, or press q to quit.");
	} else {
		y = LINES >= 6 ? LINES / 2 - 2 : 0;
		ui_put(ui, y, 0, -1, UI_ROLE_FAIL, "Terminal too small");
		ui_put(ui, y + 1, 0, -1, UI_ROLE_NORMAL, have);
		ui_put(ui, y + 2, 0, -1, UI_ROLE_NORMAL, need);
		ui_put(ui, y + 3, 0, -1, UI_ROLE_NORMAL, "q: quit");
	}
	ui_set_cursor(ui, y, 0);
}

static void place_cursor(struct ui *ui)
{
	int want = ui->cur_set;

	if (want != ui->cursor_shown) {
		curs_set(want ? 1 : 0);
		ui->cursor_shown = want;
	}
	if (want)
		move(ui->cur_y, ui->cur_x);
	else
		move(LINES - 1, 0);
}

void ui_draw_frame(struct ui *ui)
{
	const struct ui_frame *top = ui_top(ui);

	if (ui->dirty_data && ui->data_hook)
		ui->data_hook(ui, ui->data_arg);
	if (ui->dirty_data)
		for (int i = 0; i < ui->depth; i++)
			if (ui->stack[i].ops->update)
				ui->stack[i].ops->update(ui, ui->stack[i].state);
	top = ui_top(ui);
	ui->dirty_data = ui->dirty_input = 0;
	ui->cur_set = 0;
	erase();
	if (ui->full_clear) {
		/* after a resize or Ctrl-L only: repaint everything */
		clear();
		ui->full_clear = 0;
	}
	if (ui_too_small(ui) || !top) {
		draw_too_small(ui);
	} else {
		struct ui_rect area = {1, 0, LINES - 3, COLS};

		draw_title(ui);
		top->ops->draw(ui, top->state, area);
		if (ui->flash[0])
			ui_put_ell(ui, LINES - 2, 0, -1, ui->flash_role, ui->flash);
		else if (ui->ssh_hint)
			ui_put_ell(ui, LINES - 2, 0, -1, UI_ROLE_WARN, SSH_HINT);
		draw_status(ui, top);
	}
	ui_modal_draw(ui);
	place_cursor(ui);
	wnoutrefresh(stdscr);
	doupdate();
	ui->frames++;
}
