/*-------------------------------------------------------------------------
 *
 * lifecycle.c
 *	  After bootstrap: what keeps a cluster as declared.  reconcile.c's
 *	  maintenance plans call these for a cluster that was healthy once and
 *	  needs work again: an instance found stopped (supervise.c) is started
 *	  again, counted, and backed off when it keeps stopping; a re-applied
 *	  spec's configuration is written, reloaded, and applied by a rolling
 *	  restart (standbys first, then the primary, in place: there is no
 *	  failover) when a parameter needs one; instances beyond spec.instances
 *	  are removed (scaling up is the standbys step, as at bootstrap); every
 *	  standby streams again, cloned anew if the primary no longer has the
 *	  WAL it needs; and a
 *	  cluster to hibernate is stopped, primary first.
 *
 *	  Only what this worker made is touched: the instances of this
 *	  cluster's directory, checked against its ownership marker before
 *	  anything is removed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "libpq-fe.h"

#include "fsutil.h"
#include "instance.h"
#include "lifecycle.h"
#include "ownership.h"
#include "pgconn.h"
#include "process.h"
#include "serverlog.h"
#include "standby.h"
#include "status.h"
#include "waituntil.h"

/* an instance that stops within this of its restart keeps stopping */
#define CB_QUICK_FAILURE_S	60
/* its next restart waits 1 s, 2 s, 4 s ... up to this */
#define CB_RESTART_BACKOFF_MAX_S 300
#define CB_SLOT_RELEASE_MS	30000
/* a standby reconnects within wal_retrieve_retry_interval (5 s): ample */
#define CB_STREAM_AGAIN_MS	30000

static char *restart_pending(CbCluster *c, CbInstance *inst);

/* the cluster whose primary primary_conn opens (a wait's connect has no cluster) */
static CbCluster *slot_cluster;

static PGconn *
primary_conn(void *arg, int which)
{
	return cb_connect_instance(slot_cluster, &slot_cluster->instances[0], "postgres");
}

static bool
has_pgdata(const CbInstance *inst)
{
	return cb_path_exists(psprintf("%s/PG_VERSION", inst->pgdata));
}

static int
restart_delay_s(int quick_failures)
{
	int			s = 1;

	for (int i = 1; i < quick_failures && s < CB_RESTART_BACKOFF_MAX_S; i++)
		s *= 2;
	return Min(s, CB_RESTART_BACKOFF_MAX_S);
}

/* the phase that says an instance is being (or waits to be) started again */
static void
restart_phase(CbCluster *c, const CbInstance *inst, const char *reason)
{
	cb_journal_phase(c->journal, inst->serial == 1 ? CB_PHASE_PRIMARY_RESTART : CB_PHASE_WAITING,
					 reason);
}

/*
 * The next restart of an instance that keeps stopping is put off: the run
 * ends, and the launcher comes back when it is due (catalog.c leaves the
 * cluster alone until then).
 */
static void
restart_later(CbCluster *c, const CbInstance *inst, int quick_failures, const char *why)
{
	int			delay = restart_delay_s(quick_failures);

	cb_status_restart_later(c->name, inst->name, quick_failures, delay, why);
	ereport(LOG,
			(errmsg("cnpg_bootstrap: instance \"%s\" of cluster \"%s\" keeps stopping; next restart in %d s",
					inst->name, c->name, delay),
			 errdetail("%s", why)));
	restart_phase(c, inst,
				  psprintf("instance %s keeps stopping (%d times within a minute of its restart); next restart in %d s.\nLast exit: %s",
						   inst->name, quick_failures, delay, why));
	c->end_run = true;
}

/*
 * Start one stopped instance again.  Counted as a restart unless the
 * cluster is waking from hibernation.  A start that fails counts as one
 * more stop soon after a restart.
 */
static void
restart_instance(CbCluster *c, CbInstance *inst)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			quick = 0;
	bool		recent = false;
	CbRestartState state = CB_RESTART_NONE;
	char	   *exit_reason = NULL;

	if (!c->waking)
	{
		state = cb_status_restart_state(c->name, inst->name, &quick, &recent);
		if (state == CB_RESTART_LATER)
		{
			c->end_run = true;
			return;
		}
		exit_reason = cb_serverlog_exit_reason(inst->logdir);
		if (state == CB_RESTART_NONE)
		{
			quick = recent ? quick + 1 : 0;
			if (quick > 0)
			{
				restart_later(c, inst, quick, exit_reason);
				return;
			}
		}
		ereport(LOG,
				(errmsg("cnpg_bootstrap: instance \"%s\" of cluster \"%s\" is not running; starting it again",
						inst->name, c->name),
				 errdetail("Last exit: %s", exit_reason)));
		restart_phase(c, inst, psprintf("restarting instance %s.\nLast exit: %s",
										inst->name, exit_reason));
		cb_status_restarting(c->name, inst->name, quick);
	}

	PG_TRY();
	{
		cb_instance_start(c, inst);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		if (c->waking)
			PG_RE_THROW();
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		restart_later(c, inst, quick + 1,
					  psprintf("%s: %s", edata->message,
							   cb_serverlog_start_failure(inst->logdir)));
	}
	PG_END_TRY();
}

void
cb_lifecycle_restart_stopped(CbCluster *c)
{
	for (int i = 0; i < c->ninstances && !c->end_run; i++)
	{
		CbInstance *inst = &c->instances[i];

		/* a new instance (scaling up) is made by the standbys step */
		if (!has_pgdata(inst) || cb_instance_pid(inst->pgdata) != 0)
			continue;
		restart_instance(c, inst);
		/* the standbys need their primary: none is started without it */
		if (i == 0 && c->end_run)
			return;
	}
}

/* ---------- configuration applied again ---------- */

bool
cb_lifecycle_write_config(CbCluster *c)
{
	bool		changed = false;

	for (int i = 0; i < c->ninstances; i++)
		if (has_pgdata(&c->instances[i]) && cb_rewrite_instance_config(c, &c->instances[i]))
			changed = true;
	if (changed)
		cb_journal_phase(c->journal, CB_PHASE_APPLYING,
						 "configuration written to every instance; reloading");
	return changed;
}

/* a pass of the wait for a reload: the server's configuration load time moved */
typedef struct ReloadWait
{
	CbCluster  *c;
	CbInstance *inst;
	char	   *before;
} ReloadWait;

static PGconn *
reload_conn(void *arg, int which)
{
	ReloadWait *r = arg;

	return cb_connect_instance(r->c, r->inst, "postgres");
}

static bool
reloaded(CbWait *w, void *arg)
{
	ReloadWait *r = arg;
	char	   *err = NULL;
	char	   *now = cb_query_value(cb_wait_conn(w, 0),
									 "SELECT pg_catalog.pg_conf_load_time()::text", &err);

	return now != NULL && strcmp(now, r->before) != 0;
}

/*
 * Reload one running instance and wait until its postmaster has read the
 * files (a new session then sees the new settings); true if a parameter
 * now waits for a restart (pg_settings.pending_restart).
 */
static bool
reload_instance(CbCluster *c, CbInstance *inst)
{
	PGconn	   *conn = cb_connect_instance(c, inst, "postgres");
	char	   *err = NULL;
	ReloadWait	r = {c, inst, NULL};
	CbWaitSpec	spec = {"a configuration reload", 30000, reload_conn};
	r.before = cb_query_value(conn, "SELECT pg_catalog.pg_conf_load_time()::text", &err);
	if (r.before == NULL ||
		cb_query_value(conn, "SELECT pg_catalog.pg_reload_conf()", &err) == NULL)
	{
		cb_disconnect(conn);
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not reload the configuration of %s: %s", inst->name,
						err ? err : "no answer")));
	}
	cb_disconnect(conn);
	if (!cb_wait_until(reloaded, &r, &spec))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("%s did not reload its configuration within 30 s", inst->name)));
	return restart_pending(c, inst) != NULL;
}

/* the parameters of a running instance that wait for a restart, or NULL */
static char *
restart_pending(CbCluster *c, CbInstance *inst)
{
	PGconn	   *conn = cb_connect_instance(c, inst, "postgres");
	char	   *err = NULL;
	char	   *names = cb_query_value(conn,
									   "SELECT string_agg(name, ', ' ORDER BY name)"
									   " FROM pg_catalog.pg_settings WHERE pending_restart", &err);

	cb_disconnect(conn);
	if (err != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not read the pending settings of %s: %s", inst->name, err)));
	return names;
}

static void
restart_for_config(CbCluster *c, CbInstance *inst, const char *params)
{
	ereport(LOG,
			(errmsg("cnpg_bootstrap: restarting instance \"%s\" of cluster \"%s\" to apply %s",
					inst->name, c->name, params)));
	cb_journal_phase(c->journal, inst->serial == 1 ? CB_PHASE_PRIMARY_RESTART : CB_PHASE_UPGRADING,
					 psprintf("restarting %s to apply %s", inst->name, params));
	cb_instance_stop(c, inst->pgdata, "fast");
	cb_instance_start(c, inst);
}

/*
 * Does the primary's new configuration lower a setting a hot standby needs
 * at least as high as its primary's?  Then the primary restarts first, as
 * CloudNativePG does: a standby restarted first with the lower value would
 * find its primary's higher one in the WAL and pause its replay.
 */
static bool
lowers_standby_limits(CbCluster *c)
{
	PGconn	   *conn = cb_connect_instance(c, &c->instances[0], "postgres");
	char	   *err = NULL;
	char	   *lower = cb_query_value(conn,
									   "SELECT coalesce(bool_or(f.setting::bigint < s.setting::bigint), false)"
									   " FROM (SELECT DISTINCT ON (name) name, setting"
									   "   FROM pg_catalog.pg_file_settings"
									   "  WHERE name IN ('max_connections', 'max_worker_processes',"
									   "   'max_wal_senders', 'max_prepared_transactions',"
									   "   'max_locks_per_transaction') AND error IS DISTINCT FROM 'syntax error'"
									   "  ORDER BY name, seqno DESC) f"
									   " JOIN pg_catalog.pg_settings s USING (name)"
									   " WHERE f.setting ~ '^[0-9]+$'", &err);

	cb_disconnect(conn);
	return lower != NULL && strcmp(lower, "t") == 0;
}

/* a pass: the standby has replayed up to the LSN the primary had */
typedef struct ReplayWait
{
	CbCluster  *c;
	CbInstance *standby;
	char	   *lsn;
} ReplayWait;

static PGconn *
standby_conn(void *arg, int which)
{
	ReplayWait *r = arg;

	return cb_connect_instance(r->c, r->standby, "postgres");
}

static bool
replayed(CbWait *w, void *arg)
{
	ReplayWait *r = arg;
	const char *params[] = {r->lsn};
	char	   *err = NULL;
	PGresult   *res = cb_exec_params(cb_wait_conn(w, 0),
									 "SELECT coalesce(pg_catalog.pg_last_wal_replay_lsn() >= $1::pg_lsn, false)",
									 1, params, &err);
	bool		done = res != NULL && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;

	if (res)
		PQclear(res);
	return done;
}

/*
 * After the primary restarted with a lowered limit: a standby restarts only
 * once it has replayed the primary's record of the new values (written at
 * its start), which also lowers what the standby's control file demands;
 * restarted before, it would refuse to start ("insufficient parameter
 * settings").
 */
static void
wait_standby_caught_up(CbCluster *c, CbInstance *standby)
{
	PGconn	   *conn = cb_connect_instance(c, &c->instances[0], "postgres");
	char	   *err = NULL;
	ReplayWait	r = {c, standby, NULL};
	CbWaitSpec	spec = {"a standby's replay of the primary's new settings", CB_STREAM_AGAIN_MS * 2, standby_conn};

	r.lsn = cb_query_value(conn, "SELECT pg_catalog.pg_current_wal_lsn()::text", &err);
	cb_disconnect(conn);
	if (r.lsn == NULL || !cb_wait_until(replayed, &r, &spec))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("%s did not replay the primary's new settings within %d s",
						standby->name, CB_STREAM_AGAIN_MS * 2 / 1000),
				 errhint("It is restarted to apply them once it has.")));
}

/*
 * Reload every running instance (when the files changed); those left with
 * a parameter that needs a restart are restarted in turn, standbys first
 * and the primary last, as CloudNativePG's unsupervised primary update
 * does (in place: no switchover here), or the primary first when it lowers
 * a limit its standbys must match.  Nothing stays pending_restart:
 * also looked at when nothing was written now, for a run cut short between
 * writing the files and the last restart.
 */
void
cb_lifecycle_apply_config(CbCluster *c, bool reload)
{
	bool	   *restart = palloc0(sizeof(bool) * c->ninstances);
	bool		primary_first;

	for (int i = 0; i < c->ninstances; i++)
	{
		CbInstance *inst = &c->instances[i];

		if (!has_pgdata(inst) || cb_instance_pid(inst->pgdata) == 0)
			continue;
		restart[i] = reload ? reload_instance(c, inst) : restart_pending(c, inst) != NULL;
	}
	primary_first = c->ninstances > 1 && restart[0] && lowers_standby_limits(c);

	for (int k = 1; k <= c->ninstances; k++)
	{
		/* 1 .. n-1 are the standbys, then 0, the primary; or 0 first */
		int			i = primary_first ? k - 1 : k % c->ninstances;
		char	   *params;

		if (!restart[i] || (params = restart_pending(c, &c->instances[i])) == NULL)
			continue;
		if (primary_first && i > 0)
			wait_standby_caught_up(c, &c->instances[i]);
		restart_for_config(c, &c->instances[i], params);
		if ((params = restart_pending(c, &c->instances[i])) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("%s still has settings pending a restart after its restart: %s",
							c->instances[i].name, params)));
	}
}

/* ---------- scaling down ---------- */

static bool
slot_released(CbWait *w, void *arg)
{
	const char *slot = arg;
	const char *params[] = {slot};
	char	   *err = NULL;
	PGresult   *res = cb_exec_params(cb_wait_conn(w, 0),
									 "SELECT 1 FROM pg_catalog.pg_replication_slots"
									 " WHERE slot_name = $1 AND active", 1, params, &err);
	bool		released = res != NULL && PQntuples(res) == 0;

	if (res)
		PQclear(res);
	return released;
}


/* drop a removed standby's slot on the primary once its walsender is gone */
static void
drop_slot(CbCluster *c, const char *slot)
{
	CbWaitSpec	spec = {"a replication slot's release", CB_SLOT_RELEASE_MS, primary_conn};
	PGconn	   *conn;
	const char *params[] = {slot};
	char	   *err = NULL;
	PGresult   *res;

	slot_cluster = c;
	(void) cb_wait_until(slot_released, unconstify(char *, slot), &spec);
	conn = cb_connect_instance(c, &c->instances[0], "postgres");
	res = cb_exec_params(conn,
						 "SELECT pg_catalog.pg_drop_replication_slot(slot_name)"
						 " FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
						 1, params, &err);
	if (res)
		PQclear(res);
	cb_disconnect(conn);
	if (err != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not drop replication slot \"%s\": %s", slot, err)));
}

/*
 * Remove the instances beyond spec.instances, highest first: stopped, slot
 * dropped, directory removed (inside this cluster's directory, whose
 * marker is checked first), row deleted, which frees its port.
 */
void
cb_lifecycle_scale_down(CbCluster *c)
{
	List	   *extra = cb_status_instances_beyond(c->name, c->ninstances);
	ListCell   *lc;
	char	   *refusal;

	if (extra == NIL)
		return;
	if ((refusal = cb_owned_dir_refusal(c->dir, c->name)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("not removing instances of cluster \"%s\"", c->name),
				 errdetail("%s.", refusal)));
	foreach(lc, extra)
	{
		CbInstance	inst;
		struct stat st;

		memset(&inst, 0, sizeof(inst));
		inst.name = lfirst(lc);
		inst.dir = psprintf("%s/%s", c->dir, inst.name);
		inst.pgdata = psprintf("%s/pgdata", inst.dir);
		cb_journal_phase(c->journal, CB_PHASE_WAITING,
						 psprintf("scaling down to %d instances: removing %s",
								  c->ninstances, inst.name));
		ereport(LOG,
				(errmsg("cnpg_bootstrap: removing instance \"%s\" of cluster \"%s\" (scaling down to %d)",
						inst.name, c->name, c->ninstances)));
		cb_instance_stop(c, inst.pgdata, "fast");
		drop_slot(c, cb_slot_name(&inst));
		/* a real directory of ours, never a link out of the tree */
		if (lstat(inst.dir, &st) == 0 && S_ISDIR(st.st_mode) && !cb_rmtree(inst.dir))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not remove \"%s\": %m", inst.dir)));
		cb_fsync_dir(c->dir);
		cb_status_forget_instance(c->name, inst.name);
	}
}

/* ---------- standbys streaming again ---------- */

/*
 * A standby that cannot stream because the primary no longer has the WAL
 * it needs (its log says so since its last start) is cloned again: its
 * clone is forgotten, and cb_standbys_clone makes it anew.  True if one was.
 */
static bool
forget_lost(CbCluster *c)
{
	bool		any = false;

	for (int i = 1; i < c->ninstances; i++)
	{
		CbInstance *inst = &c->instances[i];

		if (!has_pgdata(inst) || !cb_serverlog_wal_gone(inst->logdir))
			continue;
		ereport(LOG,
				(errmsg("cnpg_bootstrap: standby \"%s\" of cluster \"%s\" needs WAL the primary no longer has; cloning it again",
						inst->name, c->name)));
		cb_journal_phase(c->journal, CB_PHASE_NEW_REPLICA,
						 psprintf("cloning %s again: the WAL it needs is gone from the primary",
								  inst->name));
		cb_instance_stop(c, inst->pgdata, "fast");
		cb_step_forget_instance(c->name, "clone", inst->name);
		any = true;
	}
	return any;
}

/* a pass: every standby streams (seen from the primary), or one lost its WAL */
static bool
streaming_or_lost(CbWait *w, void *arg)
{
	CbCluster  *c = arg;
	char	   *err = NULL;
	char	   *n = cb_query_value(cb_wait_conn(w, 0),
								   "SELECT count(*) FROM pg_catalog.pg_stat_replication"
								   " WHERE state = 'streaming'", &err);

	if (n != NULL && atoi(n) >= c->ninstances - 1)
		return true;
	for (int i = 1; i < c->ninstances; i++)
		if (has_pgdata(&c->instances[i]) && cb_serverlog_wal_gone(c->instances[i].logdir))
			return true;
	return false;
}

/*
 * Every standby streaming again: the HA slots there (a standby left
 * without one cannot stream), the standbys that lost their WAL cloned
 * again, the others given time to reconnect; then the usual check.
 */
void
cb_lifecycle_streaming(CbCluster *c)
{
	CbWaitSpec	spec = {"the standbys streaming", CB_STREAM_AGAIN_MS, primary_conn};

	if (c->ninstances < 2)
		return;
	slot_cluster = c;
	cb_standbys_ensure_slots(c);
	for (int round = 0; round < 2; round++)
	{
		(void) forget_lost(c);
		cb_standbys_clone(c);
		cb_standbys_start(c);
		(void) cb_wait_until(streaming_or_lost, c, &spec);
	}
	cb_standbys_wait_streaming(c);
}

/* ---------- hibernation ---------- */

/*
 * Stop every instance, the primary first (its shutdown checkpoint reaches
 * the standbys, which then stop with all of it), as CloudNativePG's
 * hibernation deletes the primary's pod and then the replicas'.
 */
void
cb_lifecycle_hibernate(CbCluster *c)
{
	List	   *present = cb_status_instances_beyond(c->name, 0);

	/* not hibernated before it is: cnpg_bootstrap_wait() returns on that phase */
	cb_journal_phase(c->journal, CB_PHASE_WAITING, "hibernating: stopping the instances, primary first");
	/* instances_beyond lists the highest first: the primary is last */
	for (int i = list_length(present) - 1; i >= 0; i--)
	{
		const char *name = list_nth(present, i);

		cb_instance_stop(c, psprintf("%s/%s/pgdata", c->dir, name), "fast");
		cb_status_instance(c->name, name, NULL, "hibernated", 0, 0, NULL, NULL);
	}
	cb_status_ready(c->name, 0, c->instances[0].name, c->host, c->instances[0].port);
	cb_journal_phase(c->journal, CB_PHASE_HIBERNATED, "Cluster has been hibernated");
	ereport(LOG, (errmsg("cnpg_bootstrap: cluster \"%s\" hibernated", c->name)));
}
