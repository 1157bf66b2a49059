/* mailferry - the UI loop: poll(), keys, signals, wake-ups, timers, frames
 *
 * One thread, one poll() over: the terminal, the signal self-pipe, the
 * registered fds (wake-up pipes from the engine among them).  The poll()
 * timeout is the nearest of: the next frame allowed, the next timer, and a
 * one-second housekeeping tick, so an idle wizard wakes once a second and
 * sends nothing to the terminal.
 *
 * A vanished terminal must never make the loop spin: poll() reporting
 * POLLHUP/POLLERR/POLLNVAL, a readable terminal that yields no key many times
 * in a row, or tcgetattr() failing all end the loop with UI_END_HANGUP.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui/ui_p.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

int ui_open(struct ui **out, const struct ui_options *opt, struct mf_err *err)
{
	struct ui *ui = mf_calloc(1, sizeof(*ui));

	*out = NULL;
	if (!ui)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	if (opt)
		ui->opt = *opt;
	else
		ui->opt.color = -1;
	if (!ui->opt.app_name)
		ui->opt.app_name = "mailferry";
	ui->in_fd = ui->out_fd = -1;
	ui->thread = pthread_self();
	ui->next_timer_id = 1;
	ui->flash_role = UI_ROLE_NORMAL;
	if (ui_signals_install(err) < 0) {
		free(ui);
		return -1;
	}
	if (ui_term_open(ui, err) < 0) {
		ui_signals_restore();
		free(ui);
		return -1;
	}
	ui->dirty_input = 1;
	*out = ui;
	return 0;
}

static void free_watch(struct ui_watch *w)
{
	if (w->wake_wfd >= 0) {
		close(w->fd);
		close(w->wake_wfd);
		w->wake_wfd = -1;
	}
}

void ui_close(struct ui *ui)
{
	if (!ui)
		return;
	while (ui->depth > 0) {
		const struct ui_frame *f = &ui->stack[--ui->depth];

		if (f->ops->fini)
			f->ops->fini(ui, f->state);
	}
	ui_modal_free_all(ui);
	ui_term_close(ui);
	ui_signals_restore();
	for (int i = 0; i < ui->nwatch; i++)
		free_watch(&ui->watches[i]);
	free(ui->banner);
	free(ui->status);
	free(ui);
}

const char *ui_end_name(enum ui_end end)
{
	switch (end) {
	case UI_END_QUIT:
		return "quit";
	case UI_END_SIGNAL:
		return "signal";
	case UI_END_HANGUP:
		return "terminal lost";
	case UI_END_ERROR:
		return "error";
	}
	return "?";
}

int ui_end_signal(const struct ui *ui)
{
	return ui->end_sig;
}

const char *ui_end_message(const struct ui *ui)
{
	return ui->end_msg;
}

void ui_stop(struct ui *ui, enum ui_end why)
{
	if (ui->ended)
		return;
	ui->ended = 1;
	ui->end = why;
}

static void stop_with(struct ui *ui, enum ui_end why, int sig, const char *msg)
{
	if (ui->ended)
		return;
	ui_stop(ui, why);
	ui->end_sig = sig;
	snprintf(ui->end_msg, sizeof(ui->end_msg), "%s", msg);
}

/* curses and the UI state belong to one thread (ncurses is built without
 * NCURSES_REENTRANT here).  The calls a worker might be tempted to make are
 * refused, loudly in the log, instead of racing. */
static int wrong_thread(const struct ui *ui, const char *fn)
{
	if (pthread_equal(pthread_self(), ui->thread))
		return 0;
	log_error("ui: %s called from a thread other than the UI thread (ignored); "
	          "use ui_wakeup_send()",
	          fn);
	return 1;
}

void ui_redraw(struct ui *ui)
{
	if (wrong_thread(ui, "ui_redraw"))
		return;
	ui->dirty_input = 1;
}

void ui_mark_changed(struct ui *ui)
{
	if (wrong_thread(ui, "ui_mark_changed"))
		return;
	ui->dirty_data = 1;
}

unsigned long ui_frame_count(const struct ui *ui)
{
	return ui->frames;
}

void ui_set_data_hook(struct ui *ui, void (*fn)(struct ui *ui, void *arg), void *arg)
{
	ui->data_hook = fn;
	ui->data_arg = arg;
}

void ui_set_quit_guard(struct ui *ui, ui_busy_fn fn, void *arg)
{
	ui->busy = fn;
	ui->busy_arg = arg;
}

static void set_string(char **dst, const char *s)
{
	free(*dst);
	*dst = s && *s ? xstrdup(s) : NULL;
}

void ui_set_banner(struct ui *ui, const char *text)
{
	set_string(&ui->banner, text);
	ui->dirty_input = 1;
}

void ui_set_status(struct ui *ui, const char *text)
{
	if (wrong_thread(ui, "ui_set_status"))
		return;
	if ((ui->status && text && !strcmp(ui->status, text)) || (!ui->status && !text))
		return;
	set_string(&ui->status, text);
	ui->dirty_data = 1;
}

void ui_flash(struct ui *ui, enum ui_role role, const char *fmt, ...)
{
	va_list ap;

	if (wrong_thread(ui, "ui_flash"))
		return;
	va_start(ap, fmt);
	vsnprintf(ui->flash, sizeof(ui->flash), fmt, ap);
	va_end(ap);
	ui->flash_role = role;
	ui->dirty_input = 1;
}

void ui_request_quit(struct ui *ui)
{
	char what[256] = "";

	if (ui->busy && ui->busy(ui->busy_arg, what, sizeof(what))) {
		ui_confirm_quit(ui, what);
		return;
	}
	ui_stop(ui, UI_END_QUIT);
}

/* ---------------------------------------------------------------- fds */

int ui_watch(struct ui *ui, int fd, ui_fd_fn fn, void *arg)
{
	if (fd < 0 || ui->nwatch >= UI_WATCH_MAX)
		return -1;
	ui->watches[ui->nwatch++] =
	        (struct ui_watch){.fd = fd, .fn = fn, .arg = arg, .wake_wfd = -1};
	return 0;
}

void ui_unwatch(struct ui *ui, int fd)
{
	for (int i = 0; i < ui->nwatch; i++) {
		if (ui->watches[i].fd != fd)
			continue;
		free_watch(&ui->watches[i]);
		ui->watches[i] = ui->watches[--ui->nwatch];
		return;
	}
}

static void drain_wakeup(struct ui *ui, int fd, int revents, void *arg)
{
	char buf[256];
	struct ui_watch *w = NULL;

	(void)revents;
	(void)arg;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	for (int i = 0; i < ui->nwatch; i++)
		if (ui->watches[i].fd == fd)
			w = &ui->watches[i];
	if (w && w->wake_fn)
		w->wake_fn(ui, w->arg);
	else
		ui_mark_changed(ui);
}

int ui_wakeup_new(struct ui *ui, ui_wake_fn fn, void *arg)
{
	int p[2];

	if (ui->nwatch >= UI_WATCH_MAX || pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	ui->watches[ui->nwatch++] = (struct ui_watch){
	        .fd = p[0], .fn = drain_wakeup, .arg = arg, .wake_wfd = p[1], .wake_fn = fn};
	return p[1];
}

void ui_wakeup_free(struct ui *ui, int write_fd)
{
	for (int i = 0; i < ui->nwatch; i++)
		if (ui->watches[i].wake_wfd == write_fd && write_fd >= 0) {
			ui_unwatch(ui, ui->watches[i].fd);
			return;
		}
}

void ui_wakeup_send(int write_fd)
{
	int saved = errno;
	ssize_t r;

	/* EAGAIN: the pipe is full, a wake-up is pending anyway */
	do
		r = write(write_fd, "", 1);
	while (r < 0 && errno == EINTR);
	errno = saved;
}

/* ---------------------------------------------------------------- timers */

int ui_timer_add(struct ui *ui, int interval_ms, ui_timer_fn fn, void *arg)
{
	struct ui_timer *t;

	if (ui->ntimer >= UI_TIMER_MAX || interval_ms <= 0 || !fn)
		return -1;
	t = &ui->timers[ui->ntimer++];
	*t = (struct ui_timer){.id = ui->next_timer_id++,
	                       .interval_ms = interval_ms,
	                       .due = mono_ms() + interval_ms,
	                       .fn = fn,
	                       .arg = arg};
	return t->id;
}

void ui_timer_remove(struct ui *ui, int id)
{
	for (int i = 0; i < ui->ntimer; i++)
		if (ui->timers[i].id == id) {
			ui->timers[i] = ui->timers[--ui->ntimer];
			return;
		}
}

static void run_timers(struct ui *ui, int64_t now)
{
	for (int i = 0; i < ui->ntimer; i++) {
		struct ui_timer *t = &ui->timers[i];
		int id = t->id;

		if (t->due > now)
			continue;
		/* no catching up after a stall: the next tick is one interval away */
		t->due = now + t->interval_ms;
		t->fn(ui, t->arg);
		/* the callback may have removed timers: find our place again */
		if (i < ui->ntimer && ui->timers[i].id != id)
			i--;
	}
}

/* ---------------------------------------------------------------- keys */

static int map_key(int r, wint_t wc)
{
	if (r == OK) {
		if (wc == '\r' || wc == '\n')
			return UI_KEY_ENTER;
		if (wc == 127 || wc == 8)
			return UI_KEY_BACKSPACE;
		return (int)wc;
	}
	switch (wc) {
	case KEY_ENTER:
		return UI_KEY_ENTER;
	case KEY_BTAB:
		return UI_KEY_BTAB;
	case KEY_UP:
		return UI_KEY_UP;
	case KEY_DOWN:
		return UI_KEY_DOWN;
	case KEY_LEFT:
		return UI_KEY_LEFT;
	case KEY_RIGHT:
		return UI_KEY_RIGHT;
	case KEY_PPAGE:
		return UI_KEY_PGUP;
	case KEY_NPAGE:
		return UI_KEY_PGDN;
	case KEY_HOME:
	case KEY_FIND:
	case KEY_A1:
		return UI_KEY_HOME;
	case KEY_END:
	case KEY_SELECT:
	case KEY_C1:
		return UI_KEY_END;
	case KEY_BACKSPACE:
		return UI_KEY_BACKSPACE;
	case KEY_DC:
		return UI_KEY_DELETE;
	case KEY_IC:
		return UI_KEY_INSERT;
	case KEY_RESIZE:
		return UI_KEY_RESIZE;
	default:
		if (wc >= KEY_F0 && wc <= KEY_F(63))
			return UI_KEY_F((int)(wc - KEY_F0));
		return UI_KEY_UNKNOWN;
	}
}

/* Reads every key that is waiting.  Returns how many were read. */
static int read_keys(struct ui *ui)
{
	int n = 0, r;
	wint_t wc;

	while (!ui->ended && (r = wget_wch(stdscr, &wc)) != ERR) {
		int key = map_key(r, wc);

		n++;
		if (key != UI_KEY_UNKNOWN)
			ui_dispatch_key(ui, key);
		if (n > 4096)
			break; /* a paste storm: draw in between */
	}
	return n;
}

/* ---------------------------------------------------------------- signals */

static void handle_signals(struct ui *ui)
{
	int sig;

	while ((sig = ui_signal_next()) > 0) {
		switch (sig) {
		case SIGHUP:
			stop_with(ui, UI_END_HANGUP, sig, "hangup: the terminal went away");
			break;
		case SIGINT:
			/* Ctrl-C is a quit key; pressed again while asked, it ends */
			if (ui->nmodal && ui->modals[ui->nmodal - 1].is_quit)
				stop_with(ui, UI_END_SIGNAL, sig, "interrupted");
			else
				ui_request_quit(ui);
			ui->dirty_input = 1;
			break;
		default:
			stop_with(ui, UI_END_SIGNAL, sig, "terminated by a signal");
			break;
		}
	}
}

/* ---------------------------------------------------------------- loop */

static int frame_due_in(struct ui *ui, int64_t now)
{
	int64_t due = -1, d;

	if (ui->dirty_input || ui->full_clear)
		due = ui->last_frame + UI_FRAME_MS;
	if (ui->dirty_data) {
		d = ui->last_frame + (ui->opt.slow_ui ? UI_SLOW_MS : UI_FRAME_MS);
		if (due < 0 || d < due)
			due = d;
	}
	if (due < 0)
		return -1;
	return due <= now ? 0 : (int)(due - now);
}

static int poll_timeout(struct ui *ui, int64_t now)
{
	int t = UI_IDLE_MS, f = frame_due_in(ui, now);

	if (f >= 0 && f < t)
		t = f;
	for (int i = 0; i < ui->ntimer; i++) {
		int64_t d = ui->timers[i].due - now;

		if (d < 0)
			d = 0;
		if (d < t)
			t = (int)d;
	}
	return t;
}

static void terminal_lost(struct ui *ui)
{
	stop_with(ui, UI_END_HANGUP, 0, "the terminal went away");
}

static void check_terminal(struct ui *ui, short revents, int keys)
{
	if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
		if (ui_term_lost(ui) || ++ui->hup_wakeups >= 3)
			terminal_lost(ui);
		return;
	}
	ui->hup_wakeups = 0;
	if (!(revents & POLLIN))
		return;
	if (keys) {
		ui->empty_wakeups = 0;
		return;
	}
	/* readable but no key: EOF/EIO, or a partial escape sequence */
	if (ui_term_lost(ui) || ++ui->empty_wakeups >= UI_EMPTY_WAKE)
		terminal_lost(ui);
}

enum ui_end ui_run(struct ui *ui)
{
	struct pollfd pfd[2 + UI_WATCH_MAX];

	ui->running = 1;
	while (!ui->ended) {
		int64_t now = mono_ms();
		int n = 0, nw = ui->nwatch, r, keys;

		if (!ui->depth) {
			stop_with(ui, UI_END_ERROR, 0, "no screen to show");
			break;
		}
		if (frame_due_in(ui, now) == 0) {
			ui_draw_frame(ui);
			ui->last_frame = mono_ms();
			continue;
		}
		pfd[n++] = (struct pollfd){.fd = ui->in_fd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = ui_signal_fd(), .events = POLLIN};
		for (int i = 0; i < nw; i++)
			pfd[n++] = (struct pollfd){.fd = ui->watches[i].fd, .events = POLLIN};
		r = poll(pfd, (nfds_t)n, poll_timeout(ui, now));
		if (r < 0 && errno != EINTR) {
			stop_with(ui, UI_END_ERROR, 0, "poll failed");
			break;
		}
		if (r > 0 && pfd[1].revents)
			handle_signals(ui);
		/* always try the keyboard: after EINTR (SIGWINCH) ncurses has a
		 * KEY_RESIZE waiting even though the terminal is not readable */
		keys = ui->ended ? 0 : read_keys(ui);
		if (r > 0 && !ui->ended)
			check_terminal(ui, pfd[0].revents, keys);
		for (int i = 2; r > 0 && i < n && !ui->ended; i++) {
			if (!pfd[i].revents)
				continue;
			for (int k = 0; k < ui->nwatch; k++) {
				if (ui->watches[k].fd != pfd[i].fd)
					continue;
				ui->watches[k].fn(ui, pfd[i].fd, pfd[i].revents,
				                  ui->watches[k].arg);
				/* a hung-up fd would wake us forever: it was told, now it goes */
				if (pfd[i].revents & (POLLHUP | POLLERR | POLLNVAL))
					ui_unwatch(ui, pfd[i].fd);
				break;
			}
		}
		if (!ui->ended)
			run_timers(ui, mono_ms());
	}
	ui->running = 0;
	return ui->end;
}
