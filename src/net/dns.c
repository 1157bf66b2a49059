/* mailferry - DNS lookups for the prerequisite checks (see dns.h) */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/dns.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

#define DNS_MAX_HOPS         8     /* CNAMEs followed for one question */
#define DNS_PKT_MAX          65535 /* largest DNS message (TCP length field) */
#define DNS_QUERY_MAX        (12 + NS_MAXCDNAME + 4)
#define DNS_DEFAULT_TOTAL_MS 20000
#define DNS_DEFAULT_TRY_MS   3000
#define DNS_AUTH_MAX_NS      4 /* NS hosts looked up in authoritative mode */
#define DNS_SCOPE            MF_SCOPE_CONN

struct dns_server {
	struct sockaddr_storage ss;
	socklen_t len;
	char label[320]; /* "192.0.2.1:53", "[::1]:53", "ns1.x (192.0.2.1:53)" */
};

struct dns_resolver {
	struct dns_server srv[DNS_MAX_SERVERS];
	size_t n;
	int timeout_ms;
	int attempts;
	int total_ms;
	uint16_t auth_port;
};

/* One question put to a list of servers. */
struct dns_ask {
	const struct dns_server *srv;
	size_t n;
	int rd;      /* recursion desired */
	int need_aa; /* only an authoritative answer counts */
	int attempts;
	int timeout_ms;
	int64_t deadline; /* mono_ms() after which nothing more is sent or awaited */
};

/* Why the last exchange did not give an answer, for the summary. */
struct dns_why {
	char detail[200];
	int timeout_ms;
	int tries;
};

/* snprintf whose truncation is intended (summaries are cut, never overflow). */
static void dns_fmt(char *dst, size_t n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void dns_fmt(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- names */

static size_t dns_name_len(const char *s)
{
	size_t n = strlen(s);

	if (n > 1 && s[n - 1] == '.')
		n--;
	return n;
}

/* Case-insensitive comparison that ignores one trailing dot. */
static int dns_name_eq(const char *a, const char *b)
{
	size_t la = dns_name_len(a), lb = dns_name_len(b);

	return la == lb && strncasecmp(a, b, la) == 0;
}

/* Whether `suffix` is `name` or one of its parent domains. */
static int dns_name_under(const char *name, const char *suffix)
{
	size_t ln = dns_name_len(name), ls = dns_name_len(suffix);

	if (ls == 1 && suffix[0] == '.')
		return 1;
	if (ls > ln || strncasecmp(name + ln - ls, suffix, ls) != 0)
		return 0;
	return ls == ln || name[ln - ls - 1] == '.';
}

/* A copy without the trailing dot ("." stays "."; "" becomes "."). */
static char *dns_name_dup(const char *s)
{
	if (!*s)
		return mf_strdup(".");
	return mf_strndup(s, dns_name_len(s));
}

/* Names we are willing to put in a query: printable ASCII without blanks or
 * backslashes (no presentation-format escapes from the admin), no empty label,
 * at most 253 characters without the trailing dot. */
static int dns_name_valid(const char *s)
{
	size_t n = dns_name_len(s);

	if (n == 0 || n > 253 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '\\')
			return 0;
		if (c == '.' && (i + 1 == n || s[i + 1] == '.'))
			return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------- words */

const char *dns_status_name(enum dns_status st)
{
	static const char *const names[] = {
	        "ANSWER",  "NODATA",      "NXDOMAIN",  "SERVFAIL", "REFUSED",    "RCODE",
	        "TIMEOUT", "UNREACHABLE", "MALFORMED", "NOT_AUTH", "CNAME_LOOP", "LOCAL",
	};

	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "UNKNOWN";
}

const char *dns_status_text(enum dns_status st)
{
	switch (st) {
	case DNS_ANSWER:
		return "answer";
	case DNS_NODATA:
		return "the name exists but has no record of this type";
	case DNS_NXDOMAIN:
		return "the domain does not exist";
	case DNS_SERVFAIL:
		return "the DNS server failed to answer (SERVFAIL)";
	case DNS_REFUSED:
		return "the DNS server refused the query (REFUSED)";
	case DNS_RCODE:
		return "the DNS server answered with an error";
	case DNS_TIMEOUT:
		return "no answer from the DNS server (timeout)";
	case DNS_UNREACHABLE:
		return "the DNS server could not be reached";
	case DNS_MALFORMED:
		return "the DNS answer was malformed";
	case DNS_NOT_AUTH:
		return "the server does not serve this zone (lame delegation)";
	case DNS_CNAME_LOOP:
		return "the name is an alias (CNAME) chain that loops or never ends";
	case DNS_LOCAL:
		return "the lookup could not be made";
	}
	return "unknown DNS outcome";
}

const char *dns_type_name(uint16_t type)
{
	switch (type) {
	case DNS_T_A:
		return "A";
	case DNS_T_NS:
		return "NS";
	case DNS_T_CNAME:
		return "CNAME";
	case DNS_T_SOA:
		return "SOA";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	}
	return "other";
}

static const char *dns_rcode_name(int rcode)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
	                                    "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
	                                    "NXRRSET", "NOTAUTH", "NOTZONE"};

	return rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]) ? names[rcode]
	                                                                      : "unknown";
}

/* ---------------------------------------------------------------- results */

void dns_result_free(struct dns_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->n_rr; i++) {
		free(res->rr[i].owner);
		free(res->rr[i].data);
	}
	free(res->rr);
	for (size_t i = 0; i < res->n_chain; i++)
		free(res->chain[i]);
	free(res->chain);
	free(res->qname);
	free(res->canonical);
	free(res->zone);
	memset(res, 0, sizeof(*res));
}

/* Starts a result for the question: qname and chain = [qname]. */
static int dns_result_start(struct dns_result *res, const char *qname, uint16_t qtype)
{
	memset(res, 0, sizeof(*res));
	res->qtype = qtype;
	res->rcode = -1;
	res->status = DNS_LOCAL;
	res->qname = dns_name_dup(qname);
	res->chain = mf_calloc(1, sizeof(*res->chain));
	if (!res->qname || !res->chain)
		return -1;
	res->chain[0] = mf_strdup(res->qname);
	if (!res->chain[0])
		return -1;
	res->n_chain = 1;
	return 0;
}

static int dns_chain_has(const struct dns_result *res, const char *name)
{
	for (size_t i = 0; i < res->n_chain; i++)
		if (dns_name_eq(res->chain[i], name))
			return 1;
	return 0;
}

/* Appends a name to the chain (no check). 0 or -1 out of memory. */
static int dns_chain_push(struct dns_result *res, const char *name)
{
	char **c = mf_realloc(res->chain, (res->n_chain + 1) * sizeof(*c));

	if (!c)
		return -1;
	res->chain = c;
	c[res->n_chain] = dns_name_dup(name);
	if (!c[res->n_chain])
		return -1;
	res->n_chain++;
	return 0;
}

/* Appends a CNAME target to the chain; 1 when it closes a loop (the name is
 * appended once more, so the chain shows the loop: a -> b -> a) or makes the
 * chain too long, 0 when appended, -1 out of memory. */
static int dns_chain_add(struct dns_result *res, const char *name)
{
	if (dns_chain_has(res, name))
		return dns_chain_push(res, name) < 0 ? -1 : 1;
	if (res->n_chain > DNS_MAX_HOPS)
		return 1;
	return dns_chain_push(res, name) < 0 ? -1 : 0;
}

/* Whether the chain ends with a name seen before (a loop, not just long). */
static int dns_chain_loops(const struct dns_result *res)
{
	for (size_t i = 0; i + 1 < res->n_chain; i++)
		if (dns_name_eq(res->chain[i], res->chain[res->n_chain - 1]))
			return 1;
	return 0;
}

static struct dns_rr *dns_rr_add(struct dns_result *res)
{
	struct dns_rr *v = mf_realloc(res->rr, (res->n_rr + 1) * sizeof(*v));

	if (!v)
		return NULL;
	res->rr = v;
	memset(&v[res->n_rr], 0, sizeof(v[0]));
	return &v[res->n_rr++];
}

uint32_t dns_result_min_ttl(const struct dns_result *res)
{
	uint32_t m = 0;

	for (size_t i = 0; i < res->n_rr; i++)
		if (i == 0 || res->rr[i].ttl < m)
			m = res->rr[i].ttl;
	return m;
}

uint32_t dns_result_max_ttl(const struct dns_result *res)
{
	uint32_t m = 0;

	for (size_t i = 0; i < res->n_rr; i++)
		if (res->rr[i].ttl > m)
			m = res->rr[i].ttl;
	return m;
}

static int dns_mx_cmp(const void *a, const void *b)
{
	const struct dns_rr *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcasecmp(x->data, y->data);
}

/* ---------------------------------------------------------------- packet decoding */

/* Decodes a (possibly compressed) name that must fill [p, p + len) exactly. */
static int dns_rdata_name(const ns_msg *h, const unsigned char *p, size_t len, char *out,
                          size_t outsz)
{
	int n;

	if (len == 0)
		return -1;
	n = ns_name_uncompress(ns_msg_base(*h), ns_msg_end(*h), p, out, outsz);
	if (n < 0 || (size_t)n != len)
		return -1;
	return 0;
}

/* TXT: <len><bytes>... joined, with non-printable bytes and '\' as \DDD.
 * 0, -1 when a string runs past the record, -2 out of memory. */
static int dns_txt_join(const unsigned char *p, size_t len, char **text)
{
	char *out = mf_malloc(len * 4 + 1), *o = out;
	size_t off = 0;

	if (!out)
		return -2;
	while (off < len) {
		size_t l = p[off++];

		if (l > len - off) {
			free(out);
			return -1;
		}
		for (size_t i = 0; i < l; i++) {
			unsigned char c = p[off + i];

			if (c < 0x20 || c > 0x7e || c == '\\')
				o += sprintf(o, "\\%03u", (unsigned)c);
			else
				*o++ = (char)c;
		}
		off += l;
	}
	*o = 0;
	*text = out;
	return 0;
}

/* SOA: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM, nothing more or less. */
static int dns_soa_decode(const ns_msg *h, const unsigned char *p, size_t len, struct dns_rr *rec)
{
	char mname[NS_MAXDNAME], rname[NS_MAXDNAME];
	int n1, n2;

	if (len == 0)
		return -1;
	n1 = ns_name_uncompress(ns_msg_base(*h), ns_msg_end(*h), p, mname, sizeof(mname));
	if (n1 <= 0 || (size_t)n1 >= len)
		return -1;
	n2 = ns_name_uncompress(ns_msg_base(*h), ns_msg_end(*h), p + n1, rname, sizeof(rname));
	if (n2 <= 0 || len - (size_t)n1 < (size_t)n2 || len - (size_t)n1 - (size_t)n2 != 20)
		return -1;
	p += len - 4;
	rec->soa_minimum = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	rec->data = dns_name_dup(mname);
	return rec->data ? 0 : -2;
}

/* Fills rec->data (and pref / soa_minimum) from an RR's rdata.  0, -1 when the
 * rdata is malformed, -2 out of memory. */
static int dns_rr_decode(const ns_msg *h, const ns_rr *rr, struct dns_rr *rec)
{
	const unsigned char *p = ns_rr_rdata(*rr);
	size_t len = ns_rr_rdlen(*rr);
	char name[NS_MAXDNAME];
	char addr[INET6_ADDRSTRLEN];

	switch (rec->type) {
	case DNS_T_MX:
		if (len < 3 || dns_rdata_name(h, p + 2, len - 2, name, sizeof(name)) < 0)
			return -1;
		rec->pref = (uint16_t)(p[0] << 8 | p[1]);
		rec->data = dns_name_dup(name);
		break;
	case DNS_T_CNAME:
	case DNS_T_NS:
		if (dns_rdata_name(h, p, len, name, sizeof(name)) < 0)
			return -1;
		rec->data = dns_name_dup(name);
		break;
	case DNS_T_A:
	case DNS_T_AAAA:
		if (len != (rec->type == DNS_T_A ? 4u : 16u) ||
		    !inet_ntop(rec->type == DNS_T_A ? AF_INET : AF_INET6, p, addr, sizeof(addr)))
			return -1;
		rec->data = mf_strdup(addr);
		break;
	case DNS_T_TXT:
		return dns_txt_join(p, len, &rec->data);
	case DNS_T_SOA:
		return dns_soa_decode(h, p, len, rec);
	default:
		return -1;
	}
	return rec->data ? 0 : -2;
}

/* RFC 2181 8: a TTL with the top bit set is read as zero. */
static uint32_t dns_ttl(const ns_rr *rr)
{
	uint32_t t = ns_rr_ttl(*rr);

	return t > 0x7fffffffu ? 0 : t;
}

/* A packet that fails half-way leaves no records behind. */
static void dns_rr_clear(struct dns_result *res)
{
	for (size_t i = 0; i < res->n_rr; i++) {
		free(res->rr[i].owner);
		free(res->rr[i].data);
	}
	free(res->rr);
	res->rr = NULL;
	res->n_rr = 0;
}

static int dns_malformed(struct dns_result *res, struct mf_err *err, const char *why)
{
	dns_rr_clear(res);
	res->status = DNS_MALFORMED;
	return mf_fail(err, DNS_SCOPE, MF_E_PROTO, "%s", why);
}

static int dns_nomem(struct dns_result *res, struct mf_err *err)
{
	dns_rr_clear(res);
	res->status = DNS_LOCAL;
	return mf_fail_nomem(err, DNS_SCOPE);
}

/* Checks the header and that the only question is ours. */
static int dns_check_question(ns_msg *h, const char *qname, uint16_t qtype, struct dns_result *res,
                              struct mf_err *err)
{
	ns_rr q;

	if (!ns_msg_getflag(*h, ns_f_qr))
		return dns_malformed(res, err, "the packet is a query, not an answer");
	if (ns_msg_getflag(*h, ns_f_opcode) != ns_o_query)
		return dns_malformed(res, err, "the answer has an unexpected opcode");
	if (ns_msg_count(*h, ns_s_qd) != 1)
		return dns_malformed(res, err, "the answer does not repeat exactly one question");
	if (ns_parserr(h, ns_s_qd, 0, &q) < 0)
		return dns_malformed(res, err, "the question in the answer cannot be decoded");
	if (!dns_name_eq(*ns_rr_name(q) ? ns_rr_name(q) : ".", qname) || ns_rr_type(q) != qtype ||
	    ns_rr_class(q) != ns_c_in)
		return dns_malformed(res, err, "the answer is for another question");
	return 0;
}

/* Follows CNAMEs inside the answer section from res->chain's last name.
 * Returns the final owner index in the chain via res, 0, or -1. */
static int dns_follow_cnames(ns_msg *h, struct dns_result *res, struct mf_err *err)
{
	int nan = ns_msg_count(*h, ns_s_an);

	for (;;) {
		const char *cur = res->chain[res->n_chain - 1];
		int found = 0;

		for (int i = 0; i < nan && !found; i++) {
			ns_rr rr;
			struct dns_rr tmp = {.type = DNS_T_CNAME};
			int rc;

			if (ns_parserr(h, ns_s_an, i, &rr) < 0)
				return dns_malformed(res, err,
				                     "an answer record cannot be decoded");
			if (ns_rr_type(rr) != ns_t_cname || ns_rr_class(rr) != ns_c_in ||
			    !dns_name_eq(ns_rr_name(rr), cur))
				continue;
			rc = dns_rr_decode(h, &rr, &tmp);
			if (rc == -2)
				return dns_nomem(res, err);
			if (rc < 0)
				return dns_malformed(res, err, "a CNAME record is malformed");
			rc = dns_chain_add(res, tmp.data);
			free(tmp.data);
			if (rc < 0)
				return dns_nomem(res, err);
			if (rc > 0) {
				res->status = DNS_CNAME_LOOP;
				return mf_fail(err, DNS_SCOPE, MF_E_RESOLVE, "%s",
				               dns_status_text(DNS_CNAME_LOOP));
			}
			found = 1;
		}
		if (!found)
			return 0;
	}
}

/* Collects the records of qtype owned by `owner` from the answer section. */
static int dns_collect(ns_msg *h, const char *owner, uint16_t qtype, struct dns_result *res,
                       struct mf_err *err)
{
	int nan = ns_msg_count(*h, ns_s_an);

	for (int i = 0; i < nan; i++) {
		ns_rr rr;
		struct dns_rr *rec;
		int rc;

		if (ns_parserr(h, ns_s_an, i, &rr) < 0)
			return dns_malformed(res, err, "an answer record cannot be decoded");
		if (ns_rr_type(rr) != qtype || ns_rr_class(rr) != ns_c_in ||
		    !dns_name_eq(ns_rr_name(rr), owner))
			continue;
		rec = dns_rr_add(res);
		if (!rec)
			return dns_nomem(res, err);
		rec->type = qtype;
		rec->ttl = dns_ttl(&rr);
		rec->owner = dns_name_dup(ns_rr_name(rr));
		if (!rec->owner)
			return dns_nomem(res, err);
		rc = dns_rr_decode(h, &rr, rec);
		if (rc == -2)
			return dns_nomem(res, err);
		if (rc < 0)
			return dns_malformed(res, err, "a record's data is malformed");
	}
	if (qtype == DNS_T_MX && res->n_rr > 1)
		qsort(res->rr, res->n_rr, sizeof(res->rr[0]), dns_mx_cmp);
	return 0;
}

/* The zone apex and negative TTL from an SOA in the authority section. */
static int dns_authority_soa(ns_msg *h, struct dns_result *res, struct mf_err *err)
{
	int nns = ns_msg_count(*h, ns_s_ns);

	for (int i = 0; i < nns; i++) {
		ns_rr rr;
		struct dns_rr soa = {.type = DNS_T_SOA};
		int rc;

		if (ns_parserr(h, ns_s_ns, i, &rr) < 0)
			return dns_malformed(res, err, "an authority record cannot be decoded");
		if (ns_rr_type(rr) != ns_t_soa || ns_rr_class(rr) != ns_c_in)
			continue;
		rc = dns_rr_decode(h, &rr, &soa);
		free(soa.data);
		if (rc == -2)
			return dns_nomem(res, err);
		if (rc < 0)
			return dns_malformed(res, err, "the SOA record is malformed");
		free(res->zone);
		res->zone = dns_name_dup(ns_rr_name(rr));
		if (!res->zone)
			return dns_nomem(res, err);
		res->neg_ttl = dns_ttl(&rr) < soa.soa_minimum ? dns_ttl(&rr) : soa.soa_minimum;
		break;
	}
	return 0;
}

/* Decodes one answer into a result started for (qname, qtype).  *follow is
 * set when the CNAME chain leaves the packet and must be asked again. */
static int dns_parse_into(const unsigned char *pkt, size_t len, uint16_t qtype, int follow_cname,
                          struct dns_result *res, int *follow, struct mf_err *err)
{
	ns_msg h;
	const char *cur;

	*follow = 0;
	if (len < NS_HFIXEDSZ || len > DNS_PKT_MAX || ns_initparse(pkt, (int)len, &h) < 0)
		return dns_malformed(res, err, "the answer's sections do not fit in the packet");
	if (dns_check_question(&h, res->qname, qtype, res, err) < 0)
		return -1;
	res->rcode = (int)ns_msg_getflag(h, ns_f_rcode);
	res->authoritative = ns_msg_getflag(h, ns_f_aa) ? 1 : 0;
	if (follow_cname && qtype != DNS_T_CNAME && dns_follow_cnames(&h, res, err) < 0)
		return -1;
	cur = res->chain[res->n_chain - 1];
	res->canonical = mf_strdup(cur);
	if (!res->canonical)
		return dns_nomem(res, err);
	if (dns_collect(&h, cur, qtype, res, err) < 0 || dns_authority_soa(&h, res, err) < 0)
		return -1;
	if (qtype == DNS_T_SOA && res->n_rr > 0) {
		free(res->zone);
		res->zone = mf_strdup(res->rr[0].owner);
		if (!res->zone)
			return dns_nomem(res, err);
	}
	if (res->rcode != ns_r_noerror)
		dns_rr_clear(res); /* records with an error code are not an answer */
	switch (res->rcode) {
	case ns_r_noerror:
		res->status = res->n_rr ? DNS_ANSWER : DNS_NODATA;
		*follow = !res->n_rr && res->n_chain > 1;
		break;
	case ns_r_nxdomain:
		res->status = DNS_NXDOMAIN;
		break;
	case ns_r_servfail:
		res->status = DNS_SERVFAIL;
		break;
	case ns_r_refused:
		res->status = DNS_REFUSED;
		break;
	default:
		res->status = DNS_RCODE;
		break;
	}
	return 0;
}

int dns_parse_response(const unsigned char *pkt, size_t len, const char *qname, uint16_t qtype,
                       struct dns_result *out, struct mf_err *err)
{
	int follow;

	if (dns_result_start(out, qname, qtype) < 0)
		return dns_nomem(out, err);
	return dns_parse_into(pkt, len, qtype, 1, out, &follow, err);
}

/* ---------------------------------------------------------------- servers */

static void dns_server_label(struct dns_server *s)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (s->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&s->ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		dns_fmt(s->label, sizeof(s->label), "[%s]:%u", a, (unsigned)ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&s->ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		dns_fmt(s->label, sizeof(s->label), "%s:%u", a, (unsigned)ntohs(s4->sin_port));
	}
}

static int dns_parse_port(const char *p, uint16_t *port)
{
	unsigned long v = 0;

	if (!*p || strlen(p) > 5)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int dns_parse_server(const char *spec, void *ssp, unsigned *sslen, struct mf_err *err)
{
	struct sockaddr_storage *ss = ssp;
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_s = NULL, *colon;
	uint16_t port = 53;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (!spec || !*spec)
		return mf_fail(err, MF_SCOPE_CONN, MF_E_CONFIG, "empty DNS server address");
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end || (end[1] && end[1] != ':'))
			goto bad;
		hl = (size_t)(end - spec - 1);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, hl);
		host[hl] = 0;
		if (end[1] == ':')
			port_s = end + 2;
	} else {
		colon = strchr(spec, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
		hl = colon ? (size_t)(colon - spec) : strlen(spec);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, spec, hl);
		host[hl] = 0;
		if (colon)
			port_s = colon + 1;
	}
	if (port_s && dns_parse_port(port_s, &port) < 0)
		goto bad;
	if (strchr(host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*sslen = sizeof(*s4);
	}
	return 0;
bad:
	return mf_fail(err, MF_SCOPE_CONN, MF_E_CONFIG,
	               "DNS server \"%.100s\" is not a numeric address like 192.0.2.1, "
	               "192.0.2.1:5353 or [2001:db8::1]:53",
	               spec);
}

static void dns_apply_opts(struct dns_resolver *r, const struct dns_opts *o, int def_timeout,
                           int def_attempts)
{
	r->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : def_timeout;
	r->attempts = o && o->attempts > 0 ? o->attempts : def_attempts;
	r->total_ms = o && o->total_ms > 0 ? o->total_ms : DNS_DEFAULT_TOTAL_MS;
	r->auth_port = o && o->auth_port ? o->auth_port : 53;
	if (r->attempts > 10)
		r->attempts = 10;
}

struct dns_resolver *dns_resolver_new(const char *const *servers, size_t n,
                                      const struct dns_opts *opts, struct mf_err *err)
{
	struct dns_resolver *r;

	if (n == 0 || n > DNS_MAX_SERVERS) {
		mf_fail(err, MF_SCOPE_CONN, MF_E_CONFIG, "between 1 and %d DNS servers are needed",
		        DNS_MAX_SERVERS);
		return NULL;
	}
	r = mf_calloc(1, sizeof(*r));
	if (!r) {
		mf_fail_nomem(err, MF_SCOPE_CONN);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned len;

		if (dns_parse_server(servers[i], &r->srv[i].ss, &len, err) < 0) {
			free(r);
			return NULL;
		}
		r->srv[i].len = (socklen_t)len;
		dns_server_label(&r->srv[i]);
	}
	r->n = n;
	dns_apply_opts(r, opts, DNS_DEFAULT_TRY_MS, 2);
	return r;
}

struct dns_resolver *dns_resolver_system(const struct dns_opts *opts, struct mf_err *err)
{
	struct __res_state st;
	struct dns_resolver *r;
	int def_timeout, def_attempts;

	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) != 0) {
		mf_fail(err, MF_SCOPE_CONN, MF_E_CONFIG,
		        "cannot read the resolver configuration (/etc/resolv.conf)");
		return NULL;
	}
	r = mf_calloc(1, sizeof(*r));
	if (!r) {
		res_nclose(&st);
		mf_fail_nomem(err, MF_SCOPE_CONN);
		return NULL;
	}
	for (int i = 0; i < st.nscount && i < MAXNS && r->n < DNS_MAX_SERVERS; i++) {
		struct dns_server *s = &r->srv[r->n];

		if (st.nsaddr_list[i].sin_family == AF_INET) {
			memcpy(&s->ss, &st.nsaddr_list[i], sizeof(st.nsaddr_list[i]));
			s->len = sizeof(struct sockaddr_in);
		} else if (st._u._ext.nsaddrs[i] &&
		           st._u._ext.nsaddrs[i]->sin6_family == AF_INET6) {
			/* glibc keeps IPv6 nameservers here (nsaddr_list holds AF_INET only) */
			memcpy(&s->ss, st._u._ext.nsaddrs[i], sizeof(struct sockaddr_in6));
			s->len = sizeof(struct sockaddr_in6);
		} else {
			continue;
		}
		dns_server_label(s);
		r->n++;
	}
	def_timeout = st.retrans > 0 && st.retrans <= 30 ? st.retrans * 1000 : 5000;
	def_attempts = st.retry > 0 ? st.retry : 2;
	res_nclose(&st);
	if (r->n == 0) {
		free(r);
		mf_fail(err, MF_SCOPE_CONN, MF_E_CONFIG,
		        "no usable nameserver in the resolver configuration (/etc/resolv.conf)");
		return NULL;
	}
	dns_apply_opts(r, opts, def_timeout, def_attempts);
	return r;
}

void dns_resolver_free(struct dns_resolver *r)
{
	free(r);
}

static void dns_describe_servers(const struct dns_server *s, size_t n, char *out, size_t size)
{
	size_t used = 0;

	if (!size)
		return;
	out[0] = 0;
	for (size_t i = 0; i < n && used + 1 < size; i++) {
		int w = snprintf(out + used, size - used, "%s%s", i ? ", " : "", s[i].label);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

void dns_resolver_describe(const struct dns_resolver *r, char *out, size_t n)
{
	dns_describe_servers(r->srv, r->n, out, n);
}

/* ---------------------------------------------------------------- the exchange */

/* Waits until fd is ready for ev or the deadline passes: 1, 0 (timeout), -1. */
static int dns_wait(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ms();
		struct pollfd p = {.fd = fd, .events = ev};
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static uint16_t dns_new_id(void)
{
	uint16_t id;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
		id = (uint16_t)(mono_ms() ^ (int64_t)getpid());
	return id;
}

static int dns_build_query(const char *name, uint16_t type, int rd, unsigned char *q, size_t *qlen)
{
	int n;

	memset(q, 0, NS_HFIXEDSZ);
	q[2] = rd ? 0x01 : 0x00; /* opcode QUERY, RD */
	q[5] = 1;                /* QDCOUNT */
	n = dn_comp(name, q + NS_HFIXEDSZ, DNS_QUERY_MAX - NS_HFIXEDSZ - 4, NULL, NULL);
	if (n <= 0)
		return -1;
	q[NS_HFIXEDSZ + n] = (unsigned char)(type >> 8);
	q[NS_HFIXEDSZ + n + 1] = (unsigned char)type;
	q[NS_HFIXEDSZ + n + 2] = 0;
	q[NS_HFIXEDSZ + n + 3] = ns_c_in;
	*qlen = NS_HFIXEDSZ + (size_t)n + 4;
	return 0;
}

static void dns_set_id(unsigned char *q, uint16_t id)
{
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
}

static int dns_id_matches(const unsigned char *a, size_t n, uint16_t id)
{
	return n >= 2 && a[0] == (unsigned char)(id >> 8) && a[1] == (unsigned char)id;
}

static void dns_why_errno(struct dns_why *w, const char *what, int e)
{
	char buf[128];

	/* strerror_r is the thread-safe one; the GNU variant returns the text */
	dns_fmt(w->detail, sizeof(w->detail), "%s: %s", what, strerror_r(e, buf, sizeof(buf)));
}

/* One UDP try.  Returns DNS_ANSWER with *alen set, DNS_TIMEOUT, DNS_UNREACHABLE
 * or DNS_LOCAL. */
static enum dns_status dns_udp(const struct dns_server *s, const unsigned char *q, size_t qlen,
                               uint16_t id, int64_t deadline, unsigned char *a, size_t *alen,
                               struct dns_why *w)
{
	int fd = socket(s->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	enum dns_status st = DNS_TIMEOUT;

	if (fd < 0) {
		dns_why_errno(w, "cannot open a UDP socket", errno);
		return DNS_LOCAL;
	}
	/* connect(): the kernel then only hands us datagrams from that server */
	if (connect(fd, (const struct sockaddr *)&s->ss, s->len) < 0 ||
	    send(fd, q, qlen, MSG_NOSIGNAL) < 0) {
		dns_why_errno(w, "cannot send", errno);
		close(fd);
		return DNS_UNREACHABLE;
	}
	for (;;) {
		ssize_t n;
		int rc = dns_wait(fd, POLLIN, deadline);

		if (rc == 0)
			break;
		if (rc < 0) {
			dns_why_errno(w, "poll", errno);
			st = DNS_LOCAL;
			break;
		}
		n = recv(fd, a, DNS_PKT_MAX, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			dns_why_errno(w, "no DNS service", errno);
			st = DNS_UNREACHABLE;
			break;
		}
		if (!dns_id_matches(a, (size_t)n, id) || (size_t)n < NS_HFIXEDSZ || !(a[2] & 0x80))
			continue; /* not the answer to this query: keep waiting */
		*alen = (size_t)n;
		st = DNS_ANSWER;
		break;
	}
	close(fd);
	return st;
}

/* Reads or writes exactly n bytes on a non-blocking socket before the deadline.
 * 0, or a status (DNS_TIMEOUT, DNS_UNREACHABLE, DNS_MALFORMED on early EOF). */
static enum dns_status dns_tcp_io(int fd, unsigned char *buf, size_t n, int out, int64_t deadline,
                                  struct dns_why *w)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k;
		int rc = dns_wait(fd, out ? POLLOUT : POLLIN, deadline);

		if (rc == 0)
			return DNS_TIMEOUT;
		if (rc < 0) {
			dns_why_errno(w, "poll", errno);
			return DNS_LOCAL;
		}
		k = out ? send(fd, buf + done, n - done, MSG_NOSIGNAL)
		        : recv(fd, buf + done, n - done, 0);
		if (k < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			dns_why_errno(w, "TCP connection lost", errno);
			return DNS_UNREACHABLE;
		}
		if (k == 0) {
			dns_fmt(w->detail, sizeof(w->detail),
			        "the server closed the TCP connection in the middle of the answer");
			return DNS_MALFORMED;
		}
		done += (size_t)k;
	}
	return DNS_ANSWER;
}

/* One TCP try (after a truncated UDP answer). */
static enum dns_status dns_tcp(const struct dns_server *s, const unsigned char *q, size_t qlen,
                               uint16_t id, int64_t deadline, unsigned char *a, size_t *alen,
                               struct dns_why *w)
{
	unsigned char out[2 + DNS_QUERY_MAX], lenb[2];
	int fd = socket(s->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	enum dns_status st;
	size_t n;

	if (fd < 0) {
		dns_why_errno(w, "cannot open a TCP socket", errno);
		return DNS_LOCAL;
	}
	if (connect(fd, (const struct sockaddr *)&s->ss, s->len) < 0 && errno != EINPROGRESS &&
	    errno != EINTR) {
		dns_why_errno(w, "cannot connect over TCP", errno);
		close(fd);
		return DNS_UNREACHABLE;
	}
	out[0] = (unsigned char)(qlen >> 8);
	out[1] = (unsigned char)qlen;
	memcpy(out + 2, q, qlen);
	st = dns_tcp_io(fd, out, qlen + 2, 1, deadline, w);
	if (st == DNS_ANSWER)
		st = dns_tcp_io(fd, lenb, 2, 0, deadline, w);
	if (st == DNS_ANSWER) {
		n = (size_t)lenb[0] << 8 | lenb[1];
		st = dns_tcp_io(fd, a, n, 0, deadline, w);
		if (st == DNS_ANSWER) {
			if (!dns_id_matches(a, n, id)) {
				dns_fmt(w->detail, sizeof(w->detail),
				        "the TCP answer has the wrong query id");
				st = DNS_MALFORMED;
			}
			*alen = n;
		}
	}
	close(fd);
	return st;
}

/* How telling a failure is: the most telling one is reported when every
 * server failed (a SERVFAIL says more than another server's silence). */
static int dns_rank(enum dns_status st)
{
	switch (st) {
	case DNS_TIMEOUT:
		return 1;
	case DNS_UNREACHABLE:
		return 2;
	case DNS_MALFORMED:
		return 3;
	case DNS_NOT_AUTH:
		return 4;
	case DNS_RCODE:
		return 5;
	case DNS_REFUSED:
		return 6;
	case DNS_SERVFAIL:
		return 7;
	default:
		return 0;
	}
}

/* One try at one server: UDP, then TCP when the answer is truncated.  A packet
 * is decoded into *tmp (started here: tmp->qname set means a packet came).
 * Returns DNS_ANSWER when *tmp is a definite answer (NOERROR or NXDOMAIN, and
 * authoritative when a->need_aa), DNS_CNAME_LOOP (also definite), DNS_LOCAL
 * with err filled (out of memory, no socket), else the class of the failure. */
static enum dns_status dns_try(const struct dns_ask *a, const struct dns_server *s,
                               unsigned char *q, size_t qlen, unsigned char *buf, const char *name,
                               uint16_t type, int follow_cname, struct dns_result *tmp, int *follow,
                               struct dns_why *tw, struct mf_err *err)
{
	int64_t deadline = mono_ms() + a->timeout_ms;
	uint16_t id = dns_new_id();
	struct mf_err perr = {0};
	enum dns_status st;
	size_t alen = 0;

	memset(tmp, 0, sizeof(*tmp));
	dns_set_id(q, id);
	st = dns_udp(s, q, qlen, id, deadline < a->deadline ? deadline : a->deadline, buf, &alen,
	             tw);
	if (st == DNS_ANSWER && (buf[2] & 0x02)) {
		/* truncated (TC): ask again over TCP, with a fresh try budget */
		deadline = mono_ms() + a->timeout_ms;
		st = dns_tcp(s, q, qlen, id, deadline < a->deadline ? deadline : a->deadline, buf,
		             &alen, tw);
	}
	if (st == DNS_LOCAL) {
		mf_fail(err, DNS_SCOPE, MF_E_IO, "%s", tw->detail);
		return DNS_LOCAL;
	}
	if (st != DNS_ANSWER)
		return st;
	if (dns_result_start(tmp, name, type) < 0) {
		dns_nomem(tmp, err);
		return DNS_LOCAL;
	}
	if (dns_parse_into(buf, alen, type, follow_cname, tmp, follow, &perr) < 0) {
		if (tmp->status == DNS_LOCAL) {
			dns_nomem(tmp, err);
			return DNS_LOCAL;
		}
		dns_fmt(tw->detail, sizeof(tw->detail), "%s", perr.msg);
		return tmp->status; /* MALFORMED or CNAME_LOOP */
	}
	if (tmp->rcode != ns_r_noerror && tmp->rcode != ns_r_nxdomain)
		return tmp->status; /* SERVFAIL, REFUSED, another rcode */
	return a->need_aa && !tmp->authoritative ? DNS_NOT_AUTH : DNS_ANSWER;
}

/* Asks one question (no CNAME hop across packets) of the servers in turn.
 * *out is started here.  0 with a definite answer (NOERROR or NXDOMAIN), -1
 * with out->status, out->server and w describing the most telling failure. */
static int dns_ask(const struct dns_ask *a, const char *name, uint16_t type, int follow_cname,
                   struct dns_result *out, int *follow, struct dns_why *w, struct mf_err *err)
{
	unsigned char q[DNS_QUERY_MAX];
	unsigned char *buf;
	size_t qlen;
	char answered[DNS_MAX_SERVERS] = {0};
	int best = -1;

	*follow = 0;
	memset(w, 0, sizeof(*w));
	w->timeout_ms = a->timeout_ms;
	if (dns_result_start(out, name, type) < 0)
		return dns_nomem(out, err);
	if (dns_build_query(out->qname, type, a->rd, q, &qlen) < 0) {
		out->status = DNS_LOCAL;
		dns_fmt(w->detail, sizeof(w->detail), "\"%.100s\" is not a valid domain name",
		        name);
		return mf_fail(err, DNS_SCOPE, MF_E_CONFIG, "%s", w->detail);
	}
	buf = mf_malloc(DNS_PKT_MAX);
	if (!buf)
		return dns_nomem(out, err);
	out->status = DNS_TIMEOUT;
	for (int round = 0; round < a->attempts; round++) {
		for (size_t i = 0; i < a->n && i < DNS_MAX_SERVERS; i++) {
			struct dns_why tw = {.timeout_ms = a->timeout_ms};
			struct dns_result tmp;
			enum dns_status st;
			int tfollow = 0;

			if (answered[i])
				continue; /* it said SERVFAIL/REFUSED...: asking again won't help */
			if (mono_ms() >= a->deadline)
				goto done;
			w->tries++;
			st = dns_try(a, &a->srv[i], q, qlen, buf, name, type, follow_cname, &tmp,
			             &tfollow, &tw, err);
			if (st == DNS_ANSWER || st == DNS_CNAME_LOOP || st == DNS_LOCAL) {
				free(buf);
				dns_result_free(out);
				*out = tmp; /* its status: ANSWER, NODATA, NXDOMAIN or CNAME_LOOP */
				if (st == DNS_LOCAL)
					out->status = DNS_LOCAL;
				dns_fmt(out->server, sizeof(out->server), "%s", a->srv[i].label);
				*follow = st == DNS_ANSWER ? tfollow : 0;
				if (st == DNS_LOCAL)
					*w = tw;
				return st == DNS_ANSWER ? 0 : -1;
			}
			if (tmp.qname)
				answered[i] = 1; /* a packet came: this server has had its say */
			if (dns_rank(st) > best) {
				best = dns_rank(st);
				out->status = st;
				out->rcode = tmp.qname ? tmp.rcode : -1;
				dns_fmt(out->server, sizeof(out->server), "%s", a->srv[i].label);
				dns_fmt(w->detail, sizeof(w->detail), "%s", tw.detail);
			}
			dns_result_free(&tmp);
		}
	}
done:
	free(buf);
	if (best < 0) {
		/* nothing was even tried: the total time was used up before */
		out->status = DNS_TIMEOUT;
		dns_fmt(w->detail, sizeof(w->detail), "the time allowed for the lookup ran out");
	}
	return -1;
}

/* ---------------------------------------------------------------- summaries */

static enum mf_errcode dns_errcode(enum dns_status st)
{
	switch (st) {
	case DNS_TIMEOUT:
		return MF_E_TIMEOUT;
	case DNS_UNREACHABLE:
		return MF_E_CONNECT;
	case DNS_MALFORMED:
		return MF_E_PROTO;
	default:
		return MF_E_RESOLVE;
	}
}

/* Writes out->summary and, on failure, err (same words). */
static int dns_finish(struct dns_result *out, int rc, const struct dns_why *w, const char *prefix,
                      struct mf_err *err)
{
	char via[300] = "";
	char *s = out->summary;
	size_t n = sizeof(out->summary);
	const char *q = out->qname ? out->qname : "?";
	const char *tn = dns_type_name(out->qtype);

	if (out->canonical && out->qname && !dns_name_eq(out->canonical, out->qname))
		dns_fmt(via, sizeof(via), " (an alias of %s)", out->canonical);
	if (rc < 0 && out->status == DNS_LOCAL) {
		/* err already says it (out of memory, invalid name, socket failure) */
		dns_fmt(s, n, "%s %s: %s%s", tn, q, prefix, err ? err->msg : w->detail);
		return -1;
	}
	switch (out->status) {
	case DNS_ANSWER:
		dns_fmt(s, n, "%s %s%s: %zu record%s from %s", tn, q, via, out->n_rr,
		        out->n_rr == 1 ? "" : "s", out->server);
		break;
	case DNS_NODATA:
		dns_fmt(s, n, "%s %s%s: the name exists but has no %s record (answer from %s)", tn,
		        q, via, tn, out->server);
		break;
	case DNS_NXDOMAIN:
		dns_fmt(s, n, "%s %s%s: the domain does not exist (NXDOMAIN from %s)", tn, q, via,
		        out->server);
		break;
	case DNS_SERVFAIL:
		dns_fmt(s, n,
		        "%s %s: %sthe DNS server failed to answer (SERVFAIL from %s); the zone "
		        "may be broken, its DNSSEC signatures invalid or its servers down",
		        tn, q, prefix, out->server);
		break;
	case DNS_REFUSED:
		dns_fmt(s, n, "%s %s: %sthe DNS server refused the query (REFUSED from %s)", tn, q,
		        prefix, out->server);
		break;
	case DNS_RCODE:
		dns_fmt(s, n, "%s %s: %sthe DNS server answered with error %s (from %s)", tn, q,
		        prefix, dns_rcode_name(out->rcode), out->server);
		break;
	case DNS_TIMEOUT:
		if (out->server[0])
			dns_fmt(s, n, "%s %s: %sno answer from %s within %d ms (timeout, %d %s)",
			        tn, q, prefix, out->server, w->timeout_ms, w->tries,
			        w->tries == 1 ? "try" : "tries");
		else
			dns_fmt(s, n, "%s %s: %sno answer in time (timeout: %s)", tn, q, prefix,
			        w->detail);
		break;
	case DNS_UNREACHABLE:
		dns_fmt(s, n, "%s %s: %sthe DNS server %s could not be reached (%s)", tn, q, prefix,
		        out->server, w->detail);
		break;
	case DNS_MALFORMED:
		dns_fmt(s, n, "%s %s: %sthe DNS answer from %s was malformed (%s)", tn, q, prefix,
		        out->server, w->detail);
		break;
	case DNS_NOT_AUTH:
		if (!out->server[0]) {
			dns_fmt(s, n, "%s %s: %s%s", tn, q, prefix, w->detail);
			break;
		}
		dns_fmt(s, n,
		        "%s %s: %s%s does not answer authoritatively for this zone (lame "
		        "delegation)",
		        tn, q, prefix, out->server);
		break;
	case DNS_CNAME_LOOP: {
		int loops = dns_chain_loops(out);
		size_t used = (size_t)snprintf(
		        s, n, "%s %s: %sthe name is an alias (CNAME) chain %s: ", tn, q, prefix,
		        loops ? "that loops" : "longer than 8 aliases");

		for (size_t i = 0; i < out->n_chain && used < n; i++)
			used += (size_t)snprintf(s + used, n - used, "%s%s", i ? " -> " : "",
			                         out->chain[i]);
		if (used < n && out->n_chain && !loops)
			dns_fmt(s + used, n - used, " -> ...");
		break;
	}
	case DNS_LOCAL:
		dns_fmt(s, n, "%s %s: %s%s", tn, q, prefix, w->detail);
		break;
	}
	if (rc < 0)
		return mf_fail(err, DNS_SCOPE, dns_errcode(out->status), "%s", s);
	return 0;
}

/* Moves a hop's answer into the overall result, extending the CNAME chain. */
static int dns_merge(struct dns_result *out, struct dns_result *hop, struct mf_err *err)
{
	for (size_t i = 1; i < hop->n_chain; i++) {
		int rc = dns_chain_add(out, hop->chain[i]);

		if (rc < 0)
			return dns_nomem(out, err);
		if (rc > 0) {
			out->status = DNS_CNAME_LOOP;
			return -1;
		}
	}
	out->status = hop->status;
	out->rcode = hop->rcode;
	out->authoritative = hop->authoritative;
	out->neg_ttl = hop->neg_ttl;
	memcpy(out->server, hop->server, sizeof(out->server));
	free(out->canonical);
	out->canonical = hop->canonical;
	hop->canonical = NULL;
	free(out->zone);
	out->zone = hop->zone;
	hop->zone = NULL;
	dns_rr_clear(out);
	out->rr = hop->rr;
	out->n_rr = hop->n_rr;
	hop->rr = NULL;
	hop->n_rr = 0;
	return 0;
}

/* A hop failed: its status, rcode and server become the result's. */
static void dns_take_failure(struct dns_result *out, const struct dns_result *hop)
{
	out->status = hop->status;
	out->rcode = hop->rcode;
	out->authoritative = hop->authoritative;
	memcpy(out->server, hop->server, sizeof(out->server));
	if (hop->status == DNS_CNAME_LOOP) {
		/* show the loop as seen in the packet, after the hops before it */
		for (size_t i = 1; i < hop->n_chain; i++)
			if (dns_chain_add(out, hop->chain[i]) != 0)
				break;
	}
}

/* One hop: asks the current end of out's chain and merges the answer.
 * 1 when the CNAME chain leaves the answer and must be asked again, 0 done,
 * -1 failed (out->status says how). */
static int dns_hop(const struct dns_ask *a, uint16_t type, struct dns_result *out,
                   struct dns_why *w, struct mf_err *err)
{
	struct dns_result tmp;
	int follow = 0, rc = 0;

	if (dns_ask(a, out->chain[out->n_chain - 1], type, type != DNS_T_CNAME, &tmp, &follow, w,
	            err) < 0) {
		if (tmp.status == DNS_LOCAL && err && err->code == MF_E_NOMEM)
			rc = dns_nomem(out, err);
		else
			dns_take_failure(out, &tmp);
		dns_result_free(&tmp);
		return -1;
	}
	if (dns_merge(out, &tmp, err) < 0)
		rc = -1;
	dns_result_free(&tmp);
	return rc < 0 ? -1 : follow;
}

/* Asks a question of recursive servers, following CNAMEs across packets. */
static int dns_resolve(const struct dns_ask *a, uint16_t type, struct dns_result *out,
                       struct dns_why *w, struct mf_err *err)
{
	for (int hop = 0;; hop++) {
		int rc = dns_hop(a, type, out, w, err);

		if (rc <= 0)
			return rc;
		if (hop >= DNS_MAX_HOPS) {
			out->status = DNS_CNAME_LOOP;
			return -1;
		}
	}
}

static void dns_ask_init(struct dns_ask *a, const struct dns_resolver *r, int64_t deadline)
{
	memset(a, 0, sizeof(*a));
	a->srv = r->srv;
	a->n = r->n;
	a->rd = 1;
	a->attempts = r->attempts;
	a->timeout_ms = r->timeout_ms;
	a->deadline = deadline;
}

static int dns_begin(struct dns_result *out, const char *name, enum dns_type type,
                     struct dns_why *w, struct mf_err *err)
{
	memset(w, 0, sizeof(*w));
	if (dns_result_start(out, name ? name : "", (uint16_t)type) < 0) {
		dns_nomem(out, err);
		return dns_finish(out, -1, w, "", err);
	}
	if (!name || !dns_name_valid(name)) {
		out->status = DNS_LOCAL;
		dns_fmt(w->detail, sizeof(w->detail), "\"%.100s\" is not a valid domain name",
		        name ? name : "");
		mf_fail(err, DNS_SCOPE, MF_E_CONFIG, "%s", w->detail);
		return dns_finish(out, -1, w, "", err);
	}
	return 0;
}

int dns_query(const struct dns_resolver *r, const char *name, enum dns_type type,
              struct dns_result *out, struct mf_err *err)
{
	struct dns_ask a;
	struct dns_why w;
	int rc;

	if (dns_begin(out, name, type, &w, err) < 0)
		return -1;
	dns_ask_init(&a, r, mono_ms() + r->total_ms);
	rc = dns_resolve(&a, (uint16_t)type, out, &w, err);
	return dns_finish(out, rc, &w, "", err);
}

/* ---------------------------------------------------------------- authoritative mode */

/* The zone that holds `name`: walks up from name asking for NS records. */
static int dns_find_zone(const struct dns_ask *a, const char *name, char **zone,
                         struct dns_result *fail, struct dns_why *w, struct mf_err *err)
{
	const char *n = name;
	char *owned = NULL;

	for (int guard = 0; guard < 130; guard++) {
		struct dns_result tmp;
		int follow;

		if (dns_ask(a, n, DNS_T_NS, 0, &tmp, &follow, w, err) < 0) {
			*fail = tmp;
			free(owned);
			return -1;
		}
		if (tmp.status == DNS_ANSWER) {
			dns_result_free(&tmp);
			*zone = owned ? owned : mf_strdup(n);
			return *zone ? 0 : dns_nomem(fail, err);
		}
		if (tmp.zone && dns_name_under(n, tmp.zone) && !dns_name_eq(n, tmp.zone)) {
			/* the SOA of a negative answer names the enclosing zone */
			char *next = tmp.zone;

			tmp.zone = NULL;
			free(owned);
			owned = next;
			n = owned;
		} else {
			const char *dot = strchr(n, '.');
			char *next;

			if (!dot || !dot[1] || !strchr(dot + 1, '.')) {
				/* only a top-level domain is left and nobody named a zone */
				*fail = tmp;
				free(owned);
				fail->status = DNS_NOT_AUTH;
				fail->server[0] = 0;
				dns_fmt(w->detail, sizeof(w->detail),
				        "no name server claims a zone for %.200s", name);
				return -1;
			}
			next = mf_strdup(dot + 1);
			if (!next) {
				dns_result_free(&tmp);
				free(owned);
				return dns_nomem(fail, err);
			}
			free(owned);
			owned = next;
			n = owned;
		}
		dns_result_free(&tmp);
	}
	/* not reached: every turn shortens the name */
	free(owned);
	fail->status = DNS_NOT_AUTH;
	dns_fmt(w->detail, sizeof(w->detail), "no zone found for %.200s", name);
	return -1;
}

/* The addresses of a zone's NS hosts (through the resolver), on auth_port. */
static int dns_zone_servers(const struct dns_resolver *r, const struct dns_ask *a, const char *zone,
                            struct dns_server *srv, size_t *nsrv, struct dns_result *fail,
                            struct dns_why *w, struct mf_err *err)
{
	struct dns_result ns;
	int follow;

	*nsrv = 0;
	if (dns_ask(a, zone, DNS_T_NS, 0, &ns, &follow, w, err) < 0) {
		*fail = ns;
		return -1;
	}
	for (size_t i = 0; i < ns.n_rr && i < DNS_AUTH_MAX_NS && *nsrv < DNS_MAX_SERVERS; i++) {
		static const uint16_t types[] = {DNS_T_A, DNS_T_AAAA};

		for (size_t t = 0; t < 2; t++) {
			struct dns_result ad;
			struct dns_why aw;
			size_t before = *nsrv;

			if (dns_ask(a, ns.rr[i].data, types[t], 1, &ad, &follow, &aw, err) < 0) {
				int nomem = ad.status == DNS_LOCAL;

				dns_result_free(&ad);
				if (nomem) {
					dns_result_free(&ns);
					return dns_nomem(fail, err);
				}
				continue;
			}
			for (size_t k = 0; k < ad.n_rr && k < 2 && *nsrv < DNS_MAX_SERVERS; k++) {
				struct dns_server *s = &srv[*nsrv];
				char spec[INET6_ADDRSTRLEN + 8];
				unsigned len;

				dns_fmt(spec, sizeof(spec),
				        types[t] == DNS_T_A ? "%s:%u" : "[%s]:%u", ad.rr[k].data,
				        (unsigned)r->auth_port);
				if (dns_parse_server(spec, &s->ss, &len, NULL) < 0)
					continue;
				s->len = (socklen_t)len;
				dns_server_label(s);
				{
					char addr[sizeof(s->label)];

					memcpy(addr, s->label, sizeof(addr));
					dns_fmt(s->label, sizeof(s->label), "%.250s (%.60s)",
					        ns.rr[i].data, addr);
				}
				(*nsrv)++;
			}
			dns_result_free(&ad);
			if (*nsrv > before)
				break; /* IPv4 found: AAAA not needed for this host */
		}
	}
	if (*nsrv == 0) {
		if (ns.n_rr)
			dns_fmt(w->detail, sizeof(w->detail),
			        "no address found for the name servers of %.200s (%.200s...)", zone,
			        ns.rr[0].data);
		else
			dns_fmt(w->detail, sizeof(w->detail), "the zone %.200s has no NS records",
			        zone);
		*fail = ns;
		fail->status = DNS_NOT_AUTH;
		fail->server[0] = 0;
		return -1;
	}
	dns_result_free(&ns);
	return 0;
}

int dns_query_auth(const struct dns_resolver *r, const char *name, enum dns_type type,
                   struct dns_result *out, struct mf_err *err)
{
	struct dns_ask rec;
	struct dns_why w;
	int64_t deadline = mono_ms() + r->total_ms;

	if (dns_begin(out, name, type, &w, err) < 0)
		return -1;
	dns_ask_init(&rec, r, deadline);
	for (int hop = 0;; hop++) {
		struct dns_server srv[DNS_MAX_SERVERS];
		struct dns_result fail = {0};
		struct dns_ask auth;
		char *zone = NULL;
		char prefix[300];
		size_t nsrv;
		int rc;

		if (dns_find_zone(&rec, out->chain[out->n_chain - 1], &zone, &fail, &w, err) < 0 ||
		    dns_zone_servers(r, &rec, zone, srv, &nsrv, &fail, &w, err) < 0) {
			int nomem = fail.status == DNS_LOCAL && (!err || err->code == MF_E_NOMEM);

			dns_fmt(prefix, sizeof(prefix),
			        "cannot find the authoritative servers%s%.200s: ",
			        zone ? " of " : "", zone ? zone : "");
			free(zone);
			if (nomem) {
				dns_result_free(&fail);
				dns_nomem(out, err);
				return dns_finish(out, -1, &w, "", err);
			}
			out->status = fail.status;
			out->rcode = fail.rcode;
			memcpy(out->server, fail.server, sizeof(out->server));
			dns_result_free(&fail);
			return dns_finish(out, -1, &w, prefix, err);
		}
		auth = rec;
		auth.srv = srv;
		auth.n = nsrv;
		auth.rd = 0;
		auth.need_aa = 1;
		rc = dns_hop(&auth, (uint16_t)type, out, &w, err);
		dns_fmt(prefix, sizeof(prefix), "authoritative servers of %.200s: ", zone);
		if (rc >= 0 && !out->zone) {
			out->zone = zone; /* the zone we found is the one that answered */
			zone = NULL;
		}
		free(zone);
		if (rc < 0)
			return dns_finish(out, -1, &w, prefix, err);
		if (rc == 0)
			return dns_finish(out, 0, &w, "", err);
		if (hop >= DNS_MAX_HOPS) {
			out->status = DNS_CNAME_LOOP;
			return dns_finish(out, -1, &w, "", err);
		}
	}
}

/* ---------------------------------------------------------------- Microsoft 365 predicates */

#define M365_MX_SUFFIX     ".mail.protection.outlook.com"
#define M365_DNSSEC_SUFFIX ".mx.microsoft"

char *dns_m365_mx_host(const char *domain)
{
	size_t n = dns_name_len(domain);
	char *s = mf_malloc(n + sizeof(M365_MX_SUFFIX));

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = domain[i];

		s[i] = c == '.' ? '-' : (c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
	}
	memcpy(s + n, M365_MX_SUFFIX, sizeof(M365_MX_SUFFIX));
	return s;
}

/* Whether host (trailing dot ignored) ends with suffix (which starts with a
 * dot) and has at least one label before it; *prefix_len gets that part. */
static int dns_host_has_suffix(const char *host, const char *suffix, size_t *prefix_len)
{
	size_t hl = dns_name_len(host), sl = strlen(suffix);

	if (hl <= sl || strncasecmp(host + hl - sl, suffix, sl) != 0)
		return 0;
	*prefix_len = hl - sl;
	return 1;
}

enum dns_m365_mx dns_mx_is_m365(const char *domain, const char *exchange)
{
	size_t pl, dl;

	if (!domain || !exchange)
		return DNS_MX_NOT_M365;
	if (dns_host_has_suffix(exchange, M365_DNSSEC_SUFFIX, &pl))
		return DNS_MX_M365;
	if (!dns_host_has_suffix(exchange, M365_MX_SUFFIX, &pl))
		return DNS_MX_NOT_M365;
	/* the label before the suffix must be the domain with its dots as dashes */
	dl = dns_name_len(domain);
	if (pl != dl || memchr(exchange, '.', pl))
		return DNS_MX_M365_OTHER;
	for (size_t i = 0; i < dl; i++) {
		char want = domain[i] == '.' ? '-' : domain[i];
		char got = exchange[i];

		if (want >= 'A' && want <= 'Z')
			want = (char)(want - 'A' + 'a');
		if (got >= 'A' && got <= 'Z')
			got = (char)(got - 'A' + 'a');
		if (want != got)
			return DNS_MX_M365_OTHER;
	}
	return DNS_MX_M365;
}

int dns_txt_is_spf(const char *txt)
{
	return txt && strncasecmp(txt, "v=spf1", 6) == 0 && (txt[6] == 0 || txt[6] == ' ');
}

int dns_spf_includes_m365(const char *txt)
{
	static const char want[] = "include:spf.protection.outlook.com";
	const char *p;

	if (!dns_txt_is_spf(txt))
		return 0;
	/* terms are separated by spaces (RFC 7208 4.6.1) */
	for (p = txt + 6; *p;) {
		size_t len;

		while (*p == ' ')
			p++;
		len = strcspn(p, " ");
		if (len && *p == '+') {
			p++;
			len--;
		}
		if (len == sizeof(want) - 1 && strncasecmp(p, want, len) == 0)
			return 1;
		p += len;
	}
	return 0;
}

int dns_txt_ms_verification(const char *txt, char *out, size_t n)
{
	const char *p = txt, *end;
	size_t len;

	if (!txt)
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - p);
	if (len < 6 || strncasecmp(p, "MS=ms", 5) != 0)
		return 0;
	for (const char *d = p + 5; d < end; d++)
		if (*d < '0' || *d > '9')
			return 0;
	if (out && n) {
		size_t k = len < n ? len : n - 1;

		memcpy(out, p, k);
		out[k] = 0;
	}
	return 1;
}

void dns_mx_tally(const struct dns_result *res, const char *domain, size_t *m365, size_t *other)
{
	*m365 = *other = 0;
	for (size_t i = 0; i < res->n_rr; i++) {
		if (res->rr[i].type != DNS_T_MX)
			continue;
		if (dns_mx_is_m365(domain, res->rr[i].data) == DNS_MX_M365)
			(*m365)++;
		else
			(*other)++;
	}
}

size_t dns_result_spf(const struct dns_result *res, const char **first)
{
	size_t count = 0;

	if (first)
		*first = NULL;
	for (size_t i = 0; i < res->n_rr; i++) {
		if (res->rr[i].type != DNS_T_TXT || !dns_txt_is_spf(res->rr[i].data))
			continue;
		if (first && !count)
			*first = res->rr[i].data;
		count++;
	}
	return count;
}
