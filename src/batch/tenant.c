/* mailferry - the batch's Microsoft 365 tenant: OAuth and Graph clients */
#include "config.h"

#include <string.h>

#include "batch.h"
#include "batch/tenant.h"
#include "m365/graph.h"
#include "m365/oauth.h"
#include "util/err.h"
#include "util/secret.h"

/* http:// is only ever allowed towards a loopback test server. */
static int loopback_url(const char *url)
{
	return url && (!strncmp(url, "http://127.", 11) || !strncmp(url, "http://[::1]", 12) ||
		       !strncmp(url, "http://localhost", 16));
}

int batch_oauth_client(struct mf_batch *b, struct oauth_client **out, struct mf_err *err)
{
	const struct mf_batch_settings *s = batch_settings(b);
	struct oauth_config cfg = {0};
	struct mf_secret *secret = NULL;
	int rc;

	*out = NULL;
	if (!s->m365.tenant || !s->m365.client_id)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
			       "no Microsoft 365 tenant is configured for this batch (set --tenant "
			       "and --client-id)");
	if (!s->m365.cert_file && batch_get_secret(b, "client", &secret, err))
		return -1;
	if (!s->m365.cert_file && !secret)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_CONFIG,
			       "the application has neither a client secret nor a certificate "
			       "(set --client-secret-file or --client-cert)");
	cfg.authority = s->m365.authority;
	cfg.tenant = s->m365.tenant;
	cfg.client_id = s->m365.client_id;
	cfg.client_secret = secret;
	cfg.cert_file = s->m365.cert_file;
	cfg.key_file = s->m365.key_file;
	cfg.alg = JWT_PS256;
	cfg.ca_file = s->target.ca_file;
	cfg.allow_plain_loopback = loopback_url(s->m365.authority);
	rc = oauth_client_new(&cfg, out, err);
	secret_free(secret);
	return rc;
}

int batch_graph_client(struct mf_batch *b, struct oauth_client *oauth, struct graph_client **out,
		       struct mf_err *err)
{
	const struct mf_batch_settings *s = batch_settings(b);
	struct graph_config cfg = {0};

	cfg.base_url = s->m365.graph_url;
	cfg.ca_file = s->target.ca_file;
	cfg.allow_plain_loopback = loopback_url(s->m365.graph_url);
	return graph_client_new(&cfg, oauth, out, err);
}
