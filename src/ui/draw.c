/* mailferry - theme, glyphs and clipped drawing primitives
 *
 * Everything is drawn on stdscr, clipped to the screen: a frame is erase(),
 * drawing, one wnoutrefresh() and one doupdate(), and ncurses sends only the
 * cells that changed.  Strings are sanitised through textutil.h, so nothing
 * from a server can put control characters on the terminal, and ASCII mode
 * writes only bytes 0x20..0x7e.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "ui/textutil.h"
#include "ui/ui_p.h"
#include "util/mem.h"

static const char *const glyphs_utf8[UI_G__COUNT] = {
        [UI_G_HLINE] = "─",    [UI_G_VLINE] = "│",    [UI_G_ULCORNER] = "┌",
        [UI_G_URCORNER] = "┐", [UI_G_LLCORNER] = "└", [UI_G_LRCORNER] = "┘",
        [UI_G_POINTER] = ">",  [UI_G_SORT_UP] = "▲",  [UI_G_SORT_DOWN] = "▼",
        [UI_G_ELLIPSIS] = "…", [UI_G_MORE_UP] = "↑",  [UI_G_MORE_DOWN] = "↓",
};

static const char *const glyphs_ascii[UI_G__COUNT] = {
        [UI_G_HLINE] = "-",    [UI_G_VLINE] = "|",    [UI_G_ULCORNER] = "+",
        [UI_G_URCORNER] = "+", [UI_G_LLCORNER] = "+", [UI_G_LRCORNER] = "+",
        [UI_G_POINTER] = ">",  [UI_G_SORT_UP] = "^",  [UI_G_SORT_DOWN] = "v",
        [UI_G_ELLIPSIS] = "~", [UI_G_MORE_UP] = "^",  [UI_G_MORE_DOWN] = "v",
};

/* Role -> (foreground, background, attributes with colour, attributes without).
 * Without colour the roles still differ by attribute, and always by words. */
static const struct {
	short fg, bg;
	attr_t color_attr, mono_attr;
} theme[UI_ROLE__COUNT] = {
        [UI_ROLE_NORMAL] = {-1, -1, A_NORMAL, A_NORMAL},
        [UI_ROLE_OK] = {COLOR_GREEN, -1, A_NORMAL, A_NORMAL},
        [UI_ROLE_WARN] = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
        [UI_ROLE_FAIL] = {COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE},
        [UI_ROLE_SKIP] = {-1, -1, A_DIM, A_DIM},
        [UI_ROLE_FOCUS] = {-1, -1, A_REVERSE, A_REVERSE},
        [UI_ROLE_TITLE] = {COLOR_WHITE, COLOR_BLUE, A_BOLD, A_REVERSE},
        [UI_ROLE_BANNER] = {COLOR_BLACK, COLOR_YELLOW, A_BOLD, A_REVERSE | A_BOLD},
        [UI_ROLE_DIM] = {-1, -1, A_DIM, A_DIM},
};

void ui_theme_init(struct ui *ui)
{
	short next = 1;

	for (int r = 0; r < UI_ROLE__COUNT; r++) {
		ui->role_pair[r] = 0;
		if (!ui->colors) {
			ui->role_attr[r] = theme[r].mono_attr;
			continue;
		}
		ui->role_attr[r] = theme[r].color_attr;
		if (theme[r].fg != -1 || theme[r].bg != -1) {
			if (init_pair(next, theme[r].fg, theme[r].bg) == OK)
				ui->role_pair[r] = next++;
		}
	}
}

void ui_attr(struct ui *ui, enum ui_role role)
{
	if ((int)role < 0 || role >= UI_ROLE__COUNT)
		role = UI_ROLE_NORMAL;
	attr_set(ui->role_attr[role], ui->role_pair[role], NULL);
}

int ui_ascii(const struct ui *ui)
{
	return ui->ascii;
}

int ui_colors(const struct ui *ui)
{
	return ui->colors;
}

const char *ui_glyph(const struct ui *ui, enum ui_glyph g)
{
	if ((int)g < 0 || g >= UI_G__COUNT)
		return "?";
	return ui->ascii ? glyphs_ascii[g] : glyphs_utf8[g];
}

int ui_cols(const struct ui *ui)
{
	(void)ui;
	return COLS;
}

int ui_lines(const struct ui *ui)
{
	(void)ui;
	return LINES;
}

/* Writes the code points of s[0..n) that fit in cols columns at (y, x), at
 * most a buffer's worth.  Returns the columns used; *consumed gets the bytes
 * taken and *full whether the next character did not fit. */
static int put_clipped(struct ui *ui, int y, int x, int cols, const char *s, size_t n,
                       size_t *consumed, int *full)
{
	wchar_t wbuf[256];
	char cbuf[256];
	size_t i = 0, k = 0, step;
	int used = 0, cw;
	uint32_t cp;

	*full = 0;
	while (i < n && k < sizeof(cbuf) - 1) {
		step = ui_utf8_decode(s + i, n - i, &cp);
		cp = ui_cp_shown(cp, ui->ascii);
		cw = ui_cp_width(cp, ui->ascii);
		if (used + cw > cols) {
			*full = 1;
			break;
		}
		i += step;
		/* a combining mark with nothing to combine with is dropped */
		if (cw == 0 && k == 0)
			continue;
		used += cw;
		if (ui->ascii)
			cbuf[k++] = (char)cp;
		else
			wbuf[k++] = (wchar_t)cp;
	}
	*consumed = i;
	if (k) {
		if (ui->ascii)
			mvaddnstr(y, x, cbuf, (int)k);
		else
			mvaddnwstr(y, x, wbuf, (int)k);
	}
	return used;
}

/* Columns available at (y, x) within maxw and the screen; -1 if off screen. */
static int room(int y, int x, int maxw)
{
	int avail;

	if (y < 0 || y >= LINES || x < 0 || x >= COLS)
		return -1;
	avail = COLS - x;
	if (maxw >= 0 && maxw < avail)
		avail = maxw;
	return avail;
}

int ui_putn(struct ui *ui, int y, int x, int maxw, enum ui_role role, const char *s, size_t n)
{
	int avail = room(y, x, maxw), total = 0, full = 0;
	size_t used;

	if (avail <= 0 || !s)
		return 0;
	ui_attr(ui, role);
	while (n > 0 && !full) {
		total += put_clipped(ui, y, x + total, avail - total, s, n, &used, &full);
		if (!used)
			break;
		s += used;
		n -= used;
	}
	ui_attr(ui, UI_ROLE_NORMAL);
	return total;
}

int ui_put(struct ui *ui, int y, int x, int maxw, enum ui_role role, const char *s)
{
	return s ? ui_putn(ui, y, x, maxw, role, s, strlen(s)) : 0;
}

int ui_put_ell(struct ui *ui, int y, int x, int maxw, enum ui_role role, const char *s)
{
	int avail = room(y, x, maxw), w;
	size_t n, fit;

	if (avail <= 0 || !s)
		return 0;
	n = strlen(s);
	if (ui_text_width(s, n, ui->ascii) <= avail)
		return ui_putn(ui, y, x, avail, role, s, n);
	fit = ui_text_fit(s, n, avail - 1, ui->ascii, &w);
	w = ui_putn(ui, y, x, avail - 1, role, s, fit);
	return w + ui_put(ui, y, x + w, 1, role, ui_glyph(ui, UI_G_ELLIPSIS));
}

int ui_putf(struct ui *ui, int y, int x, int maxw, enum ui_role role, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return ui_put(ui, y, x, maxw, role, buf);
}

static int clip_rect(struct ui_rect *r)
{
	if (r->y < 0) {
		r->h += r->y;
		r->y = 0;
	}
	if (r->x < 0) {
		r->w += r->x;
		r->x = 0;
	}
	if (r->y + r->h > LINES)
		r->h = LINES - r->y;
	if (r->x + r->w > COLS)
		r->w = COLS - r->x;
	return r->h > 0 && r->w > 0;
}

void ui_fill(struct ui *ui, struct ui_rect r, enum ui_role role)
{
	if (!clip_rect(&r))
		return;
	ui_attr(ui, role);
	for (int y = r.y; y < r.y + r.h; y++)
		mvhline(y, r.x, ' ', r.w);
	ui_attr(ui, UI_ROLE_NORMAL);
}

void ui_hline(struct ui *ui, int y, int x, int w, enum ui_role role)
{
	const char *g = ui_glyph(ui, UI_G_HLINE);

	for (int i = 0; i < w; i++)
		ui_put(ui, y, x + i, 1, role, g);
}

void ui_box(struct ui *ui, struct ui_rect r, enum ui_role role, const char *title)
{
	if (r.w < 2 || r.h < 2)
		return;
	ui_put(ui, r.y, r.x, 1, role, ui_glyph(ui, UI_G_ULCORNER));
	ui_hline(ui, r.y, r.x + 1, r.w - 2, role);
	ui_put(ui, r.y, r.x + r.w - 1, 1, role, ui_glyph(ui, UI_G_URCORNER));
	for (int y = r.y + 1; y < r.y + r.h - 1; y++) {
		ui_put(ui, y, r.x, 1, role, ui_glyph(ui, UI_G_VLINE));
		ui_put(ui, y, r.x + r.w - 1, 1, role, ui_glyph(ui, UI_G_VLINE));
	}
	ui_put(ui, r.y + r.h - 1, r.x, 1, role, ui_glyph(ui, UI_G_LLCORNER));
	ui_hline(ui, r.y + r.h - 1, r.x + 1, r.w - 2, role);
	ui_put(ui, r.y + r.h - 1, r.x + r.w - 1, 1, role, ui_glyph(ui, UI_G_LRCORNER));
	if (title && *title && r.w > 4) {
		int w = ui_put(ui, r.y, r.x + 2, 1, role, " ");

		w += ui_put_ell(ui, r.y, r.x + 2 + w, r.w - 6, UI_ROLE_TITLE, title);
		ui_put(ui, r.y, r.x + 2 + w, 1, role, " ");
	}
}

int ui_text(struct ui *ui, struct ui_rect r, enum ui_role role, const char *text, int skip)
{
	struct ui_wrap w;
	size_t off, len;
	int line = 0;

	if (r.w <= 0)
		return 0;
	ui_wrap_init(&w, text, r.w, ui->ascii);
	while (ui_wrap_next(&w, &off, &len)) {
		int row = line - skip;

		if (row >= 0 && row < r.h)
			ui_putn(ui, r.y + row, r.x, r.w, role, text + off, len);
		line++;
	}
	return line;
}

void ui_progress(struct ui *ui, int y, int x, int w, uint64_t done, uint64_t total)
{
	char bar[3 * UI_BAR_MAX + 1], pct[8];
	int barw = w - 5;

	ui_percent_text(pct, sizeof(pct), done, total);
	if (barw < 1) {
		ui_put(ui, y, x, w, UI_ROLE_NORMAL, pct);
		return;
	}
	ui_bar_render(bar, sizeof(bar), barw, done, total, ui->ascii);
	ui_put(ui, y, x, barw, total && done >= total ? UI_ROLE_OK : UI_ROLE_NORMAL, bar);
	ui_put(ui, y, x + barw, 5, UI_ROLE_NORMAL, " ");
	ui_put(ui, y, x + barw + 1, 4, UI_ROLE_NORMAL, pct);
}

void ui_set_cursor(struct ui *ui, int y, int x)
{
	if (y < 0 || x < 0 || y >= LINES || x >= COLS)
		return;
	ui->cur_y = y;
	ui->cur_x = x;
	ui->cur_set = 1;
}

void *ui_xrealloc(void *p, size_t n)
{
	void *q = mf_realloc(p, n);

	if (!q) {
		ui_emergency_restore();
		fputs("mailferry: out of memory; nothing was lost, the batch can be resumed\n",
		      stderr);
		exit(1);
	}
	return q;
}
