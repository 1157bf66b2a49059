/* mailferry - step 9: each domain's MX, SPF and autodiscover records against the tenant's */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batch.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "m365/graph.h"
#include "net/dns.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

/* The records Microsoft wants for the domain (Graph serviceConfigurationRecords):
 * the MX host, the SPF text, the autodiscover target.  Missing ones are
 * computed the documented way and *computed says so. */
void check_expected_records(struct check_ctx *c, struct check_expected *x)
{
	struct graph_dns_record *recs = NULL;
	struct graph_client *g;
	size_t n = 0;
	char *mx;

	memset(x, 0, sizeof(*x));
	if (check_graph(c, &g, NULL) == 0 &&
	    graph_service_records(g, c->subject, &recs, &n, NULL) == 0) {
		for (size_t i = 0; i < n; i++) {
			const char *t = recs[i].record_type ? recs[i].record_type : "";

			if (!strcasecmp(t, "Mx") && recs[i].mail_exchange && !x->mx[0])
				snprintf(x->mx, sizeof(x->mx), "%s", recs[i].mail_exchange);
			else if (!strcasecmp(t, "Txt") && recs[i].text && !x->spf[0])
				snprintf(x->spf, sizeof(x->spf), "%s", recs[i].text);
			else if (!strcasecmp(t, "CName") && recs[i].canonical_name &&
			         recs[i].label && !strncasecmp(recs[i].label, "autodiscover.", 13))
				snprintf(x->autodiscover, sizeof(x->autodiscover), "%s",
				         recs[i].canonical_name);
		}
		x->from_tenant = x->mx[0] != 0;
		graph_dns_records_free(recs, n);
	}
	if (!x->mx[0] && (mx = dns_m365_mx_host(c->subject))) {
		snprintf(x->mx, sizeof(x->mx), "%s", mx);
		free(mx);
	}
	if (!x->spf[0])
		snprintf(x->spf, sizeof(x->spf), "v=spf1 include:spf.protection.outlook.com -all");
	if (!x->autodiscover[0])
		snprintf(x->autodiscover, sizeof(x->autodiscover), "autodiscover.outlook.com");
}

static int same_host(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && !strncasecmp(a, b, la);
}

void check_mx_tally(const struct dns_result *res, const char *domain, const char *expected,
                    struct check_mx_tally *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < res->n_rr; i++) {
		const char *host = res->rr[i].data ? res->rr[i].data : "";
		enum dns_m365_mx k = dns_mx_is_m365(domain, host);

		if ((expected && same_host(host, expected)) || k == DNS_MX_M365) {
			t->m365++;
		} else {
			t->other++;
			if (k == DNS_MX_M365_OTHER)
				t->wrong_tenant++;
		}
	}
}

void check_mx_list(const struct dns_result *res, char *out, size_t n)
{
	out[0] = 0;
	for (size_t i = 0; i < res->n_rr; i++)
		snprintf(out + strlen(out), n - strlen(out), "%s%u %s", i ? ", " : "",
		         res->rr[i].pref, res->rr[i].data ? res->rr[i].data : "?");
}

/* The lookup through the run's resolver; on failure the result is set. */
static int lookup(struct check_ctx *c, const char *name, enum dns_type type, struct dns_result *res)
{
	const struct dns_resolver *r;
	struct mf_err err;

	if (check_resolver(c, &r))
		return -1;
	if (dns_query(r, name, type, res, &err)) {
		check_dns_failed(c, res, dns_type_name(type));
		return -1;
	}
	return 0;
}

static void note_first_seen(struct check_ctx *c)
{
	char *v = check_state_get(c, "mx_first_seen", c->subject), now[32], when[32];
	long long t = v ? atoll(v) : 0;

	if (!t) {
		t = (long long)time(NULL);
		snprintf(now, sizeof(now), "%lld", t);
		check_state_set(c, "mx_first_seen", c->subject, now);
	}
	time_rfc3339(when, sizeof(when), (time_t)t);
	check_detail(c, "the new MX was first seen by this check at %s", when);
	free(v);
}

void check_dns_mx(struct check_ctx *c)
{
	struct check_expected x;
	struct check_mx_tally t;
	struct dns_result res = {0};
	char list[512];

	if (check_skip_demo(c, "public DNS") ||
	    check_skip_no_tenant(c, "mailferry cannot know which MX a generic IMAP server "
	                            "expects: follow its provider's instructions"))
		return;
	check_expected_records(c, &x);
	if (lookup(c, c->subject, DNS_T_MX, &res))
		goto out;
	if (res.status != DNS_ANSWER) {
		check_fail(c,
		           res.status == DNS_NXDOMAIN ? "The domain does not exist in DNS"
		                                      : "The domain has no MX record",
		           "%s", res.summary);
		check_remedy(c, "Publish the MX record %s with priority 0 for %s.", x.mx,
		             c->subject);
		goto out;
	}
	check_mx_tally(&res, c->subject, x.mx, &t);
	check_mx_list(&res, list, sizeof(list));
	if (t.m365 && !t.other) {
		check_pass(c, "The MX points at Microsoft 365", "MX %s: %s", c->subject, list);
		note_first_seen(c);
	} else if (t.m365) {
		check_warn(c, "Old and new MX at once", "MX %s: %s", c->subject, list);
		check_remedy(c, "Remove the MX records that do not point at Microsoft 365: until "
		                "then senders split the mail between both systems.");
	} else if (t.wrong_tenant) {
		check_fail(c, "The MX is another domain's Microsoft 365 host", "MX %s: %s",
		           c->subject, list);
		check_remedy(c, "A copy-paste mistake: the MX of %s must be %s (priority 0).",
		             c->subject, x.mx);
	} else {
		check_fail(c, "The MX still points at the old server", "MX %s: %s", c->subject,
		           list);
		check_remedy(c,
		             "At your DNS host, change the MX record of %s to %s with priority "
		             "0 and remove the others (after the MX TTL was lowered, step 8).",
		             c->subject, x.mx);
	}
	check_detail(c, "expected %s: %s%s", x.from_tenant ? "by the tenant" : "(computed)", x.mx,
	             " (the DNSSEC form *.mx.microsoft is accepted too)");
out:
	dns_result_free(&res);
}

void check_dns_spf(struct check_ctx *c)
{
	struct check_expected x;
	struct dns_result res = {0};
	const char *spf = NULL;
	size_t n;

	if (check_skip_demo(c, "public DNS") ||
	    check_skip_no_tenant(c, "SPF for a generic IMAP server depends on how it sends mail"))
		return;
	check_expected_records(c, &x);
	if (lookup(c, c->subject, DNS_T_TXT, &res))
		goto out;
	if (res.status == DNS_NXDOMAIN) {
		check_fail(c, "The domain does not exist in DNS", "%s", res.summary);
		check_remedy(c, "Check the spelling of %s in the CSV.", c->subject);
		goto out;
	}
	n = dns_result_spf(&res, &spf);
	if (n > 1) {
		check_fail(c, "More than one SPF record",
		           "%zu records start with v=spf1 on %s; "
		           "receivers treat that as an error (RFC 7208 permerror)",
		           n, c->subject);
		check_remedy(c, "Merge them into one TXT record, e.g. \"%s\".", x.spf);
	} else if (!n) {
		check_warn(c, "No SPF record",
		           "%s publishes no v=spf1 record: receivers cannot "
		           "tell which servers may send its mail",
		           c->subject);
		check_remedy(c, "Publish the TXT record \"%s\" on %s.", x.spf, c->subject);
	} else if (!dns_spf_includes_m365(spf)) {
		check_fail(c, "The SPF record does not include Microsoft 365", "%s: \"%s\"",
		           c->subject, spf);
		check_remedy(c,
		             "Add include:spf.protection.outlook.com (before the final all), "
		             "e.g. \"%s\": mail sent from Microsoft 365 would fail SPF otherwise.",
		             x.spf);
	} else {
		check_pass(c, "SPF includes Microsoft 365", "%s: \"%s\"", c->subject, spf);
	}
out:
	dns_result_free(&res);
}

void check_dns_autodiscover(struct check_ctx *c)
{
	struct check_expected x;
	struct dns_result res = {0};
	char *name;

	if (check_skip_demo(c, "public DNS") ||
	    check_skip_no_tenant(c, "autodiscover is for Outlook and Exchange"))
		return;
	if (!(name = mf_sprintf("autodiscover.%s", c->subject))) {
		check_fail(c, "Out of memory", "while checking autodiscover");
		return;
	}
	check_expected_records(c, &x);
	if (lookup(c, name, DNS_T_CNAME, &res))
		goto out;
	if (res.status != DNS_ANSWER || !res.n_rr) {
		check_warn(c, "No autodiscover record", "%s: %s", name, res.summary);
		check_remedy(c,
		             "Publish %s CNAME %s so Outlook finds the new mailbox by itself "
		             "(mail flows without it).",
		             name, x.autodiscover);
	} else if (!same_host(res.rr[0].data, x.autodiscover)) {
		check_warn(c, "Autodiscover points elsewhere", "%s CNAME %s", name, res.rr[0].data);
		check_remedy(c,
		             "Change it to %s CNAME %s, or Outlook keeps setting up accounts on "
		             "the old server.",
		             name, x.autodiscover);
	} else {
		check_pass(c, "Autodiscover points at Microsoft 365", "%s CNAME %s", name,
		           res.rr[0].data);
	}
out:
	dns_result_free(&res);
	free(name);
}
