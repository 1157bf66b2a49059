/* mailferry - growable byte buffer
 *
 * A struct mf_buf owns its data.  Every buffer has a hard cap (bytes) so that
 * input from a server can never make us allocate without bound: appending past
 * the cap fails like running out of memory does.
 */
#ifndef MF_UTIL_BUF_H
#define MF_UTIL_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct mf_buf {
	char *data; /* owned; always NUL-terminated after a successful append */
	size_t len;
	size_t cap;
	size_t limit; /* 0: no limit */
};

void buf_init(struct mf_buf *b, size_t limit);
void buf_free(struct mf_buf *b);
/* Wipes the contents with OPENSSL_cleanse before freeing (for secrets). */
void buf_free_secure(struct mf_buf *b);
void buf_reset(struct mf_buf *b);
/* Ensures room for `more` bytes plus a NUL. 0 or -1 (limit or out of memory). */
int buf_reserve(struct mf_buf *b, size_t more);
int buf_append(struct mf_buf *b, const void *p, size_t n);
int buf_puts(struct mf_buf *b, const char *s);
int buf_putc(struct mf_buf *b, char c);
int buf_printf(struct mf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct mf_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drops the first n bytes. */
void buf_consume(struct mf_buf *b, size_t n);
/* Hands the data over to the caller (who frees it) and resets the buffer. */
char *buf_steal(struct mf_buf *b);

#endif
