/* mailferry - connecting to one side of a batch, as the batch says */
#include "config.h"

#include <string.h>

#include "batch.h"
#include "batch/connect.h"
#include "imap/session.h"
#include "m365/oauth.h"
#include "util/err.h"
#include "util/secret.h"

void batch_conn_opts_fill(const struct mf_batch *b, const struct batch_conn_opts *o,
			  struct imap_conn_opts *out)
{
	const struct mf_batch_settings *s = batch_settings(b);
	const struct mf_endpoint *e = o->source ? &s->source : &s->target;

	memset(out, 0, sizeof(*out));
	out->net.host = e->host;
	out->net.port = e->port;
	out->net.security = e->security;
	out->net.allow_plaintext = e->allow_plaintext;
	out->net.ca_file = e->ca_file;
	out->net.proxy = e->proxy;
	out->net.legacy_tls = o->source && e->legacy_tls;
	/* TLS 1.2 or newer whatever the system's OpenSSL policy allows; an old
	 * source only with --source-legacy-tls */
	out->net.min_tls12 = !out->net.legacy_tls;
	out->net.no_verify = o->no_verify;
	out->net.trace = o->trace;
	out->net.connect_timeout_ms = o->connect_timeout_ms;
	out->pipeline_depth = s->pipeline_depth;
	out->timeout_ms = o->timeout_ms ? o->timeout_ms : s->cmd_timeout_ms;
	out->max_mem_literal = 256 * 1024;
	out->label = o->label;
	out->cancel = o->cancel;
}

/* XOAUTH2 with an app-only token for the mailbox: a fresh token from the
 * cache for every connection, and one more try with a new token if the
 * server refuses the cached one (it may have been revoked or expired early). */
static int login_oauth(struct imap_conn *c, struct oauth_client *oauth, const char *mailbox,
		       struct mf_err *err)
{
	struct imap_creds cr = {.user = mailbox};

	if (!oauth)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
			       "Microsoft 365 tokens are not configured for this batch");
	for (int tries = 0; tries < 2; tries++) {
		struct mf_secret *tok = NULL, *ir = NULL;
		int rc;

		if (oauth_token(oauth, OAUTH_SCOPE_IMAP, &tok, err))
			return -1;
		if (oauth_xoauth2(mailbox, tok, &ir, err)) {
			secret_free(tok);
			return -1;
		}
		cr.xoauth2 = ir;
		rc = imap_login(c, &cr, err);
		secret_free(ir);
		if (!rc || err->code != MF_E_AUTH || imap_is_dead(c)) {
			secret_free(tok);
			return rc;
		}
		oauth_forget(oauth, OAUTH_SCOPE_IMAP, tok);
		secret_free(tok);
	}
	return -1;
}

int batch_connect(const struct mf_batch *b, const struct batch_conn_opts *o,
		  const struct mf_login *l, struct imap_conn **out, struct mf_err *err)
{
	const char *side = o->source ? "source" : "target";
	struct imap_conn_opts co;
	struct imap_creds cr = {0};
	int rc = 0;

	batch_conn_opts_fill(b, o, &co);
	if (imap_connect(&co, out, err)) {
		mf_err_prefix(err, "%s: ", side);
		return -1;
	}
	if (!l)
		return 0;
	cr.user = l->user;
	cr.authzid = l->authzid;
	cr.password = l->password;
	if (!l->password && l->oauth_user)
		rc = login_oauth(*out, o->oauth, l->oauth_user, err);
	else
		rc = imap_login(*out, &cr, err);
	if (rc) {
		mf_err_prefix(err, "%s: ", side);
		imap_close(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}
