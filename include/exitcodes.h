/* mailferry - exit statuses (stable; documented in mailferry(1), EXIT STATUS)
 *
 * 77 is avoided on purpose: automake's test harness reads it as "skipped".
 */
#ifndef MF_EXITCODES_H
#define MF_EXITCODES_H

enum mf_exit {
	MF_EXIT_OK = 0,          /* everything done: all mailboxes synced, all checks passed */
	MF_EXIT_INTERNAL = 1,    /* internal error (a bug): please report it */
	MF_EXIT_PARTIAL = 2,     /* some mailboxes failed (the others are synced), or a check FAILed */
	MF_EXIT_ALLFAILED = 3,   /* every mailbox failed */
	MF_EXIT_RESUMABLE = 4,   /* interrupted (signal, hangup, disk full): run again to resume */
	MF_EXIT_LOCKED = 5,      /* the batch is in use by another mailferry */
	MF_EXIT_USAGE = 64,      /* bad command line */
	MF_EXIT_DATAERR = 65,    /* invalid input data (CSV rows, templates) */
	MF_EXIT_NOINPUT = 66,    /* an input file or the named batch does not exist */
	MF_EXIT_UNAVAILABLE = 69,/* a server could not be reached or refused us before any work */
	MF_EXIT_SOFTWARE = 70,   /* a required program (dovecot for the demo) is missing */
	MF_EXIT_CANTCREAT = 73,  /* the state directory cannot be created or written */
	MF_EXIT_CONFIG = 78,     /* the batch settings are incomplete or inconsistent */
};

#endif
