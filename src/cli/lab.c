/* mailferry - driving the lab script for the demo */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/lab.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/proc.h"

const char *lab_script(void)
{
	static const char *const candidates[] = {MF_LIBEXECDIR "/mflab",
						 MF_SRCDIR "/tests/lab/mflab"};
	const char *env = getenv("MAILFERRY_LAB");

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return NULL;
}

int lab_run(const char *dir, struct mf_buf *out, struct mf_err *err, const char *verb, ...)
{
	const char *argv[32];
	size_t n = 0;
	va_list ap;
	int rc;

	argv[n++] = lab_script();
	if (!argv[0])
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_NOTFOUND,
			       "the lab script (mflab) is not installed; set MAILFERRY_LAB");
	argv[n++] = verb;
	argv[n++] = dir;
	va_start(ap, verb);
	for (const char *a; n < 31 && (a = va_arg(ap, const char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	rc = proc_run(argv, out, 0, err);
	if (rc > 0)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_INTERNAL, "mflab %s failed (status %d)", verb,
			       rc);
	return rc;
}

char *lab_env_value(const struct mf_buf *env, const char *key)
{
	size_t klen = strlen(key);
	const char *p = env->data;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > klen && !strncmp(p, key, klen) && p[klen] == '=')
			return mf_strndup(p + klen + 1, len - klen - 1);
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}
