/* mailferry - running helper programs (the lab script for the demo) */
#ifndef MF_UTIL_PROC_H
#define MF_UTIL_PROC_H

struct mf_buf;
struct mf_err;

/* Runs argv[0] (looked up in PATH) with stdin from /dev/null.  stdout goes to
 * *out when out is not NULL (else inherited); stderr is inherited unless
 * quiet_stderr.  Returns the exit status (0..255), or -1 with err filled when
 * the program could not be started or died from a signal. */
int proc_run(const char *const argv[], struct mf_buf *out, int quiet_stderr, struct mf_err *err);

#endif
