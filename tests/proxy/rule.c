/* mailferry tests - mfproxy: the rule language
 *
 * A rule is one command-line argument: a kind followed by key=value words.
 *
 *     close dir=c2s after=1000 conn=2
 *     inject dir=s2c match="^[^ ]+ OK " when="^[^ ]+ STARTTLS" data="* OK injected\r\n"
 *
 * Values are bare words or "double-quoted" strings.  In both, the escapes
 * \r \n \t \" \\ and \xHH are decoded; every other backslash sequence is kept
 * as it is, so regular-expression escapes such as \. \[ \( and the
 * back-references \1..\9 of a replacement arrive unchanged.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "mfproxy.h"

struct kind_info {
	const char *name;
	enum rule_kind kind;
	const char *keys; /* keys allowed, space separated */
};

static const struct kind_info kinds[] = {
        {"close", RULE_CLOSE, "dir conn after match when"},
        {"reset", RULE_RESET, "dir conn after match when"},
        {"blackhole", RULE_BLACKHOLE, "dir conn after match when"},
        {"delay", RULE_DELAY, "dir conn ms jitter"},
        {"rate", RULE_RATE, "dir conn bps"},
        {"slice", RULE_SLICE, "dir conn size gap"},
        {"inject", RULE_INJECT, "dir conn match when data count"},
        {"rewrite", RULE_REWRITE, "dir conn match when replace count"},
        {"drop", RULE_DROP, "dir conn match when count"},
};

/* The raw words of a rule before validation. */
struct rule_words {
	char *key[16];
	char *val[16]; /* NULL for a bare flag */
	size_t vlen[16];
	int n;
};

const char *rule_kind_name(enum rule_kind k)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == k)
			return kinds[i].name;
	return "?";
}

int rule_is_line_rule(const struct rule *r)
{
	switch (r->kind) {
	case RULE_INJECT:
	case RULE_REWRITE:
	case RULE_DROP:
		return 1;
	case RULE_CLOSE:
	case RULE_RESET:
	case RULE_BLACKHOLE:
		return r->has_match;
	default:
		return 0;
	}
}

int rule_is_positional(const struct rule *r)
{
	return r->kind == RULE_CLOSE || r->kind == RULE_RESET || r->kind == RULE_BLACKHOLE;
}

static int rule_fail(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int rule_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decodes one escape at s (just after the backslash) into out; returns the
 * number of input bytes used after the backslash, 0 to keep "\c" as is. */
static size_t rule_unescape_one(const char *s, char *out)
{
	switch (s[0]) {
	case 'r':
		*out = '\r';
		return 1;
	case 'n':
		*out = '\n';
		return 1;
	case 't':
		*out = '\t';
		return 1;
	case '"':
		*out = '"';
		return 1;
	case '\\':
		*out = '\\';
		return 1;
	case 'x':
		if (hexval((unsigned char)s[1]) >= 0 && hexval((unsigned char)s[2]) >= 0) {
			*out = (char)(hexval((unsigned char)s[1]) * 16 +
			              hexval((unsigned char)s[2]));
			return 3;
		}
		return 0;
	default:
		return 0;
	}
}

/* Reads one value starting at *sp into a fresh buffer; advances *sp. */
static char *rule_read_value(const char **sp, size_t *lenp, char *err, size_t errlen)
{
	const char *s = *sp;
	int quoted = *s == '"';
	size_t cap = strlen(s) + 1, n = 0;
	char *out = mf_malloc(cap);

	if (!out) {
		rule_fail(err, errlen, "out of memory");
		return NULL;
	}
	if (quoted)
		s++;
	for (;;) {
		if (*s == '\0') {
			if (quoted) {
				free(out);
				rule_fail(err, errlen, "unterminated quoted value");
				return NULL;
			}
			break;
		}
		if (quoted && *s == '"') {
			s++;
			break;
		}
		if (!quoted && (*s == ' ' || *s == '\t'))
			break;
		if (*s == '\\' && s[1]) {
			char ch;
			size_t used = rule_unescape_one(s + 1, &ch);

			if (used) {
				out[n++] = ch;
				s += 1 + used;
				continue;
			}
			out[n++] = *s++;
			out[n++] = *s++;
			continue;
		}
		out[n++] = *s++;
	}
	out[n] = '\0';
	*lenp = n;
	*sp = s;
	return out;
}

static void rule_words_free(struct rule_words *w)
{
	for (int i = 0; i < w->n; i++) {
		free(w->key[i]);
		free(w->val[i]);
	}
	w->n = 0;
}

/* Splits "kind k=v k2="v 2" flag" into words; the kind is word 0 (no value). */
static int rule_split(const char *spec, struct rule_words *w, char *err, size_t errlen)
{
	const char *s = spec;

	w->n = 0;
	for (;;) {
		const char *k;
		size_t klen;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return 0;
		if (w->n == 16)
			return rule_fail(err, errlen, "too many words");
		k = s;
		while (*s && *s != '=' && *s != ' ' && *s != '\t')
			s++;
		klen = (size_t)(s - k);
		w->key[w->n] = mf_strndup(k, klen);
		w->val[w->n] = NULL;
		w->vlen[w->n] = 0;
		if (!w->key[w->n])
			return rule_fail(err, errlen, "out of memory");
		w->n++;
		if (*s == '=') {
			s++;
			w->val[w->n - 1] = rule_read_value(&s, &w->vlen[w->n - 1], err, errlen);
			if (!w->val[w->n - 1])
				return -1;
			if (*s && *s != ' ' && *s != '\t')
				return rule_fail(err, errlen, "junk after the value of %s",
				                 w->key[w->n - 1]);
		}
	}
}

/* "123", "64k" (x1024), "2m" (x1048576); -1 when invalid. */
static int64_t rule_number(const char *v)
{
	char *end;
	long long n;

	if (!v || !*v || !isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || n < 0)
		return -1;
	if (*end == 'k' || *end == 'K') {
		if (n > INT64_MAX / 1024)
			return -1;
		n *= 1024;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		if (n > INT64_MAX / 1048576)
			return -1;
		n *= 1048576;
		end++;
	}
	return *end ? -1 : n;
}

static int key_allowed(const struct kind_info *ki, const char *key)
{
	size_t kl = strlen(key);
	const char *p = ki->keys;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == ki->keys || p[-1] == ' ') && (p[kl] == ' ' || p[kl] == '\0'))
			return 1;
		p += kl;
	}
	return 0;
}

static int rule_compile(regex_t *re, const char *src, int icase, const char *what, char *err,
                        size_t errlen)
{
	int rc = regcomp(re, src, REG_EXTENDED | (icase ? REG_ICASE : 0));

	if (rc) {
		char msg[128];

		regerror(rc, re, msg, sizeof(msg));
		regfree(re);
		return rule_fail(err, errlen, "bad regular expression in %s=\"%s\": %s", what, src,
		                 msg);
	}
	return 0;
}

static int rule_set_dir(struct rule *r, const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "c2s"))
		r->dirs = PX_DIR_C2S;
	else if (!strcmp(v, "s2c"))
		r->dirs = PX_DIR_S2C;
	else if (!strcmp(v, "both"))
		r->dirs = PX_DIR_C2S | PX_DIR_S2C;
	else
		return rule_fail(err, errlen, "dir must be c2s, s2c or both, not \"%s\"", v);
	return 0;
}

/* Applies one key=value word to the rule (regexes are compiled later). */
static int rule_apply_word(struct rule *r, const char *key, char *val, size_t vlen,
                           const char **match_src, const char **when_src, char *err, size_t errlen)
{
	int64_t n = rule_number(val);

	if (!strcmp(key, "dir"))
		return rule_set_dir(r, val, err, errlen);
	if (!strcmp(key, "conn")) {
		if (!strcmp(val, "all")) {
			r->conn = 0;
			return 0;
		}
		if (n < 1)
			return rule_fail(err, errlen, "conn must be a number >= 1 or \"all\"");
		r->conn = (long)n;
		return 0;
	}
	if (!strcmp(key, "match")) {
		*match_src = val;
		return 0;
	}
	if (!strcmp(key, "when")) {
		*when_src = val;
		return 0;
	}
	if (!strcmp(key, "data")) {
		r->data = mf_malloc(vlen + 1);
		if (!r->data)
			return rule_fail(err, errlen, "out of memory");
		memcpy(r->data, val, vlen + 1);
		r->data_len = vlen;
		return 0;
	}
	if (!strcmp(key, "replace")) {
		r->replace = mf_malloc(vlen + 1);
		if (!r->replace)
			return rule_fail(err, errlen, "out of memory");
		memcpy(r->replace, val, vlen + 1);
		r->replace_len = vlen;
		return 0;
	}
	if (!strcmp(key, "count")) {
		if (!strcmp(val, "all")) {
			r->count = 0;
			return 0;
		}
		if (n < 1)
			return rule_fail(err, errlen, "count must be a number >= 1 or \"all\"");
		r->count = (long)n;
		return 0;
	}
	if (n < 0)
		return rule_fail(err, errlen, "%s needs a number, not \"%s\"", key, val);
	if (!strcmp(key, "after"))
		r->after = n;
	else if (!strcmp(key, "ms"))
		r->ms = (long)n;
	else if (!strcmp(key, "jitter"))
		r->jitter = (long)n;
	else if (!strcmp(key, "gap"))
		r->gap = (long)n;
	else if (!strcmp(key, "size"))
		r->size = (long)n;
	else if (!strcmp(key, "bps"))
		r->bps = n;
	return 0;
}

/* Checks what each kind needs and fills in defaults. */
static int rule_validate(struct rule *r, const char *match_src, const char *seen_dir, char *err,
                         size_t errlen)
{
	const char *kn = rule_kind_name(r->kind);

	switch (r->kind) {
	case RULE_DELAY:
	case RULE_RATE:
	case RULE_SLICE:
		if (!seen_dir)
			r->dirs = PX_DIR_C2S | PX_DIR_S2C;
		break;
	default:
		if (!seen_dir)
			return rule_fail(err, errlen, "%s needs dir=c2s or dir=s2c", kn);
		if (r->dirs == (PX_DIR_C2S | PX_DIR_S2C))
			return rule_fail(err, errlen,
			                 "%s works on one direction: dir=c2s or dir=s2c", kn);
	}
	if (r->kind == RULE_DELAY && r->ms < 0)
		return rule_fail(err, errlen, "delay needs ms=N");
	if (r->kind == RULE_RATE && r->bps <= 0)
		return rule_fail(err, errlen, "rate needs bps=N (bytes per second, N > 0)");
	if (r->kind == RULE_SLICE && r->size <= 0)
		return rule_fail(err, errlen, "slice size must be >= 1");
	if ((r->kind == RULE_INJECT || r->kind == RULE_REWRITE || r->kind == RULE_DROP) &&
	    !match_src)
		return rule_fail(err, errlen, "%s needs match=REGEX", kn);
	if (r->kind == RULE_INJECT && !r->data)
		return rule_fail(err, errlen, "inject needs data=BYTES");
	if (r->kind == RULE_REWRITE && !r->replace)
		return rule_fail(err, errlen, "rewrite needs replace=TEXT (may be \"\")");
	return 0;
}

int rule_parse(const char *spec, int id, struct rule *r, char *err, size_t errlen)
{
	struct rule_words w;
	const struct kind_info *ki = NULL;
	const char *match_src = NULL, *when_src = NULL, *seen_dir = NULL;
	int icase = 0, rc = -1;

	memset(r, 0, sizeof(*r));
	r->id = id;
	r->ms = -1;
	r->size = 1;
	if (rule_split(spec, &w, err, errlen) < 0)
		goto out;
	if (w.n == 0 || w.val[0]) {
		rule_fail(err, errlen, "a rule starts with its kind (close, reset, ...)");
		goto out;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(w.key[0], kinds[i].name))
			ki = &kinds[i];
	if (!ki) {
		rule_fail(err, errlen, "unknown rule kind \"%s\"", w.key[0]);
		goto out;
	}
	r->kind = ki->kind;
	r->count = r->kind == RULE_INJECT ? 1 : 0;
	for (int i = 1; i < w.n; i++) {
		if (!w.val[i]) {
			if (strcmp(w.key[i], "icase")) {
				rule_fail(err, errlen,
				          "unknown flag \"%s\" (did you mean key=value?)",
				          w.key[i]);
				goto out;
			}
			icase = 1;
			continue;
		}
		if (!key_allowed(ki, w.key[i])) {
			rule_fail(err, errlen, "%s does not take %s= (it takes: %s)", ki->name,
			          w.key[i], ki->keys);
			goto out;
		}
		if (!strcmp(w.key[i], "dir"))
			seen_dir = w.val[i];
		if (rule_apply_word(r, w.key[i], w.val[i], w.vlen[i], &match_src, &when_src, err,
		                    errlen) < 0)
			goto out;
	}
	if (rule_validate(r, match_src, seen_dir, err, errlen) < 0)
		goto out;
	if (match_src) {
		if (rule_compile(&r->match, match_src, icase, "match", err, errlen) < 0)
			goto out;
		r->has_match = 1;
	}
	if (when_src) {
		if (rule_compile(&r->when, when_src, icase, "when", err, errlen) < 0)
			goto out;
		r->has_when = 1;
	}
	r->spec = mf_strdup(spec);
	if (!r->spec) {
		rule_fail(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	rule_words_free(&w);
	if (rc < 0)
		rule_free(r);
	return rc;
}

void rule_free(struct rule *r)
{
	if (r->has_match)
		regfree(&r->match);
	if (r->has_when)
		regfree(&r->when);
	free(r->data);
	free(r->replace);
	free(r->spec);
	memset(r, 0, sizeof(*r));
}

static void print_escaped(FILE *f, const char *p, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '\r')
			fputs("\\r", f);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

void rule_print(FILE *f, const struct rule *r)
{
	static const char *const dirnames[] = {"none", "c2s", "s2c", "both"};

	fprintf(f, "rule %d: %s dir=%s conn=", r->id, rule_kind_name(r->kind),
	        dirnames[r->dirs & 3]);
	if (r->conn)
		fprintf(f, "%ld", r->conn);
	else
		fputs("all", f);
	switch (r->kind) {
	case RULE_CLOSE:
	case RULE_RESET:
	case RULE_BLACKHOLE:
		fprintf(f, " after=%" PRId64, r->after);
		break;
	case RULE_DELAY:
		fprintf(f, " ms=%ld jitter=%ld", r->ms, r->jitter);
		break;
	case RULE_RATE:
		fprintf(f, " bps=%" PRId64, r->bps);
		break;
	case RULE_SLICE:
		fprintf(f, " size=%ld gap=%ld", r->size, r->gap);
		break;
	default:
		if (r->count)
			fprintf(f, " count=%ld", r->count);
		else
			fputs(" count=all", f);
	}
	fprintf(f, " match=%s when=%s", r->has_match ? "yes" : "no", r->has_when ? "yes" : "no");
	if (r->data) {
		fputs(" data=", f);
		print_escaped(f, r->data, r->data_len);
	}
	if (r->replace) {
		fputs(" replace=", f);
		print_escaped(f, r->replace, r->replace_len);
	}
	fputc('\n', f);
}

int rule_regex_hit(const regex_t *re, const char *text)
{
	return regexec(re, text, 0, NULL, 0) == 0;
}

/* Appends the replacement for one match, expanding \0..\9. */
static int rule_expand(const struct rule *r, const char *text, const regmatch_t *m,
                       struct mf_buf *out)
{
	for (size_t i = 0; i < r->replace_len; i++) {
		char ch = r->replace[i];

		if (ch == '\\' && i + 1 < r->replace_len && r->replace[i + 1] >= '0' &&
		    r->replace[i + 1] <= '9') {
			int g = r->replace[++i] - '0';

			if (m[g].rm_so >= 0 && buf_append(out, text + m[g].rm_so,
			                                  (size_t)(m[g].rm_eo - m[g].rm_so)) < 0)
				return -1;
			continue;
		}
		if (buf_putc(out, ch) < 0)
			return -1;
	}
	return 0;
}

int rule_rewrite(const struct rule *r, const char *text, size_t len, struct mf_buf *out)
{
	regmatch_t m[10];
	size_t pos = 0;
	int hits = 0;

	while (pos <= len) {
		int flags = pos ? REG_NOTBOL : 0;
		regmatch_t *mm = m;

		if (regexec(&r->match, text + pos, 10, mm, flags) != 0)
			break;
		/* make the offsets absolute for rule_expand */
		for (int g = 0; g < 10; g++)
			if (m[g].rm_so >= 0) {
				m[g].rm_so += (regoff_t)pos;
				m[g].rm_eo += (regoff_t)pos;
			}
		if (buf_append(out, text + pos, (size_t)m[0].rm_so - pos) < 0 ||
		    rule_expand(r, text, m, out) < 0)
			return -1;
		hits++;
		if (m[0].rm_eo == m[0].rm_so) {
			/* empty match: copy one byte so that the loop advances */
			if ((size_t)m[0].rm_eo < len && buf_putc(out, text[m[0].rm_eo]) < 0)
				return -1;
			pos = (size_t)m[0].rm_eo + 1;
		} else {
			pos = (size_t)m[0].rm_eo;
		}
	}
	if (pos < len && buf_append(out, text + pos, len - pos) < 0)
		return -1;
	return hits;
}
