/* mailferry - the batch's Microsoft 365 tenant: OAuth and Graph clients
 *
 * Built from the batch settings (tenant, application id, certificate or the
 * stored client secret).  HTTPS to the token endpoint and to Graph trusts the
 * system's CAs, or the target's --ca-file when one is set (private test
 * servers).  Both clients are thread-safe; the engine and the checks share
 * one OAuth client per run so tokens are cached and refreshed in one place.
 */
#ifndef MF_BATCH_TENANT_H
#define MF_BATCH_TENANT_H

struct mf_batch;
struct mf_err;
struct oauth_client;
struct graph_client;

/* MF_E_CONFIG when the batch has no tenant settings. */
int batch_oauth_client(struct mf_batch *b, struct oauth_client **out, struct mf_err *err);
int batch_graph_client(struct mf_batch *b, struct oauth_client *oauth, struct graph_client **out,
		       struct mf_err *err);

#endif
