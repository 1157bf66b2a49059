/* Unit tests for src/net/dns: answers built by hand, good and hostile, and the
 * Microsoft 365 predicates the checks rely on.  The network side is tested
 * against real NSD servers in tests/integration/dns_*.test. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "unit.h"
#include "net/dns.h"
#include "util/err.h"
#include "util/mem.h"

/* ---------------------------------------------------------------- a packet builder */

enum {
	F_QR = 0x8000,
	F_AA = 0x0400,
	F_TC = 0x0200,
	F_RD = 0x0100,
	F_RA = 0x0080,
};

struct pkt {
	unsigned char b[4096];
	size_t n;
};

static void p_u8(struct pkt *p, unsigned v)
{
	ck_assert_uint_lt(p->n, sizeof(p->b));
	p->b[p->n++] = (unsigned char)v;
}

static void p_u16(struct pkt *p, unsigned v)
{
	p_u8(p, v >> 8 & 0xff);
	p_u8(p, v & 0xff);
}

static void p_u32(struct pkt *p, uint32_t v)
{
	p_u16(p, v >> 16);
	p_u16(p, v & 0xffff);
}

static void p_raw(struct pkt *p, const void *d, size_t n)
{
	ck_assert_uint_le(p->n + n, sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

/* Labels of a dotted name, without the terminating root label. */
static void p_labels(struct pkt *p, const char *name)
{
	while (*name) {
		size_t l = strcspn(name, ".");

		p_u8(p, (unsigned)l);
		p_raw(p, name, l);
		name += l;
		if (*name == '.')
			name++;
	}
}

static void p_name(struct pkt *p, const char *name)
{
	p_labels(p, name);
	p_u8(p, 0);
}

static void p_ptr(struct pkt *p, size_t off)
{
	p_u16(p, 0xc000 | (unsigned)off);
}

static void p_hdr(struct pkt *p, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	p->n = 0;
	p_u16(p, 0x1234);
	p_u16(p, flags);
	p_u16(p, qd);
	p_u16(p, an);
	p_u16(p, ns);
	p_u16(p, ar);
}

static void p_question(struct pkt *p, const char *name, unsigned type)
{
	p_name(p, name);
	p_u16(p, type);
	p_u16(p, 1);
}

/* Starts an RR whose owner is already written; returns where rdlength goes. */
static size_t p_rr_head(struct pkt *p, unsigned type, uint32_t ttl)
{
	size_t at;

	p_u16(p, type);
	p_u16(p, 1);
	p_u32(p, ttl);
	at = p->n;
	p_u16(p, 0);
	return at;
}

static void p_rr_end(struct pkt *p, size_t at)
{
	size_t len = p->n - at - 2;

	p->b[at] = (unsigned char)(len >> 8);
	p->b[at + 1] = (unsigned char)len;
}

static void p_mx(struct pkt *p, const char *owner, uint32_t ttl, unsigned pref, const char *host)
{
	size_t at;

	p_name(p, owner);
	at = p_rr_head(p, DNS_T_MX, ttl);
	p_u16(p, pref);
	p_name(p, host);
	p_rr_end(p, at);
}

static void p_cname(struct pkt *p, const char *owner, const char *target)
{
	size_t at;

	p_name(p, owner);
	at = p_rr_head(p, DNS_T_CNAME, 300);
	p_name(p, target);
	p_rr_end(p, at);
}

static void p_soa(struct pkt *p, const char *zone, uint32_t ttl, uint32_t minimum)
{
	size_t at;

	p_name(p, zone);
	at = p_rr_head(p, DNS_T_SOA, ttl);
	p_labels(p, "ns1");
	p_name(p, zone);
	p_labels(p, "hostmaster");
	p_name(p, zone);
	p_u32(p, 1);
	p_u32(p, 3600);
	p_u32(p, 600);
	p_u32(p, 86400);
	p_u32(p, minimum);
	p_rr_end(p, at);
}

/* Parses p as the answer to (qname, qtype); returns dns_parse_response's value. */
static int parse(const struct pkt *p, const char *qname, uint16_t qtype, struct dns_result *res,
                 struct mf_err *err)
{
	memset(res, 0, sizeof(*res));
	mf_err_clear(err);
	return dns_parse_response(p->b, p->n, qname, qtype, res, err);
}

static void assert_malformed(const struct pkt *p, const char *qname, uint16_t qtype)
{
	struct dns_result res;
	struct mf_err err;

	ck_assert_int_eq(parse(p, qname, qtype, &res, &err), -1);
	ck_assert_str_eq(dns_status_name(res.status), "MALFORMED");
	ck_assert_int_eq(err.code, MF_E_PROTO);
	ck_assert_uint_eq(res.n_rr, 0);
	dns_result_free(&res);
}

/* A realistic answer: two MX out of order, compressed owners, an SOA. */
static void build_mx_answer(struct pkt *p)
{
	size_t at;

	p_hdr(p, F_QR | F_AA | F_RD, 1, 2, 1, 0);
	p_question(p, "good.test", DNS_T_MX);
	p_ptr(p, 12);
	at = p_rr_head(p, DNS_T_MX, 3600);
	p_u16(p, 20);
	p_labels(p, "mx2");
	p_ptr(p, 12);
	p_rr_end(p, at);
	p_ptr(p, 12);
	at = p_rr_head(p, DNS_T_MX, 1800);
	p_u16(p, 0);
	p_name(p, "good-test.mail.protection.outlook.com");
	p_rr_end(p, at);
	p_soa(p, "good.test", 3600, 300);
}

/* ---------------------------------------------------------------- good answers */

START_TEST(mx_records_come_sorted_with_their_ttls)
{
	struct pkt p;
	struct dns_result res;
	struct mf_err err;

	build_mx_answer(&p);
	ck_assert_int_eq(parse(&p, "good.test", DNS_T_MX, &res, &err), 0);
	ck_assert_str_eq(dns_status_name(res.status), "ANSWER");
	ck_assert_int_eq(res.rcode, 0);
	ck_assert_int_eq(res.authoritative, 1);
	ck_assert_uint_eq(res.n_rr, 2);
	ck_assert_uint_eq(res.rr[0].pref, 0);
	ck_assert_str_eq(res.rr[0].data, "good-test.mail.protection.outlook.com");
	ck_assert_uint_eq(res.rr[0].ttl, 1800);
	ck_assert_uint_eq(res.rr[1].pref, 20);
	ck_assert_str_eq(res.rr[1].data, "mx2.good.test");
	ck_assert_uint_eq(res.rr[1].ttl, 3600);
	ck_assert_str_eq(res.rr[1].owner, "good.test");
	ck_assert_uint_eq(dns_result_min_ttl(&res), 1800);
	ck_assert_uint_eq(dns_result_max_ttl(&res), 3600);
	ck_assert_str_eq(res.canonical, "good.test");
	ck_assert_str_eq(res.zone, "good.test");
	dns_result_free(&res);
}
END_TEST

START_TEST(question_matches_whatever_the_case_and_trailing_dot)
{
	struct pkt p;
	struct dns_result res;
	struct mf_err err;

	build_mx_answer(&p);
	ck_assert_int_eq(parse(&p, "GOOD.Test.", DNS_T_MX, &res, &err), 0);
	ck_assert_str_eq(res.qname, "GOOD.Test");
	ck_assert_uint_eq(res.n_rr, 2);
	dns_result_free(&res);
}
END_TEST

START_TEST(txt_strings_are_joined_and_odd_bytes_escaped)
{
	static const unsigned char odd[] = {5, 'a', 0x01, '\\', 0xc8, 'z'};
	struct pkt p;
	struct dns_result res;
	struct mf_err err;
	size_t at;

	p_hdr(&p, F_QR | F_AA, 1, 3, 0, 0);
	p_question(&p, "good.test", DNS_T_TXT);
	p_ptr(&p, 12);
	at = p_rr_head(&p, DNS_T_TXT, 3600);
	p_u8(&p, 41);
	p_raw(&p, "v=spf1 include:spf.protection.outlook.com", 41);
	p_u8(&p, 5);
	p_raw(&p, " -all", 5);
	p_rr_end(&p, at);
	p_ptr(&p, 12);
	at = p_rr_head(&p, DNS_T_TXT, 3600);
	p_raw(&p, odd, sizeof(odd));
	p_rr_end(&p, at);
	p_ptr(&p, 12);
	at = p_rr_head(&p, DNS_T_TXT, 3600); /* no string at all */
	p_rr_end(&p, at);
	ck_assert_int_eq(parse(&p, "good.test", DNS_T_TXT, &res, &err), 0);
	ck_assert_uint_eq(res.n_rr, 3);
	ck_assert_str_eq(res.rr[0].data, "v=spf1 include:spf.protection.outlook.com -all");
	ck_assert_str_eq(res.rr[1].data, "a\\001\\092\\200z");
	ck_assert_str_eq(res.rr[2].data, "");
	ck_assert_uint_eq(dns_result_spf(&res, NULL), 1);
	dns_result_free(&res);
}
END_TEST

START_TEST(cnames_in_the_answer_are_followed)
{
	struct pkt p;
	struct dns_result res;
	struct mf_err err;

	p_hdr(&p, F_QR | F_RA | F_RD, 1, 3, 0, 0);
	p_question(&p, "alias.test", DNS_T_MX);
	p_cname(&p, "alias.test", "middle.test");
	p_mx(&p, "unrelated.test", 60, 5, "junk.example"); /* not ours: ignored */
	p_cname(&p, "MIDDLE.test", "real.test");
	p.b[7] = 4; /* ANCOUNT: the MX of real.test follows */
	p_mx(&p, "real.test", 600, 10, "mx.real.test");
	ck_assert_int_eq(parse(&p, "alias.test", DNS_T_MX, &res, &err), 0);
	ck_assert_str_eq(dns_status_name(res.status), "ANSWER");
	ck_assert_str_eq(res.canonical, "real.test");
	ck_assert_uint_eq(res.n_chain, 3);
	ck_assert_str_eq(res.chain[1], "middle.test");
	ck_assert_uint_eq(res.n_rr, 1);
	ck_assert_str_eq(res.rr[0].data, "mx.real.test");
	dns_result_free(&res);
}
END_TEST

START_TEST(a_cname_question_is_not_followed)
{
	struct pkt p;
	struct dns_result res;
	struct mf_err err;

	p_hdr(&p, F_QR | F_AA, 1, 1, 0, 0);
	p_question(&p, "autodiscover.good.test", DNS_T_CNAME);
	p_cname(&p, "autodiscover.good.test", "autodiscover.outlook.com");
	ck_assert_int_eq(parse(&p, "autodiscover.good.test", DNS_T_CNAME, &res, &err), 0);
	ck_assert_uint_eq(res.n_rr, 1);
	ck_assert_str_eq(res.rr[0].data, "autodiscover.outlook.com");
	ck_assert_str_eq(res.canonical, "autodiscover.good.test");
	dns_result_free(&res);
}
END_TEST

START_TEST(a_cname_loop_is_reported_with_the_loop)
{
	struct pkt p;
	struct dns_result res;
	struct mf_err err;

	p_hdr(&p, F_QR | F_AA, 1, 2, 0, 0);
	p_question(&p, "a.loop.test", DNS_T_MX);
	p_cname(&p, "a.loop.test", "b.loop.test");
	p_cname(&p, "b.loop.test", "a.loop.test");
	ck_assert_int_eq(parse(&p, "a.loop.test", DNS_T_MX, &res, &err), -1);
	ck_assert_str_eq(dns_status_name(res.status), "CNAME_LOOP");
	ck_assert_int_eq(err.code, MF_E_RESOLVE);
	ck_assert_uint_eq(res.n_chain, 3);
	ck_assert_str_eq(res.chain[2], "a.loop.test");
	dns_result_free(&res);
}
END_TEST

START_TEST(negative_answers_carry_the_negative_ttl)
{
	struct pkt p;
	struct dns_result res;
	struct mf_err err;

	p_hdr(&p, F_QR | F_AA | 3, 1, 0, 1, 0);
	p_question(&p, "nosuch.good.test", DNS_T_MX);
	p_soa(&p, "good.test", 900, 300);
	ck_assert_int_eq(parse(&p, "nosuch.good.test", DNS_T_MX, &res, &err), 0);
	ck_assert_str_eq(dns_status_name(res.status), "NXDOMAIN");
	ck_assert_str_eq(dns_status_text(res.status), "the domain does not exist");
	ck_assert_uint_eq(res.neg_ttl, 300);
	ck_assert_str_eq(res.zone, "good.test");
	dns_result_free(&res);

	p_hdr(&p, F_QR | F_AA, 1, 0, 1, 0); /* NOERROR, no record: NODATA */
	p_question(&p, "www.good.test", DNS_T_MX);
	p_soa(&p, "good.test", 120, 300);
	ck_assert_int_eq(parse(&p, "www.good.test", DNS_T_MX, &res, &err), 0);
	ck_assert_str_eq(dns_status_name(res.status), "NODATA");
	ck_assert_uint_eq(res.neg_ttl, 120);
	dns_result_free(&res);
}
END_TEST

START_TEST(error_codes_become_statuses)
{
	static const struct {
		unsigned rcode;
		const char *status;
	} cases[] = {{2, "SERVFAIL"}, {5, "REFUSED"}, {1, "RCODE"}, {4, "RCODE"}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p;
		struct dns_result res;
		struct mf_err err;

		p_hdr(&p, F_QR | cases[i].rcode, 1, 0, 0, 0);
		p_question(&p, "broken.test", DNS_T_MX);
		ck_assert_int_eq(parse(&p, "broken.test", DNS_T_MX, &res, &err), 0);
		ck_assert_str_eq(dns_status_name(res.status), cases[i].status);
		ck_assert_int_eq(res.rcode, (int)cases[i].rcode);
		dns_result_free(&res);
	}
}
END_TEST

START_TEST(a_ttl_with_the_top_bit_reads_as_zero)
{
	struct pkt p;
	struct dns_result res;
	struct mf_err err;

	p_hdr(&p, F_QR, 1, 1, 0, 0);
	p_question(&p, "good.test", DNS_T_MX);
	p_mx(&p, "good.test", 0x80000001u, 0, "mx.good.test");
	ck_assert_int_eq(parse(&p, "good.test", DNS_T_MX, &res, &err), 0);
	ck_assert_uint_eq(res.rr[0].ttl, 0);
	dns_result_free(&res);
}
END_TEST

START_TEST(null_mx_and_addresses_decode)
{
	struct pkt p;
	struct dns_result res;
	struct mf_err err;
	size_t at;

	p_hdr(&p, F_QR, 1, 1, 0, 0);
	p_question(&p, "nomail.test", DNS_T_MX);
	p_mx(&p, "nomail.test", 60, 0, "");
	ck_assert_int_eq(parse(&p, "nomail.test", DNS_T_MX, &res, &err), 0);
	ck_assert_str_eq(res.rr[0].data, ".");
	dns_result_free(&res);

	p_hdr(&p, F_QR, 1, 2, 0, 0);
	p_question(&p, "www.test", DNS_T_AAAA);
	p_ptr(&p, 12);
	at = p_rr_head(&p, DNS_T_AAAA, 60);
	p_raw(&p, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x10", 16);
	p_rr_end(&p, at);
	p_ptr(&p, 12);
	at = p_rr_head(&p, DNS_T_A, 60); /* an A in an AAAA answer: not ours */
	p_raw(&p, "\xc0\0\x02\x0a", 4);
	p_rr_end(&p, at);
	ck_assert_int_eq(parse(&p, "www.test", DNS_T_AAAA, &res, &err), 0);
	ck_assert_uint_eq(res.n_rr, 1);
	ck_assert_str_eq(res.rr[0].data, "2001:db8::10");
	dns_result_free(&res);
}
END_TEST

/* ---------------------------------------------------------------- hostile answers */

START_TEST(every_truncation_is_malformed)
{
	struct pkt full, cut;

	build_mx_answer(&full);
	for (size_t n = 0; n < full.n; n++) {
		cut = full;
		cut.n = n;
		assert_malformed(&cut, "good.test", DNS_T_MX);
	}
}
END_TEST

START_TEST(lying_lengths_are_malformed)
{
	struct pkt p;
	size_t at;

	/* rdlength runs past the end of the packet */
	build_mx_answer(&p);
	p.n -= 3;
	assert_malformed(&p, "good.test", DNS_T_MX);

	/* an MX whose name spills out of its rdata into the next record */
	p_hdr(&p, F_QR, 1, 2, 0, 0);
	p_question(&p, "good.test", DNS_T_MX);
	p_ptr(&p, 12);
	at = p_rr_head(&p, DNS_T_MX, 60);
	p_u16(&p, 10);
	p_labels(&p, "mx"); /* no terminating label inside the rdata */
	p_rr_end(&p, at);
	p_name(&p, ""); /* next owner: the root label, which the MX name would borrow */
	at = p_rr_head(&p, DNS_T_TXT, 60);
	p_u8(&p, 0);
	p_rr_end(&p, at);
	assert_malformed(&p, "good.test", DNS_T_MX);

	/* MX rdata too short for a preference and a name */
	p_hdr(&p, F_QR, 1, 1, 0, 0);
	p_question(&p, "good.test", DNS_T_MX);
	p_ptr(&p, 12);
	at = p_rr_head(&p, DNS_T_MX, 60);
	p_u16(&p, 10);
	p_rr_end(&p, at);
	assert_malformed(&p, "good.test", DNS_T_MX);

	/* a TXT string longer than its record */
	p_hdr(&p, F_QR, 1, 1, 0, 0);
	p_question(&p, "good.test", DNS_T_TXT);
	p_ptr(&p, 12);
	at = p_rr_head(&p, DNS_T_TXT, 60);
	p_u8(&p, 200);
	p_raw(&p, "short", 5);
	p_rr_end(&p, at);
	assert_malformed(&p, "good.test", DNS_T_TXT);

	/* an A record of 3 bytes */
	p_hdr(&p, F_QR, 1, 1, 0, 0);
	p_question(&p, "www.test", DNS_T_A);
	p_ptr(&p, 12);
	at = p_rr_head(&p, DNS_T_A, 60);
	p_raw(&p, "\x7f\0\0", 3);
	p_rr_end(&p, at);
	assert_malformed(&p, "www.test", DNS_T_A);

	/* an SOA with bytes missing after its names */
	p_hdr(&p, F_QR | 3, 1, 0, 1, 0);
	p_question(&p, "x.good.test", DNS_T_MX);
	p_name(&p, "good.test");
	at = p_rr_head(&p, DNS_T_SOA, 60);
	p_name(&p, "ns1.good.test");
	p_name(&p, "hostmaster.good.test");
	p_u32(&p, 1);
	p_u32(&p, 2);
	p_rr_end(&p, at);
	assert_malformed(&p, "x.good.test", DNS_T_MX);

	/* trailing bytes after the last section */
	build_mx_answer(&p);
	p_u8(&p, 0);
	assert_malformed(&p, "good.test", DNS_T_MX);

	/* counts larger than what is there */
	build_mx_answer(&p);
	p.b[7] = 200;
	assert_malformed(&p, "good.test", DNS_T_MX);
}
END_TEST

START_TEST(compression_loops_are_malformed)
{
	struct pkt p;
	size_t at, here;

	/* an owner name that points at itself */
	p_hdr(&p, F_QR, 1, 1, 0, 0);
	p_question(&p, "good.test", DNS_T_MX);
	here = p.n;
	p_ptr(&p, here);
	at = p_rr_head(&p, DNS_T_MX, 60);
	p_u16(&p, 0);
	p_ptr(&p, 12);
	p_rr_end(&p, at);
	assert_malformed(&p, "good.test", DNS_T_MX);

	/* an MX exchange made of a label and a pointer back to that label */
	p_hdr(&p, F_QR, 1, 1, 0, 0);
	p_question(&p, "good.test", DNS_T_MX);
	p_ptr(&p, 12);
	at = p_rr_head(&p, DNS_T_MX, 60);
	p_u16(&p, 0);
	here = p.n;
	p_labels(&p, "mx");
	p_ptr(&p, here);
	p_rr_end(&p, at);
	assert_malformed(&p, "good.test", DNS_T_MX);

	/* a pointer beyond the end of the packet */
	p_hdr(&p, F_QR, 1, 1, 0, 0);
	p_question(&p, "good.test", DNS_T_MX);
	p_ptr(&p, 12);
	at = p_rr_head(&p, DNS_T_MX, 60);
	p_u16(&p, 0);
	p_ptr(&p, 0x3fff);
	p_rr_end(&p, at);
	assert_malformed(&p, "good.test", DNS_T_MX);

	/* the question itself is a pointer to the header */
	p_hdr(&p, F_QR, 1, 0, 0, 0);
	p_ptr(&p, 0);
	p_u16(&p, DNS_T_MX);
	p_u16(&p, 1);
	assert_malformed(&p, "good.test", DNS_T_MX);
}
END_TEST

/* A name of `labels` labels of 63 bytes ('a'...), then `last` bytes. */
static void long_name(char *out, int labels, int last)
{
	char *o = out;

	for (int i = 0; i < labels; i++) {
		memset(o, 'a' + i, 63);
		o += 63;
		*o++ = '.';
	}
	memset(o, 'z', (size_t)last);
	o[last] = 0;
}

START_TEST(names_longer_than_255_bytes_are_malformed)
{
	char name[400];
	struct pkt p;
	struct dns_result res;
	struct mf_err err;
	size_t at;

	/* 3 x 63 + 61: 255 bytes on the wire, the longest legal name */
	long_name(name, 3, 61);
	p_hdr(&p, F_QR, 1, 1, 0, 0);
	p_question(&p, "good.test", DNS_T_MX);
	p_mx(&p, "good.test", 60, 0, name);
	ck_assert_int_eq(parse(&p, "good.test", DNS_T_MX, &res, &err), 0);
	ck_assert_str_eq(res.rr[0].data, name);
	dns_result_free(&res);

	/* one byte more */
	long_name(name, 3, 62);
	p_hdr(&p, F_QR, 1, 1, 0, 0);
	p_question(&p, "good.test", DNS_T_MX);
	p_mx(&p, "good.test", 60, 0, name);
	assert_malformed(&p, "good.test", DNS_T_MX);

	/* five full labels in the owner */
	long_name(name, 5, 1);
	p_hdr(&p, F_QR, 1, 1, 0, 0);
	p_question(&p, "good.test", DNS_T_MX);
	p_mx(&p, name, 60, 0, "mx.good.test");
	assert_malformed(&p, "good.test", DNS_T_MX);

	/* too long only once the pointers are followed: the MX name is one label
	 * and a pointer to a chain of four more, parked in an unknown-type record */
	p_hdr(&p, F_QR, 1, 2, 0, 0);
	p_question(&p, "good.test", DNS_T_MX);
	p_name(&p, "pad.test");
	at = p_rr_head(&p, 65280, 60);
	{
		size_t prev = 0;

		for (int i = 0; i < 4; i++) {
			size_t here = p.n;

			memset(name, 'a' + i, 63);
			p_u8(&p, 63);
			p_raw(&p, name, 63);
			if (i == 0)
				p_u8(&p, 0);
			else
				p_ptr(&p, prev);
			prev = here;
		}
		p_rr_end(&p, at);
		p_ptr(&p, 12);
		at = p_rr_head(&p, DNS_T_MX, 60);
		p_u16(&p, 0);
		memset(name, 'e', 63);
		p_u8(&p, 63);
		p_raw(&p, name, 63);
		p_ptr(&p, prev);
		p_rr_end(&p, at);
	}
	assert_malformed(&p, "good.test", DNS_T_MX);
}
END_TEST

START_TEST(answers_to_other_questions_are_malformed)
{
	struct pkt p;

	build_mx_answer(&p);
	assert_malformed(&p, "other.test", DNS_T_MX); /* another name */
	assert_malformed(&p, "good.test", DNS_T_TXT); /* another type */

	p_hdr(&p, F_QR, 1, 0, 0, 0); /* the root name, while good.test was asked */
	p_name(&p, "");
	p_u16(&p, DNS_T_MX);
	p_u16(&p, 1);
	assert_malformed(&p, "good.test", DNS_T_MX);

	p_hdr(&p, F_QR, 0, 0, 0, 0); /* no question at all */
	assert_malformed(&p, "good.test", DNS_T_MX);

	p_hdr(&p, F_QR, 2, 0, 0, 0); /* two questions */
	p_question(&p, "good.test", DNS_T_MX);
	p_question(&p, "good.test", DNS_T_MX);
	assert_malformed(&p, "good.test", DNS_T_MX);

	build_mx_answer(&p); /* a query, not an answer (QR clear) */
	p.b[2] &= 0x7f;
	assert_malformed(&p, "good.test", DNS_T_MX);

	build_mx_answer(&p); /* class CH instead of IN */
	p.b[12 + 11 + 3] = 3;
	assert_malformed(&p, "good.test", DNS_T_MX);
}
END_TEST

/* Deterministic xorshift: the same "random" packets on every run. */
static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void assert_sane(const struct dns_result *res, int rc)
{
	ck_assert(rc == 0 || rc == -1);
	ck_assert(res->status <= DNS_LOCAL);
	if (rc == 0)
		ck_assert(res->status <= DNS_RCODE);
	ck_assert(res->n_rr == 0 || res->status == DNS_ANSWER);
	for (size_t i = 0; i < res->n_rr; i++) {
		const char *s = res->rr[i].data;

		ck_assert_ptr_nonnull(s);
		for (; *s; s++)
			ck_assert(*s >= 0x20 && *s <= 0x7e);
	}
}

START_TEST(mutated_packets_never_crash)
{
	struct pkt base, p;

	build_mx_answer(&base);
	for (int iter = 0; iter < 20000; iter++) {
		struct dns_result res;
		struct mf_err err;
		int flips = 1 + (int)(rnd() % 8), rc;

		p = base;
		for (int k = 0; k < flips; k++) {
			size_t at = rnd() % p.n;

			switch (rnd() % 4) {
			case 0:
				p.b[at] ^= (unsigned char)(1u << (rnd() % 8));
				break;
			case 1:
				p.b[at] = (unsigned char)rnd();
				break;
			case 2:
				p.b[at] = 0xc0; /* a pointer start */
				break;
			default:
				p.n = at + 1 > 12 ? at + 1 : p.n; /* truncate */
				break;
			}
		}
		if (iter % 2)
			p.b[2] |= 0x80; /* keep QR set half of the time: go deeper */
		rc = parse(&p, "good.test", DNS_T_MX, &res, &err);
		assert_sane(&res, rc);
		dns_result_free(&res);
	}
}
END_TEST

START_TEST(running_out_of_memory_fails_cleanly)
{
	struct pkt p;
	int n, done = 0;

	/* an answer that needs many allocations: aliases, MX, SOA */
	p_hdr(&p, F_QR, 1, 4, 1, 0);
	p_question(&p, "alias.test", DNS_T_MX);
	p_cname(&p, "alias.test", "real.test");
	p_mx(&p, "real.test", 60, 10, "mx1.real.test");
	p_mx(&p, "real.test", 60, 5, "mx2.real.test");
	p_mx(&p, "real.test", 60, 20, "mx3.real.test");
	p_soa(&p, "real.test", 60, 60);
	for (n = 1; n < 200 && !done; n++) {
		struct dns_result res;
		struct mf_err err;
		char num[16];
		int rc;

		snprintf(num, sizeof(num), "%d", n);
		setenv("MAILFERRY_TEST_FAIL_ALLOC", num, 1);
		mf_mem_init_hooks();
		rc = parse(&p, "alias.test", DNS_T_MX, &res, &err);
		unsetenv("MAILFERRY_TEST_FAIL_ALLOC");
		mf_mem_init_hooks();
		if (rc == 0) {
			ck_assert_uint_eq(res.n_rr, 3);
			done = 1;
		} else {
			ck_assert_str_eq(dns_status_name(res.status), "LOCAL");
			ck_assert_int_eq(err.code, MF_E_NOMEM);
		}
		dns_result_free(&res);
	}
	ck_assert_msg(done && n > 5, "the walk reached a successful parse after %d failures", n);
}
END_TEST

/* ---------------------------------------------------------------- Microsoft 365 predicates */

START_TEST(m365_mx_hosts_are_recognised)
{
	char *h = dns_m365_mx_host("Contoso.co.uk");

	ck_assert_str_eq(h, "contoso-co-uk.mail.protection.outlook.com");
	free(h);
	ck_assert_int_eq(dns_mx_is_m365("good.test", "good-test.mail.protection.outlook.com"),
	                 DNS_MX_M365);
	ck_assert_int_eq(dns_mx_is_m365("Good.Test.", "GOOD-TEST.Mail.Protection.Outlook.com."),
	                 DNS_MX_M365);
	ck_assert_int_eq(dns_mx_is_m365("contoso.com", "contoso-com.e-v1.mx.microsoft"),
	                 DNS_MX_M365);
	ck_assert_int_eq(dns_mx_is_m365("contoso.com", "contoso-com.e-v1.MX.Microsoft."),
	                 DNS_MX_M365);
	/* Microsoft's host, but made for another domain */
	ck_assert_int_eq(dns_mx_is_m365("fabrikam.com", "contoso-com.mail.protection.outlook.com"),
	                 DNS_MX_M365_OTHER);
	ck_assert_int_eq(dns_mx_is_m365("good.test", "x.good-test.mail.protection.outlook.com"),
	                 DNS_MX_M365_OTHER);
	/* look-alikes and other providers */
	ck_assert_int_eq(dns_mx_is_m365("good.test", "mail.protection.outlook.com"),
	                 DNS_MX_NOT_M365);
	ck_assert_int_eq(
	        dns_mx_is_m365("good.test", "good-test.mail.protection.outlook.com.evil.example"),
	        DNS_MX_NOT_M365);
	ck_assert_int_eq(dns_mx_is_m365("good.test", "good-test.xmail.protection.outlook.com"),
	                 DNS_MX_NOT_M365);
	ck_assert_int_eq(dns_mx_is_m365("good.test", "mx.microsoft"), DNS_MX_NOT_M365);
	ck_assert_int_eq(dns_mx_is_m365("good.test", "mx.microsoft.evil.example"), DNS_MX_NOT_M365);
	ck_assert_int_eq(dns_mx_is_m365("good.test", "mx1.old-provider.example"), DNS_MX_NOT_M365);
	ck_assert_int_eq(dns_mx_is_m365("good.test", "."), DNS_MX_NOT_M365);
	ck_assert_int_eq(dns_mx_is_m365(NULL, "x"), DNS_MX_NOT_M365);
}
END_TEST

START_TEST(mx_tally_counts_old_and_new)
{
	struct pkt p;
	struct dns_result res;
	struct mf_err err;
	size_t m365, other;

	p_hdr(&p, F_QR, 1, 4, 0, 0);
	p_question(&p, "both.test", DNS_T_MX);
	p_mx(&p, "both.test", 60, 0, "both-test.mail.protection.outlook.com");
	p_mx(&p, "both.test", 60, 5, "both-test.e-v1.mx.microsoft");
	p_mx(&p, "both.test", 60, 10, "mx1.old-provider.example");
	p_mx(&p, "both.test", 60, 20, "contoso-com.mail.protection.outlook.com");
	ck_assert_int_eq(parse(&p, "both.test", DNS_T_MX, &res, &err), 0);
	dns_mx_tally(&res, "both.test", &m365, &other);
	ck_assert_uint_eq(m365, 2);
	ck_assert_uint_eq(other, 2);
	dns_result_free(&res);
	memset(&res, 0, sizeof(res));
	dns_mx_tally(&res, "both.test", &m365, &other);
	ck_assert_uint_eq(m365 + other, 0);
}
END_TEST

START_TEST(spf_include_of_microsoft_is_recognised)
{
	ck_assert(dns_spf_includes_m365("v=spf1 include:spf.protection.outlook.com -all"));
	ck_assert(dns_spf_includes_m365("V=SPF1 mx INCLUDE:SPF.Protection.Outlook.com ~all"));
	ck_assert(dns_spf_includes_m365("v=spf1  +include:spf.protection.outlook.com  -all"));
	ck_assert(dns_spf_includes_m365("v=spf1 include:spf.protection.outlook.com"));
	ck_assert(!dns_spf_includes_m365("v=spf1 ~include:spf.protection.outlook.com -all"));
	ck_assert(!dns_spf_includes_m365("v=spf1 -include:spf.protection.outlook.com"));
	ck_assert(!dns_spf_includes_m365("v=spf1 include:spf.protection.outlook.com.evil -all"));
	ck_assert(!dns_spf_includes_m365("v=spf1 include:xspf.protection.outlook.com -all"));
	ck_assert(!dns_spf_includes_m365("v=spf1 mx -all"));
	ck_assert(!dns_spf_includes_m365("note include:spf.protection.outlook.com"));
	ck_assert(!dns_spf_includes_m365("v=spf10 include:spf.protection.outlook.com"));
	ck_assert(!dns_spf_includes_m365(NULL));
	ck_assert(dns_txt_is_spf("v=spf1"));
	ck_assert(!dns_txt_is_spf("v=spf1x"));
	ck_assert(!dns_txt_is_spf("MS=ms12345678"));
}
END_TEST

START_TEST(ms_verification_records_are_extracted)
{
	char v[32];

	ck_assert(dns_txt_ms_verification("MS=ms12345678", v, sizeof(v)));
	ck_assert_str_eq(v, "MS=ms12345678");
	ck_assert(dns_txt_ms_verification("  MS=ms95480250\t", v, sizeof(v)));
	ck_assert_str_eq(v, "MS=ms95480250");
	ck_assert(dns_txt_ms_verification("ms=MS1", NULL, 0));
	ck_assert(!dns_txt_ms_verification("MS=ms", v, sizeof(v)));
	ck_assert(!dns_txt_ms_verification("MS=ms123abc", v, sizeof(v)));
	ck_assert(!dns_txt_ms_verification("MS=12345678", v, sizeof(v)));
	ck_assert(!dns_txt_ms_verification("v=spf1 MS=ms1", v, sizeof(v)));
	ck_assert(!dns_txt_ms_verification(NULL, v, sizeof(v)));
	/* a short buffer truncates, never overflows */
	ck_assert(dns_txt_ms_verification("MS=ms12345678", v, 6));
	ck_assert_str_eq(v, "MS=ms");
}
END_TEST

/* ---------------------------------------------------------------- servers and names */

START_TEST(server_addresses_parse)
{
	struct sockaddr_storage ss;
	unsigned len;
	struct mf_err err;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
	static const char *const bad[] = {
	        "",
	        "example.com",
	        "example.com:53",
	        "127.0.0.1:",
	        "127.0.0.1:0",
	        "127.0.0.1:65536",
	        "127.0.0.1:5x",

	        "[::1]:",
	        "[::1]x",
	        "[]:53",
	        "::1:53:x",
	        "1.2.3.4.5",
	        "[127.0.0.1]:53x",
	};

	ck_assert_int_eq(dns_parse_server("127.0.0.1:5353", &ss, &len, &err), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(s4->sin_port), 5353);
	ck_assert_int_eq(dns_parse_server("192.0.2.1", &ss, &len, &err), 0);
	ck_assert_uint_eq(ntohs(s4->sin_port), 53);
	ck_assert_int_eq(dns_parse_server("[::1]:5353", &ss, &len, &err), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(ntohs(s6->sin6_port), 5353);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
	ck_assert_int_eq(dns_parse_server("[::1]", &ss, &len, &err), 0);
	ck_assert_uint_eq(ntohs(s6->sin6_port), 53);
	ck_assert_int_eq(dns_parse_server("2001:db8::1", &ss, &len, &err), 0);
	ck_assert_uint_eq(ntohs(s6->sin6_port), 53);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(dns_parse_server(bad[i], &ss, &len, &err) == -1, "accepted \"%s\"",
		              bad[i]);
		ck_assert_int_eq(err.code, MF_E_CONFIG);
	}
}
END_TEST

START_TEST(resolvers_describe_their_servers)
{
	const char *servers[] = {"127.0.0.1:5353", "[::1]:53"};
	struct mf_err err;
	struct dns_resolver *r = dns_resolver_new(servers, 2, NULL, &err);
	char d[200];

	ck_assert_ptr_nonnull(r);
	dns_resolver_describe(r, d, sizeof(d));
	ck_assert_str_eq(d, "127.0.0.1:5353, [::1]:53");
	dns_resolver_free(r);
	ck_assert_ptr_null(dns_resolver_new(servers, 0, NULL, &err));
	servers[1] = "nameserver.example";
	ck_assert_ptr_null(dns_resolver_new(servers, 2, NULL, &err));
	ck_assert_int_eq(err.code, MF_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "nameserver.example"));

	/* the system's resolvers: glibc always gives at least one */
	r = dns_resolver_system(NULL, &err);
	ck_assert_ptr_nonnull(r);
	dns_resolver_describe(r, d, sizeof(d));
	ck_assert_ptr_nonnull(strchr(d, ':'));
	dns_resolver_free(r);
}
END_TEST

START_TEST(invalid_names_are_refused_before_any_query)
{
	/* port 9 (discard) is never contacted: the names are refused first */
	const char *servers[] = {"127.0.0.1:9"};
	static const char *const bad[] = {"",      ".",         "a..b",  ".a", "has space.test",
	                                  "a\\.b", "tab\tname", "x\x80y"};
	struct mf_err err;
	struct dns_resolver *r = dns_resolver_new(servers, 1, NULL, &err);
	char longname[300];

	ck_assert_ptr_nonnull(r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) + 2; i++) {
		struct dns_result res;
		const char *name;

		if (i < sizeof(bad) / sizeof(bad[0])) {
			name = bad[i];
		} else if (i == sizeof(bad) / sizeof(bad[0])) {
			memset(longname, 'a', 254);
			longname[254] = 0;
			name = longname;
		} else {
			name = NULL;
		}
		ck_assert_int_eq(dns_query(r, name, DNS_T_MX, &res, &err), -1);
		ck_assert_str_eq(dns_status_name(res.status), "LOCAL");
		ck_assert_int_eq(err.code, MF_E_CONFIG);
		ck_assert_ptr_nonnull(strstr(res.summary, "not a valid domain name"));
		dns_result_free(&res);
	}
	/* a label of 64 bytes is refused by the encoder */
	{
		struct dns_result res;

		memset(longname, 'b', 64);
		strcpy(longname + 64, ".test");
		ck_assert_int_eq(dns_query(r, longname, DNS_T_MX, &res, &err), -1);
		ck_assert_int_eq(err.code, MF_E_CONFIG);
		dns_result_free(&res);
	}
	dns_resolver_free(r);
}
END_TEST

static Suite *dns_suite(void)
{
	Suite *s = suite_create("dns");
	TCase *t = tcase_create("dns");

	tcase_add_test(t, mx_records_come_sorted_with_their_ttls);
	tcase_add_test(t, question_matches_whatever_the_case_and_trailing_dot);
	tcase_add_test(t, txt_strings_are_joined_and_odd_bytes_escaped);
	tcase_add_test(t, cnames_in_the_answer_are_followed);
	tcase_add_test(t, a_cname_question_is_not_followed);
	tcase_add_test(t, a_cname_loop_is_reported_with_the_loop);
	tcase_add_test(t, negative_answers_carry_the_negative_ttl);
	tcase_add_test(t, error_codes_become_statuses);
	tcase_add_test(t, a_ttl_with_the_top_bit_reads_as_zero);
	tcase_add_test(t, null_mx_and_addresses_decode);
	tcase_add_test(t, every_truncation_is_malformed);
	tcase_add_test(t, lying_lengths_are_malformed);
	tcase_add_test(t, compression_loops_are_malformed);
	tcase_add_test(t, names_longer_than_255_bytes_are_malformed);
	tcase_add_test(t, answers_to_other_questions_are_malformed);
	tcase_add_test(t, mutated_packets_never_crash);
	tcase_add_test(t, running_out_of_memory_fails_cleanly);
	tcase_add_test(t, m365_mx_hosts_are_recognised);
	tcase_add_test(t, mx_tally_counts_old_and_new);
	tcase_add_test(t, spf_include_of_microsoft_is_recognised);
	tcase_add_test(t, ms_verification_records_are_extracted);
	tcase_add_test(t, server_addresses_parse);
	tcase_add_test(t, resolvers_describe_their_servers);
	tcase_add_test(t, invalid_names_are_refused_before_any_query);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(dns_suite)
