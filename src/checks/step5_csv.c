/* mailferry - step 5: the list of mailboxes follows Microsoft's rules */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "batch/csvin.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "util/buf.h"
#include "m365/graph.h"
#include "util/err.h"

#define SHOWN_PROBLEMS 20

void check_csv_valid(struct check_ctx *c)
{
	const struct mf_batch_settings *s = c->env->set;
	struct csvin_options o = {.allow_unknown_columns = s->allow_unknown_columns,
	                          .passwords_optional = s->source.auth == MF_AUTH_ADMIN};
	struct csvin_result r = {0};
	char *path = batch_csv_path(c->env->batch);
	size_t ndomains = 0, shown = 0, warnings;
	char **domains;
	struct mf_buf line;
	struct mf_err err;

	if (!path || csvin_load_file(path, &o, &r, &err)) {
		check_fail(c, "The batch's list of mailboxes cannot be read", "%s",
		           path ? err.msg : "out of memory");
		check_remedy(c, "Import the CSV again: mailferry batch import NAME --csv FILE");
		csvin_result_free(&r);
		free(path);
		return;
	}
	domains = csvin_domains(&r, &ndomains);
	warnings = r.nproblems - r.nerrors;
	if (r.nerrors)
		check_fail(c, "The CSV breaks Microsoft's rules",
		           "%zu error%s and %zu warning%s in %s:", r.nerrors,
		           r.nerrors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s",
		           s->csv_origin ? s->csv_origin : path);
	else if (warnings)
		check_warn(c, "The CSV is valid, with remarks",
		           "%zu mailbox%s in %zu domain%s; %zu "
		           "warning%s:",
		           r.nrows, r.nrows == 1 ? "" : "es", ndomains, ndomains == 1 ? "" : "s",
		           warnings, warnings == 1 ? "" : "s");
	else
		check_pass(c, "The CSV follows Microsoft's format",
		           "%zu mailbox%s in %zu domain%s; columns %s%s%s", r.nrows,
		           r.nrows == 1 ? "" : "es", ndomains, ndomains == 1 ? "" : "s",
		           "EmailAddress, UserName, Password", r.has_userroot ? ", UserRoot" : "",
		           r.has_target_credentials ? ", TargetUserName, TargetPassword" : "");
	buf_init(&line, 0);
	for (size_t i = 0; i < r.nproblems && shown < SHOWN_PROBLEMS; i++, shown++) {
		buf_reset(&line);
		if (csvin_problem_format(&r.problems[i], &line) == 0)
			check_detail(c, "  %s", line.data);
	}
	if (r.nproblems > shown)
		check_detail(c, "  ... and %zu more", r.nproblems - shown);
	if (r.nerrors)
		check_remedy(c,
		             "Fix the lines listed above in the CSV (a password is never shown "
		             "here), then import it again: mailferry batch import %s --csv FILE",
		             s->name ? s->name : "NAME");
	buf_free(&line);
	csvin_strings_free(domains, ndomains);
	csvin_result_free(&r);
	free(path);
}

/* Each row's domain must be verified in the tenant, for Email (with its line). */
void check_csv_domains(struct check_ctx *c)
{
	const struct csvin_result *rows = c->env->rows;
	const struct graph_domain *all;
	size_t n, bad = 0;
	struct mf_err err;

	if (check_skip_no_tenant(c, "the domains of a generic IMAP target are not verified"))
		return;
	if (!rows) {
		check_skip(c, "The CSV cannot be read", "see csv.valid");
		return;
	}
	if (check_tenant_domains(c, &all, &n, &err)) {
		check_graph_failed(c, "list the tenant's domains", &err);
		return;
	}
	for (size_t i = 0; i < rows->nrows; i++) {
		const char *at = strrchr(rows->rows[i].email, '@');
		const struct graph_domain *d = at ? check_find_domain(all, n, at + 1) : NULL;
		const char *why = !d                ? "is not in the tenant"
		                  : !d->is_verified ? "is not verified in the tenant"
		                  : !graph_domain_supports(d, "Email") ? "is not set up for Email"
		                                                       : NULL;

		if (!why)
			continue;
		if (bad++ < SHOWN_PROBLEMS)
			check_detail(c, "  line %u: %s: the domain %s %s", rows->rows[i].line,
			             rows->rows[i].email, at ? at + 1 : "?", why);
	}
	if (bad > SHOWN_PROBLEMS)
		check_detail(c, "  ... and %zu more", bad - SHOWN_PROBLEMS);
	if (bad) {
		char detail[sizeof(c->result.detail)];

		snprintf(detail, sizeof(detail), "%s", c->result.detail);
		check_fail(c, "Addresses in domains the tenant cannot receive for",
		           "%zu row%s:\n%s", bad, bad == 1 ? "" : "s", detail);
		check_remedy(c,
		             "Verify those domains in the Microsoft 365 admin center > Settings "
		             "> Domains (see step 2, domains.tenant), or correct the addresses on "
		             "the lines above.");
	} else {
		check_pass(c, "Every address is in a verified domain",
		           "%zu row%s checked against "
		           "the tenant's %zu domains",
		           rows->nrows, rows->nrows == 1 ? "" : "s", n);
	}
}
