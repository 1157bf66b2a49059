/* mailferry - text measurement for the terminal (pure: no curses) */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "ui/textutil.h"

size_t ui_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;
	size_t len, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		len = 2;
		c = p[0] & 0x1F;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		len = 3;
		c = p[0] & 0x0F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		len = 4;
		c = p[0] & 0x07;
	} else {
		*cp = 0xFFFD;
		return 1;
	}
	if (len > n) {
		*cp = 0xFFFD;
		return 1;
	}
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return 1;
		}
		c = c << 6 | (p[i] & 0x3F);
	}
	/* overlong forms, surrogates and values past U+10FFFF */
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
	    (c >= 0xD800 && c <= 0xDFFF)) {
		*cp = 0xFFFD;
		return 1;
	}
	*cp = c;
	return len;
}

size_t ui_utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return 0;
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	if (cp > 0x10FFFF)
		return 0;
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

size_t ui_utf8_prev(const char *s, size_t pos)
{
	size_t back = 0;

	while (pos > 0 && back < 4) {
		pos--;
		back++;
		if (((unsigned char)s[pos] & 0xC0) != 0x80)
			break;
	}
	return pos;
}

uint32_t ui_cp_shown(uint32_t cp, int ascii)
{
	if (cp < 0x20 || cp == 0x7F)
		return '?';
	if (cp < 0x7F)
		return cp;
	if (ascii || cp == 0xFFFD || (cp >= 0x80 && cp < 0xA0))
		return '?';
	/* unassigned or unprintable in this locale */
	if (wcwidth((wchar_t)cp) < 0)
		return '?';
	return cp;
}

int ui_cp_width(uint32_t cp, int ascii)
{
	int w;

	cp = ui_cp_shown(cp, ascii);
	if (cp < 0x7F)
		return 1;
	w = wcwidth((wchar_t)cp);
	return w < 0 ? 1 : w > 2 ? 2 : w;
}

int ui_text_width(const char *s, size_t n, int ascii)
{
	size_t i = 0;
	int cols = 0;
	uint32_t cp;

	while (i < n) {
		i += ui_utf8_decode(s + i, n - i, &cp);
		cols += ui_cp_width(cp, ascii);
	}
	return cols;
}

int ui_str_width(const char *s, int ascii)
{
	return s ? ui_text_width(s, strlen(s), ascii) : 0;
}

size_t ui_text_fit(const char *s, size_t n, int cols, int ascii, int *used)
{
	size_t i = 0, step;
	int w = 0, cw;
	uint32_t cp;

	while (i < n) {
		step = ui_utf8_decode(s + i, n - i, &cp);
		cw = ui_cp_width(cp, ascii);
		if (w + cw > cols)
			break;
		w += cw;
		i += step;
	}
	if (used)
		*used = w;
	return i;
}

void ui_wrap_init(struct ui_wrap *w, const char *s, int width, int ascii)
{
	w->s = s ? s : "";
	w->n = strlen(w->s);
	w->pos = 0;
	w->width = width < 1 ? 1 : width;
	w->ascii = ascii;
	w->done = 0;
}

/* Finds the end of the line starting at w->pos: the last space break that
 * fits, or a hard split inside a word longer than the line. */
int ui_wrap_next(struct ui_wrap *w, size_t *off, size_t *len)
{
	size_t i = w->pos, step, brk = 0, end;
	int cols = 0, cw, have_brk = 0;
	uint32_t cp;

	if (w->done)
		return 0;
	while (i < w->n && w->s[i] != '\n') {
		step = ui_utf8_decode(w->s + i, w->n - i, &cp);
		cw = ui_cp_width(cp, w->ascii);
		if (cp == ' ') {
			brk = i;
			have_brk = 1;
		}
		if (cols + cw > w->width && cp != ' ')
			break;
		cols += cw;
		i += step;
	}
	*off = w->pos;
	if (i >= w->n || w->s[i] == '\n') {
		*len = i - w->pos;
		if (i >= w->n)
			w->done = 1;
		else
			w->pos = i + 1;
		/* spaces at the end of a line are invisible: never let them overflow */
		while (*len > 0 && w->s[*off + *len - 1] == ' ')
			(*len)--;
		return 1;
	}
	/* the line is full: break at the last space if there was one */
	end = have_brk ? brk : i;
	if (end == w->pos) /* a single character wider than the line */
		end += ui_utf8_decode(w->s + end, w->n - end, &cp);
	*len = end - w->pos;
	/* trailing spaces of this line are dropped */
	while (*len > 0 && w->s[*off + *len - 1] == ' ')
		(*len)--;
	while (end < w->n && w->s[end] == ' ')
		end++;
	w->pos = end;
	if (end >= w->n)
		w->done = 1;
	return 1;
}

int ui_wrap_count(const char *s, int width, int ascii)
{
	struct ui_wrap w;
	size_t off, len;
	int lines = 0;

	ui_wrap_init(&w, s, width, ascii);
	while (ui_wrap_next(&w, &off, &len))
		lines++;
	return lines ? lines : 1;
}

static size_t put_utf8(char *out, size_t n, size_t at, const char *s)
{
	size_t l = strlen(s);

	if (at + l >= n)
		return at;
	memcpy(out + at, s, l);
	return at + l;
}

size_t ui_bar_render(char *out, size_t n, int cols, uint64_t done, uint64_t total, int ascii)
{
	static const char *const eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
	uint64_t units = 0, max;
	size_t at = 0;
	int i;

	if (!n)
		return 0;
	if (cols < 0)
		cols = 0;
	if (cols > UI_BAR_MAX)
		cols = UI_BAR_MAX;
	max = (uint64_t)cols * (ascii ? 1 : 8);
	if (total > 0) {
		if (done >= total)
			units = max;
		else
			units = (uint64_t)((long double)done * (long double)max /
			                   (long double)total);
	}
	for (i = 0; i < cols; i++) {
		uint64_t cell = (uint64_t)i * (ascii ? 1 : 8);
		const char *g;

		if (ascii)
			g = units > cell ? "#" : ".";
		else if (units >= cell + 8)
			g = "█";
		else if (units > cell)
			g = eighths[units - cell];
		else
			g = "░";
		at = put_utf8(out, n, at, g);
	}
	out[at] = 0;
	return at;
}

void ui_percent_text(char *out, size_t n, uint64_t done, uint64_t total)
{
	unsigned pct;

	if (total == 0) {
		snprintf(out, n, "  ?%%");
		return;
	}
	if (done >= total)
		pct = 100;
	else
		pct = (unsigned)((long double)done * 100.0L / (long double)total);
	if (pct > 99 && done < total)
		pct = 99;
	snprintf(out, n, "%3u%%", pct);
}
