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
        {"Add users and assign licenses", "Every target mailbox exists and is licensed for "
                                          "Exchange Online, and the app can reach it."},
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
        {1, "users.exists", CHK_MAILBOX, check_users_exists},
        {1, "users.license", CHK_MAILBOX, check_users_license},
        {1, "users.mailbox", CHK_MAILBOX, check_users_mailbox},
        {1, "users.imap", CHK_MAILBOX, check_users_imap},
        {2, "source.reach", CHK_BATCH, check_source_reach},
        {2, "source.tls", CHK_BATCH, check_source_tls},
        {2, "source.server", CHK_BATCH, check_source_server},
        {2, "domains.tenant", CHK_DOMAIN, check_domains_tenant},
        {2, "domains.txt", CHK_DOMAIN, check_domains_txt},
        {3, "census.mailbox", CHK_MAILBOX, check_census_mailbox},
        {3, "notice.template", CHK_BATCH, check_notice_template},
        {4, "credentials.source", CHK_MAILBOX, check_credentials_source},
        {5, "csv.valid", CHK_BATCH, check_csv_valid},
        {5, "csv.domains", CHK_BATCH, check_csv_domains},
        {6, "endpoint.source", CHK_BATCH, check_endpoint_source},
        {6, "endpoint.target", CHK_BATCH, check_endpoint_target},
        {6, "endpoint.curl", CHK_BATCH, check_endpoint_curl},
        {7, "migration.state", CHK_MAILBOX, check_migration_state},
        {8, "dns.mx_ttl", CHK_DOMAIN, check_dns_mx_ttl},
        {8, "source.concurrency", CHK_BATCH, check_source_concurrency},
        {9, "dns.mx", CHK_DOMAIN, check_dns_mx},
        {9, "dns.spf", CHK_DOMAIN, check_dns_spf},
        {9, "dns.autodiscover", CHK_DOMAIN, check_dns_autodiscover},
        {10, "dns.mx_resolvers", CHK_DOMAIN, check_dns_mx_resolvers},
        {10, "migration.final_delta", CHK_BATCH, check_migration_final_delta},
        {10, "source.quiet", CHK_MAILBOX, check_source_quiet},
        {11, "welcome.template", CHK_BATCH, check_welcome_template},
        {11, "finish.credentials", CHK_BATCH, check_finish_credentials},
};

const size_t check_table_len = sizeof(check_table) / sizeof(check_table[0]);
