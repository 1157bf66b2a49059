/* mailferry - the batch log
 *
 * One log file per batch (under its state directory, 0600), written by every
 * thread.  Lines are "RFC3339-UTC LEVEL message" and pass through
 * secret_redact() before they reach the file.  Headless runs may also echo
 * lines at or above a level to a stream (stderr); the wizard never does,
 * because nothing may be written to the terminal while curses owns it.
 */
#ifndef MF_UTIL_LOG_H
#define MF_UTIL_LOG_H

#include <stdio.h>

struct mf_err;

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Opens (appends to) the log file. 0 or -1 with err filled. */
int log_open(const char *path, struct mf_err *err);
void log_close(void);
const char *log_path(void); /* NULL when no file is open */
/* Lines at or above `level` are also written to `stream` (NULL: none). */
void log_set_echo(FILE *stream, enum log_level level);
/* Lines above `level` are dropped from the file (default LOG_INFO). */
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
