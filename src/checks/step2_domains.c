/* mailferry - step 2: every domain of the list is verified in the tenant, for Email */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "m365/graph.h"
#include "net/dns.h"
#include "util/err.h"

static void list_services(struct check_ctx *c, const struct graph_domain *d)
{
	char services[256] = "";

	for (size_t i = 0; i < d->n_services; i++)
		snprintf(services + strlen(services), sizeof(services) - strlen(services), "%s%s",
		         i ? ", " : "", d->services[i]);
	check_detail(c, "supportedServices: %s", services[0] ? services : "(none)");
}

void check_domains_tenant(struct check_ctx *c)
{
	const struct graph_domain *all, *d;
	struct mf_err err;
	size_t n;

	if (check_skip_no_tenant(c, "a generic IMAP server has no domains to verify"))
		return;
	if (check_tenant_domains(c, &all, &n, &err)) {
		check_graph_failed(c, "list the tenant's domains", &err);
		return;
	}
	d = check_find_domain(all, n, c->subject);
	if (!d) {
		check_fail(c, "The domain is not in the tenant",
		           "%s is not among the %zu domains of %s", c->subject, n,
		           c->env->set->m365.tenant ? c->env->set->m365.tenant : "the tenant");
		check_remedy(c,
		             "Add %s in the Microsoft 365 admin center > Settings > Domains > Add "
		             "domain, and verify it with the TXT record (MS=ms...) it shows.",
		             c->subject);
		return;
	}
	if (!d->is_verified) {
		check_fail(c, "The domain is not verified", "%s is in the tenant, unverified",
		           c->subject);
		check_remedy(
		        c,
		        "Publish the TXT record MS=ms... shown in the Microsoft 365 admin "
		        "center > Settings > Domains > %s at your DNS host, then select Verify.",
		        c->subject);
	} else if (!graph_domain_supports(d, "Email")) {
		check_fail(c, "The domain is verified, but not for Email",
		           "%s does not list Email among its services", c->subject);
		check_remedy(c,
		             "In the Microsoft 365 admin center > Settings > Domains > %s > "
		             "Manage DNS, choose Exchange and Exchange Online Protection (Email) "
		             "among the services.",
		             c->subject);
	} else {
		check_pass(c, "Verified in the tenant, for Email", "%s%s", c->subject,
		           d->is_default ? " (the tenant's default domain)" : "");
	}
	list_services(c, d);
}

/* Whether the tenant shows the domain as verified (-1: unknown). */
static int tenant_verified(struct check_ctx *c)
{
	const struct graph_domain *all, *d;
	size_t n;

	if (check_tenant_domains(c, &all, &n, NULL))
		return -1;
	d = check_find_domain(all, n, c->subject);
	return d ? d->is_verified : 0;
}

void check_domains_txt(struct check_ctx *c)
{
	const struct dns_resolver *r;
	struct dns_result res = {0};
	char value[64];
	struct mf_err err;
	int found = 0;

	if (check_skip_demo(c, "public DNS") ||
	    check_skip_no_tenant(c, "the MS=ms... record only matters to Microsoft 365"))
		return;
	if (check_resolver(c, &r))
		return;
	if (dns_query(r, c->subject, DNS_T_TXT, &res, &err) && res.status != DNS_NXDOMAIN) {
		check_dns_failed(c, &res, "TXT");
		dns_result_free(&res);
		return;
	}
	if (res.status == DNS_NXDOMAIN) {
		check_fail(c, "The domain does not exist in DNS", "%s", res.summary);
		check_remedy(c,
		             "Check the spelling of %s in the CSV, and that it is registered and "
		             "delegated to your DNS host.",
		             c->subject);
		dns_result_free(&res);
		return;
	}
	for (size_t i = 0; i < res.n_rr && !found; i++)
		found = dns_txt_ms_verification(res.rr[i].data, value, sizeof(value));
	if (found) {
		check_pass(c, "The verification record is published", "TXT %s on %s (from %s)",
		           value, c->subject, res.server);
	} else if (tenant_verified(c) == 1) {
		check_warn(c, "No MS=ms... record is published",
		           "the tenant already shows %s as verified, so the record is only needed "
		           "to verify it again (%s)",
		           c->subject, res.summary);
		check_remedy(c,
		             "Nothing to do now; keep the record Microsoft 365 shows for %s at "
		             "hand in case the domain must be verified again.",
		             c->subject);
	} else {
		check_fail(c, "No MS=ms... record is published",
		           "no TXT record MS=ms<digits> on %s (%s)", c->subject, res.summary);
		check_remedy(c,
		             "Add the TXT record shown in the Microsoft 365 admin center > "
		             "Settings > Domains > %s (host @, value MS=ms followed by digits) at "
		             "your DNS host; it can take up to an hour to be seen.",
		             c->subject);
	}
	dns_result_free(&res);
}
