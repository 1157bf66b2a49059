/* mailferry - where fetched message bodies wait for their APPEND
 *
 * A spool holds the bodies of one chunk of messages.  Small bodies stay in
 * memory while the chunk's memory budget lasts; the others are streamed into
 * one temporary file in the batch's spool directory, created 0600 and
 * unlinked at once (nothing is left behind, whatever happens to the process).
 * So a worker's memory is bounded by the budget, whatever the message sizes.
 *
 * Usage per chunk: spool_reset(), then for each body spool_begin(size),
 * spool_write()*, spool_end() -> an item index; the items stay valid until the
 * next spool_reset().
 */
#ifndef MF_ENGINE_SPOOL_H
#define MF_ENGINE_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mf_err;

struct spool_item {
	const char *mem; /* borrowed from the spool, or NULL when in the file */
	off_t off;       /* in the spool file when mem is NULL */
	uint64_t len;
};

struct spool;

/* dir: where the temporary file goes (created lazily); mem_budget: bytes kept
 * in memory per chunk; mem_item_max: larger bodies always go to the file. */
struct spool *spool_new(const char *dir, size_t mem_budget, size_t mem_item_max);
void spool_free(struct spool *s);
void spool_reset(struct spool *s);

int spool_begin(struct spool *s, uint64_t size, struct mf_err *err);
int spool_write(struct spool *s, const char *data, size_t n, struct mf_err *err);
/* Returns the index of the finished item, or -1. */
long spool_end(struct spool *s, struct mf_err *err);
/* Drops the item being written (a body we will not copy). */
void spool_abandon(struct spool *s);

const struct spool_item *spool_item(const struct spool *s, long idx);
int spool_fd(const struct spool *s);
/* An item's bytes readable in place (to find its header, say): borrowed from
 * memory, or mapped read-only from the file, so a 60 MB body costs no heap.
 * Valid until spool_view_release(), which every successful spool_view_get()
 * needs; the spool must not be reset in between. */
struct spool_view {
	const char *data;
	uint64_t len;
	void *map;       /* owned mapping, NULL for a memory item */
	size_t map_len;
};
int spool_view_get(const struct spool *s, long idx, struct spool_view *v);
void spool_view_release(struct spool_view *v);

#endif
