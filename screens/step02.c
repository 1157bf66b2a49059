/* mailferry - step 2: Prepare the IMAP source and verify domains */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stepbase.h"
#include "util/err.h"

static int fields(struct step_screen *s, const struct mf_batch_settings *set, int n)
{
	ui_field_text(&s->fields[n++], F_DNS, "DNS servers (host:port,...)", 40,
	              set->dns_servers ? set->dns_servers : "");
	return n;
}

static void note(struct step_screen *s, char *out, size_t n)
{
	const struct mf_batch_settings *set = wiz_settings(s->w);

	if (set->demo)
		snprintf(out, n,
		         "Demo: verifying domains needs a Microsoft 365 tenant and public "
		         "DNS, which the demo's local servers lack: those checks are skipped.");
	else if (set->target_kind == MF_TARGET_IMAP)
		snprintf(out, n,
		         "IMAP target: there is no tenant whose domains could be verified; "
		         "the source is still checked.");
}

static const struct step_def step2_def = {.step = 2, .fields = fields, .note = note};

static int step2_init(struct ui *ui, void *p)
{
	return step_init(ui, p, &step2_def);
}

const struct ui_screen_ops step2_screen = {
        .title = "Step 2",
        .init = step2_init,
        .draw = step_draw,
        .key = step_key,
        .event = step_event,
        .fini = step_fini,
        .keys = step_keys,
        .help = "The source must answer with sound TLS and the capabilities the copy relies on, "
                "and every domain of the list must be verified in the Microsoft 365 tenant. Leave "
                "the DNS servers blank to ask the system's resolvers.",
};
