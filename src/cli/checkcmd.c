/* mailferry - `mailferry check NAME [--step N] [--json]`: the live prerequisite checks */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "batch.h"
#include "checks.h"
#include "cli/cli.h"
#include "cli/cliutil.h"
#include "exitcodes.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

struct check_args {
	int json;
	int step;
	int last;
	long timeout_s;
	const char *only;
	const char *csv;
};

/* Prints text line by line, the first after first_prefix, the others after prefix. */
static void print_lines(const char *first_prefix, const char *prefix, const char *text)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		printf("%s%.*s\n", p == text ? first_prefix : prefix, len, p);
		p += len + (nl != NULL);
	}
}

static void print_human(const struct mf_check *c)
{
	printf("  %-4s  step %-2d %-22s %s\n", check_status_name(c->status), c->step, c->id,
	       c->title);
	if (c->subject[0])
		printf("        %s\n", c->subject);
	print_lines("        ", "        ", c->detail);
	if (c->remedy[0] && c->status != CHECK_PASS)
		print_lines("        What to do: ", "          ", c->remedy);
	fflush(stdout);
}

static void print_json(const struct mf_check *c)
{
	struct mf_buf line;
	struct json_w w;

	jsonl_begin(&w, &line, "check");
	jsonl_check_fields(&w, c);
	json_w_kv_int(&w, "when", c->when);
	jsonl_end(&w, &line);
}

/* --csv FILE: the census of step 3 as stored, one row per mailbox. */
static int export_census(struct mf_batch *b, const struct check_args *a)
{
	struct mf_err err;
	size_t rows = 0;

	if (checks_census_export(b, a->csv, &rows, &err))
		return cli_fail(a->json, &err);
	if (a->json) {
		struct mf_buf line;
		struct json_w w;

		jsonl_begin(&w, &line, "census");
		json_w_kv_str(&w, "file", a->csv);
		json_w_kv_uint(&w, "mailboxes", rows);
		jsonl_end(&w, &line);
	} else {
		printf("Census of %zu mailbox%s written to %s\n", rows, rows == 1 ? "" : "es",
		       a->csv);
	}
	return MF_EXIT_OK;
}

/* --last: the stored results, without running anything. */
static int show_last(struct mf_batch *b, const struct check_args *a)
{
	struct mf_check *v;
	struct mf_err err;
	size_t n;

	if (checks_last(b, a->step, &v, &n, &err))
		return cli_fail(a->json, &err);
	for (size_t i = 0; i < n; i++) {
		if (a->only && strcmp(a->only, v[i].id) && strcasecmp(a->only, v[i].subject))
			continue;
		if (a->json)
			print_json(&v[i]);
		else
			print_human(&v[i]);
	}
	free(v);
	return MF_EXIT_OK;
}

static void on_result(const struct mf_check *c, void *aux)
{
	const struct check_args *a = aux;

	if (a->json)
		print_json(c);
	else
		print_human(c);
}

int cmd_check(int argc, char **argv, struct cli_globals *g)
{
	static const struct option opts[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"step", required_argument, NULL, 's'},
	        {"only", required_argument, NULL, 'o'},
	        {"batch", required_argument, NULL, 'b'},
	        {"csv", required_argument, NULL, 'c'},
	        {"last", no_argument, NULL, 'l'},
	        {"timeout", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct check_args a = {0};
	struct mf_checks_opts o = {.wake_fd = -1, .on_result = on_result, .aux = &a};
	struct mf_checks_summary sum;
	struct mf_checks_run *run;
	const char *name = g->batch;
	struct mf_batch *b;
	struct mf_err err;
	sigset_t sigs;
	int c, rc, stop = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			a.json = 1;
			break;
		case 's':
			a.step = atoi(optarg);
			if (a.step < 1 || a.step > MF_STEPS)
				return cli_usage_error("--step takes 1 to %d", MF_STEPS);
			break;
		case 'o':
			a.only = optarg;
			break;
		case 'b':
			name = optarg;
			break;
		case 'c':
			a.csv = optarg;
			break;
		case 'l':
			a.last = 1;
			break;
		case 't':
			if (cli_parse_duration(optarg, &a.timeout_s) || a.timeout_s < 1)
				return cli_usage_error(
				        "--timeout takes a duration such as 30s or 2m");
			break;
		case 'h':
			printf("Usage: mailferry check NAME [--step N] [--only ID|GROUP|SUBJECT] "
			       "[--timeout D] [--csv FILE] [--last] [--json]\n");
			return MF_EXIT_OK;
		default:
			return cli_usage_error("unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if ((rc = cli_open_batch(name, 0, a.json, &b)))
		return rc;
	if (cli_open_log(b, &err))
		log_warn("%s", err.msg);
	if (a.last) {
		rc = show_last(b, &a);
		batch_close(b);
		return rc;
	}
	o.step = a.step;
	o.only = a.only;
	o.timeout_ms = a.timeout_s * 1000;
	cli_block_stop_signals(&sigs);
	if (!a.json)
		printf("Checking batch %s%s...\n", batch_settings(b)->name,
		       a.step ? " (one step)" : "");
	if (checks_start(b, &o, &run, &err)) {
		sigprocmask(SIG_UNBLOCK, &sigs, NULL);
		batch_close(b);
		return cli_fail(a.json, &err);
	}
	while (checks_running(run)) {
		struct timespec ts = {0, 200 * 1000000L};

		if (sigtimedwait(&sigs, NULL, &ts) > 0 && !stop) {
			stop = 1;
			checks_cancel(run);
		}
	}
	checks_wait(run, &sum);
	checks_free(run);
	sigprocmask(SIG_UNBLOCK, &sigs, NULL);
	if (a.json) {
		struct mf_buf line;
		struct json_w w;

		jsonl_begin(&w, &line, "summary");
		json_w_kv_uint(&w, "pass", sum.pass);
		json_w_kv_uint(&w, "warn", sum.warn);
		json_w_kv_uint(&w, "fail", sum.fail);
		json_w_kv_uint(&w, "skip", sum.skip);
		json_w_kv_bool(&w, "interrupted", stop);
		jsonl_end(&w, &line);
	} else {
		printf("\n%u passed, %u warning%s, %u failed, %u skipped%s\n", sum.pass, sum.warn,
		       sum.warn == 1 ? "" : "s", sum.fail, sum.skip, stop ? " (interrupted)" : "");
	}
	rc = stop ? MF_EXIT_RESUMABLE : sum.fail ? MF_EXIT_PARTIAL : MF_EXIT_OK;
	if (a.csv && !stop) {
		int erc = export_census(b, &a);

		if (erc)
			rc = erc;
	}
	log_close();
	batch_close(b);
	return rc;
}
