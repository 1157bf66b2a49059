/* mailferry - OAuth2 client-credentials tokens from the Microsoft identity platform
 *
 * An application registered in the tenant gets app-only access tokens from
 * {authority}/{tenant}/oauth2/v2.0/token with grant_type=client_credentials,
 * one token per resource: scope https://graph.microsoft.com/.default for
 * Graph, https://outlook.office365.com/.default for IMAP (XOAUTH2).  It
 * proves who it is with a client secret or with a certificate (a JWT client
 * assertion, see m365/jwt.h; PS256 + x5t#S256 by default, RS256 + x5t on
 * request).  The authority is configurable for sovereign clouds and tests.
 *
 * Tokens are cached per scope and refreshed before they expire: a cached
 * token is handed out while more than max(10% of its lifetime, min(5 minutes,
 * a quarter of its lifetime)) remains, so a 60-minute token is replaced when
 * 6 minutes are left and every new IMAP login of a 24-hour migration gets a
 * token that is still good.  The cache is thread-safe: when several threads
 * need a fresh token at once, one asks the server and the others wait for it
 * (or keep using the current token while it is still comfortably valid).
 *
 * Secrets: the client secret, the signed assertion and the tokens are struct
 * mf_secret (never logged, wiped when freed).  A refused request reports
 * Microsoft's own error and error_description ("invalid_client: AADSTS7000215:
 * Invalid client secret provided. ...") and never the secret.
 *
 * Ownership: oauth_client_new() copies everything it needs from the config;
 * tokens handed out are new secrets the caller frees with secret_free().
 */
#ifndef MF_M365_OAUTH_H
#define MF_M365_OAUTH_H

#include <stdint.h>

#include "m365/jwt.h"

struct mf_err;
struct mf_secret;

#define OAUTH_DEFAULT_AUTHORITY "https://login.microsoftonline.com"
#define OAUTH_SCOPE_GRAPH       "https://graph.microsoft.com/.default"
#define OAUTH_SCOPE_IMAP        "https://outlook.office365.com/.default"

struct oauth_config {
	const char *authority; /* NULL: OAUTH_DEFAULT_AUTHORITY (no trailing '/') */
	const char *tenant;    /* tenant ID (GUID) or a domain, e.g. contoso.onmicrosoft.com */
	const char *client_id; /* the application (client) ID */
	/* Exactly one credential: */
	const struct mf_secret *client_secret; /* borrowed (copied) */
	const char *cert_file;                 /* PEM certificate registered with the application */
	const char *key_file;                  /* PEM RSA private key; NULL: it is in cert_file */
	const struct mf_secret *key_passphrase; /* borrowed, optional */
	enum jwt_alg alg;                       /* JWT_PS256 (default) or JWT_RS256 */
	/* Transport: */
	const char *ca_file;      /* NULL: the system's CAs */
	long timeout_ms;          /* 0: the HTTP default */
	int allow_plain_loopback; /* tests only: http:// to 127.0.0.1 */
};

struct oauth_client;

/* Checks and copies the configuration, loads the certificate and key.
 * 0 or -1 (MF_E_CONFIG with scope MF_SCOPE_BATCH, MF_E_NOMEM). */
int oauth_client_new(const struct oauth_config *cfg, struct oauth_client **out, struct mf_err *err);
void oauth_client_free(struct oauth_client *c);

/* A token for scope that stays valid for a while, from the cache or from
 * the server.  *token is a new secret the caller frees.  Errors: MF_E_AUTH
 * (scope MF_SCOPE_BATCH) when Microsoft refused the credentials or the scope,
 * with its error text; MF_E_THROTTLE / MF_E_HTTP (scope MF_SCOPE_CONN,
 * retry_ms from Retry-After) for 429 and 5xx; the transport's errors. */
int oauth_token(struct oauth_client *c, const char *scope, struct mf_secret **token,
                struct mf_err *err);
/* Drops the cached token for scope if it is still `token` (a server refused
 * it; NULL: whatever is cached), so the next oauth_token() asks for a new
 * one.  A token another thread already renewed is kept. */
void oauth_forget(struct oauth_client *c, const char *scope, const struct mf_secret *token);
/* Token requests sent to the server so far (for diagnostics and tests). */
unsigned long oauth_requests_sent(const struct oauth_client *c);
/* The token endpoint URL ({authority}/{tenant}/oauth2/v2.0/token); owned by c. */
const char *oauth_token_url(const struct oauth_client *c);

/* Seconds before expiry from which a token of `lifetime_s` is renewed. */
int64_t oauth_refresh_margin_s(int64_t lifetime_s);

/* The SASL XOAUTH2 initial response for IMAP: base64("user=" mailbox
 * "\x01auth=Bearer " token "\x01\x01").  For app-only access `mailbox` is the
 * target mailbox's address.  *out is a new secret.  0 or -1 (MF_E_CONFIG for
 * a mailbox holding control characters, MF_E_NOMEM). */
int oauth_xoauth2(const char *mailbox, const struct mf_secret *token, struct mf_secret **out,
                  struct mf_err *err);

#endif
