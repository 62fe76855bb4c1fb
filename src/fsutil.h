/*-------------------------------------------------------------------------
 *
 * fsutil.h
 *	  File-system helpers that know nothing of clusters (fsutil.c): make a
 *	  directory, write or read a whole file, measure free space.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_FSUTIL_H
#define CB_FSUTIL_H

#include <sys/types.h>

extern bool cb_fs_space(const char *path, int64 *avail, int64 *total);

/* a directory and its parents; the directory itself made or set 0700 */
extern void cb_mkdir_p(const char *path);
/* write a whole file: temp name, fsync, rename; mode 0600 or 0644 */
extern void cb_write_file(const char *path, const char *content, size_t len,
						  mode_t mode);
extern void cb_write_file_ext(const char *path, const char *content, size_t len,
							  mode_t mode, bool durable);
/* the whole file (palloc'd, NUL-terminated), or NULL with errno */
extern char *cb_read_file(const char *path, size_t *len);
extern char *cb_read_file_tail(const char *path, size_t max, size_t *len);
extern bool cb_path_exists(const char *path);
/* fsync a directory after a rename or unlink in it; never throws, false with errno */
extern bool cb_fsync_dir(const char *path);

#endif							/* CB_FSUTIL_H */
