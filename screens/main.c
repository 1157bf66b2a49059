/* mailferry - starting and ending the wizard (include/ui.h: ui_wizard_run)
 *
 * The terminal is checked first (no curses on a pipe or TERM=dumb), then the
 * batch is opened before curses starts, so that "no such batch" or "in use by
 * pid N" is an ordinary message and exit status.  The batch list is always
 * the root screen; the checklist of the open batch sits on top of it.  After
 * the loop the terminal is restored first, and only then does the model stop
 * (or, after a hangup with --keep-running, finish) a transfer that still runs.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "screens.h"
#include "ui/tui.h"
#include "ui/wizard.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

static int status_for(const struct mf_err *err)
{
	switch (err->code) {
	case MF_E_NOTFOUND:
		return MF_EXIT_NOINPUT;
	case MF_E_LOCKED:
		return MF_EXIT_LOCKED;
	case MF_E_NOMEM:
	case MF_E_INTERNAL:
		return MF_EXIT_INTERNAL;
	case MF_E_CONFIG:
		return MF_EXIT_CONFIG;
	default:
		return MF_EXIT_CANTCREAT;
	}
}

int ui_wizard_run(const struct ui_wizard_opts *o, struct ui_wizard_result *res)
{
	struct ui_options uo = o->ui;
	struct wiz *w;
	struct ui *ui;
	struct mf_err err;
	char why[512], *last = NULL;
	const char *name = o->batch;
	enum ui_end end;

	memset(res, 0, sizeof(*res));
	res->headless_status = -1;
	if (ui_terminal_check(why, sizeof(why)) < 0) {
		fprintf(stderr, "mailferry: %s\n", why);
		res->status = MF_EXIT_USAGE;
		return -1;
	}
	w = wiz_new(o->keep_running);
	if (!name)
		name = last = wiz_last_batch();
	if (name && wiz_open_batch(w, name, &err) < 0) {
		if (o->batch) {
			fprintf(stderr, "mailferry: %s\n", err.msg);
			res->status = status_for(&err);
			wiz_free(w);
			return -1;
		}
		/* the remembered batch is gone or busy: start from the list */
	}
	free(last);
	if (wiz_batch(w) && !o->demo)
		wiz_remember(wiz_settings(w)->name);
	uo.log_path = wiz_batch(w) ? batch_log_path(wiz_batch(w)) : NULL;
	if (ui_open(&ui, &uo, &err) < 0) {
		fprintf(stderr, "mailferry: %s\n", err.msg);
		res->status = MF_EXIT_USAGE;
		wiz_free(w);
		return -1;
	}
	wiz_attach(w, ui);
	if (screen_batches(ui, w) < 0 || (wiz_batch(w) && screen_home(ui, w) < 0)) {
		wiz_detach(w);
		ui_close(ui);
		fprintf(stderr, "mailferry: the wizard could not start its first screen\n");
		res->status = MF_EXIT_INTERNAL;
		wiz_free(w);
		return -1;
	}
	end = ui_run(ui);
	log_info("wizard: ended: %s%s%s", ui_end_name(end), end == UI_END_ERROR ? ": " : "",
	         end == UI_END_ERROR ? ui_end_message(ui) : "");
	if (end == UI_END_ERROR)
		snprintf(why, sizeof(why), "%s", ui_end_message(ui));
	wiz_detach(w);
	ui_close(ui);
	if (end == UI_END_ERROR)
		fprintf(stderr, "mailferry: the wizard stopped: %s\n", why);
	wiz_finish(w, end, res);
	if (res->interrupted && end != UI_END_HANGUP)
		printf("The transfer was stopped at a resumable point: run mailferry again to "
		       "continue where it stopped.\n");
	wiz_free(w);
	log_close();
	return 0;
}
