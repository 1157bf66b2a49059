/* mailferry - modal boxes: message, confirmation, help
 *
 * A modal takes every key until it closes (F10 and Ctrl-L excepted).  The
 * confirmation starts with the focus on No: Enter alone never confirms
 * anything destructive.  Buttons read "[ Yes ]" and, when focused, "> No <",
 * so the focus is visible without attributes; the hardware cursor sits on
 * the focused button.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ui/textutil.h"
#include "ui/ui_p.h"
#include "util/mem.h"

static struct ui_modal *push_modal(struct ui *ui, enum ui_modal_type type, const char *title,
                                   const char *text)
{
	struct ui_modal *m;

	if (ui->nmodal >= UI_MODAL_MAX)
		return NULL;
	m = &ui->modals[ui->nmodal++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->title = xstrdup(title ? title : "");
	m->text = xstrdup(text ? text : "");
	ui->dirty_input = 1;
	return m;
}

static void free_modal(struct ui_modal *m)
{
	free(m->title);
	free(m->text);
	free(m->yes);
	free(m->no);
	memset(m, 0, sizeof(*m));
}

void ui_modal_free_all(struct ui *ui)
{
	while (ui->nmodal > 0)
		free_modal(&ui->modals[--ui->nmodal]);
}

int ui_modal_open(const struct ui *ui)
{
	return ui->nmodal > 0;
}

/* Closes the top modal and then tells its owner. */
static void close_modal(struct ui *ui, int yes)
{
	struct ui_modal *m = &ui->modals[ui->nmodal - 1];
	ui_done_fn done = m->done;
	void *arg = m->arg;

	free_modal(m);
	ui->nmodal--;
	ui->dirty_input = 1;
	if (done)
		done(ui, yes, arg);
}

void ui_message(struct ui *ui, const char *title, const char *text, ui_done_fn done, void *arg)
{
	struct ui_modal *m = push_modal(ui, UI_MODAL_MESSAGE, title, text);

	if (!m) {
		if (done)
			done(ui, 1, arg);
		return;
	}
	m->done = done;
	m->arg = arg;
}

void ui_confirm(struct ui *ui, const char *title, const char *text, const char *yes_label,
                const char *no_label, ui_done_fn done, void *arg)
{
	struct ui_modal *m = push_modal(ui, UI_MODAL_CONFIRM, title, text);

	if (!m) {
		/* cannot ask: the answer is no */
		if (done)
			done(ui, 0, arg);
		return;
	}
	m->yes = xstrdup(yes_label ? yes_label : "Yes");
	m->no = xstrdup(no_label ? no_label : "No");
	m->on_yes = 0;
	m->done = done;
	m->arg = arg;
}

static void quit_answer(struct ui *ui, int yes, void *arg)
{
	(void)arg;
	if (yes)
		ui_stop(ui, UI_END_QUIT);
	else
		ui_flash(ui, UI_ROLE_NORMAL, "Still running.");
}

void ui_confirm_quit(struct ui *ui, const char *what)
{
	char text[768];

	for (int i = 0; i < ui->nmodal; i++)
		if (ui->modals[i].is_quit)
			return; /* already asking */
	snprintf(text, sizeof(text),
	         "%s%s\n\nQuitting stops the transfer at a safe point. Everything copied so far "
	         "is kept: the batch is resumable, run mailferry again to continue where it "
	         "stopped.",
	         what && *what ? what : "A transfer is running", what && *what ? "." : ".");
	ui_confirm(ui, "Quit while a transfer is running?", text, "Quit", "Keep running",
	           quit_answer, NULL);
	if (ui->nmodal && ui->modals[ui->nmodal - 1].type == UI_MODAL_CONFIRM)
		ui->modals[ui->nmodal - 1].is_quit = 1;
}

/* ---------------------------------------------------------------- help */

static void help_cat(char **buf, size_t *len, const char *s)
{
	size_t l = strlen(s);

	*buf = ui_xrealloc(*buf, *len + l + 1);
	memcpy(*buf + *len, s, l + 1);
	*len += l;
}

static void help_key(char **buf, size_t *len, const char *keys, const char *what)
{
	char *line = xsprintf("  %-16s %s\n", keys, what);

	help_cat(buf, len, line);
	free(line);
}

void ui_help(struct ui *ui)
{
	const struct ui_frame *top = ui_top(ui);
	struct ui_modal *m;
	char *buf = NULL, *title;
	size_t len = 0;

	if (!top)
		return;
	help_cat(&buf, &len, "");
	if (top->ops->help) {
		help_cat(&buf, &len, top->ops->help);
		help_cat(&buf, &len, "\n\n");
	}
	if (top->ops->keys && top->ops->keys->keys) {
		help_cat(&buf, &len, "Keys on this screen:\n");
		for (const struct ui_keyhelp *k = top->ops->keys; k->keys; k++)
			help_key(&buf, &len, k->keys, k->what);
		help_cat(&buf, &len, "\n");
	}
	help_cat(&buf, &len, "Keys everywhere:\n");
	help_key(&buf, &len, "F1 or ?", "this help (Up/Down scroll, other keys close it)");
	help_key(&buf, &len, "Tab, Shift-Tab", "next / previous field");
	help_key(&buf, &len, "Up, Down", "move in lists and forms");
	help_key(&buf, &len, "PgUp, PgDn", "a page up / down in lists");
	help_key(&buf, &len, "Home, End", "first / last row");
	help_key(&buf, &len, "Enter", "activate the button or row");
	help_key(&buf, &len, "Space", "toggle a checkbox, next choice");
	help_key(&buf, &len, "Esc", "back to the previous screen");
	help_key(&buf, &len, "Ctrl-L", "redraw the screen");
	help_key(&buf, &len, "q or F10", "quit (asks first while a transfer runs)");
	title = xsprintf("Help: %s", top->ops->title ? top->ops->title : "mailferry");
	m = push_modal(ui, UI_MODAL_HELP, title, buf);
	(void)m;
	free(title);
	free(buf);
}

/* ---------------------------------------------------------------- keys */

int ui_modal_key(struct ui *ui, int key)
{
	struct ui_modal *m;

	if (!ui->nmodal)
		return 0;
	m = &ui->modals[ui->nmodal - 1];
	switch (m->type) {
	case UI_MODAL_HELP:
		switch (key) {
		case UI_KEY_UP:
			if (m->scroll > 0)
				m->scroll--;
			return 1;
		case UI_KEY_DOWN:
			m->scroll++;
			return 1;
		case UI_KEY_PGUP:
			m->scroll = m->scroll > 10 ? m->scroll - 10 : 0;
			return 1;
		case UI_KEY_PGDN:
			m->scroll += 10;
			return 1;
		case UI_KEY_HOME:
			m->scroll = 0;
			return 1;
		}
		close_modal(ui, 1);
		return 1;
	case UI_MODAL_MESSAGE:
		if (key == UI_KEY_ENTER || key == UI_KEY_ESC || key == ' ' || key == 'q' ||
		    key == 'Q')
			close_modal(ui, 1);
		return 1;
	case UI_MODAL_CONFIRM:
		switch (key) {
		case UI_KEY_LEFT:
		case UI_KEY_RIGHT:
		case UI_KEY_TAB:
		case UI_KEY_BTAB:
			m->on_yes = !m->on_yes;
			return 1;
		case UI_KEY_ENTER:
			close_modal(ui, m->on_yes);
			return 1;
		case 'y':
		case 'Y':
			close_modal(ui, 1);
			return 1;
		case 'n':
		case 'N':
		case UI_KEY_ESC:
			close_modal(ui, 0);
			return 1;
		}
		return 1;
	}
	return 1;
}

/* ---------------------------------------------------------------- drawing */

/* "[ Label ]", or "> Label <" when focused.  Returns the columns used. */
static int draw_button(struct ui *ui, int y, int x, const char *label, int focused)
{
	int w = ui_put(ui, y, x, -1, focused ? UI_ROLE_FOCUS : UI_ROLE_NORMAL,
	               focused ? "> " : "[ ");

	w += ui_put(ui, y, x + w, -1, focused ? UI_ROLE_FOCUS : UI_ROLE_NORMAL, label);
	w += ui_put(ui, y, x + w, -1, focused ? UI_ROLE_FOCUS : UI_ROLE_NORMAL,
	            focused ? " <" : " ]");
	if (focused)
		ui_set_cursor(ui, y, x + 2);
	return w;
}

void ui_modal_draw(struct ui *ui)
{
	struct ui_modal *m;
	struct ui_rect box, text;
	int lines, maxw, w, h, btn_w = 0;

	if (!ui->nmodal)
		return;
	m = &ui->modals[ui->nmodal - 1];
	maxw = m->type == UI_MODAL_HELP ? 76 : 64;
	w = COLS - 2 < maxw ? COLS - 2 : maxw;
	if (w < 8)
		w = COLS; /* tiny terminal: no frame worth drawing, just the text */
	lines = ui_wrap_count(m->text, w > 4 ? w - 4 : 1, ui->ascii);
	h = lines + (m->type == UI_MODAL_HELP ? 2 : 4);
	if (h > LINES)
		h = LINES;
	box = (struct ui_rect){(LINES - h) / 2, (COLS - w) / 2, h, w};
	if (box.y < 0)
		box.y = 0;
	if (box.x < 0)
		box.x = 0;
	ui_fill(ui, box, UI_ROLE_NORMAL);
	ui_box(ui, box, UI_ROLE_NORMAL, m->title);
	text = (struct ui_rect){box.y + 1, box.x + 2, box.h - (m->type == UI_MODAL_HELP ? 2 : 4),
	                        box.w - 4};
	if (text.h < 1) {
		/* no room for a frame: the first line of the text at least */
		text = (struct ui_rect){box.y, box.x, 1, box.w};
	}
	if (m->type == UI_MODAL_HELP) {
		if (m->scroll > lines - text.h)
			m->scroll = lines - text.h > 0 ? lines - text.h : 0;
		ui_text(ui, text, UI_ROLE_NORMAL, m->text, m->scroll);
		if (lines > text.h && box.h > 2)
			ui_putf(ui, box.y + box.h - 1, box.x + 2, box.w - 4, UI_ROLE_DIM,
			        " %s %s more: Up/Down, any other key closes ",
			        ui_glyph(ui, UI_G_MORE_UP), ui_glyph(ui, UI_G_MORE_DOWN));
		ui_set_cursor(ui, text.y, text.x);
		return;
	}
	ui_text(ui, text, UI_ROLE_NORMAL, m->text, 0);
	{
		int by = box.y + box.h - 2;

		if (by < 0 || box.h < 4)
			by = box.y + box.h - 1;
		if (m->type == UI_MODAL_MESSAGE) {
			btn_w = ui_str_width(" OK ", ui->ascii) + 4;
			draw_button(ui, by, box.x + (box.w - btn_w) / 2, "OK", 1);
		} else {
			int yw = ui_str_width(m->yes, ui->ascii) + 4;
			int nw = ui_str_width(m->no, ui->ascii) + 4;
			int x = box.x + (box.w - yw - nw - 3) / 2;

			if (x < box.x)
				x = box.x;
			draw_button(ui, by, x, m->yes, m->on_yes);
			draw_button(ui, by, x + yw + 3, m->no, !m->on_yes);
		}
	}
}
