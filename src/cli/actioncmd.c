/* mailferry - the step actions, headless:
 *
 *   mailferry notify NAME [--dry-run] [--only ADDRESS] [--json]   step 3 notice (source INBOX)
 *   mailferry welcome NAME [--dry-run] [--only ADDRESS] [--json]  step 11 welcome (target INBOX)
 *   mailferry finish NAME --yes [--json]                         step 11: wipe credentials
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "checks.h"
#include "cli/cli.h"
#include "cli/cliutil.h"
#include "exitcodes.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"

struct action_args {
	const char *name;
	const char *only;
	int json, dry_run, yes;
	int shown; /* dry run: the first preview is printed whole */
};

static void print_line(const char *prefix, const char *text)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		if (len && p[len - 1] == '\r')
			len--;
		printf("%s%.*s\n", prefix, len, p);
		p += (nl ? nl - p : len) + (nl != NULL);
	}
}

static void on_delivery(const struct mf_check *c, void *aux)
{
	struct action_args *a = aux;

	if (a->json) {
		struct mf_buf line;
		struct json_w w;

		jsonl_begin(&w, &line, "delivery");
		jsonl_check_fields(&w, c);
		json_w_kv_bool(&w, "dry_run", a->dry_run);
		jsonl_end(&w, &line);
		return;
	}
	printf("  %-4s  %-32s %s\n", check_status_name(c->status), c->subject, c->title);
	if (c->status == CHECK_PASS && a->dry_run && !a->shown) {
		a->shown = 1;
		print_line("        | ", c->detail);
	} else if (c->status != CHECK_PASS) {
		print_line("        ", c->detail);
		if (c->remedy[0])
			printf("        What to do: %s\n", c->remedy);
	}
	fflush(stdout);
}

static int parse(int argc, char **argv, struct cli_globals *g, struct action_args *a,
                 const char *usage, int finish)
{
	static const struct option opts[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"dry-run", no_argument, NULL, 'n'},
	        {"only", required_argument, NULL, 'o'},
	        {"batch", required_argument, NULL, 'b'},
	        {"yes", no_argument, NULL, 'y'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	a->name = g->batch;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			a->json = 1;
			break;
		case 'n':
			if (finish)
				return cli_usage_error("%s: --dry-run is for notify and welcome",
				                       argv[0]);
			a->dry_run = 1;
			break;
		case 'o':
			a->only = optarg;
			break;
		case 'b':
			a->name = optarg;
			break;
		case 'y':
			a->yes = 1;
			break;
		case 'h':
			printf("Usage: %s\n", usage);
			return -2;
		default:
			return cli_usage_error("%s: unrecognized option '%s'", argv[0],
			                       argv[optind - 1]);
		}
	}
	if (optind < argc)
		a->name = argv[optind++];
	if (optind < argc)
		return cli_usage_error("%s: unexpected argument '%s'", argv[0], argv[optind]);
	return 0;
}

static int summary(const struct action_args *a, const struct mf_action_result *r)
{
	if (a->json) {
		struct mf_buf line;
		struct json_w w;

		jsonl_begin(&w, &line, "summary");
		json_w_kv_uint(&w, "done", r->done);
		json_w_kv_uint(&w, "failed", r->failed);
		json_w_kv_uint(&w, "skipped", r->skipped);
		json_w_kv_bool(&w, "dry_run", a->dry_run);
		json_w_kv_str(&w, "message", r->summary);
		jsonl_end(&w, &line);
	} else {
		printf("\n%s\n", r->summary);
	}
	if (r->failed && !r->done && !r->skipped)
		return MF_EXIT_ALLFAILED;
	return r->failed ? MF_EXIT_PARTIAL : MF_EXIT_OK;
}

static int deliver(int argc, char **argv, struct cli_globals *g, int welcome)
{
	struct action_args a = {0};
	struct mf_checks_opts o = {.wake_fd = -1, .on_result = on_delivery, .aux = &a};
	struct mf_action_result r;
	struct mf_batch *b;
	struct mf_err err;
	int rc;

	rc = parse(argc, argv, g, &a,
	           welcome ? "mailferry welcome NAME [--dry-run] [--only ADDRESS] [--json]"
	                   : "mailferry notify NAME [--dry-run] [--only ADDRESS] [--json]",
	           0);
	if (rc)
		return rc == -2 ? MF_EXIT_OK : rc;
	if ((rc = cli_open_batch(a.name, 0, a.json, &b)))
		return rc;
	if (cli_open_log(b, &err))
		log_warn("%s", err.msg);
	o.only = a.only;
	if (!a.json)
		printf("%s %s for batch %s...\n", a.dry_run ? "Previewing" : "Delivering",
		       welcome ? "the welcome message" : "the notice", batch_settings(b)->name);
	if (welcome)
		rc = action_send_welcome(b, a.dry_run, &o, &r, &err);
	else
		rc = action_send_notices(b, a.dry_run, &o, &r, &err);
	rc = rc ? cli_fail(a.json, &err) : summary(&a, &r);
	log_close();
	batch_close(b);
	return rc;
}

int cmd_notify(int argc, char **argv, struct cli_globals *g)
{
	return deliver(argc, argv, g, 0);
}

int cmd_welcome(int argc, char **argv, struct cli_globals *g)
{
	return deliver(argc, argv, g, 1);
}

int cmd_finish(int argc, char **argv, struct cli_globals *g)
{
	struct action_args a = {0};
	struct mf_action_result r;
	struct mf_batch *b;
	struct mf_err err;
	int rc;

	rc = parse(argc, argv, g, &a, "mailferry finish NAME --yes [--json]", 1);
	if (rc)
		return rc == -2 ? MF_EXIT_OK : rc;
	if (!a.yes)
		return cli_usage_error(
		        "finish wipes the batch's stored passwords and client secret "
		        "(a later delta would need them again): add --yes");
	if ((rc = cli_open_batch(a.name, BATCH_LOCK, a.json, &b)))
		return rc;
	if (cli_open_log(b, &err))
		log_warn("%s", err.msg);
	if (action_finish_batch(b, &r, &err)) {
		rc = cli_fail(a.json, &err);
	} else {
		log_info("batch %s finished: %s", batch_settings(b)->name, r.summary);
		if (a.json) {
			struct mf_buf line;
			struct json_w w;

			jsonl_begin(&w, &line, "finished");
			json_w_kv_str(&w, "batch", batch_settings(b)->name);
			json_w_kv_str(&w, "message", r.summary);
			jsonl_end(&w, &line);
		} else {
			printf("Batch %s finished: %s.\n", batch_settings(b)->name, r.summary);
		}
		rc = MF_EXIT_OK;
	}
	log_close();
	batch_close(b);
	return rc;
}
