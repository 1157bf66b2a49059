/* mailferry - `mailferry status` and `mailferry report`: queries over the ledger */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "batch/csvin.h"
#include "batch/ledger.h"
#include "cli/cli.h"
#include "cli/cliutil.h"
#include "exitcodes.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/timeutil.h"

static const char *when(int64_t t, char *buf, size_t n)
{
	if (!t)
		return "never";
	time_rfc3339(buf, n, (time_t)t);
	return buf;
}

static void mailbox_json(struct json_w *w, const struct ledger_mailbox *m)
{
	char t[32];

	json_w_kv_str(w, "mailbox", m->email);
	json_w_kv_str(w, "source_user", m->src_user);
	json_w_kv_str(w, "state", mbx_state_name(m->state));
	json_w_kv_uint(w, "msgs_total", m->msgs_total);
	json_w_kv_uint(w, "msgs_done", m->msgs_done);
	json_w_kv_uint(w, "bytes_total", m->bytes_total);
	json_w_kv_uint(w, "bytes_done", m->bytes_done);
	json_w_kv_uint(w, "skipped", m->skipped);
	json_w_key(w, "last_synced");
	if (m->last_synced)
		json_w_str(w, when(m->last_synced, t, sizeof(t)));
	else
		json_w_null(w);
	json_w_kv_str(w, "last_error", m->last_error);
}

static int parse_name(int argc, char **argv, struct cli_globals *g, const char **name, int *json,
		      const char **format, const char **output)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},     {"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'}, {"batch", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0},
	};
	int c;

	*name = g->batch;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "b:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = 1;
			break;
		case 'f':
			if (!format || (strcmp(optarg, "csv") && strcmp(optarg, "json")))
				return cli_usage_error("--format takes csv or json");
			*format = optarg;
			break;
		case 'o':
			if (!output)
				return cli_usage_error("unrecognized option '--output'");
			*output = optarg;
			break;
		case 'b':
			*name = optarg;
			break;
		case 'h':
			printf("Usage: mailferry %s NAME %s\n", argv[0],
			       format ? "[--format csv|json] [--output FILE]" : "[--json]");
			return -1;
		default:
			return cli_usage_error("unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		*name = argv[optind++];
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
}

int cmd_status(int argc, char **argv, struct cli_globals *g)
{
	struct ledger_mailbox *mb;
	struct mf_batch *b;
	struct mf_err err;
	const char *name;
	size_t n, counts[6] = {0};
	long holder;
	int json = 0, rc;
	char t[32], b1[32];

	if ((rc = parse_name(argc, argv, g, &name, &json, NULL, NULL)))
		return rc < 0 ? MF_EXIT_OK : rc;
	if ((rc = cli_open_batch(name, 0, json, &b)))
		return rc;
	if (ledger_mailboxes(batch_ledger(b), &mb, &n, &err)) {
		batch_close(b);
		return cli_fail(json, &err);
	}
	holder = batch_lock_holder(b);
	if (!json && holder > 0)
		printf("A migration of this batch is running now (pid %ld).\n\n", holder);
	if (!json)
		printf("%-36s %-10s %15s %10s %8s  %s\n", "MAILBOX", "STATE", "MESSAGES", "SIZE",
		       "SKIPPED", "LAST SYNCED");
	for (size_t i = 0; i < n; i++) {
		struct ledger_mailbox *m = &mb[i];
		char msgs[40];

		/* Without a running migration, "working on it" means it was interrupted. */
		if (holder <= 0 && (m->state == MBX_CONNECTING || m->state == MBX_SYNCING))
			m->state = MBX_STOPPED;
		counts[m->state < 6 ? m->state : 0]++;
		if (json) {
			struct mf_buf line;
			struct json_w w;

			jsonl_begin(&w, &line, "mailbox");
			mailbox_json(&w, m);
			jsonl_end(&w, &line);
			continue;
		}
		snprintf(msgs, sizeof(msgs), "%llu/%llu", (unsigned long long)m->msgs_done,
			 (unsigned long long)m->msgs_total);
		printf("%-36.36s %-10s %15s %10s %8llu  %s\n", m->email, mbx_state_name(m->state), msgs,
		       cli_bytes(m->bytes_total, b1, sizeof(b1)), (unsigned long long)m->skipped,
		       when(m->last_synced, t, sizeof(t)));
		if (m->last_error && m->state == MBX_FAILED)
			printf("    %s\n", m->last_error);
	}
	if (json) {
		struct mf_buf line;
		struct json_w w;

		jsonl_begin(&w, &line, "summary");
		json_w_kv_str(&w, "batch", batch_settings(b)->name);
		json_w_kv_bool(&w, "running", holder > 0);
		json_w_kv_uint(&w, "mailboxes", n);
		json_w_kv_uint(&w, "synced", counts[MBX_SYNCED]);
		json_w_kv_uint(&w, "failed", counts[MBX_FAILED]);
		json_w_kv_uint(&w, "queued", counts[MBX_QUEUED] + counts[MBX_STOPPED] +
						     counts[MBX_CONNECTING] + counts[MBX_SYNCING]);
		jsonl_end(&w, &line);
	} else {
		printf("\n%zu mailbox%s: %zu synced, %zu failed, %zu not yet synced\n", n,
		       n == 1 ? "" : "es", counts[MBX_SYNCED], counts[MBX_FAILED],
		       n - counts[MBX_SYNCED] - counts[MBX_FAILED]);
	}
	ledger_mailboxes_free(mb, n);
	batch_close(b);
	return MF_EXIT_OK;
}

/* ---------------------------------------------------------------- report */

static int report_csv(struct mf_batch *b, FILE *out, struct mf_err *err)
{
	static const char *const head[] = {"EmailAddress", "State",   "MessagesTotal", "MessagesDone",
					   "BytesTotal",   "BytesDone", "Skipped",      "LastSynced",
					   "LastError"};
	struct ledger_mailbox *mb;
	struct mf_buf line;
	size_t n;
	char num[7][32], t[32];

	if (ledger_mailboxes(batch_ledger(b), &mb, &n, err))
		return -1;
	buf_init(&line, 0);
	for (size_t i = 0; i < 9; i++)
		csvin_put_field(&line, head[i], i == 8);
	for (size_t i = 0; i < n; i++) {
		const struct ledger_mailbox *m = &mb[i];

		snprintf(num[0], 32, "%llu", (unsigned long long)m->msgs_total);
		snprintf(num[1], 32, "%llu", (unsigned long long)m->msgs_done);
		snprintf(num[2], 32, "%llu", (unsigned long long)m->bytes_total);
		snprintf(num[3], 32, "%llu", (unsigned long long)m->bytes_done);
		snprintf(num[4], 32, "%llu", (unsigned long long)m->skipped);
		csvin_put_field(&line, m->email, 0);
		csvin_put_field(&line, mbx_state_name(m->state), 0);
		for (int k = 0; k < 5; k++)
			csvin_put_field(&line, num[k], 0);
		csvin_put_field(&line, m->last_synced ? when(m->last_synced, t, sizeof(t)) : "", 0);
		csvin_put_field(&line, m->last_error ? m->last_error : "", 1);
	}
	fwrite(line.data, 1, line.len, out);
	buf_free(&line);
	ledger_mailboxes_free(mb, n);
	return 0;
}

static int report_json(struct mf_batch *b, FILE *out, struct mf_err *err)
{
	struct ledger *l = batch_ledger(b);
	struct ledger_mailbox *mb;
	struct mf_buf buf;
	struct json_w w;
	size_t n;
	char t[32];

	if (ledger_mailboxes(l, &mb, &n, err))
		return -1;
	buf_init(&buf, 0);
	json_w_init(&w, &buf);
	json_w_object_begin(&w);
	json_w_kv_str(&w, "batch", batch_settings(b)->name);
	time_rfc3339_now(t, sizeof(t));
	json_w_kv_str(&w, "generated", t);
	json_w_key(&w, "mailboxes");
	json_w_array_begin(&w);
	for (size_t i = 0; i < n; i++) {
		struct ledger_folder *f = NULL;
		struct ledger_skip *sk = NULL;
		size_t nf = 0, ns = 0;

		json_w_object_begin(&w);
		mailbox_json(&w, &mb[i]);
		ledger_folders(l, mb[i].id, &f, &nf, err);
		json_w_key(&w, "folders");
		json_w_array_begin(&w);
		for (size_t k = 0; k < nf; k++) {
			uint64_t cnt = 0, bytes = 0;

			ledger_msgs_count(l, f[k].id, &cnt, &bytes, err);
			json_w_object_begin(&w);
			json_w_kv_str(&w, "source", f[k].display);
			json_w_kv_str(&w, "target_name", f[k].tgt_name);
			json_w_kv_str(&w, "status", f[k].status);
			json_w_kv_bool(&w, "excluded", f[k].excluded);
			json_w_kv_uint(&w, "source_messages", f[k].src_exists);
			json_w_kv_uint(&w, "copied", cnt);
			json_w_kv_uint(&w, "copied_bytes", bytes);
			json_w_object_end(&w);
		}
		json_w_array_end(&w);
		ledger_skips(l, mb[i].id, &sk, &ns, err);
		json_w_key(&w, "skipped_items");
		json_w_array_begin(&w);
		for (size_t k = 0; k < ns; k++) {
			json_w_object_begin(&w);
			json_w_kv_str(&w, "folder", sk[k].display);
			json_w_kv_uint(&w, "source_uid", sk[k].src_uid);
			json_w_kv_uint(&w, "size", sk[k].size);
			json_w_kv_str(&w, "reason", sk[k].reason);
			json_w_object_end(&w);
		}
		json_w_array_end(&w);
		json_w_object_end(&w);
		ledger_folders_free(f, nf);
		ledger_skips_free(sk, ns);
	}
	json_w_array_end(&w);
	json_w_object_end(&w);
	if (json_w_finish(&w) == 0) {
		fwrite(buf.data, 1, buf.len, out);
		fputc('\n', out);
	}
	buf_free(&buf);
	ledger_mailboxes_free(mb, n);
	return 0;
}

int cmd_report(int argc, char **argv, struct cli_globals *g)
{
	const char *name, *format = "csv", *output = NULL;
	struct mf_batch *b;
	struct mf_err err;
	FILE *out = stdout;
	int json = 0, rc;

	if ((rc = parse_name(argc, argv, g, &name, &json, &format, &output)))
		return rc < 0 ? MF_EXIT_OK : rc;
	if (json)
		format = "json";
	if ((rc = cli_open_batch(name, 0, 0, &b)))
		return rc;
	if (output && !(out = fopen(output, "w"))) {
		batch_close(b);
		return cli_fail_msg(0, MF_EXIT_CANTCREAT, "cannot write %s", output);
	}
	rc = !strcmp(format, "json") ? report_json(b, out, &err) : report_csv(b, out, &err);
	if (out != stdout)
		fclose(out);
	batch_close(b);
	return rc ? cli_fail(0, &err) : MF_EXIT_OK;
}
