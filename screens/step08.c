/* mailferry - step 8: Optimize (optional) */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stepbase.h"
#include "util/err.h"

static int fields(struct step_screen *s, const struct mf_batch_settings *set, int n)
{
	ui_field_number(&s->fields[n++], F_CONCURRENCY, "Mailboxes at once", 1, 256,
	                set->concurrency);
	ui_field_number(&s->fields[n++], F_TARGET_CONNS, "Target connections each", 1, 8,
	                set->target_conns);
	ui_field_number(&s->fields[n++], F_BANDWIDTH, "Bandwidth cap KB/s (0: none)", 0, 10000000,
	                (long)(set->bandwidth / 1024));
	ui_field_number(&s->fields[n++], F_MSG_RATE, "Messages/s cap (0: none)", 0, 100000,
	                (long)set->msg_rate);
	ui_field_number(&s->fields[n++], F_MAX_SIZE, "Largest message MB (0: any)", 0, 100000,
	                (long)(set->max_message_size / 1000000));
	return n;
}

static void note(struct step_screen *s, char *out, size_t n)
{
	if (wiz_settings(s->w)->demo)
		snprintf(out, n,
		         "Demo: the MX TTL check needs public DNS; the demo's domains have "
		         "none, so it is skipped.");
}

static const struct step_def step8_def = {.step = 8, .fields = fields, .note = note};

static int step8_init(struct ui *ui, void *p)
{
	return step_init(ui, p, &step8_def);
}

const struct ui_screen_ops step8_screen = {
        .title = "Step 8",
        .init = step8_init,
        .draw = step_draw,
        .key = step_key,
        .event = step_event,
        .fini = step_fini,
        .keys = step_keys,
        .help = "Optional. Lower the MX record's TTL a day ahead of the cut-over so the change "
                "spreads fast; tune how many mailboxes are copied at once, the connections per "
                "mailbox, and caps that keep the source (or the link) from being overwhelmed. "
                "Changes apply to the next run.",
};
