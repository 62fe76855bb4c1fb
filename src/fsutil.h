/*-------------------------------------------------------------------------
 *
 * fsutil.h
 *	  Measuring a file system's free space (fsutil.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_FSUTIL_H
#define CB_FSUTIL_H

extern bool cb_fs_space(const char *path, int64 *avail, int64 *total);

#endif							/* CB_FSUTIL_H */
