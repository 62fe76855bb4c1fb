/*-------------------------------------------------------------------------
 *
 * spare_worker.c
 *	  The spare pool's background worker and the launcher's side of it.
 *
 * The pool moves initdb out of the time a user waits: into time when the
 * worker has nothing else to do.  So the launcher starts the pool worker
 * only when no cluster worker runs, at most one at a time, counted within
 * cnpg_bootstrap.max_workers; and stops it (SIGTERM: its initdb is killed,
 * the half-made directory removed by the next run) as soon as a cluster
 * waits for a worker slot.  A run removes leftovers and surplus, learns the
 * recipe of a defaulted Cluster, makes at most one spare and exits; the
 * launcher starts another while the pool still wants one.  A run that made
 * nothing the pool wanted (initdb failing, the disk bound) makes the next
 * one wait, 1 s doubling up to 5 minutes.
 *
 * The worker's children are recorded under the scope "spare.pool" (no
 * cluster can be called that: cluster names are DNS labels), so that an
 * initdb left running by a killed pool worker is stopped before the next
 * run touches the pool.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cnpg_bootstrap.h"
#include "childreg.h"
#include "hostlayout.h"
#include "initdb.h"
#include "sparepool.h"
#include "spare_worker.h"
#include "validate_int.h"

#define CHILD_SCOPE			"spare.pool"
#define BACKOFF_FIRST_MS	1000
#define BACKOFF_MAX_MS		(300 * 1000)

/* launcher-local */
static BackgroundWorkerHandle *pool_handle = NULL;
static bool pool_yielded = false;
static int	complete_before = 0;
static long backoff_ms = 0;
static TimestampTz next_launch = 0;
static char *seen_bindir = NULL;
/* the launcher looks at the pool every tick: what it reads goes each time */
static MemoryContext look_cxt = NULL;

/* the pool's state, read in look_cxt (the caller resets it) */
static void
look_at_pool(CbSparePoolState *st)
{
	MemoryContext old;

	if (look_cxt == NULL)
		look_cxt = AllocSetContextCreate(TopMemoryContext, "cnpg_bootstrap spare pool look",
										 ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(look_cxt);
	cb_spare_pool_state(st);
	MemoryContextSwitchTo(old);
}

/* a run ended: did it get anywhere?  If not, the next one waits */
static void
pool_worker_ended(void)
{
	CbSparePoolState st;

	pfree(pool_handle);
	pool_handle = NULL;
	look_at_pool(&st);
	if (st.missing != NULL && st.complete <= complete_before && !pool_yielded)
		backoff_ms = backoff_ms == 0 ? BACKOFF_FIRST_MS : Min(backoff_ms * 2, BACKOFF_MAX_MS);
	else
		backoff_ms = 0;
	MemoryContextReset(look_cxt);
	next_launch = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), backoff_ms);
}

int
cb_spare_launcher_running(void)
{
	pid_t		pid;

	if (pool_handle == NULL)
		return 0;
	if (GetBackgroundWorkerPid(pool_handle, &pid) == BGWH_STOPPED)
	{
		pool_worker_ended();
		return 0;
	}
	return 1;
}

void
cb_spare_launcher_yield(void)
{
	if (pool_handle == NULL || pool_yielded)
		return;
	ereport(LOG,
			(errmsg("cnpg_bootstrap: spare pool: a cluster waits for a worker slot; the refill stops")));
	TerminateBackgroundWorker(pool_handle);
	pool_yielded = true;
}

void
cb_spare_launcher_tick(bool busy, long *nap_ms)
{
	TimestampTz now;
	CbSparePoolState st;
	BackgroundWorker worker;
	bool		force = false;
	bool		registered;
	MemoryContext old;

	if (busy || cb_spare_launcher_running())
		return;
	now = GetCurrentTimestamp();
	if (next_launch > now)
	{
		*nap_ms = Min(*nap_ms, TimestampDifferenceMilliseconds(now, next_launch) + 1);
		return;
	}

	/* at start and when the binaries may have changed: learn the defaults again */
	if (seen_bindir == NULL || strcmp(seen_bindir, cb_bindir ? cb_bindir : "") != 0)
	{
		if (seen_bindir)
			pfree(seen_bindir);
		seen_bindir = MemoryContextStrdup(TopMemoryContext, cb_bindir ? cb_bindir : "");
		force = cb_spare_pool_size > 0;
	}
	look_at_pool(&st);
	MemoryContextReset(look_cxt);	/* only the counts are used below */
	if (!st.usable)
		return;
	if (!force && st.missing == NULL && st.leftovers == 0 && st.surplus == 0)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "cnpg_bootstrap");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "cb_spare_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "cnpg_bootstrap spare pool");
	snprintf(worker.bgw_type, BGW_MAXLEN, "cnpg_bootstrap spare pool");
	worker.bgw_notify_pid = MyProcPid;
	/* the handle lives as long as the worker: in TopMemoryContext */
	old = MemoryContextSwitchTo(TopMemoryContext);
	registered = RegisterDynamicBackgroundWorker(&worker, &pool_handle);
	MemoryContextSwitchTo(old);
	if (!registered)
	{
		pool_handle = NULL;
		/* no slot in max_worker_processes: cluster workers need them more */
		next_launch = TimestampTzPlusMilliseconds(now, 10 * 1000);
		return;
	}
	complete_before = st.complete;
	pool_yielded = false;
}

/* ---------- the pool worker ---------- */

static void
handle_sigchld(SIGNAL_ARGS)
{
	int			save_errno = errno;

	SetLatch(MyLatch);
	errno = save_errno;
}

/*
 * The recipe of a Cluster with nothing but a name: what most Clusters
 * need, so kept warm before any was applied.  NULL (logged) if the
 * binaries a defaulted Cluster would use cannot be found.
 */
static char *
default_recipe(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *recipe = NULL;

	PG_TRY();
	{
		CbClusterSpec *spec = palloc0(sizeof(CbClusterSpec));
		CbCluster	c;

		spec->name = "spare";
		cb_default_cluster(spec);
		memset(&c, 0, sizeof(c));
		c.spec = spec;
		c.name = spec->name;
		/* as step_secrets sees a defaulted Cluster: database app, owner app */
		c.app_db = spec->bootstrap.initdb.database;
		c.app_owner = spec->bootstrap.initdb.owner;
		c.has_app = c.app_db && c.app_db[0] && c.app_owner && c.app_owner[0];
		cb_resolve_bindir(&c);
		recipe = cb_initdb_spare_recipe(&c, cb_initdb_argv(&c, "-"));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(LOG,
				(errmsg("cnpg_bootstrap: spare pool: no spare for defaulted Clusters: %s",
						edata->message)));
	}
	PG_END_TRY();
	return recipe;
}

void
cb_spare_worker_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	pqsignal(SIGCHLD, handle_sigchld);
	BackgroundWorkerUnblockSignals();
	/* no database: only to show in pg_stat_activity */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	cb_childreg_set_scope(CHILD_SCOPE);
	/* an initdb a killed predecessor left running goes before anything */
	cb_childreg_stop_leftovers(CHILD_SCOPE);
	if (!cb_spare_refill(default_recipe()))
		ereport(LOG,
				(errmsg("cnpg_bootstrap: spare pool: another refill holds the pool's lock; this one exits")));
	proc_exit(0);
}
