/* mailferry - checked allocation
 *
 * Every allocation in the engine layers goes through these functions and every
 * caller handles NULL: running out of memory fails the operation (a message, a
 * mailbox) with MF_E_NOMEM, never the process.  The UI layer may use the x*
 * variants, which restore the terminal and exit cleanly instead.
 *
 * Test hook: when the environment variable MAILFERRY_TEST_FAIL_ALLOC=N is set,
 * the N-th call (counting from 1) and every later one made through mf_malloc &
 * co. fail, so a test can walk N over a whole scenario.  Set
 * MAILFERRY_TEST_FAIL_ALLOC_ONCE=1 to fail only the N-th call.
 */
#ifndef MF_UTIL_MEM_H
#define MF_UTIL_MEM_H

#include <stddef.h>
#include <stdarg.h>

void *mf_malloc(size_t n);
void *mf_calloc(size_t nmemb, size_t size);
/* Like realloc(3), but on failure the old block is left untouched. */
void *mf_realloc(void *p, size_t n);
/* Grows an array: *arr holds *cap elements of elsize; ensures room for need. */
int mf_grow(void *arr_ptr, size_t *cap, size_t need, size_t elsize);
char *mf_strdup(const char *s);
char *mf_strndup(const char *s, size_t n);
/* asprintf into a fresh string; NULL on failure. */
char *mf_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *mf_vsprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* free() that also NULLs the pointer: mf_freep(&p). */
void mf_freep(void *pp);

/* Re-reads the test hook from the environment (called once from main). */
void mf_mem_init_hooks(void);

/* Abort-free "must have" variants for the UI layer only: on failure they call
 * the registered fatal handler (the UI restores the terminal) and exit(1). */
void mf_mem_set_fatal_handler(void (*fn)(void));
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xsprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
