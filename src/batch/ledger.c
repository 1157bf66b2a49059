/* mailferry - the batch ledger (SQLite) */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "batch/ledger.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"

struct ledger {
	sqlite3 *db;
	pthread_mutex_t lock;
	int in_txn;
};

static const char schema[] =
        "PRAGMA foreign_keys=ON;"
        "CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS mailboxes(id INTEGER PRIMARY KEY, line INTEGER,"
        " email TEXT NOT NULL UNIQUE COLLATE NOCASE, src_user TEXT NOT NULL, userroot TEXT,"
        " tgt_user TEXT, state INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
        " msgs_total INTEGER DEFAULT 0, msgs_done INTEGER DEFAULT 0,"
        " bytes_total INTEGER DEFAULT 0, bytes_done INTEGER DEFAULT 0, skipped INTEGER DEFAULT 0,"
        " first_synced INTEGER DEFAULT 0, last_synced INTEGER DEFAULT 0,"
        " last_started INTEGER DEFAULT 0);"
        "CREATE TABLE IF NOT EXISTS folders(id INTEGER PRIMARY KEY,"
        " mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
        " src_name TEXT NOT NULL, tgt_name TEXT, display TEXT,"
        " src_uidvalidity INTEGER DEFAULT 0, src_uidnext INTEGER DEFAULT 0,"
        " src_exists INTEGER DEFAULT 0, tgt_uidvalidity INTEGER DEFAULT 0,"
        " tgt_reconcile_from INTEGER DEFAULT 0, excluded INTEGER DEFAULT 0, status TEXT,"
        " msgs_total INTEGER DEFAULT 0, bytes_total INTEGER DEFAULT 0,"
        " subscribe_owed INTEGER DEFAULT 0, src_modseq INTEGER DEFAULT 0,"
        " UNIQUE(mailbox_id, src_name));"
        "CREATE TABLE IF NOT EXISTS messages(folder_id INTEGER NOT NULL"
        " REFERENCES folders(id) ON DELETE CASCADE, src_uid INTEGER NOT NULL, tgt_uid INTEGER,"
        " size INTEGER NOT NULL, internaldate INTEGER NOT NULL, idhash BLOB NOT NULL,"
        " flags TEXT, PRIMARY KEY(folder_id, src_uid)) WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS skipped(folder_id INTEGER NOT NULL"
        " REFERENCES folders(id) ON DELETE CASCADE, src_uid INTEGER NOT NULL, size INTEGER,"
        " reason TEXT, ts INTEGER, PRIMARY KEY(folder_id, src_uid)) WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, kind TEXT, dry_run INTEGER,"
        " started INTEGER, ended INTEGER, result TEXT, msgs INTEGER, bytes INTEGER);"
        "CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, ts INTEGER, mailbox_id INTEGER,"
        " level TEXT, text TEXT);"
        "CREATE TABLE IF NOT EXISTS steps(step INTEGER PRIMARY KEY, status INTEGER, summary TEXT,"
        " updated INTEGER);"
        "CREATE TABLE IF NOT EXISTS checks(step INTEGER, id TEXT, subject TEXT, status INTEGER,"
        " title TEXT, detail TEXT, remedy TEXT, ts INTEGER, PRIMARY KEY(step, id, subject));";

/* The schema's version (PRAGMA user_version).  1: the first; 2: folders gained
 * subscribe_owed; 3: messages gained flags (the source's flags as last carried
 * to the target, NULL when not known) and folders src_modseq. */
#define LEDGER_VERSION 3
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* ---------------------------------------------------------------- plumbing */

static atomic_ulong writes_committed;
static unsigned long abort_after_writes = (unsigned long)-1;

static void note_write(void)
{
	unsigned long n = atomic_fetch_add(&writes_committed, 1) + 1;

	if (n >= abort_after_writes)
		kill(getpid(), SIGKILL); /* the crash tests: die right after the N-th write */
}

static int db_fail(struct ledger *l, int rc, const char *what, struct mf_err *err)
{
	enum mf_errcode code = MF_E_INTERNAL;

	switch (rc & 0xff) {
	case SQLITE_FULL:
		code = MF_E_NOSPC;
		break;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		code = MF_E_IO;
		break;
	case SQLITE_NOMEM:
		code = MF_E_NOMEM;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = MF_E_LOCKED;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = MF_E_DATA;
		break;
	}
	return mf_fail(err, MF_SCOPE_BATCH, code, "ledger: %s: %s", what,
	               code == MF_E_NOSPC
	                       ? "no space left on device"
	                       : (l && l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc)));
}

/* The mutex is recursive: a transaction holds it from ledger_begin() to
 * ledger_commit(), statements of the same thread inside it take it again, and
 * other threads wait.  in_txn is only read or written with the mutex held. */
static void lock(struct ledger *l)
{
	pthread_mutex_lock(&l->lock);
}

static void unlock(struct ledger *l)
{
	pthread_mutex_unlock(&l->lock);
}

static int prepare(struct ledger *l, const char *sql, sqlite3_stmt **st, struct mf_err *err)
{
	int rc = sqlite3_prepare_v2(l->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(l, rc, "prepare", err);
	return 0;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* Copies column i as a malloc'd string (NULL stays NULL). -1 when out of memory. */
static int col_text(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	*out = NULL;
	if (!s)
		return 0;
	*out = mf_strdup((const char *)s);
	return *out ? 0 : -1;
}

static int exec_locked(struct ledger *l, const char *sql, struct mf_err *err)
{
	int rc = sqlite3_exec(l->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_fail(l, rc, sql, err);
	return 0;
}

/* ---------------------------------------------------------------- statements */

/* One value bound to a parameter of a statement. */
struct arg {
	enum { ARG_NULL, ARG_INT, ARG_TEXT } type;
	sqlite3_int64 i;
	const char *s; /* borrowed; NULL binds NULL */
};

static struct arg arg_int(sqlite3_int64 i)
{
	return (struct arg){.type = ARG_INT, .i = i};
}

static struct arg arg_text(const char *s)
{
	return (struct arg){.type = ARG_TEXT, .s = s};
}

static struct arg arg_null(void)
{
	return (struct arg){.type = ARG_NULL};
}

/* The parameters of a statement in order, as an array and its length:
 * ARGS(arg_int(id), arg_text(name)); each is evaluated once (sizeof does not
 * evaluate its operand). */
#define ARGS(...)                                                                                  \
	(const struct arg[]){__VA_ARGS__},                                                         \
	        sizeof((const struct arg[]){__VA_ARGS__}) / sizeof(struct arg)
#define NO_ARGS NULL, 0

static void bind_args(sqlite3_stmt *st, const struct arg *args, size_t nargs)
{
	for (size_t i = 0; i < nargs; i++) {
		int param = (int)i + 1;

		if (args[i].type == ARG_INT)
			sqlite3_bind_int64(st, param, args[i].i);
		else if (args[i].type == ARG_TEXT)
			bind_text(st, param, args[i].s);
		else
			sqlite3_bind_null(st, param);
	}
}

/* Reads the current row of st into ctx: 0, or -1 when out of memory. */
typedef int (*row_reader)(sqlite3_stmt *st, void *ctx);

/* Takes the lock and prepares sql with its arguments bound: the caller then
 * holds both until stmt_end(), which returns ret. */
static int stmt_begin(struct ledger *l, const char *sql, const struct arg *args, size_t nargs,
                      sqlite3_stmt **st, struct mf_err *err)
{
	lock(l);
	if (prepare(l, sql, st, err)) {
		unlock(l);
		return -1;
	}
	bind_args(*st, args, nargs);
	return 0;
}

static int stmt_end(struct ledger *l, sqlite3_stmt *st, int ret)
{
	sqlite3_finalize(st);
	unlock(l);
	return ret;
}

/* Runs a statement to its end, handing every result row to on_row (NULL: the
 * rows are not read).  what names the statement in an error message. */
static int query_rows(struct ledger *l, const char *what, const char *sql, const struct arg *args,
                      size_t nargs, row_reader on_row, void *ctx, struct mf_err *err)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (stmt_begin(l, sql, args, nargs, &st, err))
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (on_row && on_row(st, ctx)) {
			ret = mf_fail_nomem(err, MF_SCOPE_BATCH);
			break;
		}
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_fail(l, rc, what, err);
	return stmt_end(l, st, ret);
}

/* Runs a query for its first row only: 1 when on_row had it, 0 when there was
 * none (an error when the row is required), -1 on error. */
static int query_first(struct ledger *l, const char *what, int required, const char *sql,
                       const struct arg *args, size_t nargs, row_reader on_row, void *ctx,
                       struct mf_err *err)
{
	sqlite3_stmt *st;
	int rc, ret;

	if (stmt_begin(l, sql, args, nargs, &st, err))
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = on_row(st, ctx) ? mf_fail_nomem(err, MF_SCOPE_BATCH) : 1;
	else if (rc == SQLITE_DONE && !required)
		ret = 0;
	else
		ret = db_fail(l, rc, what, err);
	return stmt_end(l, st, ret);
}

/* The one row of a query that always has one (an aggregate, a row just written). */
static int query_row(struct ledger *l, const char *what, const char *sql, const struct arg *args,
                     size_t nargs, row_reader on_row, void *ctx, struct mf_err *err)
{
	return query_first(l, what, 1, sql, args, nargs, on_row, ctx, err) < 0 ? -1 : 0;
}

/* The row of a query that may have none: 1 when found, 0 when not, -1 on error. */
static int query_opt_row(struct ledger *l, const char *what, const char *sql,
                         const struct arg *args, size_t nargs, row_reader on_row, void *ctx,
                         struct mf_err *err)
{
	return query_first(l, what, 0, sql, args, nargs, on_row, ctx, err);
}

/* Runs a write statement, handing its RETURNING row (if any) to on_row.  Outside
 * a transaction the statement commits by itself and counts as a committed
 * write (the crash test hook). */
static int write_rows(struct ledger *l, const char *what, const char *sql, const struct arg *args,
                      size_t nargs, row_reader on_row, void *ctx, struct mf_err *err)
{
	int ret;

	lock(l); /* in_txn is read with the mutex held */
	ret = query_rows(l, what, sql, args, nargs, on_row, ctx, err);
	if (!ret && !l->in_txn)
		note_write();
	unlock(l);
	return ret;
}

static int write_stmt(struct ledger *l, const char *what, const char *sql, const struct arg *args,
                      size_t nargs, struct mf_err *err)
{
	return write_rows(l, what, sql, args, nargs, NULL, NULL, err);
}

/* Row readers for single values. */
static int read_text(sqlite3_stmt *st, void *ctx)
{
	return col_text(st, 0, ctx);
}

static int read_i64(sqlite3_stmt *st, void *ctx)
{
	*(int64_t *)ctx = sqlite3_column_int64(st, 0);
	return 0;
}

static int read_u64_pair(sqlite3_stmt *st, void *ctx)
{
	uint64_t *v = ctx;

	v[0] = (uint64_t)sqlite3_column_int64(st, 0);
	v[1] = (uint64_t)sqlite3_column_int64(st, 1);
	return 0;
}

/* The elements of a list a query reads, one per row. */
struct row_type {
	size_t size;
	row_reader read;           /* fills a zeroed element */
	void (*clear)(void *elem); /* frees what read put in it; NULL: nothing to free */
};

/* Result rows read into a growing array. */
struct row_list {
	const struct row_type *type;
	void *v;
	size_t n, cap;
};

/* A row_reader for a row_list: the element is counted before it is read, so
 * a half-read one is freed with the others. */
static int append_row(sqlite3_stmt *st, void *ctx)
{
	struct row_list *r = ctx;
	void *elem;

	if (mf_grow(&r->v, &r->cap, r->n + 1, r->type->size))
		return -1;
	elem = (char *)r->v + r->n++ * r->type->size;
	memset(elem, 0, r->type->size);
	return r->type->read(st, elem);
}

static void free_rows(struct row_list *r)
{
	for (size_t i = 0; r->type->clear && i < r->n; i++)
		r->type->clear((char *)r->v + i * r->type->size);
	free(r->v);
}

/* Reads every row of a query into a new array of the type's elements:
 * out_ptr is the address of the caller's array pointer (set to NULL on
 * failure), *n its length. */
static int query_list(struct ledger *l, const char *what, const char *sql, const struct arg *args,
                      size_t nargs, const struct row_type *type, void *out_ptr, size_t *n,
                      struct mf_err *err)
{
	struct row_list r = {.type = type};
	void *none = NULL;

	*n = 0;
	if (query_rows(l, what, sql, args, nargs, append_row, &r, err)) {
		free_rows(&r);
		memcpy(out_ptr, &none, sizeof(none));
		return -1;
	}
	memcpy(out_ptr, &r.v, sizeof(r.v)); /* like mf_grow: any object pointer */
	*n = r.n;
	return 0;
}

/* ---------------------------------------------------------------- open/close */

/* SQLITE_OPEN_NOFOLLOW covers the database file only; its WAL, shared-memory
 * index and rollback journal are opened by SQLite without it, so a link
 * planted there would be written through. */
static int refuse_linked_files(const char *path, struct mf_err *err)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	int rc = 0;

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]) && !rc; i++) {
		char *p = mf_sprintf("%s%s", path, suffix[i]);

		rc = p ? fs_refuse_link(p, err) : mf_fail_nomem(err, MF_SCOPE_BATCH);
		free(p);
	}
	return rc;
}

static int read_int_col0(sqlite3_stmt *st, void *ctx)
{
	*(int64_t *)ctx = sqlite3_column_int64(st, 0);
	return 0;
}

static int read_int_col0(sqlite3_stmt *st, void *ctx);

/* ALTER TABLE table ADD COLUMN decl, unless the column is there already (the
 * schema above creates a table missing from an old ledger with every column). */
static int add_column(struct ledger *l, const char *table, const char *column, const char *decl,
                      struct mf_err *err)
{
	int64_t have = 0;
	char *sql;
	int rc;

	if (query_row(l, "read the ledger's columns",
	              "SELECT count(*) FROM pragma_table_info(?) WHERE name=?",
	              ARGS(arg_text(table), arg_text(column)), read_int_col0, &have, err))
		return -1;
	if (have)
		return 0;
	if (!(sql = mf_sprintf("ALTER TABLE %s ADD COLUMN %s %s", table, column, decl)))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	rc = exec_locked(l, sql, err);
	free(sql);
	return rc;
}

/* Brings a ledger written by an older mailferry up to LEDGER_VERSION (the
 * schema above has just created whatever table was missing).  In one
 * IMMEDIATE transaction, so that two processes opening the same old ledger
 * cannot both alter it.  A ledger from a newer mailferry is refused: its
 * meaning may have changed. */
static int upgrade_schema(struct ledger *l, struct mf_err *err)
{
	int64_t version = 0;
	int rc;

	if (exec_locked(l, "BEGIN IMMEDIATE", err))
		return -1;
	rc = query_row(l, "read the ledger's version", "PRAGMA user_version", NO_ARGS,
	               read_int_col0, &version, err);
	if (!rc && version > LEDGER_VERSION)
		rc = mf_fail(err, MF_SCOPE_BATCH, MF_E_DATA,
		             "ledger: written by a newer mailferry (schema %lld, this one knows %d)",
		             (long long)version, LEDGER_VERSION);
	/* version 0 is a ledger created just now, by the schema above */
	if (!rc && version == 1)
		rc = add_column(l, "folders", "subscribe_owed", "INTEGER DEFAULT 0", err);
	if (!rc && version >= 1 && version < 3)
		rc = add_column(l, "messages", "flags", "TEXT", err) ||
		     add_column(l, "folders", "src_modseq", "INTEGER DEFAULT 0", err);
	if (!rc && version < LEDGER_VERSION)
		rc = exec_locked(l, "PRAGMA user_version=" STRINGIFY(LEDGER_VERSION), err);
	if (rc) {
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return exec_locked(l, "COMMIT", err);
}

int ledger_open(const char *path, struct ledger **out, struct mf_err *err)
{
	struct ledger *l = mf_calloc(1, sizeof(*l));
	const char *hook = getenv("MAILFERRY_TEST_ABORT_AFTER_WRITES");
	int rc;

	*out = NULL;
	if (!l)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	if (hook && *hook)
		abort_after_writes = strtoul(hook, NULL, 10);
	{
		pthread_mutexattr_t a;

		pthread_mutexattr_init(&a);
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&l->lock, &a);
		pthread_mutexattr_destroy(&a);
	}
	if (refuse_linked_files(path, err)) {
		ledger_close(l);
		return -1;
	}
	rc = sqlite3_open_v2(path, &l->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW |
	                             SQLITE_OPEN_FULLMUTEX,
	                     NULL);
	if (rc != SQLITE_OK) {
		db_fail(l, rc, path, err);
		ledger_close(l);
		return -1;
	}
	sqlite3_busy_timeout(l->db, 10000);
	if (exec_locked(l, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err) ||
	    exec_locked(l, schema, err) || upgrade_schema(l, err)) {
		ledger_close(l);
		return -1;
	}
	*out = l;
	return 0;
}

void ledger_close(struct ledger *l)
{
	if (!l)
		return;
	if (l->db)
		sqlite3_close(l->db);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

int ledger_begin(struct ledger *l, struct mf_err *err)
{
	pthread_mutex_lock(&l->lock);
	if (exec_locked(l, "BEGIN IMMEDIATE", err)) {
		pthread_mutex_unlock(&l->lock);
		return -1;
	}
	l->in_txn = 1;
	return 0;
}

int ledger_commit(struct ledger *l, struct mf_err *err)
{
	int rc = exec_locked(l, "COMMIT", err);

	if (rc) {
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	}
	l->in_txn = 0;
	pthread_mutex_unlock(&l->lock);
	if (!rc)
		note_write();
	return rc;
}

void ledger_rollback(struct ledger *l)
{
	sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	l->in_txn = 0;
	pthread_mutex_unlock(&l->lock);
}

/* ---------------------------------------------------------------- settings */

int ledger_setting_get(struct ledger *l, const char *key, char **value, struct mf_err *err)
{
	*value = NULL;
	return query_opt_row(l, "read setting", "SELECT value FROM settings WHERE key=?",
	                     ARGS(arg_text(key)), read_text, value, err) < 0
	               ? -1
	               : 0;
}

int ledger_setting_set(struct ledger *l, const char *key, const char *value, struct mf_err *err)
{
	if (!value)
		return ledger_setting_del(l, key, err);
	return write_stmt(l, "write setting",
	                  "INSERT INTO settings(key, value) VALUES(?, ?)"
	                  " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
	                  ARGS(arg_text(key), arg_text(value)), err);
}

int ledger_setting_del(struct ledger *l, const char *key, struct mf_err *err)
{
	return write_stmt(l, "delete setting", "DELETE FROM settings WHERE key=?",
	                  ARGS(arg_text(key)), err);
}

/* ---------------------------------------------------------------- mailboxes */

const char *mbx_state_name(enum mbx_state s)
{
	static const char *const names[] = {"Queued", "Connecting", "Syncing",
	                                    "Synced", "Failed",     "Stopped"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

void ledger_mailbox_clear(struct ledger_mailbox *m)
{
	free(m->email);
	free(m->src_user);
	free(m->userroot);
	free(m->tgt_user);
	free(m->last_error);
	memset(m, 0, sizeof(*m));
}

void ledger_mailboxes_free(struct ledger_mailbox *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ledger_mailbox_clear(&v[i]);
	free(v);
}

int ledger_mailbox_put(struct ledger *l, struct ledger_mailbox *m, struct mf_err *err)
{
	return write_rows(l, "store mailbox",
	                  "INSERT INTO mailboxes(line, email, src_user, userroot, tgt_user)"
	                  " VALUES(?, ?, ?, ?, ?) ON CONFLICT(email) DO UPDATE SET"
	                  " line=excluded.line, src_user=excluded.src_user,"
	                  " userroot=excluded.userroot, tgt_user=excluded.tgt_user"
	                  " RETURNING id",
	                  ARGS(arg_int((int)m->line), arg_text(m->email), arg_text(m->src_user),
	                       arg_text(m->userroot), arg_text(m->tgt_user)),
	                  read_i64, &m->id, err);
}

/* A row_reader for a struct ledger_mailbox (MAILBOX_COLUMNS). */
static int read_mailbox_row(sqlite3_stmt *st, void *elem)
{
	struct ledger_mailbox *m = elem;

	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(st, 0);
	m->line = (unsigned)sqlite3_column_int(st, 1);
	m->state = (enum mbx_state)sqlite3_column_int(st, 6);
	m->msgs_total = (uint64_t)sqlite3_column_int64(st, 8);
	m->msgs_done = (uint64_t)sqlite3_column_int64(st, 9);
	m->bytes_total = (uint64_t)sqlite3_column_int64(st, 10);
	m->bytes_done = (uint64_t)sqlite3_column_int64(st, 11);
	m->skipped = (uint64_t)sqlite3_column_int64(st, 12);
	m->first_synced = sqlite3_column_int64(st, 13);
	m->last_synced = sqlite3_column_int64(st, 14);
	m->last_started = sqlite3_column_int64(st, 15);
	if (col_text(st, 2, &m->email) || col_text(st, 3, &m->src_user) ||
	    col_text(st, 4, &m->userroot) || col_text(st, 5, &m->tgt_user) ||
	    col_text(st, 7, &m->last_error)) {
		ledger_mailbox_clear(m);
		return -1;
	}
	return 0;
}

#define MAILBOX_COLUMNS                                                                            \
	"id, line, email, src_user, userroot, tgt_user, state, last_error, msgs_total, msgs_done," \
	" bytes_total, bytes_done, skipped, first_synced, last_synced, last_started"

static void clear_mailbox(void *elem)
{
	ledger_mailbox_clear(elem);
}

static const struct row_type mailbox_rows = {sizeof(struct ledger_mailbox), read_mailbox_row,
                                             clear_mailbox};

int ledger_mailboxes(struct ledger *l, struct ledger_mailbox **out, size_t *n, struct mf_err *err)
{
	return query_list(l, "list mailboxes",
	                  "SELECT " MAILBOX_COLUMNS " FROM mailboxes ORDER BY line, id", NO_ARGS,
	                  &mailbox_rows, out, n, err);
}

int ledger_mailbox_get(struct ledger *l, int64_t id, struct ledger_mailbox *out, struct mf_err *err)
{
	int found;

	memset(out, 0, sizeof(*out));
	found = query_opt_row(l, "read mailbox",
	                      "SELECT " MAILBOX_COLUMNS " FROM mailboxes WHERE id=?",
	                      ARGS(arg_int(id)), read_mailbox_row, out, err);
	if (found == 0)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_NOTFOUND, "no mailbox %lld",
		               (long long)id);
	return found < 0 ? -1 : 0;
}

int ledger_mailboxes_retain(struct ledger *l, char *const *keep, size_t n, size_t *removed,
                            struct mf_err *err)
{
	struct ledger_mailbox *all;
	size_t cnt, gone = 0;

	*removed = 0;
	if (ledger_mailboxes(l, &all, &cnt, err))
		return -1;
	for (size_t i = 0; i < cnt; i++) {
		int found = 0;

		for (size_t k = 0; k < n && !found; k++)
			found = !strcasecmp(all[i].email, keep[k]);
		if (found)
			continue;
		if (write_stmt(l, "remove mailbox", "DELETE FROM mailboxes WHERE id=?",
		               ARGS(arg_int(all[i].id)), err)) {
			ledger_mailboxes_free(all, cnt);
			return -1;
		}
		gone++;
	}
	ledger_mailboxes_free(all, cnt);
	*removed = gone;
	return 0;
}

int ledger_mailbox_set_state(struct ledger *l, int64_t id, enum mbx_state state, const char *error,
                             struct mf_err *err)
{
	return write_stmt(l, "update mailbox state",
	                  "UPDATE mailboxes SET state=?, last_error=?,"
	                  " last_started=CASE WHEN ?=1 THEN ? ELSE last_started END WHERE id=?",
	                  ARGS(arg_int(state), arg_text(error), arg_int(state == MBX_CONNECTING),
	                       arg_int(time(NULL)), arg_int(id)),
	                  err);
}

int ledger_mailbox_set_totals(struct ledger *l, int64_t id, uint64_t msgs_total, uint64_t msgs_done,
                              uint64_t bytes_total, uint64_t bytes_done, uint64_t skipped,
                              int synced_now, struct mf_err *err)
{
	return write_stmt(
	        l, "update mailbox totals",
	        "UPDATE mailboxes SET msgs_total=?1, msgs_done=?2, bytes_total=?3, bytes_done=?4,"
	        " skipped=?5, last_synced=CASE WHEN ?6 THEN ?7 ELSE last_synced END,"
	        " first_synced=CASE WHEN ?6 AND first_synced=0 THEN ?7 ELSE first_synced END"
	        " WHERE id=?8",
	        ARGS(arg_int((sqlite3_int64)msgs_total), arg_int((sqlite3_int64)msgs_done),
	             arg_int((sqlite3_int64)bytes_total), arg_int((sqlite3_int64)bytes_done),
	             arg_int((sqlite3_int64)skipped), arg_int(synced_now), arg_int(time(NULL)),
	             arg_int(id)),
	        err);
}

/* ---------------------------------------------------------------- folders */

void ledger_folder_clear(struct ledger_folder *f)
{
	free(f->src_name);
	free(f->tgt_name);
	free(f->display);
	free(f->status);
	memset(f, 0, sizeof(*f));
}

void ledger_folders_free(struct ledger_folder *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ledger_folder_clear(&v[i]);
	free(v);
}

#define FOLDER_COLUMNS                                                                             \
	"id, mailbox_id, src_name, tgt_name, display, src_uidvalidity, src_uidnext, src_exists,"   \
	" tgt_uidvalidity, tgt_reconcile_from, excluded, status, msgs_total, bytes_total,"       \
	" subscribe_owed, src_modseq"

/* A row_reader for a struct ledger_folder (FOLDER_COLUMNS). */
static int read_folder_row(sqlite3_stmt *st, void *elem)
{
	struct ledger_folder *f = elem;

	memset(f, 0, sizeof(*f));
	f->id = sqlite3_column_int64(st, 0);
	f->mailbox_id = sqlite3_column_int64(st, 1);
	f->src_uidvalidity = (uint32_t)sqlite3_column_int64(st, 5);
	f->src_uidnext = (uint32_t)sqlite3_column_int64(st, 6);
	f->src_exists = (uint32_t)sqlite3_column_int64(st, 7);
	f->tgt_uidvalidity = (uint32_t)sqlite3_column_int64(st, 8);
	f->tgt_reconcile_from = (uint32_t)sqlite3_column_int64(st, 9);
	f->excluded = sqlite3_column_int(st, 10);
	f->msgs_total = (uint64_t)sqlite3_column_int64(st, 12);
	f->bytes_total = (uint64_t)sqlite3_column_int64(st, 13);
	f->subscribe_owed = sqlite3_column_int(st, 14);
	f->src_modseq = (uint64_t)sqlite3_column_int64(st, 15);
	if (col_text(st, 2, &f->src_name) || col_text(st, 3, &f->tgt_name) ||
	    col_text(st, 4, &f->display) || col_text(st, 11, &f->status)) {
		ledger_folder_clear(f);
		return -1;
	}
	return 0;
}

int ledger_folder_put(struct ledger *l, struct ledger_folder *f, struct mf_err *err)
{
	struct ledger_folder row;
	int ret;

	lock(l); /* the row read back is the one written */
	ret = write_stmt(
	        l, "store folder",
	        "INSERT INTO folders(mailbox_id, src_name, tgt_name, display, excluded, status,"
	        " subscribe_owed) VALUES(?, ?, ?, ?, ?, ?, ?)"
	        " ON CONFLICT(mailbox_id, src_name) DO UPDATE SET"
	        " tgt_name=excluded.tgt_name, display=excluded.display,"
	        " excluded=excluded.excluded, status=excluded.status,"
	        " subscribe_owed=subscribe_owed OR excluded.subscribe_owed",
	        ARGS(arg_int(f->mailbox_id), arg_text(f->src_name), arg_text(f->tgt_name),
	             arg_text(f->display), arg_int(f->excluded), arg_text(f->status),
	             arg_int(!!f->subscribe_owed)),
	        err);
	if (!ret)
		ret = query_row(l, "read folder",
		                "SELECT " FOLDER_COLUMNS
		                " FROM folders WHERE mailbox_id=? AND src_name=?",
		                ARGS(arg_int(f->mailbox_id), arg_text(f->src_name)),
		                read_folder_row, &row, err);
	if (!ret) {
		ledger_folder_clear(f);
		*f = row;
	}
	unlock(l);
	return ret;
}

static void clear_folder(void *elem)
{
	ledger_folder_clear(elem);
}

static const struct row_type folder_rows = {sizeof(struct ledger_folder), read_folder_row,
                                            clear_folder};

int ledger_folders(struct ledger *l, int64_t mailbox_id, struct ledger_folder **out, size_t *n,
                   struct mf_err *err)
{
	return query_list(l, "list folders",
	                  "SELECT " FOLDER_COLUMNS
	                  " FROM folders WHERE mailbox_id=? ORDER BY display",
	                  ARGS(arg_int(mailbox_id)), &folder_rows, out, n, err);
}

int ledger_folder_update(struct ledger *l, const struct ledger_folder *f, struct mf_err *err)
{
	return write_stmt(
	        l, "update folder",
	        "UPDATE folders SET src_uidvalidity=?, src_uidnext=?, src_exists=?,"
	        " tgt_uidvalidity=?, tgt_reconcile_from=?, status=?, msgs_total=?,"
	        " bytes_total=?, tgt_name=?, subscribe_owed=?, src_modseq=? WHERE id=?",
	        ARGS(arg_int(f->src_uidvalidity), arg_int(f->src_uidnext), arg_int(f->src_exists),
	             arg_int(f->tgt_uidvalidity), arg_int(f->tgt_reconcile_from),
	             arg_text(f->status), arg_int((sqlite3_int64)f->msgs_total),
	             arg_int((sqlite3_int64)f->bytes_total), arg_text(f->tgt_name),
	             arg_int(!!f->subscribe_owed), arg_int((sqlite3_int64)f->src_modseq),
	             arg_int(f->id)),
	        err);
}

/* ---------------------------------------------------------------- messages */

static int insert_msgs(struct ledger *l, int64_t folder_id, const struct ledger_msg *m, size_t n,
                       struct mf_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(l,
	            "INSERT OR REPLACE INTO messages(folder_id, src_uid, tgt_uid, size,"
	            " internaldate, idhash, flags) VALUES(?, ?, ?, ?, ?, ?, ?)",
	            &st, err))
		return -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, folder_id);
		sqlite3_bind_int64(st, 2, m[i].src_uid);
		if (m[i].tgt_uid)
			sqlite3_bind_int64(st, 3, m[i].tgt_uid);
		else
			sqlite3_bind_null(st, 3);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)m[i].size);
		sqlite3_bind_int64(st, 5, m[i].internaldate);
		sqlite3_bind_blob(st, 6, m[i].idhash, LEDGER_IDHASH_LEN, SQLITE_STATIC);
		bind_text(st, 7, m[i].flags);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(st);
			return db_fail(l, rc, "record messages", err);
		}
	}
	sqlite3_finalize(st);
	return 0;
}

typedef int (*txn_body)(struct ledger *l, const void *ctx, struct mf_err *err);

/* Runs body inside the caller's transaction when one is open (ours: we hold
 * the mutex), else inside its own. */
static int in_transaction(struct ledger *l, txn_body body, const void *ctx, struct mf_err *err)
{
	int rc;

	lock(l);
	if (l->in_txn) {
		rc = body(l, ctx, err);
	} else if (ledger_begin(l, err)) {
		rc = -1;
	} else if (body(l, ctx, err)) {
		ledger_rollback(l);
		rc = -1;
	} else {
		rc = ledger_commit(l, err);
	}
	unlock(l);
	return rc;
}

/* The arguments of a write to the messages of one folder. */
struct msgs_write {
	int64_t folder_id;
	const struct ledger_msg *m; /* ledger_msgs_add */
	const uint32_t *src_uids;   /* ledger_msgs_set_flags */
	const char *const *flags;
	size_t n;
};

static int add_msgs(struct ledger *l, const void *ctx, struct mf_err *err)
{
	const struct msgs_write *w = ctx;

	return insert_msgs(l, w->folder_id, w->m, w->n, err);
}

int ledger_msgs_add(struct ledger *l, int64_t folder_id, const struct ledger_msg *m, size_t n,
                    struct mf_err *err)
{
	struct msgs_write w = {.folder_id = folder_id, .m = m, .n = n};

	return in_transaction(l, add_msgs, &w, err);
}

/* A row_reader for a struct ledger_msg. */
static int read_msg_row(sqlite3_stmt *st, void *elem)
{
	struct ledger_msg *m = elem;
	const void *h = sqlite3_column_blob(st, 4);

	m->src_uid = (uint32_t)sqlite3_column_int64(st, 0);
	m->tgt_uid = (uint32_t)sqlite3_column_int64(st, 1);
	m->size = (uint64_t)sqlite3_column_int64(st, 2);
	m->internaldate = sqlite3_column_int64(st, 3);
	if (h && sqlite3_column_bytes(st, 4) == LEDGER_IDHASH_LEN)
		memcpy(m->idhash, h, LEDGER_IDHASH_LEN);
	return 0;
}

static const struct row_type msg_rows = {sizeof(struct ledger_msg), read_msg_row, NULL};

int ledger_msgs(struct ledger *l, int64_t folder_id, struct ledger_msg **out, size_t *n,
                struct mf_err *err)
{
	return query_list(l, "read messages",
	                  "SELECT src_uid, tgt_uid, size, internaldate, idhash FROM messages"
	                  " WHERE folder_id=? ORDER BY src_uid",
	                  ARGS(arg_int(folder_id)), &msg_rows, out, n, err);
}

static int find_pair(const uint32_t (*pairs)[2], size_t n, uint32_t old, uint32_t *new_uid)
{
	for (size_t i = 0; i < n; i++)
		if (pairs[i][0] == old) {
			*new_uid = pairs[i][1];
			return 1;
		}
	return 0;
}

/* DELETE every row of the folder, then INSERT w->m (one transaction). */
static int replace_msgs(struct ledger *l, const void *ctx, struct mf_err *err)
{
	const struct msgs_write *w = ctx;

	return write_stmt(l, "remap", "DELETE FROM messages WHERE folder_id=?",
	                  ARGS(arg_int(w->folder_id)), err) ||
	       insert_msgs(l, w->folder_id, w->m, w->n, err);
}

int ledger_msgs_remap(struct ledger *l, int64_t folder_id, int target_side,
                      const uint32_t (*pairs)[2], size_t n, int drop_unlisted, struct mf_err *err)
{
	struct ledger_msg *rows = NULL;
	struct ledger_flags *flags = NULL;
	size_t cnt = 0, nflags = 0, kept = 0;
	int ret = -1;

	lock(l); /* the rows read are the rows replaced */
	if (ledger_msgs(l, folder_id, &rows, &cnt, err) ||
	    ledger_msg_flags(l, folder_id, &flags, &nflags, err))
		goto out;
	for (size_t i = 0; i < cnt; i++) {
		uint32_t *uid = target_side ? &rows[i].tgt_uid : &rows[i].src_uid, nu;

		/* both lists are ordered by source UID and read under the lock */
		if (i < nflags && flags[i].src_uid == rows[i].src_uid)
			rows[i].flags = flags[i].flags;
		if (find_pair(pairs, n, *uid, &nu))
			*uid = nu;
		else if (drop_unlisted)
			continue;
		else if (target_side)
			*uid = 0;
		rows[kept++] = rows[i];
	}
	{
		struct msgs_write w = {.folder_id = folder_id, .m = rows, .n = kept};

		ret = in_transaction(l, replace_msgs, &w, err);
	}
out:
	free(rows);
	ledger_flags_free(flags, nflags);
	unlock(l);
	return ret ? -1 : 0;
}

void ledger_flags_free(struct ledger_flags *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].flags);
	free(v);
}

/* A row_reader for a struct ledger_flags. */
static int read_flags_row(sqlite3_stmt *st, void *elem)
{
	struct ledger_flags *f = elem;

	f->src_uid = (uint32_t)sqlite3_column_int64(st, 0);
	f->tgt_uid = (uint32_t)sqlite3_column_int64(st, 1);
	return col_text(st, 2, &f->flags);
}

static void clear_flags(void *elem)
{
	free(((struct ledger_flags *)elem)->flags);
}

static const struct row_type flags_rows = {sizeof(struct ledger_flags), read_flags_row,
                                           clear_flags};

int ledger_msg_flags(struct ledger *l, int64_t folder_id, struct ledger_flags **out, size_t *n,
                     struct mf_err *err)
{
	return query_list(l, "read message flags",
	                  "SELECT src_uid, tgt_uid, flags FROM messages WHERE folder_id=?"
	                  " ORDER BY src_uid",
	                  ARGS(arg_int(folder_id)), &flags_rows, out, n, err);
}

static int update_flags(struct ledger *l, const void *ctx, struct mf_err *err)
{
	const struct msgs_write *w = ctx;
	sqlite3_stmt *st;
	int rc;

	if (prepare(l, "UPDATE messages SET flags=? WHERE folder_id=? AND src_uid=?", &st, err))
		return -1;
	for (size_t i = 0; i < w->n; i++) {
		bind_text(st, 1, w->flags[i]);
		sqlite3_bind_int64(st, 2, w->folder_id);
		sqlite3_bind_int64(st, 3, w->src_uids[i]);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(st);
			return db_fail(l, rc, "record message flags", err);
		}
	}
	sqlite3_finalize(st);
	return 0;
}

int ledger_msgs_set_flags(struct ledger *l, int64_t folder_id, const uint32_t *src_uids,
                          const char *const *flags, size_t n, struct mf_err *err)
{
	struct msgs_write w = {
	        .folder_id = folder_id, .src_uids = src_uids, .flags = flags, .n = n};

	return n ? in_transaction(l, update_flags, &w, err) : 0;
}

int ledger_msgs_count(struct ledger *l, int64_t folder_id, uint64_t *count, uint64_t *bytes,
                      struct mf_err *err)
{
	uint64_t v[2];

	if (query_row(l, "count messages",
	              "SELECT count(*), coalesce(sum(size), 0) FROM messages WHERE folder_id=?",
	              ARGS(arg_int(folder_id)), read_u64_pair, v, err))
		return -1;
	*count = v[0];
	*bytes = v[1];
	return 0;
}

/* ---------------------------------------------------------------- skipped */

int ledger_skip_add(struct ledger *l, int64_t folder_id, uint32_t src_uid, uint64_t size,
                    const char *reason, struct mf_err *err)
{
	return write_stmt(l, "record skipped message",
	                  "INSERT OR REPLACE INTO skipped(folder_id, src_uid, size, reason, ts)"
	                  " VALUES(?, ?, ?, ?, ?)",
	                  ARGS(arg_int(folder_id), arg_int(src_uid), arg_int((sqlite3_int64)size),
	                       arg_text(reason), arg_int(time(NULL))),
	                  err);
}

int ledger_skips_clear(struct ledger *l, int64_t folder_id, struct mf_err *err)
{
	return write_stmt(l, "forget skipped messages", "DELETE FROM skipped WHERE folder_id=?",
	                  ARGS(arg_int(folder_id)), err);
}

int ledger_skipped_count(struct ledger *l, int64_t mailbox_id, uint64_t *count, struct mf_err *err)
{
	int64_t v;

	*count = 0;
	if (query_row(l, "count skipped",
	              "SELECT count(*) FROM skipped s JOIN folders f ON f.id=s.folder_id"
	              " WHERE f.mailbox_id=?",
	              ARGS(arg_int(mailbox_id)), read_i64, &v, err))
		return -1;
	*count = (uint64_t)v;
	return 0;
}

static int read_uid_row(sqlite3_stmt *st, void *elem)
{
	*(uint32_t *)elem = (uint32_t)sqlite3_column_int64(st, 0);
	return 0;
}

static const struct row_type uid_rows = {sizeof(uint32_t), read_uid_row, NULL};

int ledger_skipped_uids(struct ledger *l, int64_t folder_id, uint32_t **out, size_t *n,
                        struct mf_err *err)
{
	return query_list(l, "read skipped",
	                  "SELECT src_uid FROM skipped WHERE folder_id=? ORDER BY src_uid",
	                  ARGS(arg_int(folder_id)), &uid_rows, out, n, err);
}

static void clear_skip(void *elem)
{
	struct ledger_skip *s = elem;

	free(s->reason);
	free(s->display);
}

void ledger_skips_free(struct ledger_skip *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		clear_skip(&v[i]);
	free(v);
}

/* A row_reader for a struct ledger_skip. */
static int read_skip_row(sqlite3_stmt *st, void *elem)
{
	struct ledger_skip *s = elem;

	s->folder_id = sqlite3_column_int64(st, 0);
	s->src_uid = (uint32_t)sqlite3_column_int64(st, 1);
	s->size = (uint64_t)sqlite3_column_int64(st, 2);
	return col_text(st, 3, &s->reason) || col_text(st, 4, &s->display) ? -1 : 0;
}

static const struct row_type skip_rows = {sizeof(struct ledger_skip), read_skip_row, clear_skip};

int ledger_skips(struct ledger *l, int64_t mailbox_id, struct ledger_skip **out, size_t *n,
                 struct mf_err *err)
{
	return query_list(
	        l, "read skipped",
	        "SELECT s.folder_id, s.src_uid, s.size, s.reason, f.display FROM skipped s"
	        " JOIN folders f ON f.id=s.folder_id WHERE f.mailbox_id=?"
	        " ORDER BY f.display, s.src_uid",
	        ARGS(arg_int(mailbox_id)), &skip_rows, out, n, err);
}

/* ---------------------------------------------------------------- runs, events */

int ledger_run_start(struct ledger *l, const char *kind, int dry_run, int64_t *run_id,
                     struct mf_err *err)
{
	return write_rows(l, "start run",
	                  "INSERT INTO runs(kind, dry_run, started) VALUES(?, ?, ?) RETURNING id",
	                  ARGS(arg_text(kind), arg_int(dry_run), arg_int(time(NULL))), read_i64,
	                  run_id, err);
}

int ledger_run_end(struct ledger *l, int64_t run_id, const char *result, uint64_t msgs,
                   uint64_t bytes, struct mf_err *err)
{
	return write_stmt(l, "end run",
	                  "UPDATE runs SET ended=?, result=?, msgs=?, bytes=? WHERE id=?",
	                  ARGS(arg_int(time(NULL)), arg_text(result), arg_int((sqlite3_int64)msgs),
	                       arg_int((sqlite3_int64)bytes), arg_int(run_id)),
	                  err);
}

int ledger_last_run_end(struct ledger *l, const char *kind, int64_t *when, struct mf_err *err)
{
	*when = 0;
	return query_row(l, "read runs",
	                 "SELECT coalesce(max(ended), 0) FROM runs WHERE kind=? AND dry_run=0"
	                 " AND result IN ('synced', 'partial')",
	                 ARGS(arg_text(kind)), read_i64, when, err);
}

int ledger_event(struct ledger *l, int64_t mailbox_id, const char *level, const char *text,
                 struct mf_err *err)
{
	return write_stmt(l, "record event",
	                  "INSERT INTO events(ts, mailbox_id, level, text) VALUES(?, ?, ?, ?)",
	                  ARGS(arg_int(time(NULL)), mailbox_id ? arg_int(mailbox_id) : arg_null(),
	                       arg_text(level), arg_text(text)),
	                  err);
}

/* ---------------------------------------------------------------- steps */

const char *step_status_name(enum step_status s)
{
	static const char *const names[] = {"not started", "passed", "warnings", "failed", "done"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

int ledger_step_set(struct ledger *l, int step, enum step_status stt, const char *summary,
                    struct mf_err *err)
{
	return write_stmt(l, "store step",
	                  "INSERT OR REPLACE INTO steps(step, status, summary, updated)"
	                  " VALUES(?, ?, ?, ?)",
	                  ARGS(arg_int(step), arg_int(stt), arg_text(summary), arg_int(time(NULL))),
	                  err);
}

/* Where ledger_step_get() puts a step's row. */
struct step_row {
	enum step_status *status;
	char **summary;
	int64_t *updated;
};

static int read_step_row(sqlite3_stmt *st, void *ctx)
{
	const struct step_row *r = ctx;

	*r->status = (enum step_status)sqlite3_column_int(st, 0);
	*r->updated = sqlite3_column_int64(st, 2);
	return col_text(st, 1, r->summary);
}

int ledger_step_get(struct ledger *l, int step, enum step_status *stt, char **summary,
                    int64_t *updated, struct mf_err *err)
{
	struct step_row r = {stt, summary, updated};

	*stt = STEP_NOT_STARTED;
	*summary = NULL;
	*updated = 0;
	return query_opt_row(l, "read step",
	                     "SELECT status, summary, updated FROM steps WHERE step=?",
	                     ARGS(arg_int(step)), read_step_row, &r, err) < 0
	               ? -1
	               : 0;
}

/* ---------------------------------------------------------------- checks */

int ledger_check_put(struct ledger *l, const struct ledger_check *c, struct mf_err *err)
{
	return write_stmt(l, "store check result",
	                  "INSERT OR REPLACE INTO checks(step, id, subject, status, title, detail,"
	                  " remedy, ts) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
	                  ARGS(arg_int(c->step), arg_text(c->id),
	                       arg_text(c->subject ? c->subject : ""), arg_int(c->status),
	                       arg_text(c->title), arg_text(c->detail), arg_text(c->remedy),
	                       arg_int(c->when ? c->when : (sqlite3_int64)time(NULL))),
	                  err);
}

static void clear_check(void *elem)
{
	struct ledger_check *c = elem;

	free(c->id);
	free(c->subject);
	free(c->title);
	free(c->detail);
	free(c->remedy);
}

void ledger_checks_free(struct ledger_check *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		clear_check(&v[i]);
	free(v);
}

/* A row_reader for a struct ledger_check. */
static int read_check_row(sqlite3_stmt *st, void *elem)
{
	struct ledger_check *c = elem;

	c->step = sqlite3_column_int(st, 0);
	c->status = sqlite3_column_int(st, 3);
	c->when = sqlite3_column_int64(st, 7);
	if (col_text(st, 1, &c->id) || col_text(st, 2, &c->subject) || col_text(st, 4, &c->title) ||
	    col_text(st, 5, &c->detail) || col_text(st, 6, &c->remedy))
		return -1;
	return 0;
}

static const struct row_type check_rows = {sizeof(struct ledger_check), read_check_row,
                                           clear_check};

int ledger_checks(struct ledger *l, int step, struct ledger_check **out, size_t *n,
                  struct mf_err *err)
{
	return query_list(l, "read checks",
	                  "SELECT step, id, subject, status, title, detail, remedy, ts FROM checks"
	                  " WHERE ?1=0 OR step=?1 ORDER BY step, id, subject",
	                  ARGS(arg_int(step)), &check_rows, out, n, err);
}

int ledger_checks_clear(struct ledger *l, int step, const char *id, struct mf_err *err)
{
	return write_stmt(l, "clear check results", "DELETE FROM checks WHERE step=? AND id=?",
	                  ARGS(arg_int(step), arg_text(id)), err);
}
