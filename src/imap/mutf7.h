/* mailferry - modified UTF-7 mailbox names (RFC 3501 section 5.1.3)
 *
 * Servers without UTF8=ACCEPT (Exchange Online among them) exchange mailbox
 * names in modified UTF-7: printable ASCII stands for itself except '&',
 * which is "&-"; everything else is UTF-16 in a modified base64 (',' instead
 * of '/') between '&' and '-'.
 *
 * Decoding is strict, because a name we cannot round-trip must not be
 * silently mangled into another folder: it rejects bad base64, padding bits
 * that are not zero, an unterminated shift, an empty shift other than "&-",
 * printable ASCII encoded in base64, two adjacent shifts, lone surrogates,
 * and raw bytes >= 0x80 or control characters in the input.
 */
#ifndef MF_IMAP_MUTF7_H
#define MF_IMAP_MUTF7_H

#include <stddef.h>

struct mf_buf;

/* Appends the modified UTF-7 form of UTF-8 text s[0..n) to out.
 * -1 if s is not valid UTF-8 (or holds NUL), or out of memory. */
int mutf7_encode(const char *s, size_t n, struct mf_buf *out);
/* Appends the UTF-8 form of modified UTF-7 s[0..n) to out.  0, -1 if s is
 * invalid, -2 out of memory (out is left as it was either way). */
int mutf7_decode(const char *s, size_t n, struct mf_buf *out);
/* Whether s[0..n) is valid UTF-8 without NUL or other C0/C1 controls. */
int utf8_valid(const char *s, size_t n);

#endif
