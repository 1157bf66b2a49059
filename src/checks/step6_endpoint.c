/* mailferry - step 6: the migration endpoint (the source server) */
#include "config.h"

#include <string.h>

#include "batch.h"
#include "batch/connect.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "imap/session.h"
#include "net/transport.h"
#include "util/err.h"
#include "util/timeutil.h"

void check_endpoint_source(struct check_ctx *c)
{
	const struct mf_endpoint *e = &c->env->set->source;
	struct transport_tls_info tls;
	struct imap_conn *conn = NULL;
	struct mf_err err;
	int64_t start = mono_ms();
	long rtt;

	if (check_imap_open(c, 1, &conn, &err)) {
		check_fail(c, "Cannot connect to the source", "%s:%u (%s): %s", e->host,
			   e->port ? e->port : (e->security == MF_SEC_SSL ? 993 : 143),
			   mf_security_name(e->security), err.msg);
		check_remedy(c, "Check the server name, port and security (ssl on 993, starttls on "
				"143); if the certificate is from a private CA, give it with --ca-file.");
		return;
	}
	rtt = (long)(mono_ms() - start);
	transport_tls_info(imap_transport(conn), &tls);
	if (e->security == MF_SEC_NONE)
		check_warn(c, "The source is reached without TLS",
			   "%s:%u in plaintext (explicitly allowed): passwords cross the network in "
			   "clear; connected in %ld ms",
			   e->host, e->port ? e->port : 143, rtt);
	else
		check_pass(c, "The source answers with TLS", "%s:%u, %s %s, connected in %ld ms",
			   e->host, e->port ? e->port : (e->security == MF_SEC_SSL ? 993 : 143),
			   tls.protocol[0] ? tls.protocol : "TLS", tls.cipher, rtt);
	if (e->security == MF_SEC_NONE)
		check_remedy(c, "Use --source-security ssl (port 993) or starttls (port 143) if the "
				"server offers it.");
	check_imap_close(c, 1, conn);
}
