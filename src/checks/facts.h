/* mailferry - facts the checks reason with (pure logic, unit-tested)
 *
 *  - which IMAP server software a greeting or an ID answer names, and the
 *    admin ("super-user") login forms that software accepts;
 *  - which libcurl versions carry a known STARTTLS vulnerability.
 */
#ifndef MF_CHECKS_FACTS_H
#define MF_CHECKS_FACTS_H

#include <stddef.h>

#include "batch.h"

enum server_kind {
	SRV_UNKNOWN = 0,
	SRV_DOVECOT,
	SRV_CYRUS,
	SRV_COURIER,
	SRV_EXCHANGE,
	SRV_ZIMBRA,
	SRV_MIRAPOINT,
	SRV_ORACLE,
	SRV_GMAIL,
	SRV_UW,
};

struct server_identity {
	enum server_kind kind;
	const char *name;   /* "Dovecot", "Microsoft Exchange", ... ("" when unknown) */
	unsigned forms;     /* bit (1 << enum mf_admin_form) per admin form it accepts */
	const char *advice; /* how an admin logs in as each user there, in words */
};

/* Recognises the software from the greeting text ("* OK ... Dovecot ready.")
 * and the ID fields (name, vendor; NULL when not known).  Never NULL. */
const struct server_identity *facts_identify_server(const char *greeting, const char *id_name,
                                                    const char *id_vendor);
int facts_form_fits(const struct server_identity *s, enum mf_admin_form f);

/* A STARTTLS vulnerability of libcurl, with the versions it affects. */
struct curl_cve {
	const char *id;
	unsigned from;  /* first affected version, as curl's version_num (0xXXYYZZ) */
	unsigned fixed; /* first fixed version */
	const char *what;
};

/* The known STARTTLS CVEs whose range holds version_num: up to max of them
 * into out; returns how many. */
size_t facts_curl_starttls_cves(unsigned version_num, const struct curl_cve **out, size_t max);

#endif
