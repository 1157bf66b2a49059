/* mailferry - the wizard's model: the open batch, its checks, the engine, the step actions
 *
 * Screens never do I/O: they read this model and ask it to do things.  The
 * model lives on the UI thread.  It reads the ledger directly (quick, local
 * SQLite reads: step status, check results, mailboxes, folders) and drives
 * the slow work on other threads that report back through one self-pipe:
 *
 *   checks   checks_start() with the pipe as wake_fd; each result is in the
 *            ledger before its byte arrives, so the model re-reads the
 *            step's results (at most once a frame) and, when the run ends,
 *            joins it and re-reads every step's status;
 *   engine   engine_start() with the same pipe; before a frame the data hook
 *            copies engine_snapshot() into the dashboard's rows (at most ~10
 *            times a second, every 2 s with --slow-ui); when the workers are
 *            gone the model joins the run, keeps its summary (and the
 *            verification results), records step 7's status and re-reads
 *            the mailboxes from the ledger;
 *   actions  notices, welcome messages and finishing the batch run on a
 *            thread of the model's own (they may talk to every server).
 *
 * The pipe belongs to the model, not to the UI: the engine may still write to
 * it after the terminal is gone (a hangup), so it is closed only in
 * wiz_free(), after every thread has been joined.
 *
 * Settings can be changed only while nothing runs: the engine and the checks
 * borrow the batch's settings and CSV rows.
 *
 * Memory: the model is UI code and allocates with the x* variants (running
 * out of memory restores the terminal and exits; the batch stays resumable).
 */
#ifndef MF_UI_WIZARD_H
#define MF_UI_WIZARD_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "batch/ledger.h"
#include "checks.h"
#include "engine.h"
#include "ui.h"

struct csvin_result;
struct mf_err;
struct mf_secret;
struct ui;
struct wiz;

/* ---------------------------------------------------------------- life cycle */

/* A model with no batch open.  keep_running: a hangup lets a transfer go on. */
struct wiz *wiz_new(int keep_running);
/* Joins every thread still running (callers stop them first: wiz_finish). */
void wiz_free(struct wiz *w);
/* Hooks the model to the UI: watches the pipe, a one-second timer, the quit
 * guard ("a transfer is running") and the data hook. */
void wiz_attach(struct wiz *w, struct ui *ui);
/* Before ui_close: forgets the UI (the pipe stays open). */
void wiz_detach(struct wiz *w);
/* After ui_close: stops what still runs at a resumable point (or, after a
 * hangup with keep_running, lets a transfer finish headless, logging) and
 * fills *res.  Prints one line on stderr when it has to wait. */
void wiz_finish(struct wiz *w, enum ui_end end, struct ui_wizard_result *res);

/* ---------------------------------------------------------------- batches */

/* Opens a batch (locked: MF_E_LOCKED names the other process) and makes it
 * the process log.  Closes the previous one (refused while something runs). */
int wiz_open_batch(struct wiz *w, const char *name, struct mf_err *err);
/* Closes the batch; refused (-1) while something runs. */
int wiz_close_batch(struct wiz *w, struct mf_err *err);
struct mf_batch *wiz_batch(struct wiz *w); /* borrowed, NULL when none is open */
const struct mf_batch_settings *wiz_settings(struct wiz *w);
/* Remembers the batch as the one `mailferry` opens next time (not for demos). */
void wiz_remember(const char *name);
/* The remembered batch, if it still exists (malloc'd), else NULL. */
char *wiz_last_batch(void);

/* Creates a batch (see batch_create; problems receives the CSV's problems). */
int wiz_create_batch(const struct mf_batch_settings *s, const char *csv_path,
                     const struct batch_secrets *sec, struct csvin_result *problems,
                     struct mf_err *err);

/* ---------------------------------------------------------------- busy */

int wiz_running(struct wiz *w);        /* a transfer (migration, dry run, verify) runs */
int wiz_checks_running(struct wiz *w); /* returns the step being checked, or 0 */
int wiz_action_running(struct wiz *w); /* a step action runs */
/* 0 when settings may change, else -1 with err saying what runs. */
int wiz_can_edit(struct wiz *w, struct mf_err *err);

/* ---------------------------------------------------------------- settings */

/* Replaces the settings (the name stays) and saves them. */
int wiz_save_settings(struct wiz *w, const struct mf_batch_settings *s, struct mf_err *err);
/* "source-admin", "target-admin", "client": stores (moves) a secret. */
int wiz_set_secret(struct wiz *w, const char *which, const struct mf_secret *s, struct mf_err *err);
/* Whether the secret is stored (cached; updated by wiz_set_secret). */
int wiz_secret_stored(struct wiz *w, const char *which);
/* Replaces the CSV (problems filled either way; free with csvin_result_free). */
int wiz_import_csv(struct wiz *w, const char *path, struct csvin_result *problems,
                   struct mf_err *err);
/* The batch's CSV rows (borrowed until the next import), or NULL with err. */
const struct csvin_result *wiz_csv_rows(struct wiz *w, struct mf_err *err);

/* ---------------------------------------------------------------- steps */

struct wiz_step {
	enum step_status status;
	char summary[256];
	int64_t updated;    /* epoch s, 0 never */
	unsigned counts[4]; /* stored check results by enum check_status */
	int only_skipped;   /* checks ran and every result is SKIP */
	int no_checks;      /* its checks ran in this session and it has none */
};

/* The step's state as last read from the ledger (1..MF_STEPS). */
const struct wiz_step *wiz_step(struct wiz *w, int step);
/* The next sensible step: the first (in Microsoft's order) that is neither
 * passed, done, only skipped, nor the optional step 8; 0 when none is left. */
int wiz_next_step(struct wiz *w);
/* Words for a step's state: "not started", "passed", "warnings", "failed",
 * "done", "skipped". */
const char *wiz_step_word(const struct wiz_step *s);

/* ---------------------------------------------------------------- checks */

/* Runs the checks of one step on their own threads. */
int wiz_checks_start(struct wiz *w, int step, struct mf_err *err);
/* Whether step's checks wait for the current run to end. */
int wiz_checks_queued(struct wiz *w, int step);
void wiz_checks_cancel(struct wiz *w);
/* The stored results of a step (borrowed until the next call or frame). */
const struct ledger_check *wiz_checks(struct wiz *w, int step, size_t *n);

/* ---------------------------------------------------------------- transfers */

enum wiz_run_kind {
	WIZ_RUN_MIGRATE = 0, /* first sync or delta */
	WIZ_RUN_DRY,         /* the same, writing nothing to the target */
	WIZ_RUN_VERIFY,
};

int wiz_run_start(struct wiz *w, enum wiz_run_kind kind, struct mf_err *err);
/* Stops at a resumable point (hard: abandon the commands in flight). */
void wiz_run_stop(struct wiz *w, int hard);
int wiz_run_stopping(struct wiz *w);

/* Dry-run mode: the step actions and "start" rehearse instead of writing. */
void wiz_set_dry_mode(struct wiz *w, int on);
int wiz_dry_mode(struct wiz *w);
/* Whether the DRY RUN banner is up: dry-run mode, or a dry run running or
 * shown on the dashboard. */
int wiz_dry_shown(struct wiz *w);
/* The dashboard is left: the last dry run's rows make way for the ledger's
 * (unless a dry run still runs), and the banner goes unless in dry-run mode. */
void wiz_dry_dismiss(struct wiz *w);

/* The dashboard's rows: one per mailbox, live during a run, else from the
 * ledger (or the last dry run's results while they are shown). */
const struct mf_progress *wiz_rows(struct wiz *w, size_t *n);

struct wiz_totals {
	int running, dry_run, verify, have_run;
	size_t n, synced, failed, stopped, remaining;
	uint64_t msgs_done, msgs_total, bytes_done, bytes_total, skipped;
	double rate_bytes;
	int64_t elapsed_ms, eta_s; /* eta -1 unknown */
};
void wiz_totals(struct wiz *w, struct wiz_totals *t);
/* The last run's summary (0 when none ended in this session). */
int wiz_last_summary(struct wiz *w, struct mf_run_summary *sum, enum wiz_run_kind *kind);
/* The last verification's per-folder differences (borrowed). */
const struct mf_verify_folder *wiz_verify_results(struct wiz *w, size_t *n);

/* One mailbox in depth, from the ledger: folders (with the messages the
 * ledger holds for each) and skipped items with reasons. */
struct wiz_folder {
	struct ledger_folder f; /* owned fields */
	uint64_t copied, copied_bytes;
};
struct wiz_mailbox {
	struct ledger_mailbox m; /* owned fields */
	struct wiz_folder *folders;
	size_t nfolders;
	struct ledger_skip *skips;
	size_t nskips;
};
int wiz_mailbox_load(struct wiz *w, int64_t id, struct wiz_mailbox *out, struct mf_err *err);
void wiz_mailbox_clear(struct wiz_mailbox *m);

/* ---------------------------------------------------------------- actions */

enum wiz_action {
	WIZ_ACT_NOTICES = 0, /* step 3 */
	WIZ_ACT_WELCOME,     /* step 11 */
	WIZ_ACT_FINISH,      /* step 11: wipe the stored credentials */
};
const char *wiz_action_name(enum wiz_action a);
/* Starts an action on the model's thread (honours dry-run mode). */
int wiz_action_start(struct wiz *w, enum wiz_action a, struct mf_err *err);
/* The last finished action's outcome in words ("" if none). */
const char *wiz_action_outcome(struct wiz *w, int *failed);

/* ---------------------------------------------------------------- formatting */

/* "12 KB/s", "-" when zero */
void wiz_fmt_rate(char *out, size_t n, double bytes_per_s);
/* "3m 05s", "?" when unknown (< 0) */
void wiz_fmt_eta(char *out, size_t n, int64_t seconds);
/* The state word of a dashboard row: "Queued", "Connecting", "Retry 2",
 * "Syncing", "Synced", "Failed", "Stopped". */
void wiz_state_word(const struct mf_progress *p, char *out, size_t n);

#endif
