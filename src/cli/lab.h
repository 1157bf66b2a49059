/* mailferry - driving the lab script (tests/lab/mflab) for `mailferry demo`
 *
 * The demo uses the very same lab as the test suite: private Dovecot servers
 * on free loopback ports with a CA generated for the run.
 */
#ifndef MF_CLI_LAB_H
#define MF_CLI_LAB_H

struct mf_buf;
struct mf_err;

/* Path of the mflab script: $MAILFERRY_LAB, the installed copy, or the one in
 * the source tree this binary was built from.  NULL if none exists. */
const char *lab_script(void);
/* Runs `mflab <verb> <dir> args...`; stdout into out (may be NULL). */
int lab_run(const char *dir, struct mf_buf *out, struct mf_err *err, const char *verb, ...)
	__attribute__((sentinel));
/* Looks up KEY=value in mflab's env output; malloc'd value or NULL. */
char *lab_env_value(const struct mf_buf *env, const char *key);

#endif
