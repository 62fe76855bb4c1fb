/*-------------------------------------------------------------------------
 *
 * status.c
 *	  The worker's writes to cnpg_bootstrap.clusters, .instances, .steps
 *	  and .teardown: phases, per-instance state, the step journal, the
 *	  statements behind port allocation (ports.c chooses the port) and
 *	  teardown requests.  Each function is one short transaction, so a long
 *	  step never holds one open and what it recorded survives a crash.
 *	  Statements run through spi_exec.c, with typed bound parameters.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog.h"
#include "spi_exec.h"
#include "status.h"

CbStepState
cb_step_state(const char *cluster, const char *step, const char *instance)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(step),
	cb_arg_text(instance ? instance : "")};
	char	   *outcome = NULL;
	CbStepState state;

	cb_tx_begin();
	if (cb_spi_exec("SELECT outcome FROM cnpg_bootstrap.steps"
					" WHERE cluster = $1 AND step = $2 AND instance = $3",
					args, lengthof(args), true) > 0)
		outcome = cb_row_text(0, 1);
	cb_tx_commit();
	if (outcome == NULL)
		return CB_STEP_NONE;
	if (strcmp(outcome, "done") == 0)
		state = CB_STEP_DONE;
	else if (strcmp(outcome, "failed") == 0)
		state = CB_STEP_FAILED;
	else
		state = CB_STEP_RUNNING;
	pfree(outcome);
	return state;
}

bool
cb_step_begin(const char *cluster, const char *step, const char *instance)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(step),
	cb_arg_text(instance ? instance : "")};

	/*
	 * The cluster row is locked (KEY SHARE, what the foreign key takes)
	 * before the insert: a delete committing meanwhile then makes this
	 * insert nothing ("gone") instead of failing on the foreign key
	 * (specs/delete_restore.spec).
	 */
	return cb_spi_exec_tx("INSERT INTO cnpg_bootstrap.steps (cluster, step, instance)"
						  " SELECT $1, $2, $3 WHERE EXISTS"
						  "  (SELECT 1 FROM cnpg_bootstrap.clusters WHERE name = $1 FOR KEY SHARE)"
						  " ON CONFLICT (cluster, step, instance) DO UPDATE SET"
						  "  started_at = clock_timestamp(), finished_at = NULL,"
						  "  outcome = 'running', detail = NULL",
						  args, lengthof(args)) > 0;
}

void
cb_step_finish(const char *cluster, const char *step, const char *instance,
			   bool ok, const char *detail)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(step),
		cb_arg_text(instance ? instance : ""), cb_arg_text(ok ? "done" : "failed"),
	cb_arg_text(detail)};

	cb_spi_exec_tx("UPDATE cnpg_bootstrap.steps SET finished_at = clock_timestamp(),"
				   " outcome = $4, detail = $5"
				   " WHERE cluster = $1 AND step = $2 AND instance = $3",
				   args, lengthof(args));
}

void
cb_step_forget(const char *cluster, const char *step)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(step)};

	cb_spi_exec_tx("DELETE FROM cnpg_bootstrap.steps WHERE cluster = $1 AND step = $2",
				   args, lengthof(args));
}

/* one instance's row of a journaled step (a standby to clone again) */
void
cb_step_forget_instance(const char *cluster, const char *step, const char *instance)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(step), cb_arg_text(instance)};

	cb_spi_exec_tx("DELETE FROM cnpg_bootstrap.steps WHERE cluster = $1 AND step = $2"
				   " AND instance = $3", args, lengthof(args));
}

bool
cb_status_phase(const char *cluster, const char *phase, const char *reason)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(phase),
	cb_arg_text(reason), cb_arg_text(CB_PHASE_HEALTHY)};

	/* ready_at: when the cluster first became healthy */
	return cb_spi_exec_tx("UPDATE cnpg_bootstrap.clusters SET phase = $2, phase_reason = $3,"
						  " ready_at = CASE WHEN $2 = $4"
						  "   THEN coalesce(ready_at, now()) ELSE ready_at END"
						  " WHERE name = $1", args, lengthof(args)) > 0;
}

void
cb_status_mark_bootstrapped(const char *cluster)
{
	CbArg		args[] = {cb_arg_text(cluster)};

	cb_spi_exec_tx("UPDATE cnpg_bootstrap.clusters SET bootstrapped = true WHERE name = $1",
				   args, lengthof(args));
}

void
cb_status_progress(const char *cluster, const char *progress)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(progress)};

	cb_spi_exec_tx("UPDATE cnpg_bootstrap.clusters SET progress = $2 WHERE name = $1",
				   args, lengthof(args));
}

/* ---------- ports (ports.c decides; these are its statements) ---------- */

int
cb_status_recorded_port(const char *cluster, const char *instance)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(instance)};
	int			port = -1;

	cb_tx_begin();
	if (cb_spi_exec("SELECT port FROM cnpg_bootstrap.instances"
					" WHERE cluster = $1 AND instance = $2 AND port IS NOT NULL",
					args, lengthof(args), true) > 0)
		port = cb_row_int4(0, 1, -1);
	cb_tx_commit();
	return port;
}

/*
 * Under the port-allocation advisory lock, so that two workers never take
 * one port: each SPI statement gets a fresh snapshot, so the insert sees
 * what the lock's previous holder committed.  The unique index and the
 * teardown list keep ports unshared.
 */
bool
cb_status_claim_port(const char *cluster, const char *instance, int serial,
					 const char *data_directory, int port)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(instance),
		cb_arg_int4(serial), cb_arg_int4(port),
	cb_arg_text(data_directory)};
	bool		claimed;

	cb_tx_begin();
	cb_spi_exec("SELECT pg_catalog.pg_advisory_xact_lock(hashtext('cnpg_bootstrap.ports'))",
				NULL, 0, false);
	claimed = cb_spi_exec("INSERT INTO cnpg_bootstrap.instances"
						  " (cluster, instance, serial, port, data_directory, role)"
						  " SELECT $1, $2, $3, $4, $5,"
						  "  CASE WHEN $3 = 1 THEN 'primary' ELSE 'replica' END"
						  " WHERE NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.instances WHERE port = $4)"
						  "   AND NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown WHERE $4 = ANY (ports))"
						  " ON CONFLICT (cluster, instance) DO UPDATE SET port = EXCLUDED.port,"
						  "  data_directory = EXCLUDED.data_directory",
						  args, lengthof(args), false) > 0;
	cb_tx_commit();
	return claimed;
}

void
cb_status_instance(const char *cluster, const char *instance, const char *role,
				   const char *status, int pid, int timeline, const char *lsn,
				   const char *lag_bytes)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(instance),
		cb_arg_text(role), cb_arg_text(status), cb_arg_int4_if(pid > 0, pid),
		cb_arg_int4_if(timeline > 0, timeline), cb_arg_text(lsn),
	cb_arg_text(lag_bytes)};

	cb_spi_exec_tx("UPDATE cnpg_bootstrap.instances SET role = coalesce($3, role),"
				   " status = $4, pid = $5, timeline = $6, lsn = $7::pg_lsn,"
				   " lag_bytes = $8::bigint"
				   " WHERE cluster = $1 AND instance = $2", args, lengthof(args));
}

void
cb_status_ready(const char *cluster, int ready, const char *primary,
				const char *rw_host, int rw_port)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_int4(ready),
	cb_arg_text(primary), cb_arg_text(rw_host), cb_arg_int4(rw_port)};

	cb_spi_exec_tx("UPDATE cnpg_bootstrap.clusters SET ready_instances = $2,"
				   " current_primary = $3, rw_host = $4, rw_port = $5, progress = NULL"
				   " WHERE name = $1", args, lengthof(args));
}

/* a teardown row for cluster; *directory NULL if none was recorded */
bool
cb_status_teardown_pending(const char *cluster, char **directory)
{
	CbArg		args[] = {cb_arg_text(cluster)};
	bool		pending;

	*directory = NULL;
	cb_tx_begin();
	pending = cb_spi_exec("SELECT directory FROM cnpg_bootstrap.teardown WHERE cluster = $1",
						  args, lengthof(args), true) > 0;
	if (pending)
		*directory = cb_row_text(0, 1);
	cb_tx_commit();
	if (*directory != NULL && (*directory)[0] == '\0')
		*directory = NULL;
	return pending;
}

void
cb_status_teardown_done(const char *cluster)
{
	CbArg		args[] = {cb_arg_text(cluster)};

	cb_spi_exec_tx("DELETE FROM cnpg_bootstrap.teardown WHERE cluster = $1",
				   args, lengthof(args));
}

void
cb_status_teardown_refused(const char *cluster, const char *reason)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(reason)};

	cb_spi_exec_tx("UPDATE cnpg_bootstrap.teardown SET refused = $2, refused_at = now()"
				   " WHERE cluster = $1", args, lengthof(args));
}

void
cb_status_journal(CbJournal *j, const char *cluster)
{
	j->cluster = cluster;
	j->step_state = cb_step_state;
	j->step_begin = cb_step_begin;
	j->step_finish = cb_step_finish;
	j->phase = cb_status_phase;
	j->progress = cb_status_progress;
	j->mark_bootstrapped = cb_status_mark_bootstrapped;
}

/* ---------- after bootstrap (supervise.c, lifecycle.c) ---------- */

/*
 * The instances supervise.c watches: those of healthy clusters that are
 * not to be stopped, with a data directory.  Rows of CbWatched, in the
 * caller's memory context.
 */
List *
cb_status_watched_instances(void)
{
	CbArg		args[] = {cb_arg_text(CB_PHASE_HEALTHY)};
	List	   *out = NIL;
	uint64		n;

	cb_tx_begin();
	n = cb_spi_exec("SELECT i.cluster, i.instance, i.role, i.data_directory"
					" FROM cnpg_bootstrap.instances i"
					" JOIN cnpg_bootstrap.clusters c ON c.name = i.cluster"
					" WHERE c.phase = $1 AND NOT c.hibernation AND i.data_directory IS NOT NULL"
					" ORDER BY i.cluster, i.serial", args, lengthof(args), true);
	for (uint64 r = 0; r < n; r++)
	{
		/* cb_row_text copies into the caller's context: so does this */
		MemoryContext old = MemoryContextSwitchTo(cb_spi_result_cxt());
		CbWatched  *w = palloc0(sizeof(CbWatched));

		w->cluster = cb_row_text(r, 1);
		w->instance = cb_row_text(r, 2);
		w->role = cb_row_text(r, 3);
		w->pgdata = cb_row_text(r, 4);
		out = lappend(out, w);
		MemoryContextSwitchTo(old);
	}
	cb_tx_commit();
	return out;
}

/*
 * supervise.c found an instance down (status "stopped") or not streaming:
 * record why, and hand the cluster to a worker by leaving the healthy
 * phase (only that phase: whatever else is going on says more).
 */
void
cb_status_instance_down(const char *cluster, const char *instance, const char *status,
						const char *phase, const char *reason, const char *last_exit)
{
	CbArg		iargs[] = {cb_arg_text(cluster), cb_arg_text(instance),
	cb_arg_text(status), cb_arg_text(last_exit)};
	CbArg		cargs[] = {cb_arg_text(cluster), cb_arg_text(phase), cb_arg_text(reason),
	cb_arg_text(CB_PHASE_HEALTHY)};

	cb_tx_begin();
	cb_spi_exec("UPDATE cnpg_bootstrap.instances SET status = $3,"
				" pid = CASE WHEN $3 = 'stopped' THEN NULL ELSE pid END,"
				" last_exit = coalesce($4, last_exit)"
				" WHERE cluster = $1 AND instance = $2", iargs, lengthof(iargs), false);
	cb_spi_exec("UPDATE cnpg_bootstrap.clusters SET phase = $2, phase_reason = $3"
				" WHERE name = $1 AND phase = $4", cargs, lengthof(cargs), false);
	cb_tx_commit();
}

/* the generation now running as declared */
void
cb_status_observed(const char *cluster, int generation)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_int4(generation)};

	cb_spi_exec_tx("UPDATE cnpg_bootstrap.clusters SET observed_generation = $2"
				   " WHERE name = $1", args, lengthof(args));
}

/*
 * Where an instance found stopped stands in its restarts: a restart
 * scheduled and due, one scheduled for later, or none scheduled (then
 * *recent says whether it last restarted under a minute ago, i.e. it
 * keeps stopping).
 */
CbRestartState
cb_status_restart_state(const char *cluster, const char *instance, int *quick_failures,
						bool *recent)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(instance)};
	CbRestartState state = CB_RESTART_NONE;

	*quick_failures = 0;
	*recent = false;
	cb_tx_begin();
	if (cb_spi_exec("SELECT quick_failures, next_restart IS NOT NULL, next_restart <= now(),"
					" coalesce(last_restart > now() - interval '1 minute', false)"
					" FROM cnpg_bootstrap.instances WHERE cluster = $1 AND instance = $2",
					args, lengthof(args), true) > 0)
	{
		*quick_failures = cb_row_int4(0, 1, 0);
		if (cb_row_bool(0, 2, false))
			state = cb_row_bool(0, 3, false) ? CB_RESTART_DUE : CB_RESTART_LATER;
		*recent = cb_row_bool(0, 4, false);
	}
	cb_tx_commit();
	return state;
}

/* the next restart of an instance that keeps stopping, delay_s from now */
void
cb_status_restart_later(const char *cluster, const char *instance, int quick_failures,
						int delay_s, const char *last_exit)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(instance),
		cb_arg_int4(quick_failures), cb_arg_int4(delay_s),
	cb_arg_text(last_exit)};

	cb_spi_exec_tx("UPDATE cnpg_bootstrap.instances SET quick_failures = $3,"
				   " next_restart = now() + make_interval(secs => $4),"
				   " last_exit = coalesce($5, last_exit), status = 'stopped', pid = NULL"
				   " WHERE cluster = $1 AND instance = $2", args, lengthof(args));
}

/* a restart is being made: counted, and the backoff's count kept */
void
cb_status_restarting(const char *cluster, const char *instance, int quick_failures)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(instance),
	cb_arg_int4(quick_failures)};

	cb_spi_exec_tx("UPDATE cnpg_bootstrap.instances SET restarts = restarts + 1,"
				   " last_restart = now(), next_restart = NULL, quick_failures = $3"
				   " WHERE cluster = $1 AND instance = $2", args, lengthof(args));
}

/*
 * The instances of a cluster beyond its first n (scaling down), highest
 * first: names, in the caller's memory context.
 */
List *
cb_status_instances_beyond(const char *cluster, int n)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_int4(n)};
	List	   *names;

	cb_tx_begin();
	cb_spi_exec("SELECT instance FROM cnpg_bootstrap.instances"
				" WHERE cluster = $1 AND serial > $2 ORDER BY serial DESC",
				args, lengthof(args), true);
	names = cb_rows_text(1);
	cb_tx_commit();
	return names;
}

/* a removed instance: its row (and so its port) and its journal go */
void
cb_status_forget_instance(const char *cluster, const char *instance)
{
	CbArg		args[] = {cb_arg_text(cluster), cb_arg_text(instance)};

	cb_tx_begin();
	cb_spi_exec("DELETE FROM cnpg_bootstrap.steps WHERE cluster = $1 AND instance = $2",
				args, lengthof(args), false);
	cb_spi_exec("DELETE FROM cnpg_bootstrap.instances WHERE cluster = $1 AND instance = $2",
				args, lengthof(args), false);
	cb_tx_commit();
}
