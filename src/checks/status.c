/* mailferry - names of check statuses */
#include "config.h"

#include "checks.h"

const char *check_status_name(enum check_status s)
{
	static const char *const names[] = {"PASS", "WARN", "FAIL", "SKIP"};

	return (unsigned)s < 4 ? names[s] : "?";
}
