/* mailferry - detail views: one mailbox, one check, the CSV's rows and its problems */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch/csvin.h"
#include "screens.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

static void fmt_when(char *out, size_t n, int64_t epoch)
{
	struct tm tm;
	time_t t = (time_t)epoch;

	if (!epoch || !localtime_r(&t, &tm))
		snprintf(out, n, "never");
	else
		strftime(out, n, "%Y-%m-%d %H:%M", &tm);
}

/* ---------------------------------------------------------------- one mailbox */

struct mbox {
	struct wiz *w; /* borrowed */
	int64_t id;
	struct wiz_mailbox m;
	int loaded;
	char error[512];
	struct ui_list folders, skips;
	struct ui_focus focus;
};

static const struct ui_column folder_cols[] = {
        {"Folder", 0, 0},
        {"On the target", 0, 0},
        {"Copied", 11, 1},
        {"Status", 0, 0},
};

static const struct ui_column skip_cols[] = {
        {"Folder", 20, 0},
        {"UID", 8, 1},
        {"Size", 9, 1},
        {"Reason", 0, 0},
};

/* The verification of a folder, if the last one found a difference there. */
static const struct mf_verify_folder *verified(struct mbox *b, const char *folder)
{
	size_t n;
	const struct mf_verify_folder *v = wiz_verify_results(b->w, &n);

	for (size_t i = 0; i < n; i++)
		if (v[i].email && v[i].folder && !strcmp(v[i].email, b->m.m.email) &&
		    !strcmp(v[i].folder, folder))
			return &v[i];
	return NULL;
}

static void folder_cell(void *arg, size_t row, int col, char *buf, size_t n, enum ui_role *role)
{
	struct mbox *b = arg;
	const struct wiz_folder *f;
	const struct mf_verify_folder *v;

	if (row >= b->m.nfolders)
		return;
	f = &b->m.folders[row];
	switch (col) {
	case 0:
		snprintf(buf, n, "%s", f->f.display ? f->f.display : f->f.src_name);
		break;
	case 1:
		snprintf(buf, n, "%s",
		         f->f.excluded   ? "(excluded)"
		         : f->f.tgt_name ? f->f.tgt_name
		                         : "");
		break;
	case 2:
		snprintf(buf, n, "%llu/%llu", (unsigned long long)f->copied,
		         (unsigned long long)f->f.msgs_total);
		break;
	default:
		v = verified(b, f->f.display ? f->f.display : "");
		if (v && (v->missing || v->duplicates)) {
			snprintf(buf, n, "verify: %u missing, %u duplicated", v->missing,
			         v->duplicates);
			*role = UI_ROLE_FAIL;
		} else {
			snprintf(buf, n, "%s", f->f.status ? f->f.status : "");
			if (f->f.status && !strncmp(f->f.status, "failed", 6))
				*role = UI_ROLE_FAIL;
		}
		break;
	}
}

static void skip_cell(void *arg, size_t row, int col, char *buf, size_t n, enum ui_role *role)
{
	struct mbox *b = arg;
	const struct ledger_skip *s;
	char sz[32];

	(void)role;
	if (row >= b->m.nskips)
		return;
	s = &b->m.skips[row];
	switch (col) {
	case 0:
		snprintf(buf, n, "%s", s->display ? s->display : "");
		break;
	case 1:
		snprintf(buf, n, "%u", s->src_uid);
		break;
	case 2:
		format_bytes(sz, sizeof(sz), s->size);
		snprintf(buf, n, "%s", sz);
		break;
	default:
		snprintf(buf, n, "%s", s->reason ? s->reason : "");
		break;
	}
}

static void mbox_load(struct mbox *b)
{
	struct mf_err err;

	wiz_mailbox_clear(&b->m);
	b->loaded = wiz_mailbox_load(b->w, b->id, &b->m, &err) == 0;
	snprintf(b->error, sizeof(b->error), "%s", b->loaded ? "" : err.msg);
	ui_list_set_count(&b->folders, b->loaded ? b->m.nfolders : 0);
	ui_list_set_count(&b->skips, b->loaded ? b->m.nskips : 0);
}

static int mbox_init(struct ui *ui, void *p)
{
	struct mbox *b = p;

	ui_list_init(&b->folders, folder_cols, 4, folder_cell, NULL, b);
	b->folders.noun = "folders";
	b->folders.empty = "No folders in the ledger yet: they appear once the mailbox was listed.";
	ui_list_init(&b->skips, skip_cols, 4, skip_cell, NULL, b);
	b->skips.noun = "skipped messages";
	b->skips.empty = "No message was skipped.";
	mbox_load(b);
	ui_focus_init(&b->focus);
	ui_focus_add(&b->focus, &b->folders.base);
	ui_focus_add(&b->focus, &b->skips.base);
	ui_screen_focus(ui, &b->focus);
	return 0;
}

static void mbox_draw(struct ui *ui, void *p, struct ui_rect a)
{
	struct mbox *b = p;
	const struct ledger_mailbox *m = &b->m.m;
	int y = a.y, x = a.x + 1, w = a.w - 2, rest, fh;
	char buf[1024], d1[32], d2[32], s1[32], s2[32];

	if (!b->loaded) {
		ui_put_ell(ui, y, x, w, UI_ROLE_FAIL, b->error);
		return;
	}
	snprintf(buf, sizeof(buf), "%s (source login %s%s%s)", m->email, m->src_user,
	         m->userroot ? ", UserRoot " : "", m->userroot ? m->userroot : "");
	ui_put_ell(ui, y++, x, w, UI_ROLE_TITLE, buf);
	format_bytes(s1, sizeof(s1), m->bytes_done);
	format_bytes(s2, sizeof(s2), m->bytes_total);
	fmt_when(d1, sizeof(d1), m->first_synced);
	fmt_when(d2, sizeof(d2), m->last_synced);
	{
		int used =
		        ui_put(ui, y, x, w, role_for_mailbox(m->state), mbx_state_name(m->state));

		snprintf(buf, sizeof(buf),
		         ": %llu of %llu messages, %s of %s, %llu skipped; first "
		         "synced %s, last %s",
		         (unsigned long long)m->msgs_done, (unsigned long long)m->msgs_total, s1,
		         s2, (unsigned long long)m->skipped, d1, d2);
		ui_put_ell(ui, y++, x + used, w - used, UI_ROLE_NORMAL, buf);
	}
	draw_pair(ui, y++, x, w,
	          "Last error:", m->last_error && *m->last_error ? m->last_error : "none");
	y++;
	rest = a.y + a.h - y;
	fh = b->m.nskips ? rest * 3 / 5 : rest - 4;
	if (fh < 4)
		fh = 4;
	b->folders.base.rect = (struct ui_rect){y, a.x, fh, a.w};
	ui_widget_draw(ui, &b->folders.base);
	y += fh + 1;
	if (y < a.y + a.h) {
		b->skips.base.rect = (struct ui_rect){y, a.x, a.y + a.h - y, a.w};
		ui_widget_draw(ui, &b->skips.base);
	}
}

static int mbox_key(struct ui *ui, void *p, int key)
{
	struct mbox *b = p;

	if (key == 'r' || key == 'R' || key == UI_KEY_F(5)) {
		mbox_load(b);
		ui_flash(ui, UI_ROLE_NORMAL, "Reloaded from the ledger.");
		return 1;
	}
	return 0;
}

static void mbox_event(struct ui *ui, void *p, struct ui_widget *wd, enum ui_kr what)
{
	struct mbox *b = p;
	long row;

	if (what != UI_KR_ACTIVATED || wd != &b->skips.base)
		return;
	row = ui_list_selected(&b->skips);
	if (row >= 0 && (size_t)row < b->m.nskips)
		ui_message(ui, "Skipped message",
		           b->m.skips[row].reason ? b->m.skips[row].reason : "", NULL, NULL);
}

static void mbox_fini(struct ui *ui, void *p)
{
	struct mbox *b = p;

	(void)ui;
	wiz_mailbox_clear(&b->m);
	ui_list_free(&b->folders);
	ui_list_free(&b->skips);
	free(b);
}

static const struct ui_keyhelp mbox_keys[] = {
        {"r", "reload", 1},
        {"Enter", "a skipped message's reason", 0},
        {NULL, NULL, 0},
};

static const struct ui_screen_ops mbox_ops = {
        .title = "Mailbox",
        .init = mbox_init,
        .draw = mbox_draw,
        .key = mbox_key,
        .event = mbox_event,
        .fini = mbox_fini,
        .keys = mbox_keys,
        .help = "One mailbox as the ledger knows it: each folder of the source with its name "
                "on the target and the messages copied so far, and every message that was "
                "skipped with the server's reason (too large, refused...). Excluded folders "
                "are listed as such.",
};

int screen_mailbox(struct ui *ui, struct wiz *w, int64_t id)
{
	struct mbox *b = xcalloc(1, sizeof(*b));

	b->w = w;
	b->id = id;
	return push_screen(ui, &mbox_ops, b);
}

/* ---------------------------------------------------------------- one check */

struct checkview {
	int status;
	char *heading, *text; /* owned */
	int scroll, lines, page;
};

static int check_draw_init(struct ui *ui, void *p)
{
	(void)ui;
	(void)p;
	return 0;
}

static void check_draw(struct ui *ui, void *p, struct ui_rect a)
{
	struct checkview *c = p;
	int x = a.x + 1, w = a.w - 2, used;
	struct ui_rect r = {a.y + 2, x, a.h - 2, w};

	used = ui_put(ui, a.y, x, w, role_for_check(c->status),
	              check_status_name((enum check_status)c->status));
	ui_put_ell(ui, a.y, x + used, w - used, UI_ROLE_TITLE, c->heading);
	c->page = r.h;
	c->lines = ui_text(ui, r, UI_ROLE_NORMAL, c->text, c->scroll);
	if (c->lines > r.h && c->scroll + r.h < c->lines)
		ui_put(ui, a.y + a.h - 1, a.x + a.w - 1, 1, UI_ROLE_DIM,
		       ui_glyph(ui, UI_G_MORE_DOWN));
	ui_set_cursor(ui, a.y, x);
}

static int check_key(struct ui *ui, void *p, int key)
{
	struct checkview *c = p;
	int max = c->lines > c->page ? c->lines - c->page : 0;

	(void)ui;
	switch (key) {
	case UI_KEY_UP:
		c->scroll--;
		break;
	case UI_KEY_DOWN:
		c->scroll++;
		break;
	case UI_KEY_PGUP:
		c->scroll -= c->page - 1;
		break;
	case UI_KEY_PGDN:
	case ' ':
		c->scroll += c->page - 1;
		break;
	case UI_KEY_HOME:
		c->scroll = 0;
		break;
	case UI_KEY_END:
		c->scroll = max;
		break;
	default:
		return 0;
	}
	if (c->scroll > max)
		c->scroll = max;
	if (c->scroll < 0)
		c->scroll = 0;
	return 1;
}

static void check_fini(struct ui *ui, void *p)
{
	struct checkview *c = p;

	(void)ui;
	free(c->heading);
	free(c->text);
	free(c);
}

static const struct ui_keyhelp check_keys[] = {
        {"Up Down", "scroll", 1},
        {"PgUp PgDn", "a page", 0},
        {NULL, NULL, 0},
};

static const struct ui_screen_ops check_ops = {
        .title = "Check",
        .init = check_draw_init,
        .draw = check_draw,
        .key = check_key,
        .fini = check_fini,
        .keys = check_keys,
        .help = "One check's result: what was found (the server's own words where there are "
                "some) and what to do about it. Commands in the remedy are meant to be copied "
                "as they are.",
};

int screen_check(struct ui *ui, const struct ledger_check *lc)
{
	struct checkview *c = xcalloc(1, sizeof(*c));
	char when[32];

	c->status = lc->status;
	c->heading = xsprintf("  %s", lc->title ? lc->title : "");
	fmt_when(when, sizeof(when), lc->when);
	c->text = xsprintf("About: %s\nCheck: %s, %s\n\n%s%s%s%s",
	                   lc->subject && *lc->subject ? lc->subject : "the batch",
	                   lc->id ? lc->id : "", when, lc->detail && *lc->detail ? lc->detail : "",
	                   lc->detail && *lc->detail ? "\n\n" : "",
	                   lc->remedy && *lc->remedy ? "What to do: " : "",
	                   lc->remedy && *lc->remedy ? lc->remedy : "");
	if (ui_push(ui, &check_ops, c) < 0) {
		check_fini(ui, c);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- the CSV's rows */

struct rowsview {
	struct wiz *w; /* borrowed */
	struct ui_list list;
	struct ui_focus focus;
	char error[512];
};

static const struct ui_column row_cols[] = {
        {"Line", 5, 1},      {"EmailAddress", 0, 0},   {"UserName", 0, 0},
        {"UserRoot", 14, 0}, {"TargetUserName", 0, 0},
};

static void rows_cell(void *arg, size_t row, int col, char *buf, size_t n, enum ui_role *role)
{
	struct rowsview *v = arg;
	struct mf_err err;
	const struct csvin_result *r = wiz_csv_rows(v->w, &err);
	const struct csvin_row *x;

	(void)role;
	if (!r || row >= r->nrows)
		return;
	x = &r->rows[row];
	switch (col) {
	case 0:
		snprintf(buf, n, "%u", x->line);
		break;
	case 1:
		snprintf(buf, n, "%s", x->email ? x->email : "");
		break;
	case 2:
		snprintf(buf, n, "%s", x->username ? x->username : "");
		break;
	case 3:
		snprintf(buf, n, "%s", x->userroot ? x->userroot : "");
		break;
	default: /* never a password column */
		snprintf(buf, n, "%s", x->target_username ? x->target_username : "");
		break;
	}
}

static int rows_cmp(void *arg, size_t a, size_t b, int col)
{
	struct rowsview *v = arg;
	struct mf_err err;
	const struct csvin_result *r = wiz_csv_rows(v->w, &err);
	const struct csvin_row *x, *y;

	if (!r || a >= r->nrows || b >= r->nrows)
		return 0;
	x = &r->rows[a];
	y = &r->rows[b];
	switch (col) {
	case 1:
		return strcmp(x->email ? x->email : "", y->email ? y->email : "");
	case 2:
		return strcmp(x->username ? x->username : "", y->username ? y->username : "");
	default:
		return x->line < y->line ? -1 : x->line > y->line;
	}
}

static int rows_init(struct ui *ui, void *p)
{
	struct rowsview *v = p;

	ui_list_init(&v->list, row_cols, 5, rows_cell, rows_cmp, v);
	v->list.noun = "rows";
	v->list.empty = "The batch's list of mailboxes is empty.";
	ui_focus_init(&v->focus);
	ui_focus_add(&v->focus, &v->list.base);
	ui_screen_focus(ui, &v->focus);
	return 0;
}

static void rows_draw(struct ui *ui, void *p, struct ui_rect a)
{
	struct rowsview *v = p;
	struct mf_err err;
	const struct csvin_result *r = wiz_csv_rows(v->w, &err);
	size_t n = r ? r->nrows : 0;

	if (n != v->list.count)
		ui_list_set_count(&v->list, n);
	ui_put_ell(ui, a.y, a.x + 1, a.w - 2, r ? UI_ROLE_NORMAL : UI_ROLE_FAIL,
	           r ? "The mailboxes of the batch's CSV. Passwords are never shown." : err.msg);
	v->list.base.rect = (struct ui_rect){a.y + 2, a.x, a.h - 2, a.w};
	ui_widget_draw(ui, &v->list.base);
}

static void rows_fini(struct ui *ui, void *p)
{
	struct rowsview *v = p;

	(void)ui;
	ui_list_free(&v->list);
	free(v);
}

static const struct ui_keyhelp rows_keys[] = {
        {"s", "sort", 1},
        {NULL, NULL, 0},
};

static const struct ui_screen_ops rows_ops = {
        .title = "CSV rows",
        .init = rows_init,
        .draw = rows_draw,
        .fini = rows_fini,
        .keys = rows_keys,
        .help = "The rows of the batch's copy of the CSV, with the line each comes from. The "
                "Password and TargetPassword columns are never shown.",
};

int screen_csv_rows(struct ui *ui, struct wiz *w)
{
	struct rowsview *v = xcalloc(1, sizeof(*v));

	v->w = w;
	return push_screen(ui, &rows_ops, v);
}

/* ---------------------------------------------------------------- the CSV's problems */

struct probview {
	char *path; /* owned */
	struct csvin_result r;
	struct ui_list list;
	struct ui_focus focus;
};

static const struct ui_column prob_cols[] = {
        {"Line", 5, 1},
        {"Col", 4, 1},
        {"Kind", 7, 0},
        {"Problem", 0, 0},
};

static void prob_cell(void *arg, size_t row, int col, char *buf, size_t n, enum ui_role *role)
{
	struct probview *v = arg;
	const struct csvin_problem *p;

	if (row >= v->r.nproblems)
		return;
	p = &v->r.problems[row];
	switch (col) {
	case 0:
		if (p->line)
			snprintf(buf, n, "%u", p->line);
		break;
	case 1:
		if (p->column)
			snprintf(buf, n, "%u", p->column);
		break;
	case 2:
		snprintf(buf, n, "%s", p->severity == CSVIN_ERROR ? "ERROR" : "WARNING");
		*role = p->severity == CSVIN_ERROR ? UI_ROLE_FAIL : UI_ROLE_WARN;
		break;
	default:
		snprintf(buf, n, "%s", p->text ? p->text : "");
		break;
	}
}

static int prob_init(struct ui *ui, void *p)
{
	struct probview *v = p;

	ui_list_init(&v->list, prob_cols, 4, prob_cell, NULL, v);
	v->list.noun = "problems";
	ui_list_set_count(&v->list, v->r.nproblems);
	ui_focus_init(&v->focus);
	ui_focus_add(&v->focus, &v->list.base);
	ui_screen_focus(ui, &v->focus);
	return 0;
}

static void prob_draw(struct ui *ui, void *p, struct ui_rect a)
{
	struct probview *v = p;
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s: %zu error%s, %zu warning%s. %s", v->path, v->r.nerrors,
	         v->r.nerrors == 1 ? "" : "s", v->r.nproblems - v->r.nerrors,
	         v->r.nproblems - v->r.nerrors == 1 ? "" : "s",
	         v->r.nerrors ? "Nothing was imported: fix the lines below and import again."
	                      : "The rows were imported.");
	ui_text(ui, (struct ui_rect){a.y, a.x + 1, 2, a.w - 2},
	        v->r.nerrors ? UI_ROLE_FAIL : UI_ROLE_WARN, buf, 0);
	v->list.base.rect = (struct ui_rect){a.y + 3, a.x, a.h - 3, a.w};
	ui_widget_draw(ui, &v->list.base);
}

static void prob_event(struct ui *ui, void *p, struct ui_widget *wd, enum ui_kr what)
{
	struct probview *v = p;
	long row = ui_list_selected(&v->list);
	struct mf_buf line;

	(void)wd;
	if (what != UI_KR_ACTIVATED || row < 0 || (size_t)row >= v->r.nproblems)
		return;
	buf_init(&line, 0);
	if (csvin_problem_format(&v->r.problems[row], &line) == 0 && line.data)
		ui_message(ui, "CSV problem", line.data, NULL, NULL);
	buf_free(&line);
}

static void prob_fini(struct ui *ui, void *p)
{
	struct probview *v = p;

	(void)ui;
	csvin_result_free(&v->r);
	ui_list_free(&v->list);
	free(v->path);
	free(v);
}

static const struct ui_keyhelp prob_keys[] = {
        {"Enter", "the whole text", 1},
        {NULL, NULL, 0},
};

static const struct ui_screen_ops prob_ops = {
        .title = "CSV problems",
        .init = prob_init,
        .draw = prob_draw,
        .event = prob_event,
        .fini = prob_fini,
        .keys = prob_keys,
        .help = "Every problem of the CSV with its line and column (the header is line 1), "
                "in Microsoft's words where Microsoft has some. A password is never quoted.",
};

int screen_csv_problems(struct ui *ui, const char *path, struct csvin_result *r)
{
	struct probview *v = xcalloc(1, sizeof(*v));

	v->path = xstrdup(path);
	v->r = *r;
	memset(r, 0, sizeof(*r));
	if (ui_push(ui, &prob_ops, v) < 0) {
		prob_fini(ui, v);
		return -1;
	}
	return 0;
}
