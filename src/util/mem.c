/* mailferry - checked allocation with a fail-at-N test hook */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

static atomic_ulong alloc_calls;
static unsigned long fail_at;   /* 0: hook off */
static int fail_once;
static void (*fatal_handler)(void);

void mf_mem_init_hooks(void)
{
	const char *v = getenv("MAILFERRY_TEST_FAIL_ALLOC");
	const char *once = getenv("MAILFERRY_TEST_FAIL_ALLOC_ONCE");

	fail_at = v ? strtoul(v, NULL, 10) : 0;
	fail_once = once && *once == '1';
	atomic_store(&alloc_calls, 0);
}

static int should_fail(void)
{
	unsigned long n;

	if (!fail_at)
		return 0;
	n = atomic_fetch_add(&alloc_calls, 1) + 1;
	return fail_once ? n == fail_at : n >= fail_at;
}

void *mf_malloc(size_t n)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc(n ? n : 1);
}

void *mf_calloc(size_t nmemb, size_t size)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return calloc(nmemb ? nmemb : 1, size ? size : 1);
}

void *mf_realloc(void *p, size_t n)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n ? n : 1);
}

int mf_grow(void *arr_ptr, size_t *cap, size_t need, size_t elsize)
{
	void **arr = arr_ptr;
	size_t ncap = *cap ? *cap : 8;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elsize)
		return -1;
	p = mf_realloc(*arr, ncap * elsize);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

char *mf_strndup(const char *s, size_t n)
{
	char *d = mf_malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

char *mf_strdup(const char *s)
{
	return s ? mf_strndup(s, strlen(s)) : NULL;
}

char *mf_vsprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *s;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	s = mf_malloc((size_t)n + 1);
	if (!s)
		return NULL;
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *mf_sprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = mf_vsprintf(fmt, ap);
	va_end(ap);
	return s;
}

void mf_freep(void *pp)
{
	void **p = pp;

	free(*p);
	*p = NULL;
}

void mf_mem_set_fatal_handler(void (*fn)(void))
{
	fatal_handler = fn;
}

static void *must(void *p)
{
	if (!p) {
		if (fatal_handler)
			fatal_handler();
		fputs("mailferry: out of memory; nothing was lost, the batch can be resumed\n",
		      stderr);
		exit(1);
	}
	return p;
}

void *xmalloc(size_t n)
{
	return must(mf_malloc(n));
}

void *xcalloc(size_t nmemb, size_t size)
{
	return must(mf_calloc(nmemb, size));
}

char *xstrdup(const char *s)
{
	return must(mf_strdup(s ? s : ""));
}

char *xsprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = mf_vsprintf(fmt, ap);
	va_end(ap);
	return must(s);
}
