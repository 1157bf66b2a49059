/* mailferry - step 7's dashboard: one row per mailbox
 *
 * Each row: the mailbox, its state in words (Queued, Connecting, Retry n,
 * Syncing, Synced, Failed, Stopped), a progress bar that never makes up a
 * percentage (a mailbox still being listed says "counting"), messages done
 * of total, and the ETA; from 120 columns on also bytes, rate and the last
 * error (below that they are shown for the selected row under the table).
 * The totals line says done / failed / remaining, the aggregate rate, the
 * elapsed time and the ETA.  The table only asks for the rows on screen and
 * sorts 10,000 mailboxes in a frame.  Enter opens a mailbox's folders and
 * skipped messages.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screens.h"
#include "ui/textutil.h"
#include "util/mem.h"
#include "util/timeutil.h"

#define WIDE_COLS 120 /* from this width on, every column */
#define BAR_COLS  9

enum { C_MAILBOX, C_STATE, C_PROGRESS, C_MSGS, C_ETA, C_BYTES, C_RATE, C_ERROR, C__COUNT };

static const struct ui_column dash_cols[C__COUNT] = {
        [C_MAILBOX] = {"Mailbox", 0, 0},
        [C_STATE] = {"State", 10, 0},
        [C_PROGRESS] = {"Progress", 14, 0},
        [C_MSGS] = {"Messages", 13, 1},
        [C_ETA] = {"ETA", 8, 1},
        [C_BYTES] = {"Bytes", 19, 1},
        [C_RATE] = {"Rate", 10, 1},
        [C_ERROR] = {"Last error", 0, 0},
};

struct dash {
	struct wiz *w; /* borrowed */
	struct ui_list list;
	struct ui_field buttons[4];
	struct ui_form actions;
	struct ui_focus focus;
	int ascii;
};

static const struct mf_progress *row_at(struct dash *d, size_t row)
{
	size_t n;
	const struct mf_progress *rows = wiz_rows(d->w, &n);

	return row < n ? &rows[row] : NULL;
}

/* Progress as a fraction in [0, 1]; -1 when the total is not known yet. */
static double fraction(const struct mf_progress *p)
{
	if (p->state == MBX_SYNCED)
		return 1;
	if (!p->totals_known)
		return -1;
	if (p->bytes_total)
		return (double)p->bytes_done / (double)p->bytes_total;
	if (p->msgs_total)
		return (double)p->msgs_done / (double)p->msgs_total;
	return 0;
}

static void progress_text(const struct mf_progress *p, int ascii, char *buf, size_t n)
{
	char bar[3 * BAR_COLS + 1], pct[8];
	uint64_t done = p->bytes_total ? p->bytes_done : p->msgs_done;
	uint64_t total = p->bytes_total ? p->bytes_total : p->msgs_total;

	if (p->state == MBX_SYNCED && !total)
		done = total = 1; /* an empty mailbox, finished */
	if (!p->totals_known && p->state != MBX_SYNCED) {
		snprintf(buf, n, "%s",
		         p->state == MBX_SYNCING || p->state == MBX_CONNECTING ? "counting..."
		                                                               : "-");
		return;
	}
	ui_bar_render(bar, sizeof(bar), BAR_COLS, done, total, ascii);
	ui_percent_text(pct, sizeof(pct), done, total);
	snprintf(buf, n, "%s %s", bar, pct);
}

static void dash_cell(void *arg, size_t row, int col, char *buf, size_t n, enum ui_role *role)
{
	struct dash *d = arg;
	const struct mf_progress *p = row_at(d, row);
	char a[32], b[32];
	int active;

	if (!p)
		return;
	active = p->state == MBX_SYNCING || p->state == MBX_CONNECTING;
	switch (col) {
	case C_MAILBOX:
		snprintf(buf, n, "%s", p->email);
		break;
	case C_STATE:
		wiz_state_word(p, buf, n);
		*role = role_for_mailbox(p->state);
		break;
	case C_PROGRESS:
		progress_text(p, d->ascii, buf, n);
		break;
	case C_MSGS:
		if (p->totals_known || p->state == MBX_SYNCED)
			snprintf(buf, n, "%llu/%llu", (unsigned long long)p->msgs_done,
			         (unsigned long long)p->msgs_total);
		else
			snprintf(buf, n, "%llu/?", (unsigned long long)p->msgs_done);
		break;
	case C_ETA:
		if (active)
			wiz_fmt_eta(buf, n, p->eta_s);
		else
			snprintf(buf, n, "-");
		break;
	case C_BYTES:
		format_bytes(a, sizeof(a), p->bytes_done);
		format_bytes(b, sizeof(b), p->bytes_total);
		snprintf(buf, n, "%s/%s", a, p->totals_known || p->state == MBX_SYNCED ? b : "?");
		break;
	case C_RATE:
		if (active)
			wiz_fmt_rate(buf, n, p->rate_bytes);
		else
			snprintf(buf, n, "-");
		break;
	case C_ERROR:
		snprintf(buf, n, "%s", p->last_error);
		*role = p->last_error[0] ? UI_ROLE_FAIL : UI_ROLE_NORMAL;
		break;
	}
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int dash_cmp(void *arg, size_t a, size_t b, int col)
{
	struct dash *d = arg;
	const struct mf_progress *x = row_at(d, a), *y = row_at(d, b);
	double fx, fy;

	if (!x || !y)
		return 0;
	switch (col) {
	case C_STATE:
		return (int)x->state - (int)y->state;
	case C_PROGRESS:
		fx = fraction(x);
		fy = fraction(y);
		return fx < fy ? -1 : fx > fy;
	case C_MSGS:
		return cmp_u64(x->msgs_done, y->msgs_done);
	case C_ETA:
		return x->eta_s < y->eta_s ? -1 : x->eta_s > y->eta_s;
	case C_BYTES:
		return cmp_u64(x->bytes_done, y->bytes_done);
	case C_RATE:
		return x->rate_bytes < y->rate_bytes ? -1 : x->rate_bytes > y->rate_bytes;
	case C_ERROR:
		return strcmp(x->last_error, y->last_error);
	default:
		return strcmp(x->email, y->email);
	}
}

static int dash_init(struct ui *ui, void *p)
{
	struct dash *d = p;
	size_t n;

	d->ascii = ui_ascii(ui);
	ui_list_init(&d->list, dash_cols, C__COUNT, dash_cell, dash_cmp, d);
	d->list.noun = "mailboxes";
	d->list.empty = "The batch has no mailboxes: import a CSV in step 5.";
	wiz_rows(d->w, &n);
	ui_list_set_count(&d->list, n);
	ui_field_button(&d->buttons[0], B_START, "Start");
	ui_field_button(&d->buttons[1], B_DRY, "Dry run");
	ui_field_button(&d->buttons[2], B_VERIFY, "Verify");
	ui_field_button(&d->buttons[3], B_STOP, "Stop");
	ui_form_init(&d->actions, d->buttons, 4);
	ui_focus_init(&d->focus);
	ui_focus_add(&d->focus, &d->list.base);
	ui_focus_add(&d->focus, &d->actions.base);
	ui_screen_focus(ui, &d->focus);
	return 0;
}

static void dash_update(struct ui *ui, void *p)
{
	struct dash *d = p;
	size_t n;

	(void)ui;
	wiz_rows(d->w, &n);
	if (n != d->list.count)
		ui_list_set_count(&d->list, n);
	else if (d->list.sort_col >= 0)
		ui_list_resort(&d->list);
}

static void totals_line(struct dash *d, const struct wiz_totals *t, char *buf, size_t n)
{
	char rate[32], el[32], eta[32];
	const char *what;

	wiz_fmt_rate(rate, sizeof(rate), t->rate_bytes);
	format_duration(el, sizeof(el), t->elapsed_ms / 1000);
	wiz_fmt_eta(eta, sizeof(eta), t->eta_s);
	if (t->running)
		what = wiz_run_stopping(d->w) ? "Stopping at a resumable point"
		       : t->verify            ? "Verification running"
		       : t->dry_run           ? "Dry run running (nothing is written)"
		                              : "Migration running";
	else if (t->have_run)
		what = t->verify    ? "Verification finished"
		       : t->dry_run ? "Dry run finished"
		                    : "Idle";
	else
		what = "Idle";
	if (t->running)
		snprintf(buf, n, "%s: %zu done, %zu failed, %zu remaining; %s; elapsed %s; ETA %s",
		         what, t->synced, t->failed, t->remaining, rate, el, eta);
	else
		snprintf(buf, n, "%s: %zu done, %zu failed, %zu remaining%s%s", what, t->synced,
		         t->failed, t->remaining, t->have_run ? "; last run took " : "",
		         t->have_run ? el : "");
}

static void selected_lines(struct ui *ui, struct dash *d, int y, int x, int w, int lines)
{
	long row = ui_list_selected(&d->list);
	const struct mf_progress *p = row >= 0 ? row_at(d, (size_t)row) : NULL;
	char a[32], b[32], rate[32], state[32], buf[1024];

	if (!p || lines < 1)
		return;
	format_bytes(a, sizeof(a), p->bytes_done);
	format_bytes(b, sizeof(b), p->bytes_total);
	wiz_fmt_rate(rate, sizeof(rate), p->rate_bytes);
	wiz_state_word(p, state, sizeof(state));
	snprintf(buf, sizeof(buf), "%s: %s%s%s%s; %s of %s%s%s; %llu skipped", p->email, state,
	         p->folder[0] ? " '" : "", p->folder, p->folder[0] ? "'" : "", a,
	         p->totals_known ? b : "?", p->state == MBX_SYNCING ? " at " : "",
	         p->state == MBX_SYNCING ? rate : "", (unsigned long long)p->skipped);
	ui_put_ell(ui, y, x, w, UI_ROLE_NORMAL, buf);
	if (lines > 1)
		draw_pair(ui, y + 1, x, w,
		          "Last error:", p->last_error[0] ? p->last_error : "none");
}

static void dash_draw(struct ui *ui, void *p, struct ui_rect a)
{
	struct dash *d = p;
	struct wiz_totals t;
	int y = a.y, x = a.x + 1, w = a.w - 2, ncols = a.w >= WIDE_COLS ? C__COUNT : C_ETA + 1;
	int listh;
	char buf[512], m[32], b1[32], b2[32];

	if (d->list.ncols != ncols) {
		d->list.ncols = ncols;
		if (d->list.sort_col >= ncols)
			ui_list_sort(&d->list, -1, 0);
	}
	wiz_totals(d->w, &t);
	totals_line(d, &t, buf, sizeof(buf));
	ui_put_ell(ui, y++, x, w, t.failed ? UI_ROLE_WARN : UI_ROLE_NORMAL, buf);
	format_bytes(b1, sizeof(b1), t.bytes_done);
	format_bytes(b2, sizeof(b2), t.bytes_total);
	snprintf(m, sizeof(m), "%llu/%llu msgs", (unsigned long long)t.msgs_done,
	         (unsigned long long)t.msgs_total);
	snprintf(buf, sizeof(buf), "%s, %s/%s ", m, b1, b2);
	{
		int used = ui_put(ui, y, x, w, UI_ROLE_NORMAL, buf);

		if (w - used > 12)
			ui_progress(ui, y, x + used, w - used, t.synced + t.failed, t.n);
	}
	y++;
	d->buttons[0].label = t.synced ? "Delta sync" : "Start";
	d->actions.base.rect = (struct ui_rect){y++, a.x, 1, a.w};
	ui_widget_draw(ui, &d->actions.base);
	listh = a.y + a.h - y - (ncols < C__COUNT ? 2 : 0);
	d->list.base.rect = (struct ui_rect){y, a.x, listh, a.w};
	ui_widget_draw(ui, &d->list.base);
	if (ncols < C__COUNT)
		selected_lines(ui, d, a.y + a.h - 2, x, w, 2);
}

static void stop_run(struct ui *ui, struct dash *d)
{
	if (!wiz_running(d->w)) {
		ui_flash(ui, UI_ROLE_NORMAL, "Nothing is running.");
		return;
	}
	if (wiz_run_stopping(d->w)) {
		wiz_run_stop(d->w, 1);
		ui_flash(ui, UI_ROLE_WARN, "Stopping now (still resumable).");
	} else {
		wiz_run_stop(d->w, 0);
		ui_flash(ui, UI_ROLE_NORMAL,
		         "Stopping at a resumable point (x again: stop now, still resumable).");
	}
}

static void open_selected(struct ui *ui, struct dash *d)
{
	long row = ui_list_selected(&d->list);
	const struct mf_progress *p = row >= 0 ? row_at(d, (size_t)row) : NULL;

	if (p)
		screen_mailbox(ui, d->w, p->id);
}

static void dash_event(struct ui *ui, void *p, struct ui_widget *wd, enum ui_kr what)
{
	struct dash *d = p;

	if (what != UI_KR_ACTIVATED)
		return;
	if (wd == &d->list.base) {
		open_selected(ui, d);
		return;
	}
	switch (d->actions.activated) {
	case B_START:
		ask_run(ui, d->w, WIZ_RUN_MIGRATE, 0);
		break;
	case B_DRY:
		ask_run(ui, d->w, WIZ_RUN_DRY, 0);
		break;
	case B_VERIFY:
		ask_run(ui, d->w, WIZ_RUN_VERIFY, 0);
		break;
	case B_STOP:
		stop_run(ui, d);
		break;
	}
}

static int dash_key(struct ui *ui, void *p, int key)
{
	struct dash *d = p;

	switch (key) {
	case 'g':
	case 'G':
		ask_run(ui, d->w, WIZ_RUN_MIGRATE, 0);
		return 1;
	case 'd':
	case 'D':
		ask_run(ui, d->w, WIZ_RUN_DRY, 0);
		return 1;
	case 'v':
	case 'V':
		ask_run(ui, d->w, WIZ_RUN_VERIFY, 0);
		return 1;
	case 'x':
	case 'X':
		stop_run(ui, d);
		return 1;
	}
	return 0;
}

static void dash_fini(struct ui *ui, void *p)
{
	struct dash *d = p;

	(void)ui;
	wiz_dry_dismiss(d->w);
	ui_list_free(&d->list);
	free(d);
}

static const struct ui_keyhelp dash_keys[] = {
        {"Enter", "details", 1},
        {"g", "start / delta", 1},
        {"x", "stop", 1},
        {"s", "sort", 1},
        {"d", "dry run", 0},
        {"v", "verify", 0},
        {"r", "reverse the sort order", 0},
        {"PgUp PgDn", "scroll a page", 0},
        {NULL, NULL, 0},
};

static const struct ui_screen_ops dash_ops = {
        .title = "Dashboard",
        .init = dash_init,
        .draw = dash_draw,
        .key = dash_key,
        .event = dash_event,
        .update = dash_update,
        .fini = dash_fini,
        .keys = dash_keys,
        .help = "One row per mailbox: its state in words, a progress bar (\"counting...\" "
                "while the source is still being listed: no percentage is made up), messages "
                "and bytes done of the total, the rate, the time left and the last error. The "
                "first line sums up the run: done, failed, remaining, the aggregate rate, the "
                "elapsed time and the ETA. Start (g) copies what is not on the target yet: "
                "the first run is the first sync, later ones are delta syncs. Stop (x) stops "
                "at a resumable point; quitting does the same and says so. Every action asks "
                "first, with Cancel as the default.",
};

int screen_dashboard(struct ui *ui, struct wiz *w)
{
	struct dash *d;

	if (!wiz_batch(w))
		return -1;
	d = xcalloc(1, sizeof(*d));
	d->w = w;
	return push_screen(ui, &dash_ops, d);
}
