/* mailferry - running helper programs */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/proc.h"

static void child(const char *const argv[], int outfd, int quiet_stderr)
{
	char *args[64] = {0};
	size_t n = 0;
	int devnull = open("/dev/null", O_RDWR);

	if (devnull >= 0) {
		dup2(devnull, 0);
		if (quiet_stderr)
			dup2(devnull, 2);
	}
	if (outfd >= 0)
		dup2(outfd, 1);
	sigset_t none;

	/* Daemons started from here (Dovecot) must not inherit our blocked signals. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* execvp's prototype predates const; copy the pointers rather than cast */
	while (argv[n] && n < 63)
		n++;
	memcpy(args, argv, n * sizeof(*args));
	execvp(args[0], args);
	_exit(127);
}

int proc_run(const char *const argv[], struct mf_buf *out, int quiet_stderr, struct mf_err *err)
{
	int pipefd[2] = {-1, -1}, status;
	char chunk[4096];
	ssize_t n;
	pid_t pid;

	if (out && pipe2(pipefd, O_CLOEXEC))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		int e = errno;

		if (out) {
			close(pipefd[0]);
			close(pipefd[1]);
		}
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "cannot start %s: %s", argv[0],
			       strerror(e));
	}
	if (pid == 0)
		child(argv, out ? pipefd[1] : -1, quiet_stderr);
	if (out) {
		close(pipefd[1]);
		while ((n = read(pipefd[0], chunk, sizeof(chunk))) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 || buf_append(out, chunk, (size_t)n))
				break;
		}
		close(pipefd[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == 127)
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_NOTFOUND, "cannot run %s", argv[0]);
		return WEXITSTATUS(status);
	}
	return mf_fail(err, MF_SCOPE_BATCH, MF_E_INTERNAL, "%s died from signal %d", argv[0],
		       WTERMSIG(status));
}
