/*-------------------------------------------------------------------------
 *
 * fsutil.c
 *	  Small file-system helpers with no knowledge of clusters: directories
 *	  made 0700, whole files written durably (temporary name, fsync,
 *	  rename), whole files read, existence, and the one measurement of free
 *	  space behind every free-space rule: the cluster's storage sizes
 *	  (hostlayout.c), a pg_basebackup copy (basebackup.c), an import's dumps
 *	  (import.c) and a tar extraction's budget (tarextract.c).  Each caller
 *	  keeps its own rule and its own message; only the statvfs() arithmetic
 *	  lives here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "storage/fd.h"

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

void
cb_mkdir_p(const char *path)
{
	if (pg_mkdir_p(pstrdup(path), S_IRWXU) != 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", path)));
	if (chmod(path, S_IRWXU) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not set permissions of \"%s\": %m", path)));
}

void
cb_write_file(const char *path, const char *content, size_t len, mode_t mode)
{
	cb_write_file_ext(path, content, len, mode, true);
}

/*
 * durable: fsync the file and the rename.  Files written into a data
 * directory that is synced or renamed as a whole afterwards need not pay
 * for that one by one.
 */
void
cb_write_file_ext(const char *path, const char *content, size_t len, mode_t mode,
				  bool durable)
{
	char	   *tmp = psprintf("%s.tmp", path);
	int			fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", tmp)));
	if (fchmod(fd, mode) != 0 ||
		write(fd, content, len) != (ssize_t) len ||
		(durable && pg_fsync(fd) != 0))
	{
		int			save = errno;

		close(fd);
		unlink(tmp);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", tmp)));
	}
	close(fd);
	if (!durable)
	{
		if (rename(tmp, path) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not rename \"%s\": %m", tmp)));
		return;
	}
	if (durable_rename(tmp, path, ERROR) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename \"%s\": %m", tmp)));
}

char *
cb_read_file(const char *path, size_t *len)
{
	int			fd = open(path, O_RDONLY);
	StringInfoData buf;
	char		chunk[8192];
	ssize_t		n;

	if (fd < 0)
		return NULL;
	initStringInfo(&buf);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		appendBinaryStringInfo(&buf, chunk, n);
	close(fd);
	if (len)
		*len = buf.len;
	return buf.data;
}

/* the last max bytes of a file (all of it if smaller), NUL-terminated; NULL with errno */
char *
cb_read_file_tail(const char *path, size_t max, size_t *len)
{
	int			fd = open(path, O_RDONLY);
	struct stat st;
	size_t		n;
	char	   *buf;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0)
	{
		close(fd);
		return NULL;
	}
	n = Min((size_t) st.st_size, max);
	buf = palloc(n + 1);
	if (pg_pread(fd, buf, n, st.st_size - n) != (ssize_t) n)
	{
		int			save_errno = errno;

		close(fd);
		pfree(buf);
		errno = save_errno;
		return NULL;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* fsync a directory (after a rename or unlink in it); false with errno */
bool
cb_fsync_dir(const char *path)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	int			rc;
	int			save_errno;

	if (fd < 0)
		return false;
	rc = fsync(fd);
	save_errno = errno;
	close(fd);
	errno = save_errno;
	return rc == 0;
}

bool
cb_path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}
