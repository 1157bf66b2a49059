/* mailferry - IMAP login: LOGIN, SASL PLAIN (with authorization id), XOAUTH2
 *
 * Rules: a server that advertises LOGINDISABLED never gets LOGIN or PLAIN on a
 * connection without TLS (RFC 3501 7.2.1); credentials never appear in a
 * trace or a log (the command text is marked secret); buffers that held them
 * are wiped.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "imap/session.h"
#include "imap/session_p.h"
#include "imap/syntax.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/secret.h"
#include "util/timeutil.h"

/* base64 of data into a secret-safe buffer; 0 or -1. */
static int b64_secret(const void *data, size_t n, struct mf_buf *out)
{
	size_t need = 4 * ((n + 2) / 3) + 1;

	if (buf_reserve(out, need))
		return -1;
	out->len = (size_t)EVP_EncodeBlock((unsigned char *)out->data, data, (int)n);
	out->data[out->len] = 0;
	return 0;
}

static int login_failed(struct imap_conn *c, const char *who, const struct mf_err *why,
			struct mf_err *err)
{
	if (why->scope == MF_SCOPE_CONN && why->code != MF_E_NO && why->code != MF_E_BAD) {
		if (err)
			*err = *why;
		return -1;
	}
	/* A temporary refusal is worth a retry; a wrong password is not. */
	if (strstr(why->msg, "[UNAVAILABLE]") || why->code == MF_E_THROTTLE) {
		mf_fail(err, MF_SCOPE_CONN, MF_E_AUTH, "login as %s refused for now: %s", who,
			why->msg);
		if (err)
			err->retry_ms = why->retry_ms;
		return -1;
	}
	log_info("%s: login as %s failed", imap_label(c), who);
	return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_AUTH, "login as %s failed: %s", who,
		       why->msg);
}

/* ------------------------------------------------------------- LOGIN */

static int login_command(struct imap_conn *c, const struct imap_creds *cr, struct mf_err *err)
{
	struct imap_cmd *cmd = imap_cmd_new(c);
	const char *pw = secret_str(cr->password);
	size_t pwlen = secret_len(cr->password);
	struct mf_buf quoted;
	struct mf_err e;
	int ok = 0, rc;

	if (!cmd)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	buf_init(&quoted, 0);
	rc = imap_cmd_text(cmd, "LOGIN ") || imap_cmd_astring(cmd, cr->user, strlen(cr->user)) ||
	     imap_cmd_text(cmd, " ");
	if (!rc) {
		int q = imap_put_quoted(&quoted, pw, pwlen);

		if (q == 0)
			rc = imap_cmd_secret(cmd, quoted.data, quoted.len);
		else if (q == 1)
			rc = imap_cmd_literal(cmd, pw, pwlen); /* literal bodies are never traced */
		else
			rc = -1;
	}
	buf_free_secure(&quoted);
	if (rc) {
		imap_cmd_free(cmd);
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	}
	if (imap_exec(c, cmd, &ok, &e))
		return login_failed(c, cr->user, &e, err);
	if (!ok)
		return login_failed(c, cr->user, &e, err);
	return 0;
}

/* ------------------------------------------------------------- AUTHENTICATE */

struct sasl_state {
	struct mf_buf *initial; /* base64 answer for servers without SASL-IR */
	int answered;
	char server_error[256]; /* XOAUTH2: the JSON the server sent before its NO */
};

static int sasl_continue(struct imap_conn *c, const char *text, struct mf_buf *out, void *aux)
{
	struct sasl_state *st = aux;

	(void)c;
	if (!st->answered && st->initial) {
		st->answered = 1;
		return buf_append(out, st->initial->data, st->initial->len);
	}
	/* A challenge after our answer is the server's error (XOAUTH2 sends a
	 * base64 JSON document): keep it for the message, answer with an empty
	 * line as the mechanism requires, and let the tagged NO follow. */
	{
		unsigned char dec[256];
		size_t n = strlen(text);
		int len = n && n < 340 ? EVP_DecodeBlock(dec, (const unsigned char *)text, (int)n) : -1;

		if (len > 0) {
			while (len && !dec[len - 1])
				len--;
			snprintf(st->server_error, sizeof(st->server_error), " (%.*s)", len,
				 (const char *)dec);
		}
	}
	return 0;
}

/* AUTHENTICATE with an initial response already in base64 (b64 is wiped
 * and freed here). */
static int authenticate(struct imap_conn *c, const char *mech, const char *who,
			struct mf_buf *b64p, struct mf_err *err)
{
	struct mf_buf b64 = *b64p;
	struct sasl_state st = {0};
	struct imap_cmd *cmd;
	struct mf_err e;
	int ok = 0, rc, ir = imap_has_cap(c, "SASL-IR");

	if (!(cmd = imap_cmd_new(c))) {
		buf_free_secure(&b64);
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	}
	cmd->exclusive = 1;
	rc = imap_cmd_text(cmd, "AUTHENTICATE %s", mech);
	if (!rc && ir)
		rc = imap_cmd_text(cmd, " ") || imap_cmd_secret(cmd, b64.data, b64.len);
	if (!ir)
		st.initial = &b64;
	imap_cmd_on_continuation(cmd, sasl_continue, &st);
	if (rc) {
		imap_cmd_free(cmd);
		buf_free_secure(&b64);
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	}
	rc = imap_exec(c, cmd, &ok, &e);
	buf_free_secure(&b64);
	if (rc || !ok) {
		if (st.server_error[0] && e.scope != MF_SCOPE_CONN)
			strncat(e.msg, st.server_error, sizeof(e.msg) - strlen(e.msg) - 1);
		return login_failed(c, who, &e, err);
	}
	return 0;
}

static int auth_plain(struct imap_conn *c, const struct imap_creds *cr, struct mf_err *err)
{
	const char *az = cr->authzid ? cr->authzid : "";
	size_t azl = strlen(az), ul = strlen(cr->user), pl = secret_len(cr->password);
	struct mf_buf raw;
	int rc;

	buf_init(&raw, 0);
	if (buf_append(&raw, az, azl) || buf_putc(&raw, 0) || buf_append(&raw, cr->user, ul) ||
	    buf_putc(&raw, 0) || buf_append(&raw, secret_str(cr->password), pl)) {
		buf_free_secure(&raw);
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	}
	{
		char who[300];
		struct mf_buf b64;

		snprintf(who, sizeof(who), "%s%s%s", cr->user, cr->authzid ? " for " : "",
			 cr->authzid ? cr->authzid : "");
		buf_init(&b64, 0);
		if (b64_secret(raw.data, raw.len, &b64)) {
			buf_free_secure(&raw);
			buf_free_secure(&b64);
			return mf_fail_nomem(err, MF_SCOPE_CONN);
		}
		rc = authenticate(c, "PLAIN", who, &b64, err);
	}
	buf_free_secure(&raw);
	return rc;
}

static int auth_xoauth2(struct imap_conn *c, const struct imap_creds *cr, struct mf_err *err)
{
	if (!imap_has_cap(c, "AUTH=XOAUTH2"))
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_AUTH,
			       "the server does not offer XOAUTH2 (AUTH=XOAUTH2 is not in its "
			       "capabilities)");
	{
		struct mf_buf b64;

		buf_init(&b64, 0);
		if (buf_append(&b64, secret_str(cr->xoauth2), secret_len(cr->xoauth2))) {
			buf_free_secure(&b64);
			return mf_fail_nomem(err, MF_SCOPE_CONN);
		}
		return authenticate(c, "XOAUTH2", cr->user ? cr->user : "the mailbox", &b64, err);
	}
}

/* ------------------------------------------------------------- after login */

static void on_id(struct imap_conn *c, const struct imap_response *r, void *aux)
{
	(void)aux;
	if (!r->keyword || strcmp(r->keyword, "ID") || !r->args || r->args->len < 1)
		return;
	{
		const struct imap_value *list = &r->args->items[0];
		const struct imap_value *name = list->type == IMAP_LIST ? imap_list_get(list, "name")
									 : NULL;

		if (name && name->type == IMAP_STRING)
			snprintf(c->server_name, sizeof(c->server_name), "%s", name->str);
	}
}

/* ID is queued, not waited for: its answer (the server's name, which tells
 * Exchange apart) arrives before the answer to whatever the caller sends
 * next, so it costs no round trip of its own.  A refusal is ignored. */
static void ask_identity(struct imap_conn *c)
{
	struct imap_cmd *cmd;

	if (!imap_has_cap(c, "ID") || !(cmd = imap_cmd_new(c)))
		return;
	if (imap_cmd_text(cmd, "ID (\"name\" \"mailferry\" \"version\" \"%s\")",
			  PACKAGE_VERSION)) {
		imap_cmd_free(cmd);
		return;
	}
	imap_cmd_on_untagged(cmd, on_id, NULL);
	imap_submit(c, cmd, NULL);
}

int imap_login(struct imap_conn *c, const struct imap_creds *cr, struct mf_err *err)
{
	int64_t start = mono_ms();
	int tls = transport_is_tls(c->t), rc;
	unsigned caps_before = c->caps_updates;

	if (transport_preauth(c->t)) {
		log_info("%s: the server greeted us as already authenticated (PREAUTH)", c->label);
	} else if (cr->xoauth2) {
		rc = auth_xoauth2(c, cr, err);
		if (rc)
			return -1;
	} else if (imap_has_cap(c, "LOGINDISABLED") && !tls) {
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_TLS,
			       "the server refuses logins without TLS (LOGINDISABLED) and this "
			       "connection is not encrypted: use security ssl or starttls");
	} else if (cr->authzid || imap_has_cap(c, "LOGINDISABLED")) {
		if (!imap_has_cap(c, "AUTH=PLAIN"))
			return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_AUTH,
				       "logging in for another user needs SASL PLAIN, which the "
				       "server does not offer");
		if (auth_plain(c, cr, err))
			return -1;
	} else if (login_command(c, cr, err)) {
		return -1;
	}
	c->login_ms = (long)(mono_ms() - start);
	/* Capabilities change at login.  A server that sent the new list with
	 * its answer (Dovecot does; RFC 3501 6.2.3 says a client need not ask
	 * again) saves us a round trip per connection. */
	if (c->caps_updates == caps_before && imap_simple(c, NULL, NULL, err, "CAPABILITY")) {
		mf_err_widen(err, MF_SCOPE_CONN);
		return -1;
	}
	ask_identity(c);
	return 0;
}
