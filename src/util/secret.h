/* mailferry - secrets (passwords, client secrets, tokens)
 *
 * A secret is copied once into memory we own, wiped with OPENSSL_cleanse when
 * freed, and registered with the redaction table while it lives: every log
 * line, protocol trace line and JSON event passes through secret_redact()
 * before it is written, so a secret that slips into a message comes out as
 * "********".  Secrets never come from argv (see src/cli/creds.c for where
 * they may come from) and are never stored in the ledger.
 */
#ifndef MF_UTIL_SECRET_H
#define MF_UTIL_SECRET_H

#include <stddef.h>

struct mf_buf;
struct mf_secret;

/* Copies n bytes of s. NULL when out of memory. */
struct mf_secret *secret_new(const char *s, size_t n);
struct mf_secret *secret_dup(const struct mf_secret *s);
/* NUL-terminated view; valid until secret_free. NULL-safe (returns ""). */
const char *secret_str(const struct mf_secret *s);
size_t secret_len(const struct mf_secret *s);
void secret_free(struct mf_secret *s);

/* Replaces every registered secret in b by "********". 0 or -1 (no memory;
 * the buffer is then cleared rather than written unredacted). */
int secret_redact(struct mf_buf *b);
/* Whether any registered secret occurs in p[0..n). */
int secret_occurs(const char *p, size_t n);

/* Process hardening done once at start: no core dumps, umask 077. */
void secret_harden_process(void);

#endif
