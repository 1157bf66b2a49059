/* mailferry - the transfer engine (engine API)
 *
 * engine_start() runs a migration (first sync or delta), a dry run, or a
 * verification of one batch on a pool of worker threads and returns at once.
 * The caller then either waits (engine_wait) or, like the wizard, takes
 * snapshots of the progress whenever the wake fd becomes readable.
 *
 * The engine -> UI contract:
 *  - workers never touch the terminal; each mailbox has a progress record
 *    behind a mutex, and engine_snapshot() copies all of them consistently
 *    without making a worker wait for more than the copy;
 *  - after a state change (and at most ~10 times a second for counters) a
 *    byte is written to opts.wake_fd (non-blocking; a full pipe just means
 *    the UI is already due to look);
 *  - events (mailbox state changes, errors, the end) are also delivered to
 *    opts.on_event from worker threads: the callback must be thread-safe and
 *    quick (the headless CLI writes JSON Lines from it).
 *
 * Stopping: engine_stop(run, 0) finishes the chunk in progress, records it and
 * stops every mailbox at a resumable point; engine_stop(run, 1) abandons the
 * commands in flight (still resumable: the next run reconciles the target).
 * A soft stop that has not ended ENGINE_STOP_GRACE_MS later turns hard when
 * the caller next asks engine_running() (which it polls anyway): a server
 * that stopped answering must not hold a stop for the whole command timeout.
 * Signals are blocked in worker threads; only the caller's thread handles them.
 */
#ifndef MF_ENGINE_H
#define MF_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "batch/ledger.h"

struct mf_batch;
struct mf_err;

enum mf_run_kind {
	MF_RUN_MIGRATE = 0, /* first sync or delta: copy what is not in the ledger */
	MF_RUN_VERIFY,      /* compare source and target, change nothing */
};

enum mf_event_kind {
	MF_EV_MAILBOX,   /* a mailbox changed state (Connecting, Syncing, Synced, Failed...) */
	MF_EV_FOLDER,    /* a mailbox moved on to another folder */
	MF_EV_SKIPPED,   /* a message was skipped (with the server's reason) */
	MF_EV_WARNING,   /* something the admin should know (renamed folder, ...) */
	MF_EV_PROGRESS,  /* counters moved (at most once a second per run) */
	MF_EV_DONE,      /* the run ended */
};

struct mf_event {
	enum mf_event_kind kind;
	int64_t mailbox_id;
	const char *email;     /* borrowed, NULL for run-wide events */
	enum mbx_state state;  /* MF_EV_MAILBOX */
	const char *folder;    /* MF_EV_FOLDER, MF_EV_SKIPPED */
	const char *text;      /* error, reason or warning, may be NULL */
	uint64_t msgs_done, msgs_total, bytes_done, bytes_total;
};

struct mf_run_opts {
	enum mf_run_kind kind;
	int dry_run;             /* read everything, write nothing to the target */
	unsigned workers;        /* 0: the batch's concurrency */
	const char *only;        /* only this mailbox (address), or NULL for all */
	int retry_failed_only;   /* only mailboxes that are not Synced */
	const char *trace_path;  /* protocol trace (redacted), or NULL */
	int wake_fd;             /* -1: none */
	void (*on_event)(const struct mf_event *ev, void *aux);
	void *event_aux;
};

/* One mailbox's progress, as the dashboard shows it. */
struct mf_progress {
	int64_t id;
	char email[256];
	enum mbx_state state;
	char folder[256];         /* the folder being worked on */
	uint64_t msgs_done, msgs_total;
	uint64_t bytes_done, bytes_total;
	uint64_t skipped;
	int totals_known;         /* 0 while the source is being listed */
	double rate_bytes;        /* bytes/s over the last ~10 s */
	double rate_msgs;         /* messages/s over the last ~10 s */
	int64_t eta_s;            /* -1 unknown */
	char last_error[512];
	int attempts;             /* connection attempts so far */
};

struct mf_snapshot {
	struct mf_progress *mb;   /* owned by the snapshot */
	size_t n;
	int running;
	int dry_run;
	enum mf_run_kind kind;
	size_t synced, failed, remaining;
	uint64_t msgs_done, msgs_total, bytes_done, bytes_total, skipped;
	double rate_bytes, rate_msgs;
	int64_t elapsed_ms;
	int64_t eta_s;
	char log_path[512];
};

/* What a run did (also stored in the ledger's runs table). */
struct mf_run_summary {
	size_t mailboxes, synced, failed, stopped;
	uint64_t msgs_copied, bytes_copied, skipped;
	uint64_t msgs_planned, bytes_planned; /* dry run: what a real run would copy */
	size_t folders_to_create;             /* dry run */
	uint64_t flags_changed;               /* copied messages whose flags changed on the
						 source were updated (dry run: would be) */
	double read_rate_bytes;               /* dry run: measured source read rate */
	int64_t elapsed_ms;
	int interrupted;                      /* stopped before the end (resumable) */
	int batch_error;                      /* a batch-wide failure (e.g. disk full) */
	char error[512];                      /* the batch-wide failure in words */
	uint64_t verify_missing, verify_extra, verify_duplicates; /* MF_RUN_VERIFY */
	uint64_t msgs_checked;                /* MF_RUN_VERIFY: source messages compared */
};

struct mf_run;

int engine_start(struct mf_batch *b, const struct mf_run_opts *opts, struct mf_run **out,
		 struct mf_err *err);
#define ENGINE_STOP_GRACE_MS 15000
void engine_stop(struct mf_run *r, int hard);
int engine_running(struct mf_run *r);
/* Copies every mailbox's progress; free with engine_snapshot_free. 0 or -1. */
int engine_snapshot(struct mf_run *r, struct mf_snapshot *s);
void engine_snapshot_free(struct mf_snapshot *s);
/* Joins the workers and fills the summary. */
void engine_wait(struct mf_run *r, struct mf_run_summary *sum);
void engine_free(struct mf_run *r);

/* ---- verification results (MF_RUN_VERIFY), per folder, from the ledger ---- */
struct mf_verify_folder {
	char *email;        /* owned */
	char *folder;       /* owned: display name */
	uint32_t src_count, tgt_count;
	uint32_t missing;   /* source messages not on the target (not counting skipped ones) */
	uint32_t skipped;   /* known skipped, with reasons */
	uint32_t duplicates;/* the same message more than once on the target */
	char *detail;       /* owned, may be NULL */
};
void mf_verify_folders_free(struct mf_verify_folder *v, size_t n);
/* The differences found by the last verification of a run (owned array). */
int engine_verify_results(struct mf_run *r, struct mf_verify_folder **out, size_t *n);

#endif
