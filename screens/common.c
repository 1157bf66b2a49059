/* mailferry - pieces shared by the screens: endpoint fields, descriptions,
 * roles for status words, confirmations before actions */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screens.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/secret.h"

static const char *const security_choices[] = {"SSL/TLS (993)", "STARTTLS (143)", "None: plaintext",
                                               NULL};
static const char *const source_auth_choices[] = {"each user's password (CSV)", "one admin account",
                                                  NULL};
static const char *const form_choices[] = {
        "Dovecot user*admin",         "SASL authorization id",   "Exchange domain/admin/user",
        "Mirapoint #user@dom#admin#", "Courier/Oracle UserRoot", NULL};
static const char *const kind_choices[] = {"IMAP server", "Microsoft 365", NULL};
static const char *const target_auth_choices[] = {"per mailbox (CSV Target columns)",
                                                  "one admin account", "Microsoft 365 app (OAuth2)",
                                                  NULL};

void form_secrets_clear(struct form_secrets *s)
{
	secret_free(s->source_admin);
	secret_free(s->target_admin);
	secret_free(s->client);
	memset(s, 0, sizeof(*s));
}

static const char *str(const char *s)
{
	return s ? s : "";
}

int fields_source(struct ui_field *f, int at, int cap, const struct mf_batch_settings *s)
{
	const struct mf_endpoint *e = &s->source;

	if (at + 5 > cap)
		return at;
	ui_field_text(&f[at++], F_SRC_HOST, "Source server", 40, str(e->host));
	ui_field_number(&f[at++], F_SRC_PORT, "Port (0: default)", 0, 65535, e->port);
	ui_field_choice(&f[at++], F_SRC_SEC, "Security", security_choices, (int)e->security);
	ui_field_check(&f[at++], F_SRC_PLAIN, "Allow plaintext", e->allow_plaintext);
	ui_field_text(&f[at++], F_SRC_CA, "CA file (blank: system)", 40, str(e->ca_file));
	return at;
}

int fields_source_login(struct ui_field *f, int at, int cap, const struct mf_batch_settings *s,
                        int stored)
{
	const struct mf_endpoint *e = &s->source;

	if (at + 5 > cap)
		return at;
	ui_field_choice(&f[at++], F_SRC_AUTH, "Source login", source_auth_choices,
	                e->auth == MF_AUTH_ADMIN ? 1 : 0);
	ui_field_choice(&f[at++], F_SRC_FORM, "Admin login form", form_choices, (int)e->admin_form);
	ui_field_text(&f[at++], F_SRC_ADMIN, "Admin user", 32, str(e->admin_user));
	ui_field_password(&f[at++], F_SRC_PW, stored ? "Admin password [stored]" : "Admin password",
	                  32);
	ui_field_text(&f[at++], F_SRC_DOMAIN, "Exchange domain", 32, str(e->admin_domain));
	return at;
}

int fields_target(struct ui_field *f, int at, int cap, const struct mf_batch_settings *s,
                  int stored_admin, int stored_client)
{
	const struct mf_endpoint *e = &s->target;

	if (at + 14 > cap)
		return at;
	ui_field_choice(&f[at++], F_TGT_KIND, "Target kind", kind_choices,
	                s->target_kind == MF_TARGET_M365);
	ui_field_text(&f[at++], F_TGT_HOST, "Target server", 40, str(e->host));
	ui_field_number(&f[at++], F_TGT_PORT, "Target port (0: default)", 0, 65535, e->port);
	ui_field_choice(&f[at++], F_TGT_SEC, "Target security", security_choices, (int)e->security);
	ui_field_check(&f[at++], F_TGT_PLAIN, "Allow plaintext (target)", e->allow_plaintext);
	ui_field_text(&f[at++], F_TGT_CA, "Target CA file", 40, str(e->ca_file));
	ui_field_choice(&f[at++], F_TGT_AUTH, "Target login", target_auth_choices, (int)e->auth);
	ui_field_text(&f[at++], F_TGT_ADMIN, "Target admin user", 32, str(e->admin_user));
	ui_field_password(&f[at++], F_TGT_PW,
	                  stored_admin ? "Target admin pw [stored]" : "Target admin password", 32);
	ui_field_text(&f[at++], F_TENANT, "Tenant id or domain", 40, str(s->m365.tenant));
	ui_field_text(&f[at++], F_APP_ID, "Application (client) id", 40, str(s->m365.client_id));
	ui_field_password(&f[at++], F_CLIENT_SECRET,
	                  stored_client ? "Client secret [stored]" : "Client secret", 40);
	ui_field_text(&f[at++], F_CERT, "or certificate (PEM)", 40, str(s->m365.cert_file));
	ui_field_text(&f[at++], F_KEY, "and its key (PEM)", 40, str(s->m365.key_file));
	return at;
}

static void *grow(void *p, size_t n)
{
	void *q = mf_realloc(p, n);

	if (!q)
		ui_die("out of memory; nothing was lost, the batch can be resumed");
	return q;
}

/* Replaces *dst with a copy of the field's text, NULL when blank. */
static void take_text(struct ui_form *form, int id, char **dst)
{
	struct ui_field *fl = ui_form_field(form, id);
	const char *v;
	size_t b, e;

	if (!fl || !(v = ui_field_value(fl)))
		return;
	for (b = 0; v[b] == ' '; b++)
		;
	for (e = strlen(v); e > b && v[e - 1] == ' '; e--)
		;
	free(*dst);
	*dst = NULL;
	if (e > b && !(*dst = mf_strndup(v + b, e - b)))
		ui_die("out of memory; nothing was lost, the batch can be resumed");
}

static int take_number(struct ui_form *form, int id, long *out, const char *what, char *msg,
                       size_t n)
{
	struct ui_field *fl = ui_form_field(form, id);

	if (!fl)
		return 1; /* not in this form */
	if (ui_field_get_number(fl, out) < 0) {
		snprintf(msg, n, "%s must be a number from %ld to %ld.", what, fl->min, fl->max);
		return -1;
	}
	return 0;
}

static void take_secret(struct ui_form *form, int id, struct mf_secret **dst)
{
	struct ui_field *fl = ui_form_field(form, id);

	if (!fl || !ui_field_length(fl))
		return;
	secret_free(*dst);
	*dst = ui_field_take_secret(fl);
}

static int choice_of(struct ui_form *form, int id, int *out)
{
	struct ui_field *fl = ui_form_field(form, id);

	if (!fl)
		return 0;
	*out = fl->choice;
	return 1;
}

static int check_of(struct ui_form *form, int id, int *out)
{
	struct ui_field *fl = ui_form_field(form, id);

	if (!fl)
		return 0;
	*out = fl->checked;
	return 1;
}

static int apply_endpoint(struct ui_form *form, struct mf_endpoint *e, int source, char *msg,
                          size_t n)
{
	long port;
	int v, rc;

	take_text(form, source ? F_SRC_HOST : F_TGT_HOST, &e->host);
	rc = take_number(form, source ? F_SRC_PORT : F_TGT_PORT, &port,
	                 source ? "The source port" : "The target port", msg, n);
	if (rc < 0)
		return -1;
	if (rc == 0)
		e->port = (unsigned)port;
	if (choice_of(form, source ? F_SRC_SEC : F_TGT_SEC, &v))
		e->security = (enum mf_security)v;
	if (check_of(form, source ? F_SRC_PLAIN : F_TGT_PLAIN, &v))
		e->allow_plaintext = v;
	take_text(form, source ? F_SRC_CA : F_TGT_CA, &e->ca_file);
	if (choice_of(form, source ? F_SRC_AUTH : F_TGT_AUTH, &v))
		e->auth = (enum mf_auth_mode)v;
	if (source && choice_of(form, F_SRC_FORM, &v))
		e->admin_form = (enum mf_admin_form)v;
	take_text(form, source ? F_SRC_ADMIN : F_TGT_ADMIN, &e->admin_user);
	if (source)
		take_text(form, F_SRC_DOMAIN, &e->admin_domain);
	return 0;
}

/* The rules `mailferry batch create` applies, in the wizard's words. */
static int typed(struct ui_form *form, int id)
{
	struct ui_field *fl = ui_form_field(form, id);

	return fl && ui_field_length(fl) > 0;
}

static int validate(const struct mf_batch_settings *s, int have_source, int have_target,
                    int have_client, char *msg, size_t n)
{
	if (s->source.security == MF_SEC_NONE && !s->source.allow_plaintext) {
		snprintf(msg, n,
		         "Security None sends passwords in clear: tick 'Allow plaintext' "
		         "if that is really wanted.");
		return -1;
	}
	if (s->target.security == MF_SEC_NONE && !s->target.allow_plaintext) {
		snprintf(msg, n,
		         "Target security None sends passwords in clear: tick 'Allow "
		         "plaintext (target)' if that is really wanted.");
		return -1;
	}
	if (s->source.auth == MF_AUTH_ADMIN && (!s->source.admin_user || !have_source)) {
		snprintf(msg, n, "The source's admin login needs an admin user and its password.");
		return -1;
	}
	if (s->target.auth == MF_AUTH_ADMIN && (!s->target.admin_user || !have_target)) {
		snprintf(msg, n, "The target's admin login needs an admin user and its password.");
		return -1;
	}
	if (s->target.auth == MF_AUTH_OAUTH2 &&
	    (!s->m365.tenant || !s->m365.client_id ||
	     (!have_client && !(s->m365.cert_file && s->m365.key_file)))) {
		snprintf(msg, n,
		         "Microsoft 365 needs the tenant, the application id and either the "
		         "client secret or a certificate with its key.");
		return -1;
	}
	return 0;
}

int fields_apply(struct ui_form *form, struct mf_batch_settings *s, struct form_secrets *sec,
                 int stored_source, int stored_target, int stored_client, char *msg, size_t n)
{
	long v;
	int k, rc;

	if (apply_endpoint(form, &s->source, 1, msg, n) < 0 ||
	    apply_endpoint(form, &s->target, 0, msg, n) < 0)
		return -1;
	if (choice_of(form, F_TGT_KIND, &k))
		s->target_kind = k ? MF_TARGET_M365 : MF_TARGET_IMAP;
	take_text(form, F_TENANT, &s->m365.tenant);
	take_text(form, F_APP_ID, &s->m365.client_id);
	take_text(form, F_CERT, &s->m365.cert_file);
	take_text(form, F_KEY, &s->m365.key_file);
	take_text(form, F_DNS, &s->dns_servers);
	take_text(form, F_NOTICE, &s->notice_template);
	take_text(form, F_WELCOME, &s->welcome_template);
	if ((rc = take_number(form, F_CONCURRENCY, &v, "Mailboxes at once", msg, n)) < 0)
		return -1;
	if (!rc)
		s->concurrency = (unsigned)v;
	if ((rc = take_number(form, F_TARGET_CONNS, &v, "Target connections", msg, n)) < 0)
		return -1;
	if (!rc)
		s->target_conns = (unsigned)v;
	if ((rc = take_number(form, F_BANDWIDTH, &v, "The bandwidth cap", msg, n)) < 0)
		return -1;
	if (!rc)
		s->bandwidth = (uint64_t)v * 1024;
	if ((rc = take_number(form, F_MSG_RATE, &v, "The message rate", msg, n)) < 0)
		return -1;
	if (!rc)
		s->msg_rate = (double)v;
	if ((rc = take_number(form, F_MAX_SIZE, &v, "The largest message", msg, n)) < 0)
		return -1;
	if (!rc)
		s->max_message_size = (uint64_t)v * 1000 * 1000;
	if (ui_form_field(form, F_EXCLUDE)) {
		char *list = NULL;

		take_text(form, F_EXCLUDE, &list);
		for (size_t i = 0; i < s->nexclude; i++)
			free(s->exclude[i]);
		free(s->exclude);
		s->exclude = NULL;
		s->nexclude = 0;
		for (char *save = NULL, *tok = list ? strtok_r(list, ",", &save) : NULL; tok;
		     tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			for (size_t e = strlen(tok); e > 0 && tok[e - 1] == ' '; e--)
				tok[e - 1] = 0;
			if (!*tok)
				continue;
			s->exclude = grow(s->exclude, (s->nexclude + 1) * sizeof(*s->exclude));
			s->exclude[s->nexclude++] = xstrdup(tok);
		}
		free(list);
	}
	/* Microsoft 365: the defaults an admin expects (as `batch create` does) */
	if (s->target_kind == MF_TARGET_M365) {
		if (!s->target.host)
			s->target.host = xstrdup("outlook.office365.com");
		if (!s->max_message_size)
			s->max_message_size = 35u * 1000 * 1000;
	}
	/* a typed password is taken out of its field only once all is well:
	 * after a mistake it is still there to save again */
	if (validate(s, typed(form, F_SRC_PW) || stored_source,
	             typed(form, F_TGT_PW) || stored_target,
	             typed(form, F_CLIENT_SECRET) || stored_client, msg, n) < 0)
		return -1;
	take_secret(form, F_SRC_PW, &sec->source_admin);
	take_secret(form, F_TGT_PW, &sec->target_admin);
	take_secret(form, F_CLIENT_SECRET, &sec->client);
	return 0;
}

/* ---------------------------------------------------------------- descriptions */

void describe_endpoint(char *out, size_t n, const struct mf_endpoint *e, int source)
{
	static const char *const sec[] = {"SSL/TLS", "STARTTLS", "no TLS"};
	unsigned port = e->port ? e->port : e->security == MF_SEC_SSL ? 993 : 143;
	char login[160];

	switch (e->auth) {
	case MF_AUTH_ADMIN:
		snprintf(login, sizeof(login), "admin %s",
		         e->admin_user ? e->admin_user : "(not set)");
		break;
	case MF_AUTH_OAUTH2:
		snprintf(login, sizeof(login), "OAuth2 app");
		break;
	default:
		snprintf(login, sizeof(login), source ? "CSV passwords" : "CSV Target columns");
		break;
	}
	if (!e->host)
		snprintf(out, n, "(not set)");
	else
		snprintf(out, n, "%s:%u, %s, login: %s", e->host, port,
		         (unsigned)e->security < 3 ? sec[e->security] : "?", login);
}

const char *describe_target_kind(const struct mf_batch_settings *s)
{
	return s->target_kind == MF_TARGET_M365 ? "Microsoft 365" : "IMAP server";
}

enum ui_role role_for_check(int status)
{
	switch (status) {
	case CHECK_PASS:
		return UI_ROLE_OK;
	case CHECK_WARN:
		return UI_ROLE_WARN;
	case CHECK_FAIL:
		return UI_ROLE_FAIL;
	default:
		return UI_ROLE_SKIP;
	}
}

enum ui_role role_for_step(enum step_status st)
{
	switch (st) {
	case STEP_PASSED:
	case STEP_DONE:
		return UI_ROLE_OK;
	case STEP_WARNINGS:
		return UI_ROLE_WARN;
	case STEP_FAILED:
		return UI_ROLE_FAIL;
	default:
		return UI_ROLE_DIM;
	}
}

enum ui_role role_for_mailbox(enum mbx_state st)
{
	switch (st) {
	case MBX_SYNCED:
		return UI_ROLE_OK;
	case MBX_FAILED:
		return UI_ROLE_FAIL;
	case MBX_STOPPED:
		return UI_ROLE_WARN;
	case MBX_QUEUED:
		return UI_ROLE_DIM;
	default:
		return UI_ROLE_NORMAL;
	}
}

int draw_pair(struct ui *ui, int y, int x, int maxw, const char *label, const char *value)
{
	int w = ui_put(ui, y, x, maxw, UI_ROLE_DIM, label);

	if (w < maxw)
		w += ui_put(ui, y, x + w, maxw - w, UI_ROLE_NORMAL, " ");
	if (w < maxw)
		w += ui_put_ell(ui, y, x + w, maxw - w, UI_ROLE_NORMAL, value);
	return w;
}

int push_screen(struct ui *ui, const struct ui_screen_ops *ops, void *state)
{
	if (ui_push(ui, ops, state) < 0) {
		free(state);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- confirmations */

/* One question at a time (a modal takes every key until it is answered), so
 * one slot is enough; a question dropped by the end of the UI leaks nothing. */
static struct {
	confirm_fn fn;
	void *arg;
} pending;

static void confirm_done(struct ui *ui, int yes, void *arg)
{
	confirm_fn fn = pending.fn;
	void *a = pending.arg;

	(void)arg;
	pending.fn = NULL;
	pending.arg = NULL;
	if (yes && fn)
		fn(ui, a);
	else
		ui_flash(ui, UI_ROLE_NORMAL, "Cancelled: nothing was done.");
}

void confirm_action(struct ui *ui, const char *title, const char *text, const char *yes,
                    confirm_fn fn, void *arg)
{
	pending.fn = fn;
	pending.arg = arg;
	ui_confirm(ui, title, text, yes, "Cancel", confirm_done, NULL);
}

static struct {
	struct wiz *w;
	enum wiz_run_kind kind;
	int open_dashboard;
} run_req;

static void run_now(struct ui *ui, void *arg)
{
	struct mf_err err;

	(void)arg;
	if (wiz_run_start(run_req.w, run_req.kind, &err) < 0) {
		ui_message(ui, "Cannot start", err.msg, NULL, NULL);
		return;
	}
	ui_flash(ui, UI_ROLE_NORMAL, "%s started.",
	         run_req.kind == WIZ_RUN_VERIFY ? "Verification"
	         : run_req.kind == WIZ_RUN_DRY  ? "Dry run"
	                                        : "Migration");
	if (run_req.open_dashboard)
		screen_dashboard(ui, run_req.w);
}

void ask_run(struct ui *ui, struct wiz *w, enum wiz_run_kind kind, int open_dashboard)
{
	const struct mf_batch_settings *s = wiz_settings(w);
	struct wiz_totals t;
	char text[1024], src[300], tgt[300];
	const char *title, *yes;

	if (!s)
		return;
	if (wiz_running(w)) {
		ui_flash(ui, UI_ROLE_WARN, "A transfer is already running (x stops it).");
		return;
	}
	if (kind == WIZ_RUN_MIGRATE && wiz_dry_mode(w))
		kind = WIZ_RUN_DRY; /* dry-run mode: rehearse */
	wiz_totals(w, &t);
	describe_endpoint(src, sizeof(src), &s->source, 1);
	describe_endpoint(tgt, sizeof(tgt), &s->target, 0);
	switch (kind) {
	case WIZ_RUN_DRY:
		title = "Start a dry run?";
		yes = "Dry run";
		snprintf(text, sizeof(text),
		         "A rehearsal of all %zu mailbox%s: logs in to both sides, reads every "
		         "message from the source and plans the copy. Nothing is written to the "
		         "target.",
		         t.n, t.n == 1 ? "" : "es");
		break;
	case WIZ_RUN_VERIFY:
		title = "Verify the batch?";
		yes = "Verify";
		snprintf(text, sizeof(text),
		         "Compares every folder of the %zu mailbox%s on the source and the target, "
		         "message by message. Nothing is changed on either side.",
		         t.n, t.n == 1 ? "" : "es");
		break;
	default:
		title = t.synced ? "Run a delta sync?" : "Start the migration?";
		yes = t.synced ? "Delta sync" : "Start";
		snprintf(text, sizeof(text),
		         "Copies the mail of %zu mailbox%s%s\nfrom %s\nto   %s.\n\nThe source is "
		         "only read; nothing is deleted anywhere. You can stop at any time: the "
		         "batch is resumable.",
		         t.n, t.n == 1 ? "" : "es",
		         t.synced ? " that is not on the target yet" : "", src, tgt);
		break;
	}
	run_req.w = w;
	run_req.kind = kind;
	run_req.open_dashboard = open_dashboard;
	confirm_action(ui, title, text, yes, run_now, NULL);
}
