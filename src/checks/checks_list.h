/* mailferry - every check function (registered in registry.c) */
#ifndef MF_CHECKS_CHECKS_LIST_H
#define MF_CHECKS_CHECKS_LIST_H

struct check_ctx;

/* step 4: admin credentials or user passwords */
void check_credentials_source(struct check_ctx *c);
/* step 5: the list of mailboxes */
void check_csv_valid(struct check_ctx *c);
/* step 6: the migration endpoint */
void check_endpoint_source(struct check_ctx *c);

#endif
