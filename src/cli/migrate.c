/* mailferry - `mailferry migrate` and `mailferry verify`, headless
 *
 * Runs the engine on a batch and reports as it goes: human-readable lines, or
 * JSON Lines with --json (one event per mailbox state change, a progress line
 * at most once a second, a final summary).  Ctrl-C or SIGTERM stops at a
 * resumable point (a second one stops at once, still resumable); a hangup
 * does the same unless --keep-running.  --every 24h keeps running delta syncs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "batch/ledger.h"
#include "cli/cli.h"
#include "cli/cliutil.h"
#include "engine.h"
#include "exitcodes.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"

struct run_args {
	const char *batch;
	int json, dry_run, keep_running, retry_failed;
	long every_s;
	unsigned workers;
	const char *only, *trace;
	enum mf_run_kind kind;
};

/* ---------------------------------------------------------------- events */

static void human_event(const struct mf_event *ev, const struct run_args *a)
{
	char b1[32], b2[32];

	switch (ev->kind) {
	case MF_EV_MAILBOX:
		if (ev->state == MBX_SYNCED)
			printf("%s: %s%s (%llu messages, %s)\n", ev->email,
			       a->kind == MF_RUN_VERIFY ? "verified" : "Synced",
			       a->dry_run ? " (dry run)" : "", (unsigned long long)ev->msgs_total,
			       cli_bytes(ev->bytes_total, b1, sizeof(b1)));
		else if (ev->state == MBX_FAILED || ev->state == MBX_STOPPED)
			printf("%s: %s: %s\n", ev->email, mbx_state_name(ev->state),
			       ev->text ? ev->text : "");
		else if (ev->state == MBX_CONNECTING && ev->text)
			printf("%s: retrying after: %s\n", ev->email, ev->text);
		break;
	case MF_EV_SKIPPED:
		printf("%s: %s: a message was skipped: %s\n", ev->email,
		       ev->folder ? ev->folder : "", ev->text ? ev->text : "");
		break;
	case MF_EV_WARNING:
		printf("%s: %s: %s\n", ev->email, ev->folder ? ev->folder : "",
		       ev->text ? ev->text : "");
		break;
	case MF_EV_PROGRESS:
		(void)b2;
		break;
	default:
		break;
	}
	fflush(stdout);
}

static void json_event(const struct mf_event *ev, const struct run_args *a)
{
	static const char *const types[] = {"mailbox", "folder",   "skipped",
	                                    "warning", "progress", "done"};
	struct mf_buf line;
	struct json_w w;

	if (ev->kind == MF_EV_DONE)
		return; /* the summary line says it */
	jsonl_begin(&w, &line, types[ev->kind]);
	if (a->dry_run)
		json_w_kv_bool(&w, "dry_run", 1);
	if (ev->email)
		json_w_kv_str(&w, "mailbox", ev->email);
	if (ev->kind == MF_EV_MAILBOX)
		json_w_kv_str(&w, "state", mbx_state_name(ev->state));
	if (ev->folder && ev->folder[0])
		json_w_kv_str(&w, "folder", ev->folder);
	if (ev->text)
		json_w_kv_str(&w, ev->kind == MF_EV_MAILBOX ? "error" : "reason", ev->text);
	if (ev->kind == MF_EV_MAILBOX || ev->kind == MF_EV_PROGRESS) {
		json_w_kv_uint(&w, "msgs_done", ev->msgs_done);
		json_w_kv_uint(&w, "msgs_total", ev->msgs_total);
		json_w_kv_uint(&w, "bytes_done", ev->bytes_done);
		json_w_kv_uint(&w, "bytes_total", ev->bytes_total);
	}
	jsonl_end(&w, &line);
}

static void on_event(const struct mf_event *ev, void *aux)
{
	const struct run_args *a = aux;

	if (ev->kind == MF_EV_FOLDER)
		return; /* too chatty for a terminal or a pipe; the log has it */
	if (a->json)
		json_event(ev, a);
	else
		human_event(ev, a);
}

static void print_progress(struct mf_run *run, const struct run_args *a)
{
	struct mf_snapshot s;
	char b1[32], b2[32], eta[32];

	if (engine_snapshot(run, &s))
		return;
	if (a->json) {
		struct mf_buf line;
		struct json_w w;

		jsonl_begin(&w, &line, "run.progress");
		json_w_kv_uint(&w, "synced", s.synced);
		json_w_kv_uint(&w, "failed", s.failed);
		json_w_kv_uint(&w, "remaining", s.remaining);
		json_w_kv_uint(&w, "msgs_done", s.msgs_done);
		json_w_kv_uint(&w, "msgs_total", s.msgs_total);
		json_w_kv_uint(&w, "bytes_done", s.bytes_done);
		json_w_kv_uint(&w, "bytes_total", s.bytes_total);
		json_w_kv_int(&w, "bytes_per_s", (int64_t)s.rate_bytes);
		json_w_kv_int(&w, "eta_s", s.eta_s);
		jsonl_end(&w, &line);
	} else {
		format_duration(eta, sizeof(eta), s.eta_s);
		printf("-- %zu synced, %zu failed, %zu to go; %llu/%llu messages, %s/s, ETA %s\n",
		       s.synced, s.failed, s.remaining, (unsigned long long)s.msgs_done,
		       (unsigned long long)s.msgs_total,
		       cli_bytes((uint64_t)s.rate_bytes, b1, sizeof(b1)),
		       s.eta_s < 0 ? "unknown" : eta);
		(void)b2;
		fflush(stdout);
	}
	engine_snapshot_free(&s);
}

/* ---------------------------------------------------------------- summary */

static int exit_status(const struct mf_run_summary *s, enum mf_run_kind kind)
{
	if (s->batch_error || s->interrupted)
		return MF_EXIT_RESUMABLE;
	/* differences found are a failed check (2), not "every mailbox failed" */
	if (kind == MF_RUN_VERIFY && (s->verify_missing || s->verify_duplicates))
		return MF_EXIT_PARTIAL;
	if (s->failed && !s->synced)
		return MF_EXIT_ALLFAILED;
	if (s->failed)
		return MF_EXIT_PARTIAL;
	return MF_EXIT_OK;
}

static void print_summary(const struct mf_run_summary *s, const struct run_args *a, const char *log)
{
	char b1[32], b2[32], dur[32];

	format_duration(dur, sizeof(dur), s->elapsed_ms / 1000);
	if (a->json) {
		struct mf_buf line;
		struct json_w w;

		jsonl_begin(&w, &line, "summary");
		json_w_kv_str(&w, "kind", a->kind == MF_RUN_VERIFY ? "verify" : "migrate");
		json_w_kv_bool(&w, "dry_run", a->dry_run);
		json_w_kv_uint(&w, "mailboxes", s->mailboxes);
		json_w_kv_uint(&w, "synced", s->synced);
		json_w_kv_uint(&w, "failed", s->failed);
		json_w_kv_uint(&w, "not_finished", s->stopped);
		json_w_kv_uint(&w, "msgs_copied", s->msgs_copied);
		json_w_kv_uint(&w, "bytes_copied", s->bytes_copied);
		json_w_kv_uint(&w, "skipped", s->skipped);
		if (a->kind != MF_RUN_VERIFY)
			json_w_kv_uint(&w, "flags_changed", s->flags_changed);
		if (a->dry_run) {
			json_w_kv_uint(&w, "msgs_to_copy", s->msgs_planned);
			json_w_kv_uint(&w, "bytes_to_copy", s->bytes_planned);
			json_w_kv_uint(&w, "folders_to_create", s->folders_to_create);
			json_w_kv_int(&w, "read_bytes_per_s", (int64_t)s->read_rate_bytes);
		}
		if (a->kind == MF_RUN_VERIFY) {
			json_w_kv_uint(&w, "checked", s->msgs_checked);
			json_w_kv_uint(&w, "missing", s->verify_missing);
			json_w_kv_uint(&w, "duplicates", s->verify_duplicates);
		}
		json_w_kv_int(&w, "elapsed_ms", s->elapsed_ms);
		json_w_kv_bool(&w, "interrupted", s->interrupted);
		if (s->batch_error)
			json_w_kv_str(&w, "error", s->error);
		json_w_kv_str(&w, "log", log);
		json_w_kv_int(&w, "exit", exit_status(s, a->kind));
		jsonl_end(&w, &line);
		return;
	}
	if (a->dry_run)
		printf("\nDry run: nothing was written to the target. A real run would create %zu "
		       "folder%s and copy %llu messages (%s); the source was read at %s/s.\n",
		       s->folders_to_create, s->folders_to_create == 1 ? "" : "s",
		       (unsigned long long)s->msgs_planned,
		       cli_bytes(s->bytes_planned, b1, sizeof(b1)),
		       cli_bytes((uint64_t)s->read_rate_bytes, b2, sizeof(b2)));
	else if (a->kind == MF_RUN_VERIFY)
		printf("\nVerified %zu mailbox%s (%llu source messages): %llu missing on the "
		       "target, "
		       "%llu duplicated.\n",
		       s->mailboxes, s->mailboxes == 1 ? "" : "es",
		       (unsigned long long)s->msgs_checked, (unsigned long long)s->verify_missing,
		       (unsigned long long)s->verify_duplicates);
	else
		printf("\n%zu of %zu mailbox%s synced, %zu failed; %llu messages copied (%s), %llu "
		       "skipped, in %s.\n",
		       s->synced, s->mailboxes, s->mailboxes == 1 ? "" : "es", s->failed,
		       (unsigned long long)s->msgs_copied,
		       cli_bytes(s->bytes_copied, b1, sizeof(b1)), (unsigned long long)s->skipped,
		       dur);
	if (a->kind != MF_RUN_VERIFY && s->flags_changed)
		printf("%s the flags of %llu copied message%s that changed on the source.\n",
		       a->dry_run ? "It would update" : "Updated on the target:",
		       (unsigned long long)s->flags_changed, s->flags_changed == 1 ? "" : "s");
	if (s->batch_error)
		printf("Stopped: %s\n", s->error);
	if (s->interrupted)
		printf("Not finished: run the same command again to resume where it stopped.\n");
	printf("Log: %s\n", log);
}

/* ---------------------------------------------------------------- running */

/* What the main thread sleeps on: the stop signals (blocked in every thread,
 * read through a signalfd) and the engine's wake pipe, which the engine
 * writes when a mailbox changes state and when its last worker ends.  So the
 * end of a run is noticed at once, without polling. */
struct waiter {
	int sig_fd;
	int wake[2];
};

static int waiter_open(struct waiter *w, const sigset_t *sigs)
{
	w->wake[0] = w->wake[1] = -1;
	w->sig_fd = signalfd(-1, sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->sig_fd < 0 || pipe2(w->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
		if (w->sig_fd >= 0)
			close(w->sig_fd);
		return -1;
	}
	return 0;
}

static void waiter_close(struct waiter *w)
{
	close(w->sig_fd);
	close(w->wake[0]);
	close(w->wake[1]);
}

/* Sleeps up to ms; returns the signal that arrived, or 0 (timeout or wake). */
static int waiter_wait(struct waiter *w, int64_t ms)
{
	struct pollfd pfd[2] = {{.fd = w->sig_fd, .events = POLLIN},
	                        {.fd = w->wake[0], .events = POLLIN}};
	struct signalfd_siginfo si;
	char drain[64];

	if (poll(pfd, 2, ms > INT_MAX ? INT_MAX : (int)ms) <= 0)
		return 0;
	while (read(w->wake[0], drain, sizeof(drain)) > 0)
		;
	if (read(w->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		return (int)si.ssi_signo;
	return 0;
}

/* Sleeps until the next --every sync is due; 1 when a signal asks to stop. */
static int sleep_until_next(struct waiter *w, const struct run_args *a)
{
	int64_t due = mono_ms() + (int64_t)a->every_s * 1000, left;

	while ((left = due - mono_ms()) > 0) {
		int sig = waiter_wait(w, left);

		if (sig && !(sig == SIGHUP && a->keep_running))
			return 1;
	}
	return 0;
}

/* Runs once; returns the exit status; *stop_all when a signal asks to quit. */
static int run_once(struct mf_batch *b, struct run_args *a, struct waiter *w, int *stop_all)
{
	struct mf_run_opts o = {.kind = a->kind,
	                        .dry_run = a->dry_run,
	                        .workers = a->workers,
	                        .only = a->only,
	                        .retry_failed_only = a->retry_failed,
	                        .trace_path = a->trace,
	                        .wake_fd = w->wake[1],
	                        .on_event = on_event,
	                        .event_aux = a};
	struct mf_run_summary sum;
	struct mf_run *run;
	struct mf_err err;
	int64_t last = mono_ms();
	int stops = 0;

	if (engine_start(b, &o, &run, &err))
		return cli_fail(a->json, &err);
	if (!a->json)
		printf("%s %s: log in %s\n",
		       a->kind == MF_RUN_VERIFY ? "Verifying"
		       : a->dry_run             ? "Dry run of"
		                                : "Migrating",
		       batch_settings(b)->name, batch_log_path(b));
	while (engine_running(run)) {
		long every = a->json ? 1000 : 10000, due = every - (long)(mono_ms() - last);
		int sig = waiter_wait(w, due < 0 ? 0 : due);

		if (sig == SIGHUP && a->keep_running) {
			log_info("hangup ignored (--keep-running): continuing headless");
			continue;
		}
		if (sig) {
			stops++;
			*stop_all = 1;
			log_info("signal %d: stopping %s", sig,
			         stops > 1 ? "now" : "at a resumable point");
			if (!a->json)
				fprintf(stderr, "\nmailferry: stopping %s...\n",
				        stops > 1 ? "now (still resumable)"
				                  : "at a resumable point (Ctrl-C again to stop "
				                    "now)");
			engine_stop(run, stops > 1);
		}
		if (mono_ms() - last >= every) {
			last = mono_ms();
			print_progress(run, a);
		}
	}
	engine_wait(run, &sum);
	engine_free(run);
	print_summary(&sum, a, batch_log_path(b));
	return exit_status(&sum, a->kind);
}

enum { R_DRY = 256, R_JSON, R_EVERY, R_ONLY, R_TRACE, R_WORKERS, R_KEEP, R_RETRY };

static int parse_run_args(int argc, char **argv, struct cli_globals *g, struct run_args *a)
{
	static const struct option opts[] = {
	        {"dry-run", no_argument, NULL, R_DRY},
	        {"json", no_argument, NULL, R_JSON},
	        {"every", required_argument, NULL, R_EVERY},
	        {"only", required_argument, NULL, R_ONLY},
	        {"trace", required_argument, NULL, R_TRACE},
	        {"workers", required_argument, NULL, R_WORKERS},
	        {"keep-running", no_argument, NULL, R_KEEP},
	        {"retry-failed", no_argument, NULL, R_RETRY},
	        {"batch", required_argument, NULL, 'b'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	a->batch = g->batch;
	a->keep_running = g->keep_running;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "b:h", opts, NULL)) != -1) {
		switch (c) {
		case R_DRY:
			a->dry_run = 1;
			break;
		case R_JSON:
			a->json = 1;
			break;
		case R_EVERY:
			if (cli_parse_duration(optarg, &a->every_s))
				return cli_usage_error(
				        "--every takes a duration such as 24h, not '%s'", optarg);
			break;
		case R_ONLY:
			a->only = optarg;
			break;
		case R_TRACE:
			a->trace = optarg;
			break;
		case R_WORKERS:
			a->workers = (unsigned)strtoul(optarg, NULL, 10);
			if (a->workers < 1 || a->workers > 256)
				return cli_usage_error("--workers takes 1 to 256");
			break;
		case R_KEEP:
			a->keep_running = 1;
			break;
		case R_RETRY:
			a->retry_failed = 1;
			break;
		case 'b':
			a->batch = optarg;
			break;
		case 'h':
			printf("Usage: mailferry %s NAME [--dry-run] [--json] [--every DURATION] "
			       "[--only ADDRESS] [--retry-failed] [--workers N] [--trace FILE] "
			       "[--keep-running]\n",
			       a->kind == MF_RUN_VERIFY ? "verify" : "migrate");
			return -1;
		default:
			return cli_usage_error("unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		a->batch = argv[optind++];
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
}

static int run_command(int argc, char **argv, struct cli_globals *g, enum mf_run_kind kind)
{
	struct run_args a = {.kind = kind};
	struct mf_batch *b;
	struct mf_err err;
	sigset_t sigs;
	struct waiter w;
	int rc, stop_all = 0;

	rc = parse_run_args(argc, argv, g, &a);
	if (rc)
		return rc < 0 ? MF_EXIT_OK : rc;
	if ((rc = cli_open_batch(a.batch, BATCH_LOCK, a.json, &b)))
		return rc;
	if (cli_open_log(b, &err)) {
		batch_close(b);
		return cli_fail(a.json, &err);
	}
	cli_block_stop_signals(&sigs);
	if (waiter_open(&w, &sigs)) {
		mf_fail(&err, MF_SCOPE_BATCH, MF_E_INTERNAL, "cannot set up signal handling: %s",
		        strerror(errno));
		rc = cli_fail(a.json, &err);
	} else {
		for (;;) {
			rc = run_once(b, &a, &w, &stop_all);
			if (!a.every_s || stop_all || rc == MF_EXIT_RESUMABLE)
				break;
			if (!a.json)
				printf("Next delta sync in %ld s (Ctrl-C to stop).\n", a.every_s);
			if (sleep_until_next(&w, &a))
				break;
		}
		waiter_close(&w);
	}
	sigprocmask(SIG_UNBLOCK, &sigs, NULL);
	log_close();
	batch_close(b);
	return rc;
}

int cmd_migrate(int argc, char **argv, struct cli_globals *g)
{
	return run_command(argc, argv, g, MF_RUN_MIGRATE);
}

int cmd_verify(int argc, char **argv, struct cli_globals *g)
{
	return run_command(argc, argv, g, MF_RUN_VERIFY);
}
