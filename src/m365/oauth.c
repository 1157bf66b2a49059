/* mailferry - OAuth2 client-credentials tokens with a per-scope cache */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "m365/jwt.h"
#include "m365/oauth.h"
#include "net/http.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/secret.h"
#include "util/timeutil.h"

#define TOKEN_RESPONSE_LIMIT ((size_t)64 << 10)
#define MAX_LIFETIME_S       86400

/* One cached token.  Entries are allocated one by one and live as long as
 * the client, so a pointer to one stays valid while the lock is dropped. */
struct tok_entry {
	char *scope;             /* owned */
	struct mf_secret *token; /* owned, NULL when none */
	int64_t got_ms, exp_ms;  /* monotonic clock: requested at, expires at */
	int refreshing;          /* a thread is asking the server right now */
};

struct oauth_client {
	char *authority, *tenant, *client_id, *ca_file, *token_url; /* owned */
	struct mf_secret *client_secret;                            /* owned, or NULL */
	struct jwt_signer *signer;                                  /* owned, or NULL */
	enum jwt_alg alg;
	long timeout_ms;
	int allow_plain_loopback;
	atomic_ulong requests;

	pthread_mutex_t lock; /* guards the entries */
	pthread_cond_t changed;
	struct tok_entry **entries;
	size_t n_entries, cap_entries;
};

/* ---------------------------------------------------------------- setup */

static int valid_tenant(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (!n || n > 253)
		return 0;
	for (; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
		      (*t >= '0' && *t <= '9') || *t == '-' || *t == '.' || *t == '_'))
			return 0;
	return 1;
}

static int printable(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int copy_config(struct oauth_client *c, const struct oauth_config *cfg)
{
	const char *auth = cfg->authority ? cfg->authority : OAUTH_DEFAULT_AUTHORITY;
	size_t n = strlen(auth);

	while (n && auth[n - 1] == '/')
		n--;
	c->authority = mf_strndup(auth, n);
	c->tenant = mf_strdup(cfg->tenant);
	c->client_id = mf_strdup(cfg->client_id);
	c->ca_file = cfg->ca_file ? mf_strdup(cfg->ca_file) : NULL;
	c->token_url = c->authority && c->tenant
	                       ? mf_sprintf("%s/%s/oauth2/v2.0/token", c->authority, c->tenant)
	                       : NULL;
	if (!c->authority || !c->tenant || !c->client_id || !c->token_url ||
	    (cfg->ca_file && !c->ca_file))
		return -1;
	if (cfg->client_secret && !(c->client_secret = secret_dup(cfg->client_secret)))
		return -1;
	return 0;
}

int oauth_client_new(const struct oauth_config *cfg, struct oauth_client **out, struct mf_err *err)
{
	struct oauth_client *c;

	*out = NULL;
	if (!valid_tenant(cfg->tenant))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "tenant \"%.100s\" is not a tenant ID or domain name",
		               cfg->tenant ? cfg->tenant : "");
	if (!printable(cfg->client_id))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "no application (client) ID given");
	if (!!cfg->client_secret == !!cfg->cert_file)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "give either a client secret or a certificate (not both)");
	if (cfg->client_secret && !secret_len(cfg->client_secret))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "the client secret is empty");
	c = mf_calloc(1, sizeof(*c));
	if (!c)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->changed, NULL);
	atomic_init(&c->requests, 0);
	c->alg = cfg->alg;
	c->timeout_ms = cfg->timeout_ms;
	c->allow_plain_loopback = cfg->allow_plain_loopback;
	if (copy_config(c, cfg)) {
		oauth_client_free(c);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	if (cfg->cert_file &&
	    jwt_signer_load(cfg->cert_file, cfg->key_file, cfg->key_passphrase, &c->signer, err)) {
		oauth_client_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void oauth_client_free(struct oauth_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_entries; i++) {
		secret_free(c->entries[i]->token);
		free(c->entries[i]->scope);
		free(c->entries[i]);
	}
	free(c->entries);
	secret_free(c->client_secret);
	jwt_signer_free(c->signer);
	free(c->authority);
	free(c->tenant);
	free(c->client_id);
	free(c->ca_file);
	free(c->token_url);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->changed);
	free(c);
}

unsigned long oauth_requests_sent(const struct oauth_client *c)
{
	return atomic_load(&c->requests);
}

const char *oauth_token_url(const struct oauth_client *c)
{
	return c->token_url;
}

int64_t oauth_refresh_margin_s(int64_t lifetime_s)
{
	int64_t quarter = lifetime_s / 4, tenth = lifetime_s / 10;
	int64_t m = quarter < 300 ? quarter : 300;

	return tenth > m ? tenth : m;
}

static int64_t margin_ms(const struct tok_entry *e)
{
	int64_t life = e->exp_ms - e->got_ms;
	int64_t quarter = life / 4, tenth = life / 10;
	int64_t m = quarter < 300000 ? quarter : 300000;

	return tenth > m ? tenth : m;
}

/* ---------------------------------------------------------------- the request */

/* Builds the form body: the credential goes in, so the buffer is reserved
 * generously up front and wiped by the caller. */
static int build_form(struct oauth_client *c, const char *scope, struct mf_buf *form,
                      struct mf_err *err)
{
	struct mf_secret *assertion = NULL;
	int rc;

	if (buf_reserve(form, 16384))
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	if (http_form_add(form, "client_id", c->client_id) || http_form_add(form, "scope", scope) ||
	    http_form_add(form, "grant_type", "client_credentials"))
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	if (c->client_secret)
		return http_form_add(form, "client_secret", secret_str(c->client_secret))
		               ? mf_fail_nomem(err, MF_SCOPE_CONN)
		               : 0;
	if (jwt_client_assertion(c->signer, c->alg, c->token_url, c->client_id, NULL,
	                         (int64_t)time(NULL), &assertion, err))
		return -1;
	rc = http_form_add(form, "client_assertion_type",
	                   "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") ||
	     http_form_add(form, "client_assertion", secret_str(assertion));
	secret_free(assertion);
	return rc ? mf_fail_nomem(err, MF_SCOPE_CONN) : 0;
}

/* Copies Microsoft's text into a message on one line, with any live secret
 * redacted (the identity platform does not echo secrets, but be sure). */
static void one_line(struct mf_buf *m)
{
	size_t o = 0;

	for (size_t i = 0; i < m->len; i++) {
		char ch = m->data[i];

		if (ch == '\r' || ch == '\n' || ch == '\t')
			ch = ' ';
		if (ch == ' ' && o && m->data[o - 1] == ' ')
			continue;
		m->data[o++] = ch;
	}
	m->len = o;
	if (m->data)
		m->data[o] = 0;
}

static int refused(struct oauth_client *c, const struct http_response *resp,
                   const struct json_value *root, struct mf_err *err)
{
	const char *code = json_get_str(root, "error");
	const char *desc = json_get_str(root, "error_description");
	enum mf_errcode ec = MF_E_AUTH;
	enum mf_scope scope = MF_SCOPE_BATCH;
	struct mf_buf m;

	if (resp->status == 429) {
		ec = MF_E_THROTTLE;
		scope = MF_SCOPE_CONN;
	} else if (resp->status >= 500 ||
	           (resp->status != 400 && resp->status != 401 && resp->status != 403)) {
		ec = MF_E_HTTP;
		scope = MF_SCOPE_CONN;
	}
	buf_init(&m, 4096);
	if (code)
		buf_printf(&m, "%s: %s", code, desc ? desc : "(no description)");
	else
		buf_printf(&m, "HTTP %ld%s%s without an OAuth2 error", resp->status,
		           resp->content_type[0] ? " " : "", resp->content_type);
	one_line(&m);
	secret_redact(&m);
	mf_fail(err, scope, ec, "token request for tenant %s refused: %s (HTTP %ld)", c->tenant,
	        m.data ? m.data : "", resp->status);
	if (err && resp->retry_after_s >= 0)
		err->retry_ms = (unsigned long)resp->retry_after_s * 1000;
	buf_free(&m);
	return -1;
}

/* Reads {"token_type":"Bearer","expires_in":3599,"access_token":"..."}. */
static int accepted(struct oauth_client *c, const struct json_value *root, struct mf_secret **tok,
                    int64_t *lifetime_s, struct mf_err *err)
{
	const char *type = json_get_str(root, "token_type");
	const char *access = json_get_str(root, "access_token");
	const struct json_value *exp = json_get(root, "expires_in");
	int64_t life = -1;

	if (!type || strcasecmp(type, "Bearer") || !access || !*access)
		return mf_fail(err, MF_SCOPE_CONN, MF_E_PROTO,
		               "token endpoint of tenant %s answered without a bearer token",
		               c->tenant);
	for (const char *p = access; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return mf_fail(err, MF_SCOPE_CONN, MF_E_PROTO,
			               "token endpoint of tenant %s sent a malformed token",
			               c->tenant);
	/* a number (v2.0) or, from older endpoints, a string of digits */
	if (json_int64(exp, &life) && json_str(exp)) {
		char *end;
		long long v = strtoll(json_str(exp), &end, 10);

		if (!*end && end != json_str(exp))
			life = v;
	}
	if (life <= 0)
		return mf_fail(err, MF_SCOPE_CONN, MF_E_PROTO,
		               "token endpoint of tenant %s sent no valid expires_in", c->tenant);
	*lifetime_s = life > MAX_LIFETIME_S ? MAX_LIFETIME_S : life;
	*tok = secret_new(access, strlen(access));
	return *tok ? 0 : mf_fail_nomem(err, MF_SCOPE_CONN);
}

static int fetch(struct oauth_client *c, const char *scope, struct mf_secret **tok,
                 int64_t *lifetime_s, struct mf_err *err)
{
	static const char *const headers[] = {"Content-Type: application/x-www-form-urlencoded",
	                                      "Accept: application/json", NULL};
	struct http_request req = {
	        .method = "POST",
	        .url = c->token_url,
	        .headers = headers,
	        .ca_file = c->ca_file,
	        .timeout_ms = c->timeout_ms,
	        .max_response = TOKEN_RESPONSE_LIMIT,
	        .allow_plain_loopback = c->allow_plain_loopback,
	};
	struct http_response resp;
	struct json_doc *doc = NULL;
	struct mf_buf form;
	struct mf_err jerr;
	int rc = -1;

	buf_init(&form, 0);
	http_response_init(&resp);
	if (build_form(c, scope, &form, err))
		goto out;
	req.body = form.data;
	req.body_len = form.len;
	atomic_fetch_add(&c->requests, 1);
	log_debug("requesting a token for %s from %s", scope, c->token_url);
	if (http_perform(NULL, &req, &resp, err)) {
		mf_err_prefix(err, "token request: ");
		goto out;
	}
	if (json_parse(resp.body.data ? resp.body.data : "", resp.body.len, NULL, &doc, &jerr) ||
	    json_type(json_root(doc)) != JSON_OBJECT) {
		if (!doc && jerr.code == MF_E_NOMEM)
			mf_fail_nomem(err, MF_SCOPE_CONN);
		else if (resp.status == 200)
			mf_fail(err, MF_SCOPE_CONN, MF_E_PROTO,
			        "token endpoint of tenant %s answered HTTP 200 without JSON",
			        c->tenant);
		else
			refused(c, &resp, NULL, err);
		goto out;
	}
	if (resp.status == 200)
		rc = accepted(c, json_root(doc), tok, lifetime_s, err);
	else
		refused(c, &resp, json_root(doc), err);
out:
	json_free_secure(doc);
	http_response_free(&resp);
	buf_free_secure(&form);
	return rc;
}

/* ---------------------------------------------------------------- the cache */

/* The entry for scope, created when missing. Caller holds the lock. */
static struct tok_entry *entry_for(struct oauth_client *c, const char *scope)
{
	struct tok_entry *e;

	for (size_t i = 0; i < c->n_entries; i++)
		if (!strcmp(c->entries[i]->scope, scope))
			return c->entries[i];
	if (mf_grow(&c->entries, &c->cap_entries, c->n_entries + 1, sizeof(*c->entries)))
		return NULL;
	e = mf_calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->scope = mf_strdup(scope);
	if (!e->scope) {
		free(e);
		return NULL;
	}
	c->entries[c->n_entries++] = e;
	return e;
}

/* Copies the cached token out and drops the lock. */
static int hand_out(struct oauth_client *c, const struct tok_entry *e, struct mf_secret **token,
                    struct mf_err *err)
{
	*token = secret_dup(e->token);
	pthread_mutex_unlock(&c->lock);
	return *token ? 0 : mf_fail_nomem(err, MF_SCOPE_CONN);
}

int oauth_token(struct oauth_client *c, const char *scope, struct mf_secret **token,
                struct mf_err *err)
{
	struct mf_secret *fresh = NULL;
	struct tok_entry *e;
	int64_t life_s = 0, t0;
	int rc;

	*token = NULL;
	if (!printable(scope))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "no token scope given");
	pthread_mutex_lock(&c->lock);
	for (;;) {
		int64_t now = mono_ms();

		e = entry_for(c, scope);
		if (!e) {
			pthread_mutex_unlock(&c->lock);
			return mf_fail_nomem(err, MF_SCOPE_CONN);
		}
		if (e->token && now < e->exp_ms - margin_ms(e))
			return hand_out(c, e, token, err);
		if (!e->refreshing)
			break;
		/* Someone is already asking: the current token will do while it
		 * is still comfortably valid, else wait for the new one. */
		if (e->token && now < e->exp_ms - margin_ms(e) / 2)
			return hand_out(c, e, token, err);
		pthread_cond_wait(&c->changed, &c->lock);
	}
	e->refreshing = 1;
	pthread_mutex_unlock(&c->lock);

	t0 = mono_ms(); /* the lifetime counts from before the request */
	rc = fetch(c, scope, &fresh, &life_s, err);

	pthread_mutex_lock(&c->lock);
	e->refreshing = 0;
	if (!rc) {
		secret_free(e->token);
		e->token = fresh;
		e->got_ms = t0;
		e->exp_ms = t0 + life_s * 1000;
		log_info("new token for %s (tenant %s), valid %lld s", scope, c->tenant,
		         (long long)life_s);
	}
	pthread_cond_broadcast(&c->changed);
	if (!rc)
		return hand_out(c, e, token, err);
	pthread_mutex_unlock(&c->lock);
	return -1;
}

void oauth_forget(struct oauth_client *c, const char *scope, const struct mf_secret *token)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_entries; i++) {
		struct tok_entry *e = c->entries[i];

		if (strcmp(e->scope, scope) || !e->token)
			continue;
		if (!token ||
		    (secret_len(e->token) == secret_len(token) &&
		     !CRYPTO_memcmp(secret_str(e->token), secret_str(token), secret_len(token)))) {
			secret_free(e->token);
			e->token = NULL;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

/* ---------------------------------------------------------------- XOAUTH2 */

int oauth_xoauth2(const char *mailbox, const struct mf_secret *token, struct mf_secret **out,
                  struct mf_err *err)
{
	const char *tok = secret_str(token);
	size_t ml, tl = secret_len(token), n;
	struct mf_buf b;
	char *raw;

	*out = NULL;
	if (!printable(mailbox) || !printable(tok) || strchr(tok, ' '))
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CONFIG,
		               "XOAUTH2 needs a mailbox address and a token without control "
		               "characters");
	ml = strlen(mailbox);
	n = 5 + ml + 1 + 12 + tl + 2;
	raw = mf_malloc(n);
	if (!raw)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	memcpy(raw, "user=", 5);
	memcpy(raw + 5, mailbox, ml);
	memcpy(raw + 5 + ml, "\001auth=Bearer ", 13);
	memcpy(raw + 5 + ml + 13, tok, tl);
	memcpy(raw + 5 + ml + 13 + tl, "\001\001", 2);
	buf_init(&b, 0);
	if (!jwt_base64(&b, raw, n, 0))
		*out = secret_new(b.data, b.len);
	OPENSSL_cleanse(raw, n);
	free(raw);
	buf_free_secure(&b);
	return *out ? 0 : mf_fail_nomem(err, MF_SCOPE_CONN);
}
