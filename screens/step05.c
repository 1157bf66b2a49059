/* mailferry - step 5: Create the list of mailboxes */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/csvin.h"
#include "stepbase.h"
#include "util/err.h"
#include "util/mem.h"

static int fields(struct step_screen *s, const struct mf_batch_settings *set, int n)
{
	ui_field_text(&s->fields[n++], F_CSV, "CSV file", 48,
	              set->csv_origin ? set->csv_origin : "");
	return n;
}

static int buttons(struct step_screen *s, int n)
{
	n = step_button(s, n, B_IMPORT, "Import");
	return step_button(s, n, B_ROWS, "View rows");
}

static void import(struct ui *ui, struct step_screen *s)
{
	struct ui_field *fl = ui_form_field(&s->form, F_CSV);
	const char *path = fl ? ui_field_value(fl) : NULL;
	struct csvin_result problems;
	struct mf_err err;
	int rc;

	if (!path || !*path) {
		ui_flash(ui, UI_ROLE_WARN, "Enter the path of the CSV file first.");
		return;
	}
	rc = wiz_import_csv(s->w, path, &problems, &err);
	if (rc < 0 && !problems.nproblems) {
		ui_message(ui, "Not imported", err.msg, NULL, NULL);
	} else if (problems.nproblems) {
		char *p = xstrdup(path);

		if (rc == 0)
			ui_flash(ui, UI_ROLE_WARN, "Imported %zu mailboxes, with warnings.",
			         problems.nrows);
		screen_csv_problems(ui, p, &problems);
		free(p);
	} else {
		ui_flash(ui, UI_ROLE_OK, "Imported %zu mailboxes. Run the checks (r) next.",
		         problems.nrows);
	}
	csvin_result_free(&problems);
	step_reload(s);
}

static void button(struct ui *ui, struct step_screen *s, int id)
{
	if (id == B_IMPORT)
		import(ui, s);
	else if (id == B_ROWS)
		screen_csv_rows(ui, s->w);
}

static void note(struct step_screen *s, char *out, size_t n)
{
	size_t rows;

	wiz_rows(s->w, &rows);
	snprintf(out, n,
	         "The batch holds %zu mailbox%s. Columns: EmailAddress, UserName, Password "
	         "[, UserRoot]; passwords are never shown.",
	         rows, rows == 1 ? "" : "es");
}

static const struct step_def step5_def = {.step = 5,
                                          .fields = fields,
                                          .buttons = buttons,
                                          .button = button,
                                          .note = note,
                                          .no_save = 1};

static int step5_init(struct ui *ui, void *p)
{
	return step_init(ui, p, &step5_def);
}

const struct ui_screen_ops step5_screen = {
        .title = "Step 5",
        .init = step5_init,
        .draw = step_draw,
        .key = step_key,
        .event = step_event,
        .fini = step_fini,
        .keys = step_keys,
        .help = "Microsoft's CSV format: a header EmailAddress,UserName,Password (and optionally "
                "UserRoot), one row per mailbox, at most 50,000 rows. Import checks every row and "
                "lists each problem with its line and column; nothing is imported while there are "
                "errors. View rows shows the mailboxes of the batch without their passwords.",
};
