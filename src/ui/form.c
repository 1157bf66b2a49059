/* mailferry - labelled forms
 *
 * One field per line ("> Label : value"), consecutive buttons share a line.
 * The focused line carries the pointer glyph, so the focus shows even
 * without attributes, and the hardware cursor sits on the edit position.
 * A password field is drawn as one '*' per character typed: its bytes are
 * never handed to curses, and every edit wipes what it leaves behind.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ui/textutil.h"
#include "ui/ui_p.h"
#include "util/secret.h"

#define FIELD_DEFAULT_W 40

static void field_clear(struct ui_field *fl, enum ui_field_type type, int id, const char *label)
{
	OPENSSL_cleanse(fl->buf, sizeof(fl->buf));
	memset(fl, 0, sizeof(*fl));
	fl->type = type;
	fl->id = id;
	fl->label = label;
}

void ui_field_text(struct ui_field *fl, int id, const char *label, int width, const char *value)
{
	field_clear(fl, UI_FIELD_TEXT, id, label);
	fl->width = width;
	ui_field_set(fl, value);
}

void ui_field_number(struct ui_field *fl, int id, const char *label, long min, long max, long value)
{
	char v[32];

	field_clear(fl, UI_FIELD_NUMBER, id, label);
	fl->min = min;
	fl->max = max;
	fl->width = 12;
	snprintf(v, sizeof(v), "%ld", value);
	ui_field_set(fl, v);
}

void ui_field_choice(struct ui_field *fl, int id, const char *label, const char *const *choices,
                     int choice)
{
	field_clear(fl, UI_FIELD_CHOICE, id, label);
	fl->choices = choices;
	fl->choice = choice;
}

void ui_field_check(struct ui_field *fl, int id, const char *label, int checked)
{
	field_clear(fl, UI_FIELD_CHECK, id, label);
	fl->checked = !!checked;
}

void ui_field_password(struct ui_field *fl, int id, const char *label, int width)
{
	field_clear(fl, UI_FIELD_PASSWORD, id, label);
	fl->width = width;
}

void ui_field_button(struct ui_field *fl, int id, const char *label)
{
	field_clear(fl, UI_FIELD_BUTTON, id, label);
}

const char *ui_field_value(const struct ui_field *fl)
{
	if (fl->type == UI_FIELD_PASSWORD)
		return NULL;
	if (fl->type == UI_FIELD_CHOICE)
		return fl->choices ? fl->choices[fl->choice] : "";
	return fl->buf;
}

int ui_field_set(struct ui_field *fl, const char *value)
{
	size_t n = value ? strlen(value) : 0;

	if (n >= sizeof(fl->buf))
		return -1;
	OPENSSL_cleanse(fl->buf, sizeof(fl->buf));
	if (n)
		memcpy(fl->buf, value, n);
	fl->buf[n] = 0;
	fl->len = fl->cur = n;
	fl->scroll = 0;
	return 0;
}

int ui_field_get_number(const struct ui_field *fl, long *out)
{
	char *end;
	long v;

	if (!fl->len)
		return -1;
	errno = 0;
	v = strtol(fl->buf, &end, 10);
	if (errno || *end || v < fl->min || v > fl->max)
		return -1;
	*out = v;
	return 0;
}

struct mf_secret *ui_field_take_secret(struct ui_field *fl)
{
	struct mf_secret *s = fl->len ? secret_new(fl->buf, fl->len) : NULL;

	OPENSSL_cleanse(fl->buf, sizeof(fl->buf));
	fl->len = fl->cur = fl->scroll = 0;
	return s;
}

size_t ui_field_length(const struct ui_field *fl)
{
	size_t n = 0;

	for (size_t i = 0; i < fl->len; i++)
		if (((unsigned char)fl->buf[i] & 0xC0) != 0x80)
			n++;
	return n;
}

void ui_form_wipe(struct ui_form *f)
{
	for (int i = 0; i < f->n; i++) {
		OPENSSL_cleanse(f->fields[i].buf, sizeof(f->fields[i].buf));
		f->fields[i].len = f->fields[i].cur = f->fields[i].scroll = 0;
	}
}

struct ui_field *ui_form_field(struct ui_form *f, int id)
{
	for (int i = 0; i < f->n; i++)
		if (f->fields[i].id == id)
			return &f->fields[i];
	return NULL;
}

/* Row of field i: consecutive buttons share a row. */
static int field_row(const struct ui_form *f, int i)
{
	int row = 0;

	for (int k = 1; k <= i; k++)
		if (!(f->fields[k].type == UI_FIELD_BUTTON &&
		      f->fields[k - 1].type == UI_FIELD_BUTTON))
			row++;
	return row;
}

int ui_form_height(const struct ui_form *f)
{
	return f->n ? field_row(f, f->n - 1) + 1 : 0;
}

/* ---------------------------------------------------------------- editing */

static void edit_insert(struct ui_field *fl, uint32_t cp)
{
	char u[4];
	size_t l = ui_utf8_encode(cp, u);

	if (!l || fl->len + l >= sizeof(fl->buf))
		return;
	memmove(fl->buf + fl->cur + l, fl->buf + fl->cur, fl->len - fl->cur + 1);
	memcpy(fl->buf + fl->cur, u, l);
	fl->len += l;
	fl->cur += l;
}

static void edit_delete(struct ui_field *fl, size_t from, size_t to)
{
	if (to <= from || to > fl->len)
		return;
	memmove(fl->buf + from, fl->buf + to, fl->len - to + 1);
	fl->len -= to - from;
	/* what moved down leaves a copy behind: wipe it */
	OPENSSL_cleanse(fl->buf + fl->len + 1, sizeof(fl->buf) - fl->len - 1);
	fl->cur = from;
}

static size_t next_char(const struct ui_field *fl, size_t pos)
{
	uint32_t cp;

	return pos < fl->len ? pos + ui_utf8_decode(fl->buf + pos, fl->len - pos, &cp) : pos;
}

static enum ui_kr edit_key(struct ui *ui, struct ui_field *fl, int key)
{
	switch (key) {
	case UI_KEY_LEFT:
		fl->cur = ui_utf8_prev(fl->buf, fl->cur);
		return UI_KR_USED;
	case UI_KEY_RIGHT:
		fl->cur = next_char(fl, fl->cur);
		return UI_KR_USED;
	case UI_KEY_HOME:
	case UI_KEY_CTRL('a'):
		fl->cur = 0;
		return UI_KR_USED;
	case UI_KEY_END:
	case UI_KEY_CTRL('e'):
		fl->cur = fl->len;
		return UI_KR_USED;
	case UI_KEY_BACKSPACE:
		if (!fl->cur)
			return UI_KR_USED;
		edit_delete(fl, ui_utf8_prev(fl->buf, fl->cur), fl->cur);
		return UI_KR_CHANGED;
	case UI_KEY_DELETE:
	case UI_KEY_CTRL('d'):
		edit_delete(fl, fl->cur, next_char(fl, fl->cur));
		return UI_KR_CHANGED;
	case UI_KEY_CTRL('u'):
		edit_delete(fl, 0, fl->len);
		return UI_KR_CHANGED;
	}
	if (key < 0x20 || key == 0x7F || key >= UI_KEY_BASE)
		return UI_KR_IGNORED;
	if (fl->type == UI_FIELD_NUMBER && !(key >= '0' && key <= '9') &&
	    !(key == '-' && fl->cur == 0 && fl->min < 0)) {
		ui_flash(ui, UI_ROLE_WARN, "%s: digits only", fl->label ? fl->label : "this field");
		return UI_KR_USED; /* typed into the field: never a global key */
	}
	if (fl->len + 4 >= sizeof(fl->buf)) {
		ui_flash(ui, UI_ROLE_WARN, "%s: too long", fl->label ? fl->label : "this field");
		return UI_KR_USED;
	}
	edit_insert(fl, (uint32_t)key);
	return UI_KR_CHANGED;
}

static int choice_count(const struct ui_field *fl)
{
	int n = 0;

	while (fl->choices && fl->choices[n])
		n++;
	return n;
}

static int first_in_row(const struct ui_form *f, int i)
{
	while (i > 0 && f->fields[i].type == UI_FIELD_BUTTON &&
	       f->fields[i - 1].type == UI_FIELD_BUTTON)
		i--;
	return i;
}

static int last_in_row(const struct ui_form *f, int i)
{
	while (i + 1 < f->n && f->fields[i].type == UI_FIELD_BUTTON &&
	       f->fields[i + 1].type == UI_FIELD_BUTTON)
		i++;
	return i;
}

static enum ui_kr form_key(struct ui *ui, struct ui_widget *w, int key)
{
	struct ui_form *f = (struct ui_form *)w;
	struct ui_field *fl;
	int n;

	if (!f->n)
		return UI_KR_IGNORED;
	fl = &f->fields[f->cur];
	switch (key) {
	case UI_KEY_UP:
		n = first_in_row(f, f->cur) - 1;
		if (n < 0)
			return UI_KR_IGNORED;
		f->cur = first_in_row(f, n);
		return UI_KR_USED;
	case UI_KEY_DOWN:
		n = last_in_row(f, f->cur) + 1;
		if (n >= f->n)
			return UI_KR_IGNORED;
		f->cur = n;
		return UI_KR_USED;
	case UI_KEY_ENTER:
		if (fl->type == UI_FIELD_BUTTON) {
			f->activated = fl->id;
			return UI_KR_ACTIVATED;
		}
		if (f->cur + 1 < f->n)
			f->cur++;
		return UI_KR_USED;
	}
	f->changed = fl->id;
	switch (fl->type) {
	case UI_FIELD_TEXT:
	case UI_FIELD_NUMBER:
	case UI_FIELD_PASSWORD:
		return edit_key(ui, fl, key);
	case UI_FIELD_CHOICE:
		n = choice_count(fl);
		if (!n)
			return UI_KR_IGNORED;
		if (key == ' ' || key == UI_KEY_RIGHT) {
			fl->choice = (fl->choice + 1) % n;
			return UI_KR_CHANGED;
		}
		if (key == UI_KEY_LEFT) {
			fl->choice = (fl->choice + n - 1) % n;
			return UI_KR_CHANGED;
		}
		return UI_KR_IGNORED;
	case UI_FIELD_CHECK:
		if (key == ' ') {
			fl->checked = !fl->checked;
			return UI_KR_CHANGED;
		}
		return UI_KR_IGNORED;
	case UI_FIELD_BUTTON:
		if (key == UI_KEY_LEFT && f->cur > first_in_row(f, f->cur)) {
			f->cur--;
			return UI_KR_USED;
		}
		if (key == UI_KEY_RIGHT && f->cur < last_in_row(f, f->cur)) {
			f->cur++;
			return UI_KR_USED;
		}
		return UI_KR_IGNORED;
	}
	return UI_KR_IGNORED;
}

static int form_focus_step(struct ui_widget *w, int dir)
{
	struct ui_form *f = (struct ui_form *)w;
	int n = f->cur + dir;

	if (n < 0 || n >= f->n)
		return 0;
	f->cur = n;
	return 1;
}

static void form_focus_enter(struct ui_widget *w, int dir)
{
	struct ui_form *f = (struct ui_form *)w;

	f->cur = dir > 0 ? 0 : f->n - 1;
}

/* ---------------------------------------------------------------- drawing */

/* Scrolls a text field so that the cursor is inside its fw columns. */
static void keep_cursor_visible(struct ui *ui, struct ui_field *fl, int fw)
{
	if (fl->cur < fl->scroll)
		fl->scroll = fl->cur;
	while (fl->scroll < fl->cur &&
	       ui_text_width(fl->buf + fl->scroll, fl->cur - fl->scroll, ui->ascii) >= fw)
		fl->scroll = next_char(fl, fl->scroll);
}

/* Columns a password shows between two byte offsets: one per character. */
static int stars_between(const struct ui_field *fl, size_t a, size_t b)
{
	int n = 0;

	for (size_t i = a; i < b && i < fl->len; i++)
		if (((unsigned char)fl->buf[i] & 0xC0) != 0x80)
			n++;
	return n;
}

static void draw_edit(struct ui *ui, struct ui_field *fl, int y, int x, int fw, int focused)
{
	enum ui_role role = focused ? UI_ROLE_FOCUS : UI_ROLE_NORMAL;
	int used, cx;

	if (fl->type == UI_FIELD_PASSWORD) {
		if (fl->cur < fl->scroll)
			fl->scroll = fl->cur;
		while (fl->scroll < fl->cur && stars_between(fl, fl->scroll, fl->cur) >= fw)
			fl->scroll = next_char(fl, fl->scroll);
		used = stars_between(fl, fl->scroll, fl->len);
		if (used > fw)
			used = fw;
		for (int i = 0; i < used; i++)
			ui_put(ui, y, x + i, 1, role, "*");
		cx = stars_between(fl, fl->scroll, fl->cur);
	} else {
		keep_cursor_visible(ui, fl, fw);
		used = ui_putn(ui, y, x, fw, role, fl->buf + fl->scroll, fl->len - fl->scroll);
		cx = ui_text_width(fl->buf + fl->scroll, fl->cur - fl->scroll, ui->ascii);
	}
	for (int i = used; i < fw; i++)
		ui_put(ui, y, x + i, 1, focused ? UI_ROLE_FOCUS : UI_ROLE_DIM, "_");
	if (focused)
		ui_set_cursor(ui, y, x + (cx < fw ? cx : fw - 1));
}

static int draw_button(struct ui *ui, int y, int x, int maxw, const char *label, int focused)
{
	enum ui_role role = focused ? UI_ROLE_FOCUS : UI_ROLE_NORMAL;
	int w;

	if (maxw <= 0)
		return 0;
	w = ui_put(ui, y, x, maxw, role, focused ? "> " : "[ ");
	w += ui_put(ui, y, x + w, maxw - w, role, label);
	w += ui_put(ui, y, x + w, maxw - w, role, focused ? " <" : " ]");
	if (focused)
		ui_set_cursor(ui, y, x + 2 < x + maxw ? x + 2 : x);
	return w;
}

static void draw_value(struct ui *ui, struct ui_field *fl, int y, int x, int w, int focused)
{
	enum ui_role role = focused ? UI_ROLE_FOCUS : UI_ROLE_NORMAL;
	int fw = fl->width > 0 ? fl->width : FIELD_DEFAULT_W, used;
	long v;

	if (fw > w)
		fw = w;
	if (fw <= 0)
		return;
	switch (fl->type) {
	case UI_FIELD_TEXT:
	case UI_FIELD_PASSWORD:
		draw_edit(ui, fl, y, x, fw, focused);
		break;
	case UI_FIELD_NUMBER:
		draw_edit(ui, fl, y, x, fw, focused);
		if (ui_field_get_number(fl, &v) < 0 && w > fw + 2)
			ui_putf(ui, y, x + fw + 1, w - fw - 1, UI_ROLE_FAIL, "invalid: %ld to %ld",
			        fl->min, fl->max);
		break;
	case UI_FIELD_CHOICE:
		used = ui_put(ui, y, x, w, role, "< ");
		used += ui_put(ui, y, x + used, w - used, role,
		               fl->choices && fl->choices[0] ? fl->choices[fl->choice] : "");
		ui_put(ui, y, x + used, w - used, role, " >");
		if (focused)
			ui_set_cursor(ui, y, x + 2);
		break;
	case UI_FIELD_CHECK:
		ui_put(ui, y, x, w, role, fl->checked ? "[x] yes" : "[ ] no");
		if (focused)
			ui_set_cursor(ui, y, x + 1);
		break;
	case UI_FIELD_BUTTON:
		break;
	}
}

static void form_draw(struct ui *ui, struct ui_widget *w, int focused)
{
	struct ui_form *f = (struct ui_form *)w;
	struct ui_rect r = w->rect;
	int label_w = 0, rows = ui_form_height(f), cur_row = f->n ? field_row(f, f->cur) : 0;

	for (int i = 0; i < f->n; i++)
		if (f->fields[i].type != UI_FIELD_BUTTON) {
			int lw = ui_str_width(f->fields[i].label, ui->ascii);

			if (lw > label_w)
				label_w = lw;
		}
	if (label_w > r.w / 2)
		label_w = r.w / 2;
	/* scroll so that the focused row is visible */
	if (cur_row < f->top)
		f->top = cur_row;
	if (cur_row >= f->top + r.h)
		f->top = cur_row - r.h + 1;
	if (f->top > rows - r.h)
		f->top = rows - r.h > 0 ? rows - r.h : 0;
	for (int i = 0, bx = 0; i < f->n; i++) {
		struct ui_field *fl = &f->fields[i];
		int row = field_row(f, i) - f->top, y = r.y + row;
		int here = focused && i == f->cur;

		if (row < 0 || row >= r.h)
			continue;
		if (fl->type == UI_FIELD_BUTTON) {
			if (i == 0 || f->fields[i - 1].type != UI_FIELD_BUTTON)
				bx = r.x + 2 + label_w + 3;
			if (bx >= r.x + r.w)
				bx = r.x + 2;
			bx += draw_button(ui, y, bx, r.x + r.w - bx, fl->label, here) + 2;
			continue;
		}
		if (here)
			ui_put(ui, y, r.x, 1, UI_ROLE_FOCUS, ui_glyph(ui, UI_G_POINTER));
		ui_put_ell(ui, y, r.x + 2, label_w, here ? UI_ROLE_TITLE : UI_ROLE_NORMAL,
		           fl->label);
		ui_put(ui, y, r.x + 2 + label_w, 3, UI_ROLE_NORMAL, " : ");
		draw_value(ui, fl, y, r.x + 2 + label_w + 3, r.w - label_w - 5, here);
	}
	if (f->top > 0)
		ui_put(ui, r.y, r.x + r.w - 1, 1, UI_ROLE_DIM, ui_glyph(ui, UI_G_MORE_UP));
	if (f->top + r.h < rows)
		ui_put(ui, r.y + r.h - 1, r.x + r.w - 1, 1, UI_ROLE_DIM,
		       ui_glyph(ui, UI_G_MORE_DOWN));
}

static const struct ui_widget_ops form_ops = {
        .draw = form_draw,
        .key = form_key,
        .focus_step = form_focus_step,
        .focus_enter = form_focus_enter,
};

void ui_form_init(struct ui_form *f, struct ui_field *fields, int n)
{
	memset(f, 0, sizeof(*f));
	f->base.ops = &form_ops;
	f->fields = fields;
	f->n = n;
	f->activated = f->changed = -1;
}
