/* mailferry - the parts every step screen shares (see stepbase.h) */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stepbase.h"
#include "util/err.h"
#include "util/err.h"
#include "util/mem.h"

const struct ui_keyhelp step_keys[] = {
        {"r F5", "run checks", 1},
        {"Up Tab", "inputs, buttons, checks", 1},
        {"Enter", "on a check: detail and remedy; on a button: press it", 0},
        {"s", "sort the checks by the next column", 0},
        {NULL, NULL, 0},
};

static const struct ui_screen_ops *const step_ops[MF_STEPS + 1] = {
        NULL,          &step1_screen, &step2_screen, &step3_screen, &step4_screen,  &step5_screen,
        &step6_screen, &step7_screen, &step8_screen, &step9_screen, &step10_screen, &step11_screen,
};

static const struct ui_column check_cols[] = {
        {"Result", 6, 0},
        {"Check", 0, 0},
        {"About", 26, 0},
};

int screen_step(struct ui *ui, struct wiz *w, int step)
{
	struct step_screen *s;

	if (step < 1 || step > MF_STEPS || !wiz_batch(w))
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->w = w;
	return push_screen(ui, step_ops[step], s);
}

static void check_cell(void *arg, size_t row, int col, char *buf, size_t n, enum ui_role *role)
{
	struct step_screen *s = arg;
	size_t cnt;
	const struct ledger_check *c = wiz_checks(s->w, s->def->step, &cnt);

	if (row >= cnt)
		return;
	c += row;
	switch (col) {
	case 0:
		snprintf(buf, n, "%s", check_status_name((enum check_status)c->status));
		*role = role_for_check(c->status);
		break;
	case 1:
		snprintf(buf, n, "%s", c->title ? c->title : "");
		break;
	default:
		snprintf(buf, n, "%s", c->subject && *c->subject ? c->subject : "the batch");
		break;
	}
}

static int check_cmp(void *arg, size_t a, size_t b, int col)
{
	struct step_screen *s = arg;
	size_t cnt;
	const struct ledger_check *c = wiz_checks(s->w, s->def->step, &cnt);
	/* worst first: FAIL, WARN, SKIP, PASS */
	static const int rank[] = {3, 1, 0, 2};

	if (a >= cnt || b >= cnt)
		return 0;
	switch (col) {
	case 0:
		return rank[c[a].status & 3] - rank[c[b].status & 3];
	case 1:
		return strcmp(c[a].title ? c[a].title : "", c[b].title ? c[b].title : "");
	default:
		return strcmp(c[a].subject ? c[a].subject : "", c[b].subject ? c[b].subject : "");
	}
}

int step_button(struct step_screen *s, int n, int id, const char *label)
{
	if (n >= STEP_BUTTONS_MAX)
		return n;
	ui_field_button(&s->buttons[n], id, label);
	return n + 1;
}

/* One question at a time: the action its answer starts. */
static struct {
	struct wiz *w;
	const struct step_action *a;
} asked;

static void start_action(struct ui *ui, void *arg)
{
	struct mf_err err;

	(void)arg;
	if (wiz_action_start(asked.w, asked.a->act, &err) < 0)
		ui_message(ui, asked.a->cannot, err.msg, NULL, NULL);
}

void step_confirm_action(struct ui *ui, struct step_screen *s, const struct step_action *a,
                         const char *text)
{
	asked.w = s->w;
	asked.a = a;
	confirm_action(ui, a->question, text, a->yes, start_action, NULL);
}

static void build_fields(struct step_screen *s)
{
	const struct mf_batch_settings *set = wiz_settings(s->w);
	int cur = s->form.cur, top = s->form.top;

	ui_form_wipe(&s->form);
	s->nfields = s->def->fields && set ? s->def->fields(s, set, 0) : 0;
	ui_form_init(&s->form, s->fields, s->nfields);
	s->form.base.id = 1;
	if (cur < s->nfields) {
		s->form.cur = cur;
		s->form.top = top;
	}
}

void step_reload(struct step_screen *s)
{
	build_fields(s);
	s->dirty = 0;
}

int step_init(struct ui *ui, struct step_screen *s, const struct step_def *def)
{
	int n = 0;

	s->def = def;
	build_fields(s);
	if (s->nfields && !def->no_save)
		n = step_button(s, n, B_SAVE, "Save");
	n = step_button(s, n, B_CHECK, "Run checks");
	if (def->buttons)
		n = def->buttons(s, n);
	s->nbuttons = n;
	ui_form_init(&s->actions, s->buttons, s->nbuttons);
	s->actions.base.id = 2;
	ui_list_init(&s->checks, check_cols, 3, check_cell, check_cmp, s);
	s->checks.base.id = 3;
	s->checks.noun = "checks";
	snprintf(s->empty, sizeof(s->empty),
	         "No results yet: press r (or the Run checks button) to run this step's checks.");
	s->checks.empty = s->empty;
	ui_focus_init(&s->focus);
	if (s->nfields)
		ui_focus_add(&s->focus, &s->form.base);
	ui_focus_add(&s->focus, &s->actions.base);
	ui_focus_add(&s->focus, &s->checks.base);
	/* the buttons first: r (run the checks) is then a key, not a letter typed
	 * into a field; Up (or Shift-Tab) reaches the inputs */
	ui_focus_set(&s->focus, &s->actions.base);
	ui_screen_focus(ui, &s->focus);
	return 0;
}

void step_fini(struct ui *ui, void *state)
{
	struct step_screen *s = state;

	(void)ui;
	ui_form_wipe(&s->form); /* typed passwords must not linger */
	ui_list_free(&s->checks);
	free(s);
}

/* The status line: the step's state in words, what runs, the summary. */
static void draw_status(struct ui *ui, struct step_screen *s, int y, int x, int w)
{
	const struct wiz_step *st = wiz_step(s->w, s->def->step);
	int used = ui_put(ui, y, x, w, UI_ROLE_DIM, "Status: ");

	used += ui_put(ui, y, x + used, w - used, role_for_step(st->status), wiz_step_word(st));
	if (wiz_checks_running(s->w) == s->def->step)
		used += ui_put(ui, y, x + used, w - used, UI_ROLE_WARN, "  (checks running...)");
	else if (wiz_checks_queued(s->w, s->def->step))
		used += ui_put(ui, y, x + used, w - used, UI_ROLE_WARN, "  (checks queued...)");
	if (st->summary[0] && used + 4 < w) {
		used += ui_put(ui, y, x + used, w - used, UI_ROLE_NORMAL, " - ");
		ui_put_ell(ui, y, x + used, w - used, UI_ROLE_NORMAL, st->summary);
	}
}

void step_draw(struct ui *ui, void *state, struct ui_rect a)
{
	struct step_screen *s = state;
	int step = s->def->step, y = a.y, x = a.x + 1, w = a.w - 2, lines, rest, fh;
	const char *purpose = checks_step_purpose(step);
	char note[600] = "";
	size_t n;

	wiz_checks(s->w, step, &n);
	if (n != s->checks.count)
		ui_list_set_count(&s->checks, n);
	s->checks.empty =
	        wiz_step(s->w, step)->no_checks
	                ? "This version of mailferry has no live checks for this step yet."
	                : s->empty;
	ui_putf(ui, y++, x, w, UI_ROLE_TITLE, "Step %d of %d: %s", step, MF_STEPS,
	        checks_step_title(step));
	lines = ui_text(ui, (struct ui_rect){y, x, 2, w}, UI_ROLE_NORMAL, purpose ? purpose : "",
	                0);
	y += lines < 2 ? lines : 2;
	if (s->def->note)
		s->def->note(s, note, sizeof(note));
	if (note[0]) {
		lines = ui_text(ui, (struct ui_rect){y, x, 2, w}, UI_ROLE_WARN, note, 0);
		y += lines < 2 ? lines : 2;
	}
	draw_status(ui, s, y++, x, w);
	y++;
	rest = a.y + a.h - y;
	if (s->nfields) {
		/* the inputs get what the checks (6 rows at least) and the buttons leave */
		fh = ui_form_height(&s->form);
		if (fh > rest - 8)
			fh = rest - 8 > 2 ? rest - 8 : 2;
		s->form.base.rect = (struct ui_rect){y, a.x, fh, a.w};
		ui_widget_draw(ui, &s->form.base);
		y += fh;
	}
	s->actions.base.rect = (struct ui_rect){y, a.x, 1, a.w};
	ui_widget_draw(ui, &s->actions.base);
	y += 2;
	s->checks.base.rect = (struct ui_rect){y, a.x, a.y + a.h - y, a.w};
	ui_widget_draw(ui, &s->checks.base);
}

int step_save(struct ui *ui, struct step_screen *s)
{
	struct mf_batch_settings copy;
	struct form_secrets sec = {0};
	struct mf_err err;
	char msg[512];
	int rc = -1;

	if (wiz_can_edit(s->w, &err) < 0) {
		ui_message(ui, "Not saved", err.msg, NULL, NULL);
		return -1;
	}
	if (batch_settings_copy(&copy, wiz_settings(s->w)) < 0) {
		ui_message(ui, "Not saved", "out of memory", NULL, NULL);
		return -1;
	}
	if (fields_apply(&s->form, &copy, &sec, wiz_secret_stored(s->w, "source-admin"),
	                 wiz_secret_stored(s->w, "target-admin"), wiz_secret_stored(s->w, "client"),
	                 msg, sizeof(msg)) < 0) {
		ui_message(ui, "Not saved", msg, NULL, NULL);
	} else if (wiz_save_settings(s->w, &copy, &err) < 0 ||
	           (sec.source_admin &&
	            wiz_set_secret(s->w, "source-admin", sec.source_admin, &err) < 0) ||
	           (sec.target_admin &&
	            wiz_set_secret(s->w, "target-admin", sec.target_admin, &err) < 0) ||
	           (sec.client && wiz_set_secret(s->w, "client", sec.client, &err) < 0)) {
		ui_message(ui, "Not saved", err.msg, NULL, NULL);
	} else {
		rc = 0;
		step_reload(s);
		ui_flash(ui, UI_ROLE_OK, "Saved.%s",
		         sec.source_admin || sec.target_admin || sec.client
		                 ? " The password is stored in the batch (0600), never shown."
		                 : "");
	}
	form_secrets_clear(&sec);
	batch_settings_clear(&copy);
	return rc;
}

static void run_checks(struct ui *ui, struct step_screen *s)
{
	struct mf_err err;

	if (s->dirty && !s->def->no_save && step_save(ui, s) < 0)
		return;
	if (wiz_checks_start(s->w, s->def->step, &err) < 0) {
		ui_flash(ui, UI_ROLE_WARN, "%s", err.msg);
		return;
	}
	if (wiz_checks_queued(s->w, s->def->step))
		ui_flash(ui, UI_ROLE_NORMAL,
		         "Step %d's checks start when step %d's are done (the screen stays usable)",
		         s->def->step, wiz_checks_running(s->w));
	else if (wiz_checks_running(s->w))
		ui_flash(ui, UI_ROLE_NORMAL, "Checking step %d... (the screen stays usable)",
		         s->def->step);
}

/* Up and Down cross from one widget to the next where the widget itself has
 * no more room to move: inputs -> buttons -> checks. */
static int cross(struct step_screen *s, int key)
{
	struct ui_widget *cur = ui_focus_current(&s->focus);

	if (cur == &s->actions.base && key == UI_KEY_UP && s->nfields) {
		ui_focus_set(&s->focus, &s->form.base);
		s->form.cur = s->nfields - 1;
		return 1;
	}
	if (cur == &s->actions.base && key == UI_KEY_DOWN) {
		ui_focus_set(&s->focus, &s->checks.base);
		return 1;
	}
	if (cur == &s->form.base && key == UI_KEY_DOWN) {
		ui_focus_set(&s->focus, &s->actions.base);
		s->actions.cur = 0;
		return 1;
	}
	return 0;
}

int step_key(struct ui *ui, void *state, int key)
{
	struct step_screen *s = state;

	if (cross(s, key))
		return 1;
	if (key == 'r' || key == 'R' || key == UI_KEY_F(5)) {
		run_checks(ui, s);
		return 1;
	}
	return 0;
}

void step_event(struct ui *ui, void *state, struct ui_widget *wd, enum ui_kr what)
{
	struct step_screen *s = state;

	if (wd == &s->form.base && what == UI_KR_CHANGED) {
		s->dirty = 1;
		return;
	}
	if (wd == &s->checks.base && what == UI_KR_ACTIVATED) {
		long row = ui_list_selected(&s->checks);
		size_t n;
		const struct ledger_check *c = wiz_checks(s->w, s->def->step, &n);

		if (row >= 0 && (size_t)row < n)
			screen_check(ui, &c[row]);
		return;
	}
	if (wd != &s->actions.base || what != UI_KR_ACTIVATED)
		return;
	switch (s->actions.activated) {
	case B_SAVE:
		step_save(ui, s);
		break;
	case B_CHECK:
		run_checks(ui, s);
		break;
	default:
		if (s->def->button)
			s->def->button(ui, s, s->actions.activated);
		break;
	}
}
