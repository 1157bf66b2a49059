/* mailferry - DNS lookups for the prerequisite checks (MX, TXT, CNAME, NS, SOA, A, AAAA)
 *
 * What the checks need from DNS is small but must be exact: the MX hosts of a
 * domain with their preference and TTL, its TXT records (MS=ms... domain
 * verification, SPF), the autodiscover CNAME, and - when something goes wrong -
 * a reason an administrator understands ("the domain does not exist", "the DNS
 * server failed to answer (SERVFAIL)", "no answer within 3000 ms").
 *
 * Built on glibc's libresolv: res_ninit() reads /etc/resolv.conf into a
 * private struct __res_state (no global state), dn_comp() encodes the query
 * name, ns_initparse()/ns_parserr()/ns_name_uncompress() decode answers, and
 * every rdata length is checked again here (a name in an MX record must end
 * exactly where the record ends, TXT strings must fit their record...), so a
 * hostile or broken packet yields DNS_MALFORMED, never a crash.
 *
 * The packets are sent by this module (UDP, then TCP when the answer is
 * truncated), not by res_nsend(): measured on glibc 2.36, res_nsend() reports
 * a SERVFAIL or REFUSED answer as ETIMEDOUT - exactly the distinction R-28
 * asks us to make - unless the dig-only `pfcode` field is abused; its
 * timeouts are whole seconds; and explicit IPv6 servers would have to be
 * written into glibc-private `_u._ext` pointers.  Our own exchange has a
 * millisecond deadline, says which server answered, accepts "[v6]:port" and
 * checks the reply's id, flags and question before believing it.
 *
 * Thread safety: a struct dns_resolver is never modified after it is built,
 * so any number of threads may query through the same one at once; every
 * query uses its own sockets and buffers.  Nothing here writes to stdout or
 * stderr.  Queries block the calling thread, but never for longer than the
 * resolver's total_ms (below) whatever the servers do: run them from a check
 * worker, never from the UI thread.
 *
 * Errors: every failure is reported with scope MF_SCOPE_CONN (asking again
 * later may work) and a code from the list at dns_query().
 *
 * Names are given in ASCII (IDN domains in their xn-- form), absolute: no
 * search list or ndots rule from resolv.conf is applied, a trailing dot is
 * optional.  Names returned are in presentation form without the trailing
 * dot ("." for the root, e.g. a null MX), with unusual bytes escaped as \DDD
 * by libresolv, so they are safe to print.
 */
#ifndef MF_NET_DNS_H
#define MF_NET_DNS_H

#include <stddef.h>
#include <stdint.h>

struct mf_err;

/* Record types this module decodes (the values are the DNS type codes). */
enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
};

/* What happened, in the order a check tests it. */
enum dns_status {
	DNS_ANSWER = 0,  /* records of the asked type: rr[0..n_rr) */
	DNS_NODATA,      /* the name exists but has no record of this type */
	DNS_NXDOMAIN,    /* the domain does not exist */
	DNS_SERVFAIL,    /* the server failed (broken zone, DNSSEC failure, upstream down) */
	DNS_REFUSED,     /* the server refused to answer this question for us */
	DNS_RCODE,       /* another error code (FORMERR, NOTIMP...): see rcode */
	DNS_TIMEOUT,     /* no answer within the time allowed */
	DNS_UNREACHABLE, /* the server could not be reached (port closed, no route) */
	DNS_MALFORMED,   /* an answer came but could not be decoded or did not match */
	DNS_NOT_AUTH,    /* authoritative mode: the server does not serve the zone (lame) */
	DNS_CNAME_LOOP,  /* the name is an alias chain that loops or is too long */
	DNS_LOCAL,       /* nothing was asked: out of memory or an invalid name */
};

/* One resource record.  `data` is owned by the record (freed with the result).
 *   MX     pref + data = exchange host
 *   CNAME, NS        data = target host
 *   TXT    data = the record's character-strings joined without separator
 *          (how SPF and MS= values are split over 255-byte strings); bytes
 *          outside printable ASCII and the backslash are written \DDD, so
 *          data is always a printable C string
 *   A, AAAA          data = the address as text
 *   SOA    data = primary server, soa_minimum = the negative-caching TTL */
struct dns_rr {
	uint16_t type;
	uint16_t pref;        /* MX only */
	uint32_t ttl;         /* seconds, as the server sent it (a cache's countdown) */
	uint32_t soa_minimum; /* SOA only */
	char *owner;          /* owned: the name the record belongs to */
	char *data;           /* owned */
};

/* The outcome of one lookup.  Every pointer is owned by the result and freed
 * by dns_result_free(); a zeroed struct is a valid empty result. */
struct dns_result {
	enum dns_status status;
	uint16_t qtype;
	/* the DNS response code when a server answered, else -1 */
	int rcode;
	/* the answer came with the AA bit (from the zone's own server) */
	int authoritative;
	/* owned: the name asked, as given (without trailing dot) */
	char *qname;
	/* owned: the name the records belong to after following CNAMEs (equals
	 * qname when there was no alias) */
	char *canonical;
	/* owned: qname, then each CNAME target followed; on DNS_CNAME_LOOP the
	 * name that closes the loop is repeated at the end (a -> b -> a) */
	char **chain;
	size_t n_chain;
	/* owned: records of qtype at `canonical`, present only with status
	 * DNS_ANSWER; MX sorted by preference (then host), others in answer order */
	struct dns_rr *rr;
	size_t n_rr;
	/* owned: zone apex from an SOA in the answer (NULL: not known) */
	char *zone;
	/* NXDOMAIN/NODATA: how long resolvers may cache the absence (RFC 2308:
	 * the smaller of the SOA's TTL and minimum), 0 when unknown */
	uint32_t neg_ttl;
	/* who answered: "127.0.0.1:53", or in authoritative mode
	 * "ns1.contoso.com (192.0.2.1:53)"; for failures, the server whose
	 * failure is reported; empty if no server was involved */
	char server[320];
	/* one sentence for the admin, e.g. "MX contoso.com: the domain does not
	 * exist (NXDOMAIN from 10.0.0.53:53)" */
	char summary[400];
};

/* Options; a zero field means "the default". */
struct dns_opts {
	/* one try at one server; default: resolv.conf `timeout` (glibc: 5 s) for
	 * the system resolver, 3000 ms otherwise */
	int timeout_ms;
	/* rounds over the server list (only servers that stayed silent are asked
	 * again); default: resolv.conf `attempts` (glibc: 2), 2 otherwise */
	int attempts;
	/* hard bound for one dns_query*() call, everything included (retries,
	 * TCP, CNAME hops, authoritative mode); default 20000 */
	int total_ms;
	/* port of authoritative servers in dns_query_auth(); default 53 (the
	 * tests point it at their own server) */
	uint16_t auth_port;
};

#define DNS_MAX_SERVERS 8

struct dns_resolver;

/* The system's resolvers (nameserver lines of /etc/resolv.conf, read with
 * res_ninit; glibc falls back to 127.0.0.1 when there are none).  opts may be
 * NULL.  Returns an owned handle (dns_resolver_free) or NULL with err filled. */
struct dns_resolver *dns_resolver_system(const struct dns_opts *opts, struct mf_err *err);

/* Explicit servers: "192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:53", "[2001:db8::1]",
 * "2001:db8::1" (numeric addresses only: no DNS is needed to find DNS), at most
 * DNS_MAX_SERVERS, asked in order.  Returns an owned handle or NULL (MF_E_CONFIG
 * naming the bad entry, or MF_E_NOMEM). */
struct dns_resolver *dns_resolver_new(const char *const *servers, size_t n,
                                      const struct dns_opts *opts, struct mf_err *err);

void dns_resolver_free(struct dns_resolver *r);

/* "127.0.0.1:53, [::1]:5353" into out (always NUL-terminated). */
void dns_resolver_describe(const struct dns_resolver *r, char *out, size_t n);

/* Asks the resolver's servers (recursion desired) for `type` records of name,
 * following CNAMEs (except when type is DNS_T_CNAME) up to 8 hops.  Servers are
 * tried in order, `attempts` rounds; a server that times out, is unreachable or
 * answers SERVFAIL/REFUSED is skipped for the next one.
 *
 * Returns 0 when DNS gave a definite answer about the name - status DNS_ANSWER,
 * DNS_NODATA or DNS_NXDOMAIN - and -1 otherwise, with err filled (scope
 * MF_SCOPE_CONN; code MF_E_TIMEOUT, MF_E_RESOLVE, MF_E_PROTO, MF_E_CONNECT,
 * MF_E_CONFIG for an invalid name, MF_E_NOMEM) and its message equal to
 * out->summary.  In both cases *out says what happened and must be freed with
 * dns_result_free(); out->status is set even on -1. */
int dns_query(const struct dns_resolver *r, const char *name, enum dns_type type,
              struct dns_result *out, struct mf_err *err);

/* Same question, answered by the zone's own servers instead of a cache:
 *  1. find the zone that holds name: ask the resolver for NS records walking up
 *     from name (an SOA in a negative answer's authority section is a shortcut);
 *  2. look up the addresses of its NS hosts (A, then AAAA) through the resolver;
 *  3. ask them in turn, without recursion, on opts.auth_port, until one gives
 *     an authoritative (AA) answer; a CNAME to another zone is followed by
 *     starting again at 1 for the target.
 * So the TTL reported is the one configured in the zone, not the remaining
 * life of a cached copy (which counts down to 0 in a recursive resolver).
 *
 * Limits, to keep in mind when turning this into advice:
 *  - one authoritative server is asked; secondaries can lag behind the primary
 *    after a change (until their SOA refresh), so another server may still
 *    answer the old data for a while;
 *  - jump hosts often may not send DNS to the internet (only to the company
 *    resolver): then this fails with a timeout or "unreachable" and the check
 *    should fall back to dns_query() and say that the TTL came from a cache;
 *  - split-horizon DNS: the company resolver may resolve the NS hosts to
 *    internal servers that serve a different view than the internet sees;
 *  - the TTL a resolver keeps for an already cached copy is the TTL that was
 *    in force when it cached it: after lowering a TTL, resolvers may hold the
 *    old record for up to the *old* TTL (so wait that long before cutting over);
 *  - no DNSSEC validation is done, here or in dns_query().
 * Return value and *out as dns_query(); out->authoritative is 1 on success and
 * out->server names the NS host and address that answered. */
int dns_query_auth(const struct dns_resolver *r, const char *name, enum dns_type type,
                   struct dns_result *out, struct mf_err *err);

void dns_result_free(struct dns_result *res);

/* "the domain does not exist", "the DNS server failed to answer (SERVFAIL)"... */
const char *dns_status_text(enum dns_status st);
/* "ANSWER", "NXDOMAIN", ... (stable, for JSON and tests) */
const char *dns_status_name(enum dns_status st);
/* "MX", "TXT", ... ("other" for types this module does not decode) */
const char *dns_type_name(uint16_t type);
/* Smallest TTL over the records (0 when there are none). */
uint32_t dns_result_min_ttl(const struct dns_result *res);
/* Largest TTL over the records (0 when there are none). */
uint32_t dns_result_max_ttl(const struct dns_result *res);

/* ---------------------------------------------------------------- Microsoft 365 predicates
 * Case-insensitive; a trailing dot on host names is tolerated. */

enum dns_m365_mx {
	DNS_MX_NOT_M365 = 0,   /* somebody else's mail server */
	DNS_MX_M365 = 1,       /* <domain-with-dashes>.mail.protection.outlook.com
				  * or the DNSSEC/DANE form *.mx.microsoft */
	DNS_MX_M365_OTHER = 2, /* a *.mail.protection.outlook.com host made for
				  * another domain (a copy-paste mistake) */
};

/* Whether MX host `exchange` is Microsoft 365's inbound host for `domain`
 * (contoso.com -> contoso-com.mail.protection.outlook.com). */
enum dns_m365_mx dns_mx_is_m365(const char *domain, const char *exchange);

/* Counts the MX records of an MX result that are Microsoft 365's for domain
 * (*m365) and the others (*other: other providers, another domain's
 * Microsoft host, a null MX).  m365 > 0 with other > 0 is the "old and new MX
 * at once" state of a cut-over in progress (R-28: WARN, not PASS). */
void dns_mx_tally(const struct dns_result *res, const char *domain, size_t *m365, size_t *other);

/* Microsoft's guidance (reference 3.6): lower the MX TTL to this or less
 * before the cut-over, and keep syncing this long after changing the MX. */
#define DNS_M365_MX_TTL_MAX          3600
#define DNS_M365_SYNC_AFTER_MX_HOURS 72

/* The host Microsoft 365 expects as MX for domain (malloc'd, NULL on OOM). */
char *dns_m365_mx_host(const char *domain);

/* 1 if txt is an SPF record ("v=spf1" followed by a space or the end). */
int dns_txt_is_spf(const char *txt);

/* 1 if txt is an SPF record with the term include:spf.protection.outlook.com
 * (or +include:...), 0 otherwise (not SPF, no include, or a -/~/? qualifier). */
int dns_spf_includes_m365(const char *txt);

/* 1 if txt is a Microsoft 365 domain verification record "MS=ms<digits>"
 * (surrounding blanks ignored); then the value, e.g. "MS=ms12345678", is
 * copied to out (when out is not NULL and n is large enough; else truncated). */
int dns_txt_ms_verification(const char *txt, char *out, size_t n);

/* Number of records in a TXT result that are SPF records; *first (may be
 * NULL) gets the first one.  More than one SPF record is an error per RFC
 * 7208 (receivers answer permerror). */
size_t dns_result_spf(const struct dns_result *res, const char **first);

/* ---------------------------------------------------------------- lower level (tests, fuzzing)
 *
 * Decodes one response packet to the question (qname, qtype), into *out
 * (which must be zeroed or freed before).  Checks the QR bit, that there is
 * exactly one question and that it is ours, then the records.  CNAMEs are
 * followed inside the packet; when the chain leaves the packet (an
 * authoritative server answering for another zone's alias) the status is
 * DNS_NODATA with canonical set to the last target.  rcode and AA are
 * recorded; status DNS_SERVFAIL etc. come from the rcode.  Returns 0 when the
 * packet was decoded (whatever its rcode), -1 with err filled when it was not
 * (out->status DNS_MALFORMED or DNS_CNAME_LOOP, or DNS_LOCAL for memory). */
int dns_parse_response(const unsigned char *pkt, size_t len, const char *qname, uint16_t qtype,
                       struct dns_result *out, struct mf_err *err);

/* Parses a server address ("host:port" forms above) into *ss (a struct
 * sockaddr_storage, passed as void * to keep <sys/socket.h> out of here) and
 * its length.  0 or -1 (MF_E_CONFIG). */
int dns_parse_server(const char *spec, void *ss, unsigned *sslen, struct mf_err *err);

#endif
