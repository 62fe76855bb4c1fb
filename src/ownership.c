/*-------------------------------------------------------------------------
 *
 * ownership.c
 *	  What the worker may create, stop and remove on the host.
 *
 * The worker runs as the control instance's OS user, which can also remove
 * the control's own data directory and any other cluster of that user.  So
 * it only ever creates, stops or removes a cluster directory that is
 * exactly <data_root in force>/<cluster>, and only once it has proved it
 * made it:
 *
 * - data_root (resolved with realpath) must neither be, contain nor be
 *   inside the control's data directory, nor be inside any directory that
 *   holds a PG_VERSION (another server's data directory);
 * - a cluster directory is created under a temporary name with our marker
 *   file (.cnpg_bootstrap, 0600: this control's system identifier, the
 *   cluster's name and the directory's own resolved path) and renamed into
 *   place without replacing anything, so a directory either carries the
 *   marker or was not made by us; one that exists without it is refused;
 * - before any stop or removal the marker is checked again, with the
 *   directory's resolved path against the data_root in force, and no
 *   PG_VERSION may sit at its top or one level down (our data directories
 *   are <instance>/pgdata, never there).
 *
 * The marker keeps a random directory, a copy moved elsewhere or another
 * control's directory from qualifying; it is not meant to resist someone
 * who can already write files as this OS user.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xlog.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/fd.h"

#include "cnpg_bootstrap.h"
#include "fsutil.h"
#include "ownership.h"
#include "process.h"

#define MARKER_MAX 4096

bool
cb_path_within(const char *path, const char *dir)
{
	size_t		n = strlen(dir);

	/* "/" contains everything; otherwise a prefix ending at a component */
	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* the first directory from path up to / that holds a PG_VERSION, or NULL */
static char *
inside_a_pgdata(const char *path)
{
	char	   *dir = pstrdup(path);

	for (;;)
	{
		struct stat st;
		char	   *f = psprintf("%s/PG_VERSION", strcmp(dir, "/") == 0 ? "" : dir);

		if (lstat(f, &st) == 0)
			return dir;
		if (strcmp(dir, "/") == 0)
			return NULL;
		get_parent_directory(dir);
		if (dir[0] == '\0')
			strcpy(dir, "/");
	}
}

char *
cb_data_root_problem(char *resolved, bool create)
{
	char		data[PATH_MAX];
	char	   *pgdata;

	if (cb_data_root == NULL || cb_data_root[0] == '\0')
		return pstrdup("cnpg_bootstrap.data_root is not set");
	if (!is_absolute_path(cb_data_root))
		return psprintf("cnpg_bootstrap.data_root \"%s\" is not an absolute path", cb_data_root);
	if (realpath(DataDir, data) == NULL)
		return psprintf("could not resolve the control instance's data directory \"%s\": %m",
						DataDir);
	if (create && realpath(cb_data_root, resolved) == NULL)
	{
		/* made only where its nearest existing ancestor passes the checks */
		char		anc[PATH_MAX];

		strlcpy(anc, cb_data_root, sizeof(anc));
		while (realpath(anc, resolved) == NULL && strcmp(anc, "/") != 0)
		{
			get_parent_directory(anc);
			if (anc[0] == '\0')
				strcpy(anc, "/");
		}
		if (cb_path_within(resolved, data) || inside_a_pgdata(resolved) != NULL)
			return psprintf("cnpg_bootstrap.data_root \"%s\" would be inside \"%s\", a PostgreSQL data directory",
							cb_data_root, cb_path_within(resolved, data) ? data :
							inside_a_pgdata(resolved));
		if (pg_mkdir_p(pstrdup(cb_data_root), S_IRWXU) != 0 && errno != EEXIST)
			return psprintf("could not create cnpg_bootstrap.data_root \"%s\": %m", cb_data_root);
	}
	if (realpath(cb_data_root, resolved) == NULL)
		return psprintf("could not resolve cnpg_bootstrap.data_root \"%s\": %m", cb_data_root);
	if (cb_path_within(resolved, data))
		return psprintf("cnpg_bootstrap.data_root \"%s\" is inside the control instance's data directory \"%s\"",
						cb_data_root, data);
	if (cb_path_within(data, resolved))
		return psprintf("cnpg_bootstrap.data_root \"%s\" contains the control instance's data directory \"%s\"",
						cb_data_root, data);
	if ((pgdata = inside_a_pgdata(resolved)) != NULL)
		return psprintf("cnpg_bootstrap.data_root \"%s\" is inside \"%s\", which holds a PostgreSQL data directory (PG_VERSION)",
						cb_data_root, pgdata);
	return NULL;
}

void
cb_check_data_root(char *resolved)
{
	char	   *problem = cb_data_root_problem(resolved, true);

	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", problem),
				 errhint("Set cnpg_bootstrap.data_root to a directory of its own, owned by the server's OS user, outside every PostgreSQL data directory, and reload.")));
	if (chmod(resolved, S_IRWXU) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not set permissions of \"%s\": %m", resolved)));
}

static char *
marker_content(const char *dir, const char *cluster)
{
	return psprintf("cnpg_bootstrap cluster directory\n"
					"system_identifier: " UINT64_FORMAT "\n"
					"cluster: %s\n"
					"directory: %s\n",
					GetSystemIdentifier(), cluster, dir);
}

/*
 * NULL if dir is a directory of ours carrying our marker for cluster and
 * no data directory we did not create; else why not.
 */
static char *
marker_problem(const char *dir, const char *cluster)
{
	struct stat st;
	char	   *path = psprintf("%s/%s", dir, CB_OWNERSHIP_MARKER);
	char		buf[MARKER_MAX];
	ssize_t		n;
	int			fd;
	DIR		   *d;
	struct dirent *de;
	char	   *expected = marker_content(dir, cluster);

	if (lstat(dir, &st) != 0)
		return psprintf("could not stat \"%s\": %m", dir);
	if (!S_ISDIR(st.st_mode))
		return psprintf("\"%s\" is not a directory", dir);
	if (st.st_uid != geteuid())
		return psprintf("\"%s\" is not owned by the server's OS user", dir);

	/* O_NOFOLLOW: a symlink named like the marker does not count */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return psprintf("\"%s\" has no ownership marker %s of this control instance",
						dir, CB_OWNERSHIP_MARKER);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		(st.st_mode & 0777) != 0600 || st.st_size >= MARKER_MAX ||
		(n = read(fd, buf, sizeof(buf) - 1)) < 0)
	{
		close(fd);
		return psprintf("the ownership marker %s of \"%s\" is not a 0600 file of the server's OS user",
						CB_OWNERSHIP_MARKER, dir);
	}
	close(fd);
	buf[n] = '\0';
	if (strcmp(buf, expected) != 0)
		return psprintf("the ownership marker %s of \"%s\" was not written by this control instance for cluster \"%s\" in this directory",
						CB_OWNERSHIP_MARKER, dir, cluster);

	/* our data directories are <instance>/pgdata, never here or one below */
	if (lstat(psprintf("%s/PG_VERSION", dir), &st) == 0)
		return psprintf("\"%s\" is a PostgreSQL data directory we did not create", dir);
	if ((d = opendir(dir)) == NULL)
		return psprintf("could not open directory \"%s\": %m", dir);
	while ((de = readdir(d)) != NULL)
	{
		char	   *f = psprintf("%s/%s/PG_VERSION", dir, de->d_name);

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (lstat(f, &st) == 0)
		{
			closedir(d);
			return psprintf("\"%s/%s\" is a PostgreSQL data directory we did not create",
							dir, de->d_name);
		}
	}
	closedir(d);
	return NULL;
}

/* a leftover of an interrupted creation: our marker at most, then empty */
static void
remove_creation_leftover(const char *tmp)
{
	struct stat st;

	if (lstat(tmp, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode) && st.st_uid == geteuid())
	{
		(void) unlink(psprintf("%s/%s", tmp, CB_OWNERSHIP_MARKER));
		(void) unlink(psprintf("%s/%s.tmp", tmp, CB_OWNERSHIP_MARKER));
		if (rmdir(tmp) == 0)
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_FILE),
			 errmsg("\"%s\" exists and is not an empty directory left by cnpg_bootstrap", tmp),
			 errhint("Remove it by hand if it is not needed.")));
}

void
cb_owned_dir_create(const char *dir, const char *cluster)
{
	struct stat st;
	char		parent[PATH_MAX];
	char	   *tmp;
	char	   *problem;
	char	   *content;

	if (lstat(dir, &st) == 0)
	{
		if ((problem = marker_problem(dir, cluster)) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_FILE),
					 errmsg("directory \"%s\" exists and was not created by cnpg_bootstrap", dir),
					 errdetail("%s.", problem),
					 errhint("Move it away or choose another cnpg_bootstrap.data_root or cluster name; cnpg_bootstrap never adopts a directory it did not create.")));
		return;
	}
	if (errno != ENOENT)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat \"%s\": %m", dir)));

	/* made whole under a temporary name, then renamed without replacing */
	strlcpy(parent, dir, sizeof(parent));
	get_parent_directory(parent);
	tmp = psprintf("%s/.%s.new", parent, cluster);
	remove_creation_leftover(tmp);
	if (mkdir(tmp, S_IRWXU) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", tmp)));
	content = marker_content(dir, cluster);
	cb_write_file(psprintf("%s/%s", tmp, CB_OWNERSHIP_MARKER), content, strlen(content), 0600);
	fsync_fname(tmp, true);
	/*
	 * A filesystem without RENAME_NOREPLACE gets rename(), which can replace
	 * at most an empty directory made since the lstat() above.
	 */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE) != 0 &&
		(errno != EINVAL || rename(tmp, dir) != 0))
	{
		int			save = errno;

		remove_creation_leftover(tmp);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", dir)));
	}
	fsync_fname(parent, true);
}

char *
cb_owned_dir_refusal(const char *dir, const char *cluster)
{
	char		root[PATH_MAX];
	char		resolved[PATH_MAX];
	char	   *problem;
	char	   *expected;

	if ((problem = cb_data_root_problem(root, false)) != NULL)
		return problem;
	if (realpath(dir, resolved) == NULL)
		return psprintf("could not resolve \"%s\": %m", dir);
	expected = psprintf("%s/%s", root, cluster);
	if (strcmp(resolved, expected) != 0 || strcmp(dir, resolved) != 0)
		return psprintf("\"%s\" is not \"%s\" under the cnpg_bootstrap.data_root in force",
						dir, expected);
	return marker_problem(dir, cluster);
}

bool
cb_owned_dir_remove(const char *dir)
{
	DIR		   *d;
	struct dirent *de;
	List	   *entries = NIL;
	ListCell   *lc;

	/* names first: no removal while the directory is being read */
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
			strcmp(de->d_name, CB_OWNERSHIP_MARKER) != 0)
			entries = lappend(entries, psprintf("%s/%s", dir, de->d_name));
	closedir(d);
	foreach(lc, entries)
		if (!cb_rmtree(lfirst(lc)))
			return false;

	/* the marker goes last: a removal cut short can be taken up again */
	if (unlink(psprintf("%s/%s", dir, CB_OWNERSHIP_MARKER)) != 0 && errno != ENOENT)
		return false;
	return rmdir(dir) == 0 || errno == ENOENT;
}
