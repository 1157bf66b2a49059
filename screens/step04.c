/* mailferry - step 4: Admin credentials or user passwords */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stepbase.h"
#include "util/err.h"

static int fields(struct step_screen *s, const struct mf_batch_settings *set, int n)
{
	return fields_source_login(s->fields, n, STEP_FIELDS_MAX, set,
	                           wiz_secret_stored(s->w, "source-admin"));
}

static void note(struct step_screen *s, char *out, size_t n)
{
	const struct mf_batch_settings *set = wiz_settings(s->w);

	if (set->source.auth == MF_AUTH_CSV)
		snprintf(out, n,
		         "Each row of the list logs in with its own UserName and Password "
		         "(never shown here).");
}

static const struct step_def step4_def = {.step = 4, .fields = fields, .note = note};

static int step4_init(struct ui *ui, void *p)
{
	return step_init(ui, p, &step4_def);
}

const struct ui_screen_ops step4_screen = {
        .title = "Step 4",
        .init = step4_init,
        .draw = step_draw,
        .key = step_key,
        .event = step_event,
        .fini = step_fini,
        .keys = step_keys,
        .help = "Either every row of the CSV carries the user's own password, or one admin account "
                "reads every mailbox. Admin login forms: Dovecot user*admin (master user), SASL "
                "PLAIN authorization id, Exchange domain/admin/user, Mirapoint "
                "#user@domain#admin#, Courier or Oracle UserRoot. The checks log in to the source "
                "as every row of the list.",
};
