/* mailferry - the eleven steps and the table of checks
 *
 * To add a check: write a small function (void fn(struct check_ctx *)) in
 * the file of its step (src/checks/stepN_*.c), declare it in checks_list.h,
 * and add a line to check_table below, in the order the wizard shows them.
 */
#include "config.h"

#include <stddef.h>

#include "checks.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"

static const struct {
	const char *title;
	const char *purpose;
} steps[MF_STEPS + 1] = {
	{NULL, NULL},
	{"Add users and assign licenses",
	 "Every target mailbox exists and is licensed for Exchange Online, and the app can reach it."},
	{"Prepare the IMAP source and verify domains",
	 "The source is reachable with sound TLS; every domain of the list is verified in the "
	 "tenant."},
	{"Communicate changes to users",
	 "Who is affected and how big each mailbox is; a notice delivered into each source INBOX."},
	{"Admin credentials or user passwords",
	 "Every row of the list can log in at the source (admin forms included)."},
	{"Create the list of mailboxes",
	 "The CSV follows Microsoft's format: EmailAddress, UserName, Password [, UserRoot]."},
	{"Connect to the source (migration endpoint)",
	 "Server, port, security and authentication, tested live."},
	{"Migrate mailboxes and verify",
	 "Copy the mail, watch every mailbox, then verify that nothing was lost."},
	{"Optimize (optional)",
	 "MX TTL lowered ahead of the cut-over; the source takes the chosen concurrency."},
	{"Change the MX record", "Each domain's MX points at Microsoft 365 (or the new server)."},
	{"Verify routing",
	 "Every resolver sees the new MX; a final delta ran after the change; nothing new at the "
	 "source."},
	{"Inform users", "Welcome message, batch report, stored credentials wiped."},
};

const char *checks_step_title(int step)
{
	return step >= 1 && step <= MF_STEPS ? steps[step].title : NULL;
}

const char *checks_step_purpose(int step)
{
	return step >= 1 && step <= MF_STEPS ? steps[step].purpose : NULL;
}

const struct check_def check_table[] = {
	{4, "credentials.source", CHK_MAILBOX, check_credentials_source},
	{5, "csv.valid", CHK_BATCH, check_csv_valid},
	{6, "endpoint.source", CHK_BATCH, check_endpoint_source},
};

const size_t check_table_len = sizeof(check_table) / sizeof(check_table[0]);
