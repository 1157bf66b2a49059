/* mailferry - what every step screen has (screens/stepNN.c use it)
 *
 * A step screen shows, top to bottom: what the step is for, a note where one
 * applies (the demo, an IMAP target), the step's status from the ledger, its
 * inputs as a form (when it has any), a row of buttons (Save, Run checks and
 * the step's actions), and the step's checks with PASS/WARN/FAIL/SKIP.  Enter
 * on a check opens its detail and remedy.  r (or F5) re-runs the checks on
 * their own threads: the screen stays live while they run.
 *
 * Each stepNN.c describes its step with a struct step_def and an ops table
 * whose init hands the step_def to step_init(); draw, key, event and fini are
 * the shared ones below (or a step's own key that falls back to step_key).
 */
#ifndef MF_SCREENS_STEPBASE_H
#define MF_SCREENS_STEPBASE_H

#include "screens.h"

#define STEP_FIELDS_MAX  24
#define STEP_BUTTONS_MAX 8

struct step_screen;

struct step_def {
	int step;
	/* Adds the step's inputs (from the settings) at f[n..]; returns the new count. */
	int (*fields)(struct step_screen *s, const struct mf_batch_settings *set, int n);
	/* Adds the step's own buttons after Save and Run checks; returns the count. */
	int (*buttons)(struct step_screen *s, int n);
	/* One of the step's own buttons was pressed. */
	void (*button)(struct ui *ui, struct step_screen *s, int id);
	/* A note under the purpose (the demo, an IMAP target), "" for none. */
	void (*note)(struct step_screen *s, char *out, size_t n);
	int no_save; /* the inputs are not settings (step 5: the CSV is imported) */
};

struct step_screen {
	const struct step_def *def; /* borrowed */
	struct wiz *w;              /* borrowed */
	struct ui_field fields[STEP_FIELDS_MAX];
	int nfields;
	struct ui_form form;
	struct ui_field buttons[STEP_BUTTONS_MAX];
	int nbuttons;
	struct ui_form actions;
	struct ui_list checks;
	struct ui_focus focus;
	int dirty; /* inputs changed since the last save */
	char empty[256];
};

int step_init(struct ui *ui, struct step_screen *s, const struct step_def *def);
/* These have the shape of struct ui_screen_ops members (state: the struct
 * step_screen), so a step's ops table names them directly. */
void step_draw(struct ui *ui, void *state, struct ui_rect a);
int step_key(struct ui *ui, void *state, int key);
void step_event(struct ui *ui, void *state, struct ui_widget *wd, enum ui_kr what);
void step_fini(struct ui *ui, void *state);
/* Saves the inputs; 0, or -1 after saying why. */
int step_save(struct ui *ui, struct step_screen *s);
/* Rebuilds the inputs from the saved settings (labels of stored secrets). */
void step_reload(struct step_screen *s);
/* Adds a button. */
int step_button(struct step_screen *s, int n, int id, const char *label);

/* A step's action (notices, welcome, finish) behind a confirmation. */
struct step_action {
	enum wiz_action act;
	const char *question; /* the confirmation's title */
	const char *yes;      /* its button */
	const char *cannot;   /* the title of the message when it cannot start */
};
/* Asks a's question with text; yes starts the action on the wizard of s. */
void step_confirm_action(struct ui *ui, struct step_screen *s, const struct step_action *a,
                         const char *text);

extern const struct ui_keyhelp step_keys[];

/* One ops table per step (screens/stepNN.c). */
extern const struct ui_screen_ops step1_screen, step2_screen, step3_screen, step4_screen,
        step5_screen, step6_screen, step7_screen, step8_screen, step9_screen, step10_screen,
        step11_screen;

#endif
