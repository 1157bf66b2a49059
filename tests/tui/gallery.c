/* mailferry tests - a gallery of the UI framework's widgets, driven by the tmux tests
 *
 * Test tooling, not product code: it stands in for the wizard's screens until
 * they exist, and for the transfer engine with a small pthread "engine" that
 * moves thousands of fake mailboxes through QUEUED -> COUNTING -> COPYING ->
 * DONE/FAILED, publishing progress under a mutex and waking the UI through a
 * self-pipe (the contract in DESIGN.md).  It uses only src/ui/tui.h.
 *
 *   gallery [--ascii] [--color=WHEN] [--slow-ui] [--dry-run] [--busy]
 *           [--rows=N] [--log=FILE] [--linger=SECONDS]
 *
 * At the end it logs and prints "gallery: ended: REASON" and exits 0 (quit),
 * 4 (signal or terminal lost: resumable), 1 (UI error) or 64 (no terminal).
 */
#include "config.h"

#include <getopt.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "ui/textutil.h"
#include "ui/tui.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/secret.h"
#include "util/timeutil.h"

/* ------------------------------------------------------------------ fake engine */

enum mbx_state { MBX_QUEUED, MBX_COUNTING, MBX_COPYING, MBX_DONE, MBX_FAILED };
static const char *const state_words[] = {"QUEUED", "COUNTING", "COPYING", "DONE", "FAILED"};

struct mbx {
	enum mbx_state state;
	unsigned done, total; /* messages; total 0 while counting */
};

struct engine {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mbx *boxes; /* owned, guarded by lock */
	size_t n, next;
	int running, quit;
	int wake_fd; /* write end of the UI's wake-up pipe */
};

static struct engine eng;

/* One step of fake work: a few mailboxes advance. */
static int engine_step(struct engine *e)
{
	int moved = 0;

	for (size_t k = 0; k < 40 && e->next < e->n; k++) {
		struct mbx *b = &e->boxes[(e->next + k) % e->n];

		switch (b->state) {
		case MBX_QUEUED:
			b->state = MBX_COUNTING;
			break;
		case MBX_COUNTING:
			b->state = MBX_COPYING;
			b->total = 50 + (unsigned)((e->next + k) * 7 % 400);
			break;
		case MBX_COPYING:
			b->done += 25;
			if ((e->next + k) % 97 == 13 && b->done > b->total / 2) {
				b->state = MBX_FAILED;
			} else if (b->done >= b->total) {
				b->done = b->total;
				b->state = MBX_DONE;
			}
			break;
		default:
			break;
		}
		moved++;
	}
	while (e->next < e->n &&
	       (e->boxes[e->next].state == MBX_DONE || e->boxes[e->next].state == MBX_FAILED))
		e->next++;
	if (e->next >= e->n)
		e->running = 0;
	return moved;
}

static void *engine_main(void *arg)
{
	struct engine *e = arg;

	pthread_mutex_lock(&e->lock);
	while (!e->quit) {
		if (!e->running) {
			pthread_cond_wait(&e->cond, &e->lock);
			continue;
		}
		engine_step(e);
		/* workers never touch curses: one byte wakes the UI thread.  It is
		 * written under the lock, so once the UI has cleared wake_fd under
		 * the same lock, no write can reach a closed (or reused) fd. */
		if (e->wake_fd >= 0)
			ui_wakeup_send(e->wake_fd);
		pthread_mutex_unlock(&e->lock);
		sleep_ms(20);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static int engine_start(struct engine *e, size_t n)
{
	sigset_t all, old;
	int rc;

	e->boxes = xcalloc(n ? n : 1, sizeof(*e->boxes));
	e->n = n;
	e->wake_fd = -1;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	/* signals are for the UI thread only */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&e->thread, NULL, engine_main, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc ? -1 : 0;
}

static void engine_set_running(struct engine *e, int on)
{
	pthread_mutex_lock(&e->lock);
	e->running = on && e->next < e->n;
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static void engine_stop(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	e->quit = 1;
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
	free(e->boxes);
}

/* ------------------------------------------------------------------ UI side snapshot */

struct snapshot {
	struct mbx *boxes; /* owned copy */
	size_t n;
	size_t done, failed;
	int running;
};

static struct snapshot snap;

static void snapshot_take(void)
{
	pthread_mutex_lock(&eng.lock);
	memcpy(snap.boxes, eng.boxes, eng.n * sizeof(*snap.boxes));
	snap.running = eng.running;
	pthread_mutex_unlock(&eng.lock);
	snap.done = snap.failed = 0;
	for (size_t i = 0; i < snap.n; i++) {
		snap.done += snap.boxes[i].state == MBX_DONE;
		snap.failed += snap.boxes[i].state == MBX_FAILED;
	}
}

static int busy_guard(void *arg, char *what, size_t n)
{
	(void)arg;
	if (!snap.running)
		return 0;
	snprintf(what, n, "%zu of %zu mailboxes are still being copied",
	         snap.n - snap.done - snap.failed, snap.n);
	return 1;
}

static void on_wake(struct ui *ui, void *arg)
{
	(void)arg;
	ui_mark_changed(ui);
}

static void on_tick(struct ui *ui, void *arg)
{
	char s[128];

	(void)arg;
	if (snap.running)
		snprintf(s, sizeof(s), "%zu done, %zu failed, %zu to go", snap.done, snap.failed,
		         snap.n - snap.done - snap.failed);
	else
		snprintf(s, sizeof(s), "transfer %s", snap.done ? "stopped" : "idle");
	ui_set_status(ui, s);
}

/* ------------------------------------------------------------------ form screen */

enum {
	FLD_SERVER = 1,
	FLD_PORT,
	FLD_SECURITY,
	FLD_VERIFY,
	FLD_USER,
	FLD_PASSWORD,
	FLD_TEST,
	FLD_SAVE,
	FLD_CLEAR
};
static const char *const security_choices[] = {"SSL/TLS", "STARTTLS", "None", NULL};

struct form_screen {
	struct ui_field fields[9];
	struct ui_form form;
	struct ui_focus focus;
	char result[200];
};

static int form_init(struct ui *ui, void *p)
{
	struct form_screen *s = p;
	struct ui_field *f = s->fields;

	ui_field_text(&f[0], FLD_SERVER, "Server", 40, "imap.example.org");
	ui_field_number(&f[1], FLD_PORT, "Port", 1, 65535, 993);
	ui_field_choice(&f[2], FLD_SECURITY, "Security", security_choices, 0);
	ui_field_check(&f[3], FLD_VERIFY, "Verify certificate", 1);
	ui_field_text(&f[4], FLD_USER, "Admin user", 30, "");
	ui_field_password(&f[5], FLD_PASSWORD, "Password", 30);
	ui_field_button(&f[6], FLD_TEST, "Test");
	ui_field_button(&f[7], FLD_SAVE, "Save");
	ui_field_button(&f[8], FLD_CLEAR, "Clear password");
	ui_form_init(&s->form, s->fields, 9);
	ui_focus_init(&s->focus);
	ui_focus_add(&s->focus, &s->form.base);
	ui_screen_focus(ui, &s->focus);
	snprintf(s->result, sizeof(s->result), "Nothing saved yet.");
	return 0;
}

static void form_draw(struct ui *ui, void *p, struct ui_rect a)
{
	struct form_screen *s = p;
	struct ui_field *pw = ui_form_field(&s->form, FLD_PASSWORD);
	int h = ui_form_height(&s->form);

	ui_put(ui, a.y + 1, a.x + 2, a.w - 4, UI_ROLE_TITLE, "Source server (step 6)");
	s->form.base.rect = (struct ui_rect){a.y + 3, a.x + 1, h < a.h - 6 ? h : a.h - 6, a.w - 2};
	ui_widget_draw(ui, &s->form.base);
	ui_putf(ui, a.y + 4 + h, a.x + 2, a.w - 4, UI_ROLE_DIM, "Password: %zu characters typed.",
	        ui_field_length(pw));
	ui_put_ell(ui, a.y + 5 + h, a.x + 2, a.w - 4, UI_ROLE_NORMAL, s->result);
}

static void form_event(struct ui *ui, void *p, struct ui_widget *w, enum ui_kr what)
{
	struct form_screen *s = p;
	struct ui_field *pw = ui_form_field(&s->form, FLD_PASSWORD);
	long port = 0;

	(void)w;
	if (what != UI_KR_ACTIVATED)
		return;
	switch (s->form.activated) {
	case FLD_TEST:
		if (ui_field_get_number(ui_form_field(&s->form, FLD_PORT), &port) < 0) {
			ui_message(ui, "Test", "The port is not a number from 1 to 65535.", NULL,
			           NULL);
			return;
		}
		{
			char *msg = xsprintf(
			        "Would connect to %s port %ld with %s, certificate check %s, "
			        "password of %zu characters.",
			        ui_field_value(ui_form_field(&s->form, FLD_SERVER)), port,
			        ui_field_value(ui_form_field(&s->form, FLD_SECURITY)),
			        ui_form_field(&s->form, FLD_VERIFY)->checked ? "on" : "off",
			        ui_field_length(pw));

			ui_message(ui, "Test", msg, NULL, NULL);
			free(msg);
		}
		break;
	case FLD_SAVE: {
		size_t n = ui_field_length(pw);
		struct mf_secret *sec = ui_field_take_secret(pw);

		snprintf(s->result, sizeof(s->result),
		         "Saved: a password of %zu characters is held as a secret (never shown).",
		         n);
		secret_free(sec);
		break;
	}
	case FLD_CLEAR:
		ui_field_set(pw, "");
		snprintf(s->result, sizeof(s->result), "Password cleared.");
		break;
	}
}

static void form_fini(struct ui *ui, void *p)
{
	struct form_screen *s = p;

	(void)ui;
	ui_form_wipe(&s->form);
}

static const struct ui_keyhelp form_keys[] = {
        {"Enter", "next field; on a button: press it", 1},
        {"Space", "toggle, next choice", 0},
        {"Left Right", "move in a field, change a choice", 0},
        {"Ctrl-U", "clear the field", 0},
        {NULL, NULL, 0},
};

static const struct ui_screen_ops form_screen_ops = {
        .title = "Form",
        .init = form_init,
        .draw = form_draw,
        .event = form_event,
        .fini = form_fini,
        .keys = form_keys,
        .help = "Every kind of form field: text, number, choice, checkbox, password, buttons.",
};

/* ------------------------------------------------------------------ table screen */

static const struct ui_column table_cols[] = {
        {"Mailbox", 0, 0},
        {"State", 9, 0},
        {"Messages", 11, 1},
        {"Progress", 22, 0},
};

struct table_screen {
	struct ui_list list;
	struct ui_focus focus;
};

static void table_cell(void *arg, size_t row, int col, char *buf, size_t n, enum ui_role *role)
{
	const struct mbx *b = &snap.boxes[row];
	char bar[3 * UI_BAR_MAX + 1], pct[8];
	int ascii = *(const int *)arg;

	switch (col) {
	case 0:
		snprintf(buf, n, "user%05zu@example.org", row + 1);
		break;
	case 1:
		snprintf(buf, n, "%s", state_words[b->state]);
		*role = b->state == MBX_DONE     ? UI_ROLE_OK
		        : b->state == MBX_FAILED ? UI_ROLE_FAIL
		        : b->state == MBX_QUEUED ? UI_ROLE_DIM
		                                 : UI_ROLE_NORMAL;
		break;
	case 2:
		if (b->total)
			snprintf(buf, n, "%u/%u", b->done, b->total);
		else
			snprintf(buf, n, "%u/?", b->done);
		break;
	case 3:
		ui_bar_render(bar, sizeof(bar), 16, b->done, b->total, ascii);
		ui_percent_text(pct, sizeof(pct), b->done, b->total);
		snprintf(buf, n, "%s %s", bar, pct);
		break;
	}
}

static int table_cmp(void *arg, size_t a, size_t b, int col)
{
	const struct mbx *x = &snap.boxes[a], *y = &snap.boxes[b];

	(void)arg;
	switch (col) {
	case 1:
		return (int)x->state - (int)y->state;
	case 2:
	case 3:
		return x->done < y->done ? -1 : x->done > y->done;
	default:
		return a < b ? -1 : a > b;
	}
}

static int table_ascii;

static int table_init(struct ui *ui, void *p)
{
	struct table_screen *s = p;

	table_ascii = ui_ascii(ui);
	ui_list_init(&s->list, table_cols, 4, table_cell, table_cmp, &table_ascii);
	s->list.markable = 1;
	s->list.noun = "mailboxes";
	ui_list_set_count(&s->list, snap.n);
	ui_focus_init(&s->focus);
	ui_focus_add(&s->focus, &s->list.base);
	ui_screen_focus(ui, &s->focus);
	return 0;
}

static void table_update(struct ui *ui, void *p)
{
	struct table_screen *s = p;

	(void)ui;
	if (s->list.sort_col >= 0)
		ui_list_resort(&s->list);
}

static void table_draw(struct ui *ui, void *p, struct ui_rect a)
{
	struct table_screen *s = p;
	size_t marked = 0;

	for (size_t i = 0; i < snap.n; i++)
		marked += ui_list_marked(&s->list, i);
	ui_putf(ui, a.y, a.x + 2, a.w - 4, UI_ROLE_NORMAL,
	        "%zu mailboxes: %zu done, %zu failed, %zu marked. Transfer %s.", snap.n, snap.done,
	        snap.failed, marked, snap.running ? "RUNNING" : "STOPPED");
	s->list.base.rect = (struct ui_rect){a.y + 1, a.x, a.h - 1, a.w};
	ui_widget_draw(ui, &s->list.base);
}

static void table_event(struct ui *ui, void *p, struct ui_widget *w, enum ui_kr what)
{
	struct table_screen *s = p;
	long row = ui_list_selected(&s->list);
	char *msg;

	(void)w;
	if (what != UI_KR_ACTIVATED || row < 0)
		return;
	msg = xsprintf("user%05ld@example.org: %s, %u of %u messages.", row + 1,
	               state_words[snap.boxes[row].state], snap.boxes[row].done,
	               snap.boxes[row].total);
	ui_message(ui, "Mailbox", msg, NULL, NULL);
	free(msg);
}

static int table_key(struct ui *ui, void *p, int key)
{
	(void)p;
	if (key == 't') {
		engine_set_running(&eng, !snap.running);
		ui_mark_changed(ui);
		return 1;
	}
	return 0;
}

static void table_fini(struct ui *ui, void *p)
{
	struct table_screen *s = p;

	(void)ui;
	ui_list_free(&s->list);
}

static const struct ui_keyhelp table_keys[] = {
        {"s", "sort by the next column", 1},   {"r", "reverse the order", 0},
        {"Space", "mark the mailbox", 1},      {"Enter", "details of the mailbox", 0},
        {"t", "start / stop the transfer", 1}, {NULL, NULL, 0},
};

static const struct ui_screen_ops table_screen_ops = {
        .title = "Mailboxes",
        .init = table_init,
        .draw = table_draw,
        .key = table_key,
        .event = table_event,
        .update = table_update,
        .fini = table_fini,
        .keys = table_keys,
        .help = "One row per mailbox, fed by the transfer engine's snapshot.",
};

/* ------------------------------------------------------------------ text screen */

static const char long_text[] =
        "Microsoft's checklist has eleven steps. This paragraph wraps at the width of the "
        "window and keeps words whole: migration-endpoint-names-that-are-far-too-long-to-fit "
        "are split. Non-ASCII names such as Zürich, Ærø, Ελληνικά and 東京 are drawn as UTF-8 "
        "when the locale allows it, and as '?' in ASCII mode.\n"
        "A second paragraph starts after a hard line break.";

static int text_scroll;

static void text_draw(struct ui *ui, void *p, struct ui_rect a)
{
	struct ui_rect r = {a.y + 1, a.x + 2, 8, a.w - 4};
	static const struct {
		const char *what;
		uint64_t done, total;
	} bars[] = {
	        {"nothing yet", 0, 1000},
	        {"almost half", 449, 1000},
	        {"finished", 1000, 1000},
	        {"total unknown (counting)", 120, 0},
	};

	(void)p;
	ui_box(ui, (struct ui_rect){a.y, a.x, 10, a.w}, UI_ROLE_NORMAL, "Wrapped text");
	ui_text(ui, r, UI_ROLE_NORMAL, long_text, text_scroll);
	for (int i = 0; i < 4; i++) {
		int y = a.y + 11 + i;

		ui_put(ui, y, a.x + 2, 26, UI_ROLE_NORMAL, bars[i].what);
		ui_progress(ui, y, a.x + 30, a.w - 32, bars[i].done, bars[i].total);
	}
}

static int text_key(struct ui *ui, void *p, int key)
{
	(void)p;
	(void)ui;
	if (key == UI_KEY_DOWN || key == 'j') {
		text_scroll++;
		return 1;
	}
	if ((key == UI_KEY_UP || key == 'k') && text_scroll > 0) {
		text_scroll--;
		return 1;
	}
	return 0;
}

static const struct ui_keyhelp text_keys[] = {
        {"Up Down", "scroll the text", 1},
        {NULL, NULL, 0},
};

static const struct ui_screen_ops text_screen_ops = {
        .title = "Text",
        .draw = text_draw,
        .key = text_key,
        .keys = text_keys,
        .help = "Wrapped text and progress bars, known and unknown totals.",
};

/* ------------------------------------------------------------------ home screen */

static const char *const menu_items[] = {
        "Form: every kind of field",
        "Mailboxes: a table fed by the engine",
        "Text and progress bars",
        "Confirmation dialog (default: No)",
        "Message box",
};
#define NMENU 5

static const char *const check_rows[][3] = {
        {"Source server reachable", "PASS", "imaps on port 993 answered"},
        {"MX record TTL", "WARN", "TTL is 86400 s; lower it a day ahead"},
        {"Domain verified in the tenant", "FAIL", "example.org is not verified"},
        {"Licences", "SKIP", "no tenant configured"},
};

static const struct ui_column menu_cols[] = {{"Demo", 0, 0}};
static const struct ui_column check_cols[] = {{"Check", 32, 0}, {"Result", 6, 0}, {"Detail", 0, 0}};

struct home_screen {
	struct ui_list menu, checks;
	struct ui_focus focus;
	struct form_screen form;
	struct table_screen table;
	char answer[96];
};

static void menu_cell(void *arg, size_t row, int col, char *buf, size_t n, enum ui_role *role)
{
	(void)arg;
	(void)col;
	(void)role;
	snprintf(buf, n, "%s", menu_items[row]);
}

static void check_cell(void *arg, size_t row, int col, char *buf, size_t n, enum ui_role *role)
{
	static const enum ui_role roles[] = {UI_ROLE_OK, UI_ROLE_WARN, UI_ROLE_FAIL, UI_ROLE_SKIP};

	(void)arg;
	snprintf(buf, n, "%s", check_rows[row][col]);
	if (col == 1)
		*role = roles[row];
}

static int home_init(struct ui *ui, void *p)
{
	struct home_screen *h = p;

	ui_list_init(&h->menu, menu_cols, 1, menu_cell, NULL, NULL);
	h->menu.base.id = 1;
	h->menu.noun = "demos";
	ui_list_set_count(&h->menu, NMENU);
	ui_list_init(&h->checks, check_cols, 3, check_cell, NULL, NULL);
	h->checks.base.id = 2;
	h->checks.noun = "checks";
	ui_list_set_count(&h->checks, 4);
	ui_focus_init(&h->focus);
	ui_focus_add(&h->focus, &h->menu.base);
	ui_focus_add(&h->focus, &h->checks.base);
	ui_screen_focus(ui, &h->focus);
	snprintf(h->answer, sizeof(h->answer), "No question asked yet.");
	return 0;
}

static void confirm_done(struct ui *ui, int yes, void *arg)
{
	struct home_screen *h = arg;

	snprintf(h->answer, sizeof(h->answer), "%s",
	         yes ? "Answer: YES (would delete)" : "Answer: NO, nothing deleted");
	ui_redraw(ui);
}

static void home_open(struct ui *ui, struct home_screen *h, long item)
{
	switch (item) {
	case 0:
		ui_push(ui, &form_screen_ops, &h->form);
		break;
	case 1:
		ui_push(ui, &table_screen_ops, &h->table);
		break;
	case 2:
		ui_push(ui, &text_screen_ops, NULL);
		break;
	case 3:
		ui_confirm(ui, "Delete on the target?",
		           "Delete every message in the target mailboxes before copying? This "
		           "cannot be undone.",
		           "Delete", "Keep", confirm_done, h);
		break;
	case 4:
		ui_message(ui, "Message", "A message box: Enter, Space or Esc closes it.", NULL,
		           NULL);
		break;
	}
}

static void home_event(struct ui *ui, void *p, struct ui_widget *w, enum ui_kr what)
{
	struct home_screen *h = p;

	if (what == UI_KR_ACTIVATED && w == &h->menu.base)
		home_open(ui, h, ui_list_selected(&h->menu));
	else if (what == UI_KR_ACTIVATED && w == &h->checks.base)
		ui_message(ui, check_rows[ui_list_selected(&h->checks)][0],
		           check_rows[ui_list_selected(&h->checks)][2], NULL, NULL);
}

static int dry_run;

static int home_key(struct ui *ui, void *p, int key)
{
	struct home_screen *h = p;

	switch (key) {
	case 't':
		engine_set_running(&eng, !snap.running);
		ui_mark_changed(ui);
		return 1;
	case 'e':
		/* must land in the log, never on the screen */
		fprintf(stderr, "GALLERY-STDERR-LINE written while curses runs\n");
		ui_flash(ui, UI_ROLE_NORMAL, "A line was written to standard error.");
		return 1;
	case 'd':
		dry_run = !dry_run;
		ui_set_banner(ui, dry_run ? "DRY RUN" : NULL);
		return 1;
	case 'c':
		home_open(ui, h, 3);
		return 1;
	case 'A':
		abort(); /* a crash: the terminal must come back anyway */
	case 'Z':
		ui_die("gallery: a fatal error on purpose (key Z)");
	case 'm':
		home_open(ui, h, 4);
		return 1;
	}
	return 0;
}

static void home_draw(struct ui *ui, void *p, struct ui_rect a)
{
	struct home_screen *h = p;
	int y = a.y;

	h->menu.base.rect = (struct ui_rect){y, a.x, NMENU + 2, a.w};
	ui_widget_draw(ui, &h->menu.base);
	y += NMENU + 3;
	h->checks.base.rect = (struct ui_rect){y, a.x, 4 + 2, a.w};
	ui_widget_draw(ui, &h->checks.base);
	y += 4 + 3;
	ui_putf(ui, y, a.x + 2, a.w - 4, UI_ROLE_NORMAL,
	        "Transfer %s: %zu of %zu mailboxes done, %zu failed.",
	        snap.running ? "RUNNING" : "STOPPED", snap.done, snap.n, snap.failed);
	ui_put(ui, y + 1, a.x + 2, 12, UI_ROLE_NORMAL, "Overall");
	ui_progress(ui, y + 1, a.x + 14, a.w - 16, snap.done + snap.failed, snap.n);
	ui_putf(ui, y + 2, a.x + 2, a.w - 4, UI_ROLE_DIM, "%s  Colours %s, %s drawing, frames: %lu",
	        h->answer, ui_colors(ui) ? "on" : "off", ui_ascii(ui) ? "ASCII" : "UTF-8",
	        ui_frame_count(ui));
}

static void home_fini(struct ui *ui, void *p)
{
	struct home_screen *h = p;

	(void)ui;
	ui_list_free(&h->menu);
	ui_list_free(&h->checks);
}

static const struct ui_keyhelp home_keys[] = {
        {"Enter", "open the demo", 1},
        {"t", "transfer on/off", 1},
        {"c", "confirmation dialog", 0},
        {"m", "message box", 0},
        {"d", "DRY RUN banner on / off", 0},
        {"e", "write a line to standard error", 0},
        {NULL, NULL, 0},
};

static const struct ui_screen_ops home_screen_ops = {
        .title = "Gallery",
        .init = home_init,
        .draw = home_draw,
        .key = home_key,
        .event = home_event,
        .update = NULL,
        .fini = home_fini,
        .keys = home_keys,
        .help = "The widgets of the mailferry wizard. Enter opens a demo, Esc comes back.",
};

/* ------------------------------------------------------------------ main */

static void usage(void)
{
	fputs("usage: gallery [--ascii] [--color=WHEN] [--slow-ui] [--dry-run] [--busy] "
	      "[--rows=N] [--log=FILE] [--linger=SECONDS]\n",
	      stderr);
}

/* Before a frame after a wake-up: one copy of the engine's state (so at most
 * ~10 copies a second, or one every 2 s with --slow-ui). */
static void snap_update(struct ui *ui, void *p)
{
	(void)ui;
	(void)p;
	snapshot_take();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"ascii", no_argument, NULL, 'a'},
	        {"color", required_argument, NULL, 'c'},
	        {"slow-ui", no_argument, NULL, 's'},
	        {"dry-run", no_argument, NULL, 'd'},
	        {"busy", no_argument, NULL, 'b'},
	        {"rows", required_argument, NULL, 'r'},
	        {"log", required_argument, NULL, 'l'},
	        {"linger", required_argument, NULL, 'L'},
	        {NULL, 0, NULL, 0},
	};
	struct ui_options o = {.color = -1};
	static struct home_screen home;
	struct mf_err err = {0};
	struct ui *ui;
	enum ui_end end;
	size_t rows = 10000;
	int c, busy = 0, linger = 0, wfd;
	char why[512];

	setlocale(LC_ALL, "");
	mf_mem_init_hooks();
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o.ascii = 1;
			break;
		case 'c':
			o.color = !strcmp(optarg, "always") ? 1 : !strcmp(optarg, "never") ? 0 : -1;
			break;
		case 's':
			o.slow_ui = 1;
			break;
		case 'd':
			dry_run = 1;
			break;
		case 'b':
			busy = 1;
			break;
		case 'r':
			rows = strtoul(optarg, NULL, 10);
			break;
		case 'l':
			o.log_path = optarg;
			break;
		case 'L':
			linger = atoi(optarg);
			break;
		default:
			usage();
			return MF_EXIT_USAGE;
		}
	}
	if (o.log_path && log_open(o.log_path, &err) < 0) {
		fprintf(stderr, "gallery: %s\n", err.msg);
		return MF_EXIT_CANTCREAT;
	}
	if (ui_terminal_check(why, sizeof(why)) < 0) {
		fprintf(stderr, "gallery: %s\n", why);
		return MF_EXIT_USAGE;
	}
	if (engine_start(&eng, rows) < 0) {
		fprintf(stderr, "gallery: cannot start the engine thread\n");
		return MF_EXIT_INTERNAL;
	}
	snap.boxes = xcalloc(rows ? rows : 1, sizeof(*snap.boxes));
	snap.n = rows;
	if (ui_open(&ui, &o, &err) < 0) {
		fprintf(stderr, "gallery: %s\n", err.msg);
		engine_stop(&eng);
		return MF_EXIT_USAGE;
	}
	log_info("gallery: UI started");
	wfd = ui_wakeup_new(ui, on_wake, NULL);
	pthread_mutex_lock(&eng.lock);
	eng.wake_fd = wfd;
	pthread_mutex_unlock(&eng.lock);
	ui_timer_add(ui, 500, on_tick, NULL);
	ui_set_quit_guard(ui, busy_guard, NULL);
	ui_set_data_hook(ui, snap_update, NULL);
	if (dry_run)
		ui_set_banner(ui, "DRY RUN");
	if (ui_push(ui, &home_screen_ops, &home) < 0) {
		ui_close(ui);
		engine_stop(&eng);
		return MF_EXIT_INTERNAL;
	}
	if (busy)
		engine_set_running(&eng, 1);
	snapshot_take();
	end = ui_run(ui);
	/* stop the engine's wake-ups before the pipe goes away */
	pthread_mutex_lock(&eng.lock);
	eng.wake_fd = -1;
	eng.running = 0;
	pthread_mutex_unlock(&eng.lock);
	log_info("gallery: ended: %s (signal %d) after %lu frames", ui_end_name(end),
	         ui_end_signal(ui), ui_frame_count(ui));
	ui_close(ui);
	fprintf(stderr, "gallery: stderr is back\n");
	if (end == UI_END_HANGUP && linger > 0) {
		/* headless from here: keep "working" without a terminal */
		log_info("gallery: terminal lost, lingering %d s without a terminal", linger);
		sleep_ms(linger * 1000L);
	}
	engine_stop(&eng);
	free(snap.boxes);
	printf("gallery: ended: %s\n", ui_end_name(end));
	fflush(stdout);
	log_close();
	switch (end) {
	case UI_END_QUIT:
		return MF_EXIT_OK;
	case UI_END_SIGNAL:
	case UI_END_HANGUP:
		return MF_EXIT_RESUMABLE;
	default:
		return MF_EXIT_INTERNAL;
	}
}
