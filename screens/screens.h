/* mailferry - the wizard's screens (one file per step, plus home, the batch
 * list, the dashboard and a few detail views)
 *
 * Every screen is an init/draw/key trio registered with ui_push (src/ui/tui.h)
 * and reads the model (src/ui/wizard.h); none does I/O of its own.  The
 * functions below allocate the screen's state, push the screen and return
 * 0 or -1; the state is freed by the screen's fini when it is popped.
 *
 * Every state is written in words (PASS, FAIL, Synced, not started...);
 * colour only repeats it.
 */
#ifndef MF_SCREENS_SCREENS_H
#define MF_SCREENS_SCREENS_H

#include <stddef.h>
#include <stdint.h>

#include "ui/tui.h"
#include "ui/wizard.h"

struct csvin_result;
struct ledger_check;

int screen_batches(struct ui *ui, struct wiz *w);        /* the list of batches (root) */
int screen_create(struct ui *ui, struct wiz *w);         /* a new batch: name + steps 5 and 6 */
int screen_home(struct ui *ui, struct wiz *w);           /* the eleven steps of the open batch */
int screen_step(struct ui *ui, struct wiz *w, int step); /* 1..11 */
int screen_dashboard(struct ui *ui, struct wiz *w);      /* step 7: one row per mailbox */
int screen_mailbox(struct ui *ui, struct wiz *w, int64_t id);
int screen_check(struct ui *ui, const struct ledger_check *c);
int screen_csv_rows(struct ui *ui, struct wiz *w);
/* The problems of a CSV (moved out of *r, which is left empty). */
int screen_csv_problems(struct ui *ui, const char *path, struct csvin_result *r);

/* ---------------------------------------------------------------- shared pieces */

/* Field and button ids, unique across every form of the wizard. */
enum {
	F_NAME = 1,
	F_CSV,
	F_SRC_HOST,
	F_SRC_PORT,
	F_SRC_SEC,
	F_SRC_PLAIN,
	F_SRC_CA,
	F_SRC_AUTH,
	F_SRC_FORM,
	F_SRC_ADMIN,
	F_SRC_PW,
	F_SRC_DOMAIN,
	F_CONCURRENCY,
	F_TGT_KIND,
	F_TGT_HOST,
	F_TGT_PORT,
	F_TGT_SEC,
	F_TGT_PLAIN,
	F_TGT_CA,
	F_TGT_AUTH,
	F_TGT_ADMIN,
	F_TGT_PW,
	F_TENANT,
	F_APP_ID,
	F_CLIENT_SECRET,
	F_CERT,
	F_KEY,
	F_DNS,
	F_NOTICE,
	F_WELCOME,
	F_EXCLUDE,
	F_TARGET_CONNS,
	F_BANDWIDTH,
	F_MSG_RATE,
	F_MAX_SIZE,
	/* buttons */
	B_SAVE = 100,
	B_CHECK,
	B_IMPORT,
	B_ROWS,
	B_DASHBOARD,
	B_START,
	B_DRY,
	B_VERIFY,
	B_STOP,
	B_NOTICES,
	B_WELCOME,
	B_FINISH,
	B_CREATE,
	B_CANCEL,
	B_NEW,
	B_OPEN,
};

/* Secrets typed into a form (owned; freed by form_secrets_clear). */
struct form_secrets {
	struct mf_secret *source_admin, *target_admin, *client;
};
void form_secrets_clear(struct form_secrets *s);

/* Appends a group of fields to f (which has room for `cap`), starting at
 * index at; returns the new count.  stored: the batch's secrets, for the
 * password labels ("[stored]": left blank, the stored one is kept). */
int fields_source(struct ui_field *f, int at, int cap, const struct mf_batch_settings *s);
int fields_source_login(struct ui_field *f, int at, int cap, const struct mf_batch_settings *s,
                        int stored);
int fields_target(struct ui_field *f, int at, int cap, const struct mf_batch_settings *s,
                  int stored_admin, int stored_client);

/* Reads every field of the form that it knows into s and sec, then checks
 * that the settings hang together.  0, or -1 with a sentence in msg. */
int fields_apply(struct ui_form *form, struct mf_batch_settings *s, struct form_secrets *sec,
                 int stored_source, int stored_target, int stored_client, char *msg, size_t n);

/* "host:port (SSL/TLS), login ..." for one side. */
void describe_endpoint(char *out, size_t n, const struct mf_endpoint *e, int source);
/* "IMAP server" / "Microsoft 365 (tenant)" */
const char *describe_target_kind(const struct mf_batch_settings *s);

/* The role that repeats what a status word says. */
enum ui_role role_for_check(int status);
enum ui_role role_for_step(enum step_status st);
enum ui_role role_for_mailbox(enum mbx_state st);

/* Draws "label value" pairs on one line: the label dim, the value normal. */
int draw_pair(struct ui *ui, int y, int x, int maxw, const char *label, const char *value);

/* Pushes a screen whose state was allocated for it (xcalloc).  When the push
 * fails the state is released with free() alone and -1 is returned: for
 * screens whose init keeps nothing when it fails. */
int push_screen(struct ui *ui, const struct ui_screen_ops *ops, void *state);

/* Asks before a step action; fn(ui, arg) runs on Yes.  The focus starts on No. */
typedef void (*confirm_fn)(struct ui *ui, void *arg);
void confirm_action(struct ui *ui, const char *title, const char *text, const char *yes,
                    confirm_fn fn, void *arg);

/* Runs a transfer after asking (start, dry run, delta, verify) and shows the
 * dashboard; used by step 7, step 10 and the dashboard itself. */
void ask_run(struct ui *ui, struct wiz *w, enum wiz_run_kind kind, int open_dashboard);

#endif
