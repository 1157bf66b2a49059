/* mailferry - text measurement for the terminal (pure: no curses, unit-tested)
 *
 * Every string the UI draws is UTF-8 that may come from a server or a CSV
 * file: mailbox names, error texts.  Before it reaches the terminal it is
 * measured in display columns and sanitised: control characters (ESC among
 * them) become '?', invalid UTF-8 becomes '?', and in ASCII mode (a non-UTF-8
 * locale or --ascii) every non-ASCII character becomes '?' too, so what is
 * written is always printable and its width is known in advance.
 *
 * "ascii" arguments: 1 when the terminal gets ASCII only, 0 for UTF-8.
 */
#ifndef MF_UI_TEXTUTIL_H
#define MF_UI_TEXTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one UTF-8 sequence from s[0..n) (n >= 1).  Returns the bytes used
 * (1..4); *cp is the code point, or 0xFFFD for a malformed sequence (which
 * then uses exactly one byte). */
size_t ui_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Encodes cp as UTF-8 into out (4 bytes at most); returns the length (0 for
 * a surrogate or a value past U+10FFFF). */
size_t ui_utf8_encode(uint32_t cp, char out[4]);
/* Start of the character before byte offset pos (0 stays 0). */
size_t ui_utf8_prev(const char *s, size_t pos);

/* The code point actually drawn for cp: cp itself when it is printable in the
 * mode, else '?'. */
uint32_t ui_cp_shown(uint32_t cp, int ascii);

/* Display columns of one code point as drawn (0 for combining marks in UTF-8
 * mode, 2 for wide characters, 1 otherwise). */
int ui_cp_width(uint32_t cp, int ascii);

/* Display columns of s[0..n). */
int ui_text_width(const char *s, size_t n, int ascii);
int ui_str_width(const char *s, int ascii);

/* How many bytes of s[0..n) fit in `cols` columns without splitting a
 * character; *used (may be NULL) receives the columns they take. */
size_t ui_text_fit(const char *s, size_t n, int cols, int ascii, int *used);

/* Word wrapping.  Iterates over the lines of s wrapped at `width` columns:
 * breaks at spaces, splits words longer than a line, honours '\n', and drops
 * the spaces at a soft break.  Each line is a byte range of s.
 *
 *	struct ui_wrap w;
 *	size_t off, len;
 *	ui_wrap_init(&w, text, 40, ascii);
 *	while (ui_wrap_next(&w, &off, &len))
 *		draw(text + off, len);
 */
struct ui_wrap {
	const char *s; /* borrowed */
	size_t n, pos;
	int width, ascii, done;
};

void ui_wrap_init(struct ui_wrap *w, const char *s, int width, int ascii);
int ui_wrap_next(struct ui_wrap *w, size_t *off, size_t *len);
/* Number of lines s takes when wrapped at width (at least 1 for ""). */
int ui_wrap_count(const char *s, int width, int ascii);

/* Progress bars.  total == 0 means "not known yet" (still counting): the bar
 * is drawn empty and the percentage as "?", never as a made-up number.  The
 * percentage is rounded down so that 100% means really finished. */
#define UI_BAR_MAX 512
/* Writes a bar of exactly `cols` columns into out (UTF-8 or ASCII, NUL-terminated;
 * out needs 3 * cols + 1 bytes at most).  ASCII: '#' done, '.' to do;
 * UTF-8: full and eighth blocks, light shade to do.  Returns the bytes written. */
size_t ui_bar_render(char *out, size_t n, int cols, uint64_t done, uint64_t total, int ascii);
/* "  0%".."100%", or "  ?%" when the total is unknown; out needs 5 bytes. */
void ui_percent_text(char *out, size_t n, uint64_t done, uint64_t total);

#endif
