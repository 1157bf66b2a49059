/* mailferry - step 6: Connect to the source (migration endpoint) */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stepbase.h"
#include "util/err.h"

static int fields(struct step_screen *s, const struct mf_batch_settings *set, int n)
{
	n = fields_source(s->fields, n, STEP_FIELDS_MAX, set);
	n = fields_source_login(s->fields, n, STEP_FIELDS_MAX, set,
	                        wiz_secret_stored(s->w, "source-admin"));
	ui_field_number(&s->fields[n++], F_CONCURRENCY, "Mailboxes at once", 1, 256,
	                set->concurrency);
	return n;
}

static const struct step_def step6_def = {.step = 6, .fields = fields};

static int step6_init(struct ui *ui, void *p)
{
	return step_init(ui, p, &step6_def);
}

const struct ui_screen_ops step6_screen = {
        .title = "Step 6",
        .init = step6_init,
        .draw = step_draw,
        .key = step_key,
        .event = step_event,
        .fini = step_fini,
        .keys = step_keys,
        .help = "The migration endpoint: the source server, its port, the security (SSL/TLS on "
                "993, STARTTLS on 143, or None, which needs an explicit opt-in because passwords "
                "would travel in clear), how mailboxes log in, and how many mailboxes are copied "
                "at once. Run checks saves and then connects live.",
};
