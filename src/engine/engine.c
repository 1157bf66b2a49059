/* mailferry - the transfer engine: worker pool, progress records, snapshots */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "batch/ledger.h"
#include "batch/tenant.h"
#include "engine.h"
#include "engine/engine_p.h"
#include "m365/oauth.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

/* ---------------------------------------------------------------- helpers */

int run_stopping(const struct mf_run *r)
{
	return atomic_load(&r->stop) != 0;
}

int run_sleep(struct mf_run *r, long ms)
{
	while (ms > 0) {
		long step = ms > 100 ? 100 : ms;

		if (run_stopping(r))
			return 1;
		sleep_ms(step);
		ms -= step;
	}
	return run_stopping(r);
}

void run_wake(struct mf_run *r, int force)
{
	int64_t now = mono_ms();
	char byte = 1;

	if (r->opts.wake_fd < 0)
		return;
	if (!force && now - r->last_wake_ms < 100)
		return; /* the UI redraws at most ~10 times a second anyway */
	r->last_wake_ms = now;
	(void)!write(r->opts.wake_fd, &byte, 1); /* non-blocking: a full pipe is fine */
}

void run_event(struct mf_run *r, const struct mf_event *ev)
{
	if (r->opts.on_event)
		r->opts.on_event(ev, r->opts.event_aux);
}

void run_add_flag_changes(struct mf_run *r, uint64_t n)
{
	pthread_mutex_lock(&r->lock);
	r->sum.flags_changed += n;
	pthread_mutex_unlock(&r->lock);
}

static void job_event(struct mf_run *r, struct mailbox_job *job, enum mf_event_kind kind,
		      const char *text)
{
	struct mf_event ev = {.kind = kind,
			      .mailbox_id = job->mb.id,
			      .email = job->mb.email,
			      .state = job->prog.state,
			      .folder = job->prog.folder,
			      .text = text,
			      .msgs_done = job->prog.msgs_done,
			      .msgs_total = job->prog.msgs_total,
			      .bytes_done = job->prog.bytes_done,
			      .bytes_total = job->prog.bytes_total};

	run_event(r, &ev);
}

void job_set_state(struct mf_run *r, struct mailbox_job *job, enum mbx_state st, const char *error)
{
	pthread_mutex_lock(&r->lock);
	job->prog.state = st;
	if (error)
		snprintf(job->prog.last_error, sizeof(job->prog.last_error), "%s", error);
	else if (st == MBX_CONNECTING || st == MBX_SYNCED)
		job->prog.last_error[0] = 0;
	if (st == MBX_SYNCED || st == MBX_FAILED || st == MBX_STOPPED)
		job->prog.folder[0] = 0;
	pthread_mutex_unlock(&r->lock);
	job_event(r, job, MF_EV_MAILBOX, error);
	run_wake(r, 1);
}

void job_set_folder(struct mf_run *r, struct mailbox_job *job, const char *folder)
{
	pthread_mutex_lock(&r->lock);
	snprintf(job->prog.folder, sizeof(job->prog.folder), "%s", folder ? folder : "");
	pthread_mutex_unlock(&r->lock);
	job_event(r, job, MF_EV_FOLDER, NULL);
	run_wake(r, 0);
}

void job_set_totals(struct mf_run *r, struct mailbox_job *job, uint64_t msgs_total,
		    uint64_t msgs_done, uint64_t bytes_total, uint64_t bytes_done)
{
	pthread_mutex_lock(&r->lock);
	job->prog.msgs_total = msgs_total;
	job->prog.msgs_done = msgs_done;
	job->prog.bytes_total = bytes_total;
	job->prog.bytes_done = bytes_done;
	job->prog.totals_known = 1;
	job->nsamples = 0;
	pthread_mutex_unlock(&r->lock);
	run_wake(r, 1);
}

/* Rate over the samples of the last 10 seconds. Caller holds r->lock. */
static void update_rate(struct mailbox_job *job, int64_t now)
{
	unsigned oldest = job->sample_pos;
	int64_t dt;

	if (job->nsamples < 2) {
		job->prog.rate_bytes = job->prog.rate_msgs = 0;
		return;
	}
	if (job->nsamples < RATE_SAMPLES)
		oldest = 0;
	for (unsigned k = 0; k < job->nsamples; k++) {
		unsigned i = (oldest + k) % RATE_SAMPLES;

		if (now - job->samples[i].t_ms <= 10000) {
			oldest = i;
			break;
		}
	}
	{
		unsigned newest = (job->sample_pos + RATE_SAMPLES - 1) % RATE_SAMPLES;

		dt = job->samples[newest].t_ms - job->samples[oldest].t_ms;
		if (dt <= 0)
			return;
		job->prog.rate_bytes =
			(double)(job->samples[newest].bytes - job->samples[oldest].bytes) * 1000.0 /
			(double)dt;
		job->prog.rate_msgs =
			(double)(job->samples[newest].msgs - job->samples[oldest].msgs) * 1000.0 /
			(double)dt;
	}
}

static void update_eta(struct mf_progress *p)
{
	if (!p->totals_known || p->rate_bytes <= 0 || p->bytes_total < p->bytes_done)
		p->eta_s = p->totals_known && p->bytes_done >= p->bytes_total ? 0 : -1;
	else
		p->eta_s = (int64_t)((double)(p->bytes_total - p->bytes_done) / p->rate_bytes);
}

void job_add_done(struct mf_run *r, struct mailbox_job *job, uint64_t msgs, uint64_t bytes,
		  uint64_t skipped)
{
	int64_t now = mono_ms();
	int emit = 0;

	pthread_mutex_lock(&r->lock);
	job->prog.msgs_done += msgs;
	job->prog.bytes_done += bytes;
	job->prog.skipped += skipped;
	job->samples[job->sample_pos].t_ms = now;
	job->samples[job->sample_pos].bytes = job->prog.bytes_done;
	job->samples[job->sample_pos].msgs = job->prog.msgs_done;
	job->sample_pos = (job->sample_pos + 1) % RATE_SAMPLES;
	if (job->nsamples < RATE_SAMPLES)
		job->nsamples++;
	update_rate(job, now);
	update_eta(&job->prog);
	/* msgs counts every message dealt with (the progress bar); skipped ones
	 * were not copied (and a dry run would not copy them either) */
	if (r->opts.kind == MF_RUN_VERIFY) {
		r->sum.msgs_checked += msgs;
	} else if (r->opts.dry_run) {
		r->sum.msgs_planned += msgs - skipped;
		r->sum.bytes_planned += bytes;
	} else {
		r->sum.msgs_copied += msgs - skipped;
		r->sum.bytes_copied += bytes;
	}
	r->sum.skipped += skipped;
	if (now - r->last_progress_ev_ms >= 1000) {
		r->last_progress_ev_ms = now;
		emit = 1;
	}
	pthread_mutex_unlock(&r->lock);
	if (emit)
		job_event(r, job, MF_EV_PROGRESS, NULL);
	run_wake(r, 0);
}

void run_add_verify(struct mf_run *r, const struct mf_verify_folder *v)
{
	pthread_mutex_lock(&r->lock);
	if (mf_grow(&r->verify, &r->capverify, r->nverify + 1, sizeof(*r->verify)) == 0) {
		r->verify[r->nverify] = *v;
		r->verify[r->nverify].email = mf_strdup(v->email);
		r->verify[r->nverify].folder = mf_strdup(v->folder);
		r->verify[r->nverify].detail = v->detail ? mf_strdup(v->detail) : NULL;
		r->nverify++;
		r->sum.verify_missing += v->missing;
		r->sum.verify_duplicates += v->duplicates;
	}
	pthread_mutex_unlock(&r->lock);
}

/* ---------------------------------------------------------------- pacing */

static void pace_init(struct pace *p, uint64_t bytes_per_s, double msgs_per_s)
{
	pthread_mutex_init(&p->lock, NULL);
	p->bytes_per_s = bytes_per_s;
	p->msgs_per_s = msgs_per_s;
	p->last_ms = mono_ms();
}

/* Token buckets with a one-second burst: waits until the batch may spend. */
void pace_take(struct mf_run *r, uint64_t bytes, uint64_t msgs)
{
	struct pace *p = &r->pace;
	long wait_ms = 0;

	if (!p->bytes_per_s && p->msgs_per_s <= 0)
		return;
	pthread_mutex_lock(&p->lock);
	{
		int64_t now = mono_ms();
		double dt = (double)(now - p->last_ms) / 1000.0;

		p->last_ms = now;
		if (p->bytes_per_s) {
			p->byte_tokens += dt * (double)p->bytes_per_s;
			if (p->byte_tokens > (double)p->bytes_per_s)
				p->byte_tokens = (double)p->bytes_per_s;
			p->byte_tokens -= (double)bytes;
			if (p->byte_tokens < 0)
				wait_ms = (long)(-p->byte_tokens * 1000.0 / (double)p->bytes_per_s);
		}
		if (p->msgs_per_s > 0) {
			long w;

			p->msg_tokens += dt * p->msgs_per_s;
			if (p->msg_tokens > p->msgs_per_s)
				p->msg_tokens = p->msgs_per_s;
			p->msg_tokens -= (double)msgs;
			w = p->msg_tokens < 0 ? (long)(-p->msg_tokens * 1000.0 / p->msgs_per_s) : 0;
			if (w > wait_ms)
				wait_ms = w;
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (wait_ms > 0)
		run_sleep(r, wait_ms);
}

/* ---------------------------------------------------------------- the pool */

static struct mailbox_job *next_job(struct mf_run *r)
{
	struct mailbox_job *job = NULL;

	pthread_mutex_lock(&r->lock);
	if (!run_stopping(r) && r->next_job < r->njobs)
		job = &r->jobs[r->next_job++];
	pthread_mutex_unlock(&r->lock);
	return job;
}

static void *worker_main(void *arg)
{
	struct mf_run *r = arg;
	struct mailbox_job *job;

	while ((job = next_job(r)))
		mailbox_run(r, job);
	if (atomic_fetch_sub(&r->live_workers, 1) == 1) {
		r->end_ms = mono_ms();
		run_wake(r, 1);
	}
	return NULL;
}

static int wanted(const struct mf_run *r, const struct ledger_mailbox *m)
{
	if (r->only && strcasecmp(r->only, m->email))
		return 0;
	if (r->opts.retry_failed_only && m->state == MBX_SYNCED)
		return 0;
	return 1;
}

static int load_jobs(struct mf_run *r, struct mf_err *err)
{
	struct ledger_mailbox *all;
	size_t n, k = 0;

	if (ledger_mailboxes(r->ledger, &all, &n, err))
		return -1;
	r->jobs = mf_calloc(n ? n : 1, sizeof(*r->jobs));
	if (!r->jobs) {
		ledger_mailboxes_free(all, n);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	for (size_t i = 0; i < n; i++) {
		if (!wanted(r, &all[i])) {
			ledger_mailbox_clear(&all[i]);
			continue;
		}
		struct mailbox_job *job = &r->jobs[k++];

		/* We hold the batch's lock: a mailbox still marked as being worked on
		 * was interrupted (a crash, kill -9). */
		if (!r->opts.dry_run && r->opts.kind == MF_RUN_MIGRATE &&
		    (all[i].state == MBX_CONNECTING || all[i].state == MBX_SYNCING)) {
			all[i].state = MBX_STOPPED;
			ledger_mailbox_set_state(r->ledger, all[i].id, MBX_STOPPED,
						 "interrupted; resumed by this run", err);
		}
		job->mb = all[i];
		job->prog.id = all[i].id;
		snprintf(job->prog.email, sizeof(job->prog.email), "%s", all[i].email);
		job->prog.state = MBX_QUEUED;
		job->prog.eta_s = -1;
	}
	free(all);
	r->njobs = k;
	if (r->only && !k)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_NOTFOUND, "%s is not a mailbox of this batch",
			       r->only);
	return 0;
}

static void free_run(struct mf_run *r)
{
	for (size_t i = 0; i < r->njobs; i++)
		ledger_mailbox_clear(&r->jobs[i].mb);
	free(r->jobs);
	free(r->threads);
	free(r->spool_dir);
	free(r->only);
	mf_verify_folders_free(r->verify, r->nverify);
	oauth_client_free(r->oauth);
	if (r->trace)
		fclose(r->trace);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->pace.lock);
	free(r);
}

static int open_trace(struct mf_run *r, struct mf_err *err)
{
	int fd;

	if (!r->opts.trace_path)
		return 0;
	fd = fs_open_private(r->opts.trace_path, O_WRONLY | O_CREAT | O_APPEND, err);
	if (fd < 0)
		return -1;
	if (!(r->trace = fdopen(fd, "a"))) {
		close(fd);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	return 0;
}

static int start_threads(struct mf_run *r, struct mf_err *err)
{
	sigset_t all, old;
	unsigned want = r->opts.workers ? r->opts.workers : r->set->concurrency;

	if (want < 1)
		want = 1;
	if (want > 256)
		want = 256;
	if (want > r->njobs)
		want = r->njobs ? (unsigned)r->njobs : 1;
	if (!(r->threads = mf_calloc(want, sizeof(*r->threads))))
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	/* Workers never see signals: the caller's thread (the UI or the CLI)
	 * handles SIGINT, SIGHUP, SIGTERM and SIGWINCH. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	atomic_store(&r->live_workers, (int)want);
	for (unsigned i = 0; i < want; i++) {
		if (pthread_create(&r->threads[i], NULL, worker_main, r)) {
			atomic_fetch_sub(&r->live_workers, (int)(want - i));
			atomic_store(&r->stop, 2);
			break;
		}
		r->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!r->nthreads)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_INTERNAL, "cannot start worker threads");
	return 0;
}

int engine_start(struct mf_batch *b, const struct mf_run_opts *o, struct mf_run **out,
		 struct mf_err *err)
{
	struct mf_run *r = mf_calloc(1, sizeof(*r));
	const struct csvin_result *rows;

	*out = NULL;
	if (!r)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	pthread_mutex_init(&r->lock, NULL);
	r->batch = b;
	r->ledger = batch_ledger(b);
	r->set = batch_settings(b);
	r->opts = *o; /* only and trace_path are borrowed: copied or used right here */
	r->opts.only = NULL;
	pace_init(&r->pace, r->set->bandwidth, r->set->msg_rate);
	if ((o->only && !(r->only = mf_strdup(o->only))) ||
	    !(r->spool_dir = fs_join(batch_path(b), "spool"))) {
		free_run(r);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	/* Load the CSV's credentials once, before any thread reads them. */
	if ((r->set->target.auth == MF_AUTH_OAUTH2 && batch_oauth_client(b, &r->oauth, err)) ||
	    batch_rows(b, &rows, err) || load_jobs(r, err) || open_trace(r, err) ||
	    ledger_run_start(r->ledger, o->kind == MF_RUN_VERIFY ? "verify" : "migrate", o->dry_run,
			     &r->run_id, err)) {
		free_run(r);
		return -1;
	}
	r->opts.trace_path = NULL;
	r->sum.mailboxes = r->njobs;
	r->start_ms = mono_ms();
	log_info("%s %s of batch %s: %zu mailbox%s, %u at a time%s",
		 o->dry_run ? "dry run" : "starting",
		 o->kind == MF_RUN_VERIFY ? "verification" : "migration", r->set->name, r->njobs,
		 r->njobs == 1 ? "" : "es", o->workers ? o->workers : r->set->concurrency,
		 o->dry_run ? " (nothing is written to the target)" : "");
	if (start_threads(r, err)) {
		engine_wait(r, NULL);
		free_run(r);
		return -1;
	}
	*out = r;
	return 0;
}

void engine_stop(struct mf_run *r, int hard)
{
	int want = hard ? 2 : 1;

	if (atomic_load(&r->stop) < want) {
		if (want == 1)
			r->soft_stop_ms = mono_ms();
		atomic_store(&r->stop, want);
	}
}

int engine_running(struct mf_run *r)
{
	int live = atomic_load(&r->live_workers) > 0;

	if (live && atomic_load(&r->stop) == 1 && mono_ms() - r->soft_stop_ms > ENGINE_STOP_GRACE_MS) {
		log_warn("the stop at a resumable point is taking too long (a server not "
			 "answering?): abandoning the commands in flight, still resumable");
		atomic_store(&r->stop, 2);
	}
	return live;
}

int engine_snapshot(struct mf_run *r, struct mf_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	if (!(s->mb = mf_calloc(r->njobs ? r->njobs : 1, sizeof(*s->mb))))
		return -1;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->njobs; i++) {
		const struct mf_progress *p = &r->jobs[i].prog;

		s->mb[i] = *p;
		s->msgs_done += p->msgs_done;
		s->msgs_total += p->msgs_total;
		s->bytes_done += p->bytes_done;
		s->bytes_total += p->bytes_total;
		s->skipped += p->skipped;
		if (p->state == MBX_SYNCING || p->state == MBX_CONNECTING) {
			s->rate_bytes += p->rate_bytes;
			s->rate_msgs += p->rate_msgs;
		}
		if (p->state == MBX_SYNCED)
			s->synced++;
		else if (p->state == MBX_FAILED)
			s->failed++;
		else
			s->remaining++;
	}
	s->n = r->njobs;
	s->dry_run = r->opts.dry_run;
	s->kind = r->opts.kind;
	pthread_mutex_unlock(&r->lock);
	s->running = engine_running(r);
	s->elapsed_ms = (s->running ? mono_ms() : r->end_ms) - r->start_ms;
	s->eta_s = s->rate_bytes > 0 && s->bytes_total > s->bytes_done
			   ? (int64_t)((double)(s->bytes_total - s->bytes_done) / s->rate_bytes)
			   : (s->running ? -1 : 0);
	snprintf(s->log_path, sizeof(s->log_path), "%s", log_path() ? log_path() : "");
	return 0;
}

void engine_snapshot_free(struct mf_snapshot *s)
{
	free(s->mb);
	memset(s, 0, sizeof(*s));
}

static const char *run_result(const struct mf_run_summary *s)
{
	if (s->batch_error || s->interrupted)
		return "interrupted";
	if (s->failed && !s->synced)
		return "failed";
	if (s->failed)
		return "partial";
	return "synced";
}

void engine_wait(struct mf_run *r, struct mf_run_summary *sum)
{
	struct mf_err err;

	for (unsigned i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i], NULL);
	r->nthreads = 0;
	if (!r->end_ms)
		r->end_ms = mono_ms();
	pthread_mutex_lock(&r->lock);
	r->sum.synced = r->sum.failed = r->sum.stopped = 0;
	for (size_t i = 0; i < r->njobs; i++) {
		enum mbx_state st = r->jobs[i].prog.state;

		if (st == MBX_SYNCED)
			r->sum.synced++;
		else if (st == MBX_FAILED)
			r->sum.failed++;
		else
			r->sum.stopped++;
	}
	if (r->sum.stopped)
		r->sum.interrupted = 1;
	r->sum.elapsed_ms = r->end_ms - r->start_ms;
	if (r->opts.dry_run && r->sum.elapsed_ms > 0)
		r->sum.read_rate_bytes = (double)r->sum.bytes_planned * 1000.0 /
					 (double)r->sum.elapsed_ms;
	pthread_mutex_unlock(&r->lock);
	if (r->run_id &&
	    ledger_run_end(r->ledger, r->run_id, run_result(&r->sum),
			   r->opts.dry_run ? r->sum.msgs_planned : r->sum.msgs_copied,
			   r->opts.dry_run ? r->sum.bytes_planned : r->sum.bytes_copied, &err))
		log_warn("cannot record the end of the run: %s", err.msg);
	r->run_id = 0;
	log_info("run ended: %zu synced, %zu failed, %zu not finished; %llu messages copied, "
		 "%llu skipped",
		 r->sum.synced, r->sum.failed, r->sum.stopped,
		 (unsigned long long)r->sum.msgs_copied, (unsigned long long)r->sum.skipped);
	{
		struct mf_event ev = {.kind = MF_EV_DONE, .text = run_result(&r->sum)};

		run_event(r, &ev);
	}
	if (sum)
		*sum = r->sum;
	run_wake(r, 1);
}

void engine_free(struct mf_run *r)
{
	if (!r)
		return;
	if (r->nthreads) {
		engine_stop(r, 2);
		engine_wait(r, NULL);
	}
	free_run(r);
}

void mf_verify_folders_free(struct mf_verify_folder *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].email);
		free(v[i].folder);
		free(v[i].detail);
	}
	free(v);
}

int engine_verify_results(struct mf_run *r, struct mf_verify_folder **out, size_t *n)
{
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	*out = mf_calloc(r->nverify ? r->nverify : 1, sizeof(**out));
	*n = 0;
	if (!*out) {
		rc = -1;
	} else {
		for (size_t i = 0; i < r->nverify; i++) {
			(*out)[i] = r->verify[i];
			(*out)[i].email = mf_strdup(r->verify[i].email);
			(*out)[i].folder = mf_strdup(r->verify[i].folder);
			(*out)[i].detail = r->verify[i].detail ? mf_strdup(r->verify[i].detail) : NULL;
		}
		*n = r->nverify;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}
