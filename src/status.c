/*-------------------------------------------------------------------------
 *
 * status.c
 *	  The worker's writes to cnpg_bootstrap.clusters, .instances, .steps
 *	  and .teardown: phases, per-instance state, the step journal and port
 *	  allocation.  Each function is one short transaction, so a long step
 *	  never holds one open and what it recorded survives a crash.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "status.h"

/*
 * One parameterised statement (all text parameters) in its own transaction;
 * with lock_ports, after taking the port-allocation advisory lock (each
 * SPI statement gets a fresh snapshot, so the insert sees what the lock's
 * previous holder committed).
 */
static uint64
run_tx_locked(const char *sql, int nargs, const char *const *args,
			  char **first_value, bool lock_ports)
{
	Oid			types[8];
	Datum		values[8];
	char		nulls[9] = {0};
	uint64		n;

	cb_tx_begin();
	if (lock_ports &&
		SPI_execute("SELECT pg_catalog.pg_advisory_xact_lock(hashtext('cnpg_bootstrap.ports'))",
					false, 0) < 0)
		elog(ERROR, "could not lock the port table");
	for (int i = 0; i < nargs; i++)
	{
		types[i] = TEXTOID;
		values[i] = args[i] ? CStringGetTextDatum(args[i]) : (Datum) 0;
		nulls[i] = args[i] ? ' ' : 'n';
	}
	if (SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0) < 0)
		elog(ERROR, "cnpg_bootstrap status statement failed");
	n = SPI_processed;
	if (first_value)
	{
		*first_value = NULL;
		if (n > 0 && SPI_tuptable != NULL)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			if (v)
				*first_value = MemoryContextStrdup(TopMemoryContext, v);
		}
	}
	cb_tx_commit();
	return n;
}

static uint64
run_tx(const char *sql, int nargs, const char *const *args, char **first_value)
{
	return run_tx_locked(sql, nargs, args, first_value, false);
}

static const char *
itoa_p(int v)
{
	return psprintf("%d", v);
}

CbStepState
cb_step_state(const char *cluster, const char *step, const char *instance)
{
	const char *args[] = {cluster, step, instance ? instance : ""};
	char	   *outcome;

	run_tx("SELECT outcome FROM cnpg_bootstrap.steps"
		   " WHERE cluster = $1 AND step = $2 AND instance = $3", 3, args, &outcome);
	if (outcome == NULL)
		return CB_STEP_NONE;
	if (strcmp(outcome, "done") == 0)
		return CB_STEP_DONE;
	if (strcmp(outcome, "failed") == 0)
		return CB_STEP_FAILED;
	return CB_STEP_RUNNING;
}

bool
cb_step_begin(const char *cluster, const char *step, const char *instance)
{
	const char *args[] = {cluster, step, instance ? instance : ""};

	return run_tx("INSERT INTO cnpg_bootstrap.steps (cluster, step, instance)"
				  " SELECT $1, $2, $3 WHERE EXISTS"
				  "  (SELECT 1 FROM cnpg_bootstrap.clusters WHERE name = $1)"
				  " ON CONFLICT (cluster, step, instance) DO UPDATE SET"
				  "  started_at = clock_timestamp(), finished_at = NULL,"
				  "  outcome = 'running', detail = NULL", 3, args, NULL) > 0;
}

void
cb_step_finish(const char *cluster, const char *step, const char *instance,
			   bool ok, const char *detail)
{
	const char *args[] = {cluster, step, instance ? instance : "",
	ok ? "done" : "failed", detail};

	run_tx("UPDATE cnpg_bootstrap.steps SET finished_at = clock_timestamp(),"
		   " outcome = $4, detail = $5"
		   " WHERE cluster = $1 AND step = $2 AND instance = $3", 5, args, NULL);
}

void
cb_step_forget(const char *cluster, const char *step)
{
	const char *args[] = {cluster, step};

	run_tx("DELETE FROM cnpg_bootstrap.steps WHERE cluster = $1 AND step = $2",
		   2, args, NULL);
}

bool
cb_status_phase(const char *cluster, const char *phase, const char *reason)
{
	const char *args[] = {cluster, phase, reason};

	return run_tx("UPDATE cnpg_bootstrap.clusters SET phase = $2, phase_reason = $3,"
				  " ready_at = CASE WHEN $2 = 'Cluster in healthy state'"
				  "   THEN coalesce(ready_at, now()) ELSE ready_at END"
				  " WHERE name = $1", 3, args, NULL) > 0;
}

void
cb_status_mark_bootstrapped(const char *cluster)
{
	const char *args[] = {cluster};

	run_tx("UPDATE cnpg_bootstrap.clusters SET bootstrapped = true WHERE name = $1",
		   1, args, NULL);
}

void
cb_status_progress(const char *cluster, const char *progress)
{
	const char *args[] = {cluster, progress};

	run_tx("UPDATE cnpg_bootstrap.clusters SET progress = $2 WHERE name = $1",
		   2, args, NULL);
}

/* a TCP port nobody listens on (the catalog cannot know foreign servers) */
static bool
port_is_free(int port)
{
	int			fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr;
	bool		ok;

	if (fd < 0)
		return true;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0;
	close(fd);
	return ok;
}

int
cb_status_instance_port(const char *cluster, const char *instance, int serial,
						const char *data_directory, int port_lo, int port_hi)
{
	const char *args[] = {cluster, instance};
	char	   *port;

	run_tx("SELECT port FROM cnpg_bootstrap.instances"
		   " WHERE cluster = $1 AND instance = $2 AND port IS NOT NULL", 2, args, &port);
	if (port != NULL)
		return pg_strtoint32(port);

	for (int p = port_lo; p <= port_hi; p++)
	{
		const char *ins[] = {cluster, instance, itoa_p(serial), itoa_p(p), data_directory};

		if (!port_is_free(p))
			continue;
		/* the unique index and the teardown list keep ports unshared */
		if (run_tx_locked("INSERT INTO cnpg_bootstrap.instances"
				   " (cluster, instance, serial, port, data_directory, role)"
				   " SELECT $1, $2, $3::int, $4::int, $5,"
				   "  CASE WHEN $3::int = 1 THEN 'primary' ELSE 'replica' END"
				   " WHERE NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.instances WHERE port = $4::int)"
				   "   AND NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown WHERE $4::int = ANY (ports))"
				   " ON CONFLICT (cluster, instance) DO UPDATE SET port = EXCLUDED.port,"
				   "  data_directory = EXCLUDED.data_directory",
				   5, ins, NULL, true) > 0)
			return p;
	}
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("no free port left in cnpg_bootstrap.port_range %d-%d for instance %s",
					port_lo, port_hi, instance),
			 errhint("Widen cnpg_bootstrap.port_range or delete clusters you no longer need.")));
	return -1;
}

void
cb_status_instance(const char *cluster, const char *instance, const char *role,
				   const char *status, int pid, int timeline, const char *lsn,
				   const char *lag_bytes)
{
	const char *args[] = {cluster, instance, role, status,
		pid > 0 ? itoa_p(pid) : NULL, timeline > 0 ? itoa_p(timeline) : NULL, lsn,
	lag_bytes};

	run_tx("UPDATE cnpg_bootstrap.instances SET role = coalesce($3, role),"
		   " status = $4, pid = $5::int, timeline = $6::int, lsn = $7::pg_lsn,"
		   " lag_bytes = $8::bigint"
		   " WHERE cluster = $1 AND instance = $2", 8, args, NULL);
}

void
cb_status_ready(const char *cluster, int ready, const char *primary,
				const char *rw_host, int rw_port)
{
	const char *args[] = {cluster, itoa_p(ready), primary, rw_host, itoa_p(rw_port)};

	run_tx("UPDATE cnpg_bootstrap.clusters SET ready_instances = $2::int,"
		   " current_primary = $3, rw_host = $4, rw_port = $5::int, progress = NULL"
		   " WHERE name = $1", 5, args, NULL);
}

/* a teardown row for cluster; *directory NULL if none was recorded */
bool
cb_status_teardown_pending(const char *cluster, char **directory)
{
	const char *args[] = {cluster};
	char	   *dir;

	if (run_tx("SELECT coalesce(directory, '') FROM cnpg_bootstrap.teardown WHERE cluster = $1",
			   1, args, &dir) == 0)
	{
		*directory = NULL;
		return false;
	}
	*directory = dir && dir[0] ? dir : NULL;
	return true;
}

void
cb_status_teardown_done(const char *cluster)
{
	const char *args[] = {cluster};

	run_tx("DELETE FROM cnpg_bootstrap.teardown WHERE cluster = $1", 1, args, NULL);
}

void
cb_status_teardown_refused(const char *cluster, const char *reason)
{
	const char *args[] = {cluster, reason};

	run_tx("UPDATE cnpg_bootstrap.teardown SET refused = $2, refused_at = now()"
		   " WHERE cluster = $1", 2, args, NULL);
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
