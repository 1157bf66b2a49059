/* mailferry - the wizard's model (see wizard.h): batch, checks, engine, actions
 *
 * Everything here runs on the UI thread except job_main(), the thread of a
 * step action.  The slow work reports through one non-blocking pipe that the
 * model owns; the UI loop watches its read end.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch/csvin.h"
#include "exitcodes.h"
#include "ui/tui.h"
#include "ui/wizard.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/secret.h"
#include "util/timeutil.h"

#define LAST_BATCH_FILE "last-batch"
#define TICK_MS         1000

struct wiz {
	struct ui *ui; /* borrowed while attached */
	int keep_running;
	int pipe_r, pipe_w;
	int timer_id;

	struct mf_batch *batch; /* owned, locked */
	struct wiz_step steps[MF_STEPS + 1];
	int no_checks[MF_STEPS + 1]; /* known from this session's runs; survives load_steps() */

	/* checks */
	struct mf_checks_run *checks;
	int checks_step;
	unsigned checks_queued; /* bit N: step N's checks start when the current run ends */
	struct ledger_check *cache; /* owned: results of cache_step */
	size_t ncache;
	int cache_step, cache_stale;

	/* transfers */
	struct mf_run *run;
	enum wiz_run_kind run_kind;
	int stopping;
	struct mf_progress *rows; /* owned */
	size_t nrows;
	size_t *by_id;           /* owned: indexes of rows sorted by id */
	struct mf_snapshot live; /* scalar totals of the last snapshot (mb NULL) */
	int shown_dry, dry_mode;
	struct mf_run_summary last_sum;
	enum wiz_run_kind last_kind;
	int have_sum;
	struct mf_verify_folder *verify; /* owned */
	size_t nverify;

	/* the step action thread */
	pthread_t job_thread;
	int job_active;
	atomic_int job_done;
	enum wiz_action job_act;
	int job_dry, job_rc;
	struct mf_action_result job_res;
	struct mf_err job_err;
	char outcome[768];
	int outcome_failed;
};

static void wake(int fd)
{
	char b = 1;

	if (fd >= 0)
		(void)!write(fd, &b, 1); /* non-blocking: a full pipe means a wake-up is due */
}

/* ---------------------------------------------------------------- formatting */

void wiz_fmt_rate(char *out, size_t n, double bytes_per_s)
{
	char b[32];

	if (bytes_per_s < 1) {
		snprintf(out, n, "-");
		return;
	}
	format_bytes(b, sizeof(b), (uint64_t)bytes_per_s);
	snprintf(out, n, "%s/s", b);
}

void wiz_fmt_eta(char *out, size_t n, int64_t seconds)
{
	if (seconds < 0)
		snprintf(out, n, "?");
	else
		format_duration(out, n, seconds);
}

void wiz_state_word(const struct mf_progress *p, char *out, size_t n)
{
	if (p->state == MBX_CONNECTING && p->attempts > 1)
		snprintf(out, n, "Retry %d", p->attempts - 1);
	else
		snprintf(out, n, "%s", mbx_state_name(p->state));
}

/* ---------------------------------------------------------------- steps */

static void load_steps(struct wiz *w)
{
	struct ledger_check *lc = NULL;
	struct mf_err err;
	size_t n = 0;

	memset(w->steps, 0, sizeof(w->steps));
	if (!w->batch)
		return;
	for (int s = 1; s <= MF_STEPS; s++) {
		struct wiz_step *st = &w->steps[s];
		char *summary = NULL;

		if (ledger_step_get(batch_ledger(w->batch), s, &st->status, &summary, &st->updated,
		                    &err) < 0) {
			st->status = STEP_NOT_STARTED;
			log_warn("wizard: cannot read the status of step %d: %s", s, err.msg);
		}
		snprintf(st->summary, sizeof(st->summary), "%s", summary ? summary : "");
		free(summary);
		st->no_checks = w->no_checks[s];
	}
	if (ledger_checks(batch_ledger(w->batch), 0, &lc, &n, &err) < 0) {
		log_warn("wizard: cannot read the check results: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (lc[i].step >= 1 && lc[i].step <= MF_STEPS && (unsigned)lc[i].status < 4)
			w->steps[lc[i].step].counts[lc[i].status]++;
	for (int s = 1; s <= MF_STEPS; s++) {
		unsigned *c = w->steps[s].counts;

		w->steps[s].only_skipped =
		        c[CHECK_SKIP] > 0 && !c[CHECK_PASS] && !c[CHECK_WARN] && !c[CHECK_FAIL];
	}
	ledger_checks_free(lc, n);
}

const struct wiz_step *wiz_step(struct wiz *w, int step)
{
	return &w->steps[step >= 1 && step <= MF_STEPS ? step : 0];
}

const char *wiz_step_word(const struct wiz_step *s)
{
	if (s->status == STEP_NOT_STARTED && s->only_skipped)
		return "skipped";
	return step_status_name(s->status);
}

int wiz_next_step(struct wiz *w)
{
	for (int s = 1; s <= MF_STEPS; s++) {
		const struct wiz_step *st = &w->steps[s];

		if (st->status == STEP_PASSED || st->status == STEP_DONE ||
		    st->status == STEP_WARNINGS)
			continue;
		if (st->status == STEP_NOT_STARTED && (st->only_skipped || s == 8))
			continue; /* nothing to do here, or optional */
		return s;
	}
	return 0;
}

static void set_step(struct wiz *w, int step, enum step_status st, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void set_step(struct wiz *w, int step, enum step_status st, const char *fmt, ...)
{
	char summary[256];
	struct mf_err err;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(summary, sizeof(summary), fmt, ap);
	va_end(ap);
	if (ledger_step_set(batch_ledger(w->batch), step, st, summary, &err) < 0)
		log_warn("wizard: cannot record the status of step %d: %s", step, err.msg);
}

/* ---------------------------------------------------------------- rows */

static int cmp_row_id(const void *a, const void *b, void *arg)
{
	const struct mf_progress *rows = arg;
	int64_t x = rows[*(const size_t *)a].id, y = rows[*(const size_t *)b].id;

	return x < y ? -1 : x > y;
}

static void index_rows(struct wiz *w)
{
	free(w->by_id);
	w->by_id = xcalloc(w->nrows ? w->nrows : 1, sizeof(*w->by_id));
	for (size_t i = 0; i < w->nrows; i++)
		w->by_id[i] = i;
	qsort_r(w->by_id, w->nrows, sizeof(*w->by_id), cmp_row_id, w->rows);
}

static struct mf_progress *row_by_id(struct wiz *w, int64_t id)
{
	size_t lo = 0, hi = w->nrows;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int64_t v = w->rows[w->by_id[mid]].id;

		if (v == id)
			return &w->rows[w->by_id[mid]];
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void row_from_ledger(struct mf_progress *p, const struct ledger_mailbox *m)
{
	memset(p, 0, sizeof(*p));
	p->id = m->id;
	snprintf(p->email, sizeof(p->email), "%s", m->email ? m->email : "");
	p->state = m->state;
	p->msgs_done = m->msgs_done;
	p->msgs_total = m->msgs_total;
	p->bytes_done = m->bytes_done;
	p->bytes_total = m->bytes_total;
	p->skipped = m->skipped;
	p->totals_known = m->msgs_total > 0 || m->state == MBX_SYNCED;
	p->eta_s = m->state == MBX_SYNCED ? 0 : -1;
	snprintf(p->last_error, sizeof(p->last_error), "%s", m->last_error ? m->last_error : "");
}

static void load_rows(struct wiz *w)
{
	struct ledger_mailbox *mb = NULL;
	struct mf_err err;
	size_t n = 0;

	free(w->rows);
	w->rows = NULL;
	w->nrows = 0;
	w->shown_dry = 0;
	if (w->batch && ledger_mailboxes(batch_ledger(w->batch), &mb, &n, &err) < 0)
		log_warn("wizard: cannot read the mailboxes: %s", err.msg);
	w->rows = xcalloc(n ? n : 1, sizeof(*w->rows));
	for (size_t i = 0; i < n; i++)
		row_from_ledger(&w->rows[i], &mb[i]);
	w->nrows = n;
	ledger_mailboxes_free(mb, n);
	index_rows(w);
}

/* Copies a snapshot into the rows, by mailbox id (the engine's order is its own). */
static void merge_snapshot(struct wiz *w, struct mf_snapshot *s)
{
	int same = s->n == w->nrows;

	for (size_t i = 0; same && i < s->n; i++)
		same = s->mb[i].id == w->rows[i].id;
	if (same) {
		if (s->n)
			memcpy(w->rows, s->mb, s->n * sizeof(*s->mb));
	} else if (!w->nrows) {
		free(w->rows);
		w->rows = s->mb;
		w->nrows = s->n;
		s->mb = NULL;
		index_rows(w);
	} else {
		for (size_t i = 0; i < s->n; i++) {
			struct mf_progress *p = row_by_id(w, s->mb[i].id);

			if (p)
				*p = s->mb[i];
		}
	}
	engine_snapshot_free(s);
}

static void take_snapshot(struct wiz *w)
{
	struct mf_snapshot s;

	if (!w->run || engine_snapshot(w->run, &s) < 0)
		return;
	w->live = s;
	w->live.mb = NULL;
	merge_snapshot(w, &s);
}

const struct mf_progress *wiz_rows(struct wiz *w, size_t *n)
{
	*n = w->nrows;
	return w->rows;
}

void wiz_totals(struct wiz *w, struct wiz_totals *t)
{
	memset(t, 0, sizeof(*t));
	t->running = w->run != NULL;
	t->n = w->nrows;
	t->eta_s = -1;
	for (size_t i = 0; i < w->nrows; i++) {
		const struct mf_progress *p = &w->rows[i];

		t->msgs_done += p->msgs_done;
		t->msgs_total += p->msgs_total;
		t->bytes_done += p->bytes_done;
		t->bytes_total += p->bytes_total;
		t->skipped += p->skipped;
		if (p->state == MBX_SYNCED)
			t->synced++;
		else if (p->state == MBX_FAILED)
			t->failed++;
		else if (p->state == MBX_STOPPED)
			t->stopped++;
	}
	t->remaining = t->n - t->synced - t->failed;
	if (w->run) {
		t->dry_run = w->run_kind == WIZ_RUN_DRY;
		t->verify = w->run_kind == WIZ_RUN_VERIFY;
		t->rate_bytes = w->live.rate_bytes;
		t->elapsed_ms = w->live.elapsed_ms;
		t->eta_s = w->live.eta_s;
		t->have_run = 1;
	} else if (w->have_sum) {
		t->dry_run = w->last_kind == WIZ_RUN_DRY && w->shown_dry;
		t->verify = w->last_kind == WIZ_RUN_VERIFY;
		t->elapsed_ms = w->last_sum.elapsed_ms;
		t->eta_s = 0;
		t->have_run = 1;
	}
}

int wiz_last_summary(struct wiz *w, struct mf_run_summary *sum, enum wiz_run_kind *kind)
{
	if (!w->have_sum)
		return 0;
	*sum = w->last_sum;
	*kind = w->last_kind;
	return 1;
}

const struct mf_verify_folder *wiz_verify_results(struct wiz *w, size_t *n)
{
	*n = w->nverify;
	return w->verify;
}

/* ---------------------------------------------------------------- banner */

static void update_banner(struct wiz *w)
{
	if (w->ui)
		ui_set_banner(w->ui, wiz_dry_shown(w) ? "DRY RUN" : NULL);
}

/* The right of the status line, on every screen, while a transfer runs. */
static void update_status(struct wiz *w)
{
	struct wiz_totals t;
	char s[96];

	if (!w->ui)
		return;
	if (!w->run) {
		ui_set_status(w->ui, NULL);
		return;
	}
	wiz_totals(w, &t);
	snprintf(s, sizeof(s), "%s %zu/%zu synced",
	         w->run_kind == WIZ_RUN_VERIFY ? "verify"
	         : w->run_kind == WIZ_RUN_DRY  ? "dry run"
	                                       : "migrating",
	         t.synced, t.n);
	ui_set_status(w->ui, s);
}

int wiz_dry_shown(struct wiz *w)
{
	return w->dry_mode || w->shown_dry || (w->run && w->run_kind == WIZ_RUN_DRY);
}

void wiz_set_dry_mode(struct wiz *w, int on)
{
	w->dry_mode = !!on;
	if (!on && !w->run && w->shown_dry)
		load_rows(w); /* the dry run's results go with the mode */
	update_banner(w);
}

void wiz_dry_dismiss(struct wiz *w)
{
	if (!w->run && w->shown_dry)
		load_rows(w);
	update_banner(w);
}

int wiz_dry_mode(struct wiz *w)
{
	return w->dry_mode;
}

/* ---------------------------------------------------------------- flash */

static void say(struct wiz *w, enum ui_role role, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void say(struct wiz *w, enum ui_role role, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("wizard: %s", msg);
	if (w->ui)
		ui_flash(w->ui, role, "%s", msg);
}

/* ---------------------------------------------------------------- end of a run */

static void record_step7(struct wiz *w, const struct mf_run_summary *s, enum wiz_run_kind kind)
{
	char b[32];

	if (s->batch_error) {
		set_step(w, 7, STEP_FAILED, "stopped: %s", s->error);
		return;
	}
	if (kind == WIZ_RUN_DRY) {
		if (w->steps[7].status == STEP_NOT_STARTED) {
			format_bytes(b, sizeof(b), s->bytes_planned);
			set_step(w, 7, STEP_NOT_STARTED,
			         "dry run: a real run would copy %llu messages (%s)",
			         (unsigned long long)s->msgs_planned, b);
		}
		return;
	}
	if (kind == WIZ_RUN_VERIFY) {
		if (s->verify_missing || s->verify_duplicates || s->failed)
			set_step(w, 7, STEP_FAILED,
			         "verification: %llu messages missing, %llu duplicated, %zu "
			         "mailbox%s "
			         "failed",
			         (unsigned long long)s->verify_missing,
			         (unsigned long long)s->verify_duplicates, s->failed,
			         s->failed == 1 ? "" : "es");
		else if (s->interrupted)
			set_step(w, 7, w->steps[7].status, "verification interrupted");
		else
			set_step(w, 7, STEP_DONE,
			         "verified: all %zu mailboxes, nothing missing, no duplicates",
			         s->mailboxes);
		return;
	}
	if (s->failed)
		set_step(w, 7, STEP_FAILED, "%zu of %zu mailboxes failed, %zu synced", s->failed,
		         s->mailboxes, s->synced);
	else if (s->interrupted) /* not done, not failed: the step keeps its state */
		set_step(w, 7, w->steps[7].status,
		         "stopped at a resumable point: %zu of %zu synced; start again to resume",
		         s->synced, s->mailboxes);
	else
		set_step(w, 7, STEP_PASSED, "%zu of %zu mailboxes synced, %llu messages copied",
		         s->synced, s->mailboxes, (unsigned long long)s->msgs_copied);
}

/* ", flags of N updated" after a delta that carried flag changes, else "". */
static const char *flags_note(char *buf, size_t len, uint64_t n)
{
	if (!n)
		return "";
	snprintf(buf, len, ", flags of %llu updated", (unsigned long long)n);
	return buf;
}

static void finish_run(struct wiz *w)
{
	struct mf_run_summary sum;
	enum wiz_run_kind kind = w->run_kind;
	char b[32], fb[48];

	take_snapshot(w); /* the final state of every row */
	engine_wait(w->run, &sum);
	mf_verify_folders_free(w->verify, w->nverify);
	w->verify = NULL;
	w->nverify = 0;
	if (kind == WIZ_RUN_VERIFY && engine_verify_results(w->run, &w->verify, &w->nverify) < 0)
		w->nverify = 0;
	engine_free(w->run);
	w->run = NULL;
	w->stopping = 0;
	w->last_sum = sum;
	w->last_kind = kind;
	w->have_sum = 1;
	record_step7(w, &sum, kind);
	load_steps(w);
	update_status(w);
	if (kind == WIZ_RUN_DRY) {
		w->shown_dry = 1; /* keep the dry run's rows on the dashboard */
		format_bytes(b, sizeof(b), sum.bytes_planned);
		say(w, sum.failed ? UI_ROLE_WARN : UI_ROLE_OK,
		    "Dry run finished: nothing was written. A real run would copy %llu messages "
		    "(%s); "
		    "%zu mailbox%s failed.",
		    (unsigned long long)sum.msgs_planned, b, sum.failed,
		    sum.failed == 1 ? "" : "es");
	} else {
		load_rows(w);
		if (sum.batch_error)
			say(w, UI_ROLE_FAIL, "Stopped: %s (resumable)", sum.error);
		else if (kind == WIZ_RUN_VERIFY)
			say(w,
			    sum.verify_missing || sum.verify_duplicates ? UI_ROLE_FAIL : UI_ROLE_OK,
			    "Verification finished: %llu messages missing, %llu duplicated.",
			    (unsigned long long)sum.verify_missing,
			    (unsigned long long)sum.verify_duplicates);
		else if (sum.interrupted)
			say(w, UI_ROLE_WARN,
			    "Stopped at a resumable point: %zu of %zu synced. Start again to "
			    "resume.",
			    sum.synced, sum.mailboxes);
		else
			say(w, sum.failed ? UI_ROLE_FAIL : UI_ROLE_OK,
			    "Migration finished: %zu synced, %zu failed, %llu messages copied%s.",
			    sum.synced, sum.failed, (unsigned long long)sum.msgs_copied,
			    flags_note(fb, sizeof(fb), sum.flags_changed));
	}
	update_banner(w);
}

static void start_queued_checks(struct wiz *w)
{
	struct mf_err err;

	for (int step = 1; step <= MF_STEPS && w->checks_queued; step++) {
		if (!(w->checks_queued & (1u << step)))
			continue;
		w->checks_queued &= ~(1u << step);
		if (wiz_checks_start(w, step, &err) < 0)
			say(w, UI_ROLE_WARN, "Step %d's checks did not start: %s", step, err.msg);
		return;
	}
}

static void finish_checks(struct wiz *w)
{
	struct mf_checks_summary sum;
	int step = w->checks_step;

	checks_wait(w->checks, &sum);
	checks_free(w->checks);
	w->checks = NULL;
	w->checks_step = 0;
	w->cache_stale = 1;
	w->no_checks[step] = !sum.pass && !sum.warn && !sum.fail && !sum.skip;
	load_steps(w);
	if (!sum.pass && !sum.warn && !sum.fail && !sum.skip)
		say(w, UI_ROLE_NORMAL, "Step %d has no live checks in this version of mailferry.",
		    step);
	else
		say(w,
		    sum.fail   ? UI_ROLE_FAIL
		    : sum.warn ? UI_ROLE_WARN
		               : UI_ROLE_OK,
		    "Step %d checked: %u passed, %u warning%s, %u failed, %u skipped.", step,
		    sum.pass, sum.warn, sum.warn == 1 ? "" : "s", sum.fail, sum.skip);
	start_queued_checks(w);
}

static void finish_job(struct wiz *w)
{
	pthread_join(w->job_thread, NULL);
	w->job_active = 0;
	atomic_store(&w->job_done, 0);
	if (w->job_rc < 0) {
		snprintf(w->outcome, sizeof(w->outcome), "%s: %s", wiz_action_name(w->job_act),
		         w->job_err.msg);
		w->outcome_failed = 1;
	} else {
		snprintf(w->outcome, sizeof(w->outcome), "%s%s: %s", wiz_action_name(w->job_act),
		         w->job_dry ? " (dry run)" : "",
		         w->job_res.summary[0] ? w->job_res.summary : "done");
		w->outcome_failed = w->job_res.failed > 0;
		if (w->job_act == WIZ_ACT_NOTICES && !w->job_dry && !w->job_res.failed)
			set_step(w, 3, STEP_DONE, "every mailbox has the notice (%zu)",
			         w->job_res.done + w->job_res.skipped); /* skipped: had it already */
	}
	load_steps(w);
	load_rows(w);
	say(w, w->outcome_failed ? UI_ROLE_FAIL : UI_ROLE_OK, "%s", w->outcome);
}

/* Called on every wake-up and tick: notices what ended. */
static void poll_work(struct wiz *w)
{
	if (w->run && !engine_running(w->run))
		finish_run(w);
	if (w->checks && !checks_running(w->checks))
		finish_checks(w);
	if (w->job_active && atomic_load(&w->job_done))
		finish_job(w);
}

/* ---------------------------------------------------------------- UI hooks */

static void on_pipe(struct ui *ui, int fd, int revents, void *arg)
{
	struct wiz *w = arg;
	char buf[256];

	(void)revents;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	poll_work(w);
	ui_mark_changed(ui);
}

static void on_tick(struct ui *ui, void *arg)
{
	struct wiz *w = arg;
	int busy = w->run || w->checks || w->job_active;

	poll_work(w);
	if (busy)
		ui_mark_changed(ui); /* elapsed time and ETA move on */
}

static void on_data(struct ui *ui, void *arg)
{
	struct wiz *w = arg;

	(void)ui;
	if (w->run)
		take_snapshot(w);
	if (w->checks)
		w->cache_stale = 1;
	update_status(w);
}

static int busy_guard(void *arg, char *what, size_t n)
{
	struct wiz *w = arg;
	struct wiz_totals t;

	if (w->run) {
		wiz_totals(w, &t);
		snprintf(what, n, "%s is running: %zu of %zu mailboxes are not finished",
		         w->run_kind == WIZ_RUN_VERIFY ? "A verification"
		         : w->run_kind == WIZ_RUN_DRY  ? "A dry run"
		                                       : "A migration",
		         t.n - t.synced - t.failed, t.n);
		return 1;
	}
	if (w->job_active) {
		snprintf(what, n, "%s is running", wiz_action_name(w->job_act));
		return 1;
	}
	return 0;
}

void wiz_attach(struct wiz *w, struct ui *ui)
{
	w->ui = ui;
	ui_watch(ui, w->pipe_r, on_pipe, w);
	w->timer_id = ui_timer_add(ui, TICK_MS, on_tick, w);
	ui_set_quit_guard(ui, busy_guard, w);
	ui_set_data_hook(ui, on_data, w);
	update_banner(w);
}

void wiz_detach(struct wiz *w)
{
	if (!w->ui)
		return;
	ui_unwatch(w->ui, w->pipe_r);
	if (w->timer_id > 0)
		ui_timer_remove(w->ui, w->timer_id);
	ui_set_quit_guard(w->ui, NULL, NULL);
	ui_set_data_hook(w->ui, NULL, NULL);
	w->timer_id = 0;
	w->ui = NULL;
}

/* ---------------------------------------------------------------- life cycle */

struct wiz *wiz_new(int keep_running)
{
	struct wiz *w = xcalloc(1, sizeof(*w));
	int p[2];

	w->keep_running = keep_running;
	w->pipe_r = w->pipe_w = -1;
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0) {
		w->pipe_r = p[0];
		w->pipe_w = p[1];
	}
	atomic_init(&w->job_done, 0);
	return w;
}

static void drop_batch(struct wiz *w)
{
	ledger_checks_free(w->cache, w->ncache);
	w->cache = NULL;
	w->ncache = 0;
	w->cache_step = 0;
	mf_verify_folders_free(w->verify, w->nverify);
	w->verify = NULL;
	w->nverify = 0;
	w->have_sum = 0;
	w->shown_dry = 0;
	batch_close(w->batch);
	w->batch = NULL;
	memset(w->steps, 0, sizeof(w->steps));
	memset(w->no_checks, 0, sizeof(w->no_checks));
	free(w->rows); /* no allocation here: this runs on the way out too */
	free(w->by_id);
	w->rows = NULL;
	w->by_id = NULL;
	w->nrows = 0;
	log_close();
}

void wiz_free(struct wiz *w)
{
	if (!w)
		return;
	if (w->checks) {
		checks_cancel(w->checks);
		checks_wait(w->checks, NULL);
		checks_free(w->checks);
	}
	if (w->run) {
		engine_stop(w->run, 2);
		engine_wait(w->run, NULL);
		engine_free(w->run);
	}
	if (w->job_active)
		pthread_join(w->job_thread, NULL);
	drop_batch(w);
	free(w->rows);
	free(w->by_id);
	if (w->pipe_r >= 0)
		close(w->pipe_r);
	if (w->pipe_w >= 0)
		close(w->pipe_w);
	free(w);
}

/* Waits for a run without a terminal.  Signals SIGINT/SIGTERM (and SIGHUP
 * unless keep) stop it at a resumable point; a second one stops it at once. */
static void wait_run(struct wiz *w, int keep)
{
	sigset_t sigs, old;
	int stops = w->stopping;
	int64_t last_log = mono_ms();

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	while (engine_running(w->run)) {
		struct timespec ts = {0, 200 * 1000000L};
		int sig = sigtimedwait(&sigs, NULL, &ts);

		if (sig == SIGHUP && keep)
			continue;
		if (sig > 0) {
			stops++;
			log_info("wizard: signal %d: stopping the transfer %s", sig,
			         stops > 1 ? "now" : "at a resumable point");
			engine_stop(w->run, stops > 1);
		}
		if (mono_ms() - last_log >= 60000) {
			struct wiz_totals t;

			last_log = mono_ms();
			take_snapshot(w);
			wiz_totals(w, &t);
			log_info("wizard (headless): %zu synced, %zu failed, %zu to go", t.synced,
			         t.failed, t.remaining);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int summary_status(const struct mf_run_summary *s)
{
	if (s->batch_error || s->interrupted)
		return MF_EXIT_RESUMABLE;
	if (s->failed && !s->synced)
		return MF_EXIT_ALLFAILED;
	if (s->failed)
		return MF_EXIT_PARTIAL;
	return MF_EXIT_OK;
}

void wiz_finish(struct wiz *w, enum ui_end end, struct ui_wizard_result *res)
{
	res->end = end;
	res->interrupted = 0;
	res->headless_status = -1;
	wiz_detach(w);
	w->checks_queued = 0;
	if (w->checks) {
		checks_cancel(w->checks);
		finish_checks(w);
	}
	if (w->run) {
		if (end == UI_END_HANGUP && w->keep_running && !w->stopping) {
			log_info("wizard: the terminal went away; the transfer goes on headless "
			         "(--keep-running)");
			wait_run(w, 1);
			finish_run(w);
			res->headless_status = summary_status(&w->last_sum);
		} else {
			if (end != UI_END_HANGUP) {
				fprintf(stderr, "mailferry: stopping the transfer at a resumable "
				                "point...\n");
				fflush(stderr);
			}
			log_info("wizard: %s: stopping the transfer at a resumable point",
			         ui_end_name(end));
			engine_stop(w->run, 0);
			w->stopping = 1;
			wait_run(w, 0);
			finish_run(w);
			res->interrupted = w->last_sum.interrupted;
		}
	}
	if (w->job_active) {
		pthread_join(w->job_thread, NULL);
		w->job_active = 0;
	}
}

/* ---------------------------------------------------------------- batches */

static int busy_err(struct wiz *w, struct mf_err *err)
{
	if (w->run)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_LOCKED,
		               "a transfer is running: stop it first (resumable)");
	if (w->checks)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_LOCKED,
		               "the checks of step %d are running: wait for them", w->checks_step);
	if (w->job_active)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_LOCKED, "%s is running",
		               wiz_action_name(w->job_act));
	return 0;
}

int wiz_can_edit(struct wiz *w, struct mf_err *err)
{
	if (!w->batch)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "no batch is open");
	return busy_err(w, err);
}

int wiz_secret_stored(struct wiz *w, const char *which)
{
	struct mf_secret *s = NULL;
	struct mf_err err;
	int have;

	if (!w->batch || batch_get_secret(w->batch, which, &s, &err) < 0)
		return 0;
	have = s != NULL;
	secret_free(s);
	return have;
}

int wiz_open_batch(struct wiz *w, const char *name, struct mf_err *err)
{
	struct mf_batch *b;

	if (busy_err(w, err) < 0)
		return -1;
	if (batch_open(name, BATCH_LOCK, &b, err) < 0)
		return -1;
	if (w->batch)
		drop_batch(w);
	w->batch = b;
	if (log_open(batch_log_path(b), err) < 0)
		log_close(); /* the wizard works without its log */
	log_info("wizard: batch %s opened", name);
	load_steps(w);
	load_rows(w);
	update_banner(w);
	return 0;
}

int wiz_close_batch(struct wiz *w, struct mf_err *err)
{
	if (busy_err(w, err) < 0)
		return -1;
	if (w->batch)
		drop_batch(w);
	update_banner(w);
	return 0;
}

struct mf_batch *wiz_batch(struct wiz *w)
{
	return w->batch;
}

const struct mf_batch_settings *wiz_settings(struct wiz *w)
{
	return w->batch ? batch_settings(w->batch) : NULL;
}

static char *last_batch_path(void)
{
	char *root = fs_state_root(), *p;

	if (!root)
		return NULL;
	p = fs_join(root, LAST_BATCH_FILE);
	free(root);
	return p;
}

void wiz_remember(const char *name)
{
	char *root = fs_state_root(), *path = last_batch_path(), *line = NULL;
	struct mf_err err;

	if (root && path && fs_mkdir_private(root, &err) == 0 &&
	    (line = mf_sprintf("%s\n", name)) &&
	    fs_write_atomic(path, line, strlen(line), &err) < 0)
		log_warn("wizard: cannot remember the last batch: %s", err.msg);
	free(line);
	free(root);
	free(path);
}

char *wiz_last_batch(void)
{
	char *path = last_batch_path(), *name = NULL, *dir, *ledger;
	struct mf_buf buf;
	struct mf_err err;

	buf_init(&buf, 4096);
	if (path && fs_read_file(path, &buf, 4096, &err) == 0 && buf.data) {
		size_t len = strcspn(buf.data, "\r\n");

		buf.data[len] = 0;
		if (batch_name_valid(buf.data) && (dir = batch_dir(buf.data))) {
			ledger = fs_join(dir, "ledger.db");
			if (ledger && access(ledger, F_OK) == 0)
				name = mf_strdup(buf.data);
			free(ledger);
			free(dir);
		}
	}
	buf_free(&buf);
	free(path);
	return name;
}

int wiz_create_batch(const struct mf_batch_settings *s, const char *csv_path,
                     const struct batch_secrets *sec, struct csvin_result *problems,
                     struct mf_err *err)
{
	return batch_create(s, csv_path, sec, problems, err);
}

/* ---------------------------------------------------------------- settings */

int wiz_save_settings(struct wiz *w, const struct mf_batch_settings *s, struct mf_err *err)
{
	if (wiz_can_edit(w, err) < 0)
		return -1;
	if (batch_save_settings(w->batch, s, err) < 0)
		return -1;
	log_info("wizard: settings of batch %s saved", batch_settings(w->batch)->name);
	return 0;
}

int wiz_set_secret(struct wiz *w, const char *which, const struct mf_secret *s, struct mf_err *err)
{
	if (wiz_can_edit(w, err) < 0 || batch_set_secret(w->batch, which, s, err) < 0)
		return -1;
	return 0;
}

int wiz_import_csv(struct wiz *w, const char *path, struct csvin_result *problems,
                   struct mf_err *err)
{
	memset(problems, 0, sizeof(*problems));
	if (wiz_can_edit(w, err) < 0 || batch_import_csv(w->batch, path, problems, err) < 0)
		return -1;
	load_rows(w);
	return 0;
}

const struct csvin_result *wiz_csv_rows(struct wiz *w, struct mf_err *err)
{
	const struct csvin_result *r;

	if (!w->batch) {
		mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "no batch is open");
		return NULL;
	}
	if (batch_rows(w->batch, &r, err) < 0)
		return NULL;
	return r;
}

/* ---------------------------------------------------------------- busy */

int wiz_running(struct wiz *w)
{
	return w->run != NULL;
}

int wiz_checks_running(struct wiz *w)
{
	return w->checks ? w->checks_step : 0;
}

int wiz_action_running(struct wiz *w)
{
	return w->job_active;
}

/* ---------------------------------------------------------------- checks */

/* One run of checks at a time (each bounds its own connections per server);
 * asking for another step meanwhile queues it rather than refusing: an admin
 * who moves on to the next step and presses r expects its checks to happen. */
int wiz_checks_start(struct wiz *w, int step, struct mf_err *err)
{
	struct mf_checks_opts o = {.step = step, .wake_fd = w->pipe_w};

	if (!w->batch)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "no batch is open");
	if (w->checks && w->checks_step == step)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_LOCKED,
		               "the checks of step %d are already running", step);
	if (w->checks) {
		w->checks_queued |= 1u << step;
		return 0;
	}
	if (w->job_active)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_LOCKED, "%s is running",
		               wiz_action_name(w->job_act));
	if (checks_start(w->batch, &o, &w->checks, err) < 0)
		return -1;
	w->checks_queued &= ~(1u << step);
	w->checks_step = step;
	w->cache_stale = 1;
	log_info("wizard: checks of step %d started", step);
	poll_work(w); /* a step without checks is over at once */
	return 0;
}

int wiz_checks_queued(struct wiz *w, int step)
{
	return step >= 1 && step <= MF_STEPS && (w->checks_queued & (1u << step));
}

void wiz_checks_cancel(struct wiz *w)
{
	w->checks_queued = 0;
	if (w->checks)
		checks_cancel(w->checks);
}

const struct ledger_check *wiz_checks(struct wiz *w, int step, size_t *n)
{
	struct mf_err err;

	if (w->batch && (w->cache_step != step || w->cache_stale)) {
		ledger_checks_free(w->cache, w->ncache);
		w->cache = NULL;
		w->ncache = 0;
		if (ledger_checks(batch_ledger(w->batch), step, &w->cache, &w->ncache, &err) < 0) {
			log_warn("wizard: cannot read the results of step %d: %s", step, err.msg);
			w->cache = NULL;
			w->ncache = 0;
		}
		w->cache_step = step;
		w->cache_stale = 0;
	}
	*n = w->cache_step == step ? w->ncache : 0;
	return w->cache;
}

/* ---------------------------------------------------------------- transfers */

int wiz_run_start(struct wiz *w, enum wiz_run_kind kind, struct mf_err *err)
{
	struct mf_run_opts o = {.kind = kind == WIZ_RUN_VERIFY ? MF_RUN_VERIFY : MF_RUN_MIGRATE,
	                        .dry_run = kind == WIZ_RUN_DRY,
	                        .wake_fd = w->pipe_w};

	if (!w->batch)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "no batch is open");
	if (w->run)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_LOCKED, "a transfer is already running");
	if (w->job_active)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_LOCKED, "%s is running",
		               wiz_action_name(w->job_act));
	if (w->checks)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_LOCKED,
		               "the checks of step %d are running: wait for them", w->checks_step);
	load_rows(w); /* a fresh start: the ledger's view, then the engine's */
	if (engine_start(w->batch, &o, &w->run, err) < 0) {
		w->run = NULL;
		return -1;
	}
	w->run_kind = kind;
	w->stopping = 0;
	memset(&w->live, 0, sizeof(w->live));
	w->live.eta_s = -1;
	log_info("wizard: %s started", kind == WIZ_RUN_VERIFY ? "verification"
	                               : kind == WIZ_RUN_DRY  ? "dry run"
	                                                      : "migration");
	update_banner(w);
	take_snapshot(w);
	return 0;
}

void wiz_run_stop(struct wiz *w, int hard)
{
	if (!w->run)
		return;
	engine_stop(w->run, hard);
	w->stopping = 1 + !!hard;
	log_info("wizard: stopping the transfer %s", hard ? "now" : "at a resumable point");
}

int wiz_run_stopping(struct wiz *w)
{
	return w->run ? w->stopping : 0;
}

/* ---------------------------------------------------------------- mailbox detail */

int wiz_mailbox_load(struct wiz *w, int64_t id, struct wiz_mailbox *out, struct mf_err *err)
{
	struct ledger *l;
	struct ledger_folder *f = NULL;
	size_t nf = 0;

	memset(out, 0, sizeof(*out));
	if (!w->batch)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "no batch is open");
	l = batch_ledger(w->batch);
	if (ledger_mailbox_get(l, id, &out->m, err) < 0)
		return -1;
	if (ledger_folders(l, id, &f, &nf, err) < 0) {
		wiz_mailbox_clear(out);
		return -1;
	}
	out->folders = xcalloc(nf ? nf : 1, sizeof(*out->folders));
	for (size_t i = 0; i < nf; i++) {
		out->folders[i].f = f[i];
		if (ledger_msgs_count(l, f[i].id, &out->folders[i].copied,
		                      &out->folders[i].copied_bytes, err) < 0)
			out->folders[i].copied = out->folders[i].copied_bytes = 0;
	}
	out->nfolders = nf;
	free(f); /* the fields moved into out->folders */
	if (ledger_skips(l, id, &out->skips, &out->nskips, err) < 0) {
		out->skips = NULL;
		out->nskips = 0;
	}
	return 0;
}

void wiz_mailbox_clear(struct wiz_mailbox *m)
{
	ledger_mailbox_clear(&m->m);
	for (size_t i = 0; i < m->nfolders; i++)
		ledger_folder_clear(&m->folders[i].f);
	free(m->folders);
	ledger_skips_free(m->skips, m->nskips);
	memset(m, 0, sizeof(*m));
}

/* ---------------------------------------------------------------- actions */

const char *wiz_action_name(enum wiz_action a)
{
	switch (a) {
	case WIZ_ACT_NOTICES:
		return "Sending the notices";
	case WIZ_ACT_WELCOME:
		return "Sending the welcome messages";
	case WIZ_ACT_FINISH:
		return "Finishing the batch";
	}
	return "?";
}

/* Without the checks' action (see the pragmas above): what finishing means,
 * done with the batch API. */
static void *job_main(void *arg)
{
	struct wiz *w = arg;
	struct mf_checks_opts o = {.wake_fd = w->pipe_w};

	memset(&w->job_res, 0, sizeof(w->job_res));
	switch (w->job_act) {
	case WIZ_ACT_NOTICES:
		w->job_rc = action_send_notices(w->batch, w->job_dry, &o, &w->job_res, &w->job_err);
		break;
	case WIZ_ACT_WELCOME:
		w->job_rc = action_send_welcome(w->batch, w->job_dry, &o, &w->job_res, &w->job_err);
		break;
	case WIZ_ACT_FINISH:
		w->job_rc = action_finish_batch(w->batch, &w->job_res, &w->job_err);
		break;
	}
	atomic_store(&w->job_done, 1);
	wake(w->pipe_w);
	return NULL;
}

int wiz_action_start(struct wiz *w, enum wiz_action a, struct mf_err *err)
{
	sigset_t all, old;
	int rc;

	if (wiz_can_edit(w, err) < 0)
		return -1;
	/* the CSV rows are loaded here, on this thread, before the action's
	 * thread may read them (batch_rows loads them on first use) */
	if (!wiz_csv_rows(w, err))
		return -1;
	w->job_act = a;
	w->job_dry = w->dry_mode && a != WIZ_ACT_FINISH;
	w->job_rc = 0;
	mf_err_clear(&w->job_err);
	atomic_store(&w->job_done, 0);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* signals stay with the UI thread */
	rc = pthread_create(&w->job_thread, NULL, job_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_INTERNAL, "cannot start a thread");
	w->job_active = 1;
	log_info("wizard: %s%s", wiz_action_name(a), w->job_dry ? " (dry run)" : "");
	return 0;
}

const char *wiz_action_outcome(struct wiz *w, int *failed)
{
	if (failed)
		*failed = w->outcome_failed;
	return w->outcome;
}
