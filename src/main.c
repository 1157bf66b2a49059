/* mailferry - move mailboxes from an IMAP server to Microsoft 365 or any IMAP server
 *
 * main() only prepares the process (hardening, locale, library init) and hands
 * over to the command line in src/cli.
 */
#include "config.h"

#include <locale.h>
#include <signal.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "exitcodes.h"
#include "util/mem.h"
#include "util/secret.h"

int main(int argc, char **argv)
{
	int rc;

	secret_harden_process();
	signal(SIGPIPE, SIG_IGN);
	setlocale(LC_ALL, "");
	mf_mem_init_hooks();
	if (curl_global_init(CURL_GLOBAL_ALL))
		return MF_EXIT_INTERNAL;
	rc = cli_main(argc, argv);
	curl_global_cleanup();
	return rc;
}
