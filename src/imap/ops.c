/* mailferry - IMAP operations the engine and the checks use */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "imap/ops.h"
#include "imap/session.h"
#include "imap/session_p.h"
#include "imap/syntax.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

/* ---------------------------------------------------------------- helpers */

#define THROTTLE_TRIES 10

/* "VERB name rest" with the name as an astring; NULL (err set) when out of
 * memory. */
static struct imap_cmd *named_cmd(struct imap_conn *c, const char *verb, const char *name,
				  const char *rest, struct mf_err *err)
{
	struct imap_cmd *cmd = imap_cmd_new(c);

	if (cmd && !imap_cmd_text(cmd, "%s ", verb) && !imap_cmd_astring(cmd, name, strlen(name)) &&
	    !(rest && imap_cmd_text(cmd, "%s", rest)))
		return cmd;
	imap_cmd_free(cmd);
	mf_fail_nomem(err, MF_SCOPE_CONN);
	return NULL;
}

/* Builds "VERB " + astring(name) + rest and runs it; a throttled answer
 * ("Suggested Backoff Time: N milliseconds") is waited out and retried. */
static int run_named(struct imap_conn *c, const char *verb, const char *name, const char *rest,
		     imap_untagged_fn on_untagged, void *aux, int *ok, struct mf_err *err)
{
	for (int tries = 0;; tries++) {
		struct imap_cmd *cmd = named_cmd(c, verb, name, rest, err);
		int rc;

		if (!cmd)
			return -1;
		imap_cmd_on_untagged(cmd, on_untagged, aux);
		rc = imap_exec(c, cmd, ok, err);
		if (rc || *ok || err->code != MF_E_THROTTLE || tries >= THROTTLE_TRIES)
			return rc;
		if (imap_throttle_wait(c, err->retry_ms, err))
			return -1;
	}
}

static int run_named_simple(struct imap_conn *c, const char *verb, const char *name,
			    const char *rest, imap_untagged_fn on_untagged, void *aux,
			    struct mf_err *err)
{
	int ok = 0;

	if (run_named(c, verb, name, rest, on_untagged, aux, &ok, err))
		return -1;
	return ok ? 0 : -1;
}

static const char *value_text(const struct imap_value *v)
{
	return v && (v->type == IMAP_ATOM || v->type == IMAP_STRING) ? v->str : NULL;
}

/* ---------------------------------------------------------------- LIST */

struct list_ctx {
	struct imap_folder *v;
	size_t n, cap;
	int lsub;     /* collecting LSUB answers: mark folders subscribed */
	int failed;   /* out of memory or a name we cannot take */
};

static unsigned attr_bit(const char *a)
{
	static const struct {
		const char *name;
		unsigned bit;
	} map[] = {
		{"\\Noselect", IMAP_ATTR_NOSELECT},       {"\\NonExistent", IMAP_ATTR_NONEXISTENT},
		{"\\Noinferiors", IMAP_ATTR_NOINFERIORS}, {"\\HasChildren", IMAP_ATTR_HASCHILDREN},
		{"\\Sent", IMAP_ATTR_SENT},               {"\\Trash", IMAP_ATTR_TRASH},
		{"\\Junk", IMAP_ATTR_JUNK},               {"\\Drafts", IMAP_ATTR_DRAFTS},
		{"\\Archive", IMAP_ATTR_ARCHIVE},         {"\\All", IMAP_ATTR_ALL},
		{"\\Flagged", IMAP_ATTR_FLAGGED},         {"\\Subscribed", IMAP_ATTR_SUBSCRIBED},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcasecmp(a, map[i].name))
			return map[i].bit;
	return 0;
}

static struct imap_folder *find_folder(struct list_ctx *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

/* A printable stand-in for a name that cannot be used: its first 60 bytes
 * with NUL and control bytes as '?', and what is wrong with it. */
static int add_unusable(struct list_ctx *l, const struct imap_value *name)
{
	char shown[64];
	size_t n = name->len < 60 ? name->len : 60;

	for (size_t i = 0; i < n; i++)
		shown[i] = (unsigned char)name->str[i] < 0x20 ? '?' : name->str[i];
	shown[n] = 0;
	if (mf_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v)) ||
	    !(l->v[l->n].name = mf_sprintf("%s%s [%s]", shown, name->len > 60 ? "..." : "",
					   memchr(name->str, 0, name->len) ? "contains NUL"
									   : "over 1000 bytes")))
		return -1;
	l->v[l->n].attrs = IMAP_ATTR_UNUSABLE | IMAP_ATTR_NOSELECT;
	l->v[l->n].delim = 0;
	l->n++;
	return 0;
}

static void on_list(struct imap_conn *c, const struct imap_response *r, void *aux)
{
	struct list_ctx *l = aux;
	const struct imap_value *a = r->args, *attrs, *delim, *name;
	struct imap_folder *f;
	unsigned bits = 0;

	(void)c;
	if (l->failed || !r->keyword || !a || a->len < 3)
		return;
	if (strcmp(r->keyword, l->lsub ? "LSUB" : "LIST"))
		return;
	attrs = &a->items[0];
	delim = &a->items[1];
	name = &a->items[2];
	if (attrs->type != IMAP_LIST || (name->type != IMAP_STRING && name->type != IMAP_ATOM))
		return;
	if (name->len == 0)
		return; /* nothing to migrate, and no name to report it under */
	if (memchr(name->str, 0, name->len) || name->len > 1000) {
		/* that folder fails with a reason; the others go on */
		if (!l->lsub && add_unusable(l, name) < 0)
			l->failed = 1;
		return;
	}
	for (size_t i = 0; i < attrs->len; i++)
		if (value_text(&attrs->items[i]))
			bits |= attr_bit(attrs->items[i].str);
	if (l->lsub) {
		if ((f = find_folder(l, name->str)))
			f->attrs |= IMAP_ATTR_SUBSCRIBED;
		return;
	}
	if (find_folder(l, name->str))
		return;
	if (mf_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v)) ||
	    !(l->v[l->n].name = mf_strndup(name->str, name->len))) {
		l->failed = 1;
		return;
	}
	l->v[l->n].attrs = bits;
	l->v[l->n].delim = delim->type == IMAP_STRING && delim->len == 1 ? delim->str[0] : 0;
	l->n++;
}

void imap_folders_free(struct imap_folder *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static int list_pattern(struct imap_conn *c, struct list_ctx *l, const char *pattern,
			struct mf_err *err)
{
	struct imap_cmd *cmd = imap_cmd_new(c);
	int ok = 0, ext = imap_has_cap(c, "LIST-EXTENDED");

	if (!cmd)
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	if (imap_cmd_text(cmd, "%s \"\" ", l->lsub ? "LSUB" : "LIST") ||
	    imap_cmd_astring(cmd, pattern, strlen(pattern)) ||
	    (!l->lsub && ext &&
	     imap_cmd_text(cmd, " RETURN (SUBSCRIBED%s)",
			   imap_has_cap(c, "SPECIAL-USE") ? " SPECIAL-USE" : ""))) {
		imap_cmd_free(cmd);
		return mf_fail_nomem(err, MF_SCOPE_CONN);
	}
	imap_cmd_on_untagged(cmd, on_list, l);
	if (imap_exec(c, cmd, &ok, err))
		return -1;
	if (!ok)
		return -1;
	if (l->failed)
		return mf_fail_nomem(err, MF_SCOPE_MAILBOX);
	return 0;
}

int imap_list_folders(struct imap_conn *c, const char *root, struct imap_folder **out, size_t *n,
		      struct mf_err *err)
{
	struct list_ctx l = {0};
	int rc;

	*out = NULL;
	*n = 0;
	if (root && *root) {
		char *sub;

		rc = list_pattern(c, &l, root, err);
		if (!rc) {
			char d = l.n ? l.v[0].delim : 0;

			sub = d ? mf_sprintf("%s%c*", root, d) : NULL;
			if (d && !sub)
				rc = mf_fail_nomem(err, MF_SCOPE_CONN);
			else if (sub)
				rc = list_pattern(c, &l, sub, err);
			free(sub);
		}
	} else {
		rc = list_pattern(c, &l, "*", err);
	}
	if (!rc && !imap_has_cap(c, "LIST-EXTENDED")) {
		l.lsub = 1;
		rc = list_pattern(c, &l, root && *root ? root : "*", err);
		if (rc && err && err->scope != MF_SCOPE_CONN) /* LSUB is optional in IMAP4rev2 */
			rc = 0;
	}
	if (rc) {
		imap_folders_free(l.v, l.n);
		return -1;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

struct ns_ctx {
	char *prefix;
	char delim;
	int seen;
	struct imap_outcome out; /* of the NAMESPACE command (done at once when none went out) */
};

static void on_namespace(struct imap_conn *c, const struct imap_response *r, void *aux)
{
	struct ns_ctx *ns = aux;
	const struct imap_value *personal, *first;

	(void)c;
	if (!r->keyword || strcmp(r->keyword, "NAMESPACE") || !r->args || r->args->len < 1)
		return;
	personal = &r->args->items[0];
	if (personal->type != IMAP_LIST || personal->len < 1)
		return;
	first = &personal->items[0];
	if (first->type != IMAP_LIST || first->len < 2 || !value_text(&first->items[0]))
		return;
	free(ns->prefix);
	ns->prefix = mf_strdup(first->items[0].str);
	ns->delim = first->items[1].type == IMAP_STRING && first->items[1].len == 1
			    ? first->items[1].str[0]
			    : 0;
	ns->seen = 1;
}

/* Queues NAMESPACE without waiting for it; ns->out is done at once when the
 * server has no NAMESPACE or the command could not be queued. */
static void namespace_send(struct imap_conn *c, struct ns_ctx *ns)
{
	struct imap_cmd *cmd;
	struct mf_err nomem;

	memset(ns, 0, sizeof(*ns));
	if (!imap_has_cap(c, "NAMESPACE")) {
		imap_outcome_note(&ns->out, 1, NULL);
		return;
	}
	if (!(cmd = imap_cmd_new(c)) || imap_cmd_text(cmd, "NAMESPACE")) {
		imap_cmd_free(cmd);
		mf_fail_nomem(&nomem, MF_SCOPE_CONN);
		imap_outcome_note(&ns->out, 0, &nomem);
		return;
	}
	imap_cmd_on_untagged(cmd, on_namespace, ns);
	imap_cmd_track(cmd, &ns->out);
	imap_submit(c, cmd, NULL); /* a refusal completes it */
}

/* Waits for the NAMESPACE answer and hands out the result.
 * A NAMESPACE the server refuses counts as no namespace. */
static int namespace_wait(struct imap_conn *c, struct ns_ctx *ns, char **prefix, char *delim,
			  struct mf_err *err)
{
	struct mf_err ignored;

	imap_await(c, &ns->out, &ignored);
	*prefix = NULL;
	*delim = 0;
	if (!ns->out.ok) {
		free(ns->prefix);
		if (ns->out.err.scope >= MF_SCOPE_CONN) {
			if (err)
				*err = ns->out.err;
			return -1;
		}
		ns->prefix = NULL;
		ns->delim = 0;
	}
	*prefix = ns->prefix ? ns->prefix : mf_strdup("");
	*delim = ns->delim;
	return *prefix ? 0 : mf_fail_nomem(err, MF_SCOPE_CONN);
}

int imap_personal_namespace(struct imap_conn *c, char **prefix, char *delim, struct mf_err *err)
{
	struct ns_ctx ns;

	namespace_send(c, &ns);
	return namespace_wait(c, &ns, prefix, delim, err);
}

int imap_list_with_namespace(struct imap_conn *c, const char *root, struct imap_folder **out,
			     size_t *n, char **prefix, char *delim, struct mf_err *err)
{
	struct ns_ctx ns;
	struct mf_err ns_err;
	int rc;

	*prefix = NULL;
	namespace_send(c, &ns);
	rc = imap_list_folders(c, root, out, n, err);
	/* Always waited for: the command writes into ns until it completes. */
	if (namespace_wait(c, &ns, prefix, delim, &ns_err) && !rc) {
		if (err)
			*err = ns_err;
		rc = -1;
	}
	if (rc) {
		imap_folders_free(*out, *n);
		*out = NULL;
		*n = 0;
		free(*prefix);
		*prefix = NULL;
	}
	return rc;
}

/* ---------------------------------------------------------------- STATUS etc */

/* HIGHESTMODSEQ only where the server offers CONDSTORE (RFC 7162): with it a
 * flag change shows in the same one STATUS that finds new mail. */
static const char *status_items(const struct imap_conn *c)
{
	return imap_has_cap(c, "CONDSTORE") ? " (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)"
					    : " (MESSAGES UIDNEXT UIDVALIDITY)";
}

static void on_status(struct imap_conn *c, const struct imap_response *r, void *aux)
{
	struct imap_status_info *st = aux;
	const struct imap_value *items, *v;
	uint64_t num;

	(void)c;
	if (!r->keyword || strcmp(r->keyword, "STATUS") || !r->args || r->args->len < 2)
		return;
	items = &r->args->items[1];
	if (items->type != IMAP_LIST)
		return;
	if ((v = imap_list_get(items, "MESSAGES")) && !imap_value_number(v, &num))
		st->messages = (uint32_t)num;
	if ((v = imap_list_get(items, "UIDNEXT")) && !imap_value_number(v, &num))
		st->uidnext = (uint32_t)num;
	if ((v = imap_list_get(items, "UIDVALIDITY")) && !imap_value_number(v, &num))
		st->uidvalidity = (uint32_t)num;
	if ((v = imap_list_get(items, "HIGHESTMODSEQ")) && !imap_value_number(v, &num))
		st->highestmodseq = num;
}

int imap_status(struct imap_conn *c, const char *name, struct imap_status_info *out,
		struct mf_err *err)
{
	memset(out, 0, sizeof(*out));
	return run_named_simple(c, "STATUS", name, status_items(c), on_status, out, err);
}

struct status_many {
	struct imap_status_req *reqs;
	size_t n;
};

static void on_status_many(struct imap_conn *c, const struct imap_response *r, void *aux)
{
	struct status_many *sm = aux;
	const char *name;

	if (!r->keyword || strcmp(r->keyword, "STATUS") || !r->args || r->args->len < 2 ||
	    !(name = value_text(&r->args->items[0])))
		return;
	for (size_t i = 0; i < sm->n; i++) {
		struct imap_status_req *q = &sm->reqs[i];

		if (!q->seen && (!strcmp(q->name, name) ||
				 (!strcasecmp(q->name, "INBOX") && !strcasecmp(name, "INBOX")))) {
			on_status(c, r, &q->st);
			q->seen = 1;
			return;
		}
	}
}

static void on_status_done(struct imap_conn *c, int ok, const struct imap_response *tagged,
			   const struct mf_err *err, void *aux)
{
	struct imap_status_req *q = aux;

	(void)c, (void)tagged;
	q->ok = ok;
	q->retry_ms = !ok && err && err->code == MF_E_THROTTLE ? err->retry_ms : 0;
}

/* After pipelined commands some of which were throttled: one wait, the
 * longest asked for, before any of them is sent again. */
static int throttled_pause(struct imap_conn *c, unsigned long ms, struct mf_err *err)
{
	return ms ? imap_throttle_wait(c, ms, err) : 0;
}

int imap_status_many(struct imap_conn *c, struct imap_status_req *reqs, size_t n,
		     struct mf_err *err)
{
	struct status_many sm = {reqs, n};
	unsigned long wait = 0;

	for (size_t i = 0; i < n; i++) {
		struct imap_cmd *cmd;

		memset(&reqs[i].st, 0, sizeof(reqs[i].st));
		reqs[i].seen = reqs[i].ok = 0;
		reqs[i].retry_ms = 0;
		if (!(cmd = named_cmd(c, "STATUS", reqs[i].name, status_items(c), err)))
			return -1;
		imap_cmd_on_untagged(cmd, on_status_many, &sm);
		imap_cmd_on_done(cmd, on_status_done, &reqs[i]);
		if (imap_submit(c, cmd, err))
			return -1;
	}
	if (imap_run(c, err))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (reqs[i].retry_ms > wait)
			wait = reqs[i].retry_ms;
	return throttled_pause(c, wait, err);
}

static void select_done(struct imap_conn *c, int ok, const struct imap_response *tagged,
			const struct mf_err *err, void *aux)
{
	struct imap_select_req *req = aux;

	(void)tagged;
	if (ok && req->gen == c->select_gen) /* not one sent before the last */
		c->sel.open = 1;
	imap_outcome_note(&req->out, ok, err);
}

int imap_select_send(struct imap_conn *c, const char *name, int read_only,
		     struct imap_select_req *req, struct mf_err *err)
{
	size_t len = strlen(name);
	struct imap_cmd *cmd;

	memset(req, 0, sizeof(*req));
	req->name = name;
	req->read_only = read_only;
	/* Read-only and already open: nothing we do changes what we read. */
	if (read_only && c->sel.open && c->sel.read_only && !strcmp(c->sel.name, name)) {
		imap_outcome_note(&req->out, 1, NULL);
		return 0;
	}
	memset(&c->sel, 0, sizeof(c->sel));
	c->sel.read_only = read_only;
	req->gen = ++c->select_gen;
	if (len < sizeof(c->sel.name))
		memcpy(c->sel.name, name, len + 1);
	if (!(cmd = named_cmd(c, read_only ? "EXAMINE" : "SELECT", name, NULL, &req->out.err))) {
		imap_outcome_note(&req->out, 0, NULL);
		if (err)
			*err = req->out.err;
		return -1;
	}
	imap_cmd_on_done(cmd, select_done, req);
	return imap_submit(c, cmd, err); /* a refusal completes req */
}

int imap_select_wait(struct imap_conn *c, struct imap_select_req *req, struct mf_err *err)
{
	struct mf_err ignored;

	imap_await(c, &req->out, &ignored);
	if (req->out.ok)
		return 0;
	if (req->out.err.code == MF_E_THROTTLE) { /* wait as asked, then the usual retries */
		req->retried = 1;
		if (imap_throttle_wait(c, req->out.err.retry_ms, err))
			return -1;
		return imap_select(c, req->name, req->read_only, err);
	}
	if (err)
		*err = req->out.err;
	return -1;
}

int imap_select(struct imap_conn *c, const char *name, int read_only, struct mf_err *err)
{
	for (int tries = 0;; tries++) {
		struct imap_select_req req;

		if (imap_select_send(c, name, read_only, &req, err) || imap_await(c, &req.out, err))
			return -1;
		if (req.out.ok)
			return 0;
		if (err)
			*err = req.out.err;
		if (req.out.err.code != MF_E_THROTTLE || tries >= THROTTLE_TRIES)
			return -1;
		if (imap_throttle_wait(c, req.out.err.retry_ms, err))
			return -1;
	}
}

static int create_existed(const struct mf_err *e)
{
	return strstr(e->msg, "[ALREADYEXISTS]") || strcasestr(e->msg, "already exists");
}

int imap_create(struct imap_conn *c, const char *name, int *existed, struct mf_err *err)
{
	struct mf_err e;
	int ok = 0;

	if (existed)
		*existed = 0;
	if (run_named(c, "CREATE", name, NULL, NULL, NULL, &ok, &e)) {
		if (err)
			*err = e;
		return -1;
	}
	if (ok)
		return 0;
	if (create_existed(&e)) {
		if (existed)
			*existed = 1;
		return 0;
	}
	if (err)
		*err = e;
	return -1;
}

int imap_create_select(struct imap_conn *c, const char *name, int *existed, int *create_failed,
		       struct mf_err *err)
{
	struct imap_cmd *cmd = named_cmd(c, "CREATE", name, NULL, err);
	struct imap_outcome cr;
	struct imap_select_req sel;
	struct mf_err serr, ignored;
	int src;

	*existed = *create_failed = 0;
	if (!cmd)
		return -1;
	imap_cmd_track(cmd, &cr);
	imap_submit(c, cmd, NULL); /* a refusal completes cr */
	src = imap_select_send(c, name, 0, &sel, &serr) || imap_select_wait(c, &sel, &serr);
	imap_await(c, &cr, &ignored); /* cr is written until then, whatever happened */
	if (!cr.ok && cr.err.code == MF_E_THROTTLE) { /* the slow way, with the waits asked for */
		if (imap_throttle_wait(c, cr.err.retry_ms, err) || imap_create(c, name, existed, err)) {
			*create_failed = err->scope < MF_SCOPE_CONN;
			return -1;
		}
		return imap_select(c, name, 0, err);
	}
	if (!cr.ok && !(*existed = create_existed(&cr.err))) {
		*create_failed = cr.err.scope < MF_SCOPE_CONN;
		*err = cr.err;
		return -1;
	}
	if (src)
		*err = serr;
	return src ? -1 : 0;
}

int imap_subscribe(struct imap_conn *c, const char *name, struct mf_err *err)
{
	return run_named_simple(c, "SUBSCRIBE", name, NULL, NULL, NULL, err);
}

static int is_throttled(const struct imap_outcome *o)
{
	return o->done && !o->ok && o->err.code == MF_E_THROTTLE;
}

int imap_subscribe_many(struct imap_conn *c, const char *const *names, struct imap_outcome *res,
			size_t n, struct mf_err *err)
{
	unsigned long wait = 0;
	int rc = 0;

	memset(res, 0, n * sizeof(*res));
	for (size_t i = 0; i < n && !rc; i++) {
		struct imap_cmd *cmd = named_cmd(c, "SUBSCRIBE", names[i], NULL, err);

		if (!cmd) {
			rc = -1;
			break;
		}
		imap_cmd_track(cmd, &res[i]);
		rc = imap_submit(c, cmd, err);
	}
	/* always run: the commands write into res until they complete */
	if (imap_run(c, err))
		rc = -1;
	for (size_t i = 0; i < n; i++)
		if (is_throttled(&res[i]) && res[i].err.retry_ms > wait)
			wait = res[i].err.retry_ms;
	if (!rc)
		rc = throttled_pause(c, wait, err);
	for (size_t i = 0; i < n && !rc; i++) { /* throttled ones again, alone */
		if (!is_throttled(&res[i]))
			continue;
		res[i].ok = !imap_subscribe(c, names[i], &res[i].err);
		if (!res[i].ok && res[i].err.scope >= MF_SCOPE_CONN) {
			*err = res[i].err;
			rc = -1;
		}
	}
	return rc;
}

/* ---------------------------------------------------------------- identity */

/* Finds header `name` in hdr; copies its value unfolded, with runs of white
 * space collapsed and the ends trimmed, into out.  0 if absent. */
static int header_value(const char *hdr, size_t len, const char *name, struct mf_buf *out)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + nl < len;) {
		int at_line_start = i == 0 || hdr[i - 1] == '\n';

		if (at_line_start && hdr[i + nl] == ':' && !strncasecmp(hdr + i, name, nl)) {
			int space = 0;

			for (size_t k = i + nl + 1; k < len; k++) {
				char ch = hdr[k];

				if (ch == '\r' || ch == '\n') {
					if (k + 1 < len && ch == '\r' && hdr[k + 1] == '\n')
						k++;
					if (k + 1 < len && (hdr[k + 1] == ' ' || hdr[k + 1] == '\t')) {
						space = 1;
						continue;
					}
					break;
				}
				if (ch == ' ' || ch == '\t') {
					space = 1;
					continue;
				}
				if (space && out->len)
					buf_putc(out, ' ');
				space = 0;
				buf_putc(out, ch);
			}
			return 1;
		}
		while (i < len && hdr[i] != '\n')
			i++;
		i++;
	}
	return 0;
}

void imap_message_identity(const char *hdr, size_t len, unsigned char out[IMAP_IDHASH_LEN],
			   int *has_message_id)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	static const char *const fallback[] = {"Date", "From", "Subject"};
	struct mf_buf v;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int dlen = 0;
	int ok;

	buf_init(&v, 16384);
	*has_message_id = header_value(hdr, len, "Message-ID", &v) && v.len;
	memset(digest, 0, sizeof(digest));
	ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	if (*has_message_id) {
		ok = ok && EVP_DigestUpdate(ctx, "mid:", 4) && EVP_DigestUpdate(ctx, v.data, v.len);
	} else {
		/* no Message-ID: the headers that tell messages apart */
		ok = ok && EVP_DigestUpdate(ctx, "hdr:", 4);
		for (size_t i = 0; ok && i < 3; i++) {
			buf_reset(&v);
			header_value(hdr, len, fallback[i], &v);
			ok = EVP_DigestUpdate(ctx, v.len ? v.data : "", v.len) &&
			     EVP_DigestUpdate(ctx, "\n", 1);
		}
	}
	if (ok)
		EVP_DigestFinal_ex(ctx, digest, &dlen);
	EVP_MD_CTX_free(ctx);
	memcpy(out, digest, IMAP_IDHASH_LEN);
	buf_free(&v);
}

size_t imap_header_length(const char *msg, size_t len)
{
	size_t i = 0;

	while (i < len) { /* i is at the start of a line */
		const char *nl;

		if (msg[i] == '\n' || (msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n'))
			return i;
		if (!(nl = memchr(msg + i, '\n', len - i)))
			break;
		i = (size_t)(nl - msg) + 1;
	}
	return len;
}

/* ---------------------------------------------------------------- FETCH meta */

struct meta_ctx {
	struct imap_msginfo *v;
	size_t n, cap;
	int failed;
};

void imap_msginfos_free(struct imap_msginfo *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].flags);
	free(v);
}

/* "\Seen $Label1" from a FLAGS list, without \Recent. */
static char *flags_text(const struct imap_value *list)
{
	struct mf_buf b;

	buf_init(&b, 64 * 1024);
	if (buf_puts(&b, ""))
		return NULL;
	for (size_t i = 0; list && list->type == IMAP_LIST && i < list->len; i++) {
		const struct imap_value *f = &list->items[i];

		if (f->type != IMAP_ATOM || !strcasecmp(f->str, "\\Recent"))
			continue;
		if ((b.len && buf_putc(&b, ' ')) || buf_append(&b, f->str, f->len)) {
			buf_free(&b);
			return NULL;
		}
	}
	return buf_steal(&b);
}

static const struct imap_value *find_header_fields(const struct imap_value *list)
{
	for (size_t i = 0; i + 1 < list->len; i += 2) {
		const struct imap_value *k = &list->items[i];

		if (k->type == IMAP_ATOM && !strncasecmp(k->str, "BODY[HEADER", 11))
			return &list->items[i + 1];
	}
	return NULL;
}

/* Fills m from one FETCH attribute list; 0, or -1 when required data is missing. */
int imap_parse_fetch(const struct imap_value *list, struct imap_msginfo *m)
{
	const struct imap_value *v;
	uint64_t num;

	memset(m, 0, sizeof(*m));
	if (!list || list->type != IMAP_LIST)
		return -1;
	if (!(v = imap_list_get(list, "UID")) || imap_value_number(v, &num) || !num ||
	    num > UINT32_MAX)
		return -1;
	m->uid = (uint32_t)num;
	if ((v = imap_list_get(list, "RFC822.SIZE")) && !imap_value_number(v, &num))
		m->size = num;
	if ((v = imap_list_get(list, "INTERNALDATE")) && v->type == IMAP_STRING &&
	    v->len < sizeof(m->datestr)) {
		memcpy(m->datestr, v->str, v->len);
		m->datestr[v->len] = 0;
		if (imap_date_parse(v->str, v->len, &m->date))
			m->date = 0;
	}
	if ((v = find_header_fields(list)) && v->type == IMAP_STRING) {
		imap_message_identity(v->str, v->len, m->idhash, &m->has_message_id);
		m->has_id = 1;
	} else if (v && v->type == IMAP_NIL) {
		imap_message_identity("", 0, m->idhash, &m->has_message_id);
		m->has_id = 1;
	}
	if ((v = imap_list_get(list, "FLAGS")) && !(m->flags = flags_text(v)))
		return -2;
	return 0;
}

static void on_fetch_meta(struct imap_conn *c, const struct imap_response *r, void *aux)
{
	struct meta_ctx *m = aux;
	struct imap_msginfo info;
	int rc;

	(void)c;
	if (m->failed || !r->keyword || strcmp(r->keyword, "FETCH") || !r->args ||
	    r->args->len < 1)
		return;
	rc = imap_parse_fetch(&r->args->items[0], &info);
	if (rc == -1)
		return; /* an unsolicited flag update without UID: not ours */
	if (rc < 0 || mf_grow(&m->v, &m->cap, m->n + 1, sizeof(*m->v))) {
		free(info.flags);
		m->failed = 1;
		return;
	}
	m->v[m->n++] = info;
}

static int by_uid(const void *a, const void *b)
{
	uint32_t x = ((const struct imap_msginfo *)a)->uid, y = ((const struct imap_msginfo *)b)->uid;

	return x < y ? -1 : x > y;
}

int imap_fetch_meta(struct imap_conn *c, const char *uidset, int with_ids,
		    struct imap_msginfo **out, size_t *n, struct mf_err *err)
{
	struct meta_ctx m = {0};
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	for (int tries = 0;; tries++) {
		rc = imap_simple(c, on_fetch_meta, &m, err,
				 "UID FETCH %s (UID FLAGS INTERNALDATE RFC822.SIZE%s)", uidset,
				 with_ids ? " BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)]" : "");
		if (!rc || err->code != MF_E_THROTTLE || tries >= THROTTLE_TRIES || m.n)
			break;
		if (imap_throttle_wait(c, err->retry_ms, err)) {
			rc = -1;
			break;
		}
	}
	if (!rc && m.failed)
		rc = mf_fail_nomem(err, MF_SCOPE_FOLDER);
	if (rc) {
		imap_msginfos_free(m.v, m.n);
		return -1;
	}
	if (m.n)
		qsort(m.v, m.n, sizeof(*m.v), by_uid);
	for (size_t i = 0; i < m.n; i++) { /* a server may repeat a message: keep one */
		if (k && m.v[k - 1].uid == m.v[i].uid) {
			free(m.v[i].flags);
			continue;
		}
		m.v[k++] = m.v[i];
	}
	*out = m.v;
	*n = k;
	return 0;
}

/* ---------------------------------------------------------------- APPEND */

struct append_ctx {
	struct imap_append_op *op;
	size_t first, count; /* the messages this command carries */
};

struct imap_append_op {
	struct imap_append_result *res; /* borrowed from the caller */
	struct append_ctx *ctx;
	size_t nctx, pending;
};

static void parse_appenduid(const struct imap_response *r, struct append_ctx *a)
{
	const struct imap_value *code = r ? r->code : NULL;
	struct imap_append_result *res = a->op->res;
	uint64_t uv;
	uint32_t *uids;
	size_t got = 0;

	if (!code || code->len < 3 || !imap_value_is(&code->items[0], "APPENDUID") ||
	    imap_value_number(&code->items[1], &uv) || !value_text(&code->items[2]))
		return;
	if (!(uids = mf_calloc(a->count, sizeof(*uids))))
		return;
	if (uidset_parse_list(code->items[2].str, code->items[2].len, uids, a->count, &got) == 0 &&
	    got == a->count)
		for (size_t i = 0; i < a->count; i++) {
			res[a->first + i].uid = uids[i];
			res[a->first + i].uidvalidity = (uint32_t)uv;
		}
	free(uids);
}

static void on_append_done(struct imap_conn *c, int ok, const struct imap_response *tagged,
			   const struct mf_err *err, void *aux)
{
	struct append_ctx *a = aux;

	(void)c;
	for (size_t i = 0; i < a->count; i++) {
		struct imap_append_result *r = &a->op->res[a->first + i];

		r->ok = ok;
		if (!ok) {
			snprintf(r->error, sizeof(r->error), "%s", err ? err->msg : "refused");
			r->retry_ms = err ? err->retry_ms : 0;
		}
	}
	if (ok)
		parse_appenduid(tagged, a);
	a->op->pending--;
}

/* Appends " (flags) \"date\" " and the literal of one message. */
static int add_message(struct imap_cmd *cmd, const struct imap_append_msg *m)
{
	struct mf_buf fl;
	const char *words[256];
	size_t nw = 0;
	char *copy = mf_strdup(m->flags ? m->flags : ""), *save = NULL;
	int rc;

	if (!copy)
		return -1;
	for (char *w = strtok_r(copy, " ", &save); w && nw < 256; w = strtok_r(NULL, " ", &save))
		words[nw++] = w;
	buf_init(&fl, 64 * 1024);
	rc = imap_put_flag_list(&fl, words, nw, NULL);
	if (!rc)
		rc = imap_cmd_text(cmd, "%s", fl.data);
	if (!rc && m->date && *m->date)
		rc = imap_cmd_text(cmd, " \"%s\"", m->date);
	if (!rc)
		rc = imap_cmd_text(cmd, " ");
	if (!rc)
		rc = m->mem || m->len == 0 ? imap_cmd_literal(cmd, m->mem ? m->mem : "", (size_t)m->len)
					   : imap_cmd_literal_file(cmd, m->fd, m->off, m->len);
	buf_free(&fl);
	free(copy);
	return rc;
}

static int submit_append(struct imap_conn *c, const char *mailbox,
			 const struct imap_append_msg *msgs, struct append_ctx *a,
			 struct mf_err *err)
{
	struct imap_cmd *cmd = imap_cmd_new(c);
	int rc;

	if (!cmd) {
		struct mf_err e;

		mf_fail_nomem(&e, MF_SCOPE_FOLDER);
		on_append_done(c, 0, NULL, &e, a);
		return 0;
	}
	rc = imap_cmd_text(cmd, "APPEND ") || imap_cmd_astring(cmd, mailbox, strlen(mailbox));
	for (size_t i = 0; !rc && i < a->count; i++)
		rc = imap_cmd_text(cmd, " ") || add_message(cmd, &msgs[a->first + i]);
	imap_cmd_on_done(cmd, on_append_done, a);
	if (rc) {
		struct mf_err e;

		mf_fail_nomem(&e, MF_SCOPE_FOLDER);
		on_append_done(c, 0, NULL, &e, a);
		imap_cmd_free(cmd);
		return 0;
	}
	/* imap_submit reports failures to the done callback as well */
	return imap_submit(c, cmd, err) && imap_is_dead(c) ? -1 : 0;
}

int imap_append_start(struct imap_conn *c, const char *mailbox, const struct imap_append_msg *msgs,
		      size_t n, int multi, struct imap_append_result *res,
		      struct imap_append_op **out, struct mf_err *err)
{
	struct imap_append_op *op = mf_calloc(1, sizeof(*op));
	size_t nctx = multi && imap_has_cap(c, "MULTIAPPEND") && n > 1 ? 1 : n;

	*out = NULL;
	memset(res, 0, n * sizeof(*res));
	if (!op || !(op->ctx = mf_calloc(nctx ? nctx : 1, sizeof(*op->ctx)))) {
		free(op);
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	}
	op->res = res;
	op->nctx = nctx;
	op->pending = nctx;
	for (size_t i = 0; i < nctx; i++) {
		op->ctx[i].op = op;
		op->ctx[i].first = nctx == 1 ? 0 : i;
		op->ctx[i].count = nctx == 1 ? n : 1;
	}
	*out = op;
	for (size_t i = 0; i < nctx; i++)
		if (submit_append(c, mailbox, msgs, &op->ctx[i], err)) {
			/* the connection died: every submitted command has completed with the
			 * error, the others never will be sent */
			for (size_t k = i + 1; k < nctx; k++)
				op->pending--;
			return -1;
		}
	return 0;
}

int imap_append_op_done(const struct imap_append_op *op)
{
	return op->pending == 0;
}

void imap_append_op_free(struct imap_append_op *op)
{
	if (!op)
		return;
	free(op->ctx);
	free(op);
}

static int op_finished(struct imap_conn *c, void *aux)
{
	(void)c;
	return imap_append_op_done(aux);
}

int imap_append(struct imap_conn *c, const char *mailbox, const struct imap_append_msg *msgs,
		size_t n, int multi, struct imap_append_result *res, struct mf_err *err)
{
	struct imap_append_op *op;
	int rc;

	if (!n)
		return 0;
	if (imap_append_start(c, mailbox, msgs, n, multi, res, &op, err)) {
		imap_append_op_free(op);
		return -1;
	}
	rc = imap_append_op_done(op) ? 0 : session_pump(c, op_finished, op, err);
	imap_append_op_free(op);
	return rc;
}

int imap_add_flags(struct imap_conn *c, const struct uidset *uids, const char *flags,
		   struct mf_err *err)
{
	return imap_store_flags(c, uids, '+', flags, err);
}

int imap_store_flags(struct imap_conn *c, const struct uidset *uids, char sign, const char *flags,
		     struct mf_err *err)
{
	struct mf_buf set;
	size_t pos = 0;
	int rc = 0;

	buf_init(&set, 0);
	while (!rc && pos < uids->n) {
		buf_reset(&set);
		if (uidset_format(uids, &pos, 900, &set))
			rc = mf_fail_nomem(err, MF_SCOPE_CONN);
		else
			rc = imap_simple(c, NULL, NULL, err, "UID STORE %s %cFLAGS.SILENT (%s)",
					 set.data, sign, flags);
	}
	buf_free(&set);
	return rc;
}
