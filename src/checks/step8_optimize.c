/* mailferry - step 8: MX TTL lowered ahead of the cut-over; the source takes the concurrency */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "batch/connect.h"
#include "batch/csvin.h"
#include "batch/ledger.h"
#include "checks/checks_list.h"
#include "checks/checks_p.h"
#include "imap/session.h"
#include "net/dns.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

/* ---------------------------------------------------------------- dns.mx_ttl */

/* The MX records from the zone's own servers, or else from the resolver
 * (a cache's countdown: then the TTL is a lower bound). *from_cache says which. */
static int mx_lookup(struct check_ctx *c, struct dns_result *res, int *from_cache, char *why,
                     size_t nwhy)
{
	const struct dns_resolver *r;
	struct mf_err err;

	*from_cache = 0;
	if (check_resolver(c, &r))
		return -1;
	if (dns_query_auth(r, c->subject, DNS_T_MX, res, &err) == 0)
		return 0;
	snprintf(why, nwhy, "%s", res->summary);
	dns_result_free(res);
	memset(res, 0, sizeof(*res));
	*from_cache = 1;
	if (dns_query(r, c->subject, DNS_T_MX, res, &err) == 0)
		return 0;
	check_dns_failed(c, res, "MX");
	return -1;
}

/* "ttl@epoch" */
static int parse_seen(const char *v, uint32_t *ttl, int64_t *when)
{
	unsigned long t;
	long long w;

	if (!v || sscanf(v, "%lu@%lld", &t, &w) != 2)
		return -1;
	*ttl = (uint32_t)t;
	*when = w;
	return 0;
}

static void ttl_high(struct check_ctx *c, uint32_t ttl, int64_t now)
{
	char until[32], dur[16];

	time_rfc3339(until, sizeof(until), (time_t)(now + ttl));
	format_duration(dur, sizeof(dur), ttl);
	check_warn(c, "The MX TTL is above 3,600 s",
	           "the MX records of %s live %" PRIu32 " s (%s) in caches", c->subject, ttl, dur);
	check_remedy(c,
	             "Lower the TTL of the MX records of %s to 3600 s or less at your DNS host, "
	             "well ahead of the cut-over: resolvers keep a cached copy for up to the old "
	             "TTL, so if you lower it now the lowered TTL will have reached every cache by "
	             "%s; change the MX only after that.",
	             c->subject, until);
}

/* The TTL is low now; it was seen higher before (at old_when, lowered first
 * seen at lowered_at): caches may hold the old TTL until lowered_at + old_ttl. */
static void ttl_lowered(struct check_ctx *c, uint32_t ttl, uint32_t old_ttl, int64_t lowered_at,
                        int64_t now)
{
	int64_t everywhere = lowered_at + old_ttl;
	char when[32];

	time_rfc3339(when, sizeof(when), (time_t)everywhere);
	if (now < everywhere) {
		check_warn(c, "The MX TTL was lowered; caches may still hold the old one",
		           "now %" PRIu32 " s (was %" PRIu32
		           " s): the lowered TTL will have expired "
		           "everywhere at %s",
		           ttl, old_ttl, when);
		check_remedy(c, "Change the MX record of %s only after %s.", c->subject, when);
	} else {
		check_pass(c, "The MX TTL is lowered, everywhere",
		           "%" PRIu32 " s (was %" PRIu32
		           " s); every cache has the lowered TTL since %s",
		           ttl, old_ttl, when);
	}
}

void check_dns_mx_ttl(struct check_ctx *c)
{
	struct dns_result res = {0};
	char why[400] = "", *prev_v, *low_v, v[64];
	uint32_t ttl, prev_ttl = 0, low_old = 0;
	int64_t now = (int64_t)time(NULL), prev_when = 0, low_when = 0;
	int from_cache;

	if (check_skip_demo(c, "public DNS"))
		return;
	if (mx_lookup(c, &res, &from_cache, why, sizeof(why))) {
		dns_result_free(&res);
		return;
	}
	if (res.status == DNS_NXDOMAIN || res.status == DNS_NODATA) {
		check_fail(c,
		           res.status == DNS_NXDOMAIN ? "The domain does not exist in DNS"
		                                      : "The domain has no MX record",
		           "%s", res.summary);
		check_remedy(c,
		             "Check the spelling of %s in the CSV and its zone at your DNS host.",
		             c->subject);
		dns_result_free(&res);
		return;
	}
	ttl = dns_result_max_ttl(&res);
	prev_v = check_state_get(c, "mx_ttl", c->subject);
	low_v = check_state_get(c, "mx_ttl_lowered", c->subject);
	parse_seen(prev_v, &prev_ttl, &prev_when);
	parse_seen(low_v, &low_old, &low_when);
	if (low_v && !*low_v) { /* "" is how a forgotten sighting is stored */
		free(low_v);
		low_v = NULL;
	}
	if (ttl > DNS_M365_MX_TTL_MAX) {
		ttl_high(c, ttl, now);
		if (low_v) /* raised again: a later lowering starts afresh */
			check_state_set(c, "mx_ttl_lowered", c->subject, "");
	} else if (prev_ttl > DNS_M365_MX_TTL_MAX || low_v) {
		if (!low_v) { /* first seen lowered now */
			low_old = prev_ttl;
			low_when = now;
			snprintf(v, sizeof(v), "%" PRIu32 "@%lld", low_old, (long long)now);
			check_state_set(c, "mx_ttl_lowered", c->subject, v);
		}
		ttl_lowered(c, ttl, low_old, low_when, now);
	} else {
		check_pass(c, "The MX TTL is 3,600 s or less", "%" PRIu32 " s on %s", ttl,
		           c->subject);
	}
	snprintf(v, sizeof(v), "%" PRIu32 "@%lld", ttl, (long long)now);
	check_state_set(c, "mx_ttl", c->subject, v);
	check_detail(c, "%s", res.summary);
	if (from_cache)
		check_detail(c,
		             "the zone's own servers could not be asked (%s); this TTL comes from "
		             "a resolver's cache, which counts down: the zone's TTL may be higher",
		             why);
	free(prev_v);
	free(low_v);
	dns_result_free(&res);
}

/* ---------------------------------------------------------------- source.concurrency */

void check_source_concurrency(struct check_ctx *c)
{
	const struct mf_batch_settings *s = c->env->set;
	const struct csvin_row *row =
	        c->env->rows && c->env->rows->nrows ? &c->env->rows->rows[0] : NULL;
	unsigned want = s->concurrency ? s->concurrency : 8, opened = 0;
	struct imap_conn **conns;
	struct mf_login src = {0}, tgt = {0};
	struct ledger_mailbox mb = {0};
	struct batch_conn_opts o = {
	        .source = 1, .label = "check source (concurrency)", .cancel = c->stop};
	struct mf_err err;
	int admin = s->source.auth == MF_AUTH_ADMIN;

	if (!row) {
		check_skip(c, "No mailbox to log in with", "the CSV has no rows (see csv.valid)");
		return;
	}
	mb.email = row->email;
	if (!(conns = mf_calloc(want, sizeof(*conns))) ||
	    batch_logins(c->env->batch, &mb, &src, &tgt, &err)) {
		if (!conns)
			mf_fail_nomem(&err, MF_SCOPE_BATCH);
		check_fail(c, "Cannot prepare the logins", "%s", err.msg);
		free(conns);
		return;
	}
	check_server_take_all(c, 1);
	for (; opened < want && !check_cancelled(c); opened++) {
		o.timeout_ms = check_left_ms(c);
		o.connect_timeout_ms = check_left_ms(c);
		if (batch_connect(c->env->batch, &o, &src, &conns[opened], &err))
			break;
	}
	if (opened == want) {
		check_pass(c, "The source accepts the chosen concurrency",
		           "%u connections at once, all logged in as %s", want, src.user);
	} else if (!check_cancelled(c)) {
		if (admin)
			check_fail(c,
			           "The source refused a connection below the chosen concurrency",
			           "connection %u of %u as %s: %s", opened + 1, want, src.user,
			           err.msg);
		else
			check_warn(c,
			           "The source refused a connection below the chosen concurrency",
			           "connection %u of %u as %s: %s", opened + 1, want, src.user,
			           err.msg);
		if (admin)
			check_remedy(
			        c,
			        "Every mailbox logs in with the admin account: raise the "
			        "source's limit of connections per user and per IP (Dovecot: "
			        "mail_max_userip_connections; Exchange: MaxConnectionsPerUser), "
			        "or lower the concurrency: mailferry batch set %s --concurrency "
			        "%u.",
			        s->name ? s->name : "NAME", opened ? opened : 1);
		else
			check_remedy(
			        c,
			        "Each mailbox logs in as its own user, so a per-user limit "
			        "matters less; if the limit is per IP (firewall, IDS), raise it "
			        "or lower the concurrency: mailferry batch set %s --concurrency "
			        "%u.",
			        s->name ? s->name : "NAME", opened ? opened : 1);
	}
	imap_close_many(conns, opened < want ? opened : want);
	check_server_give_all(c, 1);
	mf_login_clear(&src);
	mf_login_clear(&tgt);
	free(conns);
}
