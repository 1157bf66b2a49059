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

static void step4_draw(struct ui *ui, void *p, struct ui_rect a)
{
	step_draw(ui, p, a);
}

static int step4_key(struct ui *ui, void *p, int key)
{
	return step_key(ui, p, key);
}

static void step4_event(struct ui *ui, void *p, struct ui_widget *w, enum ui_kr what)
{
	step_event(ui, p, w, what);
}

static void step4_fini(struct ui *ui, void *p)
{
	step_fini(ui, p);
}

const struct ui_screen_ops step4_screen = {
        .title = "Step 4",
        .init = step4_init,
        .draw = step4_draw,
        .key = step4_key,
        .event = step4_event,
        .fini = step4_fini,
        .keys = step_keys,
        .help = "Either every row of the CSV carries the user's own password, or one admin account "
                "reads every mailbox. Admin login forms: Dovecot user*admin (master user), SASL "
                "PLAIN authorization id, Exchange domain/admin/user, Mirapoint "
                "#user@domain#admin#, Courier or Oracle UserRoot. The checks log in to the source "
                "as every row of the list.",
};
