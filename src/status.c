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
