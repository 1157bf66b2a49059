/* mailferry - step 11: Inform users */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stepbase.h"
#include "util/err.h"

static int fields(struct step_screen *s, const struct mf_batch_settings *set, int n)
{
	ui_field_text(&s->fields[n++], F_WELCOME, "Welcome template (file)", 40,
	              set->welcome_template ? set->welcome_template : "");
	return n;
}

static int buttons(struct step_screen *s, int n)
{
	n = step_button(s, n, B_WELCOME, "Send welcome");
	return step_button(s, n, B_FINISH, "Finish batch");
}

static const struct step_action send_welcome = {WIZ_ACT_WELCOME, "Send the welcome messages?",
                                                "Send", "Cannot send the welcome messages"};
static const struct step_action finish_batch = {WIZ_ACT_FINISH, "Finish the batch?", "Finish",
                                                "Cannot finish the batch"};

static void button(struct ui *ui, struct step_screen *s, int id)
{
	const struct mf_batch_settings *set = wiz_settings(s->w);
	size_t rows;
	char text[768];

	if (s->dirty && step_save(ui, s) < 0)
		return;
	wiz_rows(s->w, &rows);
	if (id == B_WELCOME) {
		if (!set->welcome_template) {
			ui_message(
			        ui, "No welcome template",
			        "Enter the path of the welcome message (a text file) and save it "
			        "first.",
			        NULL, NULL);
			return;
		}
		/* Microsoft's order: users are welcomed once their mail is there */
		snprintf(text, sizeof(text),
		         "Delivers the welcome message in %s into the INBOX of each of the %zu "
		         "mailboxes on the target.%s%s",
		         set->welcome_template, rows,
		         wiz_step(s->w, 7)->status != STEP_DONE
		                 ? "\n\nStep 7 is not done yet: users would be welcomed before "
		                   "their mail has arrived."
		                 : "",
		         wiz_dry_mode(s->w) ? "\n\nDry-run mode: nothing is delivered." : "");
		step_confirm_action(ui, s, &send_welcome, text);
	} else if (id == B_FINISH) {
		step_confirm_action(
		        ui, s, &finish_batch,
		        "Wipes the stored credentials: the CSV's passwords, the admin "
		        "passwords and the client secret. The ledger and the mail stay. A "
		        "later delta sync would need the credentials again.");
	}
}

static void note(struct step_screen *s, char *out, size_t n)
{
	int failed;
	const char *o = wiz_action_outcome(s->w, &failed);

	if (wiz_action_running(s->w))
		snprintf(out, n, "Working...");
	else if (o[0])
		snprintf(out, n, "Last action: %s", o);
	else
		snprintf(out, n, "The batch report: mailferry report %s --format csv",
		         wiz_settings(s->w)->name);
}

static const struct step_def step11_def = {
        .step = 11, .fields = fields, .buttons = buttons, .button = button, .note = note};

static int step11_init(struct ui *ui, void *p)
{
	return step_init(ui, p, &step11_def);
}

const struct ui_screen_ops step11_screen = {
        .title = "Step 11",
        .init = step11_init,
        .draw = step_draw,
        .key = step_key,
        .event = step_event,
        .fini = step_fini,
        .keys = step_keys,
        .help = "Tell users their mail has moved: a welcome message is delivered into every target "
                "INBOX. Finishing the batch wipes the stored credentials (CSV passwords, admin "
                "passwords, client secret); the ledger and the report stay.",
};
