/* mailferry - list/table view
 *
 * The data stays with its owner: the list asks cell() only for the rows on
 * screen, so 10,000 mailboxes cost no more to draw than 20.  The list keeps
 * a display order (sorted through cmp()), the selection, optional marks, and
 * a footer that says in words where you are and how the rows are sorted.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ui/textutil.h"
#include "ui/ui_p.h"

static void list_draw(struct ui *ui, struct ui_widget *w, int focused);
static enum ui_kr list_key(struct ui *ui, struct ui_widget *w, int key);

static const struct ui_widget_ops list_ops = {
        .draw = list_draw,
        .key = list_key,
};

void ui_list_init(struct ui_list *l, const struct ui_column *cols, int ncols, ui_cell_fn cell,
                  ui_cmp_fn cmp, void *arg)
{
	memset(l, 0, sizeof(*l));
	l->base.ops = &list_ops;
	l->cols = cols;
	l->ncols = ncols;
	l->cell = cell;
	l->cmp = cmp;
	l->arg = arg;
	l->sort_col = -1;
	l->page = 1;
}

void ui_list_free(struct ui_list *l)
{
	free(l->order);
	free(l->marks);
	l->order = NULL;
	l->marks = NULL;
	l->cap = l->count = 0;
}

long ui_list_selected(const struct ui_list *l)
{
	if (!l->count || l->sel >= l->count)
		return -1;
	return (long)l->order[l->sel];
}

int ui_list_marked(const struct ui_list *l, size_t row)
{
	return l->marks && row < l->count && l->marks[row];
}

static int cmp_rows(const void *a, const void *b, void *arg)
{
	const struct ui_list *l = arg;
	size_t ra = *(const size_t *)a, rb = *(const size_t *)b;
	int c = l->cmp(l->arg, ra, rb, l->sort_col);

	if (l->sort_desc)
		c = -c;
	if (!c) /* equal keys keep data order: no jumping rows between frames */
		c = ra < rb ? -1 : ra > rb;
	return c;
}

static void select_row(struct ui_list *l, long row)
{
	if (row < 0)
		return;
	for (size_t i = 0; i < l->count; i++)
		if (l->order[i] == (size_t)row) {
			l->sel = i;
			return;
		}
}

void ui_list_resort(struct ui_list *l)
{
	long row = ui_list_selected(l);

	for (size_t i = 0; i < l->count; i++)
		l->order[i] = i;
	if (l->sort_col >= 0 && l->cmp && l->count > 1)
		qsort_r(l->order, l->count, sizeof(*l->order), cmp_rows, l);
	select_row(l, row);
}

void ui_list_set_count(struct ui_list *l, size_t n)
{
	long row = ui_list_selected(l);

	if (n > l->cap) {
		size_t cap = l->cap ? l->cap : 64;

		while (cap < n)
			cap *= 2;
		l->order = ui_xrealloc(l->order, cap * sizeof(*l->order));
		l->marks = ui_xrealloc(l->marks, cap);
		memset(l->marks + l->cap, 0, cap - l->cap);
		l->cap = cap;
	}
	if (n < l->count && l->marks)
		memset(l->marks + n, 0, l->count - n);
	l->count = n;
	ui_list_resort(l);
	if (row >= 0 && (size_t)row < n)
		select_row(l, row);
	if (l->sel >= n)
		l->sel = n ? n - 1 : 0;
}

void ui_list_sort(struct ui_list *l, int col, int desc)
{
	l->sort_col = col < l->ncols ? col : -1;
	l->sort_desc = !!desc;
	ui_list_resort(l);
}

/* Keeps the selection inside the rows shown (body rows from top). */
static void clamp_top(struct ui_list *l, size_t body)
{
	if (!l->count) {
		l->top = l->sel = 0;
		return;
	}
	if (l->sel >= l->count)
		l->sel = l->count - 1;
	if (l->sel < l->top)
		l->top = l->sel;
	if (body > 0 && l->sel >= l->top + body)
		l->top = l->sel - body + 1;
	if (body > 0 && l->top + body > l->count)
		l->top = l->count > body ? l->count - body : 0;
}

static void move_sel(struct ui_list *l, long delta)
{
	long s = (long)l->sel + delta;

	if (!l->count)
		return;
	if (s < 0)
		s = 0;
	if (s >= (long)l->count)
		s = (long)l->count - 1;
	l->sel = (size_t)s;
}

static enum ui_kr list_key_inner(struct ui *ui, struct ui_widget *w, int key)
{
	struct ui_list *l = (struct ui_list *)w;
	long page = l->page > 1 ? l->page - 1 : 1;

	(void)ui;
	switch (key) {
	case UI_KEY_UP:
		move_sel(l, -1);
		return UI_KR_USED;
	case UI_KEY_DOWN:
		move_sel(l, 1);
		return UI_KR_USED;
	case UI_KEY_PGUP:
		move_sel(l, -page);
		return UI_KR_USED;
	case UI_KEY_PGDN:
		move_sel(l, page);
		return UI_KR_USED;
	case UI_KEY_HOME:
		l->sel = 0;
		return UI_KR_USED;
	case UI_KEY_END:
		l->sel = l->count ? l->count - 1 : 0;
		return UI_KR_USED;
	case UI_KEY_ENTER:
		return l->count ? UI_KR_ACTIVATED : UI_KR_USED;
	case ' ':
		if (!l->markable || !l->count)
			return UI_KR_IGNORED;
		l->marks[l->order[l->sel]] ^= 1;
		move_sel(l, 1);
		return UI_KR_CHANGED;
	case 's':
		if (!l->cmp)
			return UI_KR_IGNORED;
		/* no sort -> column 0 -> 1 -> ... -> no sort */
		l->sort_col = l->sort_col + 1 >= l->ncols ? -1 : l->sort_col + 1;
		ui_list_resort(l);
		return UI_KR_USED;
	case 'r':
		if (!l->cmp || l->sort_col < 0)
			return UI_KR_IGNORED;
		l->sort_desc = !l->sort_desc;
		ui_list_resort(l);
		return UI_KR_USED;
	}
	return UI_KR_IGNORED;
}

static enum ui_kr list_key(struct ui *ui, struct ui_widget *w, int key)
{
	struct ui_list *l = (struct ui_list *)w;
	enum ui_kr r = list_key_inner(ui, w, key);

	/* scroll now, not at the next frame: Home then Down keeps the top row */
	clamp_top(l, (size_t)l->page);
	return r;
}

/* Column x offsets and widths for the available width. */
static void layout_columns(const struct ui_list *l, int avail, int *xs, int *ws)
{
	int fixed = 0, flex = 0, x = 0, left;

	for (int c = 0; c < l->ncols; c++) {
		if (l->cols[c].width > 0)
			fixed += l->cols[c].width;
		else
			flex++;
	}
	fixed += l->ncols > 0 ? l->ncols - 1 : 0; /* one space between columns */
	left = avail - fixed;
	for (int c = 0; c < l->ncols; c++) {
		int w = l->cols[c].width;

		if (w <= 0) {
			w = flex ? left / flex : 0;
			if (w < 4)
				w = 4;
			left -= w;
			flex--;
		}
		if (x + w > avail)
			w = avail - x;
		if (w < 0)
			w = 0;
		xs[c] = x;
		ws[c] = w;
		x += w + 1;
	}
}

static void draw_cell(struct ui *ui, int y, int x, int w, int right, enum ui_role role,
                      const char *text)
{
	int tw;

	if (w <= 0)
		return;
	tw = ui_str_width(text, ui->ascii);
	if (right && tw < w)
		x += w - tw;
	ui_put_ell(ui, y, x, w, role, text);
}

static void list_draw(struct ui *ui, struct ui_widget *w, int focused)
{
	struct ui_list *l = (struct ui_list *)w;
	struct ui_rect r = w->rect;
	int xs[32], ws[32], ncols = l->ncols > 32 ? 32 : l->ncols;
	int header = r.h >= 2, footer = r.h >= 4, body, lead = l->markable ? 6 : 2;
	char buf[512];

	body = r.h - header - footer;
	l->page = body > 0 ? body : 1;
	layout_columns(l, r.w - lead, xs, ws);
	if (header) {
		for (int c = 0; c < ncols; c++) {
			snprintf(buf, sizeof(buf), "%s%s", l->cols[c].title,
			         c == l->sort_col ? ui_glyph(ui, l->sort_desc ? UI_G_SORT_DOWN
			                                                      : UI_G_SORT_UP)
			                          : "");
			draw_cell(ui, r.y, r.x + lead + xs[c], ws[c], l->cols[c].right,
			          UI_ROLE_TITLE, buf);
		}
	}
	if (!l->count) {
		ui_put_ell(ui, r.y + header, r.x + 2, r.w - 2, UI_ROLE_DIM,
		           l->empty ? l->empty : "(nothing to show)");
		if (focused)
			ui_set_cursor(ui, r.y + header, r.x);
		return;
	}
	clamp_top(l, body > 0 ? (size_t)body : 1);
	for (int i = 0; i < body && l->top + (size_t)i < l->count; i++) {
		size_t pos = l->top + (size_t)i, row = l->order[pos];
		int y = r.y + header + i, sel = pos == l->sel;
		enum ui_role rowrole = sel && focused ? UI_ROLE_FOCUS : UI_ROLE_NORMAL;

		if (sel && focused)
			ui_fill(ui, (struct ui_rect){y, r.x, 1, r.w}, UI_ROLE_FOCUS);
		if (sel)
			ui_put(ui, y, r.x, 1, rowrole, ui_glyph(ui, UI_G_POINTER));
		if (l->markable)
			ui_put(ui, y, r.x + 2, 3, rowrole, l->marks[row] ? "[x]" : "[ ]");
		for (int c = 0; c < ncols; c++) {
			enum ui_role role = UI_ROLE_NORMAL;

			buf[0] = 0;
			l->cell(l->arg, row, c, buf, sizeof(buf), &role);
			draw_cell(ui, y, r.x + lead + xs[c], ws[c], l->cols[c].right,
			          sel && focused ? UI_ROLE_FOCUS : role, buf);
		}
		if (sel && focused)
			ui_set_cursor(ui, y, r.x);
	}
	if (footer) {
		size_t last = l->top + (size_t)body;

		if (last > l->count)
			last = l->count;
		if (l->sort_col >= 0)
			snprintf(buf, sizeof(buf),
			         "%zu-%zu of %zu %s, row %zu selected, sort: %s %s", l->top + 1,
			         last, l->count, l->noun ? l->noun : "rows", l->sel + 1,
			         l->cols[l->sort_col].title,
			         l->sort_desc ? "descending" : "ascending");
		else
			snprintf(buf, sizeof(buf), "%zu-%zu of %zu %s, row %zu selected",
			         l->top + 1, last, l->count, l->noun ? l->noun : "rows",
			         l->sel + 1);
		ui_put_ell(ui, r.y + r.h - 1, r.x + 2, r.w - 2, UI_ROLE_DIM, buf);
	}
}
