/* mailferry - message templates for the step 3 notice and the step 11 welcome */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "checks/template.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"

struct tmpl_header {
	char *name;    /* owned */
	char *value;   /* owned: the value; folded continuation lines joined by "\n" */
	unsigned line; /* where it starts */
};

struct tmpl_line {
	char *text; /* owned, without its line end */
	unsigned line;
};

struct tmpl {
	struct tmpl_header *headers;
	size_t nheaders;
	struct tmpl_line *body;
	size_t nbody;
};

/* Headers the renderer writes itself. */
static const char *const generated[] = {"Date", "Message-ID", "MIME-Version"};

static const char *const known_vars[] = {"email", "username", "local",  "domain",
                                         "batch", "source",   "target", "date"};

void tmpl_free(struct tmpl *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nheaders; i++) {
		free(t->headers[i].name);
		free(t->headers[i].value);
	}
	for (size_t i = 0; i < t->nbody; i++)
		free(t->body[i].text);
	free(t->headers);
	free(t->body);
	free(t);
}

/* ---------------------------------------------------------------- placeholders */

struct expand_vals {
	const char *v[sizeof(known_vars) / sizeof(known_vars[0])];
};

/* Expands the placeholders of s[0..n) into out (vals NULL: only validates). */
static int expand(const char *s, size_t n, const struct expand_vals *vals, unsigned line,
                  struct mf_buf *out, struct mf_err *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *close;
		size_t k, len;

		if (s[i] == '{' && i + 1 < n && s[i + 1] == '{') {
			if (out && buf_putc(out, '{'))
				return mf_fail_nomem(err, MF_SCOPE_BATCH);
			i++;
			continue;
		}
		if (s[i] == '}' && i + 1 < n && s[i + 1] == '}') {
			if (out && buf_putc(out, '}'))
				return mf_fail_nomem(err, MF_SCOPE_BATCH);
			i++;
			continue;
		}
		if (s[i] != '{') {
			if (out && buf_putc(out, s[i]))
				return mf_fail_nomem(err, MF_SCOPE_BATCH);
			continue;
		}
		close = memchr(s + i, '}', n - i);
		if (!close)
			return mf_fail(
			        err, MF_SCOPE_BATCH, MF_E_DATA,
			        "line %u: a '{' is not closed (write {{ for a literal brace)",
			        line);
		len = (size_t)(close - (s + i + 1));
		for (k = 0; k < sizeof(known_vars) / sizeof(known_vars[0]); k++)
			if (strlen(known_vars[k]) == len && !strncmp(known_vars[k], s + i + 1, len))
				break;
		if (k == sizeof(known_vars) / sizeof(known_vars[0]))
			return mf_fail(
			        err, MF_SCOPE_BATCH, MF_E_DATA,
			        "line %u: unknown placeholder {%.*s} (known: {email} {username} "
			        "{local} {domain} {batch} {source} {target} {date})",
			        line, (int)(len > 40 ? 40 : len), s + i + 1);
		if (out && vals && buf_puts(out, vals->v[k] ? vals->v[k] : ""))
			return mf_fail_nomem(err, MF_SCOPE_BATCH);
		i += len + 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- parsing */

static int header_name_ok(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127 || s[i] == ':')
			return 0;
	return 1;
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 128)
			return 0;
	return 1;
}

static struct tmpl_header *find_header(const struct tmpl *t, const char *name)
{
	for (size_t i = 0; i < t->nheaders; i++)
		if (!strcasecmp(t->headers[i].name, name))
			return &t->headers[i];
	return NULL;
}

static int add_header(struct tmpl *t, size_t *cap, const char *line, size_t len, unsigned lineno,
                      struct mf_err *err)
{
	const char *colon = memchr(line, ':', len);
	struct tmpl_header *h;
	const char *v;

	if (!colon || !header_name_ok(line, (size_t)(colon - line)))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
		               "line %u: not a header line (\"Name: value\"); an empty line must "
		               "separate the headers from the body",
		               lineno);
	if (mf_grow(&t->headers, cap, t->nheaders + 1, sizeof(*t->headers)))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	h = &t->headers[t->nheaders];
	memset(h, 0, sizeof(*h));
	v = colon + 1;
	while (v < line + len && (*v == ' ' || *v == '\t'))
		v++;
	h->line = lineno;
	if (!(h->name = mf_strndup(line, (size_t)(colon - line))) ||
	    !(h->value = mf_strndup(v, (size_t)(line + len - v)))) {
		free(h->name);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	t->nheaders++;
	for (size_t i = 0; i < sizeof(generated) / sizeof(generated[0]); i++)
		if (!strcasecmp(h->name, generated[i]))
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
			               "line %u: %s is written by mailferry; remove it from the "
			               "template",
			               lineno, generated[i]);
	if (strcasecmp(h->name, "Subject") && !is_ascii(h->value))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
		               "line %u: the %s header holds characters outside ASCII (only "
		               "Subject may)",
		               lineno, h->name);
	return 0;
}

static int fold_header(struct tmpl *t, const char *line, size_t len, unsigned lineno,
                       struct mf_err *err)
{
	struct tmpl_header *h;
	char *joined;

	if (!t->nheaders)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
		               "line %u: a continuation line before the first header", lineno);
	h = &t->headers[t->nheaders - 1];
	if (!(joined = mf_sprintf("%s\n%.*s", h->value, (int)len, line)))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	free(h->value);
	h->value = joined;
	if (strcasecmp(h->name, "Subject") && !is_ascii(joined))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
		               "line %u: the %s header holds characters outside ASCII (only "
		               "Subject may)",
		               lineno, h->name);
	return 0;
}

static int add_body_line(struct tmpl *t, size_t *cap, const char *line, size_t len, unsigned lineno,
                         struct mf_err *err)
{
	if (mf_grow(&t->body, cap, t->nbody + 1, sizeof(*t->body)) ||
	    !(t->body[t->nbody].text = mf_strndup(line, len)))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	t->body[t->nbody++].line = lineno;
	return 0;
}

static int validate(const struct tmpl *t, struct mf_err *err)
{
	static const char *const required[] = {"From", "Subject"};

	for (size_t i = 0; i < 2; i++)
		if (!find_header(t, required[i]))
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
			               "the template has no %s header (From and Subject are "
			               "required)",
			               required[i]);
	for (size_t i = 0; i < t->nheaders; i++)
		if (expand(t->headers[i].value, strlen(t->headers[i].value), NULL,
		           t->headers[i].line, NULL, err))
			return -1;
	for (size_t i = 0; i < t->nbody; i++)
		if (expand(t->body[i].text, strlen(t->body[i].text), NULL, t->body[i].line, NULL,
		           err))
			return -1;
	return 0;
}

int tmpl_parse(const char *text, size_t len, struct tmpl **out, struct mf_err *err)
{
	struct tmpl *t = mf_calloc(1, sizeof(*t));
	size_t hcap = 0, bcap = 0, pos = 0;
	unsigned lineno = 0;
	int in_body = 0, seen_header = 0;

	*out = NULL;
	if (!t)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		pos = 3; /* a UTF-8 byte order mark */
	if (memchr(text, 0, len)) {
		tmpl_free(t);
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA, "the template holds a NUL byte");
	}
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		int rc = 0;

		pos += n + (nl != NULL);
		lineno++;
		if (n && line[n - 1] == '\r')
			n--;
		if (n > TMPL_MAX_LINE) {
			tmpl_free(t);
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
			               "line %u: longer than %u bytes (RFC 5322 limit)", lineno,
			               TMPL_MAX_LINE);
		}
		if (in_body)
			rc = add_body_line(t, &bcap, line, n, lineno, err);
		else if (!seen_header && n && line[0] == '#')
			continue;
		else if (!n && seen_header)
			in_body = 1;
		else if (!n)
			continue; /* blank lines before the headers */
		else if (line[0] == ' ' || line[0] == '\t')
			rc = fold_header(t, line, n, lineno, err);
		else
			rc = add_header(t, &hcap, line, n, lineno, err), seen_header = 1;
		if (rc) {
			tmpl_free(t);
			return -1;
		}
	}
	if (!seen_header) {
		tmpl_free(t);
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
		               "the template is empty (it needs From and Subject headers, an "
		               "empty line and a body)");
	}
	if (validate(t, err)) {
		tmpl_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

int tmpl_load(const char *path, struct tmpl **out, struct mf_err *err)
{
	struct mf_buf b;
	int rc;

	*out = NULL;
	buf_init(&b, TMPL_MAX_BYTES + 1);
	if (fs_read_file(path, &b, TMPL_MAX_BYTES, err)) {
		buf_free(&b);
		return -1;
	}
	rc = tmpl_parse(b.data ? b.data : "", b.len, out, err);
	if (rc)
		mf_err_prefix(err, "%s: ", path);
	buf_free(&b);
	return rc;
}

const char *tmpl_subject(const struct tmpl *t)
{
	const struct tmpl_header *h = find_header(t, "Subject");

	return h ? h->value : "";
}

/* ---------------------------------------------------------------- rendering */

void tmpl_rfc5322_date(char *out, size_t n, time_t t)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
	         months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Length of the longest prefix of s[0..n) of at most max bytes that does not
 * cut a UTF-8 sequence. */
static size_t utf8_cut(const unsigned char *s, size_t n, size_t max)
{
	size_t k;

	if (n <= max)
		return n;
	k = max;
	while (k > 0 && (s[k] & 0xC0) == 0x80)
		k--;
	return k ? k : max;
}

/* "Subject: " + value, as RFC 2047 B encoded-words of at most 75 characters,
 * folded. */
static int put_encoded(struct mf_buf *out, const char *value, struct mf_err *err)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t n = strlen(value);
	int first = 1;

	while (n) {
		unsigned char enc[80];
		size_t k = utf8_cut(s, n, 45);

		EVP_EncodeBlock(enc, s, (int)k);
		if (buf_printf(out, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", (const char *)enc))
			return mf_fail_nomem(err, MF_SCOPE_BATCH);
		first = 0;
		s += k;
		n -= k;
	}
	return 0;
}

static int put_header(struct mf_buf *out, const char *name, const char *value, unsigned line,
                      struct mf_err *err)
{
	if (buf_printf(out, "%s: ", name))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	if (!is_ascii(value)) {
		if (strcasecmp(name, "Subject"))
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
			               "line %u: the %s header would hold characters outside ASCII "
			               "for this mailbox",
			               line, name);
		if (strchr(value, '\n'))
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
			               "line %u: a folded Subject with characters outside ASCII; "
			               "write it on one line",
			               line);
		if (put_encoded(out, value, err))
			return -1;
	} else {
		for (const char *p = value; *p; p++)
			if (*p == '\n' ? buf_puts(out, "\r\n") : buf_putc(out, *p))
				return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	if (buf_puts(out, "\r\n"))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	return 0;
}

static void fill_vals(const struct tmpl_vars *v, time_t now, char *local, size_t nlocal, char *date,
                      size_t ndate, struct expand_vals *vals)
{
	const char *email = v->email ? v->email : "", *at = strrchr(email, '@');
	struct tm tm;

	snprintf(local, nlocal, "%.*s", at ? (int)(at - email) : (int)strlen(email), email);
	gmtime_r(&now, &tm);
	snprintf(date, ndate, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	vals->v[0] = email;
	vals->v[1] = v->username;
	vals->v[2] = local;
	vals->v[3] = at ? at + 1 : "";
	vals->v[4] = v->batch;
	vals->v[5] = v->source;
	vals->v[6] = v->target;
	vals->v[7] = date;
}

static int body_is_ascii(const struct tmpl *t)
{
	for (size_t i = 0; i < t->nbody; i++)
		if (!is_ascii(t->body[i].text))
			return 0;
	return 1;
}

static int put_generated(struct mf_buf *out, const struct expand_vals *vals, time_t now,
                         struct mf_err *err)
{
	unsigned char rnd[12];
	char date[40], hex[sizeof(rnd) * 2 + 1];

	tmpl_rfc5322_date(date, sizeof(date), now);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_INTERNAL,
		               "no random bytes for Message-ID");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	if (buf_printf(out, "Date: %s\r\nMessage-ID: <%lld.%s@%s>\r\n", date, (long long)now, hex,
	               vals->v[3][0] ? vals->v[3] : "mailferry.invalid"))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	return 0;
}

int tmpl_render(const struct tmpl *t, const struct tmpl_vars *v, time_t now, struct mf_buf *out,
                struct mf_err *err)
{
	struct expand_vals vals;
	struct mf_buf tmp;
	char local[320], date[16];
	int rc = -1;

	fill_vals(v, now, local, sizeof(local), date, sizeof(date), &vals);
	buf_init(&tmp, 0);
	if (put_generated(out, &vals, now, err))
		goto out;
	for (size_t i = 0; i < t->nheaders; i++) {
		buf_reset(&tmp);
		if (expand(t->headers[i].value, strlen(t->headers[i].value), &vals,
		           t->headers[i].line, &tmp, err) ||
		    put_header(out, t->headers[i].name, tmp.data ? tmp.data : "",
		               t->headers[i].line, err))
			goto out;
	}
	if (!find_header(t, "To") && vals.v[0][0] && buf_printf(out, "To: <%s>\r\n", vals.v[0]))
		goto nomem;
	if (!find_header(t, "Content-Type") &&
	    buf_printf(out,
	               "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=%s\r\n"
	               "Content-Transfer-Encoding: %s\r\n",
	               body_is_ascii(t) ? "us-ascii" : "utf-8", body_is_ascii(t) ? "7bit" : "8bit"))
		goto nomem;
	if (buf_puts(out, "\r\n"))
		goto nomem;
	for (size_t i = 0; i < t->nbody; i++) {
		buf_reset(&tmp);
		if (expand(t->body[i].text, strlen(t->body[i].text), &vals, t->body[i].line, &tmp,
		           err))
			goto out;
		if (tmp.len > TMPL_MAX_LINE) {
			mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
			        "line %u: longer than %u bytes once filled in for %s",
			        t->body[i].line, TMPL_MAX_LINE, vals.v[0]);
			goto out;
		}
		if (buf_append(out, tmp.data ? tmp.data : "", tmp.len) || buf_puts(out, "\r\n"))
			goto nomem;
	}
	rc = 0;
	goto out;
nomem:
	mf_fail_nomem(err, MF_SCOPE_BATCH);
out:
	buf_free(&tmp);
	return rc;
}
