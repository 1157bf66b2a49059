/* mailferry - verification: is every source message on the target, once?
 *
 * Per folder: the identities (Message-ID or Date hash, INTERNALDATE) of all
 * source messages against those of the target folder, as multisets.  A
 * source message without a counterpart is missing (unless the ledger knows it
 * was skipped, with the server's reason); a message present more often on the
 * target than on the source is duplicated.  Messages only on the target (new
 * mail after the MX change) are normal and only counted.  Nothing is written
 * to either server; the results go to the run and to the ledger as step 7
 * check results.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "batch/ledger.h"
#include "checks.h"
#include "engine/engine_p.h"
#include "imap/ops.h"
#include "imap/session.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

struct ident {
	unsigned char h[IMAP_IDHASH_LEN];
	int64_t date;
	uint64_t size; /* 0 when the target only estimates sizes (Exchange) */
	uint32_t uid;
};

/* A message is the same when identity, INTERNALDATE and (where the target
 * reports exact sizes) size agree: two look-alikes are never counted as one. */
static int by_ident(const void *a, const void *b)
{
	const struct ident *x = a, *y = b;
	int c = memcmp(x->h, y->h, IMAP_IDHASH_LEN);

	if (c)
		return c;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size;
}

static struct ident *idents(const struct imap_msginfo *m, size_t n, const uint32_t *skip,
			    size_t nskip, int exact_sizes, size_t *out_n)
{
	struct ident *v = mf_calloc(n ? n : 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int skipped = 0;

		for (size_t s = 0; s < nskip && !skipped; s++)
			skipped = skip[s] == m[i].uid;
		if (skipped)
			continue;
		memcpy(v[k].h, m[i].idhash, IMAP_IDHASH_LEN);
		v[k].date = m[i].date;
		v[k].size = exact_sizes ? m[i].size : 0;
		v[k].uid = m[i].uid;
		k++;
	}
	qsort(v, k, sizeof(*v), by_ident);
	*out_n = k;
	return v;
}

static int same_id_date(const struct ident *a, const struct ident *b)
{
	return !memcmp(a->h, b->h, IMAP_IDHASH_LEN) && a->date == b->date;
}

/* Walks both sorted lists group by group.  Exact groups settle almost
 * everything; what is left over on each side (a source message with no exact
 * copy, target messages whose identity the source lacks) goes to *miss and
 * *extra for settle_close_sizes(). */
static int compare(const struct ident *s, size_t ns, const struct ident *t, size_t nt,
		   struct mf_verify_folder *res, struct ident **miss, size_t *nmiss,
		   struct ident **extra, size_t *nextra)
{
	size_t i = 0, j = 0;

	*miss = mf_calloc(ns ? ns : 1, sizeof(**miss));
	*extra = mf_calloc(nt ? nt : 1, sizeof(**extra));
	*nmiss = *nextra = 0;
	if (!*miss || !*extra)
		return -1;
	while (i < ns || j < nt) {
		int c = i >= ns ? 1 : j >= nt ? -1 : by_ident(&s[i], &t[j]);
		size_t cs = 0, ct = 0;
		const struct ident *key = c <= 0 ? &s[i] : &t[j];

		while (i < ns && !by_ident(&s[i], key))
			i++, cs++;
		while (j < nt && !by_ident(&t[j], key))
			j++, ct++;
		for (size_t k = ct; k < cs; k++)
			(*miss)[(*nmiss)++] = *key;
		if (cs && ct > cs)
			res->duplicates += (uint32_t)(ct - cs);
		for (size_t k = 0; !cs && k < ct; k++)
			(*extra)[(*nextra)++] = t[j - ct + k];
	}
	return 0;
}

/* The target may store a message a few bytes shorter than it was sent
 * (Dovecot turns CR CR LF into CR LF): a missing source message and a target
 * message of the same identity and date whose sizes are close are one copy;
 * further such target messages are duplicates. */
static void settle_close_sizes(struct ident *miss, size_t nmiss, struct ident *extra,
			       size_t nextra, struct mf_verify_folder *res)
{
	char *used = mf_calloc(nextra ? nextra : 1, 1), *paired = mf_calloc(nmiss ? nmiss : 1, 1);

	if (!used || !paired) { /* no memory for the second look: the exact answer */
		res->missing += (uint32_t)nmiss;
		goto out;
	}
	for (size_t i = 0; i < nmiss; i++) /* each its own copy first (twins) */
		for (size_t j = 0; !paired[i] && j < nextra; j++)
			if (!used[j] && same_id_date(&miss[i], &extra[j]) &&
			    msg_sizes_close(miss[i].size, extra[j].size))
				used[j] = paired[i] = 1;
	for (size_t i = 0; i < nmiss; i++)
		res->missing += !paired[i];
	for (size_t j = 0; j < nextra; j++) /* then what is left of those is doubled */
		for (size_t i = 0; !used[j] && i < nmiss; i++)
			if (paired[i] && same_id_date(&miss[i], &extra[j]) &&
			    msg_sizes_close(miss[i].size, extra[j].size))
				used[j] = 1, res->duplicates++;
out:
	free(used);
	free(paired);
}

static int folder_row_id(struct mbx_ctx *m, const char *src_name, int64_t *id, struct mf_err *err)
{
	struct ledger_folder *all;
	size_t n;

	*id = 0;
	if (ledger_folders(m->run->ledger, m->job->mb.id, &all, &n, err))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(all[i].src_name, src_name))
			*id = all[i].id;
	ledger_folders_free(all, n);
	return 0;
}

static void store_result(struct mbx_ctx *m, const struct mf_verify_folder *v)
{
	char id[] = "migration.verify", remedy[] = "Run a delta sync (mailferry migrate); messages "
						 "the target refused are listed as skipped with "
						 "the server's reason.";
	struct ledger_check c = {.step = 7, .id = id};
	char subject[600], title[300], detail[300];
	struct mf_err err;

	snprintf(subject, sizeof(subject), "%s %s", m->job->mb.email, v->folder);
	if (v->missing || v->duplicates) {
		c.status = CHECK_FAIL;
		snprintf(title, sizeof(title), "%s: %u missing, %u duplicated on the target", v->folder,
			 v->missing, v->duplicates);
	} else {
		c.status = CHECK_PASS;
		snprintf(title, sizeof(title), "%s: every message is on the target", v->folder);
	}
	snprintf(detail, sizeof(detail), "source %u, target %u, skipped with a reason %u",
		 v->src_count, v->tgt_count, v->skipped);
	c.subject = subject;
	c.title = title;
	c.detail = detail;
	c.remedy = v->missing ? remedy : NULL;
	if (ledger_check_put(m->run->ledger, &c, &err))
		log_warn("cannot store the verification result: %s", err.msg);
}

int folder_verify(struct mbx_ctx *m, struct plan_folder *pf, struct mf_err *err)
{
	struct imap_msginfo *src = NULL, *tgt = NULL;
	struct ident *si = NULL, *ti = NULL, *miss = NULL, *extra = NULL;
	size_t nsrc = 0, ntgt = 0, nsi = 0, nti = 0, nskip = 0, nmiss = 0, nextra = 0;
	uint32_t *skip = NULL;
	struct mf_verify_folder res = {.email = m->job->mb.email, .folder = pf->display};
	int64_t row_id;
	int rc = -1;

	if (imap_select(m->src, pf->src_name, 1, err) ||
	    (imap_selected_state(m->src)->exists &&
	     imap_fetch_meta(m->src, "1:*", 1, &src, &nsrc, err)))
		goto out;
	if (pf->exists_on_target &&
	    (imap_select(m->tgt, pf->tgt_name, 1, err) ||
	     (imap_selected_state(m->tgt)->exists &&
	      imap_fetch_meta(m->tgt, "1:*", 1, &tgt, &ntgt, err))))
		goto out;
	if (folder_row_id(m, pf->src_name, &row_id, err) ||
	    (row_id && ledger_skipped_uids(m->run->ledger, row_id, &skip, &nskip, err)))
		goto out;
	if (!(si = idents(src, nsrc, skip, nskip, !m->target_exchange, &nsi)) ||
	    !(ti = idents(tgt, ntgt, NULL, 0, !m->target_exchange, &nti))) {
		mf_fail_nomem(err, MF_SCOPE_FOLDER);
		goto out;
	}
	res.src_count = (uint32_t)nsrc;
	res.tgt_count = (uint32_t)ntgt;
	res.skipped = (uint32_t)nskip;
	if (compare(si, nsi, ti, nti, &res, &miss, &nmiss, &extra, &nextra)) {
		mf_fail_nomem(err, MF_SCOPE_FOLDER);
		goto out;
	}
	settle_close_sizes(miss, nmiss, extra, nextra, &res);
	run_add_verify(m->run, &res);
	store_result(m, &res);
	job_add_done(m->run, m->job, nsrc, 0, 0);
	if (res.missing || res.duplicates)
		rc = mf_fail(err, MF_SCOPE_FOLDER, MF_E_DATA, "%u missing, %u duplicated", res.missing,
			     res.duplicates);
	else
		rc = 0;
out:
	free(si);
	free(ti);
	free(miss);
	free(extra);
	free(skip);
	imap_msginfos_free(src, nsrc);
	imap_msginfos_free(tgt, ntgt);
	return rc;
}
