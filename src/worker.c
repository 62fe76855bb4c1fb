/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The launcher and the per-cluster background workers.
 *
 * One static launcher watches the catalog and the instances of healthy
 * clusters (supervise.c) and starts one dynamic worker per cluster that
 * needs work (bootstrap, restart, re-applied spec, hibernation, teardown), at most
 * cnpg_bootstrap.max_workers at once.  SQL functions never run a step
 * themselves: they store and set the launcher's latch at commit.  Each
 * dynamic worker runs reconcile.c's plan for its cluster and exits.
 *
 * Shared memory holds the launcher's latch and a registry with one entry
 * per cluster that has (or just had) a worker: the pid of the worker that
 * claimed it, so that two workers never run the same cluster's plan (a
 * worker that finds a live one exits at once) and a restarted launcher
 * does not start a second one; and the backoff of a cluster whose workers
 * keep ending without finishing (1 s, doubling up to 5 minutes, reset when
 * a run finishes or anything is applied or deleted), so that a failing
 * worker is never relaunched in a tight loop.  cnpg_bootstrap_delete()
 * finds the worker to stop there too.  After a crash of the control
 * instance shared memory starts empty, and so does every worker.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "cnpg_bootstrap.h"
#include "catalog.h"
#include "childreg.h"
#include "reconcile.h"
#include "spare_worker.h"
#include "supervise.h"
#include "worker.h"

#define CB_MAX_SLOTS		64		/* workers one launcher tracks */
#define CB_MAX_ENTRIES		256		/* clusters in the shared registry */
#define CB_LAUNCHER_NAP_MS	2000

/* backoff of a cluster whose workers end without finishing */
#define CB_BACKOFF_FIRST_MS	1000
#define CB_BACKOFF_MAX_MS	(300 * 1000)

/* a registered worker that has not claimed its cluster after this is lost */
#define CB_LAUNCH_PENDING_MS (60 * 1000)

/* one cluster in the shared registry; protected by CbShared.lock */
typedef struct CbClusterEntry
{
	bool		in_use;
	char		cluster[NAMEDATALEN];
	pid_t		pid;			/* the worker that claimed it, 0 if none */
	TimestampTz launch_pending; /* a worker was registered for it and has
								 * not claimed it yet; 0 if none */
	bool		ended;			/* a worker of it ended (or never started);
								 * not yet judged by the launcher */
	bool		stop_requested; /* cnpg_bootstrap_delete stopped it */
	int			failures;		/* consecutive runs that did not finish */
	TimestampTz next_start;		/* no worker before this (backoff) */
} CbClusterEntry;

typedef struct CbShared
{
	slock_t		mutex;			/* launcher_latch */
	Latch	   *launcher_latch;
	LWLock	   *lock;			/* entries */
	CbClusterEntry entries[CB_MAX_ENTRIES];
} CbShared;

static CbShared *cb_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

const char *cb_worker_cluster = NULL;

/* state of the commit-time actions of this backend's transaction */
static bool xact_callback_registered = false;
static bool wake_at_commit = false;
static List *stop_at_commit = NIL;	/* StopRequests, in TopTransactionContext */

/* a delete's stop, owned by the subtransaction that asked for it */
typedef struct StopRequest
{
	char	   *cluster;
	SubTransactionId subid;
} StopRequest;

/* launcher-local: the dynamic workers it started */
typedef struct LaunchedWorker
{
	char		cluster[NAMEDATALEN];
	BackgroundWorkerHandle *handle;
} LaunchedWorker;

static LaunchedWorker launched[CB_MAX_SLOTS];

static void
cb_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(CbShared)));
	RequestNamedLWLockTranche("cnpg_bootstrap", 1);
}

static void
cb_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	cb_shared = ShmemInitStruct("cnpg_bootstrap", sizeof(CbShared), &found);
	if (!found)
	{
		memset(cb_shared, 0, sizeof(CbShared));
		SpinLockInit(&cb_shared->mutex);
		cb_shared->lock = &(GetNamedLWLockTranche("cnpg_bootstrap"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
cb_worker_init(void)
{
	BackgroundWorker worker;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = cb_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = cb_shmem_startup;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "cnpg_bootstrap");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "cb_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "cnpg_bootstrap launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "cnpg_bootstrap launcher");
	RegisterBackgroundWorker(&worker);
}

/* ---------- commit-time wake-ups from SQL functions ---------- */

static void
cb_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (cb_shared != NULL && (stop_at_commit != NIL || wake_at_commit))
			{
				LWLockAcquire(cb_shared->lock, LW_EXCLUSIVE);
				foreach(lc, stop_at_commit)
				{
					const char *name = ((StopRequest *) lfirst(lc))->cluster;

					for (int i = 0; i < CB_MAX_ENTRIES; i++)
					{
						CbClusterEntry *e = &cb_shared->entries[i];

						if (e->in_use && e->pid != 0 && strcmp(e->cluster, name) == 0)
						{
							e->stop_requested = true;
							kill(e->pid, SIGTERM);
						}
					}
				}
				/* something was applied or deleted: whatever failed is retried now */
				for (int i = 0; i < CB_MAX_ENTRIES; i++)
				{
					cb_shared->entries[i].failures = 0;
					cb_shared->entries[i].next_start = 0;
				}
				LWLockRelease(cb_shared->lock);

				SpinLockAcquire(&cb_shared->mutex);
				if (wake_at_commit && cb_shared->launcher_latch)
					SetLatch(cb_shared->launcher_latch);
				SpinLockRelease(&cb_shared->mutex);
			}
			/* FALLTHROUGH */
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			wake_at_commit = false;
			stop_at_commit = NIL;	/* its memory goes with the transaction */
			break;
		default:
			break;
	}
}

/*
 * A subtransaction rolled back takes its deletes' stops with it (ROLLBACK TO
 * SAVEPOINT, an exception block); one committed hands them to its parent.
 */
static void
cb_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	foreach(lc, stop_at_commit)
	{
		StopRequest *req = lfirst(lc);

		if (req->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			stop_at_commit = foreach_delete_current(stop_at_commit, lc);
		else if (event == SUBXACT_EVENT_COMMIT_SUB)
			req->subid = parentSubid;
	}
}

static void
ensure_xact_callback(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(cb_xact_callback, NULL);
		RegisterSubXactCallback(cb_subxact_callback, NULL);
		xact_callback_registered = true;
	}
}

void
cb_wake_launcher_at_commit(void)
{
	ensure_xact_callback();
	wake_at_commit = true;
}

void
cb_stop_cluster_worker_at_commit(const char *cluster)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	StopRequest *req;

	ensure_xact_callback();
	req = palloc(sizeof(StopRequest));
	req->cluster = pstrdup(cluster);
	req->subid = GetCurrentSubTransactionId();
	stop_at_commit = lappend(stop_at_commit, req);
	wake_at_commit = true;
	MemoryContextSwitchTo(old);
}

/* ---------- the shared registry (caller holds cb_shared->lock) ---------- */

/* the cluster's entry; with create, a free one is taken (NULL if full) */
static CbClusterEntry *
find_entry(const char *cluster, bool create)
{
	CbClusterEntry *free_entry = NULL;

	for (int i = 0; i < CB_MAX_ENTRIES; i++)
	{
		CbClusterEntry *e = &cb_shared->entries[i];

		if (!e->in_use)
		{
			if (free_entry == NULL)
				free_entry = e;
			continue;
		}
		if (strcmp(e->cluster, cluster) == 0)
			return e;
	}
	if (!create || free_entry == NULL)
		return NULL;
	memset(free_entry, 0, sizeof(*free_entry));
	free_entry->in_use = true;
	strlcpy(free_entry->cluster, cluster, NAMEDATALEN);
	return free_entry;
}

/*
 * A worker that claimed an entry is alive while its PGPROC is in the proc
 * array: it leaves the registry before it leaves the array, and a process
 * that dies otherwise makes the postmaster reinitialise shared memory.  A
 * pid alone could be any process's by now.
 */
static bool
worker_alive(pid_t pid)
{
	return pid != 0 && BackendPidGetProc(pid) != NULL;
}

static bool
name_in_list(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp((const char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/* 1 s, 2 s, 4 s ... up to 5 minutes */
static long
backoff_ms(int failures)
{
	long		ms = CB_BACKOFF_FIRST_MS;

	for (int i = 1; i < failures && ms < CB_BACKOFF_MAX_MS; i++)
		ms *= 2;
	return Min(ms, CB_BACKOFF_MAX_MS);
}

/* ---------- the launcher ---------- */

static void
launcher_detach(int code, Datum arg)
{
	SpinLockAcquire(&cb_shared->mutex);
	cb_shared->launcher_latch = NULL;
	SpinLockRelease(&cb_shared->mutex);
}

/*
 * Forget the workers this launcher started that have stopped.  One that
 * stopped without ever claiming its cluster (it could not start, or failed
 * before) ended a run too.
 */
static void
reap_launched(void)
{
	for (int i = 0; i < CB_MAX_SLOTS; i++)
	{
		pid_t		pid;
		CbClusterEntry *e;

		if (launched[i].handle == NULL ||
			GetBackgroundWorkerPid(launched[i].handle, &pid) != BGWH_STOPPED)
			continue;
		pfree(launched[i].handle);
		launched[i].handle = NULL;

		LWLockAcquire(cb_shared->lock, LW_EXCLUSIVE);
		e = find_entry(launched[i].cluster, false);
		if (e != NULL && e->pid == 0 && e->launch_pending != 0)
		{
			e->launch_pending = 0;
			e->ended = true;
		}
		LWLockRelease(cb_shared->lock);
	}
}

static bool
launch_cluster_worker(const char *cluster)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	int			slot = -1;

	for (int i = 0; i < CB_MAX_SLOTS && slot < 0; i++)
		if (launched[i].handle == NULL)
			slot = i;
	if (slot < 0)
		return false;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "cnpg_bootstrap");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "cb_cluster_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "cnpg_bootstrap worker %s", cluster);
	snprintf(worker.bgw_type, BGW_MAXLEN, "cnpg_bootstrap worker");
	strlcpy(worker.bgw_extra, cluster, BGW_EXTRALEN);
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(LOG,
				(errmsg("cnpg_bootstrap: could not start a worker for cluster \"%s\"", cluster),
				 errhint("Raise max_worker_processes; each cluster being reconciled takes one.")));
		return false;
	}
	strlcpy(launched[slot].cluster, cluster, NAMEDATALEN);
	launched[slot].handle = handle;
	return true;
}

/* a worker this launcher started for cluster has not been reaped yet */
static bool
launched_live(const char *cluster)
{
	for (int i = 0; i < CB_MAX_SLOTS; i++)
		if (launched[i].handle != NULL && strcmp(launched[i].cluster, cluster) == 0)
			return true;
	return false;
}

/*
 * The workers this launcher started that still exist: one that has left
 * the registry (its cluster done) is still a process until the postmaster
 * reaps it, and a new one started meanwhile would make max_workers + 1.
 */
static int
launched_count(void)
{
	int			n = 0;

	for (int i = 0; i < CB_MAX_SLOTS; i++)
		if (launched[i].handle != NULL)
			n++;
	return n;
}

/*
 * Judge the runs that ended since the last look, forget clusters with
 * nothing to do, and count the workers running or about to that this
 * launcher did not start (a predecessor's; launched_count() has ours).
 * A run that ended while its cluster still needs work did not finish (an
 * ERROR, a crash before its status could say so): the cluster waits
 * before the next one, twice as long each time.  The registry, not this
 * launcher's memory, says what runs: a restarted launcher sees the
 * workers of its predecessor.
 */
static int
judge_entries(List *todo, TimestampTz now)
{
	int			running = 0;
	List	   *delayed = NIL;
	ListCell   *lc;

	LWLockAcquire(cb_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < CB_MAX_ENTRIES; i++)
	{
		CbClusterEntry *e = &cb_shared->entries[i];
		bool		needs;

		if (!e->in_use)
			continue;
		needs = name_in_list(todo, e->cluster);
		if (e->pid != 0 && !worker_alive(e->pid))
		{
			e->pid = 0;
			e->ended = true;
		}
		if (e->launch_pending != 0 &&
			TimestampDifferenceExceeds(e->launch_pending, now, CB_LAUNCH_PENDING_MS))
		{
			e->launch_pending = 0;
			e->ended = true;
		}
		if (e->ended && e->pid == 0 && e->launch_pending == 0)
		{
			e->ended = false;
			if (needs && !e->stop_requested)
			{
				long		ms = backoff_ms(++e->failures);

				e->next_start = TimestampTzPlusMilliseconds(now, ms);
				delayed = lappend(delayed,
								  psprintf("cnpg_bootstrap: the worker for cluster \"%s\" did not finish; "
										   "next attempt in %ld s (attempt %d)",
										   e->cluster, ms / 1000, e->failures + 1));
			}
			else if (!needs)
			{
				e->failures = 0;
				e->next_start = 0;
			}
			e->stop_requested = false;
		}
		if (e->pid != 0 || e->launch_pending != 0)
		{
			if (!launched_live(e->cluster))
				running++;
		}
		else if (!needs)
			e->in_use = false;
	}
	LWLockRelease(cb_shared->lock);

	foreach(lc, delayed)
		ereport(LOG, (errmsg_internal("%s", (char *) lfirst(lc))));
	list_free_deep(delayed);
	return running;
}

/* one look at the catalog; *nap_ms is lowered to the next retry due */
static void
launcher_tick(long *nap_ms)
{
	List	   *todo;
	ListCell   *lc;
	TimestampTz now;
	int			running;

	reap_launched();
	/* an instance found stopped makes its cluster one of todo's */
	cb_supervise(nap_ms);
	todo = cb_catalog_clusters_needing_work();
	now = GetCurrentTimestamp();
	running = judge_entries(todo, now) + launched_count();

	foreach(lc, todo)
	{
		const char *name = lfirst(lc);
		CbClusterEntry *e;
		bool		launch = false;

		/* the spare pool's refill takes a slot only while no cluster waits */
		if (running + cb_spare_launcher_running() >= cb_max_workers)
		{
			cb_spare_launcher_yield();
			break;
		}
		LWLockAcquire(cb_shared->lock, LW_EXCLUSIVE);
		e = find_entry(name, true);
		if (e == NULL)
			ereport(LOG,
					(errmsg("cnpg_bootstrap: too many clusters to track; cluster \"%s\" waits", name)));
		else if (e->pid != 0 || e->launch_pending != 0)
			;					/* it has a worker, or one is on its way */
		else if (e->next_start > now)
			*nap_ms = Min(*nap_ms,
						  TimestampDifferenceMilliseconds(now, e->next_start) + 1);
		else
		{
			/* before the worker exists: no one starts another meanwhile */
			e->launch_pending = now;
			launch = true;
		}
		LWLockRelease(cb_shared->lock);
		if (!launch)
			continue;
		if (launch_cluster_worker(name))
		{
			running++;
			continue;
		}
		LWLockAcquire(cb_shared->lock, LW_EXCLUSIVE);
		if ((e = find_entry(name, false)) != NULL)
			e->launch_pending = 0;
		LWLockRelease(cb_shared->lock);
	}
	list_free_deep(todo);
	cb_spare_launcher_tick(running > 0, nap_ms);
}

void
cb_launcher_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(cb_database_name, NULL, 0);

	SpinLockAcquire(&cb_shared->mutex);
	cb_shared->launcher_latch = MyLatch;
	SpinLockRelease(&cb_shared->mutex);
	before_shmem_exit(launcher_detach, (Datum) 0);

	ereport(LOG, (errmsg("cnpg_bootstrap launcher started in database \"%s\"",
						 cb_database_name)));

	for (;;)
	{
		long		nap_ms = CB_LAUNCHER_NAP_MS;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		launcher_tick(&nap_ms);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(nap_ms, 1), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------- the per-cluster worker ---------- */

/* a child exited: wake the wait of process.c at once instead of at its next poll */
static void
handle_sigchld(SIGNAL_ARGS)
{
	int			save_errno = errno;

	SetLatch(MyLatch);
	errno = save_errno;
}

/* the run is over: the cluster is free, and the launcher judges the run */
static void
cluster_worker_detach(int code, Datum arg)
{
	CbClusterEntry *e;

	if (LWLockHeldByMe(cb_shared->lock))
		LWLockRelease(cb_shared->lock);
	LWLockAcquire(cb_shared->lock, LW_EXCLUSIVE);
	e = find_entry(cb_worker_cluster, false);
	if (e != NULL && e->pid == MyProcPid)
	{
		e->pid = 0;
		e->ended = true;
	}
	LWLockRelease(cb_shared->lock);

	/* the launcher that started us may be gone: wake the current one */
	SpinLockAcquire(&cb_shared->mutex);
	if (cb_shared->launcher_latch)
		SetLatch(cb_shared->launcher_latch);
	SpinLockRelease(&cb_shared->mutex);
}

/*
 * Take the cluster in the registry; false if another live worker has it.
 * Atomic under the lock, so of two workers started for one cluster (by two
 * launchers, say) exactly one runs its plan.
 */
static bool
claim_cluster(const char *cluster, pid_t *holder)
{
	CbClusterEntry *e;
	bool		ok = false;

	*holder = 0;
	LWLockAcquire(cb_shared->lock, LW_EXCLUSIVE);
	e = find_entry(cluster, true);
	if (e != NULL)
	{
		/* we are the worker that was on its way, or a superfluous one */
		e->launch_pending = 0;
		if (e->pid != 0 && e->pid != MyProcPid && worker_alive(e->pid))
			*holder = e->pid;
		else
		{
			e->pid = MyProcPid;
			e->ended = false;
			ok = true;
		}
	}
	LWLockRelease(cb_shared->lock);
	return ok;
}

void
cb_cluster_worker_main(Datum main_arg)
{
	char		cluster[NAMEDATALEN];
	pid_t		holder;

	strlcpy(cluster, MyBgworkerEntry->bgw_extra, NAMEDATALEN);

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	pqsignal(SIGCHLD, handle_sigchld);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(cb_database_name, NULL, 0);
	pgstat_report_appname("cnpg_bootstrap worker");

	if (!claim_cluster(cluster, &holder))
	{
		if (holder != 0)
			ereport(LOG,
					(errmsg("cnpg_bootstrap: cluster \"%s\" already has a worker (PID %d); this one exits",
							cluster, (int) holder)));
		else
			ereport(LOG,
					(errmsg("cnpg_bootstrap: too many clusters to track; no worker for cluster \"%s\" now",
							cluster)));
		proc_exit(0);
	}
	cb_worker_cluster = cluster;
	cb_childreg_set_scope(cluster);
	before_shmem_exit(cluster_worker_detach, (Datum) 0);

	/*
	 * What a killed predecessor left running (initdb, pg_basebackup ...)
	 * would race with the redo: it goes first.
	 */
	cb_childreg_stop_leftovers(cluster);
	cb_reconcile_cluster(cluster);

	proc_exit(0);
}
