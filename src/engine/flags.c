/* mailferry - carrying later flag changes of copied messages to the target
 *
 * A message copied on day 1 and read on the old server on day 5 must show as
 * read on the target after the day-5 delta.  The ledger keeps, per message,
 * the source's flags as last carried to the target (the baseline).  When a
 * folder is scanned (something changed in it: new mail, or, on a source with
 * CONDSTORE, its HIGHESTMODSEQ), each copied message's flags now are compared
 * with its baseline, and only the difference is sent: UID STORE +FLAGS for
 * what the source gained, -FLAGS for what it lost.  So a change made on the
 * target (the user already works there) survives unless the source changed
 * the same flag.  Messages with the same change share one STORE.
 *
 * Not carried: \Deleted (a delta never puts a message at risk of an EXPUNGE
 * on the target) and \Recent (never sent).  A message whose baseline is not
 * known (a ledger from before flags were recorded) adopts the source's flags
 * as its baseline without a STORE.  A STORE the target refuses is logged and
 * not asked again; a throttled one waits (and, throttled for too long, makes
 * the next run scan the folder again); a lost connection leaves the
 * baselines as they were, so the next attempt sends the same change again
 * (+FLAGS and -FLAGS are idempotent).
 *
 * It runs once the target folder is open and before new mail is copied:
 * messages this run copies are not in the ledger yet, and messages that
 * reconciliation recognises on the target are recorded without a baseline,
 * so they adopt the scan's flags.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batch/ledger.h"
#include "engine/engine_p.h"
#include "imap/ops.h"
#include "imap/syntax.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

/* One STORE: every message gaining (sign '+') or losing ('-') the same flags. */
struct flag_group {
	char sign;
	char *flags;        /* owned: space-separated */
	struct uidset uids; /* target UIDs */
	int settled;        /* the target answered it (OK, or a refusal) */
};

struct flag_change {
	uint32_t src_uid;
	const char *now; /* borrowed from the scan: the new baseline */
	int add, del;    /* groups, -1 for none: both -1 adopts a baseline */
};

struct flag_plan {
	struct flag_change *v;
	size_t n, cap;
	struct flag_group *g;
	size_t ng, gcap;
	size_t changed; /* messages with a STORE planned */
};

/* A flag list as a sorted array of distinct flags (case-insensitive). */
struct flag_set {
	char *buf; /* owned: the tokens, NUL-separated */
	char **v;  /* owned array of pointers into buf */
	size_t n;
};

static int cmp_flag(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static void flag_set_free(struct flag_set *s)
{
	free(s->buf);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Splits text into s, leaving out \Deleted and \Recent.  0 or -1 (memory). */
static int flag_set_parse(const char *text, struct flag_set *s)
{
	size_t len = strlen(text ? text : ""), k = 0;
	char *save = NULL, *tok;

	memset(s, 0, sizeof(*s));
	if (!(s->buf = mf_strdup(text ? text : "")) ||
	    !(s->v = mf_calloc(len / 2 + 1, sizeof(*s->v)))) {
		flag_set_free(s);
		return -1;
	}
	for (tok = strtok_r(s->buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (strcasecmp(tok, "\\Deleted") && strcasecmp(tok, "\\Recent"))
			s->v[s->n++] = tok;
	qsort(s->v, s->n, sizeof(*s->v), cmp_flag);
	for (size_t i = 0; i < s->n; i++)
		if (!k || strcasecmp(s->v[k - 1], s->v[i]))
			s->v[k++] = s->v[i];
	s->n = k;
	return 0;
}

/* The flags of a that b lacks, space-separated, into out (emptied first). */
static int flag_set_minus(const struct flag_set *a, const struct flag_set *b, struct mf_buf *out)
{
	size_t j = 0;

	buf_reset(out);
	if (buf_puts(out, ""))
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		int c = 1;

		while (j < b->n && (c = strcasecmp(b->v[j], a->v[i])) < 0)
			j++;
		if (j < b->n && c == 0)
			continue;
		if ((out->len && buf_putc(out, ' ')) || buf_puts(out, a->v[i]))
			return -1;
	}
	return 0;
}

static void flag_plan_free(struct flag_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ng; i++) {
		free(p->g[i].flags);
		uidset_free(&p->g[i].uids);
	}
	free(p->g);
	free(p->v);
	free(p);
}

/* The group for (sign, flags), added when new: its index, or -1 (memory). */
static int group_for(struct flag_plan *p, char sign, const char *flags, uint32_t tgt_uid)
{
	size_t i;

	for (i = 0; i < p->ng; i++)
		if (p->g[i].sign == sign && !strcmp(p->g[i].flags, flags))
			break;
	if (i == p->ng) {
		if (mf_grow(&p->g, &p->gcap, p->ng + 1, sizeof(*p->g)))
			return -1;
		memset(&p->g[i], 0, sizeof(p->g[i]));
		uidset_init(&p->g[i].uids);
		p->g[i].sign = sign;
		if (!(p->g[i].flags = mf_strdup(flags)))
			return -1;
		p->ng++;
	}
	return uidset_add(&p->g[i].uids, tgt_uid) ? -1 : (int)i;
}

/* Plans the change of one message from its baseline to now. */
static int plan_message(struct flag_plan *p, const struct ledger_flags *row, const char *now,
                        struct mf_buf *add, struct mf_buf *del)
{
	struct flag_set base, cur;
	struct flag_change c = {row->src_uid, now, -1, -1};
	int rc = -1;

	if (row->flags && !strcmp(row->flags, now))
		return 0; /* the usual case: no change, as the server spells it */
	if (row->flags) {
		if (flag_set_parse(row->flags, &base))
			return -1;
		if (flag_set_parse(now, &cur)) {
			flag_set_free(&base);
			return -1;
		}
		if (flag_set_minus(&cur, &base, add) || flag_set_minus(&base, &cur, del))
			goto out;
		if (!add->len && !del->len) { /* no change (or only \Deleted) */
			rc = 0;
			goto out;
		}
		if (!row->tgt_uid) { /* a target without UIDPLUS: nothing to address */
			rc = 0;
			goto out;
		}
		if ((add->len && (c.add = group_for(p, '+', add->data, row->tgt_uid)) < 0) ||
		    (del->len && (c.del = group_for(p, '-', del->data, row->tgt_uid)) < 0))
			goto out;
		p->changed++;
	}
	rc = mf_grow(&p->v, &p->cap, p->n + 1, sizeof(*p->v));
	if (!rc)
		p->v[p->n++] = c;
out:
	if (row->flags) {
		flag_set_free(&base);
		flag_set_free(&cur);
	}
	return rc;
}

static int flag_plan_build(struct mbx_ctx *m, struct folder_work *w, struct flag_plan *p,
                           struct mf_err *err)
{
	struct ledger_flags *rows = NULL;
	struct mf_buf add, del;
	size_t nrows = 0;
	int rc = 0;

	if (ledger_msg_flags(m->run->ledger, w->row.id, &rows, &nrows, err))
		return -1;
	buf_init(&add, 0);
	buf_init(&del, 0);
	for (size_t i = 0; !rc && i < nrows; i++) {
		const struct imap_msginfo *s = folder_find_src(w, rows[i].src_uid);

		if (s && plan_message(p, &rows[i], s->flags ? s->flags : "", &add, &del))
			rc = mf_fail_nomem(err, MF_SCOPE_FOLDER);
	}
	buf_free(&add);
	buf_free(&del);
	ledger_flags_free(rows, nrows);
	return rc;
}

/* Sends one group's STORE, waiting out throttling.  0 answered (an OK or a
 * refusal, which is logged), 1 still throttled, -1 the connection failed. */
static int store_group(struct mbx_ctx *m, struct folder_work *w, struct flag_group *g,
                       struct mf_err *err)
{
	for (int tries = 0;; tries++) {
		struct mf_err e;

		if (!imap_store_flags(m->tgt, &g->uids, g->sign, g->flags, &e))
			return 0;
		if (e.scope >= MF_SCOPE_CONN && e.code != MF_E_THROTTLE) {
			*err = e;
			return -1;
		}
		if (e.code != MF_E_THROTTLE) {
			log_warn("%s: %s: the target refused to %s %s on %llu message%s: %s",
			         m->job->mb.email, w->pf->display, g->sign == '+' ? "set" : "clear",
			         g->flags, (unsigned long long)uidset_count(&g->uids),
			         uidset_count(&g->uids) == 1 ? "" : "s", e.msg);
			return 0;
		}
		if (tries >= THROTTLE_RETRIES)
			return 1; /* the next sync sends it again */
		log_info("%s: the target asks us to wait %lu ms (throttled)", m->job->mb.email,
		         e.retry_ms);
		if (run_sleep(m->run, (long)e.retry_ms))
			return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CANCEL, "stopped");
	}
}

/* The new baselines: every message whose STOREs were all answered, and the
 * adopted ones. */
static int record_baselines(struct mbx_ctx *m, struct folder_work *w, const struct flag_plan *p,
                            size_t *carried, struct mf_err *err)
{
	uint32_t *uids = mf_calloc(p->n ? p->n : 1, sizeof(*uids));
	const char **flags = mf_calloc(p->n ? p->n : 1, sizeof(*flags));
	size_t k = 0;
	int rc;

	*carried = 0;
	if (!uids || !flags) {
		free(uids);
		free(flags);
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct flag_change *c = &p->v[i];

		if ((c->add >= 0 && !p->g[c->add].settled) ||
		    (c->del >= 0 && !p->g[c->del].settled))
			continue;
		if (c->add >= 0 || c->del >= 0)
			(*carried)++;
		uids[k] = c->src_uid;
		flags[k++] = c->now;
	}
	rc = ledger_msgs_set_flags(m->run->ledger, w->row.id, uids, flags, k, err);
	free(uids);
	free(flags);
	return rc;
}

static int flag_plan_apply(struct mbx_ctx *m, struct folder_work *w, struct flag_plan *p,
                           struct mf_err *err)
{
	size_t carried = 0;

	if (m->dry) {
		if (p->changed)
			log_info("%s: %s: dry run: would change the flags of %zu message%s on the "
			         "target (%zu STORE%s)",
			         m->job->mb.email, w->pf->display, p->changed,
			         p->changed == 1 ? "" : "s", p->ng, p->ng == 1 ? "" : "s");
		run_add_flag_changes(m->run, p->changed);
		return 0;
	}
	for (size_t i = 0; i < p->ng; i++) {
		int rc = store_group(m, w, &p->g[i], err);

		if (rc < 0)
			return -1;
		p->g[i].settled = rc == 0;
		/* the folder must be scanned again next time, whatever its STATUS */
		w->flags_owed |= rc > 0;
	}
	if (record_baselines(m, w, p, &carried, err))
		return -1;
	if (carried)
		log_info("%s: %s: flags of %zu message%s changed on the source carried to the "
		         "target",
		         m->job->mb.email, w->pf->display, carried, carried == 1 ? "" : "s");
	run_add_flag_changes(m->run, carried);
	return 0;
}

int folder_carry_flags(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	struct flag_plan *p;
	int rc;

	/* not scanned (nothing changed), or a dry run after the source folder was
	 * recreated: the ledger's source UIDs are the old ones */
	if (!w->src || !w->nsrc || w->dry_done)
		return 0;
	if (!(p = mf_calloc(1, sizeof(*p))))
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	rc = flag_plan_build(m, w, p, err);
	if (!rc && p->n)
		rc = flag_plan_apply(m, w, p, err);
	flag_plan_free(p);
	return rc;
}
