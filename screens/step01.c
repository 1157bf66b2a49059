/* mailferry - step 1: Add users and assign licenses */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stepbase.h"
#include "util/err.h"

static int fields(struct step_screen *s, const struct mf_batch_settings *set, int n)
{
	return fields_target(s->fields, n, STEP_FIELDS_MAX, set,
	                     wiz_secret_stored(s->w, "target-admin"),
	                     wiz_secret_stored(s->w, "client"));
}

static void note(struct step_screen *s, char *out, size_t n)
{
	const struct mf_batch_settings *set = wiz_settings(s->w);

	if (set->demo)
		snprintf(out, n,
		         "Demo: the target is a local IMAP server, not a Microsoft 365 "
		         "tenant; licenses exist only in a tenant, so those checks are skipped.");
	else if (set->target_kind == MF_TARGET_IMAP)
		snprintf(out, n,
		         "The target is an IMAP server: licenses exist only in Microsoft 365, "
		         "so each target mailbox is looked for over IMAP instead.");
}

static const struct step_def step1_def = {.step = 1, .fields = fields, .note = note};

static int step1_init(struct ui *ui, void *p)
{
	return step_init(ui, p, &step1_def);
}

const struct ui_screen_ops step1_screen = {
        .title = "Step 1",
        .init = step1_init,
        .draw = step_draw,
        .key = step_key,
        .event = step_event,
        .fini = step_fini,
        .keys = step_keys,
        .help = "Every mailbox of the list must exist on the target before mail can be copied into "
                "it, and in Microsoft 365 it must hold an Exchange Online license. The inputs say "
                "where the target is: a Microsoft 365 tenant (tenant id, application id, and a "
                "client secret or a certificate with its key, for app-only OAuth2) or any IMAP "
                "server. Passwords and the client secret are masked while typed, stored in the "
                "batch (0600) and never shown again; leave the field blank to keep the stored one.",
};
