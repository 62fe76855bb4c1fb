/*-------------------------------------------------------------------------
 *
 * childreg.c
 *	  The durable record of a cluster worker's children, and the stopping
 *	  of what an earlier worker left behind.
 *
 * initdb, pg_basebackup, pg_ctl ... run in sessions of their own (so that a
 * fast shutdown of the control instance does not stop a daemon they start),
 * so nothing stops them when their worker is killed by SIGKILL: the next
 * worker of the cluster would redo the step in the same pgdata.tmp while the
 * old child still writes there.  process.c therefore records every child
 * here before it lets the child exec (the child waits on a pipe until then),
 * and the next worker kills what is recorded before any step.
 *
 * The record is one file per cluster, <control PGDATA>/cnpg_bootstrap_children/
 * <cluster> (0600, in a 0700 directory), rewritten whole (temporary file,
 * fsync, rename, fsync of the directory) whenever the set of this worker's
 * children changes.  It lives in the control instance's data directory, not
 * under data_root: it must be there before the cluster's directory is made
 * and after a teardown removed it, and data_root may change.  Only one
 * worker per cluster runs at a time (worker.c), so one writer per file.
 * Which file is this process's is set by its worker once it has claimed
 * its cluster (cb_childreg_set_scope); before that, and in any other
 * process, nothing is recorded.
 *
 * A pid alone proves nothing: it may have been recycled.  Each entry holds
 * the start time of the process (field 22 of /proc/<pid>/stat, in clock
 * ticks since boot) and the file the boot id: a process is signalled only
 * when both still match.  A child that leads its own session (setsid) is
 * killed with its whole process group; its postmaster, started by pg_ctl,
 * leads a session of its own and is never touched.  When the leader is
 * gone but members of its session remain, nothing proves they are ours:
 * they are waited for, not signalled.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "childreg.h"
#include "fsutil.h"
#include "procstat.h"
#include "waituntil.h"

#define CB_CHILDREG_DIR			"cnpg_bootstrap_children"

/* a record file is a few lines; anything bigger is not ours */
#define CB_CHILDREG_MAX_FILE	65536

/* how long the leftovers of an earlier worker may take to disappear */
#define CB_LEFTOVER_WAIT_MS		10000

typedef struct CbChildEntry
{
	pid_t		pid;
	unsigned long long start;	/* field 22 of /proc/<pid>/stat */
	bool		own_session;	/* leads its own session and group */
} CbChildEntry;

/* this worker's recorded children (TopMemoryContext) */
static CbChildEntry *entries = NULL;
static int	nentries = 0;
static int	maxentries = 0;
static char boot_id[64];

/* the cluster whose worker this is ("" outside a cluster worker) */
static char scope[NAMEDATALEN];

/* "a1b2...": the kernel's id of this boot; "" if it cannot be read */
static const char *
current_boot_id(void)
{
	if (boot_id[0] == '\0')
	{
		int			fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);

		if (fd >= 0)
		{
			ssize_t		n = read(fd, boot_id, sizeof(boot_id) - 1);

			close(fd);
			boot_id[n > 0 ? n : 0] = '\0';
			for (char *p = boot_id; *p; p++)
				if (!isxdigit((unsigned char) *p) && *p != '-')
				{
					*p = '\0';
					break;
				}
		}
		if (boot_id[0] == '\0')
			strlcpy(boot_id, "unknown", sizeof(boot_id));
	}
	return boot_id;
}

/* the process is there, not a zombie, and started when recorded */
static bool
same_process(pid_t pid, unsigned long long start, CbProcStat *ps)
{
	CbProcStat	local;

	if (ps == NULL)
		ps = &local;
	return cb_proc_stat(pid, ps) && ps->state != 'Z' && ps->start == start;
}

/*
 * A process other than a zombie whose group (or session) is id and that
 * started no earlier than start; its pid, or 0.
 */
static pid_t
find_member(pid_t id, bool by_session, unsigned long long start)
{
	DIR		   *dir = opendir("/proc");
	struct dirent *de;
	pid_t		found = 0;

	if (dir == NULL)
		return 0;
	while (found == 0 && (de = readdir(dir)) != NULL)
	{
		char	   *end;
		long		pid = strtol(de->d_name, &end, 10);
		CbProcStat	ps;

		if (*end != '\0' || pid <= 0 || !cb_proc_stat((pid_t) pid, &ps))
			continue;
		if (ps.state != 'Z' && (by_session ? ps.session : ps.pgrp) == id &&
			ps.start >= start)
			found = (pid_t) pid;
	}
	closedir(dir);
	return found;
}

/* cluster names are DNS-1123 labels; never a path */
static char *
record_path(const char *cluster, const char *suffix)
{
	int			len = strlen(cluster);

	if (len == 0 || len >= NAMEDATALEN || cluster[0] == '.' ||
		strspn(cluster, "abcdefghijklmnopqrstuvwxyz0123456789-.") != (size_t) len)
		elog(ERROR, "invalid cluster name for a child record: \"%s\"", cluster);
	return psprintf("%s/%s/%s%s", DataDir, CB_CHILDREG_DIR, cluster, suffix);
}

/*
 * Write the set of this worker's children, or remove the file when it is
 * empty.  Returns false with errno and *what set on failure; never throws.
 */
static bool
write_record(const char *path, const char *tmp, const char **what)
{
	char	   *dir = psprintf("%s/%s", DataDir, CB_CHILDREG_DIR);
	StringInfoData buf;
	int			fd;
	int			save_errno;

	if (nentries == 0)
	{
		*what = "remove";
		if (unlink(path) != 0 && errno != ENOENT)
			return false;
		return cb_fsync_dir(dir);
	}

	*what = "create directory for";
	if (mkdir(dir, S_IRWXU) != 0)
	{
		if (errno != EEXIST)
			return false;
	}
	else if (!cb_fsync_dir(DataDir))
		return false;

	initStringInfo(&buf);
	appendStringInfo(&buf, "# cnpg_bootstrap: children of the worker of this cluster; do not edit\n"
					 "boot %s\n", current_boot_id());
	for (int i = 0; i < nentries; i++)
		appendStringInfo(&buf, "child %d %llu %d\n", (int) entries[i].pid,
						 entries[i].start, entries[i].own_session ? 1 : 0);

	*what = "write";
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, S_IRUSR | S_IWUSR);
	if (fd < 0)
		return false;
	if (write(fd, buf.data, buf.len) != buf.len || fsync(fd) != 0)
	{
		save_errno = errno ? errno : ENOSPC;
		close(fd);
		unlink(tmp);
		errno = save_errno;
		return false;
	}
	if (close(fd) != 0)
		return false;
	*what = "rename";
	if (rename(tmp, path) != 0)
		return false;
	return cb_fsync_dir(dir);
}

void
cb_childreg_set_scope(const char *cluster)
{
	if (cluster == NULL)
		scope[0] = '\0';
	else
	{
		(void) record_path(cluster, "");	/* ERROR unless a plain name */
		strlcpy(scope, cluster, sizeof(scope));
	}
}

void
cb_childreg_add(pid_t pid, bool own_session)
{
	CbProcStat	ps;
	const char *what;
	char	   *path;

	if (scope[0] == '\0')
		return;
	path = record_path(scope, "");

	/* the child exists and is not reaped: its stat is there */
	if (!cb_proc_stat(pid, &ps))
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not read the start time of child process %d", (int) pid)));

	if (nentries == maxentries)
	{
		int			newmax = Max(8, maxentries * 2);

		entries = entries ?
			repalloc(entries, sizeof(CbChildEntry) * newmax) :
			MemoryContextAlloc(TopMemoryContext, sizeof(CbChildEntry) * newmax);
		maxentries = newmax;
	}
	entries[nentries].pid = pid;
	entries[nentries].start = ps.start;
	entries[nentries].own_session = own_session;
	nentries++;

	if (!write_record(path, record_path(scope, ".tmp"), &what))
	{
		int			save_errno = errno;

		nentries--;
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not %s the child record \"%s\": %m", what, path),
				 errdetail("A child process is not started unless it is recorded.")));
	}
}

void
cb_childreg_remove(pid_t pid)
{
	const char *what;
	int			i;

	for (i = 0; i < nentries; i++)
		if (entries[i].pid == pid)
			break;
	if (i == nentries || scope[0] == '\0')
		return;
	entries[i] = entries[--nentries];
	/* a stale entry is harmless: its start time no longer matches anything */
	if (!write_record(record_path(scope, ""),
					  record_path(scope, ".tmp"), &what))
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not %s the child record of cluster \"%s\": %m",
						what, scope)));
}

/*
 * The entries of a record file; *stale when it was written in another boot
 * (its start times mean nothing now).
 */
static CbChildEntry *
read_record(const char *path, int *n, bool *stale)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char	   *buf;
	ssize_t		len;
	CbChildEntry *out;
	int			max = 8;
	char	   *line;
	char	   *save;

	*n = 0;
	*stale = false;
	if (fd < 0)
	{
		if (errno == ENOENT)
			return NULL;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open the child record \"%s\": %m", path)));
	}
	buf = palloc(CB_CHILDREG_MAX_FILE + 1);
	len = read(fd, buf, CB_CHILDREG_MAX_FILE);
	close(fd);
	if (len < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read the child record \"%s\": %m", path)));
	buf[len] = '\0';

	out = palloc(sizeof(CbChildEntry) * max);
	*stale = true;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		int			pid;
		unsigned long long start;
		int			session;
		char		tail;

		if (strncmp(line, "boot ", 5) == 0)
			*stale = strcmp(line + 5, current_boot_id()) != 0;
		else if (sscanf(line, "child %d %llu %d%c", &pid, &start, &session, &tail) == 3 &&
				 pid > 1 && start > 0)
		{
			if (*n == max)
				out = repalloc(out, sizeof(CbChildEntry) * (max *= 2));
			out[*n].pid = pid;
			out[*n].start = start;
			out[*n].own_session = session != 0;
			(*n)++;
		}
	}
	return out;
}

/*
 * Something of an entry still there: the process itself (same start time),
 * a member of its group (when it led one and we signalled the group), or a
 * member of its session that started after it (leader gone).  Its pid, or 0.
 */
static pid_t
entry_remains(const CbChildEntry *e, bool group_killed)
{
	if (same_process(e->pid, e->start, NULL))
		return e->pid;
	if (group_killed)
		return find_member(e->pid, false, e->start);
	if (e->own_session)
		return find_member(e->pid, true, e->start);
	return 0;
}

/* the entries killed and the last one found still there */
typedef struct Leftovers
{
	CbChildEntry *old;
	bool	   *group_killed;
	int			n;
	pid_t		remaining;
} Leftovers;

static bool
leftovers_gone(CbWait *w, void *arg)
{
	Leftovers  *l = arg;

	l->remaining = 0;
	for (int i = 0; i < l->n && l->remaining == 0; i++)
		l->remaining = entry_remains(&l->old[i], l->group_killed[i]);
	return l->remaining == 0;
}

void
cb_childreg_stop_leftovers(const char *cluster)
{
	char	   *path = record_path(cluster, "");
	CbChildEntry *old;
	bool	   *group_killed;
	bool		stale;
	int			n;
	Leftovers	left = {0};
	CbWaitSpec	spec = {.what = "leftover processes", .timeout_ms = CB_LEFTOVER_WAIT_MS};
	const char *what;

	old = read_record(path, &n, &stale);
	if (old == NULL)
		return;

	if (stale)
	{
		ereport(LOG,
				(errmsg("cnpg_bootstrap: the child record of cluster \"%s\" is from an earlier boot; nothing of it runs",
						cluster)));
		n = 0;
	}

	group_killed = palloc0(sizeof(bool) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		CbChildEntry *e = &old[i];
		CbProcStat	ps;

		if (!same_process(e->pid, e->start, &ps))
			continue;

		/*
		 * It set up its own session before it was let run; the group is the
		 * one it leads (its postmaster, if any, leads another).
		 */
		group_killed[i] = e->own_session && ps.pgrp == e->pid;
		ereport(LOG,
				(errmsg("cnpg_bootstrap: stopped leftover process %d of an earlier worker of cluster \"%s\"%s",
						(int) e->pid, cluster,
						group_killed[i] ? " and its process group" : "")));
		(void) kill(group_killed[i] ? -e->pid : e->pid, SIGKILL);
	}

	/* they are not our children: init reaps them; wait until they are gone */
	left.old = old;
	left.group_killed = group_killed;
	left.n = n;
	if (!cb_wait_until(leftovers_gone, &left, &spec))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("process %d, left by an earlier worker of cluster \"%s\", is still running",
						(int) left.remaining, cluster),
				 errdetail("Nothing of the cluster is redone while a process of an earlier worker runs."),
				 errhint("Stop process %d; the worker is retried.", (int) left.remaining)));

	nentries = 0;				/* none of ours yet: the file goes */
	if (!write_record(path, record_path(cluster, ".tmp"), &what))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not %s the child record \"%s\": %m", what, path)));
}
