/* mailferry - step 3: Communicate changes to users */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stepbase.h"
#include "util/err.h"

static int fields(struct step_screen *s, const struct mf_batch_settings *set, int n)
{
	ui_field_text(&s->fields[n++], F_NOTICE, "Notice template (file)", 40,
	              set->notice_template ? set->notice_template : "");
	return n;
}

static int buttons(struct step_screen *s, int n)
{
	return step_button(s, n, B_NOTICES, "Send notices");
}

static const struct step_action send_notices = {WIZ_ACT_NOTICES, "Send the notices?", "Send",
                                                "Cannot send the notices"};

static void button(struct ui *ui, struct step_screen *s, int id)
{
	const struct mf_batch_settings *set = wiz_settings(s->w);
	size_t rows;
	char text[768];

	if (id != B_NOTICES)
		return;
	if (s->dirty && step_save(ui, s) < 0)
		return;
	if (!set->notice_template) {
		ui_message(
		        ui, "No notice template",
		        "Enter the path of the notice (a text file: the message users will read) "
		        "and save it first.",
		        NULL, NULL);
		return;
	}
	wiz_rows(s->w, &rows);
	snprintf(text, sizeof(text),
	         "Delivers the notice in %s into the INBOX of each of the %zu mailboxes on the "
	         "source (IMAP APPEND: no SMTP needed), where users still read their mail.%s",
	         set->notice_template, rows,
	         wiz_dry_mode(s->w) ? "\n\nDry-run mode: nothing is delivered." : "");
	step_confirm_action(ui, s, &send_notices, text);
}

static void note(struct step_screen *s, char *out, size_t n)
{
	int failed;
	const char *o = wiz_action_outcome(s->w, &failed);

	if (wiz_action_running(s->w))
		snprintf(out, n, "Sending the notices...");
	else if (o[0])
		snprintf(out, n, "Last action: %s", o);
}

static const struct step_def step3_def = {
        .step = 3, .fields = fields, .buttons = buttons, .button = button, .note = note};

static int step3_init(struct ui *ui, void *p)
{
	return step_init(ui, p, &step3_def);
}

const struct ui_screen_ops step3_screen = {
        .title = "Step 3",
        .init = step3_init,
        .draw = step_draw,
        .key = step_key,
        .event = step_event,
        .fini = step_fini,
        .keys = step_keys,
        .help = "Users should know what will happen and when. The checks list who is affected and "
                "how big each mailbox (and its Trash) is; Send notices delivers your notice into "
                "every source INBOX. It asks first; Cancel is the default.",
};
