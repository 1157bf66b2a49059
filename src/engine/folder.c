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
#define BODY_SIZE_SLACK (1024u * 1024) /* beyond twice the declared size, see body_begin */
#define UIDSET_MAX_BYTES 4000    /* per command: servers cap the line length */

void folder_work_clear(struct folder_work *w)
{
	free(w->dry_done);
	ledger_folder_clear(&w->row);
	imap_msginfos_free(w->src, w->nsrc);
	free(w->pending);
	memset(w, 0, sizeof(*w));
}

const struct imap_msginfo *folder_find_src(const struct folder_work *w, uint32_t uid)
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

/* How close two sizes must be for a message the target stored slightly
 * differently: servers normalise line ends (Dovecot stores "\r\r\n" as
 * "\r\n"), so a copy can be a few bytes shorter than what was sent. */
int msg_sizes_close(uint64_t a, uint64_t b)
{
	uint64_t d = a > b ? a - b : b - a, big = a > b ? a : b;

	return d <= 1024 || d <= big / 50;
}

/* Whether two messages are the same for reconciliation: same identity (the
 * Message-ID, or for a message without one its Date, From and Subject) and
 * the same INTERNALDATE, and then, by pass: 0 the same size, 1 sizes close
 * (normalised line ends), 2 any size if both have a Message-ID (the target
 * only estimates sizes, as Exchange does). */
static int same_message(const struct imap_msginfo *a, const struct imap_msginfo *b, int pass)
{
	if (memcmp(a->idhash, b->idhash, IMAP_IDHASH_LEN) || a->date != b->date)
		return 0;
	if (a->size == b->size)
		return 1;
	if (pass == 1)
		return msg_sizes_close(a->size, b->size);
	return pass == 2 && a->has_message_id && b->has_message_id;
}

/* Pairs each target candidate with at most one source message: exact matches
 * first (two look-alike messages must each find their own copy), then by
 * close sizes, then, where sizes are only estimates, by identity and date
 * alone. */
static int match_messages(const struct imap_msginfo *src, size_t nsrc,
			  const struct imap_msginfo *tgt, size_t ntgt, int sizes_estimated,
			  struct id_pair **out, size_t *nout)
{
	char *used = mf_calloc(nsrc ? nsrc : 1, 1), *taken = mf_calloc(ntgt ? ntgt : 1, 1);
	struct id_pair *pairs = mf_calloc(ntgt ? ntgt : 1, sizeof(*pairs));
	size_t n = 0;

	*out = NULL;
	*nout = 0;
	if (!used || !taken || !pairs) {
		free(used);
		free(taken);
		free(pairs);
		return -1;
	}
	for (int pass = 0; pass <= 1 + !!sizes_estimated; pass++)
		for (size_t t = 0; t < ntgt; t++)
			for (size_t s = 0; !taken[t] && s < nsrc; s++)
				if (!used[s] && same_message(&src[s], &tgt[t], pass)) {
					used[s] = taken[t] = 1;
					pairs[n].src_uid = src[s].uid;
					pairs[n].tgt_uid = tgt[t].uid;
					n++;
				}
	free(used);
	free(taken);
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

/* Pairs the ledger's rows with the messages now in a folder (by Message-ID,
 * date and size; loose: Exchange's changed sizes too): (*map)[i] is {the
 * row's UID on that side before, the message's UID now}.  by_target picks
 * the rows' target UIDs, else their source UIDs.  0 or -1 out of memory. */
static int pair_rows(const struct ledger_msg *rows, size_t nrows, const struct imap_msginfo *now,
		     size_t nnow, int by_target, int loose, uint32_t (**map)[2], size_t *nmap)
{
	struct imap_msginfo *old = mf_calloc(nrows ? nrows : 1, sizeof(*old));
	struct id_pair *pairs = NULL;
	size_t npairs = 0;
	int rc = -1;

	*map = NULL;
	*nmap = 0;
	if (!old)
		return -1;
	for (size_t i = 0; i < nrows; i++) {
		old[i].uid = by_target ? rows[i].tgt_uid : rows[i].src_uid;
		old[i].date = rows[i].internaldate;
		old[i].size = rows[i].size;
		/* on the target, loose matching only helps Message-ID identities */
		old[i].has_message_id = by_target;
		memcpy(old[i].idhash, rows[i].idhash, IMAP_IDHASH_LEN);
	}
	if (!match_messages(old, nrows, now, nnow, loose, &pairs, &npairs) &&
	    (*map = mf_calloc(npairs ? npairs : 1, sizeof(**map)))) {
		for (size_t i = 0; i < npairs; i++) {
			(*map)[i][0] = pairs[i].src_uid; /* the old UID ... */
			(*map)[i][1] = pairs[i].tgt_uid; /* ... and the message's UID now */
		}
		*nmap = npairs;
		rc = 0;
	}
	free(pairs);
	free(old);
	return rc;
}

/* After the source folder's UIDVALIDITY changed: re-pair the ledger's rows
 * with the messages now in the folder (dry run: only in memory). */
static int remap_source(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	struct ledger_msg *rows = NULL;
	struct imap_msginfo *now = NULL;
	size_t nrows = 0, nnow = 0, npairs = 0;
	uint32_t (*map)[2] = NULL;
	int rc = -1;

	log_warn("%s: %s: the source folder's UIDVALIDITY changed (%u -> %u); re-pairing the "
		 "copied messages by Message-ID, date and size instead of copying them again",
		 m->job->mb.email, w->pf->display, w->row.src_uidvalidity,
		 imap_selected_state(m->src)->uidvalidity);
	if (ledger_msgs(m->run->ledger, w->row.id, &rows, &nrows, err) ||
	    imap_fetch_meta(m->src, "1:*", 1, &now, &nnow, err))
		goto out;
	/* the same server: sizes are exact on both sides */
	if (pair_rows(rows, nrows, now, nnow, 0, 0, &map, &npairs))
		goto nomem;
	if (m->dry) {
		/* a rehearsal changes nothing: remember which new UIDs are copies */
		if (!(w->dry_done = mf_calloc(npairs ? npairs : 1, sizeof(*w->dry_done))))
			goto nomem;
		for (size_t i = 0; i < npairs; i++)
			w->dry_done[w->ndry_done++] = map[i][1];
		qsort(w->dry_done, w->ndry_done, sizeof(*w->dry_done), cmp_u32);
		rc = 0;
	} else {
		/* skipped messages are known by their old UIDs only: forget them, they
		 * are tried again (and recorded again if still refused) */
		rc = ledger_msgs_remap(m->run->ledger, w->row.id, 0, (const uint32_t(*)[2])map,
				       npairs, 1, err) ||
		     ledger_skips_clear(m->run->ledger, w->row.id, err);
	}
	goto out;
nomem:
	rc = mf_fail_nomem(err, MF_SCOPE_FOLDER);
out:
	free(map);
	free(rows);
	imap_msginfos_free(now, nnow);
	return rc;
}

static int quick_path(const struct folder_work *w)
{
	const struct ledger_folder *r = &w->row;

	return r->tgt_uidvalidity && r->src_uidvalidity == w->st.uidvalidity &&
	       r->src_uidnext == w->st.uidnext && r->src_exists == w->st.messages &&
	       r->src_modseq == w->st.highestmodseq && r->status &&
	       strncmp(r->status, "failed", 6) != 0;
}

static void drop_scan(struct folder_work *w)
{
	imap_msginfos_free(w->src, w->nsrc);
	w->src = NULL;
	w->nsrc = 0;
}

/* EXAMINE and the metadata FETCH of every message, pipelined: one round trip.
 * The FETCH's answers count only once the EXAMINE succeeded (a server that
 * refused it might answer the FETCH from the folder opened before). */
static int scan_source(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	struct imap_select_req sel;
	struct mf_err ferr;
	int frc = 0;

	if (imap_select_send(m->src, w->pf->src_name, 1, &sel, err))
		return -1;
	if (w->st.messages)
		frc = imap_fetch_meta(m->src, "1:*", 0, &w->src, &w->nsrc, &ferr);
	if (imap_select_wait(m->src, &sel, err)) {
		drop_scan(w);
		return -1;
	}
	if (sel.retried && w->st.messages) { /* throttled: the FETCH went nowhere */
		drop_scan(w);
		frc = imap_fetch_meta(m->src, "1:*", 0, &w->src, &w->nsrc, &ferr);
	}
	w->scan_uidvalidity = imap_selected_state(m->src)->uidvalidity;
	if (frc)
		*err = ferr;
	return frc;
}

int folder_scan(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	const char *name = w->pf->src_name;
	struct ledger_msg *done = NULL;
	uint32_t *skipped = NULL, *done_uids = NULL;
	size_t ndone = 0, nskipped = 0;
	int rc = -1;

	if (!w->have_status && imap_status(m->src, name, &w->st, err))
		return -1;
	if (quick_path(w)) {
		w->unchanged = 1;
		w->total_bytes = w->row.bytes_total;
		return 0; /* nothing changed since the last sync: one STATUS */
	}
	if (scan_source(m, w, err))
		return -1;
	if (w->row.src_uidvalidity && w->row.src_uidvalidity != w->scan_uidvalidity &&
	    remap_source(m, w, err))
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
		if (w->dry_done ? has_u32(w->dry_done, w->ndry_done, s->uid)
				: has_u32(done_uids, ndone, s->uid) || has_u32(skipped, nskipped, s->uid))
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

/* Opens the target folder read-write, CREATEing it first (pipelined with
 * the SELECT) when the plan says it is new.  Parents come first because the
 * plan is sorted by path, and RFC 3501 asks servers to create missing
 * parents themselves. */
static int open_target(struct mbx_ctx *m, const struct plan_folder *pf, struct mf_err *err)
{
	int existed = 0, create_failed = 0;

	if (pf->exists_on_target || !strcmp(pf->tgt_name, "INBOX"))
		return imap_select(m->tgt, pf->tgt_name, 0, err);
	if (imap_create_select(m->tgt, pf->tgt_name, &existed, &create_failed, err)) {
		if (create_failed)
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
			const struct imap_msginfo *s = folder_find_src(w, w->pending[i]);

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
	if (match_messages(srcinfo, nsrcinfo, cand, ncand, m->target_exchange, &pairs, &npairs)) {
		mf_fail_nomem(err, MF_SCOPE_FOLDER);
		goto out;
	}
	if (npairs) {
		if (!m->dry && record_pairs(m, w, pairs, npairs, srcinfo, nsrcinfo, err))
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
	struct imap_msginfo *now = NULL;
	size_t nrows = 0, nnow = 0, npairs = 0;
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
	if (pair_rows(rows, nrows, now, nnow, 1, m->target_exchange, &map, &npairs))
		rc = mf_fail_nomem(err, MF_SCOPE_FOLDER);
	else
		rc = ledger_msgs_remap(m->run->ledger, w->row.id, 1, (const uint32_t(*)[2])map,
				       npairs, 0, err);
out:
	free(map);
	free(rows);
	imap_msginfos_free(now, nnow);
	return rc;
}

/* ---------------------------------------------------------------- the pipeline
 *
 * The copy runs as a pipeline of slots, each holding one chunk and its own
 * spool: while the source fetches the next chunk into a free slot, earlier
 * chunks are being appended on the target connections (one chunk per
 * connection at a time).  The target's per-message work is the bottleneck,
 * so several target connections keep it busy; everything runs in the
 * worker's one thread with imap_pump() driving all the connections.
 */

enum slot_state { SLOT_FREE, SLOT_FETCHED, SLOT_APPENDING };

struct fetched {
	uint32_t uid;
	struct imap_msginfo info; /* flags owned */
	long item;                /* spool item, -1 none */
	int got;
};

struct fetch_ctx {
	struct spool *spool;
	struct fetched *v;
	size_t n;
	long last_item;   /* set by the sink when BODY[] ended: an item, -1 none */
	uint64_t largest; /* the largest RFC822.SIZE of the chunk, from the scan */
	int failed;
	int done, ok;     /* the FETCH command completed, with OK */
	struct mf_err err;
};

struct slot {
	enum slot_state state;
	struct fetch_ctx f;
	struct imap_append_msg *msgs;     /* owned, for the messages that arrived */
	struct imap_append_result *res;   /* owned */
	size_t *idx;                      /* owned: msgs[k] is f.v[idx[k]] */
	size_t nmsgs;
	uint64_t bytes;
	struct imap_append_op *op;        /* owned while appending */
	struct imap_conn *conn;           /* the target connection appending it */
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
	/* RFC822.SIZE is only an estimate on some servers (Exchange), hence
	 * the slack; a body far beyond anything the chunk announced is a
	 * broken or hostile server, not mail worth gigabytes of spool. */
	if (size > 2 * f->largest + BODY_SIZE_SLACK)
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_PROTO,
			       "the server announced a message body of %llu bytes, far larger "
			       "than the size it listed (at most %llu bytes)",
			       (unsigned long long)size, (unsigned long long)f->largest);
	f->last_item = -1;
	return spool_begin(f->spool, size, err) ? -1 : 1;
}

static int body_write(void *aux, const char *data, size_t n, struct mf_err *err)
{
	struct fetch_ctx *f = aux;

	return spool_write(f->spool, data, n, err);
}

static int body_end(void *aux, struct mf_err *err)
{
	struct fetch_ctx *f = aux;
	long idx = spool_end(f->spool, err);

	if (idx < 0 && err && err->code)
		return -1;
	f->last_item = idx;
	return 0;
}

/* A body that came as a quoted string (an empty message, say) goes to the spool too. */
static long spool_string(struct fetch_ctx *f, const struct imap_value *v)
{
	struct mf_err e;

	if (spool_begin(f->spool, v->len, &e) || spool_write(f->spool, v->str, v->len, &e))
		return -1;
	return spool_end(f->spool, &e);
}

/* A message's identity from the header of its spooled body: the same as the
 * server's BODY[HEADER.FIELDS (...)] would give (see imap_header_length). */
static int identity_from_body(const struct spool *sp, long item, struct imap_msginfo *info)
{
	struct spool_view v;

	if (spool_view_get(sp, item, &v))
		return -1;
	imap_message_identity(v.data, imap_header_length(v.data, (size_t)v.len), info->idhash,
			      &info->has_message_id);
	info->has_id = 1;
	spool_view_release(&v);
	return 0;
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
	if (item < 0) {
		free(info.flags);
		return;
	}
	if (!info.has_id && identity_from_body(f->spool, item, &info)) {
		free(info.flags);
		f->failed = 1; /* no memory to map the spooled body */
		return;
	}
	slot->info = info;
	slot->item = item;
	slot->got = 1;
}

static void on_fetch_done(struct imap_conn *c, int ok, const struct imap_response *tagged,
			  const struct mf_err *err, void *aux)
{
	struct fetch_ctx *f = aux;

	(void)c;
	(void)tagged;
	f->done = 1;
	f->ok = ok;
	if (!ok && err)
		f->err = *err;
}

/* Sends the UID FETCH of a chunk (bodies with BODY.PEEK: the source is never
 * marked read).  No BODY[HEADER.FIELDS]: the identity comes from the body's
 * own header (identity_from_body), which spares the source server a second
 * parse of every message and, in Dovecot, a cache update per message. */
static int fetch_start(struct mbx_ctx *m, struct fetch_ctx *f, struct mf_err *err)
{
	struct imap_literal_sink sink = {body_begin, body_write, body_end, f};
	struct imap_cmd *cmd = imap_cmd_new(m->src);
	struct uidset set;
	struct mf_buf text;
	size_t pos = 0;
	int rc = -1;

	uidset_init(&set);
	buf_init(&text, 0);
	for (size_t i = 0; i < f->n; i++)
		if (uidset_add(&set, f->v[i].uid))
			goto out;
	if (!cmd || uidset_format(&set, &pos, 0, &text) ||
	    imap_cmd_text(cmd,
			  "UID FETCH %s (UID FLAGS INTERNALDATE BODY.PEEK[])",
			  text.data))
		goto out;
	rc = 0;
out:
	buf_free(&text);
	uidset_free(&set);
	if (rc) {
		imap_cmd_free(cmd);
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	}
	f->last_item = -1;
	f->done = f->ok = 0;
	spool_reset(f->spool);
	imap_cmd_on_untagged(cmd, on_body, f);
	imap_cmd_on_done(cmd, on_fetch_done, f);
	imap_cmd_set_sink(cmd, &sink);
	return imap_submit(m->src, cmd, err) && imap_is_dead(m->src) ? -1 : 0;
}

static int fetch_is_done(void *aux)
{
	return ((struct fetch_ctx *)aux)->done;
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

static void to_append(const struct fetch_ctx *f, const struct fetched *fm,
		      struct imap_append_msg *out)
{
	const struct spool_item *it = spool_item(f->spool, fm->item);

	memset(out, 0, sizeof(*out));
	out->flags = fm->info.flags ? fm->info.flags : "";
	out->date = fm->info.datestr[0] ? fm->info.datestr : NULL;
	out->len = it ? it->len : 0;
	if (it && it->mem)
		out->mem = it->mem;
	else if (it) {
		out->fd = spool_fd(f->spool);
		out->off = it->off;
	}
}

static int is_flagged(const struct fetched *fm)
{
	return fm->info.flags && strcasestr(fm->info.flags, "\\Flagged");
}

/* Exchange forgets \Flagged set at APPEND: set it again on the chunk's
 * flagged messages, with one UID STORE for all of them.  Only a lost
 * connection is an error; a refusal leaves the flag to Exchange. */
static int restore_flagged(struct mbx_ctx *m, struct imap_conn *c, const struct uidset *flagged,
			   struct mf_err *err)
{
	if (!m->target_exchange || !flagged->n)
		return 0;
	if (imap_add_flags(c, flagged, "\\Flagged", err))
		return err->scope == MF_SCOPE_CONN ? -1 : 0;
	return 0;
}

/* Appends one message on its own, waiting out throttling. 1 ok, 0 refused
 * (res has the reason), -1 connection failure or throttled for too long. */
static int append_one(struct mbx_ctx *m, struct imap_conn *c, struct folder_work *w,
		      const struct imap_append_msg *msg, struct imap_append_result *res,
		      struct mf_err *err)
{
	for (int tries = 0;; tries++) {
		/* res holds the previous answer: the chunk's own, at first */
		if (res->retry_ms) {
			if (tries > THROTTLE_RETRIES) /* not the message's fault: no skip */
				return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_THROTTLE,
					       "the target kept throttling: %s", res->error);
			log_info("%s: the target asks us to wait %lu ms (throttled)",
				 m->job->mb.email, res->retry_ms);
			if (run_sleep(m->run, (long)res->retry_ms))
				return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CANCEL, "stopped");
		}
		if (imap_append(c, w->pf->tgt_name, msg, 1, 0, res, err))
			return -1;
		if (res->ok || !res->retry_ms)
			return res->ok;
	}
}

static void slot_clear(struct slot *s)
{
	for (size_t i = 0; i < s->f.n; i++)
		free(s->f.v[i].info.flags);
	free(s->f.v);
	free(s->msgs);
	free(s->res);
	free(s->idx);
	imap_append_op_free(s->op);
	s->f.v = NULL;
	s->f.n = 0;
	s->msgs = NULL;
	s->res = NULL;
	s->idx = NULL;
	s->op = NULL;
	s->conn = NULL;
	s->nmsgs = 0;
	s->bytes = 0;
	s->state = SLOT_FREE;
}

/* Sends a fetched chunk's messages as one MULTIAPPEND (or pipelined APPENDs). */
static int append_start(struct mbx_ctx *m, struct folder_work *w, struct slot *s,
			struct imap_conn *c, struct mf_err *err)
{
	size_t n = s->f.n ? s->f.n : 1;

	s->msgs = mf_calloc(n, sizeof(*s->msgs));
	s->res = mf_calloc(n, sizeof(*s->res));
	s->idx = mf_calloc(n, sizeof(*s->idx));
	if (!s->msgs || !s->res || !s->idx)
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	for (size_t i = 0; i < s->f.n; i++)
		if (s->f.v[i].got) {
			s->idx[s->nmsgs] = i;
			to_append(&s->f, &s->f.v[i], &s->msgs[s->nmsgs]);
			s->bytes += s->msgs[s->nmsgs].len;
			s->nmsgs++;
		}
	pace_take(m->run, s->bytes, s->nmsgs);
	s->conn = c;
	s->state = SLOT_APPENDING;
	if (!s->nmsgs)
		return 0;
	return imap_append_start(c, w->pf->tgt_name, s->msgs, s->nmsgs, 1, s->res, &s->op, err);
}

static int slot_appended(const struct slot *s)
{
	return s->state == SLOT_APPENDING && (!s->op || imap_append_op_done(s->op));
}

/* Records an appended chunk: ledger rows for what the target took (one
 * transaction), the server's words for what it refused, after finding out
 * message by message which one a refused MULTIAPPEND was about. */
static int append_finish(struct mbx_ctx *m, struct folder_work *w, struct slot *s,
			 uint32_t *max_tgt_uid, struct mf_err *err)
{
	struct ledger_msg *rows = mf_calloc(s->nmsgs ? s->nmsgs : 1, sizeof(*rows));
	uint64_t bytes = 0, skipped = 0;
	struct uidset flagged;
	size_t nrows = 0;
	int rc = -1;

	if (!rows)
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	uidset_init(&flagged);
	for (size_t k = 0; k < s->nmsgs; k++) {
		struct fetched *fm = &s->f.v[s->idx[k]];
		struct imap_append_result *r = &s->res[k];

		if (!r->ok && (s->nmsgs > 1 || r->retry_ms)) {
			if (append_one(m, s->conn, w, &s->msgs[k], r, err) < 0)
				goto out;
			/* one wait serves the whole throttled chunk */
			for (size_t j = k + 1; j < s->nmsgs; j++)
				s->res[j].retry_ms = 0;
		}
		if (!r->ok) {
			if (skip_message(m, w, fm->uid, s->msgs[k].len, r->error, err))
				goto out;
			skipped++;
			continue;
		}
		rows[nrows].src_uid = fm->uid;
		rows[nrows].tgt_uid = r->uid;
		rows[nrows].size = s->msgs[k].len;
		rows[nrows].internaldate = fm->info.date;
		rows[nrows].flags = fm->info.flags ? fm->info.flags : ""; /* what was sent */
		/* the identity was taken from the body's header */
		memcpy(rows[nrows].idhash, fm->info.idhash, IMAP_IDHASH_LEN);
		nrows++;
		bytes += s->msgs[k].len;
		if (r->uid > *max_tgt_uid)
			*max_tgt_uid = r->uid;
		if (is_flagged(fm) && r->uid && uidset_add(&flagged, r->uid)) {
			mf_fail_nomem(err, MF_SCOPE_FOLDER);
			goto out;
		}
	}
	if (restore_flagged(m, s->conn, &flagged, err))
		goto out;
	if (nrows && ledger_msgs_add(m->run->ledger, w->row.id, rows, nrows, err))
		goto out;
	job_add_done(m->run, m->job, nrows + skipped, bytes, skipped);
	rc = 0;
out:
	uidset_free(&flagged);
	free(rows);
	return rc;
}

/* ---------------------------------------------------------------- chunks */

int folder_needs_chunks(const struct folder_work *w)
{
	return w->npending > CHUNK_MSGS || w->pending_bytes > CHUNK_BYTES;
}

/* The next chunk: up to CHUNK_MSGS messages and CHUNK_BYTES (declared sizes);
 * messages over the target's size limit are skipped without downloading. */
static int next_chunk(struct mbx_ctx *m, struct folder_work *w, size_t *pos, struct fetch_ctx *f,
		      struct mf_err *err)
{
	uint64_t limit = m->run->set->max_message_size, bytes = 0;

	f->v = mf_calloc(CHUNK_MSGS, sizeof(*f->v));
	f->n = 0;
	f->largest = 0;
	if (!f->v)
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	while (*pos < w->npending && f->n < CHUNK_MSGS) {
		uint32_t uid = w->pending[*pos];
		const struct imap_msginfo *s = folder_find_src(w, uid);
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
		if (size > f->largest)
			f->largest = size;
		(*pos)++;
	}
	return 0;
}

/* Forgets what a failed FETCH delivered before it is sent again. */
static void fetch_forget(struct fetch_ctx *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].info.flags);
		memset(&f->v[i].info, 0, sizeof(f->v[i].info));
		f->v[i].item = -1;
		f->v[i].got = 0;
	}
}

/* Fetches the next chunk into slot s, pumping the target connections too so
 * the appends in flight keep moving, and waiting out throttling (Exchange
 * throttles FETCH too).  *empty when nothing was left to fetch. */
static int fetch_chunk(struct mbx_ctx *m, struct folder_work *w, size_t *pos, struct slot *s,
		       struct imap_conn *const *all, size_t nall, struct mf_err *err)
{
	if (next_chunk(m, w, pos, &s->f, err))
		return -1;
	if (!s->f.n)
		return 0;
	for (int tries = 0;; tries++) {
		if (fetch_start(m, &s->f, err))
			return -1;
		if (imap_pump(all, nall, fetch_is_done, &s->f, err)) {
			/* A target connection failed while the source is still
			 * sending the chunk: the FETCH's handlers point into this
			 * slot, which the caller is about to drop, so the source
			 * goes now too and the attempt starts over (reconciling
			 * whatever arrived). */
			if (!s->f.done) {
				mbx_drop_source(m);
				mf_err_widen(err, MF_SCOPE_CONN);
			}
			return -1;
		}
		if (s->f.failed)
			return mf_fail_nomem(err, MF_SCOPE_FOLDER);
		if (s->f.ok)
			break;
		*err = s->f.err;
		if (err->code != MF_E_THROTTLE || tries >= THROTTLE_RETRIES)
			return -1;
		fetch_forget(&s->f);
		log_info("%s: the source asks us to wait %lu ms (throttled)", m->job->mb.email,
			 err->retry_ms);
		if (run_sleep(m->run, (long)err->retry_ms))
			return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CANCEL, "stopped");
	}
	s->state = SLOT_FETCHED;
	return 0;
}

/* ---------------------------------------------------------------- dry run */

static int read_only_pass(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	struct slot s = {0};
	size_t pos = 0;
	int rc = 0;

	s.f.spool = m->spools[0];
	if (!w->pf->exists_on_target) {
		pthread_mutex_lock(&m->run->lock);
		m->run->sum.folders_to_create++;
		pthread_mutex_unlock(&m->run->lock);
		log_info("%s: dry run: would create %s on the target", m->job->mb.email,
			 w->pf->tgt_display);
	}
	while (!rc && pos < w->npending) {
		uint64_t bytes = 0;
		size_t got = 0;

		if (run_stopping(m->run)) {
			rc = mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CANCEL, "stopped");
			break;
		}
		rc = fetch_chunk(m, w, &pos, &s, &m->src, 1, err);
		for (size_t i = 0; !rc && i < s.f.n; i++)
			if (s.f.v[i].got) {
				const struct spool_item *it = spool_item(s.f.spool, s.f.v[i].item);

				bytes += it ? it->len : 0;
				got++;
			}
		if (!rc)
			job_add_done(m->run, m->job, got, bytes, 0);
		slot_clear(&s);
	}
	return rc;
}

/* ---------------------------------------------------------------- the copy */

static int save_markers(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	w->row.src_uidvalidity = w->scan_uidvalidity ? w->scan_uidvalidity : w->st.uidvalidity;
	w->row.src_uidnext = w->st.uidnext;
	w->row.src_exists = w->st.messages;
	/* from the STATUS before the scan: a change after it shows next time;
	 * 0 when a flag change is still owed, so that the next run scans */
	w->row.src_modseq = w->flags_owed ? 0 : w->st.highestmodseq;
	w->row.msgs_total = w->st.messages;
	w->row.bytes_total = w->total_bytes;
	free(w->row.status);
	w->row.status = mf_strdup(w->pf->note ? w->pf->note : "ok");
	if (!w->row.status)
		return mf_fail_nomem(err, MF_SCOPE_FOLDER);
	return ledger_folder_update(m->run->ledger, &w->row, err);
}

/* The source folder this work is about must be the selected one: the scan
 * visited every folder, so another one may still be open.  The EXAMINE is
 * queued first and waited for after the target side is ready, so the two
 * overlap. */
static int source_open_send(struct mbx_ctx *m, struct folder_work *w,
			    struct imap_select_req *sel, struct mf_err *err)
{
	if (imap_select_send(m->src, w->pf->src_name, 1, sel, err))
		return -1;
	return imap_flush(m->src, err);
}

static int source_open_wait(struct mbx_ctx *m, struct folder_work *w,
			    struct imap_select_req *sel, struct mf_err *err)
{
	if (imap_select_wait(m->src, sel, err))
		return -1;
	if (w->scan_uidvalidity && imap_selected_state(m->src)->uidvalidity != w->scan_uidvalidity)
		return mf_fail(err, MF_SCOPE_CONN, MF_E_DATA,
			       "the source folder %s was recreated during the sync (UIDVALIDITY "
			       "changed); starting the mailbox again",
			       w->pf->display);
	return 0;
}

static struct imap_conn *free_target(struct mbx_ctx *m, struct slot *slots, size_t nslots)
{
	for (size_t t = 0; t < m->ntgts; t++) {
		int busy = 0;

		for (size_t i = 0; i < nslots && !busy; i++)
			busy = slots[i].state == SLOT_APPENDING && slots[i].conn == m->tgts[t];
		if (!busy)
			return m->tgts[t];
	}
	return NULL;
}

struct pipe_wait {
	struct slot *slots;
	size_t nslots;
};

static int any_appended(void *aux)
{
	struct pipe_wait *p = aux;

	for (size_t i = 0; i < p->nslots; i++)
		if (slot_appended(&p->slots[i]))
			return 1;
	return 0;
}

static int all_appended(void *aux)
{
	struct pipe_wait *p = aux;

	for (size_t i = 0; i < p->nslots; i++)
		if (p->slots[i].state == SLOT_APPENDING && !slot_appended(&p->slots[i]))
			return 0;
	return 1;
}

/* The pipeline stops on an error while appends may still be in flight.  A
 * folder-level error lets them finish and records them; otherwise (or if
 * that fails too) the target connections are closed now, while the slots
 * still exist for their commands to complete into, and the error becomes a
 * connection error: the next attempt reconciles whatever arrived. */
static void abandon(struct mbx_ctx *m, struct folder_work *w, struct slot *slots, size_t nslots,
		    uint32_t *max_tgt_uid, struct mf_err *err)
{
	struct pipe_wait pw = {slots, nslots};
	struct mf_err e2;

	if (all_appended(&pw))
		return;
	if (err->scope <= MF_SCOPE_FOLDER && m->ntgts &&
	    imap_pump(m->tgts, m->ntgts, all_appended, &pw, &e2) == 0) {
		for (size_t i = 0; i < nslots; i++)
			if (slot_appended(&slots[i]) && append_finish(m, w, &slots[i], max_tgt_uid, &e2))
				goto drop;
		return;
	}
drop:
	mbx_drop_targets(m);
	mf_err_widen(err, MF_SCOPE_CONN);
}

static int copy_pipeline(struct mbx_ctx *m, struct folder_work *w, uint32_t *max_tgt_uid,
			 struct mf_err *err)
{
	struct slot slots[MBX_MAX_SLOTS] = {0};
	struct imap_conn *all[1 + MBX_MAX_TARGETS];
	size_t nslots = m->ntgts + 1, nall = 0, pos = 0;
	struct pipe_wait pw = {slots, nslots};
	int rc = 0;

	all[nall++] = m->src;
	for (size_t t = 0; t < m->ntgts; t++)
		all[nall++] = m->tgts[t];
	for (size_t i = 0; i < nslots; i++)
		slots[i].f.spool = m->spools[i];
	for (;;) {
		struct slot *free_slot = NULL;
		int busy = 0;

		for (size_t i = 0; !rc && i < nslots; i++)
			if (slot_appended(&slots[i])) {
				rc = append_finish(m, w, &slots[i], max_tgt_uid, err);
				slot_clear(&slots[i]);
			}
		for (size_t i = 0; !rc && i < nslots; i++) {
			struct imap_conn *c;

			if (slots[i].state == SLOT_FETCHED && (c = free_target(m, slots, nslots)))
				rc = append_start(m, w, &slots[i], c, err);
		}
		if (rc)
			break;
		for (size_t i = 0; i < nslots; i++) {
			busy |= slots[i].state != SLOT_FREE;
			if (!free_slot && slots[i].state == SLOT_FREE)
				free_slot = &slots[i];
		}
		if (pos < w->npending && !run_stopping(m->run) && free_slot) {
			rc = fetch_chunk(m, w, &pos, free_slot, all, nall, err);
			if (rc)
				break;
			continue;
		}
		if (!busy)
			break;
		rc = imap_pump(all + 1, nall - 1, any_appended, &pw, err);
		if (rc)
			break;
	}
	if (rc)
		abandon(m, w, slots, nslots, max_tgt_uid, err);
	for (size_t i = 0; i < nslots; i++)
		slot_clear(&slots[i]);
	if (!rc && pos < w->npending)
		return mf_fail(err, MF_SCOPE_MAILBOX, MF_E_CANCEL, "stopped");
	return rc;
}

/* Dovecot (and others) append faster into a selected mailbox: the extra
 * target connections select the folder too, but only when it has more than
 * one chunk to copy (a single chunk goes to the first connection, which has
 * it open already; real mailboxes have many small folders).  The SELECTs go
 * out together and are waited for together: one round trip. */
static int select_extra_targets(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	struct imap_select_req req[MBX_MAX_TARGETS];
	int sent[MBX_MAX_TARGETS] = {0};
	struct mf_err e;
	int rc = 0;

	if (!folder_needs_chunks(w))
		return 0;
	for (size_t t = 1; !rc && t < m->ntgts; t++) {
		rc = imap_select_send(m->tgts[t], w->pf->tgt_name, 0, &req[t], err);
		sent[t] = !rc;
		if (!rc)
			rc = imap_flush(m->tgts[t], err);
	}
	/* every SELECT sent is waited for: its req is written until then */
	for (size_t t = 1; t < m->ntgts; t++)
		if (sent[t] && imap_select_wait(m->tgts[t], &req[t], &e) && !rc) {
			*err = e;
			rc = -1;
		}
	return rc;
}

/* Opens the target folder and reconciles it with what is left to copy.  A
 * dry run only reads: EXAMINE (when the folder exists), the same matching,
 * no ledger writes; so its numbers are what a real run would copy. */
static int target_prepare(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	const struct imap_selected *sel;
	int whole;

	if (m->dry) {
		if (!w->pf->exists_on_target)
			return 0;
		if (imap_select(m->tgt, w->pf->tgt_name, 1, err))
			return -1;
	} else if (open_target(m, w->pf, err)) {
		return -1;
	} else {
		w->on_target = 1;
	}
	sel = imap_selected_state(m->tgt);
	whole = !w->row.tgt_uidvalidity;
	if (w->row.tgt_uidvalidity && w->row.tgt_uidvalidity != sel->uidvalidity) {
		if (!m->dry && remap_target(m, w, err))
			return -1;
		whole = 1;
	}
	return reconcile(m, w, whole, err);
}

int folder_copy(struct mbx_ctx *m, struct folder_work *w, struct mf_err *err)
{
	const struct imap_selected *sel;
	uint32_t max_tgt_uid = 0;

	if (w->npending) {
		struct imap_select_req src_sel;
		struct mf_err serr;
		int rc = source_open_send(m, w, &src_sel, err);

		if (!rc)
			rc = target_prepare(m, w, err);
		/* always waited for (sel is written until then); its error first */
		if (source_open_wait(m, w, &src_sel, &serr)) {
			*err = serr;
			return -1;
		}
		if (rc)
			return -1;
	} else if (target_prepare(m, w, err)) {
		return -1;
	}
	/* before the copy: what this run copies is not in the ledger yet */
	if (folder_carry_flags(m, w, err))
		return -1;
	if (m->dry)
		return read_only_pass(m, w, err);
	/* Commit where unrecorded copies could start before sending any. */
	sel = imap_selected_state(m->tgt);
	if (!w->row.tgt_uidvalidity || w->row.tgt_uidvalidity != sel->uidvalidity ||
	    !w->row.tgt_reconcile_from || w->row.tgt_reconcile_from > sel->uidnext)
		w->row.tgt_reconcile_from = sel->uidnext ? sel->uidnext : 1;
	w->row.tgt_uidvalidity = sel->uidvalidity;
	if (ledger_folder_update(m->run->ledger, &w->row, err))
		return -1;
	if (select_extra_targets(m, w, err))
		return -1;
	if (w->npending && copy_pipeline(m, w, &max_tgt_uid, err))
		return -1;
	/* Everything up to here is recorded: later crashes need only look past it. */
	if (max_tgt_uid && max_tgt_uid + 1 > w->row.tgt_reconcile_from)
		w->row.tgt_reconcile_from = max_tgt_uid + 1;
	return save_markers(m, w, err);
}
