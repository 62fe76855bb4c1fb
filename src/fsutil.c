/*-------------------------------------------------------------------------
 *
 * fsutil.c
 *	  The one measurement of free space behind every free-space rule: the
 *	  cluster's storage sizes (hostlayout.c), a pg_basebackup copy
 *	  (basebackup.c), an import's dumps (import.c) and a tar extraction's
 *	  budget (tarextract.c).  Each caller keeps its own rule and its own
 *	  message; only the statvfs() arithmetic lives here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/statvfs.h>

#include "fsutil.h"

/*
 * Bytes available to an unprivileged user (f_bavail) on the file system
 * holding path, and its size when total is not NULL.  False when statvfs
 * fails: callers then skip their check, as a size they cannot measure is
 * no reason to refuse.
 */
bool
cb_fs_space(const char *path, int64 *avail, int64 *total)
{
	struct statvfs st;

	if (statvfs(path, &st) != 0)
		return false;
	*avail = (int64) st.f_bavail * (int64) st.f_frsize;
	if (total)
		*total = (int64) st.f_blocks * (int64) st.f_frsize;
	return true;
}
