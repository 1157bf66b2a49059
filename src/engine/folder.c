/* mailferry - one folder: what is left to copy, reconciliation, the copy itself
 *
 * Exactly once without an fsync per message:
 *  1. before the first APPEND into a target folder the ledger records the
 *     folder's UIDVALIDITY and the target UIDNEXT at that moment
 *     (tgt_reconcile_from), and commits;
 *  2. messages are appended in chunks; a chunk's rows (source UID -> target
 *     UID, size, identity, date) are committed after the target's tagged OK;
 *  3. after a crash, the target messages from tgt_reconcile_from on that the
 *     ledger does not know are matched by identity (Message-ID or Date header
 *     hash + INTERNALDATE, + size when there is no Message-ID) against the
 *     messages still to copy, and recorded instead of being sent again.
 * The same matching runs over the whole target folder on the first sync into
 * a folder that already holds mail, and re-pairs the ledger after a
 * UIDVALIDITY change on either side.  Nothing is ever deleted on the target.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batch/ledger.h"
#include "engine/engine_p.h"
#include "engine/spool.h"
#include "imap/ops.h"
#include "imap/session.h"
#include "imap/syntax.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#define CHUNK_MSGS 50
#define CHUNK_BYTES (16u * 1024 * 1024)
#define UIDSET_MAX_BYTES 4000    /* per command: servers cap the line length */
#define THROTTLE_RETRIES 10

void folder_work_clear(struct folder_work *w)
{
	ledger_folder_clear(&w->row);
	imap_msginfos_free(w->src, w->nsrc);
	free(w->pending);
	memset(w, 0, sizeof(*w));
}

static const struct imap_msginfo *find_src(const struct folder_work *w, uint32_t uid)
{
	size_t lo = 0, hi = w->nsrc;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (w->src[mid].uid == uid)
			return &w->src[mid];
		if (w->src[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int has_u32(const uint32_t *v, size_t n, uint32_t x)
{
	return n && bsearch(&x, v, n, sizeof(*v), cmp_u32) != NULL;
}

/* ---------------------------------------------------------------- identity matching */

struct id_pair {
	uint32_t src_uid, tgt_uid;
};

/* Whether two messages are the same for reconciliation. */
static int same_message(const struct imap_msginfo *a, const struct imap_msginfo *b)
{
	if (memcmp(a->idhash, b->idhash, IMAP_IDHASH_LEN) || a->date != b->date)
		return 0;
	/* Without a Message-ID the identity is only the Date header: ask the
	 * sizes to agree too.  (Exchange estimates sizes, but every message it
	 * gets from us has a Message-ID or a Date header plus the same bytes.) */
	return a->has_message_id || a->size == b->size;
}

/* Pairs each target candidate with at most one source message. */
static int match_messages(const struct imap_msginfo *src, size_t nsrc,
			  const struct imap_msginfo *tgt, size_t ntgt, struct id_pair **out,
			  size_t *nout)
{
	char *used = mf_calloc(nsrc ? nsrc : 1, 1);
	struct id_pair *pairs = mf_calloc(ntgt ? ntgt : 1, sizeof(*pairs));
	size_t n = 0;

	*out = NULL;
	*nout = 0;
	if (!used || !pairs) {
		free(used);
		free(pairs);
		return -1;
	}
	for (size_t t = 0; t < ntgt; t++)
		for (size_t s = 0; s < nsrc; s++)
			if (!used[s] && same_message(&src[s], &tgt[t])) {
				used[s] = 1;
				pairs[n].src_uid = src[s].uid;
				pairs[n].tgt_uid = tgt[t].uid;
				n++;
				break;
			}
	free(used);
	*out = pairs;
	*nout = n;
	return 0;
}

/* Fetches metadata (with identities) for a set of UIDs, in several commands
 * when the set is long. */
static int fetch_meta_set(struct imap_conn *c, const struct uidset *set,
			  struct imap_msginfo **out, size_t *n, struct mf_err *err)
{
	struct imap_msginfo *all = NULL;
	size_t cnt = 0, cap = 0, pos = 0;
	struct mf_buf text;

	*out = NULL;
	*n = 0;
	buf_init(&text, 0);
	while (pos < set->n) {
		struct imap_msginfo *part;
		size_t np;

		buf_reset(&text);
		if (uidset_format(set, &pos, UIDSET_MAX_BYTES, &text) ||
		    imap_fetch_meta(c, text.data, 1, &part, &np, err)) {
			if (err && !err->msg[0])
				mf_fail_nomem(err, MF_SCOPE_FOLDER);
			buf_free(&text);
			imap_msginfos_free(all, cnt);
			return -1;
		}
		if (np && mf_grow(&all, &cap, cnt + np, sizeof(*all))) {
			imap_msginfos_free(part, np);
			imap_msginfos_free(all, cnt);
			buf_free(&text);
			return mf_fail_nomem(err, MF_SCOPE_FOLDER);
		}
		if (np)
			memcpy(all + cnt, part, np * sizeof(*part));
		cnt += np;
		free(part);
	}
	buf_free(&text);
	*out = all;
	*n = cnt;
	return 0;
}

static int set_from_uids(struct uidset *s, const uint32_t *uids, size_t n)
{
	uidset_init(s);
	for (size_t i = 0; i < n; i++)
		if (uidset_add(s, uids[i]))
			return -1;
	return 0;
}

/* ---------------------------------------------------------------- scanning */

/* After the source folder's UIDVALIDITY changed: re-pair the ledger's rows
 * with the messages now in the folder (dry run: only in memory). */
static int remap_source(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	struct ledger_msg *rows = NULL;
	struct imap_msginfo *now = NULL, *old = NULL;
	size_t nrows = 0, nnow = 0, npairs = 0;
	struct id_pair *pairs = NULL;
	uint32_t (*map)[2] = NULL;
	int rc = -1;

	log_warn("%s: %s: the source folder's UIDVALIDITY changed (%u -> %u); re-pairing the "
		 "copied messages by Message-ID, date and size instead of copying them again",
		 m->job->mb.email, w->pf->display, w->row.src_uidvalidity,
		 imap_selected_state(m->src)->uidvalidity);
	if (ledger_msgs(m->run->ledger, w->row.id, &rows, &nrows, err) ||
	    imap_fetch_meta(m->src, "1:*", 1, &now, &nnow, err))
		goto out;
	if (!(old = mf_calloc(nrows ? nrows : 1, sizeof(*old))))
		goto nomem;
	for (size_t i = 0; i < nrows; i++) {
		old[i].uid = rows[i].src_uid;
		old[i].date = rows[i].internaldate;
		old[i].size = rows[i].size;
		old[i].has_message_id = 1;
		memcpy(old[i].idhash, rows[i].idhash, IMAP_IDHASH_LEN);
	}
	if (match_messages(old, nrows, now, nnow, &pairs, &npairs))
		goto nomem;
	if (!(map = mf_calloc(npairs ? npairs : 1, sizeof(*map))))
		goto nomem;
	for (size_t i = 0; i < npairs; i++) {
		map[i][0] = pairs[i].src_uid; /* the old source UID ... */
		map[i][1] = pairs[i].tgt_uid; /* ... and the message's new one */
	}
	rc = m->dry ? 0
		    : ledger_msgs_remap(m->run->ledger, w->row.id, 0, (const uint32_t(*)[2])map,
					npairs, 1, err);
	goto out;
nomem:
	rc = mf_fail_nomem(err, MF_SCOPE_FOLDER);
out:
	free(map);
	free(pairs);
	free(old);
	free(rows);
	imap_msginfos_free(now, nnow);
	return rc;
}

static int quick_path(const struct folder_work *w)
{
	const struct ledger_folder *r = &w->row;

	return r->tgt_uidvalidity && r->src_uidvalidity == w->st.uidvalidity &&
	       r->src_uidnext == w->st.uidnext && r->src_exists == w->st.messages && r->status &&
	       strncmp(r->status, "failed", 6) != 0;
}

int folder_scan(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	const char *name = w->pf->src_name;
	struct ledger_msg *done = NULL;
	uint32_t *skipped = NULL, *done_uids = NULL;
	size_t ndone = 0, nskipped = 0;
	int rc = -1;

	if (imap_status(m->src, name, &w->st, err))
		return -1;
	if (quick_path(w)) {
		w->unchanged = 1;
		w->total_bytes = w->row.bytes_total;
		return 0; /* nothing changed since the last sync: one STATUS */
	}
	if (imap_select(m->src, name, 1, err))
		return -1;
	w->scan_uidvalidity = imap_selected_state(m->src)->uidvalidity;
	if (w->row.src_uidvalidity &&
	    w->row.src_uidvalidity != imap_selected_state(m->src)->uidvalidity &&
	    remap_source(m, w, err))
		return -1;
	if (w->st.messages && imap_fetch_meta(m->src, "1:*", 0, &w->src, &w->nsrc, err))
		return -1;
	if (ledger_msgs(m->run->ledger, w->row.id, &done, &ndone, err) ||
	    ledger_skipped_uids(m->run->ledger, w->row.id, &skipped, &nskipped, err))
		goto out;
	if (!(done_uids = mf_calloc(ndone ? ndone : 1, sizeof(*done_uids))) ||
	    !(w->pending = mf_calloc(w->nsrc ? w->nsrc : 1, sizeof(*w->pending)))) {
		mf_fail_nomem(err, MF_SCOPE_FOLDER);
		goto out;
	}
	for (size_t i = 0; i < ndone; i++)
		done_uids[i] = done[i].src_uid; /* ledger rows come sorted by source UID */
	for (size_t i = 0; i < w->nsrc; i++) {
		const struct imap_msginfo *s = &w->src[i];

		w->total_bytes += s->size;
		if (has_u32(done_uids, ndone, s->uid) || has_u32(skipped, nskipped, s->uid))
			continue;
		w->pending[w->npending++] = s->uid;
		w->pending_bytes += s->size;
	}
	rc = 0;
out:
	free(done);
	free(done_uids);
	free(skipped);
	return rc;
}

/* ---------------------------------------------------------------- target side */

/* CREATE the folder.  Parents come first because the plan is sorted by
 * path, and RFC 3501 asks servers to create missing parents themselves. */
static int ensure_target(struct mbx_ctx *m, const struct plan_folder *pf, struct mf_err *err)
{
	int existed = 0;

	if (pf->exists_on_target || !strcmp(pf->tgt_name, "INBOX"))
		return 0;
	if (imap_create(m->tgt, pf->tgt_name, &existed, err)) {
		mf_err_prefix(err, "cannot create the folder on the target: ");
		return -1;
	}
	if (!existed)
		log_info("%s: created %s on the target", m->job->mb.email, pf->tgt_display);
	return 0;
}

/* Records pairs found by reconciliation. */
static int record_pairs(struct mbx_ctx *m, struct folder_work *w, const struct id_pair *pairs,
			size_t n, const struct imap_msginfo *srcinfo, size_t nsrcinfo,
			struct mf_err *err)
{
	struct ledger_msg *rows = mf_calloc(n ? n : 1, sizeof(*rows));
	int rc;

	if (!rows)
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < nsrcinfo; k++)
			if (srcinfo[k].uid == pairs[i].src_uid) {
				rows[i].size = srcinfo[k].size;
				rows[i].internaldate = srcinfo[k].date;
				memcpy(rows[i].idhash, srcinfo[k].idhash, IMAP_IDHASH_LEN);
				break;
			}
		rows[i].src_uid = pairs[i].src_uid;
		rows[i].tgt_uid = pairs[i].tgt_uid;
	}
	rc = ledger_msgs_add(m->run->ledger, w->row.id, rows, n, err);
	free(rows);
	return rc;
}

static void drop_pending(struct folder_work *w, const struct id_pair *pairs, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < w->npending; i++) {
		int matched = 0;

		for (size_t p = 0; p < n && !matched; p++)
			matched = pairs[p].src_uid == w->pending[i];
		if (matched) {
			const struct imap_msginfo *s = find_src(w, w->pending[i]);

			if (s && w->pending_bytes >= s->size)
				w->pending_bytes -= s->size;
			continue;
		}
		w->pending[k++] = w->pending[i];
	}
	w->npending = k;
}

/* Target messages that may be unrecorded copies of ours: the whole folder on
 * a first sync into it or after its UIDVALIDITY changed, else those from
 * tgt_reconcile_from on.  The ledger's own target UIDs are left out. */
static int reconcile_candidates(struct mbx_ctx *m, struct folder_work *w, int whole,
				struct imap_msginfo **out, size_t *n, struct mf_err *err)
{
	const struct imap_selected *sel = imap_selected_state(m->tgt);
	struct ledger_msg *rows = NULL;
	size_t nrows = 0, k = 0;
	char set[32];

	*out = NULL;
	*n = 0;
	if (!whole && (!w->row.tgt_reconcile_from || w->row.tgt_reconcile_from >= sel->uidnext))
		return 0;
	if (!sel->exists)
		return 0;
	snprintf(set, sizeof(set), "%u:*", whole ? 1u : w->row.tgt_reconcile_from);
	if (imap_fetch_meta(m->tgt, set, 1, out, n, err) ||
	    ledger_msgs(m->run->ledger, w->row.id, &rows, &nrows, err))
		return -1;
	for (size_t i = 0; i < *n; i++) {
		int known = 0;

		/* "n:*" always returns the last message, even below n */
		if (!whole && (*out)[i].uid < w->row.tgt_reconcile_from)
			known = 1;
		for (size_t r = 0; r < nrows && !known; r++)
			known = rows[r].tgt_uid == (*out)[i].uid;
		if (known) {
			free((*out)[i].flags);
			continue;
		}
		(*out)[k++] = (*out)[i];
	}
	*n = k;
	free(rows);
	return 0;
}

static int reconcile(struct mbx_ctx *m, struct folder_work *w, int whole, struct mf_err *err)
{
	struct imap_msginfo *cand = NULL, *srcinfo = NULL;
	size_t ncand = 0, nsrcinfo = 0, npairs = 0;
	struct id_pair *pairs = NULL;
	struct uidset set;
	int rc = -1;

	if (!w->npending)
		return 0;
	if (reconcile_candidates(m, w, whole, &cand, &ncand, err))
		goto out;
	if (!ncand) {
		rc = 0;
		goto out;
	}
	if (set_from_uids(&set, w->pending, w->npending)) {
		uidset_free(&set);
		mf_fail_nomem(err, MF_SCOPE_FOLDER);
		goto out;
	}
	rc = fetch_meta_set(m->src, &set, &srcinfo, &nsrcinfo, err);
	uidset_free(&set);
	if (rc)
		goto out;
	rc = -1;
	if (match_messages(srcinfo, nsrcinfo, cand, ncand, &pairs, &npairs)) {
		mf_fail_nomem(err, MF_SCOPE_FOLDER);
		goto out;
	}
	if (npairs) {
		if (record_pairs(m, w, pairs, npairs, srcinfo, nsrcinfo, err))
			goto out;
		log_info("%s: %s: %zu message%s already on the target (%s) recognised, not copied "
			 "again",
			 m->job->mb.email, w->pf->display, npairs, npairs == 1 ? " was" : "s were",
			 whole ? "put there before this batch" : "from an interrupted run");
		drop_pending(w, pairs, npairs);
	}
	rc = 0;
out:
	free(pairs);
	imap_msginfos_free(cand, ncand);
	imap_msginfos_free(srcinfo, nsrcinfo);
	return rc;
}

/* The target folder was recreated (UIDVALIDITY changed): re-pair the ledger's
 * rows with what is there now; rows with no copy any more keep target UID 0
 * and verification reports them.  Nothing is copied again blindly. */
static int remap_target(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	struct ledger_msg *rows = NULL;
	struct imap_msginfo *now = NULL, *old = NULL;
	size_t nrows = 0, nnow = 0, npairs = 0;
	struct id_pair *pairs = NULL;
	uint32_t (*map)[2] = NULL;
	int rc = -1;

	log_warn("%s: %s: the target folder's UIDVALIDITY changed (%u -> %u); re-pairing by "
		 "Message-ID, date and size",
		 m->job->mb.email, w->pf->display, w->row.tgt_uidvalidity,
		 imap_selected_state(m->tgt)->uidvalidity);
	if (ledger_msgs(m->run->ledger, w->row.id, &rows, &nrows, err))
		goto out;
	if (imap_selected_state(m->tgt)->exists && imap_fetch_meta(m->tgt, "1:*", 1, &now, &nnow, err))
		goto out;
	if (!(old = mf_calloc(nrows ? nrows : 1, sizeof(*old))))
		goto nomem;
	for (size_t i = 0; i < nrows; i++) {
		old[i].uid = rows[i].tgt_uid;
		old[i].date = rows[i].internaldate;
		old[i].size = rows[i].size;
		old[i].has_message_id = 1;
		memcpy(old[i].idhash, rows[i].idhash, IMAP_IDHASH_LEN);
	}
	if (match_messages(old, nrows, now, nnow, &pairs, &npairs) ||
	    !(map = mf_calloc(npairs ? npairs : 1, sizeof(*map))))
		goto nomem;
	for (size_t i = 0; i < npairs; i++) {
		map[i][0] = pairs[i].src_uid;
		map[i][1] = pairs[i].tgt_uid;
	}
	rc = ledger_msgs_remap(m->run->ledger, w->row.id, 1, (const uint32_t(*)[2])map, npairs, 0,
			       err);
	goto out;
nomem:
	rc = mf_fail_nomem(err, MF_SCOPE_FOLDER);
out:
	free(map);
	free(pairs);
	free(old);
	free(rows);
	imap_msginfos_free(now, nnow);
	return rc;
}

/* ---------------------------------------------------------------- fetching bodies */

struct fetched {
	uint32_t uid;
	struct imap_msginfo info; /* flags owned */
	long item;                /* spool item, -1 none */
	int got;
};

struct fetch_ctx {
	struct mbx_ctx *m;
	struct fetched *v;
	size_t n;
	long last_item;   /* set by the sink when BODY[] ended: an item, -1 none */
	int discarding;
	int failed;
	struct mf_err err;
};

static struct fetched *fetched_slot(struct fetch_ctx *f, uint32_t uid)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].uid == uid)
			return &f->v[i];
	return NULL;
}

static int body_begin(void *aux, const struct imap_response *partial, const char *key,
		      uint64_t size, struct mf_err *err)
{
	struct fetch_ctx *f = aux;

	(void)partial;
	if (!key || strcasecmp(key, "BODY[]"))
		return 0; /* the identity headers stay in memory */
	f->last_item = -1;
	return spool_begin(f->m->spool, size, err) ? -1 : 1;
}

static int body_write(void *aux, const char *data, size_t n, struct mf_err *err)
{
	struct fetch_ctx *f = aux;

	return spool_write(f->m->spool, data, n, err);
}

static int body_end(void *aux, struct mf_err *err)
{
	struct fetch_ctx *f = aux;
	long idx = spool_end(f->m->spool, err);

	if (idx < 0 && err && err->code)
		return -1;
	f->last_item = idx;
	return 0;
}

/* A body that came as a quoted string (an empty message, say) goes to the spool too. */
static long spool_string(struct fetch_ctx *f, const struct imap_value *v)
{
	struct mf_err e;

	if (spool_begin(f->m->spool, v->len, &e) || spool_write(f->m->spool, v->str, v->len, &e))
		return -1;
	return spool_end(f->m->spool, &e);
}

static void on_body(struct imap_conn *c, const struct imap_response *r, void *aux)
{
	struct fetch_ctx *f = aux;
	const struct imap_value *body;
	struct imap_msginfo info;
	struct fetched *slot;
	long item = f->last_item;
	int rc;

	(void)c;
	f->last_item = -1;
	if (!r->keyword || strcmp(r->keyword, "FETCH") || !r->args || r->args->len < 1)
		return;
	rc = imap_parse_fetch(&r->args->items[0], &info);
	if (rc == -2) {
		f->failed = 1;
		return;
	}
	if (rc < 0)
		return;
	slot = fetched_slot(f, info.uid);
	body = imap_list_get(&r->args->items[0], "BODY[]");
	if (!slot || slot->got || !body) {
		free(info.flags);
		return;
	}
	if (body->type == IMAP_STRING)
		item = spool_string(f, body);
	if (item < 0 && body->type != IMAP_STREAMED) {
		free(info.flags);
		return;
	}
	slot->info = info;
	slot->item = item;
	slot->got = item >= 0;
}

static int fetch_bodies(struct mbx_ctx *m, struct fetch_ctx *f, struct mf_err *err)
{
	struct imap_literal_sink sink = {body_begin, body_write, body_end, f};
	struct imap_cmd *cmd = imap_cmd_new(m->src);
	struct uidset set;
	struct mf_buf text;
	size_t pos = 0;
	int ok = 0, rc;

	uidset_init(&set);
	buf_init(&text, 0);
	for (size_t i = 0; i < f->n; i++)
		if (uidset_add(&set, f->v[i].uid))
			goto nomem;
	if (!cmd || uidset_format(&set, &pos, 0, &text))
		goto nomem;
	rc = imap_cmd_text(cmd,
			   "UID FETCH %s (UID FLAGS INTERNALDATE RFC822.SIZE "
			   "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE)] BODY.PEEK[])",
			   text.data);
	buf_free(&text);
	uidset_free(&set);
	if (rc) {
		imap_cmd_free(cmd);
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	}
	f->last_item = -1;
	imap_cmd_on_untagged(cmd, on_body, f);
	imap_cmd_set_sink(cmd, &sink);
	spool_reset(m->spool);
	if (imap_exec(m->src, cmd, &ok, err))
		return -1;
	if (f->failed)
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	return ok ? 0 : -1;
nomem:
	imap_cmd_free(cmd);
	buf_free(&text);
	uidset_free(&set);
	return mf_fail_nomem(err, MF_SCOPE_FOLDER);
}

/* ---------------------------------------------------------------- appending */

static int skip_message(struct mbx_ctx *m, struct folder_work *w, uint32_t uid, uint64_t size,
			const char *reason, struct mf_err *err)
{
	struct mf_event ev = {.kind = MF_EV_SKIPPED,
			      .mailbox_id = m->job->mb.id,
			      .email = m->job->mb.email,
			      .folder = w->pf->display,
			      .text = reason};

	log_warn("%s: %s: message UID %u (%llu bytes) skipped: %s", m->job->mb.email,
		 w->pf->display, uid, (unsigned long long)size, reason);
	run_event(m->run, &ev);
	if (m->dry)
		return 0;
	return ledger_skip_add(m->run->ledger, w->row.id, uid, size, reason, err);
}

static void to_append(struct mbx_ctx *m, const struct fetched *fm, struct imap_append_msg *out)
{
	const struct spool_item *it = spool_item(m->spool, fm->item);

	memset(out, 0, sizeof(*out));
	out->flags = fm->info.flags ? fm->info.flags : "";
	out->date = fm->info.datestr[0] ? fm->info.datestr : NULL;
	out->len = it ? it->len : 0;
	if (it && it->mem)
		out->mem = it->mem;
	else if (it) {
		out->fd = spool_fd(m->spool);
		out->off = it->off;
	}
}

/* Exchange forgets \Flagged set during APPEND: set it again afterwards. */
static int restore_flagged(struct mbx_ctx *m, const struct fetched *fm, uint32_t tgt_uid,
			   struct mf_err *err)
{
	if (!m->target_exchange || !tgt_uid || !fm->info.flags ||
	    !strcasestr(fm->info.flags, "\\Flagged"))
		return 0;
	if (imap_add_flags(m->tgt, tgt_uid, "\\Flagged", err))
		return err->scope == MF_SCOPE_CONN ? -1 : 0;
	return 0;
}

/* Appends one message on its own, waiting out throttling. 1 ok, 0 refused
 * (res has the reason), -1 connection failure. */
static int append_one(struct mbx_ctx *m, struct folder_work *w, const struct imap_append_msg *msg,
		      struct imap_append_result *res, struct mf_err *err)
{
	for (int tries = 0;; tries++) {
		if (imap_append(m->tgt, w->pf->tgt_name, msg, 1, 0, res, err))
			return -1;
		if (res->ok)
			return 1;
		if (!res->retry_ms || tries >= THROTTLE_RETRIES)
			return 0;
		log_info("%s: the target asks us to wait %lu ms (throttled)", m->job->mb.email,
			 res->retry_ms);
		if (run_sleep(m->run, (long)res->retry_ms))
			return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CANCEL, "stopped");
	}
}

static int append_chunk(struct mbx_ctx *m, struct folder_work *w, struct fetch_ctx *f,
			uint32_t *max_tgt_uid, struct mf_err *err)
{
	struct imap_append_msg *msgs = mf_calloc(f->n, sizeof(*msgs));
	struct imap_append_result *res = mf_calloc(f->n, sizeof(*res));
	struct ledger_msg *rows = mf_calloc(f->n, sizeof(*rows));
	size_t *idx = mf_calloc(f->n, sizeof(*idx)), n = 0, nrows = 0;
	uint64_t bytes = 0, skipped = 0;
	int rc = -1;

	if (!msgs || !res || !rows || !idx) {
		mf_fail_nomem(err, MF_SCOPE_FOLDER);
		goto out;
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].got) {
			idx[n] = i;
			to_append(m, &f->v[i], &msgs[n]);
			bytes += msgs[n].len;
			n++;
		}
	pace_take(m->run, bytes, n);
	if (n && imap_append(m->tgt, w->pf->tgt_name, msgs, n, 1, res, err))
		goto out;
	bytes = 0;
	for (size_t k = 0; k < n; k++) {
		struct fetched *fm = &f->v[idx[k]];

		/* A refused MULTIAPPEND refuses all of it: find out which one. */
		if (!res[k].ok && n > 1) {
			int r1 = append_one(m, w, &msgs[k], &res[k], err);

			if (r1 < 0)
				goto out;
		} else if (!res[k].ok && res[k].retry_ms) {
			if (append_one(m, w, &msgs[k], &res[k], err) < 0)
				goto out;
		}
		if (!res[k].ok) {
			if (skip_message(m, w, fm->uid, msgs[k].len, res[k].error, err))
				goto out;
			skipped++;
			continue;
		}
		rows[nrows].src_uid = fm->uid;
		rows[nrows].tgt_uid = res[k].uid;
		rows[nrows].size = msgs[k].len;
		rows[nrows].internaldate = fm->info.date;
		/* the identity came with the body (BODY[HEADER.FIELDS ...]) */
		memcpy(rows[nrows].idhash, fm->info.idhash, IMAP_IDHASH_LEN);
		nrows++;
		bytes += msgs[k].len;
		if (res[k].uid > *max_tgt_uid)
			*max_tgt_uid = res[k].uid;
		if (restore_flagged(m, fm, res[k].uid, err))
			goto out;
	}
	if (nrows && ledger_msgs_add(m->run->ledger, w->row.id, rows, nrows, err))
		goto out;
	job_add_done(m->run, m->job, nrows + skipped, bytes, skipped);
	rc = 0;
out:
	free(msgs);
	free(res);
	free(rows);
	free(idx);
	return rc;
}

/* ---------------------------------------------------------------- the copy loop */

static void free_fetched(struct fetch_ctx *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].info.flags);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

/* The next chunk: up to CHUNK_MSGS messages and CHUNK_BYTES (declared sizes);
 * messages over the target's size limit are skipped without downloading. */
static int next_chunk(struct mbx_ctx *m, struct folder_work *w, size_t *pos, struct fetch_ctx *f,
		      struct mf_err *err)
{
	uint64_t limit = m->run->set->max_message_size, bytes = 0;

	f->v = mf_calloc(CHUNK_MSGS, sizeof(*f->v));
	f->n = 0;
	if (!f->v)
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	while (*pos < w->npending && f->n < CHUNK_MSGS) {
		uint32_t uid = w->pending[*pos];
		const struct imap_msginfo *s = find_src(w, uid);
		uint64_t size = s ? s->size : 0;

		if (limit && size > limit) {
			char reason[160];

			snprintf(reason, sizeof(reason),
				 "larger (%llu bytes) than the target accepts (%llu bytes)",
				 (unsigned long long)size, (unsigned long long)limit);
			if (skip_message(m, w, uid, size, reason, err))
				return -1;
			job_add_done(m->run, m->job, 1, 0, 1);
			(*pos)++;
			continue;
		}
		if (f->n && bytes + size > CHUNK_BYTES)
			break;
		f->v[f->n].uid = uid;
		f->v[f->n].item = -1;
		f->n++;
		bytes += size;
		(*pos)++;
	}
	return 0;
}

static int read_only_pass(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	size_t pos = 0;

	if (!w->pf->exists_on_target) {
		pthread_mutex_lock(&m->run->lock);
		m->run->sum.folders_to_create++;
		pthread_mutex_unlock(&m->run->lock);
		log_info("%s: dry run: would create %s on the target", m->job->mb.email,
			 w->pf->tgt_display);
	}
	while (pos < w->npending) {
		struct fetch_ctx f = {.m = m};
		uint64_t bytes = 0;
		size_t got = 0;

		if (run_stopping(m->run))
			return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CANCEL, "stopped");
		if (next_chunk(m, w, &pos, &f, err) || (f.n && fetch_bodies(m, &f, err))) {
			free_fetched(&f);
			return -1;
		}
		for (size_t i = 0; i < f.n; i++)
			if (f.v[i].got) {
				const struct spool_item *it = spool_item(m->spool, f.v[i].item);

				bytes += it ? it->len : 0;
				got++;
			}
		free_fetched(&f);
		job_add_done(m->run, m->job, got, bytes, 0);
	}
	return 0;
}

static int save_markers(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	w->row.src_uidvalidity = w->scan_uidvalidity ? w->scan_uidvalidity : w->st.uidvalidity;
	w->row.src_uidnext = w->st.uidnext;
	w->row.src_exists = w->st.messages;
	w->row.msgs_total = w->st.messages;
	w->row.bytes_total = w->total_bytes;
	free(w->row.status);
	w->row.status = mf_strdup(w->pf->note ? w->pf->note : "ok");
	if (!w->row.status)
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	return ledger_folder_update(m->run->ledger, &w->row, err);
}

/* The source folder this work is about must be the selected one: the scan
 * visited every folder, so another one may still be open. */
static int select_source(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	if (imap_select(m->src, w->pf->src_name, 1, err))
		return -1;
	if (w->scan_uidvalidity && imap_selected_state(m->src)->uidvalidity != w->scan_uidvalidity)
		return mf_fail(err, MF_SCOPE_CONN, MF_E_DATA,
			       "the source folder %s was recreated during the sync (UIDVALIDITY "
			       "changed); starting the mailbox again",
			       w->pf->display);
	return 0;
}

int folder_copy(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	const struct imap_selected *sel;
	uint32_t max_tgt_uid = 0;
	size_t pos = 0;
	int whole;

	if (w->npending && select_source(m, w, err))
		return -1;
	if (m->dry)
		return read_only_pass(m, w, err);
	if (ensure_target(m, w->pf, err) || imap_select(m->tgt, w->pf->tgt_name, 0, err))
		return -1;
	sel = imap_selected_state(m->tgt);
	whole = !w->row.tgt_uidvalidity;
	if (w->row.tgt_uidvalidity && w->row.tgt_uidvalidity != sel->uidvalidity) {
		if (remap_target(m, w, err))
			return -1;
		whole = 1;
	}
	if (reconcile(m, w, whole, err))
		return -1;
	/* Commit where unrecorded copies could start before sending any. */
	if (!w->row.tgt_uidvalidity || w->row.tgt_uidvalidity != sel->uidvalidity ||
	    !w->row.tgt_reconcile_from || w->row.tgt_reconcile_from > sel->uidnext)
		w->row.tgt_reconcile_from = sel->uidnext ? sel->uidnext : 1;
	w->row.tgt_uidvalidity = sel->uidvalidity;
	if (ledger_folder_update(m->run->ledger, &w->row, err))
		return -1;
	while (pos < w->npending) {
		struct fetch_ctx f = {.m = m};

		if (run_stopping(m->run))
			return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CANCEL, "stopped");
		if (next_chunk(m, w, &pos, &f, err) || (f.n && fetch_bodies(m, &f, err))) {
			free_fetched(&f);
			return -1;
		}
		if (f.n && append_chunk(m, w, &f, &max_tgt_uid, err)) {
			free_fetched(&f);
			return -1;
		}
		free_fetched(&f);
	}
	/* Everything up to here is recorded: later crashes need only look past it. */
	if (max_tgt_uid && max_tgt_uid + 1 > w->row.tgt_reconcile_from)
		w->row.tgt_reconcile_from = max_tgt_uid + 1;
	return save_markers(m, w, err);
}
