/* mailferry - facts the checks reason with */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "checks/facts.h"

#define FORM(f) (1u << (f))

static const struct server_identity servers[] = {
        {SRV_UNKNOWN, "", 0, ""},
        {SRV_DOVECOT, "Dovecot", FORM(MF_ADMIN_DOVECOT) | FORM(MF_ADMIN_AUTHZID),
         "a master user: user*admin (Dovecot's auth_master_user_separator, '*' here) or SASL "
         "PLAIN with the user as authorization id (--source-admin-form dovecot or authzid)"},
        {SRV_CYRUS, "Cyrus IMAP", FORM(MF_ADMIN_AUTHZID),
         "SASL PLAIN with the user as authorization id and an admin as authentication id "
         "(--source-admin-form authzid); Microsoft documents no form for Cyrus"},
        {SRV_COURIER, "Courier-IMAP", FORM(MF_ADMIN_USERROOT),
         "no admin login: log in as an admin and reach each user through virtual shared "
         "folders named in the UserRoot column (--source-admin-form userroot)"},
        {SRV_EXCHANGE, "Microsoft Exchange", FORM(MF_ADMIN_EXCHANGE),
         "Domain/Admin_UserName/User_UserName with an admin holding FullAccess on every "
         "mailbox (--source-admin-form exchange --source-admin-domain DOMAIN)"},
        {SRV_ZIMBRA, "Zimbra", FORM(MF_ADMIN_AUTHZID),
         "SASL PLAIN with the user as authorization id and an admin account as "
         "authentication id (--source-admin-form authzid)"},
        {SRV_MIRAPOINT, "Mirapoint", FORM(MF_ADMIN_MIRAPOINT),
         "#user@domain#Admin_UserName# (--source-admin-form mirapoint)"},
        {SRV_ORACLE, "Oracle Communications Messaging Server", FORM(MF_ADMIN_USERROOT),
         "no admin login form: an admin with virtual shared folders in the UserRoot column "
         "(--source-admin-form userroot)"},
        {SRV_GMAIL, "Gmail", 0,
         "no admin login over IMAP: each user's own login (app password or OAuth); exclude "
         "[Gmail] folders to avoid duplicates"},
        {SRV_UW, "UW IMAP", 0, "no admin login form: each user's own password"},
};

static const struct {
	const char *needle;
	enum server_kind kind;
} patterns[] = {
        {"dovecot", SRV_DOVECOT},
        {"cyrus", SRV_CYRUS},
        {"courier", SRV_COURIER},
        {"microsoft exchange", SRV_EXCHANGE},
        {"microsoft.exchange", SRV_EXCHANGE},
        {"exchange server", SRV_EXCHANGE},
        {"zimbra", SRV_ZIMBRA},
        {"mirapoint", SRV_MIRAPOINT},
        {"oracle communications", SRV_ORACLE},
        {"sun java", SRV_ORACLE},
        {"messaging multiplexor", SRV_ORACLE},
        {"gimap", SRV_GMAIL},
        {"gmail", SRV_GMAIL},
        {"uw imap", SRV_UW},
        {"imap4rev1 2007", SRV_UW},
};

static int has(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; hay && *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

const struct server_identity *facts_identify_server(const char *greeting, const char *id_name,
                                                    const char *id_vendor)
{
	const char *sources[] = {id_name, id_vendor, greeting};

	/* ID is what the server says it is; the greeting is often customised */
	for (size_t s = 0; s < 3; s++)
		for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
			if (sources[s] && has(sources[s], patterns[i].needle))
				return &servers[patterns[i].kind];
	return &servers[SRV_UNKNOWN];
}

int facts_form_fits(const struct server_identity *s, enum mf_admin_form f)
{
	return (s->forms & FORM(f)) != 0;
}

#define V(a, b, c) ((unsigned)((a) << 16 | (b) << 8 | (c)))

static const struct curl_cve cves[] = {
        {"CVE-2021-22946", V(7, 20, 0), V(7, 79, 0),
         "a server could make libcurl continue without the TLS it was told to require"},
        {"CVE-2021-22947", V(7, 20, 0), V(7, 79, 0),
         "responses pipelined with the STARTTLS answer were trusted after the handshake"},
        {"CVE-2026-8286", V(7, 30, 0), V(8, 14, 2), "wrong STARTTLS connection reuse"},
        {"CVE-2026-8286", V(8, 15, 0), V(8, 16, 1), "wrong STARTTLS connection reuse"},
        {"CVE-2026-8286", V(8, 17, 0), V(8, 20, 1), "wrong STARTTLS connection reuse"},
};

size_t facts_curl_starttls_cves(unsigned version_num, const struct curl_cve **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(cves) / sizeof(cves[0]); i++)
		if (version_num >= cves[i].from && version_num < cves[i].fixed && n < max)
			out[n++] = &cves[i];
	return n;
}
