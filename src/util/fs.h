/* mailferry - files and directories that hold batch state
 *
 * Everything mailferry creates is private: directories 0700, files 0600,
 * whatever the umask, and a symlink planted where a state file is expected is
 * refused rather than followed (O_NOFOLLOW).
 */
#ifndef MF_UTIL_FS_H
#define MF_UTIL_FS_H

#include <stddef.h>

struct mf_buf;
struct mf_err;

/* open(2) with O_NOFOLLOW|O_CLOEXEC and mode 0600 (re-applied on files we
 * create).  Returns the fd or -1 with err filled (scope BATCH). */
int fs_open_private(const char *path, int flags, struct mf_err *err);
/* mkdir -p, each directory we create 0700; the last one must be a real
 * directory we own (not a symlink).  0 or -1. */
int fs_mkdir_private(const char *path, struct mf_err *err);
/* 0 when path does not exist or is not a symbolic link; otherwise -1 with
 * "PATH: it is a symbolic link, refusing to follow it" (for files opened by
 * code that cannot say O_NOFOLLOW, such as SQLite's WAL and journal). */
int fs_refuse_link(const char *path, struct mf_err *err);
/* Reads a whole file (at most limit bytes, else MF_E_TOOBIG). */
int fs_read_file(const char *path, struct mf_buf *out, size_t limit, struct mf_err *err);
/* Writes data to path.tmp, fsyncs, renames over path. */
int fs_write_atomic(const char *path, const void *data, size_t len, struct mf_err *err);
/* Overwrites a file with zeros, fsyncs and unlinks it (credential clean-up). */
int fs_shred(const char *path, struct mf_err *err);
/* Takes an exclusive lock on path (created 0600) and writes our pid into it.
 * Returns the fd (keep it open while the lock is needed) or -1; MF_E_LOCKED
 * when another process holds it, with its pid in the message. */
int fs_lock(const char *path, struct mf_err *err);
/* The pid holding the lock on path, 0 when nobody holds it (the lock is only
 * tested, never taken), -1 when the file cannot be opened. */
long fs_lock_holder(const char *path);
/* $XDG_STATE_HOME/mailferry or ~/.local/state/mailferry (malloc'd). */
char *fs_state_root(void);
/* $XDG_CONFIG_HOME/mailferry or ~/.config/mailferry (malloc'd). */
char *fs_config_root(void);
/* Whether a file's mode lets group or others read it. -1 if it can't be stat'ed. */
int fs_readable_by_others(const char *path);
/* rm -rf that never follows symlinks. 0 or -1. */
int fs_remove_tree(const char *path);
/* Joins two path parts (malloc'd). */
char *fs_join(const char *a, const char *b);

#endif
