/* mailferry - a migration batch: directory, settings, CSV copy, secrets, logins */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "batch.h"
#include "batch/csvin.h"
#include "batch/ledger.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/secret.h"

struct mf_batch {
	char *dir;   /* owned */
	char *log;   /* owned */
	int lock_fd; /* -1 when not locked */
	struct ledger *ledger;
	struct mf_batch_settings settings;
	struct csvin_result rows;
	int rows_loaded;
};

#define SECRET_MAX 65536

/* ---------------------------------------------------------------- names */

static const char *const auth_names[] = {"csv", "admin", "oauth2"};
static const char *const form_names[] = {"dovecot", "authzid", "exchange", "mirapoint", "userroot"};

const char *mf_auth_mode_name(enum mf_auth_mode m)
{
	return (unsigned)m < 3 ? auth_names[m] : "?";
}

int mf_auth_mode_parse(const char *s, enum mf_auth_mode *out)
{
	for (unsigned i = 0; i < 3; i++)
		if (!strcasecmp(s, auth_names[i])) {
			*out = (enum mf_auth_mode)i;
			return 0;
		}
	if (!strcasecmp(s, "master")) {
		*out = MF_AUTH_ADMIN;
		return 0;
	}
	return -1;
}

const char *mf_admin_form_name(enum mf_admin_form f)
{
	return (unsigned)f < 5 ? form_names[f] : "?";
}

int mf_admin_form_parse(const char *s, enum mf_admin_form *out)
{
	for (unsigned i = 0; i < 5; i++)
		if (!strcasecmp(s, form_names[i])) {
			*out = (enum mf_admin_form)i;
			return 0;
		}
	return -1;
}

int batch_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > 64 || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return 0;
	return 1;
}

char *batch_dir(const char *name)
{
	char *root = fs_state_root(), *dir;

	if (!root)
		return NULL;
	dir = fs_join(root, name);
	free(root);
	return dir;
}

static int by_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **batch_list(size_t *n)
{
	char *root = fs_state_root(), **v = NULL, *ledger_path;
	size_t cap = 0, cnt = 0;
	struct dirent *de;
	DIR *d;

	*n = 0;
	if (!root)
		return NULL;
	d = opendir(root);
	while (d && (de = readdir(d))) {
		if (!batch_name_valid(de->d_name))
			continue;
		ledger_path = mf_sprintf("%s/%s/ledger.db", root, de->d_name);
		if (ledger_path && access(ledger_path, F_OK) == 0 &&
		    mf_grow(&v, &cap, cnt + 1, sizeof(*v)) == 0 &&
		    (v[cnt] = mf_strdup(de->d_name)) != NULL)
			cnt++;
		free(ledger_path);
	}
	if (d)
		closedir(d);
	free(root);
	if (cnt)
		qsort(v, cnt, sizeof(*v), by_strcmp);
	*n = cnt;
	return v;
}

void batch_list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---------------------------------------------------------------- settings */

void batch_settings_init(struct mf_batch_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->source.security = MF_SEC_SSL;
	s->target.security = MF_SEC_SSL;
	s->source.admin_sep = '*';
	s->target.admin_sep = '*';
	s->concurrency = 8;
	s->target_conns = 2;
	s->pipeline_depth = 64;
	s->cmd_timeout_ms = 120000;
}

static void endpoint_clear(struct mf_endpoint *e)
{
	free(e->host);
	free(e->ca_file);
	free(e->proxy);
	free(e->admin_user);
	free(e->admin_domain);
}

void batch_settings_clear(struct mf_batch_settings *s)
{
	free(s->name);
	free(s->csv_origin);
	endpoint_clear(&s->source);
	endpoint_clear(&s->target);
	free(s->m365.tenant);
	free(s->m365.client_id);
	free(s->m365.cert_file);
	free(s->m365.key_file);
	free(s->m365.authority);
	free(s->m365.graph_url);
	for (size_t i = 0; i < s->nexclude; i++)
		free(s->exclude[i]);
	free(s->exclude);
	free(s->notice_template);
	free(s->welcome_template);
	free(s->dns_servers);
	batch_settings_init(s);
}

/* Every persisted setting: its key and where it lives in the struct. */
enum setting_type {
	ST_STR,
	ST_UINT,
	ST_LONG,
	ST_U64,
	ST_DOUBLE,
	ST_BOOL,
	ST_SEC,
	ST_AUTH,
	ST_FORM,
	ST_CHAR,
	ST_KIND
};

struct setting_desc {
	const char *key;
	enum setting_type type;
	size_t offset;
};

#define S(key, type, field)                                                                        \
	{                                                                                          \
		key, type, offsetof(struct mf_batch_settings, field)                               \
	}
#define ENDPOINT(side)                                                                             \
	S(#side ".host", ST_STR, side.host), S(#side ".port", ST_UINT, side.port),                 \
	        S(#side ".security", ST_SEC, side.security),                                       \
	        S(#side ".allow_plaintext", ST_BOOL, side.allow_plaintext),                        \
	        S(#side ".legacy_tls", ST_BOOL, side.legacy_tls),                                  \
	        S(#side ".ca_file", ST_STR, side.ca_file), S(#side ".proxy", ST_STR, side.proxy),  \
	        S(#side ".auth", ST_AUTH, side.auth),                                              \
	        S(#side ".admin_form", ST_FORM, side.admin_form),                                  \
	        S(#side ".admin_user", ST_STR, side.admin_user),                                   \
	        S(#side ".admin_domain", ST_STR, side.admin_domain),                               \
	        S(#side ".admin_sep", ST_CHAR, side.admin_sep)

static const struct setting_desc settings_table[] = {
        S("name", ST_STR, name),
        S("csv_origin", ST_STR, csv_origin),
        ENDPOINT(source),
        ENDPOINT(target),
        S("target.kind", ST_KIND, target_kind),
        S("m365.tenant", ST_STR, m365.tenant),
        S("m365.client_id", ST_STR, m365.client_id),
        S("m365.cert_file", ST_STR, m365.cert_file),
        S("m365.key_file", ST_STR, m365.key_file),
        S("m365.authority", ST_STR, m365.authority),
        S("m365.graph_url", ST_STR, m365.graph_url),
        S("concurrency", ST_UINT, concurrency),
        S("target_conns", ST_UINT, target_conns),
        S("pipeline_depth", ST_UINT, pipeline_depth),
        S("cmd_timeout_ms", ST_LONG, cmd_timeout_ms),
        S("max_message_size", ST_U64, max_message_size),
        S("bandwidth", ST_U64, bandwidth),
        S("msg_rate", ST_DOUBLE, msg_rate),
        S("allow_unknown_columns", ST_BOOL, allow_unknown_columns),
        S("dns_servers", ST_STR, dns_servers),
        S("demo", ST_BOOL, demo),
        S("notice_template", ST_STR, notice_template),
        S("welcome_template", ST_STR, welcome_template),
};

#define NSETTINGS (sizeof(settings_table) / sizeof(settings_table[0]))

static char *setting_to_text(const struct setting_desc *d, const struct mf_batch_settings *s)
{
	const char *base = (const char *)s + d->offset;

	switch (d->type) {
	case ST_STR:
		return *(char *const *)base ? mf_strdup(*(char *const *)base) : NULL;
	case ST_UINT:
		return mf_sprintf("%u", *(const unsigned *)base);
	case ST_LONG:
		return mf_sprintf("%ld", *(const long *)base);
	case ST_U64:
		return mf_sprintf("%llu", (unsigned long long)*(const uint64_t *)base);
	case ST_DOUBLE:
		return mf_sprintf("%.17g", *(const double *)base);
	case ST_BOOL:
		return mf_strdup(*(const int *)base ? "yes" : "no");
	case ST_SEC:
		return mf_strdup(mf_security_name(*(const enum mf_security *)base));
	case ST_AUTH:
		return mf_strdup(mf_auth_mode_name(*(const enum mf_auth_mode *)base));
	case ST_FORM:
		return mf_strdup(mf_admin_form_name(*(const enum mf_admin_form *)base));
	case ST_CHAR:
		return mf_sprintf("%c", *base ? *base : '*');
	case ST_KIND:
		return mf_strdup(*(const enum mf_target_kind *)base == MF_TARGET_M365 ? "m365"
		                                                                      : "imap");
	}
	return NULL;
}

static int setting_from_text(const struct setting_desc *d, struct mf_batch_settings *s,
                             const char *v)
{
	char *base = (char *)s + d->offset;

	switch (d->type) {
	case ST_STR:
		free(*(char **)base);
		return (*(char **)base = mf_strdup(v)) ? 0 : -1;
	case ST_UINT:
		*(unsigned *)base = (unsigned)strtoul(v, NULL, 10);
		return 0;
	case ST_LONG:
		*(long *)base = strtol(v, NULL, 10);
		return 0;
	case ST_U64:
		*(uint64_t *)base = strtoull(v, NULL, 10);
		return 0;
	case ST_DOUBLE:
		*(double *)base = strtod(v, NULL);
		return 0;
	case ST_BOOL:
		*(int *)base = !strcmp(v, "yes");
		return 0;
	/* An unknown word (from a newer version) leaves the default in place. */
	case ST_SEC:
		(void)mf_security_parse(v, (enum mf_security *)base);
		return 0;
	case ST_AUTH:
		(void)mf_auth_mode_parse(v, (enum mf_auth_mode *)base);
		return 0;
	case ST_FORM:
		(void)mf_admin_form_parse(v, (enum mf_admin_form *)base);
		return 0;
	case ST_CHAR:
		*base = v[0] ? v[0] : '*';
		return 0;
	case ST_KIND:
		*(enum mf_target_kind *)base = !strcmp(v, "m365") ? MF_TARGET_M365 : MF_TARGET_IMAP;
		return 0;
	}
	return 0;
}

static int save_settings(struct ledger *l, const struct mf_batch_settings *s, struct mf_err *err)
{
	struct mf_buf ex;

	if (ledger_begin(l, err))
		return -1;
	for (size_t i = 0; i < NSETTINGS; i++) {
		char *v = setting_to_text(&settings_table[i], s);
		int missing = settings_table[i].type == ST_STR &&
		              !*(char *const *)((const char *)s + settings_table[i].offset);

		if (!v && !missing) {
			ledger_rollback(l);
			return mf_fail_nomem(err, MF_SCOPE_BATCH);
		}
		if (ledger_setting_set(l, settings_table[i].key, v, err)) {
			free(v);
			ledger_rollback(l);
			return -1;
		}
		free(v);
	}
	buf_init(&ex, 0);
	for (size_t i = 0; i < s->nexclude; i++)
		if (buf_puts(&ex, s->exclude[i]) || buf_putc(&ex, '\n')) {
			buf_free(&ex);
			ledger_rollback(l);
			return mf_fail_nomem(err, MF_SCOPE_BATCH);
		}
	if (ledger_setting_set(l, "exclude", ex.len ? ex.data : NULL, err)) {
		buf_free(&ex);
		ledger_rollback(l);
		return -1;
	}
	buf_free(&ex);
	return ledger_commit(l, err);
}

static int load_excludes(struct mf_batch_settings *s, const char *v)
{
	size_t cap = 0;

	for (const char *p = v; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len) {
			if (mf_grow(&s->exclude, &cap, s->nexclude + 1, sizeof(*s->exclude)))
				return -1;
			if (!(s->exclude[s->nexclude] = mf_strndup(p, len)))
				return -1;
			s->nexclude++;
		}
		p = eol ? eol + 1 : p + len;
	}
	return 0;
}

static int load_settings(struct ledger *l, struct mf_batch_settings *s, struct mf_err *err)
{
	char *v;

	batch_settings_init(s);
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (ledger_setting_get(l, settings_table[i].key, &v, err))
			return -1;
		if (v && setting_from_text(&settings_table[i], s, v)) {
			free(v);
			return mf_fail_nomem(err, MF_SCOPE_BATCH);
		}
		free(v);
	}
	if (ledger_setting_get(l, "exclude", &v, err))
		return -1;
	if (load_excludes(s, v)) {
		free(v);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	free(v);
	return 0;
}

static int copy_str(char **dst, const char *src)
{
	*dst = NULL;
	return src && !(*dst = mf_strdup(src)) ? -1 : 0;
}

static int copy_endpoint(struct mf_endpoint *d, const struct mf_endpoint *s)
{
	*d = *s;
	return copy_str(&d->host, s->host) | copy_str(&d->ca_file, s->ca_file) |
	       copy_str(&d->proxy, s->proxy) | copy_str(&d->admin_user, s->admin_user) |
	       copy_str(&d->admin_domain, s->admin_domain);
}

int batch_settings_copy(struct mf_batch_settings *d, const struct mf_batch_settings *s)
{
	int rc;

	*d = *s;
	d->exclude = NULL;
	d->nexclude = 0;
	rc = copy_str(&d->name, s->name) | copy_str(&d->csv_origin, s->csv_origin) |
	     copy_endpoint(&d->source, &s->source) | copy_endpoint(&d->target, &s->target) |
	     copy_str(&d->m365.tenant, s->m365.tenant) |
	     copy_str(&d->m365.client_id, s->m365.client_id) |
	     copy_str(&d->m365.cert_file, s->m365.cert_file) |
	     copy_str(&d->m365.key_file, s->m365.key_file) |
	     copy_str(&d->m365.authority, s->m365.authority) |
	     copy_str(&d->m365.graph_url, s->m365.graph_url) |
	     copy_str(&d->notice_template, s->notice_template) |
	     copy_str(&d->dns_servers, s->dns_servers) |
	     copy_str(&d->welcome_template, s->welcome_template);
	if (!rc && s->nexclude) {
		d->exclude = mf_calloc(s->nexclude, sizeof(*d->exclude));
		rc = !d->exclude;
		for (size_t i = 0; !rc && i < s->nexclude; i++, d->nexclude++)
			rc = copy_str(&d->exclude[i], s->exclude[i]);
	}
	if (rc) {
		batch_settings_clear(d);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- files */

static char *batch_file(const struct mf_batch *b, const char *name)
{
	return fs_join(b->dir, name);
}

static int write_private(const char *path, const char *data, size_t len, struct mf_err *err)
{
	return fs_write_atomic(path, data, len, err);
}

static int store_secret_file(const char *path, const struct mf_secret *s, struct mf_err *err)
{
	struct mf_err ignored;

	if (!s) {
		fs_shred(path, &ignored); /* a missing file is fine */
		return 0;
	}
	return write_private(path, secret_str(s), secret_len(s), err);
}

static int load_secret_file(const char *path, struct mf_secret **out, struct mf_err *err)
{
	struct mf_buf data;
	size_t n;

	*out = NULL;
	if (access(path, F_OK) != 0)
		return 0;
	buf_init(&data, SECRET_MAX);
	if (fs_read_file(path, &data, SECRET_MAX, err)) {
		buf_free_secure(&data);
		return -1;
	}
	n = data.len;
	while (n && (data.data[n - 1] == '\n' || data.data[n - 1] == '\r'))
		n--; /* a file written by an editor ends in a newline that is no part of it */
	*out = secret_new(data.data ? data.data : "", n);
	buf_free_secure(&data);
	return *out ? 0 : mf_fail_nomem(err, MF_SCOPE_BATCH);
}

static const char *secret_file_name(const char *which)
{
	if (!strcmp(which, "source-admin"))
		return "source-admin.secret";
	if (!strcmp(which, "target-admin"))
		return "target-admin.secret";
	if (!strcmp(which, "client"))
		return "client.secret";
	return NULL;
}

/* The file of a stored secret ("source-admin", "target-admin", "client"):
 * *path malloc'd. */
static int secret_path(struct mf_batch *b, const char *which, char **path, struct mf_err *err)
{
	const char *name = secret_file_name(which);

	if (!name)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_INTERNAL, "unknown secret %s", which);
	if (!(*path = batch_file(b, name)))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	return 0;
}

int batch_set_secret(struct mf_batch *b, const char *which, const struct mf_secret *s,
                     struct mf_err *err)
{
	char *path;
	int rc;

	if (secret_path(b, which, &path, err))
		return -1;
	rc = store_secret_file(path, s, err);
	free(path);
	return rc;
}

int batch_get_secret(struct mf_batch *b, const char *which, struct mf_secret **out,
                     struct mf_err *err)
{
	char *path;
	int rc;

	*out = NULL;
	if (secret_path(b, which, &path, err))
		return -1;
	rc = load_secret_file(path, out, err);
	free(path);
	return rc;
}

/* ---------------------------------------------------------------- CSV */

/* Validates the CSV at path; bytes (an empty buffer) receives exactly what
 * was validated, which is what the batch stores: the file is read once. */
static int validate_csv(const char *path, const struct mf_batch_settings *s,
                        struct csvin_result *res, struct mf_buf *bytes, struct mf_err *err)
{
	struct csvin_options o = {.allow_unknown_columns = s->allow_unknown_columns,
	                          .passwords_optional = s->source.auth == MF_AUTH_ADMIN,
	                          .validated_bytes = bytes};

	if (csvin_load_file(path, &o, res, err))
		return -1;
	if (res->nerrors) {
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
		               "%s has %zu problem%s; nothing was changed", path, res->nerrors,
		               res->nerrors == 1 ? "" : "s");
	}
	return 0;
}

static int store_mailboxes(struct ledger *l, const struct csvin_result *res, struct mf_err *err)
{
	char **keep = mf_calloc(res->nrows ? res->nrows : 1, sizeof(*keep));
	size_t removed;
	int rc = 0;

	if (!keep)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	for (size_t i = 0; i < res->nrows && !rc; i++) {
		const struct csvin_row *r = &res->rows[i];
		struct ledger_mailbox m = {.line = r->line,
		                           .email = r->email,
		                           .src_user = r->username,
		                           .userroot = r->userroot,
		                           .tgt_user = r->target_username};

		rc = ledger_mailbox_put(l, &m, err);
		keep[i] = r->email;
	}
	if (!rc)
		rc = ledger_mailboxes_retain(l, keep, res->nrows, &removed, err);
	free(keep);
	return rc;
}

/* ---------------------------------------------------------------- create/open */

static int open_dir(struct mf_batch *b, const char *name, struct mf_err *err)
{
	char *root = fs_state_root();
	struct stat st;

	if (!root)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	if (fs_mkdir_private(root, err)) {
		free(root);
		return -1;
	}
	b->dir = fs_join(root, name);
	free(root);
	if (!b->dir || !(b->log = fs_join(b->dir, "mailferry.log")))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	/* a batch directory replaced by a link would have the lock, ledger
	 * and log written wherever it points */
	if (lstat(b->dir, &st) == 0 && !S_ISDIR(st.st_mode))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO,
			       "%s is not a directory (a symbolic link or file is in the way)",
			       b->dir);
	return 0;
}

static int open_ledger(struct mf_batch *b, struct mf_err *err)
{
	char *path = batch_file(b, "ledger.db");
	int rc;

	if (!path)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	rc = ledger_open(path, &b->ledger, err);
	free(path);
	return rc;
}

static int take_lock(struct mf_batch *b, struct mf_err *err)
{
	char *path = batch_file(b, "lock");

	if (!path)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	b->lock_fd = fs_lock(path, err);
	free(path);
	if (b->lock_fd < 0) {
		if (err && err->code == MF_E_LOCKED)
			mf_err_prefix(err, "batch %s is ",
			              b->settings.name ? b->settings.name : "");
		return -1;
	}
	return 0;
}

static struct mf_batch *batch_alloc(void)
{
	struct mf_batch *b = mf_calloc(1, sizeof(*b));

	if (b) {
		b->lock_fd = -1;
		batch_settings_init(&b->settings);
	}
	return b;
}

static int write_secrets(struct mf_batch *b, const struct batch_secrets *sec, struct mf_err *err)
{
	if (!sec)
		return 0;
	if (sec->source_admin && batch_set_secret(b, "source-admin", sec->source_admin, err))
		return -1;
	if (sec->target_admin && batch_set_secret(b, "target-admin", sec->target_admin, err))
		return -1;
	if (sec->client_secret && batch_set_secret(b, "client", sec->client_secret, err))
		return -1;
	return 0;
}

int batch_create(const struct mf_batch_settings *s, const char *csv_path,
                 const struct batch_secrets *secrets, struct csvin_result *problems,
                 struct mf_err *err)
{
	struct csvin_result local = {0}, *res = problems ? problems : &local;
	struct mf_batch *b;
	char *csv_copy = NULL;
	struct mf_buf bytes;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!s->name || !batch_name_valid(s->name))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "invalid batch name '%s': use letters, digits, '.', '_' and '-'",
		               s->name ? s->name : "");
	buf_init(&bytes, CSVIN_MAX_BYTES + 1);
	if (validate_csv(csv_path, s, res, &bytes, err)) {
		buf_free_secure(&bytes);
		if (res == &local)
			csvin_result_free(&local);
		return -1;
	}
	if (!(b = batch_alloc()) || batch_settings_copy(&b->settings, s)) {
		free(b);
		buf_free_secure(&bytes);
		csvin_result_free(&local);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	rc = open_dir(b, s->name, err);
	if (!rc && access(b->dir, F_OK) == 0)
		rc = mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		             "a batch named %s already exists (%s)", s->name, b->dir);
	if (!rc)
		rc = fs_mkdir_private(b->dir, err);
	if (!rc && !(csv_copy = batch_file(b, "mailboxes.csv")))
		rc = mf_fail_nomem(err, MF_SCOPE_BATCH);
	if (!rc)
		rc = write_private(csv_copy, bytes.data ? bytes.data : "", bytes.len, err);
	buf_free_secure(&bytes);
	if (!rc)
		rc = take_lock(b, err);
	if (!rc)
		rc = open_ledger(b, err);
	if (!rc && !b->settings.csv_origin) {
		char *abs = realpath(csv_path, NULL);

		b->settings.csv_origin = abs ? abs : mf_strdup(csv_path);
	}
	if (!rc)
		rc = save_settings(b->ledger, &b->settings, err);
	if (!rc)
		rc = store_mailboxes(b->ledger, res, err);
	if (!rc)
		rc = write_secrets(b, secrets, err);
	if (rc && b->dir && access(b->dir, F_OK) == 0 && (!err || err->code != MF_E_CONFIG))
		fs_remove_tree(b->dir); /* all or nothing */
	free(csv_copy);
	batch_close(b);
	if (res == &local)
		csvin_result_free(&local);
	return rc;
}

int batch_open(const char *name, unsigned flags, struct mf_batch **out, struct mf_err *err)
{
	struct mf_batch *b;
	char *path;

	*out = NULL;
	if (!batch_name_valid(name))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_NOTFOUND, "no batch named '%s'", name);
	if (!(b = batch_alloc()))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	if (open_dir(b, name, err)) {
		batch_close(b);
		return -1;
	}
	if (!(path = batch_file(b, "ledger.db"))) {
		batch_close(b);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	if (access(path, F_OK) != 0) {
		free(path);
		batch_close(b);
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_NOTFOUND,
		               "no batch named '%s' (create it with 'mailferry batch create')",
		               name);
	}
	free(path);
	b->settings.name = mf_strdup(name); /* for the lock's message */
	if ((flags & BATCH_LOCK) && take_lock(b, err)) {
		batch_close(b);
		return -1;
	}
	batch_settings_clear(&b->settings);
	if (open_ledger(b, err) || load_settings(b->ledger, &b->settings, err)) {
		batch_close(b);
		return -1;
	}
	if (!b->settings.name && !(b->settings.name = mf_strdup(name))) {
		batch_close(b);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	*out = b;
	return 0;
}

void batch_close(struct mf_batch *b)
{
	if (!b)
		return;
	ledger_close(b->ledger);
	if (b->lock_fd >= 0)
		close(b->lock_fd);
	if (b->rows_loaded)
		csvin_result_free(&b->rows);
	batch_settings_clear(&b->settings);
	free(b->dir);
	free(b->log);
	free(b);
}

int batch_delete(const char *name, struct mf_err *err)
{
	struct mf_batch *b;
	char *dir;
	int rc;

	if (batch_open(name, BATCH_LOCK, &b, err))
		return -1;
	if (batch_wipe_credentials(b, err)) {
		batch_close(b);
		return -1;
	}
	dir = mf_strdup(b->dir);
	batch_close(b);
	if (!dir)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	rc = fs_remove_tree(dir);
	free(dir);
	return rc ? mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "cannot remove the batch directory: %s",
	                    strerror(errno))
	          : 0;
}

const struct mf_batch_settings *batch_settings(const struct mf_batch *b)
{
	return &b->settings;
}

struct ledger *batch_ledger(struct mf_batch *b)
{
	return b->ledger;
}

const char *batch_path(const struct mf_batch *b)
{
	return b->dir;
}

const char *batch_log_path(const struct mf_batch *b)
{
	return b->log;
}

long batch_lock_holder(const struct mf_batch *b)
{
	char *path = batch_file(b, "lock");
	long pid;

	if (!path)
		return -1;
	pid = fs_lock_holder(path);
	free(path);
	return pid;
}

char *batch_csv_path(const struct mf_batch *b)
{
	return batch_file(b, "mailboxes.csv");
}

int batch_save_settings(struct mf_batch *b, const struct mf_batch_settings *s, struct mf_err *err)
{
	struct mf_batch_settings copy;
	char *name = b->settings.name;

	if (batch_settings_copy(&copy, s))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	free(copy.name);
	copy.name = name;
	b->settings.name = NULL;
	batch_settings_clear(&b->settings);
	b->settings = copy;
	return save_settings(b->ledger, &b->settings, err);
}

int batch_import_csv(struct mf_batch *b, const char *csv_path, struct csvin_result *problems,
                     struct mf_err *err)
{
	struct csvin_result local = {0}, *res = problems ? problems : &local;
	char *copy = batch_file(b, "mailboxes.csv");
	struct mf_buf bytes;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!copy)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	buf_init(&bytes, CSVIN_MAX_BYTES + 1);
	rc = validate_csv(csv_path, &b->settings, res, &bytes, err);
	if (!rc)
		rc = write_private(copy, bytes.data ? bytes.data : "", bytes.len, err);
	buf_free_secure(&bytes);
	if (!rc)
		rc = store_mailboxes(b->ledger, res, err);
	if (!rc) {
		char *abs = realpath(csv_path, NULL);

		rc = ledger_setting_set(b->ledger, "csv_origin", abs ? abs : csv_path, err);
		free(b->settings.csv_origin);
		b->settings.csv_origin = abs;
	}
	if (!rc && b->rows_loaded) {
		csvin_result_free(&b->rows);
		b->rows_loaded = 0;
	}
	free(copy);
	if (res == &local)
		csvin_result_free(&local);
	return rc;
}

int batch_rows(struct mf_batch *b, const struct csvin_result **rows, struct mf_err *err)
{
	char *copy;
	int rc;

	if (!b->rows_loaded) {
		if (!(copy = batch_file(b, "mailboxes.csv")))
			return mf_fail_nomem(err, MF_SCOPE_BATCH);
		rc = validate_csv(copy, &b->settings, &b->rows, NULL, err);
		free(copy);
		if (rc) {
			csvin_result_free(&b->rows);
			return -1;
		}
		b->rows_loaded = 1;
	}
	*rows = &b->rows;
	return 0;
}

/* Rewrites the CSV copy with empty Password/TargetPassword fields. */
static int blank_csv_passwords(struct mf_batch *b, struct mf_err *err)
{
	const struct csvin_result *rows;
	struct mf_buf out;
	char *copy;
	int rc = 0;

	if (batch_rows(b, &rows, err))
		return -1;
	buf_init(&out, 0);
	rc = csvin_put_field(&out, "EmailAddress", 0) || csvin_put_field(&out, "UserName", 0) ||
	     csvin_put_field(&out, "Password", 0) || csvin_put_field(&out, "UserRoot", 0) ||
	     csvin_put_field(&out, "TargetUserName", 0) ||
	     csvin_put_field(&out, "TargetPassword", 1);
	for (size_t i = 0; i < rows->nrows && !rc; i++) {
		const struct csvin_row *r = &rows->rows[i];

		rc = csvin_put_field(&out, r->email, 0) || csvin_put_field(&out, r->username, 0) ||
		     csvin_put_field(&out, "", 0) ||
		     csvin_put_field(&out, r->userroot ? r->userroot : "", 0) ||
		     csvin_put_field(&out, r->target_username ? r->target_username : "", 0) ||
		     csvin_put_field(&out, "", 1);
	}
	copy = batch_file(b, "mailboxes.csv");
	if (rc || !copy) {
		free(copy);
		buf_free(&out);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	{
		struct mf_err ignored;

		fs_shred(copy, &ignored); /* overwrite the old bytes before replacing the file */
	}
	rc = write_private(copy, out.data, out.len, err);
	free(copy);
	buf_free(&out);
	csvin_result_free(&b->rows);
	b->rows_loaded = 0;
	return rc;
}

int batch_wipe_credentials(struct mf_batch *b, struct mf_err *err)
{
	static const char *const which[] = {"source-admin", "target-admin", "client"};

	for (size_t i = 0; i < 3; i++)
		if (batch_set_secret(b, which[i], NULL, err))
			return -1;
	return blank_csv_passwords(b, err);
}

/* ---------------------------------------------------------------- logins */

void mf_login_clear(struct mf_login *l)
{
	free(l->user);
	free(l->authzid);
	secret_free(l->password);
	free(l->oauth_user);
	free(l->root);
	memset(l, 0, sizeof(*l));
}

static const struct csvin_row *find_row(const struct csvin_result *rows, const char *email)
{
	for (size_t i = 0; i < rows->nrows; i++)
		if (!strcasecmp(rows->rows[i].email, email))
			return &rows->rows[i];
	return NULL;
}

/* The admin forms Microsoft documents for IMAP sources. */
static char *admin_login_name(const struct mf_endpoint *e, const char *user)
{
	switch (e->admin_form) {
	case MF_ADMIN_DOVECOT:
		return mf_sprintf("%s%c%s", user, e->admin_sep ? e->admin_sep : '*', e->admin_user);
	case MF_ADMIN_EXCHANGE:
		return mf_sprintf("%s/%s/%s", e->admin_domain ? e->admin_domain : "", e->admin_user,
		                  user);
	case MF_ADMIN_MIRAPOINT:
		return mf_sprintf("#%s#%s#", user, e->admin_user);
	case MF_ADMIN_AUTHZID:
	case MF_ADMIN_USERROOT:
		return mf_strdup(e->admin_user);
	}
	return NULL;
}

static int admin_login(struct mf_batch *b, const struct mf_endpoint *e, const char *which,
                       const char *user, const char *root, struct mf_login *out, struct mf_err *err)
{
	if (!e->admin_user)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "admin credentials are selected but no admin user is set");
	if (batch_get_secret(b, which, &out->password, err))
		return -1;
	if (!out->password)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "admin credentials are selected but the admin password is not set");
	if (!(out->user = admin_login_name(e, user)))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	if (e->admin_form == MF_ADMIN_AUTHZID && !(out->authzid = mf_strdup(user)))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	if (e->admin_form == MF_ADMIN_USERROOT && root && !(out->root = mf_strdup(root)))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	return 0;
}

static int source_login(struct mf_batch *b, const struct csvin_row *r, struct mf_login *out,
                        struct mf_err *err)
{
	const struct mf_endpoint *e = &b->settings.source;

	if (e->auth == MF_AUTH_ADMIN)
		return admin_login(b, e, "source-admin", r->username, r->userroot, out, err);
	if (!r->password)
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CONFIG,
		               "line %u of the CSV has no password for %s", r->line, r->username);
	if (!(out->user = mf_strdup(r->username)) || !(out->password = secret_dup(r->password)) ||
	    (r->userroot && !(out->root = mf_strdup(r->userroot))))
		return mf_fail_nomem(err, MF_SCOPE_MAILBOX);
	return 0;
}

static int target_login(struct mf_batch *b, const struct csvin_row *r, struct mf_login *out,
                        struct mf_err *err)
{
	const struct mf_endpoint *e = &b->settings.target;
	const char *user = r->target_username ? r->target_username : r->email;

	switch (e->auth) {
	case MF_AUTH_OAUTH2:
		if (!(out->oauth_user = mf_strdup(r->email)))
			return mf_fail_nomem(err, MF_SCOPE_MAILBOX);
		return 0;
	case MF_AUTH_ADMIN:
		return admin_login(b, e, "target-admin", user, NULL, out, err);
	case MF_AUTH_CSV:
		break;
	}
	if (!r->target_password)
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CONFIG,
		               "line %u of the CSV has no TargetPassword for %s, and the target "
		               "uses per-mailbox credentials",
		               r->line, r->email);
	if (!(out->user = mf_strdup(user)) || !(out->password = secret_dup(r->target_password)))
		return mf_fail_nomem(err, MF_SCOPE_MAILBOX);
	return 0;
}

int batch_logins(struct mf_batch *b, const struct ledger_mailbox *m, struct mf_login *src,
                 struct mf_login *tgt, struct mf_err *err)
{
	const struct csvin_result *rows;
	const struct csvin_row *r;

	memset(src, 0, sizeof(*src));
	memset(tgt, 0, sizeof(*tgt));
	if (batch_rows(b, &rows, err))
		return -1;
	if (!(r = find_row(rows, m->email)))
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CONFIG,
		               "%s is no longer in the batch's CSV", m->email);
	if (source_login(b, r, src, err) || target_login(b, r, tgt, err)) {
		mf_login_clear(src);
		mf_login_clear(tgt);
		return -1;
	}
	return 0;
}
