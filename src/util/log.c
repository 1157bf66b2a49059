/* mailferry - the batch log */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/secret.h"
#include "util/timeutil.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static char *log_file;
static FILE *echo_stream;
static enum log_level echo_level = LOG_WARN;
static enum log_level file_level = LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

int log_open(const char *path, struct mf_err *err)
{
	int fd = fs_open_private(path, O_WRONLY | O_APPEND | O_CREAT, err);
	char *copy;

	if (fd < 0)
		return -1;
	copy = mf_strdup(path);
	if (!copy) {
		close(fd);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	pthread_mutex_lock(&log_lock);
	if (log_fd >= 0)
		close(log_fd);
	free(log_file);
	log_fd = fd;
	log_file = copy;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	mf_freep(&log_file);
	pthread_mutex_unlock(&log_lock);
}

const char *log_path(void)
{
	return log_file;
}

void log_set_echo(FILE *stream, enum log_level level)
{
	pthread_mutex_lock(&log_lock);
	echo_stream = stream;
	echo_level = level;
	pthread_mutex_unlock(&log_lock);
}

void log_set_level(enum log_level level)
{
	file_level = level;
}

int log_enabled(enum log_level level)
{
	return (log_fd >= 0 && level <= file_level) || (echo_stream && level <= echo_level);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a full disk must not take the program down with it */
		p += w;
		n -= (size_t)w;
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char stamp[40];
	struct mf_buf line;
	size_t body;
	va_list ap;

	if (!log_enabled(level))
		return;
	buf_init(&line, 64 * 1024);
	time_rfc3339_now(stamp, sizeof(stamp));
	if (buf_printf(&line, "%s %-5s ", stamp, level_names[level]))
		goto out;
	body = line.len;
	va_start(ap, fmt);
	if (buf_vprintf(&line, fmt, ap)) {
		va_end(ap);
		goto out;
	}
	va_end(ap);
	/* Never more than one line per message: control characters become '?'. */
	for (size_t i = body; i < line.len; i++)
		if ((unsigned char)line.data[i] < 0x20 && line.data[i] != '\t')
			line.data[i] = '?';
	if (buf_putc(&line, '\n') || secret_redact(&line))
		goto out;
	pthread_mutex_lock(&log_lock);
	if (log_fd >= 0 && level <= file_level)
		write_all(log_fd, line.data, line.len);
	if (echo_stream && level <= echo_level) {
		fprintf(echo_stream, "mailferry: %s", line.data + body);
		fflush(echo_stream);
	}
	pthread_mutex_unlock(&log_lock);
out:
	buf_free(&line);
}
