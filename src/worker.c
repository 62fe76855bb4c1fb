/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The launcher and the per-cluster background workers.
 *
 * One static launcher watches the catalog and starts one dynamic worker per
 * cluster that needs work (bootstrap, repair, teardown), at most
 * cnpg_bootstrap.max_workers at once.  SQL functions never run a step
 * themselves: they store and set the launcher's latch at commit.  Each
 * dynamic worker runs reconcile.c's plan for its cluster and exits.
 *
 * Shared memory holds the launcher's latch and, per running cluster worker,
 * its cluster name and pid, so that cnpg_bootstrap_delete() can stop it.
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
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "cnpg_bootstrap.h"
#include "catalog.h"
#include "reconcile.h"
#include "worker.h"

#define CB_MAX_SLOTS		64
#define CB_LAUNCHER_NAP_MS	2000

typedef struct CbWorkerSlot
{
	char		cluster[NAMEDATALEN];
	pid_t		pid;
} CbWorkerSlot;

typedef struct CbShared
{
	slock_t		mutex;
	Latch	   *launcher_latch;
	CbWorkerSlot slots[CB_MAX_SLOTS];
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
			if (cb_shared != NULL)
			{
				SpinLockAcquire(&cb_shared->mutex);
				foreach(lc, stop_at_commit)
				{
					const char *name = ((StopRequest *) lfirst(lc))->cluster;

					for (int i = 0; i < CB_MAX_SLOTS; i++)
						if (cb_shared->slots[i].pid != 0 &&
							strcmp(cb_shared->slots[i].cluster, name) == 0)
							kill(cb_shared->slots[i].pid, SIGTERM);
				}
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

/* ---------- the launcher ---------- */

static void
launcher_detach(int code, Datum arg)
{
	SpinLockAcquire(&cb_shared->mutex);
	cb_shared->launcher_latch = NULL;
	SpinLockRelease(&cb_shared->mutex);
}

/* forget workers that have stopped; returns how many still run */
static int
reap_launched(void)
{
	int			running = 0;

	for (int i = 0; i < CB_MAX_SLOTS; i++)
	{
		pid_t		pid;

		if (launched[i].handle == NULL)
			continue;
		if (GetBackgroundWorkerPid(launched[i].handle, &pid) == BGWH_STOPPED)
		{
			pfree(launched[i].handle);
			launched[i].handle = NULL;
			continue;
		}
		running++;
	}
	return running;
}

static bool
is_launched(const char *cluster)
{
	for (int i = 0; i < CB_MAX_SLOTS; i++)
		if (launched[i].handle != NULL && strcmp(launched[i].cluster, cluster) == 0)
			return true;
	return false;
}

static void
launch_cluster_worker(const char *cluster)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	int			slot = -1;

	for (int i = 0; i < CB_MAX_SLOTS && slot < 0; i++)
		if (launched[i].handle == NULL)
			slot = i;
	if (slot < 0)
		return;

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
		return;
	}
	strlcpy(launched[slot].cluster, cluster, NAMEDATALEN);
	launched[slot].handle = handle;
}

static void
launcher_tick(void)
{
	List	   *todo;
	ListCell   *lc;
	int			running = reap_launched();

	todo = cb_catalog_clusters_needing_work();
	foreach(lc, todo)
	{
		const char *name = lfirst(lc);

		if (running >= cb_max_workers)
			break;
		if (is_launched(name))
			continue;
		launch_cluster_worker(name);
		running++;
	}
	list_free_deep(todo);
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
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		launcher_tick();

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 CB_LAUNCHER_NAP_MS, PG_WAIT_EXTENSION);
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

static void
cluster_worker_detach(int code, Datum arg)
{
	int			slot = DatumGetInt32(arg);

	SpinLockAcquire(&cb_shared->mutex);
	cb_shared->slots[slot].pid = 0;
	cb_shared->slots[slot].cluster[0] = '\0';
	SpinLockRelease(&cb_shared->mutex);
}

void
cb_cluster_worker_main(Datum main_arg)
{
	char		cluster[NAMEDATALEN];
	int			slot = -1;

	strlcpy(cluster, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	cb_worker_cluster = cluster;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	pqsignal(SIGCHLD, handle_sigchld);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(cb_database_name, NULL, 0);

	SpinLockAcquire(&cb_shared->mutex);
	for (int i = 0; i < CB_MAX_SLOTS && slot < 0; i++)
		if (cb_shared->slots[i].pid == 0)
		{
			slot = i;
			cb_shared->slots[i].pid = MyProcPid;
			strlcpy(cb_shared->slots[i].cluster, cluster, NAMEDATALEN);
		}
	SpinLockRelease(&cb_shared->mutex);
	if (slot >= 0)
		before_shmem_exit(cluster_worker_detach, Int32GetDatum(slot));

	pgstat_report_appname("cnpg_bootstrap worker");
	cb_reconcile_cluster(cluster);

	proc_exit(0);
}
