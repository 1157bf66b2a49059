/* Unit tests for src/util: buffers, redaction, dates, errors, private files. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/secret.h"
#include "util/timeutil.h"

START_TEST(buf_never_grows_past_its_limit)
{
	struct mf_buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_puts(&b, "0123456789"), 0);
	ck_assert_int_eq(buf_putc(&b, 'x'), -1);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq(b.data, "0123456789");
	buf_consume(&b, 4);
	ck_assert_str_eq(b.data, "456789");
	buf_free(&b);
}
END_TEST

START_TEST(redaction_hides_every_live_secret)
{
	struct mf_secret *a = secret_new("hunter2-canary", 14);
	struct mf_secret *b = secret_new("x9", 2);
	struct mf_buf line;

	buf_init(&line, 0);
	buf_puts(&line, "LOGIN bob hunter2-canary and x9 then hunter2-canary");
	ck_assert_int_eq(secret_redact(&line), 0);
	ck_assert_str_eq(line.data, "LOGIN bob ******** and ******** then ********");
	secret_free(a);
	buf_reset(&line);
	buf_puts(&line, "hunter2-canary");
	secret_redact(&line);
	ck_assert_str_eq(line.data, "hunter2-canary"); /* freed secrets are no longer known */
	ck_assert(secret_occurs("a x9 b", 6));
	secret_free(b);
	ck_assert(!secret_occurs("a x9 b", 6));
	buf_free(&line);
}
END_TEST

START_TEST(redaction_scales_to_many_secrets)
{
	enum { N = 50000 };
	struct mf_secret **s = calloc(N, sizeof(*s));
	char pw[32];
	struct mf_buf line;

	for (int i = 0; i < N; i++) {
		snprintf(pw, sizeof(pw), "pw-%06d-canary", i);
		s[i] = secret_new(pw, strlen(pw));
	}
	buf_init(&line, 0);
	buf_puts(&line, "user 77 uses pw-000077-canary today");
	secret_redact(&line);
	ck_assert_str_eq(line.data, "user 77 uses ******** today");
	for (int i = 0; i < N; i++)
		secret_free(s[i]);
	free(s);
	buf_free(&line);
}
END_TEST

START_TEST(imap_dates_parse_with_zones)
{
	int64_t t;
	char out[40];

	ck_assert_int_eq(imap_date_parse("01-Jan-2020 10:00:00 +0000", 26, &t), 0);
	ck_assert_int_eq(t, 1577872800);
	ck_assert_int_eq(imap_date_parse(" 1-Jan-2020 12:00:00 +0200", 26, &t), 0);
	ck_assert_int_eq(t, 1577872800);
	ck_assert_int_eq(imap_date_parse("31-Dec-2019 21:00:00 -1300", 26, &t), 0);
	ck_assert_int_eq(t, 1577872800);
	ck_assert_int_eq(imap_date_parse("01-Foo-2020 10:00:00 +0000", 26, &t), -1);
	ck_assert_int_eq(imap_date_parse("01-Jan-2020 10:00:00", 20, &t), -1);
	imap_date_format(out, sizeof(out), 1577872800);
	ck_assert_str_eq(out, "01-Jan-2020 10:00:00 +0000");
}
END_TEST

START_TEST(errors_keep_scope_and_prefix)
{
	struct mf_err e;

	ck_assert_int_eq(mf_fail(&e, MF_SCOPE_MSG, MF_E_NO, "server said %s", "no"), -1);
	mf_err_prefix(&e, "INBOX: ");
	ck_assert_str_eq(e.msg, "INBOX: server said no");
	mf_err_widen(&e, MF_SCOPE_MAILBOX);
	mf_err_widen(&e, MF_SCOPE_FOLDER);
	ck_assert_int_eq(e.scope, MF_SCOPE_MAILBOX);
	ck_assert_str_eq(mf_errcode_name(MF_E_AUTH), "AUTH");
}
END_TEST

START_TEST(private_files_ignore_the_umask_and_symlinks)
{
	char dir[] = "/tmp/mf-unit-XXXXXX", path[128], link_path[128];
	struct mf_err err;
	struct stat st;
	mode_t old = umask(0);
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a/b", dir);
	ck_assert_int_eq(fs_mkdir_private(path, &err), 0);
	stat(path, &st);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/a/b/file", dir);
	fd = fs_open_private(path, O_WRONLY | O_CREAT, &err);
	ck_assert_int_ge(fd, 0);
	fstat(fd, &st);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	close(fd);
	snprintf(link_path, sizeof(link_path), "%s/a/b/link", dir);
	ck_assert_int_eq(symlink("/etc/passwd", link_path), 0);
	ck_assert_int_lt(fs_open_private(link_path, O_RDONLY, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "symbolic link"));
	umask(old);
	fs_remove_tree(dir);
	ck_assert_int_ne(access(dir, F_OK), 0);
}
END_TEST

START_TEST(lock_refuses_a_second_holder)
{
	char dir[] = "/tmp/mf-unit-XXXXXX", path[128];
	struct mf_err err;
	int fd;
	pid_t pid;
	int status;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/lock", dir);
	fd = fs_lock(path, &err);
	ck_assert_int_ge(fd, 0);
	pid = fork();
	if (pid == 0) {
		/* fcntl locks are per process: a child sees the parent's lock */
		_exit(fs_lock(path, &err) < 0 && err.code == MF_E_LOCKED ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	fs_remove_tree(dir);
}
END_TEST

START_TEST(allocation_hook_fails_from_n_on)
{
	setenv("MAILFERRY_TEST_FAIL_ALLOC", "3", 1);
	mf_mem_init_hooks();
	void *a = mf_malloc(1), *b = mf_malloc(1), *c = mf_malloc(1), *d = mf_malloc(1);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(c);
	ck_assert_ptr_null(d);
	unsetenv("MAILFERRY_TEST_FAIL_ALLOC");
	mf_mem_init_hooks();
	free(a);
	free(b);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("util");

	tcase_add_test(tc, buf_never_grows_past_its_limit);
	tcase_add_test(tc, redaction_hides_every_live_secret);
	tcase_add_test(tc, redaction_scales_to_many_secrets);
	tcase_add_test(tc, imap_dates_parse_with_zones);
	tcase_add_test(tc, errors_keep_scope_and_prefix);
	tcase_add_test(tc, private_files_ignore_the_umask_and_symlinks);
	tcase_add_test(tc, lock_refuses_a_second_holder);
	tcase_add_test(tc, allocation_hook_fails_from_n_on);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(util_suite)
