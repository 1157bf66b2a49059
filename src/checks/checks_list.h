/* mailferry - every check function (registered in registry.c) */
#ifndef MF_CHECKS_CHECKS_LIST_H
#define MF_CHECKS_CHECKS_LIST_H

struct check_ctx;

/* step 1: users and licenses (per mailbox) */
void check_users_exists(struct check_ctx *c);
void check_users_license(struct check_ctx *c);
void check_users_mailbox(struct check_ctx *c);
void check_users_imap(struct check_ctx *c);
/* step 2: the source (batch) and the domains (per domain) */
void check_source_reach(struct check_ctx *c);
void check_source_tls(struct check_ctx *c);
void check_source_server(struct check_ctx *c);
void check_domains_tenant(struct check_ctx *c);
void check_domains_txt(struct check_ctx *c);
/* step 3: communicate */
void check_census_mailbox(struct check_ctx *c);
void check_notice_template(struct check_ctx *c);
/* step 4: admin credentials or user passwords */
void check_credentials_source(struct check_ctx *c);
/* step 5: the list of mailboxes */
void check_csv_valid(struct check_ctx *c);
void check_csv_domains(struct check_ctx *c);
/* step 6: the migration endpoint */
void check_endpoint_source(struct check_ctx *c);
void check_endpoint_target(struct check_ctx *c);
void check_endpoint_curl(struct check_ctx *c);
/* step 7: migrate and verify */
void check_migration_state(struct check_ctx *c);
/* step 8: optimize */
void check_dns_mx_ttl(struct check_ctx *c);
void check_source_concurrency(struct check_ctx *c);
/* step 9: the MX record (per domain) */
void check_dns_mx(struct check_ctx *c);
void check_dns_spf(struct check_ctx *c);
void check_dns_autodiscover(struct check_ctx *c);
/* step 10: routing */
void check_dns_mx_resolvers(struct check_ctx *c);
void check_migration_final_delta(struct check_ctx *c);
void check_source_quiet(struct check_ctx *c);
/* step 11: inform users */
void check_welcome_template(struct check_ctx *c);
void check_finish_credentials(struct check_ctx *c);

#endif
