/* mailferry - message bodies between FETCH and APPEND */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/spool.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"

struct spool {
	char *dir;
	size_t mem_budget, mem_item_max;
	char *mem;            /* one arena per chunk */
	size_t mem_len, mem_cap;
	int fd;               /* -1 until the first big body */
	off_t file_len;
	struct spool_item *items;
	size_t nitems, cap;
	/* the item being written */
	int writing, to_file, abandoned;
	uint64_t cur_len, cur_size;
	size_t cur_mem_off;
	off_t cur_file_off;
};

struct spool *spool_new(const char *dir, size_t mem_budget, size_t mem_item_max)
{
	struct spool *s = mf_calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = -1;
	s->mem_budget = mem_budget;
	s->mem_item_max = mem_item_max;
	if (!(s->dir = mf_strdup(dir ? dir : "/tmp"))) {
		free(s);
		return NULL;
	}
	return s;
}

void spool_free(struct spool *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->mem);
	free(s->items);
	free(s->dir);
	free(s);
}

void spool_reset(struct spool *s)
{
	s->mem_len = 0;
	s->nitems = 0;
	s->writing = 0;
	if (s->fd >= 0 && s->file_len > 0 && ftruncate(s->fd, 0) == 0)
		s->file_len = 0;
}

static int open_file(struct spool *s, struct mf_err *err)
{
	struct mf_err ignored;
	char *path;

	if (s->fd >= 0)
		return 0;
	fs_mkdir_private(s->dir, &ignored);
	/* O_TMPFILE: an inode without a name, gone when closed. */
	s->fd = open(s->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->fd >= 0)
		return 0;
	if (!(path = mf_sprintf("%s/spool-XXXXXX", s->dir)))
		return mf_fail_nomem(err, MF_SCOPE_MAILBOX);
	s->fd = mkostemp(path, O_CLOEXEC);
	if (s->fd >= 0)
		unlink(path);
	free(path);
	if (s->fd < 0)
		return mf_fail(err, MF_SCOPE_BATCH, errno == ENOSPC ? MF_E_NOSPC : MF_E_IO,
			       "cannot create a spool file in %s: %s", s->dir, strerror(errno));
	return 0;
}

int spool_begin(struct spool *s, uint64_t size, struct mf_err *err)
{
	s->writing = 1;
	s->abandoned = 0;
	s->cur_len = 0;
	s->cur_size = size;
	s->to_file = size > s->mem_item_max || s->mem_len + size > s->mem_budget;
	if (s->to_file) {
		if (open_file(s, err))
			return -1;
		s->cur_file_off = s->file_len;
		return 0;
	}
	if (s->mem_len + size > s->mem_cap) {
		size_t ncap = s->mem_budget > s->mem_len + size ? s->mem_budget : s->mem_len + size;
		char *p = mf_realloc(s->mem, ncap ? ncap : 1);

		if (!p)
			return mf_fail_nomem(err, MF_SCOPE_MAILBOX);
		/* items of this chunk point into the arena: move them along */
		for (size_t i = 0; i < s->nitems; i++)
			if (s->items[i].mem)
				s->items[i].mem = p + (s->items[i].mem - s->mem);
		s->mem = p;
		s->mem_cap = ncap;
	}
	s->cur_mem_off = s->mem_len;
	return 0;
}

static int write_file(struct spool *s, const char *data, size_t n, struct mf_err *err)
{
	while (n) {
		ssize_t w = pwrite(s->fd, data, n, s->file_len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return mf_fail(err, MF_SCOPE_BATCH, errno == ENOSPC ? MF_E_NOSPC : MF_E_IO,
				       "writing the spool file: %s", strerror(errno));
		s->file_len += w;
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

int spool_write(struct spool *s, const char *data, size_t n, struct mf_err *err)
{
	if (!s->writing || s->abandoned)
		return 0;
	if (s->cur_len + n > s->cur_size)
		return mf_fail(err, MF_SCOPE_CONN, MF_E_PROTO,
			       "the server sent more bytes than the literal announced");
	s->cur_len += n;
	if (s->to_file)
		return write_file(s, data, n, err);
	memcpy(s->mem + s->mem_len, data, n);
	s->mem_len += n;
	return 0;
}

long spool_end(struct spool *s, struct mf_err *err)
{
	struct spool_item *it;

	if (!s->writing || s->abandoned) {
		s->writing = 0;
		return -1;
	}
	s->writing = 0;
	if (mf_grow(&s->items, &s->cap, s->nitems + 1, sizeof(*s->items))) {
		mf_fail_nomem(err, MF_SCOPE_MAILBOX);
		return -1;
	}
	it = &s->items[s->nitems];
	it->len = s->cur_len;
	if (s->to_file) {
		it->mem = NULL;
		it->off = s->cur_file_off;
	} else {
		it->mem = s->mem + s->cur_mem_off;
		it->off = 0;
	}
	return (long)s->nitems++;
}

void spool_abandon(struct spool *s)
{
	if (s->writing && !s->to_file)
		s->mem_len = s->cur_mem_off;
	s->abandoned = 1;
}

const struct spool_item *spool_item(const struct spool *s, long idx)
{
	return idx >= 0 && (size_t)idx < s->nitems ? &s->items[idx] : NULL;
}

int spool_fd(const struct spool *s)
{
	return s->fd;
}

int spool_view_get(const struct spool *s, long idx, struct spool_view *v)
{
	const struct spool_item *it = spool_item(s, idx);
	long page;
	off_t base;

	memset(v, 0, sizeof(*v));
	if (!it)
		return -1;
	v->len = it->len;
	if (it->mem || !it->len) {
		v->data = it->mem ? it->mem : "";
		return 0;
	}
	/* mmap wants a page-aligned offset; pwrite and mmap share the page cache */
	page = sysconf(_SC_PAGESIZE);
	base = it->off - it->off % (page > 0 ? page : 4096);
	if ((uint64_t)(it->off - base) + it->len > SIZE_MAX)
		return -1;
	v->map_len = (size_t)(it->off - base) + (size_t)it->len;
	v->map = mmap(NULL, v->map_len, PROT_READ, MAP_SHARED, s->fd, base);
	if (v->map == MAP_FAILED) {
		v->map = NULL;
		return -1;
	}
	v->data = (const char *)v->map + (it->off - base);
	return 0;
}

void spool_view_release(struct spool_view *v)
{
	if (v->map)
		munmap(v->map, v->map_len);
	memset(v, 0, sizeof(*v));
}
