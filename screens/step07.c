/* mailferry - step 7: Migrate mailboxes and verify */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stepbase.h"
#include "util/err.h"

static int fields(struct step_screen *s, const struct mf_batch_settings *set, int n)
{
	char list[UI_FIELD_CAP] = "";
	size_t at = 0;

	(void)s;
	for (size_t i = 0; i < set->nexclude && at < sizeof(list); i++)
		at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s", i ? ", " : "",
		                       set->exclude[i]);
	ui_field_text(&s->fields[n++], F_EXCLUDE, "Excluded folders (a, b)", 48, list);
	return n;
}

static int buttons(struct step_screen *s, int n)
{
	n = step_button(s, n, B_DASHBOARD, "Dashboard");
	n = step_button(s, n, B_START, "Start");
	n = step_button(s, n, B_DRY, "Dry run");
	return step_button(s, n, B_VERIFY, "Verify");
}

static void button(struct ui *ui, struct step_screen *s, int id)
{
	if (id != B_DASHBOARD && s->dirty && step_save(ui, s) < 0)
		return;
	switch (id) {
	case B_DASHBOARD:
		screen_dashboard(ui, s->w);
		break;
	case B_START:
		ask_run(ui, s->w, WIZ_RUN_MIGRATE, 1);
		break;
	case B_DRY:
		ask_run(ui, s->w, WIZ_RUN_DRY, 1);
		break;
	case B_VERIFY:
		ask_run(ui, s->w, WIZ_RUN_VERIFY, 1);
		break;
	}
}

static void note(struct step_screen *s, char *out, size_t n)
{
	struct wiz_totals t;

	wiz_totals(s->w, &t);
	snprintf(out, n,
	         "Batch %s: %zu mailboxes, %zu synced, %zu failed%s. The dashboard (d) "
	         "shows each of them.",
	         wiz_settings(s->w)->name, t.n, t.synced, t.failed,
	         t.running ? "; a transfer is running" : "");
}

/* d opens the dashboard; the rest as on every step. */
static int step7_key(struct ui *ui, void *p, int key)
{
	struct step_screen *s = p;

	if (key == 'd' || key == 'D') {
		screen_dashboard(ui, s->w);
		return 1;
	}
	return step_key(ui, s, key);
}

static const struct step_def step7_def = {
        .step = 7, .fields = fields, .buttons = buttons, .button = button, .note = note};

static int step7_init(struct ui *ui, void *p)
{
	return step_init(ui, p, &step7_def);
}

const struct ui_screen_ops step7_screen = {
        .title = "Step 7",
        .init = step7_init,
        .draw = step_draw,
        .key = step7_key,
        .event = step_event,
        .fini = step_fini,
        .keys = step_keys,
        .help = "Start copies every mailbox (a first sync; later runs are delta syncs that copy "
                "only what is new). Dry run rehearses without writing to the target. Verify "
                "compares source and target folder by folder. Each asks first; Cancel is the "
                "default. Excluded folders are left out (names as on the source, comma-separated). "
                "The dashboard shows a row per mailbox with its progress.",
};
