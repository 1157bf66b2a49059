/* mailferry - connecting to one side of a batch, as the batch says
 *
 * One place for "how do we reach the source / the target of this batch":
 * the endpoint settings (host, port, TLS mode, CA, proxy, plaintext opt-in,
 * TLS 1.2 minimum towards the target, legacy TLS only towards the source on
 * request), the login (password, admin forms, SASL authorization id), and
 * XOAUTH2 with a fresh app-only token for Microsoft 365 targets (retried once
 * with a new token when the server refuses the cached one).  The engine and
 * the checks both use it.
 */
#ifndef MF_BATCH_CONNECT_H
#define MF_BATCH_CONNECT_H

#include <stdatomic.h>
#include <stdio.h>

struct mf_batch;
struct mf_err;
struct mf_login;
struct imap_conn;
struct imap_conn_opts;
struct oauth_client;

struct batch_conn_opts {
	int source;                /* 1: the source, 0: the target */
	const char *label;         /* for logs and traces */
	FILE *trace;               /* borrowed, or NULL */
	const atomic_int *cancel;  /* borrowed, or NULL */
	long timeout_ms;           /* 0: the batch's command timeout */
	long connect_timeout_ms;   /* 0: 30 s */
	int no_verify;             /* TLS report only: do not verify the certificate */
	struct oauth_client *oauth; /* for OAuth2 targets (borrowed) */
};

/* Fills the connection options for one side (label/trace/cancel from o). */
void batch_conn_opts_fill(const struct mf_batch *b, const struct batch_conn_opts *o,
			  struct imap_conn_opts *out);
/* Connects and, when login is not NULL, logs in.  Errors name the side. */
int batch_connect(const struct mf_batch *b, const struct batch_conn_opts *o,
		  const struct mf_login *login, struct imap_conn **out, struct mf_err *err);

#endif
