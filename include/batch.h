/* mailferry - a migration batch (engine API)
 *
 * A batch is a named migration: a source, a target, a list of mailboxes (the
 * CSV) and everything learnt while migrating them.  It lives in its own
 * directory under $XDG_STATE_HOME/mailferry/<name>/ (0700):
 *
 *     ledger.db            settings, mailboxes, folders, messages, checks (SQLite)
 *     mailboxes.csv        the batch's copy of the CSV (0600; holds passwords)
 *     *.secret             admin passwords and the OAuth client secret (0600)
 *     mailferry.log        the batch log (secrets redacted)
 *     lock                 held by the mailferry that migrates this batch
 *
 * The ledger never holds a password.  The credential files exist so that a
 * delta sync can run unattended days later; finishing the batch (step 11)
 * wipes them (batch_wipe_credentials).
 */
#ifndef MF_BATCH_H
#define MF_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "net/transport.h"

struct mf_err;
struct mf_secret;
struct ledger;
struct ledger_mailbox;
struct csvin_result;

enum mf_target_kind {
	MF_TARGET_IMAP = 0, /* any IMAP server */
	MF_TARGET_M365,     /* Exchange Online: XOAUTH2, Graph checks, Exchange quirks */
};

/* How the mailboxes are logged in to. */
enum mf_auth_mode {
	MF_AUTH_CSV = 0, /* each row's own credentials (UserName/Password, Target* columns) */
	MF_AUTH_ADMIN,   /* one admin account, in the admin form below */
	MF_AUTH_OAUTH2,  /* Microsoft 365 app-only XOAUTH2 (target only) */
};

/* Admin ("super-user") login forms, as Microsoft documents them for sources. */
enum mf_admin_form {
	MF_ADMIN_DOVECOT = 0, /* user*admin with the admin's password (separator configurable) */
	MF_ADMIN_AUTHZID,     /* SASL PLAIN: authorization id = user, authentication id = admin */
	MF_ADMIN_EXCHANGE,    /* domain/admin/user */
	MF_ADMIN_MIRAPOINT,   /* #user@domain#admin# */
	MF_ADMIN_USERROOT,    /* log in as the admin; the user's folders are under UserRoot */
};

struct mf_endpoint {
	char *host;                /* owned */
	unsigned port;             /* 0: the security's default */
	enum mf_security security;
	int allow_plaintext;       /* required with MF_SEC_NONE */
	int legacy_tls;            /* allow TLS 1.0/1.1 (source only) */
	char *ca_file;             /* owned, NULL: system CAs */
	char *proxy;               /* owned, NULL: none */
	enum mf_auth_mode auth;
	enum mf_admin_form admin_form;
	char *admin_user;          /* owned */
	char *admin_domain;        /* owned: the domain of the Exchange form */
	char admin_sep;            /* Dovecot form separator, '*' */
};

struct mf_m365 {
	char *tenant;      /* owned: tenant id or domain */
	char *client_id;   /* owned: application (client) id */
	char *cert_file;   /* owned: PEM certificate for a JWT client assertion (or NULL) */
	char *key_file;    /* owned: its private key (PEM) */
	char *authority;   /* owned: default https://login.microsoftonline.com */
	char *graph_url;   /* owned: default https://graph.microsoft.com/v1.0 */
	/* the client secret, when used, is the file client.secret in the batch */
};

struct mf_batch_settings {
	char *name;                   /* owned */
	char *csv_origin;             /* owned: where the CSV was imported from */
	struct mf_endpoint source, target;
	enum mf_target_kind target_kind;
	struct mf_m365 m365;
	char **exclude;               /* owned: folders to leave out (-ExcludeFolders semantics) */
	size_t nexclude;
	unsigned concurrency;         /* mailboxes in parallel (default 8) */
	unsigned target_conns;        /* target connections per mailbox (default 2) */
	unsigned pipeline_depth;      /* commands in flight per connection (default 64) */
	long cmd_timeout_ms;          /* per-command inactivity timeout (default 120 s) */
	uint64_t max_message_size;    /* 0: no limit (Microsoft 365: 35 MB by default) */
	uint64_t bandwidth;           /* bytes/s across the batch, 0: no cap */
	double msg_rate;              /* messages/s across the batch, 0: no cap */
	int allow_unknown_columns;
	char *dns_servers;            /* owned: "host:port,host:port" resolvers to ask (steps 2,
					 8-10), NULL: the system's; several for step 10 */
	int demo;                     /* made by `mailferry demo`: local servers, no public DNS */
	char *notice_template;        /* owned: step 3 notice (a file path) or NULL */
	char *welcome_template;       /* owned: step 11 welcome message (a file path) or NULL */
};

void batch_settings_init(struct mf_batch_settings *s); /* defaults, all pointers NULL */
void batch_settings_clear(struct mf_batch_settings *s);
int batch_settings_copy(struct mf_batch_settings *dst, const struct mf_batch_settings *src);

/* Letters, digits, '.', '_' and '-', 1 to 64 of them, not starting with '.'. */
int batch_name_valid(const char *name);
/* The directory of a batch (malloc'd). */
char *batch_dir(const char *name);
/* Names of the existing batches, sorted (owned array of owned strings). */
char **batch_list(size_t *n);
void batch_list_free(char **v, size_t n);

/* Secrets handed to batch_create (all optional; borrowed). */
struct batch_secrets {
	const struct mf_secret *source_admin;
	const struct mf_secret *target_admin;
	const struct mf_secret *client_secret;
};

/* Creates a batch: its directory, ledger, settings, a private copy of the CSV
 * and the secrets.  The CSV is validated first: when it has errors nothing is
 * created, *problems (if not NULL) receives them, and MF_E_DATA is returned.
 * A batch of the same name is refused (MF_E_CONFIG, "already exists"). */
int batch_create(const struct mf_batch_settings *s, const char *csv_path,
		 const struct batch_secrets *secrets, struct csvin_result *problems,
		 struct mf_err *err);

enum {
	BATCH_LOCK = 1, /* take the batch's lock (migrate, verify, the wizard) */
};

struct mf_batch;

/* Opens an existing batch (MF_E_NOTFOUND if there is none).  With BATCH_LOCK
 * a second process gets MF_E_LOCKED, naming the holder's pid. */
int batch_open(const char *name, unsigned flags, struct mf_batch **out, struct mf_err *err);
void batch_close(struct mf_batch *b);
/* The pid of the mailferry migrating this batch now, or 0. */
long batch_lock_holder(const struct mf_batch *b);
int batch_delete(const char *name, struct mf_err *err);

const struct mf_batch_settings *batch_settings(const struct mf_batch *b);
struct ledger *batch_ledger(struct mf_batch *b);
const char *batch_path(const struct mf_batch *b);
const char *batch_log_path(const struct mf_batch *b);
/* The batch's copy of the CSV (malloc'd path). */
char *batch_csv_path(const struct mf_batch *b);
/* Replaces the settings (name excluded) and saves them. */
int batch_save_settings(struct mf_batch *b, const struct mf_batch_settings *s,
			struct mf_err *err);
/* Replaces the CSV: validates it (problems as in batch_create), copies it,
 * and updates the mailbox list (rows gone from the CSV are removed). */
int batch_import_csv(struct mf_batch *b, const char *csv_path, struct csvin_result *problems,
		     struct mf_err *err);
/* The validated rows of the batch's CSV (loaded on first use; borrowed). */
int batch_rows(struct mf_batch *b, const struct csvin_result **rows, struct mf_err *err);
/* Stores (or with NULL removes) one of the batch's secrets: "source-admin",
 * "target-admin", "client". */
int batch_set_secret(struct mf_batch *b, const char *which, const struct mf_secret *s,
		     struct mf_err *err);
/* Loads a secret; *out is NULL when it is not set. */
int batch_get_secret(struct mf_batch *b, const char *which, struct mf_secret **out,
		     struct mf_err *err);
/* Shreds the credential files and blanks the password columns of the CSV copy. */
int batch_wipe_credentials(struct mf_batch *b, struct mf_err *err);

/* How to log in to one side for one mailbox. */
struct mf_login {
	char *user;                 /* owned: the login name (admin forms applied) */
	char *authzid;              /* owned: SASL authorization id, or NULL */
	struct mf_secret *password; /* owned: password, or NULL for OAuth */
	char *oauth_user;           /* owned: XOAUTH2 user= (the mailbox address) */
	char *root;                 /* owned: folder root (UserRoot), or NULL */
};
void mf_login_clear(struct mf_login *l);

/* Builds the source and target logins of a mailbox from the settings, the
 * CSV row and the batch secrets. */
int batch_logins(struct mf_batch *b, const struct ledger_mailbox *m, struct mf_login *src,
		 struct mf_login *tgt, struct mf_err *err);

/* Names used in settings, CLI options and reports. */
const char *mf_auth_mode_name(enum mf_auth_mode m);
int mf_auth_mode_parse(const char *s, enum mf_auth_mode *out);
const char *mf_admin_form_name(enum mf_admin_form f);
int mf_admin_form_parse(const char *s, enum mf_admin_form *out);

#endif
