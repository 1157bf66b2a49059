/* mailferry - Microsoft Graph v1.0 client for the prerequisite checks */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "m365/graph.h"
#include "m365/oauth.h"
#include "net/http.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/secret.h"
#include "util/timeutil.h"

#define USER_SELECT       "id,userPrincipalName,mail,proxyAddresses,accountEnabled,displayName"
#define MAX_EXTRA_HEADERS 8

struct graph_client {
	char *base;    /* owned: base URL without a trailing '/' */
	char *origin;  /* owned: scheme://host[:port] of base; nextLinks must stay on it */
	char *scope;   /* owned */
	char *ca_file; /* owned, or NULL */
	long timeout_ms, max_wait_ms, backoff_ms;
	unsigned max_retries, max_pages;
	const atomic_int *cancel; /* borrowed */
	int allow_plain_loopback;
	struct oauth_client *oauth; /* borrowed */
	struct http_client *http;   /* owned */
	struct graph_error last;
	unsigned long throttled, requests;
};

/* ---------------------------------------------------------------- setup */

int graph_client_new(const struct graph_config *cfg, struct oauth_client *oauth,
                     struct graph_client **out, struct mf_err *err)
{
	const char *base = cfg->base_url ? cfg->base_url : GRAPH_DEFAULT_BASE;
	const char *host, *slash;
	struct graph_client *g;
	size_t n = strlen(base);

	*out = NULL;
	while (n && base[n - 1] == '/')
		n--;
	host = strstr(base, "://");
	if (!host || (strncmp(base, "https://", 8) && strncmp(base, "http://", 7)) ||
	    host + 3 >= base + n)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		               "Graph base URL \"%.200s\" is not an https:// URL", base);
	slash = memchr(host + 3, '/', (size_t)(base + n - (host + 3)));
	g = mf_calloc(1, sizeof(*g));
	if (!g)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	g->base = mf_strndup(base, n);
	g->origin = mf_strndup(base, slash ? (size_t)(slash - base) : n);
	g->scope = cfg->scope  ? mf_strdup(cfg->scope)
	           : g->origin ? mf_sprintf("%s/.default", g->origin)
	                       : NULL;
	g->ca_file = cfg->ca_file ? mf_strdup(cfg->ca_file) : NULL;
	g->http = http_client_new();
	if (!g->base || !g->origin || !g->scope || (cfg->ca_file && !g->ca_file) || !g->http) {
		graph_client_free(g);
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	}
	g->timeout_ms = cfg->timeout_ms;
	g->max_retries = cfg->max_retries ? cfg->max_retries : 4;
	g->max_wait_ms = cfg->max_wait_ms > 0 ? cfg->max_wait_ms : 120000;
	g->backoff_ms = cfg->backoff_ms > 0 ? cfg->backoff_ms : 1000;
	g->max_pages = cfg->max_pages ? cfg->max_pages : 100;
	g->cancel = cfg->cancel;
	g->allow_plain_loopback = cfg->allow_plain_loopback;
	g->oauth = oauth;
	*out = g;
	return 0;
}

void graph_client_free(struct graph_client *g)
{
	if (!g)
		return;
	http_client_free(g->http);
	free(g->base);
	free(g->origin);
	free(g->scope);
	free(g->ca_file);
	free(g);
}

const struct graph_error *graph_last_error(const struct graph_client *g)
{
	return &g->last;
}

unsigned long graph_throttled(const struct graph_client *g)
{
	return g->throttled;
}

unsigned long graph_requests(const struct graph_client *g)
{
	return g->requests;
}

/* ---------------------------------------------------------------- one request */

static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	for (; src && *src && i + 1 < cap; src++)
		dst[i++] = (*src == '\r' || *src == '\n' || *src == '\t') ? ' ' : *src;
	dst[i] = 0;
}

/* The path of a URL without origin and query, for messages. */
static void shown_path(const struct graph_client *g, const char *url, char *out, size_t cap)
{
	size_t ol = strlen(g->origin), n;

	if (!strncmp(url, g->origin, ol))
		url += ol;
	n = strcspn(url, "?");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, url, n);
	out[n] = 0;
}

/* Sends one GET with a bearer token.  *tok gets the token used (caller frees). */
static int g_send(struct graph_client *g, const char *url, const char *const *extra,
                  struct http_response *resp, struct mf_secret **tok, struct mf_err *err)
{
	const char *hdrs[MAX_EXTRA_HEADERS + 3];
	struct http_request req = {
	        .url = url,
	        .headers = hdrs,
	        .ca_file = g->ca_file,
	        .timeout_ms = g->timeout_ms,
	        .cancel = g->cancel,
	        .allow_plain_loopback = g->allow_plain_loopback,
	};
	struct mf_buf auth;
	size_t h = 0;
	int rc;

	if (oauth_token(g->oauth, g->scope, tok, err))
		return -1;
	buf_init(&auth, 0);
	if (buf_reserve(&auth, 32 + secret_len(*tok)) ||
	    buf_printf(&auth, "Authorization: Bearer %s", secret_str(*tok))) {
		buf_free_secure(&auth);
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	}
	hdrs[h++] = auth.data;
	hdrs[h++] = "Accept: application/json";
	for (size_t i = 0; extra && extra[i] && i < MAX_EXTRA_HEADERS; i++)
		hdrs[h++] = extra[i];
	hdrs[h] = NULL;
	g->requests++;
	rc = http_perform(g->http, &req, resp, err);
	buf_free_secure(&auth);
	return rc;
}

/* Reads {"error":{"code":...,"message":...,"innerError":{...}}} into g->last.
 * A body that is not such JSON leaves the codes empty; -1 only when there was
 * no memory to read it (the caller must not guess what the error was). */
static int g_read_error(struct graph_client *g, const struct http_response *resp)
{
	struct json_doc *doc = NULL;
	const struct json_value *e, *inner;
	struct mf_err jerr = {0};

	memset(&g->last, 0, sizeof(g->last));
	g->last.status = resp->status;
	copy_text(g->last.request_id, sizeof(g->last.request_id), resp->request_id);
	if (json_parse(resp->body.data ? resp->body.data : "", resp->body.len, NULL, &doc, &jerr))
		return jerr.code == MF_E_NOMEM ? -1 : 0;
	e = json_get(json_root(doc), "error");
	inner = json_get(e, "innerError");
	if (!inner)
		inner = json_get(e, "innererror");
	copy_text(g->last.code, sizeof(g->last.code), json_get_str(e, "code"));
	copy_text(g->last.inner_code, sizeof(g->last.inner_code), json_get_str(inner, "code"));
	copy_text(g->last.message, sizeof(g->last.message), json_get_str(e, "message"));
	if (!g->last.request_id[0])
		copy_text(g->last.request_id, sizeof(g->last.request_id),
		          json_get_str(inner, "request-id"));
	json_free(doc);
	return 0;
}

static int g_fail(struct graph_client *g, const char *url, struct mf_err *err)
{
	const struct graph_error *l = &g->last;
	enum mf_errcode code = MF_E_HTTP;
	enum mf_scope scope = MF_SCOPE_CONN;
	char path[200];

	if (l->status == 404) {
		code = MF_E_NOTFOUND;
		scope = MF_SCOPE_MAILBOX;
	} else if (l->status == 401 || l->status == 403) {
		code = MF_E_AUTH;
		scope = MF_SCOPE_BATCH;
	} else if (l->status == 429 || l->status == 503 || l->status == 504) {
		code = MF_E_THROTTLE;
	} else if (l->status >= 400 && l->status < 500) {
		scope = MF_SCOPE_BATCH;
	}
	shown_path(g, url, path, sizeof(path));
	mf_fail(err, scope, code, "Graph GET %s: %s%s%s (HTTP %ld%s%s)", path,
	        l->code[0] ? l->code : "error", l->message[0] ? ": " : "", l->message, l->status,
	        l->request_id[0] ? ", request-id " : "", l->request_id);
	return -1;
}

/* Sits out ms, in slices, unless *cancel is raised. */
static int g_wait(struct graph_client *g, long ms, struct mf_err *err)
{
	int64_t end = mono_ms() + ms;

	for (;;) {
		int64_t left;

		if (g->cancel && atomic_load(g->cancel))
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_CANCEL,
			               "cancelled while waiting for Microsoft Graph");
		left = end - mono_ms();
		if (left <= 0)
			return 0;
		sleep_ms(left < 50 ? (long)left : 50);
	}
}

static int retryable_transport(const struct mf_err *e)
{
	return e->code == MF_E_CONNECT || e->code == MF_E_TIMEOUT || e->code == MF_E_CLOSED ||
	       e->code == MF_E_IO;
}

/* How long to wait before the next attempt, or -1 when retries are used up
 * or the server asks for a wait longer than we accept (err then says so). */
static long g_backoff(struct graph_client *g, const struct http_response *resp, unsigned attempt,
                      const char *url, struct mf_err *err)
{
	long wait;

	if (attempt >= g->max_retries)
		return -1;
	if (resp && resp->retry_after_s >= 0)
		wait = resp->retry_after_s * 1000;
	else
		wait = g->backoff_ms << (attempt < 16 ? attempt : 16);
	if (wait > g->max_wait_ms) {
		if (resp)
			g_fail(g, url, err);
		if (err) {
			mf_err_prefix(err, "asked to wait %ld s: ", wait / 1000);
			err->retry_ms = (unsigned long)wait;
		}
		return -2;
	}
	return wait;
}

/* GET url with retries; on 2xx *out holds the body (NULL when empty). */
static int g_call(struct graph_client *g, const char *url, const char *const *extra,
                  struct json_doc **out, struct mf_err *err)
{
	struct http_response resp;
	struct mf_secret *tok = NULL;
	unsigned attempt = 0;
	int reauthed = 0, rc = -1;
	long wait;
	char path[200];

	*out = NULL;
	http_response_init(&resp);
	shown_path(g, url, path, sizeof(path));
	for (;;) {
		secret_free(tok);
		tok = NULL;
		if (g_send(g, url, extra, &resp, &tok, err)) {
			if (!err || !retryable_transport(err) || !tok)
				goto out;
			wait = g_backoff(g, NULL, attempt++, url, NULL);
			if (wait < 0)
				goto out;
			log_info("Graph GET %s: %s; retrying in %ld ms", path, err->msg, wait);
			if (g_wait(g, wait, err))
				goto out;
			continue;
		}
		if (resp.status >= 200 && resp.status < 300)
			break;
		if (g_read_error(g, &resp)) {
			mf_fail_nomem(err, MF_SCOPE_CONN);
			goto out;
		}
		if (resp.status == 401 && !reauthed) {
			/* the token may have been revoked or expired early */
			oauth_forget(g->oauth, g->scope, tok);
			reauthed = 1;
			continue;
		}
		if (resp.status != 429 && resp.status != 503 && resp.status != 504) {
			g_fail(g, url, err);
			goto out;
		}
		g->throttled++;
		wait = g_backoff(g, &resp, attempt++, url, err);
		if (wait == -1) {
			g_fail(g, url, err);
			if (err && resp.retry_after_s >= 0)
				err->retry_ms = (unsigned long)resp.retry_after_s * 1000;
			goto out;
		}
		if (wait < 0)
			goto out;
		log_info("Graph GET %s: HTTP %ld, waiting %ld ms (%s)", path, resp.status, wait,
		         resp.retry_after_s >= 0 ? "Retry-After" : "backoff");
		if (g_wait(g, wait, err))
			goto out;
	}
	memset(&g->last, 0, sizeof(g->last));
	g->last.status = resp.status;
	if (resp.body.len && json_parse(resp.body.data, resp.body.len, NULL, out, err)) {
		mf_err_prefix(err, "Graph GET %s: ", path);
		mf_err_widen(err, MF_SCOPE_CONN);
		goto out;
	}
	rc = 0;
out:
	secret_free(tok);
	http_response_free(&resp);
	return rc;
}

int graph_get(struct graph_client *g, const char *path, const char *const *extra_headers,
              struct json_doc **out, struct mf_err *err)
{
	char *url = mf_sprintf("%s%s", g->base, path);
	int rc;

	*out = NULL;
	if (!url)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	rc = g_call(g, url, extra_headers, out, err);
	free(url);
	return rc;
}

int graph_list(struct graph_client *g, const char *path, const char *const *extra_headers,
               graph_item_fn fn, void *arg, struct mf_err *err)
{
	char *url = mf_sprintf("%s%s", g->base, path), *next;
	size_t ol = strlen(g->origin);
	struct json_doc *doc = NULL;
	const struct json_value *value;
	const char *link;
	unsigned pages = 0;
	int rc = -1;

	if (!url)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	for (;;) {
		if (pages++ >= g->max_pages) {
			mf_fail(err, MF_SCOPE_CONN, MF_E_TOOBIG, "Graph GET %s: more than %u pages",
			        path, g->max_pages);
			goto out;
		}
		if (g_call(g, url, extra_headers, &doc, err))
			goto out;
		value = json_get(json_root(doc), "value");
		if (json_type(value) != JSON_ARRAY) {
			mf_fail(err, MF_SCOPE_CONN, MF_E_PROTO,
			        "Graph GET %s: the answer has no \"value\" list", path);
			goto out;
		}
		for (size_t i = 0; i < json_count(value); i++)
			if (fn(json_at(value, i), arg, err))
				goto out;
		link = json_get_str(json_root(doc), "@odata.nextLink");
		if (!link)
			break;
		/* the bearer token goes with the request: stay on our Graph */
		if (strncmp(link, g->origin, ol) || link[ol] != '/') {
			mf_fail(err, MF_SCOPE_CONN, MF_E_PROTO,
			        "Graph GET %s: @odata.nextLink leaves %s", path, g->origin);
			goto out;
		}
		next = mf_strdup(link);
		if (!next) {
			mf_fail_nomem(err, MF_SCOPE_CONN);
			goto out;
		}
		free(url);
		url = next;
		json_free(doc);
		doc = NULL;
	}
	rc = 0;
out:
	json_free(doc);
	free(url);
	return rc;
}

/* ---------------------------------------------------------------- copying results */

/* A copy of s (NULL stays NULL); sets *bad when out of memory. */
static char *dup_opt(const char *s, int *bad)
{
	char *d;

	if (!s)
		return NULL;
	d = mf_strdup(s);
	if (!d)
		*bad = 1;
	return d;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Copies the strings of a JSON array (other elements are skipped). */
static int dup_strv(const struct json_value *arr, char ***out, size_t *n)
{
	size_t count = json_count(arr), k = 0;
	char **v;

	*out = NULL;
	*n = 0;
	if (!count)
		return 0;
	v = mf_calloc(count, sizeof(*v));
	if (!v)
		return -1;
	for (size_t i = 0; i < count; i++) {
		const char *s = json_str(json_at(arr, i));

		if (!s)
			continue;
		v[k] = mf_strdup(s);
		if (!v[k]) {
			free_strv(v, k);
			return -1;
		}
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

static int printable_address(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > 320)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* "/users/" + the escaped id + suffix */
static char *user_path(const char *user, const char *suffix)
{
	struct mf_buf b;

	buf_init(&b, 4096);
	if (buf_puts(&b, "/users/") || http_escape(&b, user, strlen(user), "@") ||
	    buf_puts(&b, suffix)) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* ---------------------------------------------------------------- users */

void graph_user_free(struct graph_user *u)
{
	if (!u)
		return;
	free(u->id);
	free(u->upn);
	free(u->mail);
	free(u->display_name);
	free_strv(u->proxy_addresses, u->n_proxy);
	memset(u, 0, sizeof(*u));
	u->account_enabled = -1;
}

static int read_user(const struct json_value *o, struct graph_user *u, struct mf_err *err)
{
	int bad = 0, enabled;

	u->id = dup_opt(json_get_str(o, "id"), &bad);
	u->upn = dup_opt(json_get_str(o, "userPrincipalName"), &bad);
	u->mail = dup_opt(json_get_str(o, "mail"), &bad);
	u->display_name = dup_opt(json_get_str(o, "displayName"), &bad);
	u->account_enabled = json_get_bool(o, "accountEnabled", &enabled) ? -1 : enabled;
	if (bad || dup_strv(json_get(o, "proxyAddresses"), &u->proxy_addresses, &u->n_proxy)) {
		graph_user_free(u);
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	}
	if (!u->id) {
		graph_user_free(u);
		return mf_fail(err, MF_SCOPE_CONN, MF_E_PROTO, "Graph sent a user without an id");
	}
	return 0;
}

struct proxy_search {
	struct graph_user *out;
	size_t matches;
};

static int on_proxy_match(const struct json_value *item, void *arg, struct mf_err *err)
{
	struct proxy_search *ps = arg;

	if (ps->matches++)
		return 0; /* counted; the first one is kept */
	return read_user(item, ps->out, err);
}

/* "proxyAddresses/any(x:x eq 'smtp:<address>')" with OData quoting ('' for '). */
static char *proxy_filter_path(const char *address)
{
	struct mf_buf f, b;
	char *path = NULL;

	buf_init(&f, 4096);
	buf_init(&b, 8192);
	if (buf_puts(&f, "proxyAddresses/any(x:x eq 'smtp:"))
		goto out;
	for (const char *p = address; *p; p++)
		if ((*p == '\'' && buf_putc(&f, '\'')) || buf_putc(&f, *p))
			goto out;
	if (buf_puts(&f, "')") || buf_puts(&b, "/users?$filter=") ||
	    http_escape(&b, f.data, f.len, "@:'()/") ||
	    buf_puts(&b, "&$select=" USER_SELECT "&$count=true"))
		goto out;
	path = buf_steal(&b);
out:
	buf_free(&f);
	buf_free(&b);
	return path;
}

static int find_by_proxy(struct graph_client *g, const char *address, struct graph_user *out,
                         struct mf_err *err)
{
	/* A filter on proxyAddresses is an "advanced query" for some tenants:
	 * it wants ConsistencyLevel: eventual together with $count=true. */
	static const char *const hdrs[] = {"ConsistencyLevel: eventual", NULL};
	struct proxy_search ps = {.out = out};
	char *path = proxy_filter_path(address);
	int rc;

	if (!path)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	rc = graph_list(g, path, hdrs, on_proxy_match, &ps, err);
	free(path);
	if (rc) {
		graph_user_free(out);
		return -1;
	}
	if (ps.matches == 0)
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_NOTFOUND,
		               "no user in the tenant has %s as user principal name or proxy "
		               "address",
		               address);
	if (ps.matches > 1) {
		graph_user_free(out);
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_DATA,
		               "%zu users have the proxy address smtp:%s", ps.matches, address);
	}
	out->found_by_proxy = 1;
	return 0;
}

int graph_find_user(struct graph_client *g, const char *address, struct graph_user *out,
                    struct mf_err *err)
{
	struct json_doc *doc = NULL;
	char *path;
	int rc;

	memset(out, 0, sizeof(*out));
	out->account_enabled = -1;
	if (!printable_address(address))
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CONFIG,
		               "not a valid address: \"%.100s\"", address ? address : "");
	path = user_path(address, "?$select=" USER_SELECT);
	if (!path)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	rc = graph_get(g, path, NULL, &doc, err);
	free(path);
	if (!rc) {
		rc = read_user(json_root(doc), out, err);
		json_free(doc);
		return rc;
	}
	if (g->last.status != 404)
		return -1;
	log_debug("no user with UPN %s; looking for it among proxy addresses", address);
	return find_by_proxy(g, address, out, err);
}

/* ---------------------------------------------------------------- licences */

void graph_licenses_free(struct graph_licenses *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct graph_license *x = &l->items[i];

		for (size_t j = 0; j < x->n_plans; j++) {
			free(x->plans[j].name);
			free(x->plans[j].id);
			free(x->plans[j].status);
			free(x->plans[j].applies_to);
		}
		free(x->plans);
		free(x->sku_id);
		free(x->sku_part_number);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

struct license_list {
	struct graph_licenses *out;
	size_t cap;
};

static int read_plans(const struct json_value *arr, struct graph_license *x)
{
	size_t n = json_count(arr);
	int bad = 0;

	if (!n)
		return 0;
	x->plans = mf_calloc(n, sizeof(*x->plans));
	if (!x->plans)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct json_value *p = json_at(arr, i);
		struct graph_service_plan *sp = &x->plans[x->n_plans];

		if (json_type(p) != JSON_OBJECT)
			continue;
		sp->name = dup_opt(json_get_str(p, "servicePlanName"), &bad);
		sp->id = dup_opt(json_get_str(p, "servicePlanId"), &bad);
		sp->status = dup_opt(json_get_str(p, "provisioningStatus"), &bad);
		sp->applies_to = dup_opt(json_get_str(p, "appliesTo"), &bad);
		x->n_plans++; /* counted even when a copy failed, so it is freed */
		if (bad)
			return -1;
	}
	return 0;
}

static int on_license(const struct json_value *item, void *arg, struct mf_err *err)
{
	struct license_list *ll = arg;
	struct graph_licenses *l = ll->out;
	struct graph_license *x;
	int bad = 0;

	if (json_type(item) != JSON_OBJECT)
		return 0;
	if (mf_grow(&l->items, &ll->cap, l->n + 1, sizeof(*l->items)))
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	x = &l->items[l->n++];
	memset(x, 0, sizeof(*x));
	x->sku_id = dup_opt(json_get_str(item, "skuId"), &bad);
	x->sku_part_number = dup_opt(json_get_str(item, "skuPartNumber"), &bad);
	if (bad || read_plans(json_get(item, "servicePlans"), x))
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	return 0;
}

int graph_license_details(struct graph_client *g, const char *user, struct graph_licenses *out,
                          struct mf_err *err)
{
	struct license_list ll = {.out = out};
	char *path;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!printable_address(user))
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CONFIG, "no user given");
	path = user_path(user, "/licenseDetails");
	if (!path)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	rc = graph_list(g, path, NULL, on_license, &ll, err);
	free(path);
	if (rc)
		graph_licenses_free(out);
	return rc;
}

int graph_plan_gives_mailbox(const char *name, const char *status)
{
	if (!name || !status || strcmp(status, "Success"))
		return 0;
	if (strncmp(name, "EXCHANGE_S_", 11) && strncmp(name, "EXCHANGE_B_", 11))
		return 0;
	if (!strncmp(name, "EXCHANGE_S_FOUNDATION", 21) || !strncmp(name, "EXCHANGE_S_ARCHIVE", 18))
		return 0;
	return 1;
}

int graph_has_mailbox_plan(const struct graph_licenses *l, const char **plan)
{
	for (size_t i = 0; l && i < l->n; i++)
		for (size_t j = 0; j < l->items[i].n_plans; j++) {
			const struct graph_service_plan *sp = &l->items[i].plans[j];

			if (graph_plan_gives_mailbox(sp->name, sp->status)) {
				if (plan)
					*plan = sp->name;
				return 1;
			}
		}
	return 0;
}

/* ---------------------------------------------------------------- mailbox */

int graph_mailbox_exists(struct graph_client *g, const char *user, int *exists, char **purpose,
                         struct mf_err *err)
{
	static const char no_rest[] = "MailboxNotEnabledForRESTAPI";
	struct json_doc *doc = NULL;
	const char *p;
	char *path;
	int rc, bad = 0;

	*exists = 0;
	if (purpose)
		*purpose = NULL;
	if (!printable_address(user))
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CONFIG, "no user given");
	path = user_path(user, "/mailboxSettings");
	if (!path)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	rc = graph_get(g, path, NULL, &doc, err);
	free(path);
	if (rc) {
		if ((g->last.status == 404 || g->last.status == 403) &&
		    (!strcmp(g->last.code, no_rest) || !strcmp(g->last.inner_code, no_rest))) {
			mf_err_clear(err);
			return 0;
		}
		return -1;
	}
	*exists = 1;
	p = json_get_str(json_root(doc), "userPurpose");
	if (purpose)
		*purpose = dup_opt(p, &bad);
	json_free(doc);
	return bad ? mf_fail_nomem(err, MF_SCOPE_CONN) : 0;
}

/* ---------------------------------------------------------------- domains */

void graph_domains_free(struct graph_domain *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++) {
		free(d[i].id);
		free_strv(d[i].services, d[i].n_services);
	}
	free(d);
}

struct domain_list {
	struct graph_domain *items;
	size_t n, cap;
};

static int flag(const struct json_value *o, const char *key)
{
	int v = 0;

	return json_get_bool(o, key, &v) ? 0 : v;
}

static int on_domain(const struct json_value *item, void *arg, struct mf_err *err)
{
	struct domain_list *dl = arg;
	struct graph_domain *d;
	int bad = 0;

	if (json_type(item) != JSON_OBJECT)
		return 0;
	if (mf_grow(&dl->items, &dl->cap, dl->n + 1, sizeof(*dl->items)))
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	d = &dl->items[dl->n++];
	memset(d, 0, sizeof(*d));
	d->id = dup_opt(json_get_str(item, "id"), &bad);
	d->is_verified = flag(item, "isVerified");
	d->is_default = flag(item, "isDefault");
	d->is_initial = flag(item, "isInitial");
	if (bad || dup_strv(json_get(item, "supportedServices"), &d->services, &d->n_services))
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	return 0;
}

int graph_domains(struct graph_client *g, struct graph_domain **out, size_t *n, struct mf_err *err)
{
	struct domain_list dl = {0};

	*out = NULL;
	*n = 0;
	if (graph_list(g, "/domains", NULL, on_domain, &dl, err)) {
		graph_domains_free(dl.items, dl.n);
		return -1;
	}
	*out = dl.items;
	*n = dl.n;
	return 0;
}

int graph_domain_supports(const struct graph_domain *d, const char *service)
{
	for (size_t i = 0; d && i < d->n_services; i++)
		if (!strcmp(d->services[i], service))
			return 1;
	return 0;
}

void graph_dns_records_free(struct graph_dns_record *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].record_type);
		free(r[i].label);
		free(r[i].supported_service);
		free(r[i].mail_exchange);
		free(r[i].text);
		free(r[i].canonical_name);
	}
	free(r);
}

struct record_list {
	struct graph_dns_record *items;
	size_t n, cap;
};

static int on_record(const struct json_value *item, void *arg, struct mf_err *err)
{
	struct record_list *rl = arg;
	struct graph_dns_record *r;
	int bad = 0;

	if (json_type(item) != JSON_OBJECT)
		return 0;
	if (mf_grow(&rl->items, &rl->cap, rl->n + 1, sizeof(*rl->items)))
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	r = &rl->items[rl->n++];
	memset(r, 0, sizeof(*r));
	r->record_type = dup_opt(json_get_str(item, "recordType"), &bad);
	r->label = dup_opt(json_get_str(item, "label"), &bad);
	r->supported_service = dup_opt(json_get_str(item, "supportedService"), &bad);
	r->mail_exchange = dup_opt(json_get_str(item, "mailExchange"), &bad);
	r->text = dup_opt(json_get_str(item, "text"), &bad);
	r->canonical_name = dup_opt(json_get_str(item, "canonicalName"), &bad);
	r->is_optional = flag(item, "isOptional");
	if (json_get_int64(item, "ttl", &r->ttl))
		r->ttl = -1;
	if (json_get_int64(item, "preference", &r->preference))
		r->preference = -1;
	return bad ? mf_fail_nomem(err, MF_SCOPE_CONN) : 0;
}

int graph_service_records(struct graph_client *g, const char *domain, struct graph_dns_record **out,
                          size_t *n, struct mf_err *err)
{
	struct record_list rl = {0};
	struct mf_buf path;
	int rc;

	*out = NULL;
	*n = 0;
	if (!printable_address(domain))
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "no domain given");
	buf_init(&path, 4096);
	if (buf_puts(&path, "/domains/") || http_escape(&path, domain, strlen(domain), NULL) ||
	    buf_puts(&path, "/serviceConfigurationRecords")) {
		buf_free(&path);
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	}
	rc = graph_list(g, path.data, NULL, on_record, &rl, err);
	buf_free(&path);
	if (rc) {
		graph_dns_records_free(rl.items, rl.n);
		return -1;
	}
	*out = rl.items;
	*n = rl.n;
	return 0;
}
