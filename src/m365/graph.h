/* mailferry - a Microsoft Graph v1.0 client for the prerequisite checks
 *
 * What the wizard asks the tenant (application permissions in brackets):
 *   users by UPN, else by proxy address     GET /users/{upn}, /users?$filter=
 *                                            proxyAddresses/any(...)   [User.Read.All]
 *   licences and their service plans         GET /users/{id}/licenseDetails
 *   does the user have a mailbox             GET /users/{id}/mailboxSettings
 *                                            (404/403 MailboxNotEnabledForRESTAPI:
 *                                            no)                 [MailboxSettings.Read]
 *   domains, verified, for Email             GET /domains          [Domain.Read.All]
 *   the exact MX / SPF Microsoft expects     GET /domains/{d}/serviceConfigurationRecords
 *
 * Behaviour every call shares:
 *  - a bearer token for the Graph scope comes from the borrowed oauth client
 *    (cached there); a 401 InvalidAuthenticationToken drops it and retries
 *    once with a new one;
 *  - 429 and 503 (and 504) are retried after Retry-After seconds, or with
 *    exponential backoff (1 s, 2 s, 4 s, ...) when the header is absent, at
 *    most max_retries times and never for longer than max_wait_ms at a time;
 *    the wait is cut short (MF_E_CANCEL) as soon as *cancel becomes non-zero;
 *  - collections are followed through @odata.nextLink, at most max_pages
 *    pages, and only while the link stays on the configured Graph origin (the
 *    token is never sent elsewhere);
 *  - errors carry Graph's own error.code and error.message, e.g.
 *    "Request_ResourceNotFound: Resource 'x' does not exist ...", and the
 *    last one stays readable through graph_last_error().
 *
 * Threads: a graph client keeps one HTTP connection and is used by one thread
 * at a time (make one per thread); the oauth client may be shared.
 * Ownership: results are owned by the caller and freed with the matching
 * *_free(); every char * in them is owned by the result (NULL when Graph did
 * not send the property).
 */
#ifndef MF_M365_GRAPH_H
#define MF_M365_GRAPH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct json_doc;
struct json_value;
struct mf_err;
struct oauth_client;

#define GRAPH_DEFAULT_BASE "https://graph.microsoft.com/v1.0"

struct graph_config {
	const char *base_url;     /* NULL: GRAPH_DEFAULT_BASE (sovereign clouds, tests) */
	const char *scope;        /* NULL: "<origin of base_url>/.default" */
	const char *ca_file;      /* NULL: the system's CAs */
	long timeout_ms;          /* per request; 0: the HTTP default */
	unsigned max_retries;     /* throttled retries per call; 0: 4 */
	long max_wait_ms;         /* longest single wait; 0: 120000 (longer: fail with retry_ms) */
	long backoff_ms;          /* first backoff without Retry-After; 0: 1000 */
	unsigned max_pages;       /* pages per collection; 0: 100 */
	const atomic_int *cancel; /* borrowed, optional: non-zero stops waits and requests */
	int allow_plain_loopback; /* tests only */
};

/* Graph's last error: HTTP status, error.code, innerError.code (some errors
 * put the specific code there), error.message, request-id. */
struct graph_error {
	long status;
	char code[64];
	char inner_code[64];
	char message[256];
	char request_id[80];
};

struct graph_client;

/* oauth is borrowed and must outlive the graph client. 0 or -1. */
int graph_client_new(const struct graph_config *cfg, struct oauth_client *oauth,
                     struct graph_client **out, struct mf_err *err);
void graph_client_free(struct graph_client *g);
const struct graph_error *graph_last_error(const struct graph_client *g);
/* Statistics: throttled responses seen (429/503/504) and requests sent. */
unsigned long graph_throttled(const struct graph_client *g);
unsigned long graph_requests(const struct graph_client *g);

/* GET path (relative to the base URL, starting with '/', query escaped
 * already).  On 2xx *out is the parsed body (NULL for an empty one; the
 * caller frees it); otherwise -1 with Graph's error.  extra_headers: NULL or
 * NULL-terminated "Name: value" lines (e.g. "ConsistencyLevel: eventual"). */
int graph_get(struct graph_client *g, const char *path, const char *const *extra_headers,
              struct json_doc **out, struct mf_err *err);
/* Calls fn for each element of "value" on every page of a collection; fn
 * returns 0 to go on or -1 (with err filled) to stop with that error. */
typedef int (*graph_item_fn)(const struct json_value *item, void *arg, struct mf_err *err);
int graph_list(struct graph_client *g, const char *path, const char *const *extra_headers,
               graph_item_fn fn, void *arg, struct mf_err *err);

/* ---------------------------------------------------------------- users */

struct graph_user {
	char *id, *upn, *mail, *display_name;
	char **proxy_addresses; /* "SMTP:primary@x", "smtp:alias@x", ... */
	size_t n_proxy;
	int account_enabled; /* 1, 0, or -1 when not sent */
	int found_by_proxy;  /* 1: the address is not a UPN but a proxy address */
};

/* The user whose UPN is address, or else whose proxyAddresses hold
 * smtp:address.  MF_E_NOTFOUND (scope MF_SCOPE_MAILBOX) when neither. */
int graph_find_user(struct graph_client *g, const char *address, struct graph_user *out,
                    struct mf_err *err);
void graph_user_free(struct graph_user *u);

struct graph_service_plan {
	char *name;       /* servicePlanName, e.g. EXCHANGE_S_STANDARD */
	char *id;         /* servicePlanId */
	char *status;     /* provisioningStatus: Success, Disabled, PendingProvisioning, ... */
	char *applies_to; /* User or Company */
};

struct graph_license {
	char *sku_id, *sku_part_number;
	struct graph_service_plan *plans;
	size_t n_plans;
};

struct graph_licenses {
	struct graph_license *items;
	size_t n;
};

/* licenseDetails of a user (id or UPN), all pages. */
int graph_license_details(struct graph_client *g, const char *user, struct graph_licenses *out,
                          struct mf_err *err);
void graph_licenses_free(struct graph_licenses *l);
/* Whether a service plan gives an Exchange Online mailbox: EXCHANGE_S_* or
 * EXCHANGE_B_* provisioned with status Success, except EXCHANGE_S_FOUNDATION*
 * (in many SKUs, no mailbox) and the archive add-ons EXCHANGE_S_ARCHIVE*. */
int graph_plan_gives_mailbox(const char *name, const char *status);
/* 1 (and *plan, borrowed from l, when plan is not NULL) when a licence holds
 * such a plan, else 0. */
int graph_has_mailbox_plan(const struct graph_licenses *l, const char **plan);

/* Whether the user (id or UPN) has an Exchange Online mailbox: 0 with
 * *exists = 1 (200) or 0 (404/403 MailboxNotEnabledForRESTAPI, Graph's words
 * in graph_last_error()); -1 for any other answer.  purpose (optional) gets
 * the mailbox's userPurpose ("user", "shared", ...) or NULL; caller frees. */
int graph_mailbox_exists(struct graph_client *g, const char *user, int *exists, char **purpose,
                         struct mf_err *err);

/* ---------------------------------------------------------------- domains */

struct graph_domain {
	char *id; /* the domain name */
	int is_verified, is_default, is_initial;
	char **services; /* supportedServices: "Email", "OfficeCommunicationsOnline", ... */
	size_t n_services;
};

int graph_domains(struct graph_client *g, struct graph_domain **out, size_t *n, struct mf_err *err);
void graph_domains_free(struct graph_domain *d, size_t n);
int graph_domain_supports(const struct graph_domain *d, const char *service);

struct graph_dns_record {
	char *record_type;       /* "Mx", "Txt", "CName", "Srv" */
	char *label;             /* the owner name, e.g. contoso.com */
	char *supported_service; /* "Email", ... */
	int64_t ttl;             /* -1 when not sent */
	int is_optional;
	char *mail_exchange;  /* Mx */
	int64_t preference;   /* Mx; -1 when not sent */
	char *text;           /* Txt (the SPF record) */
	char *canonical_name; /* CName */
};

/* The records Microsoft wants published for a domain. */
int graph_service_records(struct graph_client *g, const char *domain, struct graph_dns_record **out,
                          size_t *n, struct mf_err *err);
void graph_dns_records_free(struct graph_dns_record *r, size_t n);

#endif
