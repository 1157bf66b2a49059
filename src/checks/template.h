/* mailferry - message templates for the step 3 notice and the step 11 welcome
 *
 * The format (documented for admins in include/checks.h and mailferry(1)):
 * RFC 5322 header lines, an empty line, the body; '#' comment lines before
 * the first header; {email} {username} {local} {domain} {batch} {source}
 * {target} {date} placeholders; "{{" and "}}" for literal braces.
 *
 * tmpl_parse() checks everything that can be checked without a mailbox
 * (header syntax, required headers, known placeholders, line lengths) and
 * reports the first problem with its line number.  tmpl_render() builds the
 * message for one mailbox: Date and Message-ID generated, To defaulted,
 * MIME headers added, a non-ASCII Subject encoded (RFC 2047), CRLF line ends.
 *
 * Pure logic, no I/O except tmpl_load() reading the file.
 */
#ifndef MF_CHECKS_TEMPLATE_H
#define MF_CHECKS_TEMPLATE_H

#include <stddef.h>
#include <time.h>

struct mf_buf;
struct mf_err;

#define TMPL_MAX_BYTES (256u * 1024)
#define TMPL_MAX_LINE  998u

/* The values of the placeholders for one mailbox (borrowed; NULL = ""). */
struct tmpl_vars {
	const char *email;
	const char *username;
	const char *batch;
	const char *source;
	const char *target;
};

struct tmpl;

/* Parses and validates; MF_E_DATA with "line N: ..." for a bad template. */
int tmpl_parse(const char *text, size_t len, struct tmpl **out, struct mf_err *err);
/* Reads the file (at most TMPL_MAX_BYTES) and parses it; MF_E_IO / MF_E_NOTFOUND
 * when it cannot be read. */
int tmpl_load(const char *path, struct tmpl **out, struct mf_err *err);
void tmpl_free(struct tmpl *t);

/* The Subject header as written in the template (borrowed). */
const char *tmpl_subject(const struct tmpl *t);

/* Appends the message for one mailbox to out.  now: the sending time.
 * MF_E_DATA when a rendered header would be invalid (e.g. a non-ASCII
 * user name in From), MF_E_NOMEM. */
int tmpl_render(const struct tmpl *t, const struct tmpl_vars *v, time_t now, struct mf_buf *out,
                struct mf_err *err);

/* RFC 5322 date: "Sun, 22 Nov 2026 04:40:31 +0000" (UTC, C locale); out >= 32 bytes. */
void tmpl_rfc5322_date(char *out, size_t n, time_t t);

#endif
