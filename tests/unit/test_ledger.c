/* Unit tests for src/batch/ledger.c: what a batch remembers survives a round
 * trip through SQLite, absent rows read as absent, failures say which
 * statement failed, and the crash hook counts committed writes. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "unit.h"
#include "batch/ledger.h"
#include "util/err.h"
#include "util/mem.h"

static char dir[64];
static char path[96];

static struct ledger *open_fresh(void)
{
	struct ledger *l;
	struct mf_err err;

	snprintf(dir, sizeof(dir), "/tmp/mf-ledger-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ledger.db", dir);
	ck_assert_msg(ledger_open(path, &l, &err) == 0, "%s", err.msg);
	return l;
}

static void close_and_remove(struct ledger *l)
{
	char cmd[128];

	ledger_close(l);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int64_t add_mailbox(struct ledger *l, unsigned line, const char *email)
{
	char addr[64];
	struct ledger_mailbox m = {.line = line, .email = addr, .src_user = addr};
	struct mf_err err;

	snprintf(addr, sizeof(addr), "%s", email);
	ck_assert_msg(ledger_mailbox_put(l, &m, &err) == 0, "%s", err.msg);
	ck_assert_int_gt(m.id, 0);
	return m.id;
}

static int64_t add_folder(struct ledger *l, int64_t mailbox_id, const char *name)
{
	struct ledger_folder f = {.mailbox_id = mailbox_id};
	struct mf_err err;
	int64_t id;

	f.src_name = mf_strdup(name);
	f.display = mf_strdup(name);
	ck_assert_msg(ledger_folder_put(l, &f, &err) == 0, "%s", err.msg);
	id = f.id;
	ledger_folder_clear(&f);
	ck_assert_int_gt(id, 0);
	return id;
}

START_TEST(settings_round_trip_and_absent_keys_read_as_null)
{
	struct ledger *l = open_fresh();
	struct mf_err err;
	char sentinel, *v = &sentinel;

	ck_assert_int_eq(ledger_setting_get(l, "source.host", &v, &err), 0);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(ledger_setting_set(l, "source.host", "imap.example.org", &err), 0);
	ck_assert_int_eq(ledger_setting_set(l, "source.host", "mail.example.org", &err), 0);
	ck_assert_int_eq(ledger_setting_get(l, "source.host", &v, &err), 0);
	ck_assert_str_eq(v, "mail.example.org");
	free(v);
	ck_assert_int_eq(ledger_setting_set(l, "source.host", NULL, &err), 0); /* NULL deletes */
	ck_assert_int_eq(ledger_setting_get(l, "source.host", &v, &err), 0);
	ck_assert_ptr_null(v);
	close_and_remove(l);
}
END_TEST

START_TEST(mailboxes_are_upserted_by_address_and_listed_in_csv_order)
{
	struct ledger *l = open_fresh();
	struct ledger_mailbox *v, one;
	struct mf_err err;
	size_t n, removed;
	int64_t bob = add_mailbox(l, 3, "bob@example.org");
	int64_t ann = add_mailbox(l, 2, "ann@example.org");
	char ann_upper[] = "ANN@example.org", *keep[] = {ann_upper};

	ck_assert_int_eq(add_mailbox(l, 4, "Bob@Example.org"), bob); /* same mailbox */
	ck_assert_int_eq(ledger_mailboxes(l, &v, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].email, "ann@example.org");
	ck_assert_str_eq(v[1].email, "bob@example.org");
	ck_assert_uint_eq(v[1].line, 4);
	ck_assert_ptr_null(v[0].userroot);
	ledger_mailboxes_free(v, n);

	ck_assert_int_eq(ledger_mailbox_set_state(l, ann, MBX_FAILED, "AUTHENTICATIONFAILED", &err),
	                 0);
	ck_assert_int_eq(ledger_mailbox_set_totals(l, ann, 10, 7, 1000, 700, 1, 1, &err), 0);
	ck_assert_int_eq(ledger_mailbox_get(l, ann, &one, &err), 0);
	ck_assert_int_eq(one.state, MBX_FAILED);
	ck_assert_str_eq(one.last_error, "AUTHENTICATIONFAILED");
	ck_assert_uint_eq(one.msgs_total, 10);
	ck_assert_uint_eq(one.msgs_done, 7);
	ck_assert_uint_eq(one.bytes_done, 700);
	ck_assert_uint_eq(one.skipped, 1);
	ck_assert_int_gt(one.first_synced, 0);
	ck_assert_int_eq(one.first_synced, one.last_synced);
	ledger_mailbox_clear(&one);

	ck_assert_int_eq(ledger_mailboxes_retain(l, keep, 1, &removed, &err), 0);
	ck_assert_uint_eq(removed, 1);
	ck_assert_int_eq(ledger_mailbox_get(l, bob, &one, &err), -1);
	ck_assert_int_eq(err.code, MF_E_NOTFOUND);
	ck_assert_str_eq(err.msg, "no mailbox 1");
	ck_assert_ptr_null(one.email);
	close_and_remove(l);
}
END_TEST

START_TEST(folders_keep_their_id_and_markers)
{
	struct ledger *l = open_fresh();
	int64_t mb = add_mailbox(l, 2, "ann@example.org");
	int64_t inbox = add_folder(l, mb, "INBOX");
	struct ledger_folder f = {.mailbox_id = mb}, *v;
	struct mf_err err;
	size_t n;

	add_folder(l, mb, "Archive");
	f.src_name = mf_strdup("INBOX");
	f.tgt_name = mf_strdup("Inbox");
	f.display = mf_strdup("INBOX");
	ck_assert_int_eq(ledger_folder_put(l, &f, &err), 0);
	ck_assert_int_eq(f.id, inbox);
	ck_assert_str_eq(f.tgt_name, "Inbox");
	f.src_uidvalidity = 4000000000u;
	f.src_uidnext = 42;
	f.tgt_reconcile_from = 7;
	f.msgs_total = 41;
	free(f.status);
	f.status = mf_strdup("ok");
	ck_assert_int_eq(ledger_folder_update(l, &f, &err), 0);
	ledger_folder_clear(&f);

	ck_assert_int_eq(ledger_folders(l, mb, &v, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].display, "Archive");
	ck_assert_ptr_null(v[0].status);
	ck_assert_int_eq(v[1].id, inbox);
	ck_assert_uint_eq(v[1].src_uidvalidity, 4000000000u);
	ck_assert_uint_eq(v[1].src_uidnext, 42);
	ck_assert_uint_eq(v[1].tgt_reconcile_from, 7);
	ck_assert_uint_eq(v[1].msgs_total, 41);
	ck_assert_str_eq(v[1].status, "ok");
	ledger_folders_free(v, n);
	close_and_remove(l);
}
END_TEST

START_TEST(messages_are_recorded_counted_and_remapped)
{
	struct ledger *l = open_fresh();
	int64_t fid = add_folder(l, add_mailbox(l, 2, "ann@example.org"), "INBOX");
	struct ledger_msg m[3] =
	        {
	                {.src_uid = 5, .tgt_uid = 50, .size = 100, .internaldate = 1700000000},
	                {.src_uid = 6, .tgt_uid = 0, .size = 200, .internaldate = 1700000001},
	                {.src_uid = 7, .tgt_uid = 70, .size = 300, .internaldate = 1700000002},
	        },
	                  *v;
	const uint32_t pairs[][2] = {{5, 15}, {7, 17}};
	struct mf_err err;
	uint64_t count = 0, bytes = 0;
	size_t n;

	memset(m[0].idhash, 0xab, LEDGER_IDHASH_LEN);
	ck_assert_int_eq(ledger_msgs_add(l, fid, m, 3, &err), 0);
	ck_assert_int_eq(ledger_msgs_count(l, fid, &count, &bytes, &err), 0);
	ck_assert_uint_eq(count, 3);
	ck_assert_uint_eq(bytes, 600);
	ck_assert_int_eq(ledger_msgs(l, fid, &v, &n, &err), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(v[0].tgt_uid, 50);
	ck_assert_uint_eq(v[1].tgt_uid, 0); /* unknown stays unknown */
	ck_assert_int_eq(v[2].internaldate, 1700000002);
	ck_assert_int_eq(memcmp(v[0].idhash, m[0].idhash, LEDGER_IDHASH_LEN), 0);
	free(v);

	/* the source's UIDVALIDITY changed: 6 is gone, 5 and 7 are renumbered */
	ck_assert_int_eq(ledger_msgs_remap(l, fid, 0, pairs, 2, 1, &err), 0);
	ck_assert_int_eq(ledger_msgs(l, fid, &v, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(v[0].src_uid, 15);
	ck_assert_uint_eq(v[0].tgt_uid, 50);
	ck_assert_uint_eq(v[1].src_uid, 17);
	free(v);
	ck_assert_int_eq(ledger_msgs_count(l, 999, &count, &bytes, &err), 0);
	ck_assert_uint_eq(count, 0);
	ck_assert_uint_eq(bytes, 0);
	close_and_remove(l);
}
END_TEST

START_TEST(a_rolled_back_transaction_leaves_nothing)
{
	struct ledger *l = open_fresh();
	int64_t fid = add_folder(l, add_mailbox(l, 2, "ann@example.org"), "INBOX");
	struct ledger_msg m = {.src_uid = 1, .size = 10};
	struct mf_err err;
	uint64_t count, bytes;

	ck_assert_int_eq(ledger_begin(l, &err), 0);
	ck_assert_int_eq(ledger_msgs_add(l, fid, &m, 1, &err), 0);
	ck_assert_int_eq(ledger_skip_add(l, fid, 2, 99, "too big", &err), 0);
	ledger_rollback(l);
	ck_assert_int_eq(ledger_msgs_count(l, fid, &count, &bytes, &err), 0);
	ck_assert_uint_eq(count, 0);
	ck_assert_int_eq(ledger_begin(l, &err), 0);
	ck_assert_int_eq(ledger_msgs_add(l, fid, &m, 1, &err), 0);
	ck_assert_int_eq(ledger_commit(l, &err), 0);
	ck_assert_int_eq(ledger_msgs_count(l, fid, &count, &bytes, &err), 0);
	ck_assert_uint_eq(count, 1);
	close_and_remove(l);
}
END_TEST

START_TEST(skipped_messages_keep_the_servers_reason)
{
	struct ledger *l = open_fresh();
	int64_t mb = add_mailbox(l, 2, "ann@example.org");
	int64_t inbox = add_folder(l, mb, "INBOX"), sent = add_folder(l, mb, "Sent");
	struct ledger_skip *s;
	struct mf_err err;
	uint32_t *uids;
	uint64_t count;
	size_t n;

	ck_assert_int_eq(ledger_skip_add(l, inbox, 9, 40000000, "[TOOBIG] Message too large", &err),
	                 0);
	ck_assert_int_eq(ledger_skip_add(l, inbox, 3, 1, NULL, &err), 0);
	ck_assert_int_eq(ledger_skip_add(l, sent, 4, 2, "refused", &err), 0);
	ck_assert_int_eq(ledger_skipped_count(l, mb, &count, &err), 0);
	ck_assert_uint_eq(count, 3);
	ck_assert_int_eq(ledger_skipped_uids(l, inbox, &uids, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(uids[0], 3);
	ck_assert_uint_eq(uids[1], 9);
	free(uids);
	ck_assert_int_eq(ledger_skips(l, mb, &s, &n, &err), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(s[0].display, "INBOX");
	ck_assert_ptr_null(s[0].reason);
	ck_assert_str_eq(s[1].reason, "[TOOBIG] Message too large");
	ck_assert_uint_eq(s[1].size, 40000000);
	ck_assert_str_eq(s[2].display, "Sent");
	ledger_skips_free(s, n);
	ck_assert_int_eq(ledger_skips_clear(l, inbox, &err), 0);
	ck_assert_int_eq(ledger_skipped_count(l, mb, &count, &err), 0);
	ck_assert_uint_eq(count, 1);
	close_and_remove(l);
}
END_TEST

START_TEST(runs_steps_events_and_checks_are_remembered)
{
	struct ledger *l = open_fresh();
	char tls[] = "source.tls", title[] = "TLS", rows[] = "csv.rows", ann[] = "ann@example.org";
	struct ledger_check c = {.step = 2, .id = tls, .status = 1, .title = title}, *v;
	enum step_status st;
	struct mf_err err;
	int64_t run = 0, run2 = 0, when = -1, updated;
	char *summary;
	size_t n;

	ck_assert_int_eq(ledger_last_run_end(l, "migrate", &when, &err), 0);
	ck_assert_int_eq(when, 0);
	ck_assert_int_eq(ledger_run_start(l, "migrate", 0, &run, &err), 0);
	ck_assert_int_eq(ledger_run_start(l, "migrate", 1, &run2, &err), 0);
	ck_assert_int_gt(run, 0);
	ck_assert_int_eq(run2, run + 1);
	ck_assert_int_eq(ledger_run_end(l, run2, "synced", 1, 2, &err), 0); /* dry: not counted */
	ck_assert_int_eq(ledger_last_run_end(l, "migrate", &when, &err), 0);
	ck_assert_int_eq(when, 0);
	ck_assert_int_eq(ledger_run_end(l, run, "partial", 5, 500, &err), 0);
	ck_assert_int_eq(ledger_last_run_end(l, "migrate", &when, &err), 0);
	ck_assert_int_gt(when, 0);
	ck_assert_int_eq(ledger_event(l, 0, "info", "started", &err), 0);

	ck_assert_int_eq(ledger_step_get(l, 4, &st, &summary, &updated, &err), 0);
	ck_assert_int_eq(st, STEP_NOT_STARTED);
	ck_assert_ptr_null(summary);
	ck_assert_int_eq(updated, 0);
	ck_assert_int_eq(ledger_step_set(l, 4, STEP_WARNINGS, "2 warnings", &err), 0);
	ck_assert_int_eq(ledger_step_get(l, 4, &st, &summary, &updated, &err), 0);
	ck_assert_int_eq(st, STEP_WARNINGS);
	ck_assert_str_eq(summary, "2 warnings");
	ck_assert_int_gt(updated, 0);
	free(summary);

	ck_assert_int_eq(ledger_check_put(l, &c, &err), 0);
	c.step = 5;
	c.id = rows;
	c.subject = ann;
	c.when = 1234;
	ck_assert_int_eq(ledger_check_put(l, &c, &err), 0);
	ck_assert_int_eq(ledger_checks(l, 0, &v, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].subject, ""); /* the batch itself */
	ck_assert_ptr_null(v[0].detail);
	ck_assert_int_eq(v[1].when, 1234);
	ledger_checks_free(v, n);
	ck_assert_int_eq(ledger_checks(l, 5, &v, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].id, "csv.rows");
	ledger_checks_free(v, n);
	ck_assert_int_eq(ledger_checks_clear(l, 5, "csv.rows", &err), 0);
	ck_assert_int_eq(ledger_checks(l, 5, &v, &n, &err), 0);
	ck_assert_uint_eq(n, 0);
	ledger_checks_free(v, n);
	close_and_remove(l);
}
END_TEST

START_TEST(failures_name_the_statement_and_quote_sqlite)
{
	struct ledger *l = open_fresh();
	struct ledger_mailbox m = {.line = 1};
	struct ledger_folder f = {.mailbox_id = 1};
	struct mf_err err;

	ck_assert_int_eq(ledger_mailbox_put(l, &m, &err), -1);
	ck_assert_int_eq(err.scope, MF_SCOPE_BATCH);
	ck_assert_str_eq(err.msg,
	                 "ledger: store mailbox: NOT NULL constraint failed: mailboxes.email");
	ck_assert_int_eq(m.id, 0);
	ck_assert_int_eq(ledger_folder_put(l, &f, &err), -1);
	ck_assert_str_eq(err.msg,
	                 "ledger: store folder: NOT NULL constraint failed: folders.src_name");
	ck_assert_int_eq(ledger_skip_add(l, 77, 1, 1, "x", &err), -1);
	ck_assert_str_eq(err.msg, "ledger: record skipped message: FOREIGN KEY constraint failed");
	close_and_remove(l);
}
END_TEST

/* MAILFERRY_TEST_ABORT_AFTER_WRITES=N: killed right after the N-th committed
 * write; a transaction is one write, however many statements it holds, and
 * reads do not count.  Returns 50 + the writes done, or -1 when killed. */
static int writes_before_kill(const char *db, unsigned long n)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ledger *l;
		struct ledger_msg m[2] = {{.src_uid = 1}, {.src_uid = 2}};
		struct mf_err err;
		struct ledger_msg *rows;
		char v[24], *s;
		size_t cnt;
		int64_t fid;

		snprintf(v, sizeof(v), "%lu", n);
		setenv("MAILFERRY_TEST_ABORT_AFTER_WRITES", v, 1);
		if (ledger_open(db, &l, &err))
			_exit(100);
		fid = add_folder(l, add_mailbox(l, 1, "a@example.org"), "INBOX"); /* writes 1, 2 */
		if (ledger_begin(l, &err) || ledger_msgs_add(l, fid, m, 1, &err) ||
		    ledger_skip_add(l, fid, 5, 1, "x", &err) || ledger_commit(l, &err))
			_exit(101);                          /* write 3 */
		if (ledger_msgs_add(l, fid, m + 1, 1, &err)) /* write 4: its own transaction */
			_exit(102);
		if (ledger_setting_get(l, "nothing", &s, &err) ||
		    ledger_msgs(l, fid, &rows, &cnt, &err))
			_exit(103);
		_exit(54);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status)) {
		ck_assert_int_eq(WTERMSIG(status), SIGKILL);
		return -1;
	}
	return WEXITSTATUS(status);
}

/* The first schema (user_version 1), as a mailferry of that time wrote it:
 * the tables the upgrade touches, with a folder in them. */
static const char schema_v1[] =
        "CREATE TABLE mailboxes(id INTEGER PRIMARY KEY, line INTEGER,"
        " email TEXT NOT NULL UNIQUE COLLATE NOCASE, src_user TEXT NOT NULL, userroot TEXT,"
        " tgt_user TEXT, state INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
        " msgs_total INTEGER DEFAULT 0, msgs_done INTEGER DEFAULT 0,"
        " bytes_total INTEGER DEFAULT 0, bytes_done INTEGER DEFAULT 0, skipped INTEGER DEFAULT 0,"
        " first_synced INTEGER DEFAULT 0, last_synced INTEGER DEFAULT 0,"
        " last_started INTEGER DEFAULT 0);"
        "CREATE TABLE folders(id INTEGER PRIMARY KEY,"
        " mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
        " src_name TEXT NOT NULL, tgt_name TEXT, display TEXT,"
        " src_uidvalidity INTEGER DEFAULT 0, src_uidnext INTEGER DEFAULT 0,"
        " src_exists INTEGER DEFAULT 0, tgt_uidvalidity INTEGER DEFAULT 0,"
        " tgt_reconcile_from INTEGER DEFAULT 0, excluded INTEGER DEFAULT 0, status TEXT,"
        " msgs_total INTEGER DEFAULT 0, bytes_total INTEGER DEFAULT 0,"
        " UNIQUE(mailbox_id, src_name));"
        "CREATE TABLE messages(folder_id INTEGER NOT NULL"
        " REFERENCES folders(id) ON DELETE CASCADE, src_uid INTEGER NOT NULL, tgt_uid INTEGER,"
        " size INTEGER NOT NULL, internaldate INTEGER NOT NULL, idhash BLOB NOT NULL,"
        " PRIMARY KEY(folder_id, src_uid)) WITHOUT ROWID;"
        "INSERT INTO mailboxes(id, line, email, src_user) VALUES(1, 2, 'ann@example.org', 'ann');"
        "INSERT INTO folders(id, mailbox_id, src_name, tgt_name, display, src_uidvalidity)"
        " VALUES(7, 1, 'Projects', 'Projects', 'Projects', 4242);"
        "INSERT INTO messages VALUES(7, 31, 9031, 1200, 1700000000, x'00112233445566778899aabbccddeeff');"
        "PRAGMA user_version=1;";

static void raw_exec(const char *db, const char *sql)
{
	sqlite3 *h;

	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
	sqlite3_close(h);
}

static int raw_user_version(const char *db)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	int v = -1;

	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* A batch begun with an older mailferry keeps its folders (and their markers)
 * and gains what the newer one records; a ledger from a newer mailferry than
 * this one is refused rather than misread. */
START_TEST(an_older_ledger_is_upgraded_and_a_newer_one_refused)
{
	struct ledger *l;
	struct ledger_folder *v, f = {.mailbox_id = 1};
	struct mf_err err;
	size_t n;

	snprintf(dir, sizeof(dir), "/tmp/mf-ledger-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ledger.db", dir);
	raw_exec(path, schema_v1);
	ck_assert_msg(ledger_open(path, &l, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(ledger_folders(l, 1, &v, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(v[0].id, 7);
	ck_assert_uint_eq(v[0].src_uidvalidity, 4242);
	ck_assert_int_eq(v[0].subscribe_owed, 0);
	ck_assert_uint_eq(v[0].src_modseq, 0);
	ledger_folders_free(v, n);

	/* schema 3: an old message's flags are not known (NULL), new ones are */
	{
		struct ledger_flags *fl;
		struct ledger_msg m = {.src_uid = 32, .tgt_uid = 9032, .size = 10, .flags = "\\Seen $Work"};
		uint32_t uid = 32;
		const char *none = NULL;

		ck_assert_int_eq(ledger_msgs_add(l, 7, &m, 1, &err), 0);
		ck_assert_int_eq(ledger_msg_flags(l, 7, &fl, &n, &err), 0);
		ck_assert_uint_eq(n, 2);
		ck_assert_uint_eq(fl[0].src_uid, 31);
		ck_assert_uint_eq(fl[0].tgt_uid, 9031);
		ck_assert_ptr_null(fl[0].flags);
		ck_assert_str_eq(fl[1].flags, "\\Seen $Work");
		ledger_flags_free(fl, n);
		ck_assert_int_eq(ledger_msgs_set_flags(l, 7, &uid, &none, 1, &err), 0);
		ck_assert_int_eq(ledger_msg_flags(l, 7, &fl, &n, &err), 0);
		ck_assert_ptr_null(fl[1].flags);
		ledger_flags_free(fl, n);
	}

	/* owed: put only ever sets it, update writes it as it is */
	f.src_name = mf_strdup("Projects");
	f.tgt_name = mf_strdup("Projects");
	f.display = mf_strdup("Projects");
	f.subscribe_owed = 1;
	ck_assert_int_eq(ledger_folder_put(l, &f, &err), 0);
	ck_assert_int_eq(f.id, 7);
	ck_assert_int_eq(f.subscribe_owed, 1);
	f.subscribe_owed = 0;
	ck_assert_int_eq(ledger_folder_put(l, &f, &err), 0);
	ck_assert_int_eq(f.subscribe_owed, 1);
	f.subscribe_owed = 0;
	f.src_modseq = 123456789012ULL;
	ck_assert_int_eq(ledger_folder_update(l, &f, &err), 0);
	ledger_folder_clear(&f);
	ck_assert_int_eq(ledger_folders(l, 1, &v, &n, &err), 0);
	ck_assert_int_eq(v[0].subscribe_owed, 0);
	ck_assert_uint_eq(v[0].src_uidvalidity, 4242);
	ck_assert_uint_eq(v[0].src_modseq, 123456789012ULL);
	ledger_folders_free(v, n);
	ledger_close(l);
	ck_assert_int_eq(raw_user_version(path), 3);

	raw_exec(path, "PRAGMA user_version=4");
	ck_assert_int_eq(ledger_open(path, &l, &err), -1);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(err.code, MF_E_DATA);
	ck_assert_str_eq(err.msg, "ledger: written by a newer mailferry (schema 4, this one knows 3)");
	ck_assert_int_eq(raw_user_version(path), 4);
	close_and_remove(NULL);
}
END_TEST

START_TEST(the_crash_hook_counts_committed_writes)
{
	struct ledger *l = open_fresh();
	struct ledger_mailbox *v;
	struct mf_err err;
	char db[128];
	size_t n;

	ledger_close(l);
	snprintf(db, sizeof(db), "%s/two.db", dir);
	ck_assert_int_eq(writes_before_kill(db, 2), -1);
	ck_assert_int_eq(ledger_open(db, &l, &err), 0);
	ck_assert_int_eq(ledger_mailboxes(l, &v, &n, &err), 0); /* the first write is there */
	ck_assert_uint_eq(n, 1);
	ledger_mailboxes_free(v, n);
	ledger_close(l);
	snprintf(db, sizeof(db), "%s/three.db", dir);
	ck_assert_int_eq(writes_before_kill(db, 3), -1);
	snprintf(db, sizeof(db), "%s/four.db", dir);
	ck_assert_int_eq(writes_before_kill(db, 4), -1);
	snprintf(db, sizeof(db), "%s/five.db", dir);
	ck_assert_int_eq(writes_before_kill(db, 5), 54);
	ck_assert_int_eq(ledger_open(path, &l, &err), 0);
	close_and_remove(l);
}
END_TEST

/* Every allocation failure while reading lists fails cleanly (the sanitizer
 * build checks that nothing leaks). */
START_TEST(reads_survive_every_allocation_failure)
{
	struct ledger *l = open_fresh();
	int64_t mb = add_mailbox(l, 2, "ann@example.org");
	int64_t fid = add_folder(l, mb, "INBOX");
	char id[] = "x", title[] = "t", detail[] = "d", remedy[] = "r";
	struct ledger_check c = {
	        .step = 2, .id = id, .title = title, .detail = detail, .remedy = remedy};
	struct mf_err err;
	int failures = 0;

	add_mailbox(l, 3, "bob@example.org");
	add_folder(l, mb, "Sent");
	ck_assert_int_eq(ledger_skip_add(l, fid, 1, 1, "why", &err), 0);
	ck_assert_int_eq(ledger_check_put(l, &c, &err), 0);
	ck_assert_int_eq(ledger_setting_set(l, "k", "v", &err), 0);
	ck_assert_int_eq(ledger_step_set(l, 1, STEP_PASSED, "ok", &err), 0);
	for (unsigned long at = 1; at < 40; at++) {
		struct ledger_mailbox *mv, one;
		struct ledger_folder *fv;
		struct ledger_skip *sv;
		struct ledger_check *cv;
		enum step_status st;
		int64_t upd;
		char buf[24], *s;
		size_t n;
		int rc = 0;

		snprintf(buf, sizeof(buf), "%lu", at);
		setenv("MAILFERRY_TEST_FAIL_ALLOC", buf, 1);
		mf_mem_init_hooks();
		if (ledger_mailboxes(l, &mv, &n, &err) == 0)
			ledger_mailboxes_free(mv, n);
		else
			rc |= 1;
		if (ledger_mailbox_get(l, mb, &one, &err) == 0)
			ledger_mailbox_clear(&one);
		else
			rc |= 2;
		if (ledger_folders(l, mb, &fv, &n, &err) == 0)
			ledger_folders_free(fv, n);
		else
			rc |= 4;
		if (ledger_skips(l, mb, &sv, &n, &err) == 0)
			ledger_skips_free(sv, n);
		else
			rc |= 8;
		if (ledger_checks(l, 0, &cv, &n, &err) == 0)
			ledger_checks_free(cv, n);
		else
			rc |= 16;
		if (ledger_setting_get(l, "k", &s, &err) == 0)
			free(s);
		else
			rc |= 32;
		if (ledger_step_get(l, 1, &st, &s, &upd, &err) == 0)
			free(s);
		else
			rc |= 64;
		if (rc) {
			failures++;
			ck_assert_int_eq(err.code, MF_E_NOMEM);
		}
	}
	unsetenv("MAILFERRY_TEST_FAIL_ALLOC");
	mf_mem_init_hooks();
	ck_assert_int_gt(failures, 10);
	close_and_remove(l);
}
END_TEST

static Suite *ledger_suite(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("ledger");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, settings_round_trip_and_absent_keys_read_as_null);
	tcase_add_test(tc, mailboxes_are_upserted_by_address_and_listed_in_csv_order);
	tcase_add_test(tc, folders_keep_their_id_and_markers);
	tcase_add_test(tc, messages_are_recorded_counted_and_remapped);
	tcase_add_test(tc, a_rolled_back_transaction_leaves_nothing);
	tcase_add_test(tc, skipped_messages_keep_the_servers_reason);
	tcase_add_test(tc, runs_steps_events_and_checks_are_remembered);
	tcase_add_test(tc, failures_name_the_statement_and_quote_sqlite);
	tcase_add_test(tc, an_older_ledger_is_upgraded_and_a_newer_one_refused);
	tcase_add_test(tc, the_crash_hook_counts_committed_writes);
	tcase_add_test(tc, reads_survive_every_allocation_failure);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(ledger_suite)
