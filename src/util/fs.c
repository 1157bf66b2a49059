/* mailferry - private files and directories */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"

static int fail_errno(struct mf_err *err, const char *what, const char *path)
{
	int e = errno;

	if (e == ELOOP)
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO,
			       "%s %s: it is a symbolic link, refusing to follow it", what, path);
	return mf_fail(err, MF_SCOPE_BATCH, e == ENOSPC || e == EDQUOT ? MF_E_NOSPC : MF_E_IO,
		       "%s %s: %s", what, path, strerror(e));
}

int fs_open_private(const char *path, int flags, struct mf_err *err)
{
	int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;

	if (fd < 0)
		return fail_errno(err, "cannot open", path);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    (st.st_mode & 077))
		fchmod(fd, 0600);
	return fd;
}

int fs_mkdir_private(const char *path, struct mf_err *err)
{
	char *p = mf_strdup(path);
	struct stat st;
	int rc = 0;

	if (!p)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	for (char *s = p + 1; *s && !rc; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0700) && errno != EEXIST)
			rc = fail_errno(err, "cannot create directory", p);
		*s = '/';
	}
	if (!rc && mkdir(p, 0700) && errno != EEXIST)
		rc = fail_errno(err, "cannot create directory", p);
	if (!rc && lstat(p, &st))
		rc = fail_errno(err, "cannot inspect", p);
	if (!rc && !S_ISDIR(st.st_mode))
		rc = mf_fail(err, MF_SCOPE_BATCH, MF_E_IO,
			     "%s is not a directory (a symbolic link or file is in the way)", p);
	if (!rc && st.st_uid != geteuid())
		rc = mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "%s belongs to another user", p);
	if (!rc && (st.st_mode & 077))
		chmod(p, 0700);
	free(p);
	return rc;
}

int fs_refuse_link(const char *path, struct mf_err *err)
{
	struct stat st;

	if (lstat(path, &st) || !S_ISLNK(st.st_mode))
		return 0;
	return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO,
		       "%s: it is a symbolic link, refusing to follow it", path);
}

int fs_read_file(const char *path, struct mf_buf *out, size_t limit, struct mf_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char chunk[65536];
	ssize_t n;

	if (fd < 0)
		return mf_fail(err, MF_SCOPE_BATCH, errno == ENOENT ? MF_E_NOTFOUND : MF_E_IO,
			       "cannot read %s: %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "cannot read %s: %s", path,
				       strerror(e));
		}
		if (out->len + (size_t)n > limit) {
			close(fd);
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_TOOBIG,
				       "%s is larger than %zu bytes", path, limit);
		}
		if (buf_append(out, chunk, (size_t)n)) {
			close(fd);
			return mf_fail_nomem(err, MF_SCOPE_BATCH);
		}
	}
	close(fd);
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, struct mf_err *err)
{
	char *tmp = mf_sprintf("%s.tmp", path);
	int fd, rc = 0;

	if (!tmp)
		return mf_fail_nomem(err, MF_SCOPE_BATCH);
	unlink(tmp);
	fd = fs_open_private(tmp, O_WRONLY | O_CREAT | O_EXCL, err);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	if (write_all(fd, data, len) || fsync(fd))
		rc = fail_errno(err, "cannot write", tmp);
	if (close(fd) && !rc)
		rc = fail_errno(err, "cannot write", tmp);
	if (!rc && rename(tmp, path))
		rc = fail_errno(err, "cannot replace", path);
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

int fs_shred(const char *path, struct mf_err *err)
{
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	char zeros[4096] = {0};
	struct stat st;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return fail_errno(err, "cannot wipe", path);
	}
	if (fstat(fd, &st) == 0)
		for (off_t done = 0; done < st.st_size; done += (off_t)sizeof(zeros))
			if (write_all(fd, zeros, sizeof(zeros)))
				break;
	fsync(fd);
	close(fd);
	if (unlink(path))
		return fail_errno(err, "cannot remove", path);
	return 0;
}

int fs_lock(const char *path, struct mf_err *err)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char pid[32] = "";
	int fd = fs_open_private(path, O_RDWR | O_CREAT, err);
	ssize_t n;

	if (fd < 0)
		return -1;
	if (fcntl(fd, F_SETLK, &fl)) {
		int e = errno;

		if (e == EACCES || e == EAGAIN) {
			n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = 0;
			pid[strcspn(pid, "\n")] = 0;
			close(fd);
			return mf_fail(err, MF_SCOPE_BATCH, MF_E_LOCKED,
				       "in use by another mailferry%s%s%s", *pid ? " (pid " : "",
				       pid, *pid ? ")" : "");
		}
		close(fd);
		return mf_fail(err, MF_SCOPE_BATCH, MF_E_IO, "cannot lock %s: %s", path,
			       strerror(e));
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, pid, strlen(pid), 0);
	return fd;
}

long fs_lock_holder(const char *path)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	long pid = -1;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fcntl(fd, F_GETLK, &fl) == 0)
		pid = fl.l_type == F_UNLCK ? 0 : (long)fl.l_pid;
	close(fd);
	return pid;
}

static char *xdg_root(const char *var, const char *fallback)
{
	const char *v = getenv(var), *home = getenv("HOME");

	/* The XDG spec says relative paths are invalid and must be ignored. */
	if (v && v[0] == '/')
		return mf_sprintf("%s/mailferry", v);
	if (!home || home[0] != '/')
		home = "/tmp";
	return mf_sprintf("%s/%s/mailferry", home, fallback);
}

char *fs_state_root(void)
{
	return xdg_root("XDG_STATE_HOME", ".local/state");
}

char *fs_config_root(void)
{
	return xdg_root("XDG_CONFIG_HOME", ".config");
}

int fs_readable_by_others(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -1;
	return (st.st_mode & 077) != 0;
}

char *fs_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	return mf_sprintf("%s%s%s", a, la && a[la - 1] == '/' ? "" : "/", b);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int fs_remove_tree(const char *path)
{
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
