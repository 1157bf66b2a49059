/* mailferry - Microsoft's IMAP migration CSV
 *
 * Reads the list of mailboxes in the format Microsoft documents for IMAP
 * migration batches:
 *
 *     EmailAddress,UserName,Password[,UserRoot]
 *
 * plus mailferry's optional TargetUserName,TargetPassword columns (per-mailbox
 * target credentials).  Header names match case-insensitively; any other
 * column is an error unless allow_unknown_columns.  UTF-8 with or without a
 * BOM, CRLF or LF line ends, quoted fields (commas, quotes, newlines inside).
 *
 * Every problem is reported with its physical line number (1-based, the
 * header is line 1; a quoted field spanning lines reports the row's first
 * line) and, where it applies, its column (1-based field index), using
 * Microsoft's own texts where Microsoft has one:
 *
 *   "Upload file can't be empty"
 *   "The CSV file contains more than 50,000 rows. Please divide the file into
 *    two or more files and submit them separately."
 *   Column "<name>" is missing from the CSV file. The import process can't
 *    continue because this column is required. Please edit the CSV file and
 *    re-submit it.
 *   "Row X has the wrong number of columns. Expected number: 3. Actual
 *    number: Y. Please edit this row and re-submit the file."
 *
 * and clear texts of our own for the rest: larger than 10 MB, unknown
 * columns, names with spaces ("Email Address"), unbalanced quotes, bytes that
 * are not UTF-8 (likely Windows-1252), NUL bytes, duplicate EmailAddress
 * (naming the line of the first), address syntax, empty password (an error
 * unless passwords_optional, i.e. the source uses admin credentials), empty
 * UserName.  A password is never quoted in any problem text.
 *
 * Loading is all or nothing for the caller: if nerrors > 0 nothing may be
 * started.  Warnings (e.g. a semicolon-separated file, accepted) do not block.
 *
 * Details an admin (and the caller) can rely on:
 *
 * - Spaces.  EmailAddress, UserName, UserRoot, TargetUserName and the header
 *   names are trimmed (spaces and tabs).  Password and TargetPassword are
 *   taken byte for byte, quoted or not: "a@b.c,alice, pw " gives the password
 *   " pw " (with a WARNING that it begins or ends with a space).  Because
 *   nothing is trimmed by the parser, a space between a delimiter and an
 *   opening quote (a@b.c, "pw") or after a closing quote is a parse error
 *   with a text that says so.
 * - Blank lines, lines of only spaces and rows whose fields are all empty
 *   (",," as Excel writes them) are skipped; they are not rows.  "Row X"
 *   counts the remaining rows after the header (1 = the first); the line
 *   number is always the physical line in the file.
 * - Too many rows: the problem is reported once, on the line of the first row
 *   past the limit; the remaining rows are still validated but not stored.
 * - A quote error (unbalanced quotes) is reported on the line and column
 *   where the broken field starts; reading resumes on the line after it, so
 *   the rows a runaway quote swallowed are still checked.
 * - Bytes that are not UTF-8 or a NUL byte are reported on their own line and
 *   the column of the field holding them; a UTF-16 file is recognised by its
 *   byte order mark.  Address checks are ASCII-case-insensitive.
 * - At most CSVIN_MAX_PROBLEMS problems are listed; past that one final entry
 *   "... and N more problems" (line 0, severity ERROR if any of them is an
 *   error) ends the list.  nerrors counts every error found, listed or not.
 * - rows holds only the rows without errors (none at all when the header has
 *   one), so a caller could offer to skip the bad rows; with nerrors > 0 it
 *   must not start anything by default.
 * - Passwords may not contain a line break (a sign of a misplaced quote, and
 *   no IMAP server takes one); other columns may not hold control characters.
 *   Quoted line breaks are fine in columns mailferry ignores.
 */
#ifndef MF_BATCH_CSVIN_H
#define MF_BATCH_CSVIN_H

#include <stddef.h>

struct mf_buf;

struct mf_buf;
struct mf_err;
struct mf_secret;

#define CSVIN_MAX_ROWS     50000
#define CSVIN_MAX_BYTES    (10u * 1024 * 1024)
#define CSVIN_MAX_PROBLEMS 1000 /* listed; the rest are summed up in one entry */
#define CSVIN_MAX_COLUMNS  256  /* a header with more columns is refused */

struct csvin_row {
	unsigned line;                     /* first physical line of the row */
	char *email;                       /* owned: EmailAddress, trimmed */
	char *username;                    /* owned: UserName (source login) */
	char *userroot;                    /* owned, NULL when absent or empty */
	char *target_username;             /* owned, NULL when absent or empty */
	struct mf_secret *password;        /* owned, NULL when empty */
	struct mf_secret *target_password; /* owned, NULL when absent or empty */
};

enum csvin_severity { CSVIN_ERROR, CSVIN_WARNING };

struct csvin_problem {
	unsigned line;   /* 0 when it concerns the whole file */
	unsigned column; /* 0 when it concerns the whole row or file */
	enum csvin_severity severity;
	char *text; /* owned */
};

struct csvin_options {
	int allow_unknown_columns; /* New-MigrationBatch -AllowUnknownColumnsInCsv */
	int passwords_optional;    /* admin credentials: an empty Password (or no
					Password column at all) is fine */
	size_t max_rows;           /* 0: CSVIN_MAX_ROWS */
	size_t max_bytes;          /* 0: CSVIN_MAX_BYTES */
	/* csvin_load_file only: when set (an empty buffer), receives the exact
	 * bytes that were validated, so a file that can be read only once (a
	 * pipe such as --csv <(pass show ...)) or that changes afterwards is
	 * stored as it was checked.  The caller wipes it (buf_free_secure). */
	struct mf_buf *validated_bytes;
};

struct csvin_result {
	struct csvin_row *rows; /* owned, nrows of them, in file order */
	size_t nrows;
	struct csvin_problem *problems; /* owned, in line order (the summary last) */
	size_t nproblems;
	size_t nerrors;             /* errors found (listed or summed up) */
	char delimiter;             /* ',' or ';' */
	int has_userroot;           /* the UserRoot column is present */
	int has_target_credentials; /* TargetUserName/TargetPassword present */
};

/* Reads and validates a file.  Returns -1 only when the file cannot be read
 * or memory runs out (err filled); problems with the data are in *out with
 * 0 returned.  *out must be freed with csvin_result_free() either way.
 * opts may be NULL (all defaults).  A file larger than max_bytes is reported
 * as a problem without being read; a file other users can read gets a
 * WARNING (it holds passwords).  Every copy of the file's bytes we make is
 * wiped before it is freed. */
int csvin_load_file(const char *path, const struct csvin_options *opts, struct csvin_result *out,
                    struct mf_err *err);
/* Same for data already in memory (tests, fuzzing). */
int csvin_load_mem(const char *data, size_t len, const struct csvin_options *opts,
                   struct csvin_result *out, struct mf_err *err);
void csvin_result_free(struct csvin_result *r);

/* The distinct domains of the EmailAddress column of the stored rows,
 * lower-cased (ASCII), sorted (owned array of owned strings; free with
 * csvin_strings_free).  With no rows: a non-NULL empty array and *n = 0;
 * NULL only when out of memory. */
char **csvin_domains(const struct csvin_result *r, size_t *n);
void csvin_strings_free(char **v, size_t n);

/* "line 4, column 2: ..." or "line 4: ..." or just the text. */
int csvin_problem_format(const struct csvin_problem *p, struct mf_buf *out);

/* Report writing: appends s as one CSV field (always quoted, quotes doubled,
 * and a leading = + - @ TAB or CR neutralised with a ' so a spreadsheet does
 * not run it as a formula), followed by ',' or, when last, by CRLF. */
int csvin_put_field(struct mf_buf *out, const char *s, int last);

#endif
