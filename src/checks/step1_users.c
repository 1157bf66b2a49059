/* mailferry - step 1: every target mailbox exists, is licensed, and the app can open it */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batch.h"
#include "batch/csvin.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "imap/ops.h"
#include "imap/session.h"
#include "m365/graph.h"
#include "util/err.h"

static const char *tenant_name(const struct check_ctx *c)
{
	return c->env->set->m365.tenant ? c->env->set->m365.tenant : "the tenant";
}

/* Finds the user of the mailbox; on failure the check's result is set
 * (quiet_missing: a missing user is SKIP here, users.exists reports it). */
static int find_user(struct check_ctx *c, struct graph_client **g, struct graph_user *u,
                     int quiet_missing)
{
	struct mf_err err;

	memset(u, 0, sizeof(*u));
	if (check_graph(c, g, &err)) {
		check_graph_failed(c, "ask the tenant", &err);
		return -1;
	}
	if (graph_find_user(*g, c->subject, u, &err) == 0)
		return 0;
	graph_user_free(u);
	if (err.code != MF_E_NOTFOUND) {
		check_graph_failed(c, "look up the user", &err);
	} else if (quiet_missing) {
		check_skip(c, "The user does not exist in the tenant", "see users.exists");
	} else {
		check_fail(c, "No such user in the tenant",
		           "%s is neither the user principal name nor a proxy address of a user "
		           "in %s; Microsoft's own migration reports this as \"A recipient wasn't "
		           "found for %s on the target.\"",
		           c->subject, tenant_name(c), c->subject);
		check_remedy(c,
		             "Create the user in the Microsoft 365 admin center (Users > Active "
		             "users > Add a user), or add %s as an email alias (proxy address) of "
		             "the user who should receive this mail; or correct EmailAddress on "
		             "line %u of the CSV.",
		             c->subject, c->row ? c->row->line : 0);
	}
	return -1;
}

void check_users_exists(struct check_ctx *c)
{
	struct graph_client *g = NULL;
	struct graph_user u;
	unsigned long before;

	if (check_skip_no_tenant(c, "checked over IMAP instead: see users.imap, a login per "
	                            "mailbox"))
		return;
	if (check_graph(c, &g, &(struct mf_err){0}) == 0)
		before = graph_throttled(g);
	else
		before = 0;
	if (find_user(c, &g, &u, 0)) {
		if (g)
			check_note_throttling(c, g, before);
		return;
	}
	if (u.account_enabled == 0) {
		check_warn(c, "The user exists, but the account is disabled", "%s (%s)",
		           u.upn ? u.upn : c->subject, u.display_name ? u.display_name : "");
		check_remedy(c,
		             "The mail can be migrated, but %s cannot sign in to read it: "
		             "enable the account in the Microsoft 365 admin center (Users > Active "
		             "users > %s > Unblock sign-in) before the cut-over.",
		             u.display_name ? u.display_name : c->subject,
		             u.upn ? u.upn : c->subject);
	} else if (u.found_by_proxy) {
		check_pass(c, "The user exists (by proxy address)", "%s is an address of %s (%s)",
		           c->subject, u.upn ? u.upn : "?", u.display_name ? u.display_name : "");
	} else {
		check_pass(c, "The user exists", "%s (%s)", u.upn ? u.upn : c->subject,
		           u.display_name ? u.display_name : "");
	}
	check_note_throttling(c, g, before);
	graph_user_free(&u);
}

static int is_exchange_plan(const char *name)
{
	return name && (!strncmp(name, "EXCHANGE_S_", 11) || !strncmp(name, "EXCHANGE_B_", 11));
}

/* The Exchange plans of every licence, for the detail. */
static void list_exchange_plans(struct check_ctx *c, const struct graph_licenses *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct graph_license *lic = &l->items[i];

		for (size_t k = 0; k < lic->n_plans; k++)
			if (is_exchange_plan(lic->plans[k].name))
				check_detail(c, "  %s: %s (%s)",
				             lic->sku_part_number ? lic->sku_part_number : "?",
				             lic->plans[k].name,
				             lic->plans[k].status ? lic->plans[k].status : "?");
	}
}

/* An Exchange plan that would give a mailbox once provisioned (*pending) or
 * that is switched off in the licence (*disabled). */
static void exchange_plan_states(const struct graph_licenses *l, const char **pending,
                                 const char **disabled)
{
	*pending = *disabled = NULL;
	for (size_t i = 0; i < l->n; i++)
		for (size_t k = 0; k < l->items[i].n_plans; k++) {
			const struct graph_service_plan *p = &l->items[i].plans[k];

			if (!graph_plan_gives_mailbox(p->name, "Success") || !p->status)
				continue;
			if (!strncmp(p->status, "Pending", 7))
				*pending = p->name;
			else if (strcmp(p->status, "Success"))
				*disabled = p->name;
		}
}

static void license_verdict(struct check_ctx *c, const struct graph_user *u,
                            const struct graph_licenses *l)
{
	const char *plan = NULL, *pending, *disabled;
	const char *who = u->upn ? u->upn : c->subject;

	if (graph_has_mailbox_plan(l, &plan)) {
		check_pass(c, "Licensed for Exchange Online", "%s has %s (provisioned)", who, plan);
		return;
	}
	exchange_plan_states(l, &pending, &disabled);
	if (pending) {
		check_warn(c, "The Exchange Online plan is still being provisioned",
		           "%s: %s is not ready yet", who, pending);
		check_remedy(c,
		             "Wait for Microsoft 365 to finish provisioning (usually minutes, "
		             "sometimes hours after the licence was assigned), then check again.");
		return;
	}
	if (disabled)
		check_fail(c, "The Exchange Online plan is switched off",
		           "%s: %s is in the licence but not provisioned", who, disabled);
	else if (!l->n)
		check_fail(c, "No licence is assigned", "%s has no licence at all", who);
	else
		check_fail(c, "No Exchange Online plan",
		           "%s has %zu licence%s without a mailbox plan (EXCHANGE_S_FOUNDATION "
		           "alone gives no mailbox)",
		           who, l->n, l->n == 1 ? "" : "s");
	check_remedy(c,
	             "In the Microsoft 365 admin center > Users > Active users > %s > "
	             "Licenses and apps, assign a licence that includes Exchange Online (Plan 1 "
	             "or 2, or a suite with it) with Exchange Online switched on.",
	             who);
}

void check_users_license(struct check_ctx *c)
{
	struct graph_client *g = NULL;
	struct graph_licenses l = {0};
	struct graph_user u;
	struct mf_err err;
	unsigned long before = 0;

	if (check_skip_no_tenant(c, "a generic IMAP server has no licences; see users.imap"))
		return;
	if (find_user(c, &g, &u, 1))
		return;
	before = graph_throttled(g);
	if (graph_license_details(g, u.id ? u.id : c->subject, &l, &err)) {
		check_graph_failed(c, "read the user's licences", &err);
	} else {
		license_verdict(c, &u, &l);
		list_exchange_plans(c, &l);
	}
	check_note_throttling(c, g, before);
	graph_licenses_free(&l);
	graph_user_free(&u);
}

void check_users_mailbox(struct check_ctx *c)
{
	struct graph_client *g = NULL;
	struct graph_user u;
	struct mf_err err;
	char *purpose = NULL;
	unsigned long before;
	int exists = 0;

	if (check_skip_no_tenant(c, "checked over IMAP instead: see users.imap"))
		return;
	if (find_user(c, &g, &u, 1))
		return;
	before = graph_throttled(g);
	if (graph_mailbox_exists(g, u.id ? u.id : c->subject, &exists, &purpose, &err)) {
		check_graph_failed(c, "ask whether the user has a mailbox", &err);
	} else if (exists) {
		check_pass(c, "The mailbox exists", "%s has an Exchange Online mailbox (%s)",
		           u.upn ? u.upn : c->subject, purpose ? purpose : "user");
	} else {
		const struct graph_error *ge = graph_last_error(g);

		check_fail(c, "The user has no Exchange Online mailbox",
		           "Microsoft Graph answered %ld %s%s%s: %s", ge->status, ge->code,
		           ge->inner_code[0] ? "/" : "", ge->inner_code, ge->message);
		check_remedy(
		        c,
		        "Assign a licence with Exchange Online (see users.license) and wait "
		        "until the mailbox is provisioned; the same answer comes for a mailbox "
		        "that is still on premises, inactive or soft-deleted (check with "
		        "Get-Mailbox -Identity %s in Exchange Online PowerShell).",
		        c->subject);
	}
	check_note_throttling(c, g, before);
	free(purpose);
	graph_user_free(&u);
}

/* PowerShell that sets up app-only IMAP access to one mailbox. */
static void remedy_app_access(struct check_ctx *c)
{
	const char *app = c->env->set->m365.client_id ? c->env->set->m365.client_id : "<client id>";

	check_remedy(
	        c,
	        "In the Entra admin center > App registrations > %s > API permissions, add "
	        "Office 365 Exchange Online > IMAP.AccessAsApp (application) and grant admin "
	        "consent. Then in Exchange Online PowerShell (Connect-ExchangeOnline):\n"
	        "  New-ServicePrincipal -AppId %s -ObjectId <ObjectId under Entra ID > "
	        "Enterprise applications, not App registrations>\n"
	        "  Add-MailboxPermission -Identity %s -User <that ObjectId> -AccessRights "
	        "FullAccess\n"
	        "  Set-CASMailbox -Identity %s -ImapEnabled $true\n"
	        "(New-ServicePrincipal once per tenant; check with Get-ServicePrincipal | fl.)",
	        app, app, c->subject, c->subject);
}

static void imap_login_failed(struct check_ctx *c, const struct mf_err *err)
{
	int m365 = check_is_m365(c);

	if (m365 && err->scope == MF_SCOPE_BATCH) {
		check_graph_failed(c, "get a token for IMAP", err); /* the token endpoint said no */
		return;
	}
	if (err->code == MF_E_AUTH) {
		if (m365) {
			check_fail(c, "The app cannot open the mailbox over IMAP",
			           "XOAUTH2 as %s: %s", c->subject, err->msg);
			remedy_app_access(c);
		} else {
			check_fail(c, "The target refused the login",
			           "over IMAP (a generic target has no tenant to ask): %s",
			           err->msg);
			check_remedy(c,
			             "Check the target credentials for line %u of the CSV "
			             "(TargetUserName/TargetPassword, or the target admin account) "
			             "and that the mailbox exists on the target.",
			             c->row ? c->row->line : 0);
		}
		return;
	}
	if (m365 && (err->code == MF_E_CLOSED || err->code == MF_E_PROTO)) {
		/* the server accepted the token, then would not open the mailbox
		 * and dropped us (Dovecot: "Internal login failure"); or the
		 * network dropped the connection */
		check_fail(c, "The target closed the connection at the XOAUTH2 login",
		           "XOAUTH2 as %s: %s", c->subject, err->msg);
		remedy_app_access(c);
		check_remedy_add(c, "(If other mailboxes log in, the network is fine and this "
		                    "mailbox is the one the app may not open.)");
		return;
	}
	check_fail(c, "Cannot reach the target", "%s", err->msg);
	check_remedy(c, "See step 6 (endpoint.target): the target must be reachable with TLS.");
}

void check_users_imap(struct check_ctx *c)
{
	struct imap_conn *conn = NULL;
	struct mf_err err;

	if (check_imap_open(c, 0, &conn, &err)) {
		imap_login_failed(c, &err);
		return;
	}
	if (imap_select(conn, "INBOX", 0, &err)) {
		check_fail(c, "Logged in, but INBOX cannot be opened", "%s", err.msg);
		if (check_is_m365(c))
			remedy_app_access(c);
		else
			check_remedy(c, "Check that the target account owns this mailbox.");
	} else if (check_is_m365(c)) {
		check_pass(
		        c, "The app opens the mailbox over IMAP",
		        "XOAUTH2 as %s with an app-only token, then SELECT INBOX (%u messages) in "
		        "%ld ms: IMAP.AccessAsApp, the service principal and FullAccess are in "
		        "place",
		        c->subject, imap_selected_state(conn)->exists, imap_login_ms(conn));
	} else {
		check_pass(c, "Logs in at the target and opens INBOX",
		           "over IMAP (a generic target has no tenant to ask): SELECT INBOX (%u "
		           "messages), login in %ld ms",
		           imap_selected_state(conn)->exists, imap_login_ms(conn));
	}
	check_imap_close(c, 0, conn);
}
