/* mailferry - taking over and giving back the terminal
 *
 * While curses runs nothing else may write to the terminal, so fd 2 points to
 * the batch log (or /dev/null) between ui_term_open and ui_term_close.
 * Signals that end the wizard (SIGHUP, SIGTERM, SIGINT, SIGQUIT) only write
 * their number into a self-pipe that the loop polls; SIGWINCH and SIGTSTP stay
 * with ncurses (KEY_RESIZE, suspend/resume).  Every exit path restores the
 * terminal: ui_close, the out-of-memory handler, atexit().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "exitcodes.h"
#include "ui/ui_p.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"

/* last: it defines macros such as "lines" and "columns" */
#include <term.h>

/* The one live UI, for the signal handlers and the fatal paths. */
static struct ui *live_ui;
static int saved_stderr = -1;
static int sig_pipe[2] = {-1, -1};

static const int handled_signals[] = {SIGHUP, SIGTERM, SIGINT, SIGQUIT};
#define NSIG_HANDLED (sizeof(handled_signals) / sizeof(handled_signals[0]))
static struct sigaction old_actions[NSIG_HANDLED];
static int installed[NSIG_HANDLED];

#define HEADLESS_HINT                                                                              \
	"; use the headless commands instead, e.g. 'mailferry check --batch NAME' or "             \
	"'mailferry migrate --batch NAME' (see 'mailferry --help')"

int ui_terminal_check(char *why, size_t n)
{
	const char *term = getenv("TERM");
	int errret = 0;
	char *cup;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		snprintf(why, n,
		         "the wizard needs a terminal, but standard %s is not one" HEADLESS_HINT,
		         isatty(STDIN_FILENO) ? "output" : "input");
		return -1;
	}
	if (!term || !*term || !strcmp(term, "dumb")) {
		snprintf(why, n, "the wizard cannot draw on TERM=%s" HEADLESS_HINT,
		         term && *term ? term : "(unset)");
		return -1;
	}
	if (setupterm(term, STDOUT_FILENO, &errret) != OK) {
		snprintf(why, n,
		         "the terminal type TERM=%s is not known on this system" HEADLESS_HINT,
		         term);
		return -1;
	}
	cup = tigetstr("cup");
	if (!cup || cup == (char *)-1) {
		del_curterm(cur_term);
		snprintf(why, n, "the terminal TERM=%s cannot move its cursor" HEADLESS_HINT, term);
		return -1;
	}
	del_curterm(cur_term);
	return 0;
}

static void restore_stderr(void)
{
	if (saved_stderr < 0)
		return;
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
}

static int redirect_stderr(const char *path, struct mf_err *err)
{
	int fd;

	if (path)
		fd = fs_open_private(path, O_WRONLY | O_APPEND | O_CREAT, err);
	else
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return path ? -1
		            : mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "/dev/null: %s",
		                      strerror(errno));
	fflush(stderr);
	saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0) {
		int e = errno;

		close(fd);
		if (saved_stderr >= 0)
			close(saved_stderr);
		saved_stderr = -1;
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "cannot redirect standard error: %s",
		               strerror(e));
	}
	close(fd);
	return 0;
}

/* ---------------------------------------------------------------- crashes
 *
 * A crash (SIGSEGV, SIGABRT...) cannot call endwin(): only async-signal-safe
 * calls are allowed.  So ui_term_open saves the terminal modes from before
 * curses and the terminal's own reset strings (attributes off, cursor
 * visible, keypad off, leave the alternate screen), and the crash handler
 * writes those, restores the modes and fd 2, then lets the previous handler
 * (the default one, or the sanitizer's report) have the signal. */

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NCRASH (sizeof(crash_signals) / sizeof(crash_signals[0]))
static struct sigaction old_crash[NCRASH];
static int crash_installed;
static struct termios saved_modes;
static int saved_modes_ok;
static char reset_seq[256];
static size_t reset_len;
static int term_in_fd = -1, term_out_fd = -1;

static void crash_restore(void)
{
	ssize_t r;

	if (term_out_fd >= 0 && reset_len)
		r = write(term_out_fd, reset_seq, reset_len);
	(void)r;
	if (saved_modes_ok && term_in_fd >= 0)
		tcsetattr(term_in_fd, TCSADRAIN, &saved_modes);
	if (saved_stderr >= 0)
		dup2(saved_stderr, STDERR_FILENO);
}

static void on_crash(int sig)
{
	crash_restore();
	for (size_t i = 0; i < NCRASH; i++)
		if (crash_signals[i] == sig)
			sigaction(sig, &old_crash[i], NULL);
	/* blocked while we run: delivered to the previous handler on return
	 * (a real fault also simply happens again) */
	raise(sig);
}

static void add_reset(const char *capname)
{
	char *cap = tigetstr(capname);
	size_t l;

	if (!cap || cap == (char *)-1)
		return;
	l = strlen(cap);
	if (reset_len + l >= sizeof(reset_seq))
		return;
	memcpy(reset_seq + reset_len, cap, l);
	reset_len += l;
}

static void crash_install(struct ui *ui)
{
	struct sigaction sa;

	term_in_fd = ui->in_fd;
	term_out_fd = ui->out_fd;
	reset_len = 0;
	add_reset("sgr0");
	add_reset("cnorm");
	add_reset("rmkx");
	add_reset("rmcup");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_crash;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NCRASH; i++)
		sigaction(crash_signals[i], &sa, &old_crash[i]);
	crash_installed = 1;
}

static void crash_uninstall(void)
{
	if (!crash_installed)
		return;
	for (size_t i = 0; i < NCRASH; i++)
		sigaction(crash_signals[i], &old_crash[i], NULL);
	crash_installed = 0;
	term_in_fd = term_out_fd = -1;
}

void ui_die(const char *fmt, ...)
{
	va_list ap;

	ui_emergency_restore();
	fputs("mailferry: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	exit(MF_EXIT_INTERNAL);
}

void ui_emergency_restore(void)
{
	struct ui *ui = live_ui;

	if (ui && ui->sp && !isendwin())
		endwin();
	restore_stderr();
}

static void at_exit_restore(void)
{
	ui_emergency_restore();
}

static int locale_is_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "UTF8"));
}

int ui_term_open(struct ui *ui, struct mf_err *err)
{
	static int atexit_done;
	const char *nc = getenv("NO_COLOR");

	char why[512];

	if (ui_terminal_check(why, sizeof(why)) < 0)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "%s", why);
	saved_modes_ok = tcgetattr(STDIN_FILENO, &saved_modes) == 0;
	if (redirect_stderr(ui->opt.log_path, err) < 0)
		return -1;
	ui->sp = newterm(NULL, stdout, stdin);
	if (!ui->sp) {
		restore_stderr();
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "cannot start the terminal (TERM=%s)" HEADLESS_HINT,
		               getenv("TERM") ? getenv("TERM") : "");
	}
	set_term(ui->sp);
	live_ui = ui;
	if (!atexit_done) {
		atexit(at_exit_restore);
		atexit_done = 1;
	}
	mf_mem_set_fatal_handler(ui_emergency_restore);
	ui->in_fd = fileno(stdin);
	ui->out_fd = fileno(stdout);
	crash_install(ui);

	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	/* Shift-Tab where the terminfo entry does not name it (htop does the same) */
	define_key("\033[Z", KEY_BTAB);
	if (!getenv("ESCDELAY"))
		set_escdelay(UI_ESCDELAY);

	ui->ascii = ui->opt.ascii || !locale_is_utf8();
	if (ui->opt.color == 0)
		ui->colors = 0;
	else if (ui->opt.color == 1)
		ui->colors = has_colors();
	else
		ui->colors = has_colors() && !(nc && *nc);
	if (ui->colors && start_color() != OK)
		ui->colors = 0;
	if (ui->colors)
		use_default_colors();
	ui_theme_init(ui);

	{
		const char *ssh = getenv("SSH_CONNECTION");
		const char *tmux = getenv("TMUX");
		const char *sty = getenv("STY");

		ui->ssh_hint = ssh && *ssh && !(tmux && *tmux) && !(sty && *sty);
	}
	return 0;
}

void ui_term_close(struct ui *ui)
{
	crash_uninstall();
	if (ui->sp) {
		if (!isendwin()) {
			curs_set(1);
			endwin();
		}
		delscreen(ui->sp);
		ui->sp = NULL;
	}
	restore_stderr();
	if (live_ui == ui)
		live_ui = NULL;
	mf_mem_set_fatal_handler(NULL);
}

/* The terminal went away (SSH drop, pane killed): reads fail or hang up.
 * tcgetattr() failing (EIO on a hung-up pty, EBADF, ENOTTY) is the
 * reliable test; poll() then reports POLLHUP/POLLERR. */
int ui_term_lost(struct ui *ui)
{
	struct termios t;
	struct pollfd p = {.fd = ui->in_fd, .events = POLLIN};

	if (tcgetattr(ui->in_fd, &t) < 0)
		return 1;
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLNVAL | POLLERR)))
		return 1;
	return 0;
}

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	ssize_t r;

	if (sig_pipe[1] >= 0)
		r = write(sig_pipe[1], &b, 1);
	(void)r;
	errno = saved;
}

int ui_signals_install(struct mf_err *err)
{
	struct sigaction sa;

	if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < NSIG_HANDLED; i++) {
		struct sigaction old;

		installed[i] = 0;
		if (sigaction(handled_signals[i], NULL, &old) < 0)
			continue;
		/* nohup / a background job: an ignored signal stays ignored; a
		 * vanished terminal is then noticed by poll() instead */
		if (old.sa_handler == SIG_IGN)
			continue;
		if (sigaction(handled_signals[i], &sa, &old_actions[i]) == 0)
			installed[i] = 1;
	}
	return 0;
}

void ui_signals_restore(void)
{
	for (size_t i = 0; i < NSIG_HANDLED; i++) {
		if (installed[i])
			sigaction(handled_signals[i], &old_actions[i], NULL);
		installed[i] = 0;
	}
	if (sig_pipe[0] >= 0) {
		close(sig_pipe[0]);
		close(sig_pipe[1]);
		sig_pipe[0] = sig_pipe[1] = -1;
	}
}

int ui_signal_fd(void)
{
	return sig_pipe[0];
}

int ui_signal_next(void)
{
	unsigned char b;

	if (sig_pipe[0] < 0)
		return 0;
	if (read(sig_pipe[0], &b, 1) == 1)
		return b;
	return 0;
}
