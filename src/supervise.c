/*-------------------------------------------------------------------------
 *
 * supervise.c
 *	  The launcher's cheap look, every cnpg_bootstrap.supervise_interval,
 *	  at every instance of every healthy cluster that is not hibernated:
 *	  is its postmaster alive and working in that data directory (/proc,
 *	  as instance.c checks before it signals one), and does each standby
 *	  have a WAL receiver (a child process of its postmaster)?  It opens no
 *	  connection and runs no child, so it never blocks the launcher.
 *
 *	  An instance found stopped is recorded with why it stopped (its own
 *	  log, serverlog.c) and its cluster leaves the healthy phase; a standby
 *	  without a WAL receiver at two looks in a row likewise (one look can
 *	  fall in its retry pause).  catalog.c then counts the cluster among
 *	  those needing work, and a worker's maintenance plan (reconcile.c,
 *	  lifecycle.c) starts it again.  After a restart of the control
 *	  instance (a reboot of the host), the first look finds every instance
 *	  stopped: that is how clusters come back without a re-apply.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "instance.h"
#include "journal.h"
#include "procstat.h"
#include "serverlog.h"
#include "status.h"
#include "supervise.h"

int			cb_supervise_interval = 5;

/* standbys without a WAL receiver at the last look, "cluster/instance" */
static List *not_streaming = NIL;
static TimestampTz last_look = 0;

/* does a child of postmaster pid carry the title "... walreceiver ..."? */
static bool
has_wal_receiver(pid_t postmaster)
{
	DIR		   *proc = opendir("/proc");
	struct dirent *de;
	bool		found = false;

	if (proc == NULL)
		return true;			/* cannot tell: do not act on it */
	while (!found && (de = readdir(proc)) != NULL)
	{
		pid_t		pid = (pid_t) strtol(de->d_name, NULL, 10);
		CbProcStat	ps;
		char		title[256];
		int			fd;
		ssize_t		n;

		if (pid <= 0 || !cb_proc_stat(pid, &ps) || ps.ppid != postmaster)
			continue;
		/* a server process's title replaces its argv: the cmdline has it */
		if ((fd = open(psprintf("/proc/%d/cmdline", (int) pid), O_RDONLY)) < 0)
			continue;
		n = read(fd, title, sizeof(title) - 1);
		close(fd);
		if (n <= 0)
			continue;
		title[n] = '\0';
		found = strstr(title, "walreceiver") != NULL;
	}
	closedir(proc);
	return found;
}

static bool
in_list(List *l, const char *key)
{
	ListCell   *lc;

	foreach(lc, l)
		if (strcmp(lfirst(lc), key) == 0)
			return true;
	return false;
}

static void
instance_stopped(const CbWatched *w)
{
	char	   *logdir = psprintf("%s/../log", w->pgdata);
	char	   *why = cb_serverlog_exit_reason(logdir);
	bool		primary = strcmp(w->role, "primary") == 0;

	ereport(LOG,
			(errmsg("cnpg_bootstrap: instance \"%s\" of cluster \"%s\" is not running",
					w->instance, w->cluster),
			 errdetail("Last exit: %s", why)));
	cb_status_instance_down(w->cluster, w->instance, "stopped",
							primary ? CB_PHASE_PRIMARY_RESTART : CB_PHASE_WAITING,
							psprintf("instance %s is not running; starting it again.\nLast exit: %s",
									 w->instance, why),
							why);
}

void
cb_supervise(long *nap_ms)
{
	static MemoryContext cxt = NULL;
	MemoryContext old;
	TimestampTz now = GetCurrentTimestamp();
	List	   *watched;
	List	   *missing = NIL;
	ListCell   *lc;

	if (cb_supervise_interval <= 0)
		return;
	if (last_look != 0 &&
		!TimestampDifferenceExceeds(last_look, now, cb_supervise_interval * 1000))
	{
		*nap_ms = Min(*nap_ms,
					  TimestampDifferenceMilliseconds(now,
													  TimestampTzPlusMilliseconds(last_look, cb_supervise_interval * 1000)) + 1);
		return;
	}
	last_look = now;
	*nap_ms = Min(*nap_ms, cb_supervise_interval * 1000L);

	if (cxt == NULL)
		cxt = AllocSetContextCreate(TopMemoryContext, "cnpg_bootstrap supervise",
									ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	watched = cb_status_watched_instances();
	foreach(lc, watched)
	{
		CbWatched  *w = lfirst(lc);
		int			pid = cb_instance_pid(w->pgdata);

		if (pid == 0)
			instance_stopped(w);
		else if (strcmp(w->role, "replica") == 0 && !has_wal_receiver(pid))
		{
			char	   *key = psprintf("%s/%s", w->cluster, w->instance);

			if (!in_list(not_streaming, key))
			{
				missing = lappend(missing, key);
				continue;
			}
			ereport(LOG,
					(errmsg("cnpg_bootstrap: standby \"%s\" of cluster \"%s\" is not streaming",
							w->instance, w->cluster)));
			cb_status_instance_down(w->cluster, w->instance, "not streaming", CB_PHASE_WAITING,
									psprintf("instance %s does not stream from the primary", w->instance),
									NULL);
		}
	}
	MemoryContextSwitchTo(old);

	/* kept to the next look, in the launcher's long-lived memory */
	list_free_deep(not_streaming);
	not_streaming = NIL;
	old = MemoryContextSwitchTo(TopMemoryContext);
	foreach(lc, missing)
		not_streaming = lappend(not_streaming, pstrdup(lfirst(lc)));
	MemoryContextSwitchTo(old);
	MemoryContextReset(cxt);
}
