/* mailferry - step 10: Verify routing */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stepbase.h"
#include "util/err.h"

static int buttons(struct step_screen *s, int n)
{
	return step_button(s, n, B_START, "Final delta sync");
}

static void button(struct ui *ui, struct step_screen *s, int id)
{
	if (id == B_START)
		ask_run(ui, s->w, WIZ_RUN_MIGRATE, 1);
}

static void note(struct step_screen *s, char *out, size_t n)
{
	if (wiz_settings(s->w)->demo)
		snprintf(out, n,
		         "Demo: routing is checked with public DNS, which the demo's local "
		         "servers lack: those checks are skipped. The final delta still runs.");
}

static const struct step_def step10_def = {
        .step = 10, .buttons = buttons, .button = button, .note = note};

static int step10_init(struct ui *ui, void *p)
{
	return step_init(ui, p, &step10_def);
}

const struct ui_screen_ops step10_screen = {
        .title = "Step 10",
        .init = step10_init,
        .draw = step_draw,
        .key = step_key,
        .event = step_event,
        .fini = step_fini,
        .keys = step_keys,
        .help = "After the MX change has spread (Microsoft suggests waiting up to 72 hours), every "
                "resolver must see the new MX; a final delta sync then copies what still arrived "
                "at the source.",
};
