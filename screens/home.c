/* mailferry - home: the eleven steps of Microsoft's checklist for the open batch
 *
 * One row per step, in Microsoft's order and words, with its status in words
 * (not started, passed, warnings, failed, done, skipped) and a one-line
 * summary from the ledger; the next sensible step carries the word NEXT and
 * is selected when the screen opens.  Above: the batch, its source and
 * target, and whether runs are real or dry.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "screens.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

struct home {
	struct wiz *w; /* borrowed */
	struct ui_list steps;
	struct ui_focus focus;
};

static const struct ui_column home_cols[] = {
        {"", 4, 0}, {"#", 2, 1}, {"Step", 43, 0}, {"Status", 11, 0}, {"Summary", 0, 0},
};

static void home_cell(void *arg, size_t row, int col, char *buf, size_t n, enum ui_role *role)
{
	struct home *h = arg;
	int step = (int)row + 1;
	const struct wiz_step *st = wiz_step(h->w, step);

	switch (col) {
	case 0:
		if (wiz_next_step(h->w) == step) {
			snprintf(buf, n, "NEXT");
			*role = UI_ROLE_WARN;
		}
		break;
	case 1:
		snprintf(buf, n, "%d", step);
		break;
	case 2:
		snprintf(buf, n, "%s", checks_step_title(step));
		break;
	case 3:
		snprintf(buf, n, "%s", wiz_step_word(st));
		*role = st->only_skipped && st->status == STEP_NOT_STARTED
		                ? UI_ROLE_SKIP
		                : role_for_step(st->status);
		break;
	default:
		snprintf(buf, n, "%s", st->summary);
		break;
	}
}

static int home_init(struct ui *ui, void *p)
{
	struct home *h = p;
	int next = wiz_next_step(h->w);

	ui_list_init(&h->steps, home_cols, 5, home_cell, NULL, h);
	h->steps.noun = "steps";
	ui_list_set_count(&h->steps, MF_STEPS);
	h->steps.sel = next > 0 ? (size_t)(next - 1) : 0;
	ui_focus_init(&h->focus);
	ui_focus_add(&h->focus, &h->steps.base);
	ui_screen_focus(ui, &h->focus);
	return 0;
}

static void last_run(struct wiz *w, char *out, size_t n)
{
	struct mf_run_summary s;
	enum wiz_run_kind kind;
	struct wiz_totals t;

	wiz_totals(w, &t);
	if (t.running)
		snprintf(out, n, "%s running: %zu of %zu synced",
		         t.verify    ? "verification"
		         : t.dry_run ? "dry run"
		                     : "migration",
		         t.synced, t.n);
	else if (wiz_last_summary(w, &s, &kind))
		snprintf(out, n, "last run: %s, %zu of %zu synced, %zu failed%s",
		         kind == WIZ_RUN_VERIFY ? "verification"
		         : kind == WIZ_RUN_DRY  ? "dry run"
		                                : "migration",
		         s.synced, s.mailboxes, s.failed,
		         s.interrupted ? ", stopped (resumable)" : "");
	else
		snprintf(out, n, "%zu mailbox%s: %zu synced, %zu failed, %zu stopped", t.n,
		         t.n == 1 ? "" : "es", t.synced, t.failed, t.stopped);
}

static void home_draw(struct ui *ui, void *p, struct ui_rect a)
{
	struct home *h = p;
	const struct mf_batch_settings *s = wiz_settings(h->w);
	int y = a.y, x = a.x + 1, w = a.w - 2, next, sel, lines, used;
	char buf[512], run[256];

	if (!s)
		return;
	snprintf(buf, sizeof(buf), "%s%s   target: %s", s->name, s->demo ? " (mailferry demo)" : "",
	         describe_target_kind(s));
	draw_pair(ui, y++, x, w, "Batch ", buf);
	describe_endpoint(buf, sizeof(buf), &s->source, 1);
	draw_pair(ui, y++, x, w, "Source", buf);
	describe_endpoint(buf, sizeof(buf), &s->target, 0);
	draw_pair(ui, y++, x, w, "Target", buf);
	last_run(h->w, run, sizeof(run));
	used = ui_put(ui, y, x, w, UI_ROLE_DIM, "Mode   ");
	if (wiz_dry_mode(h->w))
		used += ui_put(ui, y, x + used, w - used, UI_ROLE_BANNER, "DRY RUN");
	else
		used += ui_put(ui, y, x + used, w - used, UI_ROLE_NORMAL, "real run");
	snprintf(buf, sizeof(buf), " (d: %s); %s",
	         wiz_dry_mode(h->w) ? "back to real runs" : "dry-run mode", run);
	ui_put_ell(ui, y++, x + used, w - used, UI_ROLE_NORMAL, buf);
	y++;
	h->steps.base.rect = (struct ui_rect){y, a.x, MF_STEPS + 2, a.w};
	ui_widget_draw(ui, &h->steps.base);
	y += MF_STEPS + 2;
	next = wiz_next_step(h->w);
	if (y < a.y + a.h) {
		if (next)
			snprintf(buf, sizeof(buf),
			         "Next: step %d, %s. Enter opens the selected step.", next,
			         checks_step_title(next));
		else
			snprintf(buf, sizeof(buf),
			         "Every step is passed or done. Enter opens a step.");
		ui_put_ell(ui, y++, x, w, UI_ROLE_NORMAL, buf);
	}
	sel = (int)ui_list_selected(&h->steps) + 1;
	if (sel >= 1 && y < a.y + a.h) {
		const struct wiz_step *st = wiz_step(h->w, sel);

		snprintf(buf, sizeof(buf), "%d: %s%s%s", sel, checks_step_purpose(sel),
		         st->summary[0] ? " Last result: " : "", st->summary);
		lines = ui_text(ui, (struct ui_rect){y, x, a.y + a.h - y, w}, UI_ROLE_DIM, buf, 0);
		(void)lines;
	}
}

static void open_step(struct ui *ui, struct home *h, int step)
{
	if (screen_step(ui, h->w, step) < 0)
		ui_flash(ui, UI_ROLE_FAIL, "Cannot open step %d.", step);
}

static void home_event(struct ui *ui, void *p, struct ui_widget *w, enum ui_kr what)
{
	struct home *h = p;

	(void)w;
	if (what == UI_KR_ACTIVATED)
		open_step(ui, h, (int)ui_list_selected(&h->steps) + 1);
}

static int home_key(struct ui *ui, void *p, int key)
{
	struct home *h = p;
	struct mf_err err;
	int next;

	switch (key) {
	case 'd':
	case 'D':
		wiz_set_dry_mode(h->w, !wiz_dry_mode(h->w));
		ui_flash(ui, UI_ROLE_NORMAL, "%s",
		         wiz_dry_mode(h->w) ? "Dry-run mode: runs and actions rehearse, nothing is "
		                              "written to the target."
		                            : "Real runs: the migration writes to the target.");
		return 1;
	case 'm':
	case 'M':
		screen_dashboard(ui, h->w);
		return 1;
	case 'n':
	case 'N':
		next = wiz_next_step(h->w);
		if (next)
			h->steps.sel = (size_t)(next - 1);
		return 1;
	case UI_KEY_ESC:
	case 'b':
	case 'B':
		if (ui_depth(ui) < 2)
			return 0;
		if (wiz_close_batch(h->w, &err) < 0) {
			ui_flash(ui, UI_ROLE_WARN, "Cannot leave the batch: %s.", err.msg);
			return 1;
		}
		ui_pop(ui); /* frees h: nothing more here */
		return 1;
	}
	if (key >= '1' && key <= '9') {
		open_step(ui, h, key - '0');
		return 1;
	}
	return 0;
}

static void home_fini(struct ui *ui, void *p)
{
	struct home *h = p;

	(void)ui;
	ui_list_free(&h->steps);
	free(h);
}

static const struct ui_keyhelp home_keys[] = {
        {"Enter", "open", 1},
        {"m", "dashboard", 1},
        {"d", "dry-run mode", 1},
        {"1-9", "open step 1 to 9", 0},
        {"n", "select the next step", 0},
        {"Esc b", "back to the list of batches", 0},
        {NULL, NULL, 0},
};

static const struct ui_screen_ops home_ops = {
        .title = "Checklist",
        .init = home_init,
        .draw = home_draw,
        .key = home_key,
        .event = home_event,
        .fini = home_fini,
        .keys = home_keys,
        .help = "Microsoft's eleven steps for an IMAP migration, in order, with each step's "
                "status from the batch's ledger. The step marked NEXT is the first one still "
                "to do. Any step can be opened at any time: its screen shows what it is for, "
                "its inputs, its live checks and its action. The dashboard (m) shows every "
                "mailbox while mail is copied. In dry-run mode (d) every run and action is a "
                "rehearsal that writes nothing to the target; a DRY RUN banner is then shown "
                "on every screen.",
};

int screen_home(struct ui *ui, struct wiz *w)
{
	struct home *h = xcalloc(1, sizeof(*h));

	h->w = w;
	return push_screen(ui, &home_ops, h);
}
