/* mailferry - Microsoft's IMAP migration CSV (the contract is in csvin.h)
 *
 * How positions are found: libcsv reports neither lines nor offsets, and it
 * silently skips blank lines, so we feed it one physical line at a time and
 * note the line on which each row and each field begins (a quoted field may
 * run over several lines; libcsv calls us back only when it ends).  The
 * parser is strict and trims nothing (our space function says no byte is a
 * space): passwords keep their spaces, the other columns are trimmed here.
 *
 * Secrets: the file's bytes, libcsv's field buffer and our copy of the row
 * being checked all hold passwords, so every one of them is wiped before it
 * is freed or reused (libcsv grows its buffer through wipe_realloc).
 */
#include "config.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "batch/csvin.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/secret.h"

enum role {
	ROLE_OTHER,
	ROLE_EMAIL,
	ROLE_USER,
	ROLE_PASS,
	ROLE_ROOT,
	ROLE_TUSER,
	ROLE_TPASS,
	ROLE__COUNT
};

static const char *const role_names[ROLE__COUNT] = {
        "", "EmailAddress", "UserName", "Password", "UserRoot", "TargetUserName", "TargetPassword",
};

#define MAX_EMAIL  254
#define MAX_SHOWN  100   /* longer values are not quoted in problem texts */
#define FEED_PIECE 65536 /* see feed() */
#define MIN_BLOCK  4096
#define ELLIPSIS   "\xe2\x80\xa6"

/* ---------------------------------------------------------------- wiping memory */

/* libcsv keeps the field being parsed in a buffer it grows with its
 * realloc_func and releases with its free_func.  realloc(3) may leave the old
 * block (a password) behind in freed memory, so ours always copies, wipes the
 * old block and frees it; each block starts with a header holding its size. */
#define WIPE_HDR sizeof(max_align_t)

static void *wipe_realloc(void *p, size_t n)
{
	unsigned char *old = p ? (unsigned char *)p - WIPE_HDR : NULL;
	unsigned char *blk;
	size_t oldn = 0;

	if (n > SIZE_MAX - WIPE_HDR)
		return NULL;
	blk = mf_malloc(WIPE_HDR + n);
	if (!blk)
		return NULL;
	memcpy(blk, &n, sizeof(n));
	if (old) {
		memcpy(&oldn, old, sizeof(oldn));
		memcpy(blk + WIPE_HDR, old + WIPE_HDR, oldn < n ? oldn : n);
		OPENSSL_cleanse(old, WIPE_HDR + oldn);
		free(old);
	}
	return blk + WIPE_HDR;
}

static void wipe_free(void *p)
{
	unsigned char *old;
	size_t oldn;

	if (!p)
		return;
	old = (unsigned char *)p - WIPE_HDR;
	memcpy(&oldn, old, sizeof(oldn));
	OPENSSL_cleanse(old, WIPE_HDR + oldn);
	free(old);
}

/* A byte buffer that wipes what it drops. */
struct wipebuf {
	char *data;
	size_t len, cap;
};

static void wipebuf_free(struct wipebuf *b)
{
	if (b->data) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

static int wipebuf_reserve(struct wipebuf *b, size_t need)
{
	size_t ncap = b->cap ? b->cap : 256;
	char *d;

	if (need <= b->cap)
		return 0;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	d = mf_malloc(ncap);
	if (!d)
		return -1;
	if (b->len)
		memcpy(d, b->data, b->len);
	if (b->data) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = d;
	b->cap = ncap;
	return 0;
}

static void wipebuf_clear(struct wipebuf *b)
{
	if (b->len)
		OPENSSL_cleanse(b->data, b->len);
	b->len = 0;
}

/* ---------------------------------------------------------------- the loader */

struct field {
	size_t off, len; /* in the row's wipebuf */
	unsigned line;   /* where the field begins */
	int bad;         /* its bytes were reported (NUL, not UTF-8) */
};

struct seen { /* an EmailAddress already in the file */
	uint32_t hash;
	unsigned line;   /* 0: empty slot */
	size_t off, len; /* lower-cased copy in keys */
};

struct loader {
	const char *data;
	size_t len;
	size_t max_rows;
	int allow_unknown, passwords_optional;
	int warn_readable; /* the file can be read by other users */
	struct csvin_result *out;

	struct csv_parser p;
	int parser_live;

	/* where libcsv is */
	unsigned cur_line; /* physical line being fed */
	size_t cur_end;    /* offset just past that line's terminator */
	int in_row;
	unsigned row_line;
	unsigned field_line; /* the field being parsed begins on this line... */
	size_t field_resume; /* ...and the line after it begins here */

	/* the row being read */
	struct wipebuf bytes;
	struct field *fields;
	size_t nstored, fields_cap;
	size_t row_nfields; /* counted, stored or not */
	int row_nonblank;
	size_t row_errors;

	/* the header */
	int have_header, stop;
	size_t header_errors; /* with any, no row is stored */
	size_t ncols;
	unsigned char *roles; /* per column */
	int col[ROLE__COUNT]; /* column index of each role, -1 when absent */

	/* data rows */
	size_t data_rows, rows_cap;
	int too_many_reported;
	unsigned first_bad_utf8_line;

	/* EmailAddress values seen (open addressing, power-of-two size) */
	struct seen *seen;
	size_t seen_cap, seen_n;
	struct mf_buf keys;

	size_t problems_cap, omitted, omitted_errors;
	int nomem;
};

/* ---------------------------------------------------------------- problems */

__attribute__((format(printf, 5, 0))) static void problem_vadd(struct loader *L, unsigned line,
                                                               unsigned col,
                                                               enum csvin_severity sev,
                                                               const char *fmt, va_list ap)
{
	struct csvin_result *out = L->out;
	struct csvin_problem *pb;
	char *text;

	if (L->nomem)
		return;
	if (sev == CSVIN_ERROR) {
		out->nerrors++;
		L->row_errors++;
	}
	/* whole-file problems are always listed: there are only a few */
	if (out->nproblems >= CSVIN_MAX_PROBLEMS && line) {
		L->omitted++;
		if (sev == CSVIN_ERROR)
			L->omitted_errors++;
		return;
	}
	if (mf_grow(&out->problems, &L->problems_cap, out->nproblems + 1, sizeof(*pb))) {
		L->nomem = 1;
		return;
	}
	text = mf_vsprintf(fmt, ap);
	if (!text) {
		L->nomem = 1;
		return;
	}
	pb = &out->problems[out->nproblems++];
	pb->line = line;
	pb->column = col;
	pb->severity = sev;
	pb->text = text;
}

__attribute__((format(printf, 4, 5))) static void error_at(struct loader *L, unsigned line,
                                                           unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_vadd(L, line, col, CSVIN_ERROR, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void warn_at(struct loader *L, unsigned line,
                                                          unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_vadd(L, line, col, CSVIN_WARNING, fmt, ap);
	va_end(ap);
}

/* Problems come out nearly in line order already (whole-file ones excepted):
 * a stable insertion sort by line is cheap and keeps each line's problems in
 * the order they were found.  Then the summary of the ones not listed. */
static void problems_finish(struct loader *L)
{
	struct csvin_result *out = L->out;

	for (size_t i = 1; i < out->nproblems; i++) {
		struct csvin_problem tmp = out->problems[i];
		size_t j = i;

		for (; j > 0 && out->problems[j - 1].line > tmp.line; j--)
			out->problems[j] = out->problems[j - 1];
		out->problems[j] = tmp;
	}
	if (L->omitted) {
		size_t nerrors = out->nerrors; /* already counts the omitted errors */

		/* line 0 bypasses the limit */
		const char *s = L->omitted == 1 ? "" : "s";

		if (L->omitted_errors)
			error_at(L, 0, 0, ELLIPSIS " and %zu more problem%s", L->omitted, s);
		else
			warn_at(L, 0, 0, ELLIPSIS " and %zu more problem%s", L->omitted, s);
		out->nerrors = nerrors;
	}
}

/* ---------------------------------------------------------------- small helpers */

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Offset of the first byte that is not part of well-formed UTF-8, or n. */
static size_t utf8_bad_at(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp, min;
		size_t need;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return i;
		}
		if (n - i <= need)
			return i;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += need + 1;
	}
	return n;
}

static int has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

/* "50,000" */
static const char *thousands(size_t v, char *buf, size_t size)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%zu", v);
	size_t o = 0;

	for (int i = 0; i < n && o + 2 < size; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = 0;
	return buf;
}

static const char *field_data(const struct loader *L, const struct field *f)
{
	return L->bytes.data + f->off;
}

/* A value may be quoted in a problem text only if it reads cleanly and holds
 * no password: neither one of this row's (a row whose columns are shifted
 * would otherwise show a password as "the EmailAddress") nor any other live
 * secret, such as the passwords of the rows already read.  Returns
 * " \"value\"" or "". */
static const char *shown(const struct loader *L, const char *s, size_t n, char *buf, size_t size)
{
	static const int secret_roles[] = {ROLE_PASS, ROLE_TPASS};

	if (!n || n > MAX_SHOWN || has_control(s, n) ||
	    utf8_bad_at((const unsigned char *)s, n) < n || secret_occurs(s, n))
		return "";
	for (size_t i = 0; i < sizeof(secret_roles) / sizeof(secret_roles[0]) && L->ncols; i++) {
		int c = L->col[secret_roles[i]];
		const struct field *f;

		if (c < 0 || (size_t)c >= L->nstored)
			continue;
		f = &L->fields[c];
		if (f->len && memmem(s, n, field_data(L, f), f->len))
			return "";
	}
	snprintf(buf, size, " \"%.*s\"", (int)n, s);
	return buf;
}

/* ---------------------------------------------------------------- libcsv set-up */

static int never_space(unsigned char c)
{
	(void)c;
	return 0;
}

static int parser_start(struct loader *L)
{
	if (csv_init(&L->p, CSV_STRICT | CSV_STRICT_FINI))
		return -1;
	csv_set_delim(&L->p, (unsigned char)L->out->delimiter);
	csv_set_space_func(&L->p, never_space);
	csv_set_realloc_func(&L->p, wipe_realloc);
	csv_set_free_func(&L->p, wipe_free);
	L->parser_live = 1;
	return 0;
}

static void parser_stop(struct loader *L)
{
	if (L->parser_live)
		csv_free(&L->p);
	L->parser_live = 0;
}

/* ---------------------------------------------------------------- the row being read */

static void row_reset(struct loader *L)
{
	wipebuf_clear(&L->bytes);
	L->nstored = 0;
	L->row_nfields = 0;
	L->row_nonblank = 0;
}

static void row_begin(struct loader *L, unsigned line, size_t line_end)
{
	L->in_row = 1;
	L->row_line = line;
	L->field_line = line;
	L->field_resume = line_end;
}

static size_t fields_to_store(const struct loader *L)
{
	return L->have_header ? L->ncols : CSVIN_MAX_COLUMNS + 1;
}

static void on_field(void *s, size_t n, void *data)
{
	struct loader *L = data;
	unsigned line = L->field_line;
	struct field *f;

	/* the next field begins right after the delimiter, on this line */
	L->field_line = L->cur_line;
	L->field_resume = L->cur_end;
	L->row_nfields++;
	if (L->nomem || L->stop)
		return;
	for (size_t i = 0; i < n && !L->row_nonblank; i++)
		L->row_nonblank = !is_blank(((unsigned char *)s)[i]);
	if (L->nstored >= fields_to_store(L))
		return; /* only counted: the row has too many columns */
	if (mf_grow(&L->fields, &L->fields_cap, L->nstored + 1, sizeof(*f)) ||
	    wipebuf_reserve(&L->bytes, L->bytes.len + n + 1)) {
		L->nomem = 1;
		return;
	}
	f = &L->fields[L->nstored++];
	f->off = L->bytes.len;
	f->len = n;
	f->line = line;
	f->bad = 0;
	if (n)
		memcpy(L->bytes.data + L->bytes.len, s, n);
	L->bytes.len += n;
	L->bytes.data[L->bytes.len++] = 0;
}

/* The physical line of byte k of a field. */
static unsigned line_in_field(const struct loader *L, const struct field *f, size_t k)
{
	const char *s = field_data(L, f);
	unsigned line = f->line;

	for (size_t i = 0; i < k; i++)
		if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= f->len || s[i + 1] != '\n')))
			line++;
	return line;
}

/* NUL bytes and bytes that are not UTF-8, reported where they are. */
static void field_check_bytes(struct loader *L, struct field *f, unsigned col)
{
	const unsigned char *s = (const unsigned char *)field_data(L, f);
	const unsigned char *nul = memchr(s, 0, f->len);
	size_t bad = utf8_bad_at(s, f->len);
	unsigned line;

	if (nul && (size_t)(nul - s) <= bad) {
		f->bad = 1;
		error_at(L, line_in_field(L, f, (size_t)(nul - s)), col,
		         "A NUL byte (binary data, or a file saved as UTF-16?): save the file as "
		         "\"CSV UTF-8 (Comma delimited)\" and load it again");
	} else if (bad < f->len) {
		f->bad = 1;
		line = line_in_field(L, f, bad);
		if (!L->first_bad_utf8_line) {
			L->first_bad_utf8_line = line;
			error_at(
			        L, line, col,
			        "Bytes that are not UTF-8: the file is probably saved as "
			        "Windows-1252 / Latin-1 (Excel's plain \"CSV (Comma delimited)\"). "
			        "Save it as \"CSV UTF-8 (Comma delimited)\" and load it again");
		} else {
			error_at(L, line, col,
			         "Bytes that are not UTF-8 (as on line %u: save the file as UTF-8)",
			         L->first_bad_utf8_line);
		}
	}
}

/* ---------------------------------------------------------------- the header */

struct synonym {
	const char *name; /* lower case, without spaces, '-', '_' or '.' */
	enum role role;
};

static const struct synonym synonyms[] = {
        {"email", ROLE_EMAIL},
        {"mail", ROLE_EMAIL},
        {"emailaddr", ROLE_EMAIL},
        {"emailaddresses", ROLE_EMAIL},
        {"address", ROLE_EMAIL},
        {"smtpaddress", ROLE_EMAIL},
        {"primarysmtpaddress", ROLE_EMAIL},
        {"userprincipalname", ROLE_EMAIL},
        {"upn", ROLE_EMAIL},
        {"user", ROLE_USER},
        {"login", ROLE_USER},
        {"loginname", ROLE_USER},
        {"logon", ROLE_USER},
        {"account", ROLE_USER},
        {"userid", ROLE_USER},
        {"pass", ROLE_PASS},
        {"passwd", ROLE_PASS},
        {"pwd", ROLE_PASS},
        {"pw", ROLE_PASS},
        {"passwort", ROLE_PASS},
        {"motdepasse", ROLE_PASS},
        {"root", ROLE_ROOT},
        {"targetuser", ROLE_TUSER},
        {"targetlogin", ROLE_TUSER},
        {"targetpass", ROLE_TPASS},
        {"targetpwd", ROLE_TPASS},
};

static enum role role_exact(const char *s, size_t n)
{
	for (int r = ROLE_EMAIL; r < ROLE__COUNT; r++)
		if (strlen(role_names[r]) == n && !strncasecmp(role_names[r], s, n))
			return (enum role)r;
	return ROLE_OTHER;
}

/* How a misspelt name could be meant: 1 the same name written with spaces,
 * dashes or underscores, 2 a synonym; 0 none. */
static int role_near(const char *s, size_t n, enum role *role)
{
	char norm[64];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '-' || c == '_' || c == '.' || c == '\t')
			continue;
		if (k + 1 >= sizeof(norm))
			return 0;
		norm[k++] = (char)ascii_lower(c);
	}
	norm[k] = 0;
	if ((*role = role_exact(norm, k)) != ROLE_OTHER)
		return 1;
	for (size_t i = 0; i < sizeof(synonyms) / sizeof(synonyms[0]); i++) {
		if (!strcmp(norm, synonyms[i].name)) {
			*role = synonyms[i].role;
			return 2;
		}
	}
	return 0;
}

static void header_missing(struct loader *L)
{
	for (size_t i = 0; i < L->nstored; i++) {
		const struct field *f = &L->fields[i];

		if (memchr(field_data(L, f), '@', f->len)) {
			error_at(L, L->row_line, 0,
			         "This line looks like a mailbox row, not a header: the header row "
			         "is "
			         "missing. Add the line EmailAddress,UserName,Password above it");
			return;
		}
	}
	error_at(L, L->row_line, 0,
	         "This line names none of the columns EmailAddress, UserName and Password: the "
	         "header row is missing or misspelt. The first line must be "
	         "EmailAddress,UserName,Password");
}

static void header_name(struct loader *L, size_t i, const char *name, size_t n, int *suggested)
{
	unsigned line = L->row_line, col = (unsigned)i + 1;
	char buf[MAX_SHOWN + 8];
	const char *v = shown(L, name, n, buf, sizeof(buf));
	enum role r = role_exact(name, n);
	int how;

	if (r != ROLE_OTHER) {
		if (L->col[r] >= 0) {
			error_at(L, line, col, "Column \"%s\" appears twice (columns %d and %u)",
			         role_names[r], L->col[r] + 1, col);
			return;
		}
		L->col[r] = (int)i;
		L->roles[i] = (unsigned char)r;
		return;
	}
	how = role_near(name, n, &r);
	if (how == 1 && memchr(name, ' ', n)) {
		error_at(L, line, col,
		         "Column%s must be written \"%s\": column names can't contain spaces", v,
		         role_names[r]);
	} else if (how == 1) {
		error_at(L, line, col, "Column%s must be written \"%s\"", v, role_names[r]);
	} else if (how == 2) {
		error_at(L, line, col, "Unknown column%s: did you mean \"%s\"?", v, role_names[r]);
	} else if (!n) {
		if (L->allow_unknown)
			warn_at(L, line, col, "This column has no name; it is ignored");
		else
			error_at(L, line, col,
			         "This column has no name: remove it (an empty column left over "
			         "by a spreadsheet?)");
		return;
	} else if (L->allow_unknown) {
		warn_at(L, line, col, "Column%s is not one mailferry uses; it is ignored", v);
		return;
	} else {
		error_at(L, line, col,
		         "Unknown column%s: Microsoft's format has EmailAddress, UserName, "
		         "Password and the optional UserRoot (mailferry also reads "
		         "TargetUserName and TargetPassword). Remove the column or allow "
		         "unknown columns",
		         v);
		return;
	}
	suggested[r] = 1;
}

static void header_process(struct loader *L)
{
	static const enum role required[] = {ROLE_EMAIL, ROLE_USER, ROLE_PASS};
	int suggested[ROLE__COUNT] = {0};
	int known = 0;

	L->have_header = 1;
	if (L->row_nfields > CSVIN_MAX_COLUMNS) {
		error_at(L, L->row_line, 0,
		         "The header has %zu columns; at most %d are accepted. Is this the right "
		         "file?",
		         L->row_nfields, CSVIN_MAX_COLUMNS);
		L->stop = 1;
		return;
	}
	for (size_t i = 0; i < L->nstored; i++)
		field_check_bytes(L, &L->fields[i], (unsigned)i + 1);
	for (size_t i = 0; i < L->nstored; i++) {
		const char *name = field_data(L, &L->fields[i]);
		size_t n = L->fields[i].len;
		enum role r;

		trim(&name, &n);
		if (memchr(name, '@', n)) {
			known = 0;
			break;
		}
		if (role_exact(name, n) != ROLE_OTHER || role_near(name, n, &r))
			known = 1;
	}
	if (!known) {
		header_missing(L);
		L->stop = 1;
		return;
	}
	L->roles = mf_calloc(L->nstored, 1);
	if (!L->roles) {
		L->nomem = 1;
		return;
	}
	for (size_t i = 0; i < L->nstored; i++) {
		const char *name = field_data(L, &L->fields[i]);
		size_t n = L->fields[i].len;

		if (L->fields[i].bad)
			continue;
		trim(&name, &n);
		header_name(L, i, name, n, suggested);
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		enum role r = required[i];

		if (L->col[r] >= 0 || suggested[r] || (r == ROLE_PASS && L->passwords_optional))
			continue;
		error_at(L, L->row_line, 0,
		         "Column \"%s\" is missing from the CSV file. The import process can't "
		         "continue because this column is required. Please edit the CSV file and "
		         "re-submit it.",
		         role_names[r]);
	}
	L->ncols = L->nstored; /* only now: shown() checks passwords once it is set */
	L->header_errors = L->row_errors;
	L->out->has_userroot = L->col[ROLE_ROOT] >= 0;
	L->out->has_target_credentials = L->col[ROLE_TUSER] >= 0 || L->col[ROLE_TPASS] >= 0;
}

/* ---------------------------------------------------------------- duplicates */

static uint32_t key_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ ascii_lower((unsigned char)s[i])) * 16777619u;
	return h;
}

static int seen_grow(struct loader *L)
{
	size_t ncap = L->seen_cap ? L->seen_cap * 2 : 1024;
	struct seen *t = mf_calloc(ncap, sizeof(*t));

	if (!t)
		return -1;
	for (size_t i = 0; i < L->seen_cap; i++) {
		size_t j;

		if (!L->seen[i].line)
			continue;
		for (j = L->seen[i].hash & (ncap - 1); t[j].line; j = (j + 1) & (ncap - 1))
			;
		t[j] = L->seen[i];
	}
	free(L->seen);
	L->seen = t;
	L->seen_cap = ncap;
	return 0;
}

/* The line an address (compared ignoring ASCII case) was first seen on, or 0
 * when it is new (it is then remembered).  -1: out of memory. */
static long seen_check(struct loader *L, const char *s, size_t n, unsigned line)
{
	uint32_t h = key_hash(s, n);
	size_t j;

	if ((L->seen_n + 1) * 2 > L->seen_cap && seen_grow(L))
		return -1;
	for (j = h & (L->seen_cap - 1); L->seen[j].line; j = (j + 1) & (L->seen_cap - 1)) {
		const struct seen *e = &L->seen[j];
		size_t k;

		if (e->hash != h || e->len != n)
			continue;
		for (k = 0;
		     k < n && L->keys.data[e->off + k] == (char)ascii_lower((unsigned char)s[k]);
		     k++)
			;
		if (k == n)
			return e->line;
	}
	L->seen[j].hash = h;
	L->seen[j].line = line;
	L->seen[j].off = L->keys.len;
	L->seen[j].len = n;
	for (size_t k = 0; k < n; k++)
		if (buf_putc(&L->keys, (char)ascii_lower((unsigned char)s[k])))
			return -1;
	L->seen_n++;
	return 0;
}

/* ---------------------------------------------------------------- data rows */

static const char *email_problem(const char *s, size_t n)
{
	size_t at = 0, ats = 0;
	const char *dom;
	size_t dn;

	if (n > MAX_EMAIL)
		return "it is longer than 254 characters";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ')
			return "it contains a space";
		if (c < 0x20 || c == 0x7f)
			return "it contains a control character";
		if (c == '@')
			ats++, at = i;
	}
	if (!ats)
		return "it has no @";
	if (ats > 1)
		return "it has more than one @";
	if (!at)
		return "there is nothing before the @";
	dom = s + at + 1;
	dn = n - at - 1;
	if (!dn)
		return "there is nothing after the @";
	if (!memchr(dom, '.', dn))
		return "the domain after the @ has no dot";
	if (dom[0] == '.' || dom[dn - 1] == '.' || memmem(dom, dn, "..", 2))
		return "the domain after the @ has an empty part (a dot at its start or end, or "
		       "two dots in a row)";
	return NULL;
}

struct span {
	const char *s;
	size_t n;
};

static void check_email(struct loader *L, const struct field *f, unsigned col, struct span *v)
{
	char buf[MAX_SHOWN + 8];
	const char *why;
	long first;

	trim(&v->s, &v->n);
	if (!v->n) {
		error_at(L, f->line, col, "EmailAddress is empty");
		return;
	}
	why = email_problem(v->s, v->n);
	if (why) {
		/* not quoted: a value that is no address may well be a password
		 * that landed in the wrong column */
		error_at(L, f->line, col, "EmailAddress is not a valid address: %s", why);
		return;
	}
	first = seen_check(L, v->s, v->n, f->line);
	if (first < 0)
		L->nomem = 1;
	else if (first)
		error_at(L, f->line, col,
		         "EmailAddress%s is a duplicate: it is already on line %ld (addresses are "
		         "compared ignoring case)",
		         shown(L, v->s, v->n, buf, sizeof(buf)), first);
}

static void check_login(struct loader *L, const struct field *f, unsigned col, enum role r,
                        struct span *v)
{
	trim(&v->s, &v->n);
	if (!v->n && r == ROLE_USER)
		error_at(L, f->line, col,
		         "UserName is empty: Microsoft's format needs the login name on the source "
		         "server here (for example hollyh or contoso\\hollyh)");
	else if (has_control(v->s, v->n))
		error_at(L, f->line, col, "%s contains a control character (a tab or line break?)",
		         role_names[r]);
}

static void check_password(struct loader *L, const struct field *f, unsigned col, enum role r,
                           const struct span *v)
{
	if (!v->n) {
		if (r == ROLE_PASS && !L->passwords_optional)
			error_at(L, f->line, col,
			         "Password is empty: Microsoft's format needs the password of "
			         "UserName here (it may be empty only when the source is read with "
			         "admin credentials)");
		return;
	}
	if (memchr(v->s, '\n', v->n) || memchr(v->s, '\r', v->n))
		error_at(L, f->line, col,
		         "%s contains a line break: is a closing quote missing or misplaced?",
		         role_names[r]);
	else if (is_blank((unsigned char)v->s[0]) || is_blank((unsigned char)v->s[v->n - 1]))
		warn_at(L, f->line, col,
		        "%s begins or ends with a space, which is used as part of the password; "
		        "remove the space if it is not",
		        role_names[r]);
}

static char *dup_or_null(const struct span *v, int *nomem)
{
	char *s;

	if (!v->s || !v->n)
		return NULL;
	s = mf_strndup(v->s, v->n);
	if (!s)
		*nomem = 1;
	return s;
}

static struct mf_secret *secret_or_null(const struct span *v, int *nomem)
{
	struct mf_secret *s;

	if (!v->s || !v->n)
		return NULL;
	s = secret_new(v->s, v->n);
	if (!s)
		*nomem = 1;
	return s;
}

static void row_free(struct csvin_row *r)
{
	free(r->email);
	free(r->username);
	free(r->userroot);
	free(r->target_username);
	secret_free(r->password);
	secret_free(r->target_password);
	memset(r, 0, sizeof(*r));
}

static void row_store(struct loader *L, const struct span *v)
{
	struct csvin_result *out = L->out;
	struct csvin_row *r;
	int nomem = 0;

	if (mf_grow(&out->rows, &L->rows_cap, out->nrows + 1, sizeof(*r))) {
		L->nomem = 1;
		return;
	}
	r = &out->rows[out->nrows];
	memset(r, 0, sizeof(*r));
	r->line = L->row_line;
	r->email = dup_or_null(&v[ROLE_EMAIL], &nomem);
	r->username = dup_or_null(&v[ROLE_USER], &nomem);
	r->userroot = dup_or_null(&v[ROLE_ROOT], &nomem);
	r->target_username = dup_or_null(&v[ROLE_TUSER], &nomem);
	r->password = secret_or_null(&v[ROLE_PASS], &nomem);
	r->target_password = secret_or_null(&v[ROLE_TPASS], &nomem);
	if (nomem) {
		row_free(r);
		L->nomem = 1;
		return;
	}
	out->nrows++;
}

static void row_process(struct loader *L)
{
	struct span v[ROLE__COUNT] = {{NULL, 0}};
	char n1[32];
	int over;

	L->data_rows++;
	over = L->data_rows > L->max_rows;
	if (over && !L->too_many_reported) {
		L->too_many_reported = 1;
		error_at(L, L->row_line, 0,
		         "The CSV file contains more than %s rows. Please divide the file into two "
		         "or more files and submit them separately.",
		         thousands(L->max_rows, n1, sizeof(n1)));
	}
	for (size_t i = 0; i < L->nstored; i++)
		field_check_bytes(L, &L->fields[i], (unsigned)i + 1);
	if (L->row_nfields != L->ncols) {
		error_at(L, L->row_line, 0,
		         "Row %zu has the wrong number of columns. Expected number: %zu. Actual "
		         "number: %zu. Please edit this row and re-submit the file.",
		         L->data_rows, L->ncols, L->row_nfields);
		return;
	}
	for (size_t i = 0; i < L->ncols && !L->nomem; i++) {
		const struct field *f = &L->fields[i];
		enum role r = (enum role)L->roles[i];
		unsigned col = (unsigned)i + 1;

		if (r == ROLE_OTHER || f->bad)
			continue;
		v[r].s = field_data(L, f);
		v[r].n = f->len;
		if (r == ROLE_EMAIL)
			check_email(L, f, col, &v[r]);
		else if (r == ROLE_PASS || r == ROLE_TPASS)
			check_password(L, f, col, r, &v[r]);
		else
			check_login(L, f, col, r, &v[r]);
	}
	if (!L->row_errors && !L->header_errors && !over && !L->nomem)
		row_store(L, v);
}

static void on_row(int term, void *data)
{
	struct loader *L = data;

	(void)term;
	L->in_row = 0;
	if (!L->nomem && !L->stop && L->row_nonblank) {
		L->row_errors = 0;
		if (!L->have_header)
			header_process(L);
		else
			row_process(L);
	}
	row_reset(L);
}

/* ---------------------------------------------------------------- feeding libcsv */

/* Feeds bytes [off, off+n) (one physical line) in pieces, so that between
 * pieces libcsv's growth step can follow its buffer size: wipe_realloc always
 * copies, and a fixed step would make a huge field quadratic.  0, 1 with
 * *bad = offset of the byte libcsv refused, or -1 (out of memory). */
static int feed(struct loader *L, size_t off, size_t n, size_t *bad)
{
	while (n) {
		size_t piece = n < FEED_PIECE ? n : FEED_PIECE, used;
		size_t have = csv_get_buffer_size(&L->p);

		csv_set_blk_size(&L->p, have > MIN_BLOCK ? have : MIN_BLOCK);
		used = csv_parse(&L->p, L->data + off, piece, on_field, on_row, L);
		if (L->nomem)
			return -1;
		if (used < piece) {
			if (csv_error(&L->p) != CSV_EPARSE) {
				L->nomem = 1;
				return -1;
			}
			*bad = off + used;
			return 1;
		}
		off += piece;
		n -= piece;
	}
	return 0;
}

/* The offset just past the line break at eol (CRLF, LF or a lone CR, all
 * of which libcsv and editors take as one line break). */
static size_t past_line_break(const char *d, size_t n, size_t eol)
{
	if (eol >= n)
		return n;
	if (d[eol] == '\r' && eol + 1 < n && d[eol + 1] == '\n')
		return eol + 2;
	return eol + 1;
}

/* libcsv refused byte `bad` of the line that begins at line_start. */
static void quote_error(struct loader *L, size_t bad, size_t line_start)
{
	unsigned col = (unsigned)L->row_nfields + 1;
	unsigned char c = (unsigned char)L->data[bad];
	char delim = L->out->delimiter;
	size_t k = bad;

	if (c == '"') {
		/* a quote inside a field that does not begin with one */
		while (k > line_start && is_blank((unsigned char)L->data[k - 1]))
			k--;
		if (k < bad && (k == line_start || L->data[k - 1] == delim))
			error_at(L, L->field_line, col,
			         "There is a space before the opening quote: remove it (a quoted "
			         "field must begin right after the '%c')",
			         delim);
		else
			error_at(
			        L, L->field_line, col,
			        "A quote (\") inside a field that does not begin with one: enclose "
			        "the whole field in quotes and double the quote inside it (\"\")");
	} else if (L->field_line < L->cur_line) {
		error_at(L, L->field_line, col,
		         "Unbalanced quotes: the quoted field that begins here runs on to line %u, "
		         "where a quote is followed by other text. Check its closing quote and "
		         "double every quote inside it (\"\")",
		         L->cur_line);
	} else if (is_blank(c)) {
		error_at(L, L->field_line, col,
		         "There is a space after the closing quote: remove it (a quoted field must "
		         "end right before the '%c' or the end of the line)",
		         delim);
	} else {
		error_at(L, L->field_line, col,
		         "A quote inside a quoted field must be doubled (\"\"): here the closing "
		         "quote is followed by other text");
	}
}

/* After a quote error the broken row is dropped and reading starts again on
 * the line after the one where the broken field begins: the lines a runaway
 * quote swallowed are read as rows, so their problems are found too.  The
 * restart line is always past the previous one, so this ends. */
static int recover(struct loader *L, size_t *off, unsigned *line)
{
	if (!L->have_header)
		L->stop = 1; /* without a header nothing else can be checked */
	else
		L->data_rows++;
	row_reset(L);
	L->in_row = 0;
	parser_stop(L);
	if (parser_start(L)) {
		L->nomem = 1;
		return -1;
	}
	*off = L->field_resume;
	*line = L->field_line + 1;
	return 0;
}

static int parse_all(struct loader *L, size_t start)
{
	size_t off = start, bad = 0;
	unsigned line = 1;
	int rc;

	if (parser_start(L))
		return -1;
	for (;;) {
		while (off < L->len && !L->stop) {
			size_t eol = off, next;

			while (eol < L->len && L->data[eol] != '\n' && L->data[eol] != '\r')
				eol++;
			next = past_line_break(L->data, L->len, eol);
			L->cur_line = line;
			L->cur_end = next;
			if (!L->in_row && eol > off)
				row_begin(L, line, next);
			rc = feed(L, off, next - off, &bad);
			if (rc < 0)
				return -1;
			if (rc > 0) {
				quote_error(L, bad, off);
				if (L->nomem || recover(L, &off, &line))
					return -1;
				continue;
			}
			off = next;
			line++;
		}
		if (L->stop)
			return 0;
		if (csv_fini(&L->p, on_field, on_row, L) == 0)
			return L->nomem ? -1 : 0;
		error_at(
		        L, L->field_line, (unsigned)L->row_nfields + 1,
		        "Unbalanced quotes: the quoted field that begins here is never closed (the "
		        "file ends inside it). Add its closing quote, and double every quote "
		        "inside it (\"\")");
		if (L->nomem || recover(L, &off, &line))
			return -1;
	}
}

/* ---------------------------------------------------------------- before parsing */

static int all_blank(const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_blank((unsigned char)d[i]) && d[i] != '\r' && d[i] != '\n')
			return 0;
	return 1;
}

/* The delimiter the header line uses: ';' when it has semicolons and no
 * comma (Excel with some regional settings), '\t' for a tab-separated file
 * (refused), else ','.  *line: the header's physical line. */
static char sniff_delimiter(const char *d, size_t n, unsigned *line)
{
	size_t i = 0, eol;
	int comma = 0, semi = 0, tab = 0;

	*line = 1;
	for (;;) {
		for (eol = i; eol < n && d[eol] != '\n' && d[eol] != '\r'; eol++)
			;
		if (!all_blank(d + i, eol - i) || eol >= n)
			break;
		i = past_line_break(d, n, eol);
		(*line)++;
	}
	for (; i < eol; i++) {
		comma |= d[i] == ',';
		semi |= d[i] == ';';
		tab |= d[i] == '\t';
	}
	if (comma)
		return ',';
	if (semi)
		return ';';
	return tab ? '\t' : ',';
}

static void loader_free(struct loader *L)
{
	parser_stop(L);
	wipebuf_free(&L->bytes);
	free(L->fields);
	free(L->roles);
	free(L->seen);
	buf_free(&L->keys);
}

static int csvin_load(const char *data, size_t len, const struct csvin_options *opts,
                      int readable_by_others, struct csvin_result *out, struct mf_err *err)
{
	size_t max_bytes = opts && opts->max_bytes ? opts->max_bytes : CSVIN_MAX_BYTES;
	struct loader L;
	size_t start = 0;
	unsigned header_line;
	char n1[32];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->delimiter = ',';
	memset(&L, 0, sizeof(L));
	L.data = data;
	L.len = len;
	L.out = out;
	L.max_rows = opts && opts->max_rows ? opts->max_rows : CSVIN_MAX_ROWS;
	L.allow_unknown = opts && opts->allow_unknown_columns;
	L.passwords_optional = opts && opts->passwords_optional;
	L.warn_readable = readable_by_others;
	for (int r = 0; r < ROLE__COUNT; r++)
		L.col[r] = -1;
	buf_init(&L.keys, 0);

	if (len > max_bytes) {
		if (max_bytes % (1024 * 1024) == 0)
			snprintf(n1, sizeof(n1), "%zu MB", max_bytes / (1024 * 1024));
		else
			snprintf(n1, sizeof(n1), "%zu bytes", max_bytes);
		error_at(&L, 0, 0,
		         "The file is larger than %s; Microsoft accepts at most 10 MB per file. "
		         "Please divide it into two or more files and submit them separately.",
		         n1);
		goto done;
	}
	if (len >= 2 && (!memcmp(data, "\xff\xfe", 2) || !memcmp(data, "\xfe\xff", 2))) {
		error_at(&L, 0, 0,
		         "The file is saved as UTF-16 (Excel's \"Unicode Text\"): save it as \"CSV "
		         "UTF-8 (Comma delimited)\" and load it again");
		goto done;
	}
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		start = 3; /* UTF-8 byte order mark, as Excel writes it */
	if (all_blank(data + start, len - start)) {
		error_at(&L, 0, 0, "Upload file can't be empty");
		goto done;
	}
	out->delimiter = sniff_delimiter(data + start, len - start, &header_line);
	if (out->delimiter == '\t') {
		out->delimiter = ',';
		error_at(&L, header_line, 0,
		         "The file is separated by tabs (Excel's \"Text (Tab delimited)\" or "
		         "\"Unicode Text\"): save it as \"CSV UTF-8 (Comma delimited)\"");
		goto done;
	}
	if (out->delimiter == ';')
		warn_at(&L, header_line, 0,
		        "The file is separated by semicolons (as Excel writes CSV with some "
		        "regional settings); mailferry reads it, but Microsoft's own import "
		        "needs commas");
	if (parse_all(&L, start) < 0)
		L.nomem = 1;
	if (!L.nomem && !L.stop) {
		if (!L.have_header)
			error_at(&L, 0, 0, "Upload file can't be empty");
		else if (!L.data_rows)
			error_at(&L, 0, 0,
			         "The file has a header row but no mailbox rows: add one row per "
			         "mailbox below the header");
	}
	if (L.warn_readable && (L.col[ROLE_PASS] >= 0 || L.col[ROLE_TPASS] >= 0))
		warn_at(&L, 0, 0,
		        "Other users of this machine can read this file, and it holds passwords: "
		        "restrict it (chmod 600) and delete it once the migration is done");
done:
	if (!L.nomem)
		problems_finish(&L);
	loader_free(&L);
	if (L.nomem)
		rc = mf_fail_nomem(err, MF_SCOPE_BATCH);
	return rc;
}

/* ---------------------------------------------------------------- public API */

int csvin_load_mem(const char *data, size_t len, const struct csvin_options *opts,
                   struct csvin_result *out, struct mf_err *err)
{
	return csvin_load(data, len, opts, 0, out, err);
}

/* Reads at most limit + 1 bytes into a buffer that is wiped whenever it
 * moves (the file holds passwords). */
static int read_wiped(int fd, size_t hint, size_t limit, struct wipebuf *b)
{
	ssize_t n;

	if (wipebuf_reserve(b, (hint < limit ? hint : limit) + 2))
		return -1;
	for (;;) {
		if (b->len > limit)
			return 0;
		if (b->cap - b->len < 2 && wipebuf_reserve(b, b->cap + 1))
			return -1;
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -2;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
	}
}

int csvin_load_file(const char *path, const struct csvin_options *opts, struct csvin_result *out,
                    struct mf_err *err)
{
	size_t max_bytes = opts && opts->max_bytes ? opts->max_bytes : CSVIN_MAX_BYTES;
	struct wipebuf b = {NULL, 0, 0};
	struct stat st;
	int fd, rc, e;

	memset(out, 0, sizeof(*out));
	out->delimiter = ',';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return mf_fail(err, MF_SCOPE_BATCH, errno == ENOENT ? MF_E_NOTFOUND : MF_E_IO,
		               "cannot read %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "cannot read %s: %s", path,
		               strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "cannot read %s: %s", path,
		               strerror(EISDIR));
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max_bytes) {
		close(fd); /* too big: said without reading it */
		return csvin_load(NULL, (size_t)max_bytes + 1, opts, 0, out, err);
	}
	rc = read_wiped(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : 65536, max_bytes, &b);
	e = errno;
	close(fd);
	if (rc == -1) {
		wipebuf_free(&b);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	if (rc == -2) {
		wipebuf_free(&b);
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "cannot read %s: %s", path,
		               strerror(e));
	}
	rc = csvin_load(b.data, b.len, opts, (st.st_mode & 044) != 0, out, err);
	if (!rc && opts && opts->validated_bytes && b.len &&
	    buf_append(opts->validated_bytes, b.data, b.len))
		rc = mf_fail_nomem(err, MF_SCOPE_BATCH);
	wipebuf_free(&b);
	return rc;
}

void csvin_result_free(struct csvin_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrows; i++)
		row_free(&r->rows[i]);
	free(r->rows);
	for (size_t i = 0; i < r->nproblems; i++)
		free(r->problems[i].text);
	free(r->problems);
	memset(r, 0, sizeof(*r));
	r->delimiter = ',';
}

static int ascii_casecmp(const char *a, const char *b)
{
	unsigned char x, y;

	do {
		x = ascii_lower((unsigned char)*a++);
		y = ascii_lower((unsigned char)*b++);
	} while (x && x == y);
	return x - y;
}

static int by_domain(const void *a, const void *b)
{
	return ascii_casecmp(*(const char *const *)a, *(const char *const *)b);
}

char **csvin_domains(const struct csvin_result *r, size_t *n)
{
	const char **doms = mf_calloc(r->nrows ? r->nrows : 1, sizeof(*doms));
	char **v = mf_calloc(r->nrows ? r->nrows : 1, sizeof(*v));
	size_t nd = 0, nv = 0;

	*n = 0;
	if (!doms || !v) {
		free(doms);
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < r->nrows; i++) {
		const char *at = r->rows[i].email ? strrchr(r->rows[i].email, '@') : NULL;

		if (at && at[1])
			doms[nd++] = at + 1;
	}
	qsort(doms, nd, sizeof(*doms), by_domain);
	for (size_t i = 0; i < nd; i++) {
		if (nv && !ascii_casecmp(v[nv - 1], doms[i]))
			continue;
		v[nv] = mf_strdup(doms[i]);
		if (!v[nv]) {
			csvin_strings_free(v, nv);
			free(doms);
			return NULL;
		}
		for (char *c = v[nv]; *c; c++)
			*c = (char)ascii_lower((unsigned char)*c);
		nv++;
	}
	free(doms);
	*n = nv;
	return v;
}

void csvin_strings_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int csvin_problem_format(const struct csvin_problem *p, struct mf_buf *out)
{
	if (p->line && p->column)
		return buf_printf(out, "line %u, column %u: %s", p->line, p->column, p->text);
	if (p->line)
		return buf_printf(out, "line %u: %s", p->line, p->text);
	return buf_puts(out, p->text);
}

int csvin_put_field(struct mf_buf *out, const char *s, int last)
{
	int rc = buf_putc(out, '"');

	if (!s)
		s = "";
	if (!rc && *s && strchr("=+-@\t\r", *s))
		rc = buf_putc(out, '\'');
	for (; !rc && *s; s++)
		rc = *s == '"' ? buf_puts(out, "\"\"") : buf_putc(out, *s);
	if (!rc)
		rc = buf_putc(out, '"');
	if (!rc)
		rc = buf_puts(out, last ? "\r\n" : ",");
	return rc ? -1 : 0;
}
