/* mailferry - HTTPS requests over libcurl easy handles */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "net/http.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

struct http_client {
	CURL *h; /* owned */
};

/* What the callbacks of one transfer share. */
struct xfer {
	struct http_response *resp;
	const atomic_int *cancel;
	int too_big;
	int nomem;
};

void http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 0);
	r->retry_after_s = -1;
}

void http_response_free(struct http_response *r)
{
	buf_free_secure(&r->body);
	r->status = 0;
}

struct http_client *http_client_new(void)
{
	struct http_client *c = mf_calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->h = curl_easy_init();
	if (!c->h) {
		free(c);
		return NULL;
	}
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->h);
	free(c);
}

/* ---------------------------------------------------------------- URL helpers */

int http_escape(struct mf_buf *b, const char *s, size_t n, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' ||
		    (c && keep && strchr(keep, c))) {
			if (buf_putc(b, (char)c))
				return -1;
		} else {
			char enc[3] = {'%', hex[c >> 4], hex[c & 15]};

			if (buf_append(b, enc, 3))
				return -1;
		}
	}
	return 0;
}

int http_form_add(struct mf_buf *b, const char *name, const char *value)
{
	if (b->len && buf_putc(b, '&'))
		return -1;
	if (http_escape(b, name, strlen(name), NULL) || buf_putc(b, '='))
		return -1;
	return http_escape(b, value, strlen(value), NULL);
}

int http_host_is_loopback(const char *host)
{
	unsigned char a[16];
	char tmp[64];
	size_t n;

	if (!host)
		return 0;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	n = strlen(host);
	if (n < 3 || n >= sizeof(tmp) || host[0] != '[' || host[n - 1] != ']')
		return 0;
	memcpy(tmp, host + 1, n - 2);
	tmp[n - 2] = 0;
	return inet_pton(AF_INET6, tmp, a) == 1 &&
	       !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
}

/* Refuses anything but https://, and http:// except to a loopback literal
 * when the request allows it.  *plain is set for an allowed http:// URL. */
static int check_url(const struct http_request *req, int *plain, struct mf_err *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	*plain = 0;
	if (!u)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	if (curl_url_set(u, CURLUPART_URL, req->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "not a valid URL: %.200s", req->url);
	} else if (!strcasecmp(scheme, "https")) {
		rc = 0;
	} else if (!strcasecmp(scheme, "http") && req->allow_plain_loopback &&
	           http_host_is_loopback(host)) {
		*plain = 1;
		rc = 0;
	} else {
		mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
		        "refusing %s:// for %.200s: only https:// is allowed", scheme, req->url);
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* ---------------------------------------------------------------- callbacks */

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (buf_append(&x->resp->body, p, n)) {
		if (x->resp->body.limit && x->resp->body.len + n > x->resp->body.limit)
			x->too_big = 1;
		else
			x->nomem = 1;
		return 0; /* aborts the transfer */
	}
	return n;
}

static void trim_copy(char *dst, size_t cap, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = 0;
}

/* Retry-After: delay-seconds or an HTTP-date (RFC 9110 10.2.3). */
static long parse_retry_after(const char *v)
{
	char *end;
	long s;
	time_t when;

	if (*v >= '0' && *v <= '9') {
		s = strtol(v, &end, 10);
		if (*end)
			return -1;
		return s > 86400 ? 86400 : s;
	}
	when = curl_getdate(v, NULL);
	if (when < 0)
		return -1;
	s = (long)(when - time(NULL));
	return s < 0 ? 0 : s > 86400 ? 86400 : s;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	const char *colon = memchr(p, ':', n);
	char value[96];
	size_t name_len;

	if (n >= 5 && !memcmp(p, "HTTP/", 5)) {
		/* a new response head (after 100 Continue): forget the last one */
		x->resp->retry_after_s = -1;
		x->resp->request_id[0] = 0;
		return n;
	}
	if (!colon)
		return n;
	name_len = (size_t)(colon - p);
	trim_copy(value, sizeof(value), colon + 1, n - name_len - 1);
	if (name_len == 11 && !strncasecmp(p, "retry-after", 11))
		x->resp->retry_after_s = parse_retry_after(value);
	else if (name_len == 10 && !strncasecmp(p, "request-id", 10))
		trim_copy(x->resp->request_id, sizeof(x->resp->request_id), value, strlen(value));
	return n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	struct xfer *x = arg;

	return x->cancel && atomic_load(x->cancel) ? 1 : 0;
}

/* ---------------------------------------------------------------- perform */

static enum mf_errcode curl_code(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return MF_E_RESOLVE;
	case CURLE_COULDNT_CONNECT:
		return MF_E_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return MF_E_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return MF_E_CERT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_USE_SSL_FAILED:
		return MF_E_TLS;
	case CURLE_ABORTED_BY_CALLBACK:
		return MF_E_CANCEL;
	case CURLE_OUT_OF_MEMORY:
		return MF_E_NOMEM;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		return MF_E_CLOSED;
	default:
		return MF_E_IO;
	}
}

/* The URL without its query or fragment, for logs and messages. */
static void url_for_log(char *out, size_t cap, const char *url)
{
	size_t n = strcspn(url, "?#");

	if (n >= cap)
		n = cap - 1;
	memcpy(out, url, n);
	out[n] = 0;
}

static int set_options(CURL *h, const struct http_request *req, int plain, struct curl_slist *hdrs,
                       struct xfer *x, char *errbuf)
{
	const char *method = req->method ? req->method : "GET";
	CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(h, opt, val);                                        \
	} while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, plain ? "http" : "https");
#else
	SET(CURLOPT_PROTOCOLS, plain ? (long)CURLPROTO_HTTP : (long)CURLPROTO_HTTPS);
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file)
		SET(CURLOPT_CAINFO, req->ca_file);
	SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms > 0
	                                       ? req->connect_timeout_ms
	                                       : HTTP_DEFAULT_CONNECT_TIMEOUT_MS);
	SET(CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS);
	SET(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	SET(CURLOPT_ACCEPT_ENCODING, ""); /* decoded bytes still count against the limit */
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_XFERINFODATA, x);
	SET(CURLOPT_NOPROGRESS, 0L);
	if (req->body) {
		SET(CURLOPT_POSTFIELDS, req->body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		if (strcmp(method, "POST"))
			SET(CURLOPT_CUSTOMREQUEST, method);
	} else if (!strcmp(method, "GET")) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		SET(CURLOPT_CUSTOMREQUEST, method);
	}
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

/* libcurl copied the header lines (a bearer token among them): wipe the
 * copies before they go back to the heap. */
static void free_headers(struct curl_slist *l)
{
	for (struct curl_slist *n = l; n; n = n->next)
		OPENSSL_cleanse(n->data, strlen(n->data));
	curl_slist_free_all(l);
}

static int build_headers(const struct http_request *req, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *t;

	*out = NULL;
	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		t = curl_slist_append(l, req->headers[i]);
		if (!t) {
			free_headers(l);
			return -1;
		}
		l = t;
	}
	*out = l;
	return 0;
}

static int transfer_failed(CURLcode rc, const struct xfer *x, const char *what, const char *errbuf,
                           struct mf_err *err)
{
	enum mf_errcode code = curl_code(rc);

	if (x->too_big)
		return mf_fail(err, MF_SCOPE_CONN, MF_E_TOOBIG,
		               "%s: response larger than %zu bytes", what, x->resp->body.limit);
	if (x->nomem || code == MF_E_NOMEM)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	if (code == MF_E_CANCEL)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CANCEL, "%s: cancelled", what);
	return mf_fail(err, MF_SCOPE_CONN, code, "%s: %s", what,
	               errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

int http_perform(struct http_client *c, const struct http_request *req, struct http_response *resp,
                 struct mf_err *err)
{
	char errbuf[CURL_ERROR_SIZE] = "", shown[256], what[300];
	const char *method = req->method ? req->method : "GET";
	struct xfer x = {.resp = resp, .cancel = req->cancel};
	struct curl_slist *hdrs = NULL;
	size_t limit = req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE;
	CURL *h;
	CURLcode rc;
	char *ct = NULL;
	int plain, ret = -1;

	buf_free_secure(&resp->body);
	http_response_init(resp);
	resp->body.limit = limit;
	url_for_log(shown, sizeof(shown), req->url ? req->url : "");
	snprintf(what, sizeof(what), "%s %s", method, shown);
	if (!req->url)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG, "no URL given");
	if (check_url(req, &plain, err))
		return -1;
	/* Room up front: a token in the body then never moves through realloc,
	 * which would leave an unwiped copy behind. */
	if (buf_reserve(&resp->body, limit < 16384 ? limit : 16384))
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	if (build_headers(req, &hdrs))
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	if (c) {
		h = c->h;
		curl_easy_reset(h);
	} else {
		h = curl_easy_init();
	}
	if (!h) {
		free_headers(hdrs);
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	}
	if (set_options(h, req, plain, hdrs, &x, errbuf)) {
		mf_fail(err, MF_SCOPE_CONN, MF_E_INTERNAL, "%s: libcurl refused an option", what);
		goto out;
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		transfer_failed(rc, &x, what, errbuf, err);
		log_debug("HTTP %s failed: %s", what, err ? err->msg : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		trim_copy(resp->content_type, sizeof(resp->content_type), ct, strlen(ct));
	log_debug("HTTP %s -> %ld (%zu bytes)", what, resp->status, resp->body.len);
	ret = 0;
out:
	/* Forget the options that point at our memory before the handle lives on. */
	if (c)
		curl_easy_reset(h);
	else
		curl_easy_cleanup(h);
	free_headers(hdrs);
	return ret;
}
