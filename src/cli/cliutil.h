/* mailferry - helpers shared by the subcommands */
#ifndef MF_CLI_CLIUTIL_H
#define MF_CLI_CLIUTIL_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

struct mf_batch;
struct mf_buf;
struct mf_err;
struct mf_secret;
struct json_w;
struct csvin_result;
struct mf_check;

/* The exit status that fits an error (include/exitcodes.h). */
int cli_exit_for(const struct mf_err *err);
/* Prints "mailferry: <msg>" on stderr (or a JSON error line on stdout with
 * json) and returns the exit status for err. */
int cli_fail(int json, const struct mf_err *err);
int cli_fail_msg(int json, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "35MB", "1.5 GB", "100k" -> bytes; -1 if invalid. */
int cli_parse_size(const char *s, uint64_t *out);
/* "24h", "30m", "90s", "2d", plain seconds -> seconds; -1 if invalid, not
 * positive, or longer than MF_DURATION_MAX_S (a year). */
#define MF_DURATION_MAX_S (366L * 86400)
int cli_parse_duration(const char *s, long *out);
/* "host", "host:port", "[v6]:port". */
int cli_parse_hostport(const char *s, char **host, unsigned *port);

/* Reads a secret from a file (refused when group or others may read it),
 * from an environment variable the user named, or by prompting on the
 * terminal without echo.  Never from argv.  *out NULL when none was given. */
int cli_secret_from_file(const char *path, struct mf_secret **out, struct mf_err *err);
int cli_secret_from_env(const char *var, struct mf_secret **out, struct mf_err *err);
int cli_secret_prompt(const char *prompt, struct mf_secret **out, struct mf_err *err);

/* Opens a batch by name (positional or --batch), printing the reason and
 * returning the exit status when it cannot. *b NULL on failure. */
int cli_open_batch(const char *name, unsigned flags, int json, struct mf_batch **b);
/* Opens the batch log and makes it the process log. */
int cli_open_log(struct mf_batch *b, struct mf_err *err);

/* JSON Lines: starts an object with "v", "ts" and "type" into a fresh line. */
void jsonl_begin(struct json_w *w, struct mf_buf *line, const char *type);
/* Finishes the object and writes it (one line, thread-safe) to stdout; -1
 * when it could not be built (out of memory) and nothing was written. */
int jsonl_end(struct json_w *w, struct mf_buf *line);

/* The fields of a check result (step, id, subject, status, title, detail,
 * remedy) into a JSON Lines object. */
void jsonl_check_fields(struct json_w *w, const struct mf_check *c);

/* Blocks SIGINT, SIGTERM and SIGHUP, which a command then waits for with
 * sigtimedwait() on *set (unblock them with sigprocmask when done). */
void cli_block_stop_signals(sigset_t *set);

/* Prints every problem of a CSV ("line 4, column 2: ...") to out, or as
 * JSON lines. */
void cli_print_csv_problems(const struct csvin_result *r, const char *path, int json);

/* "1.2 MB", "34 kB" */
const char *cli_bytes(uint64_t n, char *buf, size_t len);

#endif
