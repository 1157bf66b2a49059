/* mailferry - helpers shared by the subcommands */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "batch.h"
#include "batch/csvin.h"
#include "checks.h"
#include "cli/cliutil.h"
#include "exitcodes.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/secret.h"
#include "util/timeutil.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

int cli_exit_for(const struct mf_err *err)
{
	switch (err->code) {
	case MF_E_LOCKED:
		return MF_EXIT_LOCKED;
	case MF_E_NOTFOUND:
		return MF_EXIT_NOINPUT;
	case MF_E_CONFIG:
		return MF_EXIT_CONFIG;
	case MF_E_DATA:
		return MF_EXIT_DATAERR;
	case MF_E_NOSPC:
	case MF_E_IO:
		return MF_EXIT_CANTCREAT;
	case MF_E_CONNECT:
	case MF_E_RESOLVE:
	case MF_E_TIMEOUT:
	case MF_E_TLS:
	case MF_E_CERT:
	case MF_E_AUTH:
	case MF_E_CLOSED:
		return MF_EXIT_UNAVAILABLE;
	case MF_E_CANCEL:
		return MF_EXIT_RESUMABLE;
	default:
		return MF_EXIT_INTERNAL;
	}
}

static void json_error_line(const char *code, const char *msg, int status)
{
	struct mf_buf line;
	struct json_w w;

	jsonl_begin(&w, &line, "error");
	json_w_kv_str(&w, "code", code);
	json_w_kv_str(&w, "message", msg);
	json_w_kv_int(&w, "exit", status);
	if (jsonl_end(&w, &line))
		/* no memory for the JSON line: an error must still be said */
		fprintf(stderr, "mailferry: %s\n", msg);
}

int cli_fail(int json, const struct mf_err *err)
{
	int status = cli_exit_for(err);

	if (json)
		json_error_line(mf_errcode_name(err->code), err->msg, status);
	else
		fprintf(stderr, "mailferry: %s\n", err->msg);
	return status;
}

int cli_fail_msg(int json, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json)
		json_error_line(status == MF_EXIT_USAGE ? "USAGE" : "ERROR", msg, status);
	else
		fprintf(stderr, "mailferry: %s\n", msg);
	return status;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	uint64_t mult = 1;

	if (end == s || !(v >= 0)) /* also refuses "nan" */
		return -1;
	while (*end == ' ')
		end++;
	if (!*end || !strcasecmp(end, "b"))
		mult = 1;
	else if (!strcasecmp(end, "k") || !strcasecmp(end, "kb"))
		mult = 1000;
	else if (!strcasecmp(end, "m") || !strcasecmp(end, "mb"))
		mult = 1000 * 1000;
	else if (!strcasecmp(end, "g") || !strcasecmp(end, "gb"))
		mult = 1000 * 1000 * 1000;
	else if (!strcasecmp(end, "kib"))
		mult = 1024;
	else if (!strcasecmp(end, "mib"))
		mult = 1024 * 1024;
	else if (!strcasecmp(end, "gib"))
		mult = 1024 * 1024 * 1024;
	else
		return -1;
	if (v * (double)mult >= 9.0e18) /* no uint64_t can hold it: refuse, never wrap */
		return -1;
	*out = (uint64_t)(v * (double)mult);
	return 0;
}

int cli_parse_duration(const char *s, long *out)
{
	char *end;
	long v = strtol(s, &end, 10), unit;

	if (end == s || v <= 0)
		return -1;
	switch (*end) {
	case 0:
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	/* More than a year is a typo, and bounding it keeps the millisecond
	 * conversions callers do free of overflow. */
	if ((*end && end[1]) || v > MF_DURATION_MAX_S / unit)
		return -1;
	*out = v * unit;
	return 0;
}

int cli_parse_hostport(const char *s, char **host, unsigned *port)
{
	const char *colon;
	char *end;

	*port = 0;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return -1;
		*host = mf_strndup(s + 1, (size_t)(close - s - 1));
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
		*host = colon ? mf_strndup(s, (size_t)(colon - s)) : mf_strdup(s);
	}
	if (*host && **host && colon) {
		unsigned long p = strtoul(colon + 1, &end, 10);

		if (!*end && p > 0 && p <= 65535) {
			*port = (unsigned)p;
			return 0;
		}
	} else if (*host && **host) {
		return 0;
	}
	free(*host);
	*host = NULL;
	return -1;
}

/* ---------------------------------------------------------------- secrets */

static int trim_secret(struct mf_buf *b, struct mf_secret **out, struct mf_err *err)
{
	size_t n = b->len;

	while (n && (b->data[n - 1] == '\n' || b->data[n - 1] == '\r'))
		n--;
	*out = secret_new(b->data ? b->data : "", n);
	buf_free_secure(b);
	return *out ? 0 : mf_fail_nomem(err, MF_SCOPE_BATCH);
}

int cli_secret_from_file(const char *path, struct mf_secret **out, struct mf_err *err)
{
	struct mf_buf b;
	int others = fs_readable_by_others(path);

	*out = NULL;
	if (others < 0)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_NOTFOUND, "cannot read %s: %s", path,
		               strerror(errno));
	if (others)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "%s can be read by other users; make it private first "
		               "(chmod 600 %s)",
		               path, path);
	buf_init(&b, 65536);
	if (fs_read_file(path, &b, 65536, err)) {
		buf_free_secure(&b);
		return -1;
	}
	return trim_secret(&b, out, err);
}

int cli_secret_from_env(const char *var, struct mf_secret **out, struct mf_err *err)
{
	const char *v = getenv(var);

	*out = NULL;
	if (!v)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "the environment variable %s is not set", var);
	*out = secret_new(v, strlen(v));
	return *out ? 0 : mf_fail_nomem(err, MF_SCOPE_BATCH);
}

int cli_secret_prompt(const char *prompt, struct mf_secret **out, struct mf_err *err)
{
	struct termios old, quiet;
	struct mf_buf b;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	char c;

	*out = NULL;
	if (fd < 0)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "no terminal to ask for the password; use a password file or "
		               "an environment variable");
	(void)!write(fd, prompt, strlen(prompt));
	tcgetattr(fd, &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	tcsetattr(fd, TCSAFLUSH, &quiet);
	buf_init(&b, 4096);
	while (read(fd, &c, 1) == 1 && c != '\n')
		if (buf_putc(&b, c))
			break;
	tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	return trim_secret(&b, out, err);
}

/* ---------------------------------------------------------------- batches */

int cli_open_batch(const char *name, unsigned flags, int json, struct mf_batch **b)
{
	struct mf_err err;

	*b = NULL;
	if (!name)
		return cli_fail_msg(json, MF_EXIT_USAGE,
		                    "which batch? name it (e.g. 'mailferry status NAME')");
	if (batch_open(name, flags, b, &err))
		return cli_fail(json, &err);
	return 0;
}

int cli_open_log(struct mf_batch *b, struct mf_err *err)
{
	return log_open(batch_log_path(b), err);
}

/* ---------------------------------------------------------------- JSON Lines */

void jsonl_begin(struct json_w *w, struct mf_buf *line, const char *type)
{
	char stamp[32];

	buf_init(line, 1024 * 1024);
	json_w_init(w, line);
	json_w_object_begin(w);
	json_w_kv_int(w, "v", 1);
	time_rfc3339_now(stamp, sizeof(stamp));
	json_w_kv_str(w, "ts", stamp);
	json_w_kv_str(w, "type", type);
}

int jsonl_end(struct json_w *w, struct mf_buf *line)
{
	int rc = -1;

	json_w_object_end(w);
	if (json_w_finish(w) == 0 && buf_putc(line, '\n') == 0 && secret_redact(line) == 0) {
		pthread_mutex_lock(&out_lock);
		fwrite(line->data, 1, line->len, stdout);
		fflush(stdout);
		pthread_mutex_unlock(&out_lock);
		rc = 0;
	}
	buf_free(line);
	return rc;
}

void jsonl_check_fields(struct json_w *w, const struct mf_check *c)
{
	json_w_kv_int(w, "step", c->step);
	json_w_kv_str(w, "id", c->id);
	json_w_kv_str(w, "subject", c->subject);
	json_w_kv_str(w, "status", check_status_name(c->status));
	json_w_kv_str(w, "title", c->title);
	json_w_kv_str(w, "detail", c->detail);
	json_w_kv_str(w, "remedy", c->remedy);
}

/* ---------------------------------------------------------------- signals */

void cli_block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigprocmask(SIG_BLOCK, set, NULL);
}

void cli_print_csv_problems(const struct csvin_result *r, const char *path, int json)
{
	struct mf_buf text;

	buf_init(&text, 0);
	for (size_t i = 0; i < r->nproblems; i++) {
		const struct csvin_problem *p = &r->problems[i];

		if (json) {
			struct mf_buf line;
			struct json_w w;

			jsonl_begin(&w, &line, "csv.problem");
			json_w_kv_str(&w, "file", path);
			json_w_kv_uint(&w, "line", p->line);
			json_w_kv_uint(&w, "column", p->column);
			json_w_kv_str(&w, "severity",
			              p->severity == CSVIN_ERROR ? "error" : "warning");
			json_w_kv_str(&w, "message", p->text);
			jsonl_end(&w, &line);
			continue;
		}
		buf_reset(&text);
		if (csvin_problem_format(p, &text) == 0)
			fprintf(stderr, "%s: %s%s\n", path,
			        p->severity == CSVIN_WARNING ? "warning: " : "", text.data);
	}
	buf_free(&text);
}

const char *cli_bytes(uint64_t n, char *buf, size_t len)
{
	format_bytes(buf, len, n);
	return buf;
}
