/* mailferry - engine internals shared by engine.c, mailbox.c, folder.c, verify.c */
#ifndef MF_ENGINE_ENGINE_P_H
#define MF_ENGINE_ENGINE_P_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "batch.h"
#include "batch/ledger.h"
#include "engine.h"
#include "engine/plan.h"
#include "imap/ops.h"
#include "imap/session.h"

struct oauth_client;

struct spool;

#define RATE_SAMPLES 32

struct mailbox_job {
	struct ledger_mailbox mb;     /* owned copy of the ledger row */
	struct mf_progress prog;      /* guarded by run->lock */
	struct {
		int64_t t_ms;
		uint64_t bytes, msgs;
	} samples[RATE_SAMPLES];      /* for the rate over the last seconds */
	unsigned nsamples, sample_pos;
};

/* Rate limits across the batch (token buckets). */
struct pace {
	pthread_mutex_t lock;
	uint64_t bytes_per_s;
	double msgs_per_s;
	double byte_tokens, msg_tokens;
	int64_t last_ms;
};

struct mf_run {
	struct mf_batch *batch;
	struct ledger *ledger;
	const struct mf_batch_settings *set;
	struct mf_run_opts opts;
	FILE *trace;
	char *spool_dir;
	char *only;

	pthread_mutex_t lock;          /* jobs' progress, the queue, the summary, verify results */
	struct mailbox_job *jobs;
	size_t njobs, next_job;
	pthread_t *threads;
	unsigned nthreads;
	atomic_int stop;               /* 0 run, 1 stop at a resumable point, 2 abandon now */
	int64_t soft_stop_ms;          /* when the soft stop was asked (caller's thread) */
	atomic_int live_workers;
	int64_t start_ms, end_ms;
	int64_t run_id;
	struct mf_run_summary sum;
	int64_t last_wake_ms, last_progress_ev_ms;
	struct pace pace;
	struct oauth_client *oauth;    /* Microsoft 365 tokens (shared, thread-safe), or NULL */

	struct mf_verify_folder *verify;
	size_t nverify, capverify;
};

#define MBX_MAX_TARGETS 4                 /* target connections per mailbox */
#define THROTTLE_RETRIES 10               /* waits for one throttled command */
#define MBX_MAX_SLOTS (MBX_MAX_TARGETS + 1) /* chunks in flight: one per target + one fetching */

/* One attempt at one mailbox: the connections and what we learnt. */
struct mbx_ctx {
	struct mf_run *run;
	struct mailbox_job *job;
	struct mf_login src_login, tgt_login;
	struct imap_conn *src, *tgt;             /* tgt == tgts[0] */
	struct imap_conn *tgts[MBX_MAX_TARGETS]; /* the connections that APPEND */
	size_t ntgts;
	struct spool *spools[MBX_MAX_SLOTS];     /* one per pipeline slot */
	size_t nspools;
	struct plan_folder *plan;
	size_t nplan;
	int target_exchange;           /* Exchange quirks apply (\Flagged after APPEND, sizes) */
	int dry;
	char failed_folders[512];      /* folders that could not be migrated, for the reason */
	uint64_t dry_bytes_read;
	int64_t dry_read_ms;
};

/* engine.c */
int run_stopping(const struct mf_run *r);
/* Sleeps up to ms, waking early when the run stops. Returns 1 if stopped. */
int run_sleep(struct mf_run *r, long ms);
void run_event(struct mf_run *r, const struct mf_event *ev);
/* Counts messages whose flags a run carried (a dry run: would carry). */
void run_add_flag_changes(struct mf_run *r, uint64_t n);
void job_set_state(struct mf_run *r, struct mailbox_job *job, enum mbx_state st, const char *error);
void job_set_folder(struct mf_run *r, struct mailbox_job *job, const char *folder);
void job_set_totals(struct mf_run *r, struct mailbox_job *job, uint64_t msgs_total,
		    uint64_t msgs_done, uint64_t bytes_total, uint64_t bytes_done);
void job_add_done(struct mf_run *r, struct mailbox_job *job, uint64_t msgs, uint64_t bytes,
		  uint64_t skipped);
void run_wake(struct mf_run *r, int force);
void pace_take(struct mf_run *r, uint64_t bytes, uint64_t msgs);
void run_add_verify(struct mf_run *r, const struct mf_verify_folder *v);

/* folder.c: whether two sizes of one message are close enough to be the same
 * copy stored with normalised line ends (within 1 KiB or 2%). */
int msg_sizes_close(uint64_t a, uint64_t b);

/* mailbox.c */
void mailbox_run(struct mf_run *r, struct mailbox_job *job);
int mbx_connect(struct mbx_ctx *m, int source, struct imap_conn **out, struct mf_err *err);
/* Closes every target connection at once (abandoning what is in flight). */
void mbx_drop_targets(struct mbx_ctx *m);
/* Closes the source connection at once: its commands in flight complete now,
 * with an error, while whatever they write into still exists. */
void mbx_drop_source(struct mbx_ctx *m);

/* folder.c: one folder of a mailbox (scan results in, copies out) */
struct folder_work {
	struct plan_folder *pf;         /* borrowed from the plan */
	struct ledger_folder row;       /* owned: the ledger's row (dry run: a scratch row) */
	struct imap_status_info st;     /* source STATUS */
	int have_status;                /* st came with the mailbox's pipelined STATUS */
	struct imap_msginfo *src;       /* owned: source messages (scan), sorted by UID */
	size_t nsrc;
	uint32_t *pending;              /* owned: source UIDs to copy, ascending */
	size_t npending;
	uint64_t pending_bytes;
	uint64_t total_bytes;           /* of every source message of the folder */
	uint32_t scan_uidvalidity;      /* the source UIDVALIDITY the scan saw */
	uint32_t *dry_done;             /* owned: dry run after a source UIDVALIDITY change:
					   new UIDs already copied (sorted) */
	size_t ndry_done;
	int unchanged;                  /* nothing to do: the quick path */
	int on_target;                  /* the target folder was opened (or created) this run */
	int flags_owed;                 /* a flag change could not be carried (throttled) */
};
void folder_work_clear(struct folder_work *w);
/* Whether copying what w has pending takes more than one chunk, so that more
 * than one target connection could append at once. */
int folder_needs_chunks(const struct folder_work *w);
int folder_scan(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err);
/* The scanned source message with that UID, or NULL. */
const struct imap_msginfo *folder_find_src(const struct folder_work *w, uint32_t uid);
int folder_copy(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err);

/* flags.c: carries flag changes of already copied messages (the target
 * folder is open read-write, or examined in a dry run, which only counts). */
int folder_carry_flags(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err);

/* verify.c */
int folder_verify(struct mbx_ctx *m, struct plan_folder *pf, struct mf_err *err);

#endif
