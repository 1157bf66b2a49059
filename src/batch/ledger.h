/* mailferry - the batch ledger (one SQLite file per batch)
 *
 * What a batch knows lives here: its settings, the mailboxes of its CSV
 * (without passwords), the folders of each mailbox with their UIDVALIDITY on
 * both sides, one row per migrated message (source UID -> target UID, size,
 * identity hash, INTERNALDATE), skipped messages with the server's reason,
 * runs, events, check results and step status.  Resume, delta sync,
 * verification and reports are queries over it.  Passwords are never stored
 * here.
 *
 * Durability: WAL with synchronous=NORMAL.  A committed transaction survives
 * the process being killed at any moment (the WAL is in the OS page cache); a
 * power loss may lose the last transactions, which the engine's
 * reconciliation of the target covers.  A message row is written only after
 * the target's tagged OK, in one transaction per appended chunk.
 *
 * Threads: one connection guarded by a mutex.  ledger_begin() takes the
 * mutex and ledger_commit()/ledger_rollback() release it, so a transaction
 * belongs to one thread; the single-statement functions take it themselves.
 * Never call a ledger function between begin and commit from another thread
 * expecting it to be part of the transaction: it waits.
 *
 * Test hook: MAILFERRY_TEST_ABORT_AFTER_WRITES=N kills the process with
 * SIGKILL right after the N-th committed write transaction.
 */
#ifndef MF_BATCH_LEDGER_H
#define MF_BATCH_LEDGER_H

#include <stddef.h>
#include <stdint.h>

struct mf_err;
struct ledger;

int ledger_open(const char *path, struct ledger **out, struct mf_err *err);
void ledger_close(struct ledger *l);

/* Transactions (see the threading note above). */
int ledger_begin(struct ledger *l, struct mf_err *err);
int ledger_commit(struct ledger *l, struct mf_err *err);
void ledger_rollback(struct ledger *l);

/* ---- settings: key/value text ---- */
/* *value is malloc'd, or NULL when the key is absent. */
int ledger_setting_get(struct ledger *l, const char *key, char **value, struct mf_err *err);
int ledger_setting_set(struct ledger *l, const char *key, const char *value, struct mf_err *err);
int ledger_setting_del(struct ledger *l, const char *key, struct mf_err *err);

/* ---- mailboxes ---- */
enum mbx_state {
	MBX_QUEUED = 0,  /* never synced, or waiting in this run */
	MBX_CONNECTING,
	MBX_SYNCING,
	MBX_SYNCED,
	MBX_FAILED,
	MBX_STOPPED,     /* interrupted at a resumable point */
};
const char *mbx_state_name(enum mbx_state s); /* "Queued", "Syncing", ... */

struct ledger_mailbox {
	int64_t id;
	unsigned line;          /* CSV line */
	char *email;            /* owned */
	char *src_user;         /* owned */
	char *userroot;         /* owned, may be NULL */
	char *tgt_user;         /* owned, may be NULL */
	enum mbx_state state;
	char *last_error;       /* owned, may be NULL */
	uint64_t msgs_total, msgs_done, bytes_total, bytes_done, skipped;
	int64_t first_synced;   /* epoch s, 0 = never */
	int64_t last_synced;    /* end of the last successful sync, 0 = never */
	int64_t last_started;   /* start of the last sync attempt, 0 = never */
};
void ledger_mailbox_clear(struct ledger_mailbox *m);
void ledger_mailboxes_free(struct ledger_mailbox *v, size_t n);

/* Inserts or updates by email (case-insensitive); sets m->id. */
int ledger_mailbox_put(struct ledger *l, struct ledger_mailbox *m, struct mf_err *err);
/* Removes mailboxes whose email is not in keep[0..n) (CSV re-import). Their
 * message rows go too.  Returns how many were removed in *removed. */
int ledger_mailboxes_retain(struct ledger *l, char *const *keep, size_t n, size_t *removed,
			    struct mf_err *err);
int ledger_mailboxes(struct ledger *l, struct ledger_mailbox **out, size_t *n, struct mf_err *err);
int ledger_mailbox_get(struct ledger *l, int64_t id, struct ledger_mailbox *out,
		       struct mf_err *err);
int ledger_mailbox_set_state(struct ledger *l, int64_t id, enum mbx_state state,
			     const char *error, struct mf_err *err);
/* Stores the counters of a finished (or interrupted) sync. */
int ledger_mailbox_set_totals(struct ledger *l, int64_t id, uint64_t msgs_total, uint64_t msgs_done,
			      uint64_t bytes_total, uint64_t bytes_done, uint64_t skipped,
			      int synced_now, struct mf_err *err);

/* ---- folders ---- */
struct ledger_folder {
	int64_t id, mailbox_id;
	char *src_name;          /* owned: wire name on the source (modified UTF-7) */
	char *tgt_name;          /* owned: wire name on the target */
	char *display;           /* owned: UTF-8 path with '/' for people */
	uint32_t src_uidvalidity, src_uidnext, src_exists;
	uint32_t tgt_uidvalidity;
	uint32_t tgt_reconcile_from; /* target UIDs >= this may hold unrecorded copies */
	int excluded;
	char *status;            /* owned: "ok", "failed: ...", "excluded", "renamed: ..." */
	uint64_t msgs_total, bytes_total;
	/* The source's subscription still has to be copied: set (before the
	 * CREATE) for a subscribed folder mailferry creates on the target, cleared
	 * once the target answered the SUBSCRIBE.  ledger_folder_put only ever
	 * sets it; ledger_folder_update writes it as it is. */
	int subscribe_owed;
	/* The source's HIGHESTMODSEQ at the last sync (0: the source has no
	 * CONDSTORE, or not synced since mailferry knows it). */
	uint64_t src_modseq;
};
void ledger_folder_clear(struct ledger_folder *f);
void ledger_folders_free(struct ledger_folder *v, size_t n);
/* Finds the folder of a mailbox by source name, creating it if new; on
 * return f holds the stored row (tgt_name/display updated from f's input). */
int ledger_folder_put(struct ledger *l, struct ledger_folder *f, struct mf_err *err);
int ledger_folders(struct ledger *l, int64_t mailbox_id, struct ledger_folder **out, size_t *n,
		   struct mf_err *err);
/* Updates the sync markers and status of a folder row (by id). */
int ledger_folder_update(struct ledger *l, const struct ledger_folder *f, struct mf_err *err);

/* ---- messages ---- */
#define LEDGER_IDHASH_LEN 16

struct ledger_msg {
	uint32_t src_uid;
	uint32_t tgt_uid;  /* 0: unknown (target without UIDPLUS) */
	uint64_t size;
	int64_t internaldate;
	unsigned char idhash[LEDGER_IDHASH_LEN];
	/* borrowed: the source's flags carried to the target, space-separated
	 * (NULL: not known); written by ledger_msgs_add, never read back here:
	 * ledger_msg_flags reads them. */
	const char *flags;
};

/* Records copied messages of a folder (inside the caller's transaction when
 * one is open, else in its own). */
int ledger_msgs_add(struct ledger *l, int64_t folder_id, const struct ledger_msg *m, size_t n,
		    struct mf_err *err);
/* All message rows of a folder, ordered by source UID (owned array). */
int ledger_msgs(struct ledger *l, int64_t folder_id, struct ledger_msg **out, size_t *n,
		struct mf_err *err);
/* Rewrites source (or target) UIDs after a UIDVALIDITY change:
 * pairs[i] = {old, new}; rows whose old UID is not listed are dropped when
 * drop_unlisted (they no longer exist on that side). */
int ledger_msgs_remap(struct ledger *l, int64_t folder_id, int target_side,
		      const uint32_t (*pairs)[2], size_t n, int drop_unlisted, struct mf_err *err);
/* The flags the target was last given for each message of a folder, ordered
 * by source UID (owned array; free with ledger_flags_free). */
struct ledger_flags {
	uint32_t src_uid;
	uint32_t tgt_uid;  /* 0: unknown */
	char *flags;       /* owned; NULL: not known (a ledger from before schema 3) */
};
int ledger_msg_flags(struct ledger *l, int64_t folder_id, struct ledger_flags **out, size_t *n,
		     struct mf_err *err);
void ledger_flags_free(struct ledger_flags *v, size_t n);
/* Records, in one transaction, flags[i] as the flags of source UID
 * src_uids[i] (NULL: not known). */
int ledger_msgs_set_flags(struct ledger *l, int64_t folder_id, const uint32_t *src_uids,
			  const char *const *flags, size_t n, struct mf_err *err);
int ledger_msgs_count(struct ledger *l, int64_t folder_id, uint64_t *count, uint64_t *bytes,
		      struct mf_err *err);

/* ---- skipped messages ---- */
struct ledger_skip {
	int64_t folder_id;
	uint32_t src_uid;
	uint64_t size;
	char *reason;   /* owned (the server's words) */
	char *display;  /* owned: folder display name, filled by ledger_skips */
};
int ledger_skip_add(struct ledger *l, int64_t folder_id, uint32_t src_uid, uint64_t size,
		    const char *reason, struct mf_err *err);
/* Forgets the skipped messages of a folder: after its source UIDVALIDITY
 * changed their UIDs mean other messages; they are tried (and, if still
 * refused, recorded) again. */
int ledger_skips_clear(struct ledger *l, int64_t folder_id, struct mf_err *err);
/* How many messages of a mailbox are recorded as skipped. */
int ledger_skipped_count(struct ledger *l, int64_t mailbox_id, uint64_t *count,
			 struct mf_err *err);
/* Source UIDs skipped in a folder (owned array). */
int ledger_skipped_uids(struct ledger *l, int64_t folder_id, uint32_t **out, size_t *n,
			struct mf_err *err);
/* Skipped items of a mailbox (all folders), for reports and the detail view. */
int ledger_skips(struct ledger *l, int64_t mailbox_id, struct ledger_skip **out, size_t *n,
		 struct mf_err *err);
void ledger_skips_free(struct ledger_skip *v, size_t n);

/* ---- runs and events ---- */
int ledger_run_start(struct ledger *l, const char *kind, int dry_run, int64_t *run_id,
		     struct mf_err *err);
int ledger_run_end(struct ledger *l, int64_t run_id, const char *result, uint64_t msgs,
		   uint64_t bytes, struct mf_err *err);
/* Time (epoch s) the last non-dry run of a kind ended successfully, 0 if never. */
int ledger_last_run_end(struct ledger *l, const char *kind, int64_t *when, struct mf_err *err);
int ledger_event(struct ledger *l, int64_t mailbox_id, const char *level, const char *text,
		 struct mf_err *err);

/* ---- steps of the checklist ---- */
enum step_status {
	STEP_NOT_STARTED = 0,
	STEP_PASSED,
	STEP_WARNINGS,
	STEP_FAILED,
	STEP_DONE,
};
const char *step_status_name(enum step_status s); /* "not started", "passed", ... */
int ledger_step_set(struct ledger *l, int step, enum step_status st, const char *summary,
		    struct mf_err *err);
/* *summary malloc'd (may be NULL); *updated epoch s, 0 if never. */
int ledger_step_get(struct ledger *l, int step, enum step_status *st, char **summary,
		    int64_t *updated, struct mf_err *err);

/* ---- check results (the last result of every check, per subject) ---- */
struct ledger_check {
	int step;
	char *id;       /* owned: stable check id, e.g. "source.tls" */
	char *subject;  /* owned: what it was about ("" for the batch, or an address) */
	int status;     /* enum check_status of include/checks.h */
	char *title, *detail, *remedy; /* owned */
	int64_t when;   /* epoch s */
};
int ledger_check_put(struct ledger *l, const struct ledger_check *c, struct mf_err *err);
/* Results of one step (0: all steps), ordered by step, id, subject. */
int ledger_checks(struct ledger *l, int step, struct ledger_check **out, size_t *n,
		  struct mf_err *err);
void ledger_checks_free(struct ledger_check *v, size_t n);
/* Forgets the results of one check id (before a re-run replaces them). */
int ledger_checks_clear(struct ledger *l, int step, const char *id, struct mf_err *err);

#endif
