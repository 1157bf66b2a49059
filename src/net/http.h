/* mailferry - HTTPS requests (OAuth2 token endpoint, Microsoft Graph)
 *
 * One request at a time over a libcurl easy handle.  TLS is always verified
 * (peer and host name), against the system's CAs or a CA file given per
 * request.  Plain http:// is refused unless the request allows it AND the
 * host is a loopback address literal (127.0.0.0/8 or [::1]); redirects are
 * never followed, so a bearer token can never be sent somewhere else.
 *
 * Threads: libcurl wants one easy handle per thread.  A struct http_client
 * owns one handle (and so keeps connections alive between requests); use it
 * from one thread at a time.  Passing a NULL client to http_perform() makes a
 * handle for that one request, which is always safe.  curl_global_init() must
 * have been called (main() does) and CURLOPT_NOSIGNAL is set on every handle.
 *
 * Secrets: request bodies (client_secret, client_assertion) and response
 * bodies (access tokens) are never logged; only the method, the URL without
 * its query, the status and the size are (at debug level).  Header lines
 * (Authorization: Bearer ...) are wiped from libcurl's copies after the
 * request, response bodies by http_response_free().
 */
#ifndef MF_NET_HTTP_H
#define MF_NET_HTTP_H

#include <stdatomic.h>
#include <stddef.h>

#include "util/buf.h"

struct mf_err;

#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 15000L
#define HTTP_DEFAULT_TIMEOUT_MS         60000L
#define HTTP_DEFAULT_MAX_RESPONSE       ((size_t)8 << 20)

struct http_request {
	const char *method;         /* "GET" when NULL */
	const char *url;            /* borrowed; https:// */
	const char *const *headers; /* borrowed: NULL-terminated "Name: value" lines, or NULL */
	const char *body;           /* borrowed: sent as is (not copied), or NULL */
	size_t body_len;
	const char *ca_file;      /* borrowed: PEM CA bundle; NULL: the system's CAs */
	long connect_timeout_ms;  /* 0: HTTP_DEFAULT_CONNECT_TIMEOUT_MS */
	long timeout_ms;          /* whole request; 0: HTTP_DEFAULT_TIMEOUT_MS */
	size_t max_response;      /* body bytes kept at most; 0: HTTP_DEFAULT_MAX_RESPONSE */
	int allow_plain_loopback; /* permits http:// to a loopback address literal */
	const atomic_int *cancel; /* borrowed, optional: non-zero aborts the request */
};

struct http_response {
	long status;            /* HTTP status of the final response; 0 when none */
	struct mf_buf body;     /* owned; NUL-terminated; wiped by http_response_free() */
	char content_type[128]; /* "" when absent */
	long retry_after_s;     /* Retry-After in seconds (a date is converted); -1: absent */
	char request_id[80];    /* the request-id header (Graph), "" when absent */
};

void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);

struct http_client;

/* NULL when out of memory. */
struct http_client *http_client_new(void);
void http_client_free(struct http_client *c);

/* Performs the request.  0 when an HTTP response arrived, whatever its status
 * (resp->status says which).  resp must have been set up with
 * http_response_init() (it may hold an earlier response: it is reset).  -1 with err filled when
 * none did: MF_E_CONFIG (bad or refused URL), MF_E_RESOLVE, MF_E_CONNECT,
 * MF_E_CERT, MF_E_TLS, MF_E_TIMEOUT, MF_E_TOOBIG (response over the limit),
 * MF_E_CANCEL, MF_E_NOMEM, MF_E_IO; scope MF_SCOPE_CONN except CONFIG and
 * CANCEL (MF_SCOPE_BATCH).  c may be NULL (a handle for this request only). */
int http_perform(struct http_client *c, const struct http_request *req, struct http_response *resp,
                 struct mf_err *err);

/* Appends s[0..n) percent-encoded: RFC 3986 unreserved characters and those
 * in `keep` pass as they are, every other byte becomes %XX.  0 or -1. */
int http_escape(struct mf_buf *b, const char *s, size_t n, const char *keep);
/* Appends "name=value" (with '&' before it unless b is empty) for an
 * application/x-www-form-urlencoded body.  Build bodies holding secrets in a
 * buffer freed with buf_free_secure().  0 or -1. */
int http_form_add(struct mf_buf *b, const char *name, const char *value);
/* Whether host (as in a URL: "127.0.0.1", "[::1]") is a loopback literal. */
int http_host_is_loopback(const char *host);

#endif
