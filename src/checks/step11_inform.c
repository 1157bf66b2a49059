/* mailferry - step 11: the welcome template; stored credentials wiped at the end */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "batch/csvin.h"
#include "batch/ledger.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "util/err.h"
#include "util/secret.h"
#include "util/timeutil.h"

void check_welcome_template(struct check_ctx *c)
{
	check_template_file(c, c->env->set->welcome_template, "welcome message",
	                    "--welcome-template", 0);
}

static int secret_stored(struct check_ctx *c, const char *which)
{
	struct mf_secret *s = NULL;
	struct mf_err err;
	int stored = batch_get_secret(c->env->batch, which, &s, &err) == 0 && s;

	secret_free(s);
	return stored;
}

void check_finish_credentials(struct check_ctx *c)
{
	static const struct {
		const char *which, *words;
	} secrets[] = {
	        {"source-admin", "the source admin password"},
	        {"target-admin", "the target admin password"},
	        {"client", "the application's client secret"},
	};
	const struct csvin_result *rows = c->env->rows;
	const char *name = c->env->set->name ? c->env->set->name : "NAME";
	enum step_status st = STEP_NOT_STARTED;
	char what[400] = "", *summary = NULL;
	size_t passwords = 0;
	int64_t when = 0;
	struct mf_err err;

	for (size_t i = 0; rows && i < rows->nrows; i++)
		passwords +=
		        (rows->rows[i].password != NULL) + (rows->rows[i].target_password != NULL);
	if (passwords)
		snprintf(what, sizeof(what), "%zu password%s in the batch's copy of the CSV",
		         passwords, passwords == 1 ? "" : "s");
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (secret_stored(c, secrets[i].which))
			snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s%s",
			         what[0] ? "; " : "", secrets[i].words);
	if (ledger_step_get(batch_ledger(c->env->batch), 11, &st, &summary, &when, &err))
		st = STEP_NOT_STARTED;
	free(summary);
	if (what[0]) {
		check_warn(c, "Credentials are still stored",
		           "%s (files 0600 in the batch directory)", what);
		check_remedy(c,
		             "Once the final delta has run (step 10): mailferry finish %s --yes "
		             "wipes them (a later delta would need them again).",
		             name);
	} else if (st == STEP_DONE) {
		char t[32];

		time_rfc3339(t, sizeof(t), (time_t)when);
		check_pass(c, "No credentials are stored", "the batch was finished at %s", t);
	} else {
		check_pass(c, "No credentials are stored", "the batch holds no password or secret");
	}
}
