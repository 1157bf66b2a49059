/* mailferry - the list of batches (the wizard's first screen) and a new batch
 *
 * A batch is one migration: a source, a target and a list of mailboxes.  The
 * list opens one (locked: a second mailferry cannot migrate it at the same
 * time); "New batch" asks for a name, the CSV of step 5 and the endpoint of
 * step 6 (the target too, which step 1 can also set), so that a whole first
 * migration can be done without leaving the wizard.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/csvin.h"
#include "screens.h"
#include "util/err.h"
#include "util/mem.h"

/* ---------------------------------------------------------------- the list */

struct batches {
	struct wiz *w; /* borrowed */
	char **names;  /* owned */
	size_t n;
	char *last; /* owned: the last used batch, or NULL */
	struct ui_list list;
	struct ui_field buttons[2];
	struct ui_form actions;
	struct ui_focus focus;
};

static const struct ui_column batch_cols[] = {{"Batch", 0, 0}, {"", 10, 0}};

static void batches_cell(void *arg, size_t row, int col, char *buf, size_t n, enum ui_role *role)
{
	struct batches *b = arg;

	if (row >= b->n)
		return;
	if (col == 0) {
		snprintf(buf, n, "%s", b->names[row]);
	} else if (b->last && !strcmp(b->last, b->names[row])) {
		snprintf(buf, n, "last used");
		*role = UI_ROLE_DIM;
	}
}

static void reload(struct batches *b)
{
	batch_list_free(b->names, b->n);
	b->names = batch_list(&b->n);
	if (!b->names)
		b->n = 0;
	free(b->last);
	b->last = wiz_last_batch();
	ui_list_set_count(&b->list, b->n);
}

static int batches_init(struct ui *ui, void *p)
{
	struct batches *b = p;

	ui_list_init(&b->list, batch_cols, 2, batches_cell, NULL, b);
	b->list.noun = "batches";
	b->list.empty = "No batches yet: press n (or the New batch button) to create one.";
	ui_field_button(&b->buttons[0], B_OPEN, "Open");
	ui_field_button(&b->buttons[1], B_NEW, "New batch");
	ui_form_init(&b->actions, b->buttons, 2);
	reload(b);
	ui_focus_init(&b->focus);
	ui_focus_add(&b->focus, &b->list.base);
	ui_focus_add(&b->focus, &b->actions.base);
	if (!b->n) {
		ui_focus_set(&b->focus, &b->actions.base);
		b->actions.cur = 1; /* New batch */
	}
	ui_screen_focus(ui, &b->focus);
	return 0;
}

static void batches_draw(struct ui *ui, void *p, struct ui_rect a)
{
	struct batches *b = p;
	int y = a.y, x = a.x + 1, w = a.w - 2, h;

	reload(b); /* a batch may have been created or deleted meanwhile: cheap */
	y += ui_text(ui, (struct ui_rect){y, x, 3, w}, UI_ROLE_NORMAL,
	             "A batch is one migration: a source, a target and a list of mailboxes. "
	             "Open one, or create a new one.",
	             0);
	y++;
	h = a.y + a.h - y - 2;
	b->list.base.rect = (struct ui_rect){y, a.x, h, a.w};
	ui_widget_draw(ui, &b->list.base);
	b->actions.base.rect = (struct ui_rect){a.y + a.h - 1, a.x, 1, a.w};
	ui_widget_draw(ui, &b->actions.base);
}

static void open_selected(struct ui *ui, struct batches *b)
{
	long row = ui_list_selected(&b->list);
	struct wiz *w = b->w;
	struct mf_err err;
	char *name;

	if (row < 0 || (size_t)row >= b->n) {
		ui_flash(ui, UI_ROLE_NORMAL, "No batch to open: create one first (n).");
		return;
	}
	name = xstrdup(b->names[row]);
	if (wiz_open_batch(w, name, &err) < 0) {
		ui_message(ui, "Cannot open the batch", err.msg, NULL, NULL);
	} else {
		if (!wiz_settings(w)->demo)
			wiz_remember(name);
		screen_home(ui, w);
	}
	free(name);
}

static void batches_event(struct ui *ui, void *p, struct ui_widget *wd, enum ui_kr what)
{
	struct batches *b = p;

	if (what != UI_KR_ACTIVATED)
		return;
	if (wd == &b->list.base || b->actions.activated == B_OPEN)
		open_selected(ui, b);
	else if (b->actions.activated == B_NEW)
		screen_create(ui, b->w);
}

static int batches_key(struct ui *ui, void *p, int key)
{
	struct batches *b = p;

	if (key == 'n' || key == 'N') {
		screen_create(ui, b->w);
		return 1;
	}
	return 0;
}

static void batches_fini(struct ui *ui, void *p)
{
	struct batches *b = p;

	(void)ui;
	batch_list_free(b->names, b->n);
	free(b->last);
	ui_list_free(&b->list);
	free(b);
}

static const struct ui_keyhelp batches_keys[] = {
        {"Enter", "open the batch", 1},
        {"n", "new batch", 1},
        {NULL, NULL, 0},
};

static const struct ui_screen_ops batches_ops = {
        .title = "Batches",
        .init = batches_init,
        .draw = batches_draw,
        .key = batches_key,
        .event = batches_event,
        .fini = batches_fini,
        .keys = batches_keys,
        .help = "The batches kept in the state directory ($XDG_STATE_HOME/mailferry). "
                "Opening a batch locks it, so that no other mailferry migrates it at the same "
                "time. 'mailferry' alone reopens the batch used last; 'mailferry --batch NAME' "
                "opens a given one.",
};

int screen_batches(struct ui *ui, struct wiz *w)
{
	struct batches *b = xcalloc(1, sizeof(*b));

	b->w = w;
	return push_screen(ui, &batches_ops, b);
}

/* ---------------------------------------------------------------- a new batch */

#define CREATE_FIELDS 40

struct create {
	struct wiz *w; /* borrowed */
	struct ui_field fields[CREATE_FIELDS];
	struct ui_form form;
	struct ui_field buttons[2];
	struct ui_form actions;
	struct ui_focus focus;
};

static int create_init(struct ui *ui, void *p)
{
	struct create *c = p;
	struct mf_batch_settings s;
	int n = 0;

	batch_settings_init(&s);
	ui_field_text(&c->fields[n++], F_NAME, "Batch name", 32, "");
	ui_field_text(&c->fields[n++], F_CSV, "CSV file (step 5)", 48, "");
	n = fields_source(c->fields, n, CREATE_FIELDS, &s);
	n = fields_source_login(c->fields, n, CREATE_FIELDS, &s, 0);
	ui_field_number(&c->fields[n++], F_CONCURRENCY, "Mailboxes at once", 1, 256, s.concurrency);
	n = fields_target(c->fields, n, CREATE_FIELDS, &s, 0, 0);
	batch_settings_clear(&s);
	ui_form_init(&c->form, c->fields, n);
	ui_field_button(&c->buttons[0], B_CREATE, "Create");
	ui_field_button(&c->buttons[1], B_CANCEL, "Cancel");
	ui_form_init(&c->actions, c->buttons, 2);
	ui_focus_init(&c->focus);
	ui_focus_add(&c->focus, &c->form.base);
	ui_focus_add(&c->focus, &c->actions.base);
	ui_screen_focus(ui, &c->focus);
	return 0;
}

static void create_draw(struct ui *ui, void *p, struct ui_rect a)
{
	struct create *c = p;
	int y = a.y, x = a.x + 1, w = a.w - 2;

	y += ui_text(ui, (struct ui_rect){y, x, 2, w}, UI_ROLE_NORMAL,
	             "A name (letters, digits, . _ -), the list of mailboxes (Microsoft's CSV) and "
	             "where the mail comes from and goes to. Everything can be changed later.",
	             0);
	y++;
	c->form.base.rect = (struct ui_rect){y, a.x, a.y + a.h - y - 2, a.w};
	ui_widget_draw(ui, &c->form.base);
	c->actions.base.rect = (struct ui_rect){a.y + a.h - 1, a.x, 1, a.w};
	ui_widget_draw(ui, &c->actions.base);
}

static void do_create(struct ui *ui, struct create *c)
{
	const char *name = ui_field_value(ui_form_field(&c->form, F_NAME));
	const char *csv = ui_field_value(ui_form_field(&c->form, F_CSV));
	struct mf_batch_settings s;
	struct form_secrets sec = {0};
	struct batch_secrets bs;
	struct csvin_result problems = {0};
	struct wiz *w = c->w;
	struct mf_err err;
	char msg[512], *bname = NULL, *path = NULL;

	if (!batch_name_valid(name)) {
		ui_message(
		        ui, "Not created",
		        "The batch name may hold letters, digits, '.', '_' and '-' (1 to 64, not "
		        "starting with '.').",
		        NULL, NULL);
		return;
	}
	if (!*csv) {
		ui_message(ui, "Not created", "Enter the path of the CSV file (step 5).", NULL,
		           NULL);
		return;
	}
	batch_settings_init(&s);
	if (fields_apply(&c->form, &s, &sec, 0, 0, 0, msg, sizeof(msg)) < 0) {
		ui_message(ui, "Not created", msg, NULL, NULL);
		goto out;
	}
	if (!s.source.host) {
		ui_message(ui, "Not created", "Enter the source server (step 6).", NULL, NULL);
		goto out;
	}
	bname = xstrdup(name);
	path = xstrdup(csv);
	s.name = xstrdup(name);
	bs = (struct batch_secrets){sec.source_admin, sec.target_admin, sec.client};
	if (wiz_create_batch(&s, path, &bs, &problems, &err) < 0) {
		if (problems.nproblems)
			screen_csv_problems(ui, path, &problems);
		else
			ui_message(ui, "Not created", err.msg, NULL, NULL);
		goto out;
	}
	if (wiz_open_batch(w, bname, &err) < 0) {
		ui_message(ui, "Created, but cannot open it", err.msg, NULL, NULL);
		goto out;
	}
	wiz_remember(bname);
	ui_pop(ui); /* frees c */
	screen_home(ui, w);
	if (problems.nproblems)
		ui_flash(ui, UI_ROLE_WARN,
		         "Batch %s created with %zu mailboxes; the CSV has warnings (step 5).",
		         bname, problems.nrows);
	else
		ui_flash(ui, UI_ROLE_OK, "Batch %s created with %zu mailboxes.%s", bname,
		         problems.nrows,
		         wiz_settings(w)->target.host ? "" : " Set the target in step 1.");
out:
	csvin_result_free(&problems);
	form_secrets_clear(&sec);
	batch_settings_clear(&s);
	free(bname);
	free(path);
}

static void create_event(struct ui *ui, void *p, struct ui_widget *wd, enum ui_kr what)
{
	struct create *c = p;

	if (what != UI_KR_ACTIVATED || wd != &c->actions.base)
		return;
	if (c->actions.activated == B_CREATE)
		do_create(ui, c);
	else
		ui_pop(ui);
}

static int create_key(struct ui *ui, void *p, int key)
{
	struct create *c = p;

	(void)ui;
	if (key == UI_KEY_PGDN) { /* a long form: straight to the Create button */
		ui_focus_set(&c->focus, &c->actions.base);
		c->actions.cur = 0;
		return 1;
	}
	return 0;
}

static void create_fini(struct ui *ui, void *p)
{
	struct create *c = p;

	(void)ui;
	ui_form_wipe(&c->form);
	free(c);
}

static const struct ui_keyhelp create_keys[] = {
        {"PgDn", "to the Create button", 1},
        {"Space", "next choice, tick a box", 1},
        {NULL, NULL, 0},
};

static const struct ui_screen_ops create_ops = {
        .title = "New batch",
        .init = create_init,
        .draw = create_draw,
        .key = create_key,
        .event = create_event,
        .fini = create_fini,
        .keys = create_keys,
        .help = "The name, the CSV (EmailAddress,UserName,Password[,UserRoot]), the source "
                "(server, port, security, login) and the target (an IMAP server, or Microsoft "
                "365 with a tenant, an application id and a client secret or certificate). "
                "Passwords are masked and stored in the batch directory (0600), never in the "
                "ledger. A CSV with errors is refused and its problems are listed with their "
                "line and column.",
};

int screen_create(struct ui *ui, struct wiz *w)
{
	struct create *c = xcalloc(1, sizeof(*c));

	c->w = w;
	return push_screen(ui, &create_ops, c);
}
