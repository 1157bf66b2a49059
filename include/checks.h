/* mailferry - live prerequisite checks and the step actions (engine API)
 *
 * Checks are data: each returns a status, a one-line title, a detail and a
 * remedy the admin can act on (for Exchange-side setup that only PowerShell
 * can do, the exact commands).  Results are stored in the batch's ledger with
 * their time as they arrive, so a screen can show the last result without
 * running again, and `mailferry check --json` prints the same results.
 *
 * Checks run in parallel on their own threads (bounded, with a per-check
 * timeout and a rate limit towards each server); checks_start() returns at
 * once and never blocks the caller, who learns of results through the
 * callback (from a checks thread) or a byte on wake_fd, and may cancel.
 *
 * Where a check needs a Microsoft 365 tenant it uses the Graph client; for a
 * generic IMAP target the same question is asked over IMAP instead, and the
 * result says so.  A check that cannot apply (no tenant, the demo's local
 * servers have no public DNS) is SKIP with the reason in its detail.
 */
#ifndef MF_CHECKS_H
#define MF_CHECKS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct mf_batch;
struct mf_err;
struct mf_secret;

enum check_status {
	CHECK_PASS = 0,
	CHECK_WARN,
	CHECK_FAIL,
	CHECK_SKIP,
};

/* "PASS", "WARN", "FAIL", "SKIP" */
const char *check_status_name(enum check_status s);

#define MF_STEPS 11

/* Microsoft's words for each step of the checklist (1..11), e.g. step 1:
 * "Add users and assign licenses"; NULL outside 1..11. */
const char *checks_step_title(int step);
/* What the step is for, in a line or two. */
const char *checks_step_purpose(int step);

struct mf_check {
	int step;          /* 1..11 */
	char id[64];       /* stable id, e.g. "source.tls", "users.license" */
	char subject[320]; /* what it is about: "" (the batch), an address, a domain */
	enum check_status status;
	char title[256];   /* one line */
	char detail[2048]; /* may hold several lines */
	char remedy[4096]; /* what to do about it; commands verbatim */
	int64_t when;      /* epoch seconds */
};

struct mf_checks_opts {
	int step;              /* 0: every step */
	const char *only;      /* only checks whose id or subject matches, or NULL */
	unsigned parallel;     /* checks at once (0: 8) */
	unsigned per_server;   /* connections at once towards one server (0: 4) */
	unsigned connect_rate; /* new connections per second towards one server (0: 10) */
	long timeout_ms;       /* per check (0: 30 s) */
	int wake_fd;           /* a byte is written after each result; -1: none */
	/* Called from a checks thread for every result (thread-safe, quick). */
	void (*on_result)(const struct mf_check *c, void *aux);
	void *aux;
};

struct mf_checks_summary {
	unsigned pass, warn, fail, skip;
};

struct mf_checks_run;

int checks_start(struct mf_batch *b, const struct mf_checks_opts *o, struct mf_checks_run **out,
                 struct mf_err *err);
int checks_running(struct mf_checks_run *r);
void checks_cancel(struct mf_checks_run *r);
/* Waits for the end; fills the summary (may be NULL). */
void checks_wait(struct mf_checks_run *r, struct mf_checks_summary *sum);
void checks_free(struct mf_checks_run *r);

/* The last stored results of a step (0: all), from the ledger (owned array). */
int checks_last(struct mf_batch *b, int step, struct mf_check **out, size_t *n, struct mf_err *err);

/* Step 3: writes the last stored census (messages, bytes, largest message,
 * Trash size, messages over the size limit, folder names the target cannot
 * take, per mailbox) as a CSV file (0600; a spreadsheet-safe cell for every
 * value).  *rows gets the number of mailboxes written (may be NULL).
 * MF_E_NOTFOUND when no census was run yet. */
int checks_census_export(struct mf_batch *b, const char *path, size_t *rows, struct mf_err *err);

/* ---- step actions (each honours dry_run: it then reports what it would do) ---- */

struct mf_action_result {
	size_t done, failed, skipped; /* per mailbox */
	char summary[512];
};

/* The templates (settings notice_template / welcome_template name the file)
 * are a message in RFC 5322 form: header lines, an empty line, the body.
 *
 *     # lines starting with '#' before the first header are comments
 *     From: IT department <it@contoso.com>
 *     Subject: Your mailbox moves on {date}
 *
 *     Hello {username},
 *     your address {email} keeps working ...
 *
 * Placeholders, in headers and body: {email} (EmailAddress of the CSV),
 * {username} (its UserName), {local} and {domain} (the two halves of the
 * address), {batch}, {source} and {target} (the servers' host names),
 * {date} (the day of sending, YYYY-MM-DD, UTC); "{{" and "}}" are literal
 * braces; any other {name} is an error naming its line.  From and Subject
 * are required; To defaults to the mailbox's address; Date and Message-ID
 * are generated; a body that is not plain ASCII is declared UTF-8 (8bit)
 * unless the template sets Content-Type; a non-ASCII Subject is encoded
 * (RFC 2047).  Lines end in CRLF whatever the file used; a line longer than
 * 998 bytes is an error.
 *
 * Each mailbox's outcome is a result of the step (id "notice.sent" or
 * "welcome.sent", subject the address) passed to o->on_result and, unless
 * dry_run, stored in the ledger.  A mailbox that already got the message
 * (a stored PASS) is skipped, so running the action again never delivers a
 * second copy.  dry_run logs in and opens the INBOX read-only, renders the
 * message (the result's detail holds it) and writes nothing anywhere.
 *
 * Step 3: delivers the notice template by APPEND into every source INBOX
 * (users still read it there). */
int action_send_notices(struct mf_batch *b, int dry_run, const struct mf_checks_opts *o,
                        struct mf_action_result *res, struct mf_err *err);
/* Step 11: delivers the welcome template by APPEND into every target INBOX. */
int action_send_welcome(struct mf_batch *b, int dry_run, const struct mf_checks_opts *o,
                        struct mf_action_result *res, struct mf_err *err);
/* Step 11: finishes the batch: wipes the stored credentials (CSV passwords,
 * admin passwords, client secret) and marks step 11 done. */
int action_finish_batch(struct mf_batch *b, struct mf_action_result *res, struct mf_err *err);

#endif
