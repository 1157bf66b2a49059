/* mailferry - secrets and the redaction table */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/secret.h"

struct mf_secret {
	struct mf_secret *prev, *next; /* redaction table: a list of live secrets */
	size_t len;
	char s[]; /* NUL-terminated */
};

#define REDACTED "********"

/* Live secrets, bucketed by their first two bytes so that redacting a line
 * costs about one bucket probe per byte however many secrets are live (a
 * 50,000-row CSV keeps 50,000 passwords alive).  One-byte secrets share the
 * last bucket. */
#define NBUCKETS (65536 + 1)
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mf_secret *buckets[NBUCKETS];
static size_t live;

static size_t bucket_of(const char *s, size_t n)
{
	if (n < 2)
		return NBUCKETS - 1;
	return (size_t)(unsigned char)s[0] << 8 | (unsigned char)s[1];
}

struct mf_secret *secret_new(const char *s, size_t n)
{
	struct mf_secret *sec = mf_malloc(sizeof(*sec) + n + 1);

	if (!sec)
		return NULL;
	memcpy(sec->s, s, n);
	sec->s[n] = 0;
	sec->len = n;
	pthread_mutex_lock(&table_lock);
	struct mf_secret **head = &buckets[bucket_of(s, n)];
	sec->prev = NULL;
	sec->next = *head;
	if (*head)
		(*head)->prev = sec;
	*head = sec;
	live++;
	pthread_mutex_unlock(&table_lock);
	return sec;
}

struct mf_secret *secret_dup(const struct mf_secret *s)
{
	return s ? secret_new(s->s, s->len) : NULL;
}

const char *secret_str(const struct mf_secret *s)
{
	return s ? s->s : "";
}

size_t secret_len(const struct mf_secret *s)
{
	return s ? s->len : 0;
}

void secret_free(struct mf_secret *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&table_lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		buckets[bucket_of(s->s, s->len)] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	live--;
	pthread_mutex_unlock(&table_lock);
	OPENSSL_cleanse(s->s, s->len);
	free(s);
}

/* Longest live secret that starts at p, or 0. Caller holds table_lock. */
static size_t match_in(const struct mf_secret *s, const char *p, size_t left, size_t best)
{
	for (; s; s = s->next)
		if (s->len && s->len <= left && s->len > best && !memcmp(p, s->s, s->len))
			best = s->len;
	return best;
}

static size_t match_at(const char *p, size_t left)
{
	size_t best = match_in(buckets[NBUCKETS - 1], p, left, 0);

	if (left >= 2)
		best = match_in(buckets[bucket_of(p, left)], p, left, best);
	return best;
}

int secret_occurs(const char *p, size_t n)
{
	int found = 0;

	pthread_mutex_lock(&table_lock);
	for (size_t i = 0; i < n && !found && live; i++)
		found = match_at(p + i, n - i) > 0;
	pthread_mutex_unlock(&table_lock);
	return found;
}

int secret_redact(struct mf_buf *b)
{
	struct mf_buf out;
	size_t i = 0, m;
	int rc = 0;

	if (!b->len)
		return 0;
	pthread_mutex_lock(&table_lock);
	if (!live) {
		pthread_mutex_unlock(&table_lock);
		return 0;
	}
	buf_init(&out, 0);
	while (i < b->len && !rc) {
		m = match_at(b->data + i, b->len - i);
		if (m) {
			rc = buf_puts(&out, REDACTED);
			i += m;
		} else {
			rc = buf_putc(&out, b->data[i++]);
		}
	}
	pthread_mutex_unlock(&table_lock);
	if (rc) {
		buf_free(&out);
		buf_reset(b);
		return -1;
	}
	buf_free(b);
	*b = out;
	return 0;
}

void secret_harden_process(void)
{
	struct rlimit rl = {0, 0};

	/* A core dump would carry every password in memory. */
	setrlimit(RLIMIT_CORE, &rl);
	umask(077);
}
