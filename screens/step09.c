/* mailferry - step 9: Change the MX record */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stepbase.h"
#include "util/err.h"

static void note(struct step_screen *s, char *out, size_t n)
{
	const struct mf_batch_settings *set = wiz_settings(s->w);

	if (set->demo)
		snprintf(out, n,
		         "Demo: the demo's domains have no public DNS that could be changed, "
		         "so the MX checks are skipped.");
	else
		snprintf(out, n,
		         "Change the MX record at your DNS host; the checks then look it up "
		         "live%s.",
		         set->dns_servers ? " at the DNS servers of step 2" : "");
}

static const struct step_def step9_def = {.step = 9, .note = note};

static int step9_init(struct ui *ui, void *p)
{
	return step_init(ui, p, &step9_def);
}

const struct ui_screen_ops step9_screen = {
        .title = "Step 9",
        .init = step9_init,
        .draw = step_draw,
        .key = step_key,
        .event = step_event,
        .fini = step_fini,
        .keys = step_keys,
        .help = "The cut-over: each domain's MX record must point at Microsoft 365 (or the new "
                "server). mailferry does not change DNS; it checks what the world sees.",
};
