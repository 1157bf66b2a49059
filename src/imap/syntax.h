/* mailferry - writing IMAP command syntax
 *
 * Small pure helpers used when building commands: astrings, flag lists and
 * UID sets.  None of them ever emits CR or LF inside a quoted string.
 */
#ifndef MF_IMAP_SYNTAX_H
#define MF_IMAP_SYNTAX_H

#include <stddef.h>
#include <stdint.h>

struct mf_buf;

/* Appends s[0..n) as an astring: an atom when every byte is an ATOM-CHAR
 * (and n > 0), else a quoted string with \" and \\ escaped.  Returns 1 when
 * it cannot be sent quoted (CR, LF, NUL, or bytes >= 0x80): the caller must
 * send a literal instead; 0 on success; -1 out of memory. */
int imap_put_astring(struct mf_buf *b, const char *s, size_t n);
/* Appends a quoted string unconditionally (same return values). */
int imap_put_quoted(struct mf_buf *b, const char *s, size_t n);

/* A set of UIDs, kept sorted and coalesced into ranges. */
struct uidset {
	struct uidrange {
		uint32_t lo, hi;
	} * r; /* owned */
	size_t n, cap;
};

void uidset_init(struct uidset *s);
void uidset_free(struct uidset *s);
/* 0 or -1 (memory, or UID 0, which is not a UID).  A reversed range (lo > hi)
 * means hi..lo, as in IMAP. */
int uidset_add(struct uidset *s, uint32_t uid);
int uidset_add_range(struct uidset *s, uint32_t lo, uint32_t hi);
int uidset_has(const struct uidset *s, uint32_t uid);
uint64_t uidset_count(const struct uidset *s);
/* Appends ranges from index *pos on as "1:3,7,9:12", stopping before the
 * text would exceed max_bytes (0 = no limit; at least one range is always
 * written), and advances *pos past what was written, so a long set can be
 * split over several commands: loop while *pos < s->n.  0 or -1 (memory). */
int uidset_format(const struct uidset *s, size_t *pos, size_t max_bytes, struct mf_buf *out);
/* Parses a sequence set as servers send in APPENDUID/COPYUID ("4:6,9"), in
 * order, expanding ranges into out[0..*n); '*' is rejected.  Fails with -1 if
 * more than max UIDs or invalid. */
int uidset_parse_list(const char *s, size_t len, uint32_t *out, size_t max, size_t *n);

/* Appends the flags of a message for APPEND or STORE: "(\Seen $Label1)".
 * \Recent is dropped (it cannot be set); keywords that are not valid atoms
 * are dropped and counted in *dropped (may be NULL). */
int imap_put_flag_list(struct mf_buf *b, const char *const *flags, size_t n, size_t *dropped);

#endif
