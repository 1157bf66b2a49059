/* mailferry - the folder plan (pure logic) */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/plan.h"
#include "imap/mutf7.h"
#include "imap/ops.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

/* ---------------------------------------------------------------- roles */

static const struct {
	enum folder_role role;
	const char *name;
} well_known[] = {
	{ROLE_SENT, "Sent"},
	{ROLE_SENT, "Sent Items"},
	{ROLE_SENT, "Sent Messages"},
	{ROLE_SENT, "Sent Mail"},
	{ROLE_SENT, "Sent-Mail"},
	{ROLE_SENT, "Gesendet"},
	{ROLE_SENT, "Gesendete Elemente"},
	{ROLE_SENT, "Gesendete Objekte"},
	{ROLE_SENT, "\xc3\x89l\xc3\xa9ments envoy\xc3\xa9s"},
	{ROLE_SENT, "Elementos enviados"},
	{ROLE_SENT, "Enviados"},
	{ROLE_SENT, "Itens Enviados"},
	{ROLE_SENT, "Posta inviata"},
	{ROLE_SENT, "Elementy wys\xc5\x82\x61ne"},
	{ROLE_SENT, "Verzonden items"},
	{ROLE_SENT, "Skickat"},
	{ROLE_TRASH, "Trash"},
	{ROLE_TRASH, "Deleted Items"},
	{ROLE_TRASH, "Deleted Messages"},
	{ROLE_TRASH, "Deleted"},
	{ROLE_TRASH, "Papierkorb"},
	{ROLE_TRASH, "Gel\xc3\xb6schte Elemente"},
	{ROLE_TRASH, "Gel\xc3\xb6schte Objekte"},
	{ROLE_TRASH, "Corbeille"},
	{ROLE_TRASH, "\xc3\x89l\xc3\xa9ments supprim\xc3\xa9s"},
	{ROLE_TRASH, "Elementos eliminados"},
	{ROLE_TRASH, "Papelera"},
	{ROLE_TRASH, "Lixeira"},
	{ROLE_TRASH, "Posta eliminata"},
	{ROLE_TRASH, "Kosz"},
	{ROLE_TRASH, "Prullenbak"},
	{ROLE_JUNK, "Junk"},
	{ROLE_JUNK, "Spam"},
	{ROLE_JUNK, "Junk E-mail"},
	{ROLE_JUNK, "Junk Email"},
	{ROLE_JUNK, "Junk Mail"},
	{ROLE_JUNK, "Bulk Mail"},
	{ROLE_JUNK, "Junk-E-Mail"},
	{ROLE_JUNK, "Spamverdacht"},
	{ROLE_JUNK, "Courrier ind\xc3\xa9sirable"},
	{ROLE_JUNK, "Correo no deseado"},
	{ROLE_JUNK, "Posta indesiderata"},
	{ROLE_JUNK, "Ongewenste e-mail"},
	{ROLE_DRAFTS, "Drafts"},
	{ROLE_DRAFTS, "Draft"},
	{ROLE_DRAFTS, "Entw\xc3\xbcrfe"},
	{ROLE_DRAFTS, "Brouillons"},
	{ROLE_DRAFTS, "Borradores"},
	{ROLE_DRAFTS, "Rascunhos"},
	{ROLE_DRAFTS, "Bozze"},
	{ROLE_DRAFTS, "Kopie robocze"},
	{ROLE_DRAFTS, "Concepten"},
	{ROLE_ARCHIVE, "Archive"},
	{ROLE_ARCHIVE, "Archives"},
	{ROLE_ARCHIVE, "Archiv"},
	{ROLE_ARCHIVE, "Archivio"},
	{ROLE_ARCHIVE, "Archivo"},
	{ROLE_ARCHIVE, "Archief"},
};

/* Exchange Online's names for its special folders, and -ExcludeFolders'
 * language-independent tokens for them. */
static const struct {
	enum folder_role role;
	const char *exchange;
	const char *token;
	unsigned attr;
} role_info[] = {
	{ROLE_NONE, NULL, NULL, 0},
	{ROLE_INBOX, "INBOX", "#Inbox#", 0},
	{ROLE_SENT, "Sent Items", "#SentItems#", IMAP_ATTR_SENT},
	{ROLE_TRASH, "Deleted Items", "#DeletedItems#", IMAP_ATTR_TRASH},
	{ROLE_JUNK, "Junk Email", "#JunkEmail#", IMAP_ATTR_JUNK},
	{ROLE_DRAFTS, "Drafts", "#Drafts#", IMAP_ATTR_DRAFTS},
	{ROLE_ARCHIVE, "Archive", "#Archive#", IMAP_ATTR_ARCHIVE},
};

#define NROLES (sizeof(role_info) / sizeof(role_info[0]))

const char *folder_role_name(enum folder_role r)
{
	return (unsigned)r < NROLES && role_info[r].exchange ? role_info[r].exchange : "";
}

/* ---------------------------------------------------------------- case folding */

/* Next code point of a UTF-8 string (invalid bytes pass as themselves). */
static uint32_t next_cp(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t c = s[0];
	int n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

	if (n) {
		c &= 0x3f >> n;
		for (int i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80) {
				*p = s + 1;
				return s[0];
			}
			c = c << 6 | (s[i] & 0x3f);
		}
	}
	*p = s + n + 1;
	return c;
}

/* Simple case folding for the scripts folder names are written in: Latin,
 * Latin-1, Latin Extended-A, Greek and Cyrillic capitals. */
static uint32_t fold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if ((c >= 0xc0 && c <= 0xde && c != 0xd7) || (c >= 0x391 && c <= 0x3a9) ||
	    (c >= 0x410 && c <= 0x42f))
		return c + 32;
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	if (c >= 0x100 && c <= 0x17f && !(c & 1) && c != 0x130 && c != 0x138)
		return c + 1;
	return c;
}

static int fold_eq(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;

	while (*p && *q)
		if (fold(next_cp(&p)) != fold(next_cp(&q)))
			return 0;
	return !*p && !*q;
}

/* ---------------------------------------------------------------- paths */

struct path {
	char **part; /* owned strings */
	size_t n;
};

static void path_free(struct path *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->part[i]);
	free(p->part);
	p->part = NULL;
	p->n = 0;
}

static int path_push(struct path *p, const char *s, size_t len)
{
	char **v = mf_realloc(p->part, (p->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	p->part = v;
	if (!(v[p->n] = mf_strndup(s, len)))
		return -1;
	p->n++;
	return 0;
}

static int path_copy(struct path *dst, const struct path *src, size_t upto)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < upto && i < src->n; i++)
		if (path_push(dst, src->part[i], strlen(src->part[i])))
			return -1;
	return 0;
}

static char *path_join(const struct path *p, size_t upto, char sep)
{
	struct mf_buf b;

	buf_init(&b, 0);
	if (buf_puts(&b, ""))
		return NULL;
	for (size_t i = 0; i < upto && i < p->n; i++)
		if ((i && buf_putc(&b, sep)) || buf_puts(&b, p->part[i])) {
			buf_free(&b);
			return NULL;
		}
	return buf_steal(&b);
}

static int path_eq(const struct path *a, const struct path *b, int ci)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (ci ? !fold_eq(a->part[i], b->part[i]) : strcmp(a->part[i], b->part[i]))
			return 0;
	return 1;
}

/* Splits a wire name on delim and decodes each part: 0, -1 out of memory,
 * -2 not modified UTF-7, -3 an empty level. */
static int decode_path(const char *wire, char delim, struct path *out)
{
	const char *p = wire;
	struct mf_buf dec;
	int rc;

	memset(out, 0, sizeof(*out));
	buf_init(&dec, 4096);
	while (*p) {
		const char *e = delim ? strchr(p, delim) : NULL;
		size_t len = e ? (size_t)(e - p) : strlen(p);

		buf_reset(&dec);
		if (len == 0) {
			buf_free(&dec);
			path_free(out);
			return -3;
		}
		rc = mutf7_decode(p, len, &dec);
		if (rc || !dec.len || !utf8_valid(dec.data, dec.len)) {
			buf_free(&dec);
			path_free(out);
			return rc == -2 ? -1 : -2; /* out of memory is no verdict on the name */
		}
		if (path_push(out, dec.data, dec.len)) {
			buf_free(&dec);
			path_free(out);
			return -1;
		}
		p += len + (e != NULL);
		if (e && !*p) { /* a trailing delimiter */
			buf_free(&dec);
			path_free(out);
			return -3;
		}
	}
	buf_free(&dec);
	return out->n ? 0 : -3;
}

/* ---------------------------------------------------------------- exclusions */

static int token_role(const char *tok, size_t len, enum folder_role *role)
{
	for (size_t r = 1; r < NROLES; r++)
		if (strlen(role_info[r].token) == len && !strncasecmp(tok, role_info[r].token, len)) {
			*role = role_info[r].role;
			return 1;
		}
	return 0;
}

/* "\#Notes\#" -> "#Notes#" (a literal name, not a well-known token) */
static char *unescape(const char *s, size_t len)
{
	char *out = mf_malloc(len + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len && s[i + 1] == '#')
			i++;
		*o++ = s[i];
	}
	*o = 0;
	return out;
}

static int prefix_fold_eq(const char *display, const char *name)
{
	size_t n = strlen(name);
	char *head;
	int eq;

	if (strlen(display) < n)
		return 0;
	if (!(head = mf_strndup(display, n)))
		return 0;
	eq = fold_eq(head, name) && (display[n] == 0 || display[n] == '/');
	free(head);
	return eq;
}

/* Whether one -ExcludeFolders entry matches a folder. role_root is the
 * display path of the folder that holds the role the entry names, if any. */
static int exclude_matches(const char *entry, const char *display, enum folder_role role,
			   const char *role_display)
{
	size_t len = strlen(entry);
	int subtree = len >= 2 && !strcmp(entry + len - 2, "/*");
	enum folder_role want;
	char *name;
	int hit;

	if (subtree)
		len -= 2;
	if (entry[0] == '#' && token_role(entry, len, &want)) {
		if (!subtree)
			return role == want;
		return role_display && prefix_fold_eq(display, role_display);
	}
	if (!(name = unescape(entry, len)))
		return 0;
	hit = subtree ? prefix_fold_eq(display, name) : fold_eq(display, name);
	free(name);
	return hit;
}

int plan_excluded(const char *display, enum folder_role role, char *const *exclude,
		  size_t nexclude)
{
	for (size_t i = 0; i < nexclude; i++)
		if (exclude_matches(exclude[i], display, role, NULL))
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- the plan */

struct item {
	struct plan_folder pf;
	struct path src;    /* decoded source path */
	struct path tgt;    /* decoded target path */
	unsigned attrs;
	int role_winner;
};

static void plan_folder_clear(struct plan_folder *f)
{
	free(f->src_name);
	free(f->display);
	free(f->tgt_name);
	free(f->tgt_display);
	free(f->note);
	memset(f, 0, sizeof(*f));
}

static void item_clear(struct item *it)
{
	plan_folder_clear(&it->pf);
	path_free(&it->src);
	path_free(&it->tgt);
}

void plan_free(struct plan_folder *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		plan_folder_clear(&v[i]);
	free(v);
}

static enum folder_role role_by_attr(unsigned attrs)
{
	for (size_t r = 2; r < NROLES; r++)
		if (attrs & role_info[r].attr)
			return role_info[r].role;
	return ROLE_NONE;
}

static enum folder_role role_by_name(const struct path *p)
{
	const char *last;

	if (p->n == 1 && !strcasecmp(p->part[0], "INBOX"))
		return ROLE_INBOX;
	if (p->n != 1 && !(p->n == 2 && !strcasecmp(p->part[0], "INBOX")))
		return ROLE_NONE;
	last = p->part[p->n - 1];
	for (size_t i = 0; i < sizeof(well_known) / sizeof(well_known[0]); i++)
		if (fold_eq(last, well_known[i].name))
			return well_known[i].role;
	return ROLE_NONE;
}

/* The wire name relative to the root/namespace, or NULL when outside it. */
static const char *relative_name(const struct plan_input *in, const char *wire, char delim,
				 int *is_root)
{
	size_t n;

	*is_root = 0;
	if (in->src_root && *in->src_root) {
		n = strlen(in->src_root);
		if (!strcmp(wire, in->src_root)) {
			*is_root = 1;
			return "INBOX";
		}
		if (!strncmp(wire, in->src_root, n) && delim && wire[n] == delim && wire[n + 1])
			return wire + n + 1;
		return NULL;
	}
	if (in->src_prefix && *in->src_prefix) {
		n = strlen(in->src_prefix);
		if (!strncmp(wire, in->src_prefix, n))
			return wire[n] ? wire + n : NULL;
	}
	return wire;
}

static int set_note(struct item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int set_note(struct item *it, const char *fmt, ...)
{
	va_list ap;
	char *n;

	va_start(ap, fmt);
	n = mf_vsprintf(fmt, ap);
	va_end(ap);
	if (!n)
		return -1;
	free(it->pf.note);
	it->pf.note = n;
	return 0;
}

static int add_source(const struct plan_input *in, const struct imap_folder *f, struct item *it)
{
	char delim = f->delim ? f->delim : in->src_delim;
	int is_root, rc;
	const char *rel;

	memset(it, 0, sizeof(*it));
	if (f->attrs & IMAP_ATTR_NONEXISTENT)
		return 1;
	if (f->attrs & IMAP_ATTR_UNUSABLE) {
		it->pf.failed = 1;
		if (!(it->pf.src_name = mf_strdup(f->name)) ||
		    !(it->pf.display = mf_strdup(f->name)) ||
		    set_note(it, "the server listed a folder name that cannot be used (%s), so "
				 "that folder cannot be migrated",
			     f->name))
			return -1;
		return 0;
	}
	if (!(rel = relative_name(in, f->name, delim, &is_root)))
		return 1;
	if (!(it->pf.src_name = mf_strdup(f->name)))
		return -1;
	it->attrs = f->attrs;
	it->pf.selectable = !(f->attrs & IMAP_ATTR_NOSELECT);
	it->pf.subscribed = !!(f->attrs & IMAP_ATTR_SUBSCRIBED);
	rc = decode_path(rel, delim, &it->src);
	if (rc == -1)
		return -1;
	if (rc < -1) {
		it->pf.failed = 1;
		if (!(it->pf.display = mf_strdup(f->name)) ||
		    (rc == -2 && set_note(it,
					  "the folder name '%s' is not valid modified UTF-7 (RFC "
					  "3501), so it cannot be migrated without guessing",
					  f->name)) ||
		    (rc == -3 && set_note(it,
					  "the folder name '%s' has an empty level (two '%c' in a "
					  "row, or one at either end), which no server can create",
					  f->name, delim ? delim : '/')))
			return -1;
		return 0;
	}
	if (!strcasecmp(it->src.part[0], "INBOX")) {
		free(it->src.part[0]);
		if (!(it->src.part[0] = mf_strdup("INBOX")))
			return -1;
	}
	if (!(it->pf.display = path_join(&it->src, it->src.n, '/')))
		return -1;
	it->pf.role = role_by_attr(f->attrs);
	if (it->pf.role == ROLE_NONE && !is_root)
		it->pf.role = role_by_name(&it->src);
	if (is_root)
		it->pf.role = ROLE_INBOX;
	return 0;
}

/* One winner per role: SPECIAL-USE first, then the shallower, then the name
 * that is already the target's, then the first by name. */
static void pick_role_winners(struct item *v, size_t n, int exchange)
{
	for (size_t r = 1; r < NROLES; r++) {
		struct item *best = NULL;

		for (size_t i = 0; i < n; i++) {
			struct item *it = &v[i];

			if (it->pf.failed || it->pf.role != (enum folder_role)r)
				continue;
			if (!best) {
				best = it;
				continue;
			}
			int a_attr = role_by_attr(it->attrs) != ROLE_NONE;
			int b_attr = role_by_attr(best->attrs) != ROLE_NONE;
			int a_name = exchange && role_info[r].exchange &&
				     fold_eq(it->pf.display, role_info[r].exchange);
			int b_name = exchange && role_info[r].exchange &&
				     fold_eq(best->pf.display, role_info[r].exchange);

			if (a_attr != b_attr ? a_attr
					     : it->src.n != best->src.n ? it->src.n < best->src.n
									: a_name > b_name)
				best = it;
		}
		for (size_t i = 0; i < n; i++)
			if (v[i].pf.role == (enum folder_role)r && &v[i] != best && !v[i].pf.failed)
				v[i].pf.role = ROLE_NONE;
		if (best)
			best->role_winner = 1;
	}
}

/* The target path of a role: the target's own SPECIAL-USE folder, else
 * Exchange's name, else (NULL) keep the source's name. */
static int role_target(const struct plan_input *in, enum folder_role role, struct path *out)
{
	char d = in->tgt_delim ? in->tgt_delim : '/';

	memset(out, 0, sizeof(*out));
	if (role == ROLE_INBOX)
		return path_push(out, "INBOX", 5) ? -1 : 1;
	for (size_t i = 0; i < in->ntgt; i++) {
		const char *rel = in->tgt[i].name;
		size_t pl = in->tgt_prefix ? strlen(in->tgt_prefix) : 0;

		if (role_by_attr(in->tgt[i].attrs) != role)
			continue;
		if (pl && !strncmp(rel, in->tgt_prefix, pl))
			rel += pl;
		if (decode_path(rel, in->tgt[i].delim ? in->tgt[i].delim : d, out) == 0)
			return 1;
	}
	if (in->target_exchange && role_info[role].exchange)
		return path_push(out, role_info[role].exchange, strlen(role_info[role].exchange)) ? -1
															: 1;
	return 0;
}

/* A part may not hold the target's delimiter. */
static int sanitize_part(char **part, char tgt_delim, int *changed)
{
	char *p = *part;

	for (; *p; p++)
		if (*p == tgt_delim) {
			*p = '_';
			*changed = 1;
		}
	return 0;
}

static const struct item *find_by_display(const struct item *v, size_t n, const char *display,
					  size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (!v[i].pf.failed && strlen(v[i].pf.display) == len &&
		    !strncmp(v[i].pf.display, display, len))
			return &v[i];
	return NULL;
}

/* Target path: the nearest planned ancestor's target path plus the rest, or
 * the role's target path for a role folder. */
static int build_target(const struct plan_input *in, struct item *v, size_t idx)
{
	struct item *it = &v[idx];
	char d = in->tgt_delim ? in->tgt_delim : '/';
	int changed = 0, rc;

	if (it->role_winner) {
		rc = role_target(in, it->pf.role, &it->tgt);
		if (rc < 0)
			return -1;
		if (rc > 0)
			goto done;
	}
	for (size_t k = it->src.n; k-- > 1;) {
		char *anc = path_join(&it->src, k, '/');
		const struct item *a;

		if (!anc)
			return -1;
		a = find_by_display(v, idx, anc, strlen(anc));
		free(anc);
		if (a && a->tgt.n) {
			if (path_copy(&it->tgt, &a->tgt, a->tgt.n))
				return -1;
			for (size_t j = k; j < it->src.n; j++) {
				if (path_push(&it->tgt, it->src.part[j], strlen(it->src.part[j])))
					return -1;
				sanitize_part(&it->tgt.part[it->tgt.n - 1], d, &changed);
			}
			goto done;
		}
	}
	if (path_copy(&it->tgt, &it->src, it->src.n))
		return -1;
	for (size_t j = 0; j < it->tgt.n; j++)
		sanitize_part(&it->tgt.part[j], d, &changed);
done:
	if (changed && set_note(it, "renamed: '%s' holds the target's separator '%c'",
				it->pf.display, d))
		return -1;
	if (in->target_exchange && it->tgt.n == 1 && fold_eq(it->tgt.part[0], "Files")) {
		char *n = mf_strdup("Files (migrated)");

		if (!n)
			return -1;
		free(it->tgt.part[0]);
		it->tgt.part[0] = n;
		if (set_note(it, "renamed: 'Files' is a reserved folder name in Exchange Online"))
			return -1;
	}
	return 0;
}

/* Two different folders must not land on the same target folder, except a
 * special folder merging into the target's own (Trash into Deleted Items). */
static int resolve_collisions(const struct plan_input *in, struct item *v, size_t idx)
{
	struct item *it = &v[idx];
	int ci = in->target_exchange;

	for (unsigned suffix = 2; suffix < 1000; suffix++) {
		const struct item *clash = NULL;

		for (size_t i = 0; i < idx && !clash; i++)
			if (!v[i].pf.failed && v[i].tgt.n && path_eq(&v[i].tgt, &it->tgt, ci))
				clash = &v[i];
		if (!clash)
			return 0;
		if (clash->role_winner || it->role_winner) {
			return set_note(it, "merged into '%s'", clash->pf.display);
		}
		{
			char **last = &it->tgt.part[it->tgt.n - 1];
			const char *base = it->src.part[it->src.n - 1];
			char *renamed = mf_sprintf("%s (%u)", base, suffix);

			if (!renamed)
				return -1;
			free(*last);
			*last = renamed;
		}
		if (set_note(it, "renamed: '%s' collides with '%s' on a case-insensitive target",
			     it->pf.display, clash->pf.display))
			return -1;
	}
	return 0;
}

static char *encode_target(const struct plan_input *in, const struct path *p)
{
	char d = in->tgt_delim ? in->tgt_delim : '/';
	struct mf_buf b;
	int inbox = p->n && !strcmp(p->part[0], "INBOX");

	buf_init(&b, 0);
	if (buf_puts(&b, !inbox && in->tgt_prefix ? in->tgt_prefix : ""))
		return NULL;
	for (size_t i = 0; i < p->n; i++) {
		if (i && buf_putc(&b, d)) {
			buf_free(&b);
			return NULL;
		}
		if (inbox && i == 0 ? buf_puts(&b, "INBOX")
				    : mutf7_encode(p->part[i], strlen(p->part[i]), &b)) {
			buf_free(&b);
			return NULL;
		}
	}
	return buf_steal(&b);
}

static int mark_exists(const struct plan_input *in, struct item *it)
{
	for (size_t i = 0; i < in->ntgt; i++) {
		const char *name = in->tgt[i].name;

		if (in->tgt[i].attrs & (IMAP_ATTR_NOSELECT | IMAP_ATTR_NONEXISTENT))
			continue;
		if (in->target_exchange ? !strcasecmp(name, it->pf.tgt_name)
					: !strcmp(name, it->pf.tgt_name)) {
			if (in->target_exchange && strcmp(name, it->pf.tgt_name)) {
				/* use the target's spelling of the existing folder */
				char *n = mf_strdup(name);

				if (!n)
					return -1;
				free(it->pf.tgt_name);
				it->pf.tgt_name = n;
			}
			it->pf.exists_on_target = 1;
			return 0;
		}
	}
	return 0;
}

static int by_display(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->pf.display, ((const struct item *)b)->pf.display);
}

static void apply_exclusions(const struct plan_input *in, struct item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct item *it = &v[i];

		if (it->pf.failed)
			continue;
		for (size_t e = 0; e < in->nexclude && !it->pf.excluded; e++) {
			const char *role_display = NULL;
			enum folder_role want;
			size_t len = strlen(in->exclude[e]);

			if (len >= 2 && !strcmp(in->exclude[e] + len - 2, "/*"))
				len -= 2;
			if (in->exclude[e][0] == '#' && token_role(in->exclude[e], len, &want))
				for (size_t k = 0; k < n; k++)
					if (v[k].role_winner && v[k].pf.role == want)
						role_display = v[k].pf.display;
			if (exclude_matches(in->exclude[e], it->pf.display,
					    it->role_winner ? it->pf.role : ROLE_NONE, role_display))
				it->pf.excluded = 1;
		}
	}
}

int plan_build(const struct plan_input *in, struct plan_folder **out, size_t *nout,
	       struct mf_err *err)
{
	struct item *v = mf_calloc(in->nsrc ? in->nsrc : 1, sizeof(*v));
	struct plan_folder *res = NULL;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	if (!v)
		return mf_fail_nomem(err, MF_SCOPE_MAILBOX);
	for (size_t i = 0; i < in->nsrc && !rc; i++) {
		int r = add_source(in, &in->src[i], &v[n]);

		if (r == 0)
			n++;
		else
			item_clear(&v[n]);
		if (r < 0)
			rc = -1;
	}
	if (!rc) {
		qsort(v, n, sizeof(*v), by_display);
		pick_role_winners(v, n, in->target_exchange);
		apply_exclusions(in, v, n);
	}
	for (size_t i = 0; i < n && !rc; i++) {
		struct item *it = &v[i];

		if (it->pf.failed)
			continue;
		if (build_target(in, v, i) || resolve_collisions(in, v, i) ||
		    !(it->pf.tgt_display = path_join(&it->tgt, it->tgt.n, '/')) ||
		    !(it->pf.tgt_name = encode_target(in, &it->tgt)) || mark_exists(in, it))
			rc = -1;
		if (!rc && it->pf.excluded && !it->pf.note &&
		    set_note(it, "excluded"))
			rc = -1;
	}
	if (!rc && !(res = mf_calloc(n ? n : 1, sizeof(*res))))
		rc = -1;
	for (size_t i = 0; i < n; i++) {
		if (!rc) {
			res[i] = v[i].pf; /* the plan_folder moves to the result */
			memset(&v[i].pf, 0, sizeof(v[i].pf));
		}
		item_clear(&v[i]);
	}
	free(v);
	if (rc)
		return mf_fail_nomem(err, MF_SCOPE_MAILBOX);
	*out = res;
	*nout = n;
	return 0;
}
