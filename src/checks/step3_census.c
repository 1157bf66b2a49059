/* mailferry - step 3: who is affected and how big each mailbox is; the notice template */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "batch/csvin.h"
#include "batch/ledger.h"
#include "checks.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "checks/template.h"
#include "engine/plan.h"
#include "imap/ops.h"
#include "imap/session.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/timeutil.h"

#define M365_SIZE_LIMIT (35u * 1000 * 1000) /* Microsoft's IMAP migration ceiling */
#define SHOWN_PROBLEMS  12

struct census {
	uint64_t messages, bytes, largest;
	char largest_folder[256];
	uint64_t trash_messages, trash_bytes;
	uint64_t over, over_bytes, limit;
	unsigned folders, problems;
	char trash_name[128];
};

static uint64_t size_limit(const struct check_ctx *c)
{
	if (c->env->set->max_message_size)
		return c->env->set->max_message_size;
	return check_is_m365(c) ? M365_SIZE_LIMIT : 0;
}

/* The plan of the mailbox's folders as the target will get them. */
static int census_plan(struct check_ctx *c, struct imap_conn *conn, struct plan_folder **pf,
                       size_t *np, struct mf_err *err)
{
	struct imap_folder *folders = NULL;
	struct plan_input in = {0};
	char *prefix = NULL, delim = 0, tdelim = '/';
	const char *tprefix = "";
	size_t nf = 0;
	int rc;

	if (imap_list_with_namespace(conn, c->row ? c->row->userroot : NULL, &folders, &nf,
				     &prefix, &delim, err))
		return -1;
	if (!check_is_m365(c)) {
		struct mf_err terr;

		if (check_target_namespace(c, &tdelim, &tprefix, &terr))
			check_detail(
			        c,
			        "(the target's folder delimiter could not be learnt over IMAP: "
			        "%s; '/' assumed)",
			        terr.msg);
	}
	in.src = folders;
	in.nsrc = nf;
	in.src_delim = delim;
	in.src_prefix = prefix;
	in.src_root = c->row ? c->row->userroot : NULL;
	in.tgt_delim = tdelim;
	in.tgt_prefix = tprefix;
	in.target_exchange = check_is_m365(c);
	in.exclude = c->env->set->exclude;
	in.nexclude = c->env->set->nexclude;
	rc = plan_build(&in, pf, np, err);
	imap_folders_free(folders, nf);
	free(prefix);
	return rc;
}

static void count_folder(struct census *s, const struct plan_folder *f,
                         const struct imap_msginfo *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (f->role == ROLE_TRASH) {
			s->trash_messages++;
			s->trash_bytes += m[i].size;
		}
		if (f->excluded)
			continue;
		s->messages++;
		s->bytes += m[i].size;
		if (m[i].size > s->largest) {
			s->largest = m[i].size;
			snprintf(s->largest_folder, sizeof(s->largest_folder), "%s", f->display);
		}
		if (s->limit && m[i].size > s->limit) {
			s->over++;
			s->over_bytes += m[i].size;
		}
	}
	if (f->role == ROLE_TRASH)
		snprintf(s->trash_name, sizeof(s->trash_name), "%s", f->display);
}

static int census_count(struct check_ctx *c, struct imap_conn *conn, struct plan_folder *pf,
                        size_t np, struct census *s, struct mf_err *err)
{
	for (size_t i = 0; i < np; i++) {
		struct imap_msginfo *m = NULL;
		size_t n = 0;

		if (!pf[i].selectable)
			continue;
		if (check_cancelled(c))
			return mf_fail(err, MF_SCOPE_CONN, MF_E_CANCEL, "stopped");
		s->folders++;
		if (imap_select(conn, pf[i].src_name, 1, err)) {
			mf_err_prefix(err, "%s: ", pf[i].display);
			return -1;
		}
		if (imap_selected_state(conn)->exists &&
		    imap_fetch_meta(conn, "1:*", 0, &m, &n, err)) {
			mf_err_prefix(err, "%s: ", pf[i].display);
			return -1;
		}
		count_folder(s, &pf[i], m, n);
		imap_msginfos_free(m, n);
	}
	return 0;
}

static int is_problem(const struct plan_folder *f)
{
	return f->failed || (f->note && !strncmp(f->note, "renamed", 7));
}

static unsigned count_problems(const struct plan_folder *pf, size_t np)
{
	unsigned n = 0;

	for (size_t i = 0; i < np; i++)
		n += is_problem(&pf[i]);
	return n;
}

static void list_problems(struct check_ctx *c, const struct plan_folder *pf, size_t np)
{
	unsigned shown = 0;

	for (size_t i = 0; i < np; i++) {
		if (!is_problem(&pf[i]))
			continue;
		if (shown++ < SHOWN_PROBLEMS)
			check_detail(c, "  folder \"%s\": %s", pf[i].display,
			             pf[i].note ? pf[i].note : "cannot be migrated");
	}
	if (shown > SHOWN_PROBLEMS)
		check_detail(c, "  ... and %u more", shown - SHOWN_PROBLEMS);
}

static void census_verdict(struct check_ctx *c, const struct census *s)
{
	char total[16], largest[16], trash[16], limit[16], over[16];

	format_bytes(total, sizeof(total), s->bytes);
	format_bytes(largest, sizeof(largest), s->largest);
	format_bytes(trash, sizeof(trash), s->trash_bytes);
	format_bytes(limit, sizeof(limit), s->limit);
	format_bytes(over, sizeof(over), s->over_bytes);
	if (s->over && s->problems)
		check_warn(c, "Messages too large and folder names to change",
		           "%" PRIu64 " message%s over the size limit; %u folder name%s the target "
		           "cannot take as they are",
		           s->over, s->over == 1 ? "" : "s", s->problems,
		           s->problems == 1 ? "" : "s");
	else if (s->over)
		check_warn(c, "Messages too large for the target",
		           "%" PRIu64
		           " message%s over the %s limit (%s in all) will not be migrated",
		           s->over, s->over == 1 ? "" : "s", limit, over);
	else if (s->problems)
		check_warn(c, "Folder names the target cannot take as they are",
		           "%u folder%s will be renamed or left out:", s->problems,
		           s->problems == 1 ? "" : "s");
	else
		check_pass(c, "Mailbox census", "%" PRIu64 " message%s, %s", s->messages,
		           s->messages == 1 ? "" : "s", total);
	check_detail(c, "%" PRIu64 " message%s to migrate in %u folder%s, %s; largest %s%s%s%s",
	             s->messages, s->messages == 1 ? "" : "s", s->folders,
	             s->folders == 1 ? "" : "s", total, largest,
	             s->largest_folder[0] ? " (in " : "", s->largest_folder,
	             s->largest_folder[0] ? ")" : "");
	check_detail(c, "%s: %" PRIu64 " message%s, %s", s->trash_name[0] ? s->trash_name : "Trash",
	             s->trash_messages, s->trash_messages == 1 ? "" : "s", trash);
	if (s->limit)
		check_detail(c, "size limit of the target: %s; over it: %" PRIu64, limit, s->over);
}

static void census_remedy(struct check_ctx *c, const struct census *s)
{
	char limit[16];

	format_bytes(limit, sizeof(limit), s->limit);
	if (s->over && check_is_m365(c))
		check_remedy_add(
		        c,
		        "Tell %s that messages over %s are not migrated (save their "
		        "attachments elsewhere first), or raise the limit: in Exchange "
		        "Online PowerShell, Set-Mailbox -Identity %s -MaxReceiveSize 150mb "
		        "-MaxSendSize 150mb, then mailferry batch set %s --max-message-size "
		        "150MB.",
		        c->subject, limit, c->subject,
		        c->env->set->name ? c->env->set->name : "NAME");
	else if (s->over)
		check_remedy_add(c,
		                 "Tell %s that messages over %s are not migrated, or raise the "
		                 "limit with mailferry batch set %s --max-message-size SIZE if the "
		                 "target accepts more.",
		                 c->subject, limit, c->env->set->name ? c->env->set->name : "NAME");
	if (s->problems)
		check_remedy_add(c, "Rename these folders at the source before the migration, or "
		                    "tell the user about the names they will have on the target.");
}

static void census_store(struct check_ctx *c, const struct census *s)
{
	char v[512];

	snprintf(v, sizeof(v),
	         "v1\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
	         "\t%" PRIu64 "\t%u\t%u\t%s",
	         s->messages, s->bytes, s->largest, s->trash_messages, s->trash_bytes, s->over,
	         s->limit, s->folders, s->problems, s->largest_folder);
	check_state_set(c, "census", c->subject, v);
}

void check_census_mailbox(struct check_ctx *c)
{
	struct census s = {.limit = size_limit(c)};
	struct plan_folder *pf = NULL;
	struct imap_conn *conn = NULL;
	struct mf_err err;
	size_t np = 0;

	if (check_imap_open(c, 1, &conn, &err)) {
		check_fail(c, "Cannot log in at the source to count the mail", "%s", err.msg);
		check_remedy(c, "See step 4 (credentials.source) and step 6 (endpoint.source).");
		return;
	}
	if (census_plan(c, conn, &pf, &np, &err) || census_count(c, conn, pf, np, &s, &err)) {
		check_fail(c, "The census of the mailbox failed", "%s", err.msg);
		check_remedy(c,
		             "Run the check again; if the same folder fails, look at it in a mail "
		             "client.");
	} else {
		s.problems = count_problems(pf, np);
		census_verdict(c, &s);
		list_problems(c, pf, np);
		census_remedy(c, &s);
		census_store(c, &s);
	}
	plan_free(pf, np);
	check_imap_close(c, 1, conn);
}

/* ---------------------------------------------------------------- the export */

static int put_row(struct mf_buf *out, const char *email, const char *status, const char *data,
                   const char *title)
{
	char fields[10][64] = {{0}};
	const char *largest_folder = "";
	int rc = 0;

	if (data && !strncmp(data, "v1\t", 3)) {
		const char *p = data + 3;

		for (int i = 0; i < 9 && p; i++) {
			const char *tab = strchr(p, '\t');
			size_t n = tab ? (size_t)(tab - p) : strlen(p);

			snprintf(fields[i], sizeof(fields[i]), "%.*s", (int)n, p);
			p = tab ? tab + 1 : NULL;
		}
		largest_folder = p ? p : "";
	}
	rc |= csvin_put_field(out, email, 0);
	rc |= csvin_put_field(out, status, 0);
	rc |= csvin_put_field(out, fields[0], 0);      /* messages */
	rc |= csvin_put_field(out, fields[1], 0);      /* bytes */
	rc |= csvin_put_field(out, fields[2], 0);      /* largest */
	rc |= csvin_put_field(out, largest_folder, 0); /* where */
	rc |= csvin_put_field(out, fields[3], 0);      /* trash messages */
	rc |= csvin_put_field(out, fields[4], 0);      /* trash bytes */
	rc |= csvin_put_field(out, fields[5], 0);      /* over the limit */
	rc |= csvin_put_field(out, fields[6], 0);      /* the limit */
	rc |= csvin_put_field(out, fields[7], 0);      /* folders */
	rc |= csvin_put_field(out, fields[8], 0);      /* folder names to change */
	rc |= csvin_put_field(out, title, 1);
	return rc;
}

int checks_census_export(struct mf_batch *b, const char *path, size_t *rows, struct mf_err *err)
{
	struct ledger *l = batch_ledger(b);
	struct ledger_check *lc = NULL;
	struct mf_buf out;
	size_t n = 0, written = 0;
	int rc = -1;

	if (rows)
		*rows = 0;
	if (ledger_checks(l, 3, &lc, &n, err))
		return -1;
	buf_init(&out, 0);
	if (buf_puts(&out,
	             "\"EmailAddress\",\"Status\",\"Messages\",\"Bytes\",\"LargestMessageBytes\","
	             "\"LargestMessageFolder\",\"TrashMessages\",\"TrashBytes\",\"OverSizeLimit\","
	             "\"SizeLimitBytes\",\"Folders\",\"FolderNamesToChange\",\"Result\"\r\n"))
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		char *key, *data = NULL;
		struct mf_err e;
		int bad;

		if (strcmp(lc[i].id, "census.mailbox"))
			continue;
		if (!(key = mf_sprintf("census/%s", lc[i].subject)))
			goto nomem;
		if (ledger_setting_get(l, key, &data, &e))
			data = NULL;
		free(key);
		bad = put_row(&out, lc[i].subject,
		              check_status_name((enum check_status)lc[i].status),
		              lc[i].status == CHECK_FAIL ? NULL : data, lc[i].title);
		free(data);
		if (bad)
			goto nomem;
		written++;
	}
	if (!written) {
		mf_fail(err, MF_SCOPE_BATCH, MF_E_NOTFOUND,
		        "no census yet: run mailferry check NAME --step 3 first");
		goto out;
	}
	if (fs_write_atomic(path, out.data, out.len, err))
		goto out;
	if (rows)
		*rows = written;
	rc = 0;
	goto out;
nomem:
	mf_fail_nomem(err, MF_SCOPE_BATCH);
out:
	buf_free(&out);
	ledger_checks_free(lc, n);
	return rc;
}

/* ---------------------------------------------------------------- templates */

void check_template_file(struct check_ctx *c, const char *path, const char *what,
                         const char *option, int source)
{
	const struct mf_batch_settings *s = c->env->set;
	const struct csvin_row *first =
	        c->env->rows && c->env->rows->nrows ? c->env->rows->rows : NULL;
	struct tmpl_vars v = {.batch = s->name, .source = s->source.host, .target = s->target.host};
	struct tmpl *t = NULL;
	struct mf_buf msg;
	struct mf_err err;

	if (!path) {
		check_skip(c, "No template is set", "no %s will be sent (it is optional)", what);
		check_remedy(c,
		             "To send one: mailferry batch set %s %s FILE (see mailferry(1), "
		             "TEMPLATES)",
		             s->name ? s->name : "NAME", option);
		return;
	}
	if (tmpl_load(path, &t, &err)) {
		check_fail(c, "The template cannot be used", "%s", err.msg);
		check_remedy(
		        c,
		        "Fix the template (From and Subject headers, an empty line, the "
		        "body; placeholders as in mailferry(1), TEMPLATES) or set another with "
		        "mailferry batch set %s %s FILE.",
		        s->name ? s->name : "NAME", option);
		return;
	}
	buf_init(&msg, 0);
	if (first) {
		v.email = first->email;
		v.username = first->username;
	}
	if (first && tmpl_render(t, &v, time(NULL), &msg, &err)) {
		check_fail(c, "The template cannot be used", "for %s: %s", first->email, err.msg);
		check_remedy(c, "Fix the template at the line named above.");
	} else {
		check_pass(c, "The template is ready",
		           "%s \"%s\" from %s, delivered into each %s "
		           "INBOX by APPEND:",
		           what, tmpl_subject(t), path, source ? "source" : "target");
		if (msg.len)
			check_detail(c, "%.1500s", msg.data);
	}
	buf_free(&msg);
	tmpl_free(t);
}

void check_notice_template(struct check_ctx *c)
{
	check_template_file(c, c->env->set->notice_template, "notice", "--notice-template", 1);
}
