/* mailferry - step 4: every row of the list logs in at the source */
#include "config.h"

#include <string.h>

#include "batch.h"
#include "batch/csvin.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "imap/session.h"
#include "util/err.h"

void check_credentials_source(struct check_ctx *c)
{
	const struct mf_endpoint *e = &c->env->set->source;
	struct imap_conn *conn = NULL;
	struct mf_err err;

	if (check_imap_open(c, 1, &conn, &err)) {
		if (err.code == MF_E_AUTH) {
			check_fail(c, "The source refused the login", "%s", err.msg);
			if (e->auth == MF_AUTH_ADMIN)
				check_remedy(
				        c,
				        "Check the admin account (%s) and its password, and that "
				        "the source accepts the %s admin form for this user.",
				        e->admin_user ? e->admin_user : "?",
				        mf_admin_form_name(e->admin_form));
			else
				check_remedy(
				        c,
				        "Check UserName and Password on line %u of the CSV; if "
				        "the user changed the password, ask for the new one or "
				        "use admin credentials.",
				        c->row ? c->row->line : 0);
		} else {
			check_fail(c, "Could not log in at the source", "%s", err.msg);
			check_remedy(c,
			             "See step 6: the source must be reachable with the configured "
			             "security.");
		}
		return;
	}
	check_pass(c, "Logs in at the source", "as %s in %ld ms", c->login, imap_login_ms(conn));
	check_imap_close(c, 1, conn);
}
