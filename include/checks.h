/* mailferry - live prerequisite checks (engine API)
 *
 * Checks are data: each returns a status, a one-line title, a detail and a
 * remedy the admin can act on (for Exchange-side setup that only PowerShell
 * can do, the exact commands).  Results are stored in the batch's ledger with
 * their time, so a screen can show the last result without running again.
 */
#ifndef MF_CHECKS_H
#define MF_CHECKS_H

enum check_status {
	CHECK_PASS = 0,
	CHECK_WARN,
	CHECK_FAIL,
	CHECK_SKIP,
};

/* "PASS", "WARN", "FAIL", "SKIP" */
const char *check_status_name(enum check_status s);

#endif
