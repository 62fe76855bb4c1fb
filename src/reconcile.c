/*-------------------------------------------------------------------------
 *
 * reconcile.c
 *	  The plan: named steps that take a stored Cluster to running
 *	  instances.  Steps are idempotent; the destructive ones are journaled
 *	  in cnpg_bootstrap.steps, so that a worker restarted after a crash of
 *	  the control instance resumes at the first unfinished step and never
 *	  reuses a half-made data directory: an interrupted initdb or post-init
 *	  is redone from initdb, so every post-init statement ends up run
 *	  exactly once in the cluster that is kept.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xact.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "cnpg_bootstrap.h"
#include "basebackup.h"
#include "catalog.h"
#include "certs.h"
#include "environment.h"
#include "faultinject.h"
#include "fsutil.h"
#include "hostlayout.h"
#include "import.h"
#include "initdb.h"
#include "instance.h"
#include "lifecycle.h"
#include "ownership.h"
#include "pgconn.h"
#include "ports.h"
#include "postinit.h"
#include "process.h"
#include "reconcile.h"
#include "resolve.h"
#include "restore.h"
#include "standby.h"
#include "status.h"

typedef void (*StepFn) (CbCluster *c);

typedef struct Step
{
	const char *name;
	StepFn		fn;
	bool		journaled;		/* recorded; skipped once done */
	const char *redo_from;		/* if found interrupted, redo from this step */
} Step;

static void step_prepare(CbCluster *c);
static void step_secrets(CbCluster *c);
static void step_resolve(CbCluster *c);
static void step_initdb(CbCluster *c);
static void step_start(CbCluster *c);
static void step_postinit(CbCluster *c);
static void step_roles(CbCluster *c);
static void step_pki(CbCluster *c);
static void step_standbys(CbCluster *c);
static void step_streaming(CbCluster *c);
static void step_healthy(CbCluster *c);
static void step_source(CbCluster *c);
static void step_import(CbCluster *c);
static void step_preflight(CbCluster *c);
static void step_clone(CbCluster *c);
static void step_configure_copy(CbCluster *c);
static void step_promote_copy(CbCluster *c);
static void step_app_after_copy(CbCluster *c);
static void step_store(CbCluster *c);
static void step_restore(CbCluster *c);
static void step_configure_restore(CbCluster *c);
static void step_promote_restore(CbCluster *c);
static void step_restart(CbCluster *c);
static void step_configure_again(CbCluster *c);
static void step_scale_down(CbCluster *c);
static void step_streaming_again(CbCluster *c);
static void step_hibernate(CbCluster *c);

static const Step initdb_plan[] = {
	{"prepare", step_prepare, false, NULL},
	{"secrets", step_secrets, false, NULL},
	{"pki", step_pki, false, NULL},
	{"resolve-references", step_resolve, false, NULL},
	{"initdb", step_initdb, true, "initdb"},
	{"start", step_start, false, NULL},
	{"post-init", step_postinit, true, "initdb"},
	/* databases are journaled one by one inside the step */
	{"import", step_import, false, NULL},
	{"roles", step_roles, false, NULL},
	/* clones are journaled per instance inside the step */
	{"standbys", step_standbys, false, NULL},
	{"streaming", step_streaming, false, NULL},
	{"healthy", step_healthy, false, NULL},
};

static const Step basebackup_plan[] = {
	{"prepare", step_prepare, false, NULL},
	{"secrets", step_secrets, false, NULL},
	{"pki", step_pki, false, NULL},
	{"resolve-references", step_resolve, false, NULL},
	{"source", step_source, false, NULL},
	{"preflight", step_preflight, false, NULL},
	{"clone", step_clone, true, "clone"},
	/* once the copy has started it must not get recovery.signal again */
	{"configure", step_configure_copy, true, NULL},
	{"start", step_start, false, NULL},
	{"promote", step_promote_copy, false, NULL},
	{"app-database", step_app_after_copy, false, NULL},
	{"roles", step_roles, false, NULL},
	{"standbys", step_standbys, false, NULL},
	{"streaming", step_streaming, false, NULL},
	{"healthy", step_healthy, false, NULL},
};

static const Step recovery_plan[] = {
	{"prepare", step_prepare, false, NULL},
	{"secrets", step_secrets, false, NULL},
	{"pki", step_pki, false, NULL},
	{"resolve-references", step_resolve, false, NULL},
	{"store", step_store, false, NULL},
	{"restore", step_restore, true, "restore"},
	/* like a copy: once it has started it must not be configured again */
	{"configure", step_configure_restore, true, NULL},
	{"start", step_start, false, NULL},
	{"promote", step_promote_restore, false, NULL},
	{"app-database", step_app_after_copy, false, NULL},
	{"roles", step_roles, false, NULL},
	{"standbys", step_standbys, false, NULL},
	{"streaming", step_streaming, false, NULL},
	{"healthy", step_healthy, false, NULL},
};

/*
 * After bootstrap (lifecycle.c): a cluster that was healthy once and needs
 * work again (an instance found stopped, a spec applied again, a start
 * after hibernation) runs this plan, whatever its bootstrap method was:
 * nothing of the method (source, store, initdb) is touched again.
 */
static const Step maintain_plan[] = {
	{"prepare", step_prepare, false, NULL},
	{"secrets", step_secrets, false, NULL},
	{"pki", step_pki, false, NULL},
	{"resolve-references", step_resolve, false, NULL},
	{"restart", step_restart, false, NULL},
	{"reconfigure", step_configure_again, false, NULL},
	{"scale-down", step_scale_down, false, NULL},
	{"standbys", step_standbys, false, NULL},
	{"streaming", step_streaming_again, false, NULL},
	{"healthy", step_healthy, false, NULL},
};

static const Step hibernate_plan[] = {
	{"prepare", step_prepare, false, NULL},
	{"hibernate", step_hibernate, false, NULL},
};

/* ---------- steps ---------- */

static void
step_prepare(CbCluster *c)
{
	int			lo,
				hi;

	cb_resolve_bindir(c);
	if (!c->after_bootstrap && cb_step_state(c->name, "initdb", NULL) != CB_STEP_DONE)
		cb_check_free_space(c);
	cb_layout_create(c);
	if (!cb_parse_port_range(cb_port_range, &lo, &hi))
		elog(ERROR, "invalid cnpg_bootstrap.port_range");
	for (int i = 0; i < c->ninstances; i++)
		c->instances[i].port = cb_status_instance_port(c->name, c->instances[i].name,
													   c->instances[i].serial,
													   c->instances[i].pgdata, lo, hi);
}

/* the application database, owner and Secret of the bootstrap method */
static void
app_of_method(CbCluster *c, const char **db, const char **owner, const CbKeyRef **secret)
{
	const CbBootstrap *b = &c->spec->bootstrap;

	switch (b->method)
	{
		case CB_BOOTSTRAP_INITDB:
			*db = b->initdb.database;
			*owner = b->initdb.owner;
			*secret = &b->initdb.secret;
			break;
		case CB_BOOTSTRAP_PG_BASEBACKUP:
			*db = b->pg_basebackup.database;
			*owner = b->pg_basebackup.owner;
			*secret = &b->pg_basebackup.secret;
			break;
		case CB_BOOTSTRAP_RECOVERY:
			*db = b->recovery.database;
			*owner = b->recovery.owner;
			*secret = &b->recovery.secret;
			break;
	}
}

static void
step_secrets(CbCluster *c)
{
	const char *db = NULL;
	const char *owner = NULL;
	const CbKeyRef *secret = NULL;

	app_of_method(c, &db, &owner, &secret);
	c->replica = cb_is_replica_cluster(c->spec);
	c->app_db = (char *) db;
	c->app_owner = (char *) owner;
	/* a replica cluster gets no application database: it is read-only */
	c->has_app = !c->replica && db && db[0] && owner && owner[0];
	c->app_secret_name = secret->present && secret->name ?
		secret->name : psprintf("%s-app", c->name);

	if (c->has_app && !secret->present)
		cb_resolve_credential_secret(c, c->app_secret_name, c->app_owner, c->app_db, "app");
	if (c->spec->enable_superuser_access && !c->spec->has_superuser_secret)
		cb_resolve_credential_secret(c, c->spec->superuser_secret_name, "postgres", "*",
								 "superuser");
}

static void
step_resolve(CbCluster *c)
{
	const CbInitdb *initdb = &c->spec->bootstrap.initdb;

	/* what the methods read of the externalClusters they use */
	c->resolved = cb_resolve_external_clusters(c);
	if (c->has_app)
		c->app_password = cb_resolve_credential_password(c->app_secret_name, c->app_owner,
														 "the application Secret",
														 c->spec->bootstrap.method == CB_BOOTSTRAP_INITDB);
	if (c->spec->enable_superuser_access)
		c->superuser_password = cb_resolve_credential_password(c->spec->superuser_secret_name,
															   "postgres", "spec.superuserSecret.name", true);
	/* CNPG ignores the *SQLRefs when importing (docs/cnpg-rules.md §4.1) */
	if (c->spec->bootstrap.method != CB_BOOTSTRAP_INITDB || initdb->import.present)
		return;
	cb_resolve_sql_refs(c, CB_POSTINIT_POSTGRES, &initdb->post_init_sql_refs, "spec.bootstrap.initdb.postInitSQLRefs");
	cb_resolve_sql_refs(c, CB_POSTINIT_TEMPLATE1, &initdb->post_init_template_sql_refs,
						"spec.bootstrap.initdb.postInitTemplateSQLRefs");
	cb_resolve_sql_refs(c, CB_POSTINIT_APP, &initdb->post_init_application_sql_refs,
						"spec.bootstrap.initdb.postInitApplicationSQLRefs");
}

static void
step_initdb(CbCluster *c)
{
	cb_status_mark_bootstrapped(c->name);
	cb_status_phase(c->name, CB_PHASE_SETTING_UP,
					psprintf("Creating primary instance %s", c->instances[0].name));
	cb_initdb_run(c, &c->instances[0]);
}

static void
step_start(CbCluster *c)
{
	cb_instance_start(c, &c->instances[0]);
}

static void
step_postinit(CbCluster *c)
{
	cb_postinit_run(c, &c->instances[0]);
}

static void
step_roles(CbCluster *c)
{
	if (!c->replica)
		cb_configure_roles(c, &c->instances[0]);
}

static void
step_import(CbCluster *c)
{
	if (c->spec->bootstrap.initdb.import.present)
		cb_import_run(c, &c->instances[0]);
}

static void
step_source(CbCluster *c)
{
	const char *name = c->spec->bootstrap.pg_basebackup.source;

	c->source = cb_source_prepare(c, name, "spec.bootstrap.pg_basebackup.source");
}

static void
step_preflight(CbCluster *c)
{
	if (cb_step_state(c->name, "clone", NULL) != CB_STEP_DONE)
		cb_basebackup_preflight(c, c->source);
}

static void
step_clone(CbCluster *c)
{
	cb_status_mark_bootstrapped(c->name);
	cb_basebackup_clone(c, c->source);
}

static void
step_configure_copy(CbCluster *c)
{
	cb_basebackup_configure(c, c->source, c->replica);
}

static void
step_promote_copy(CbCluster *c)
{
	if (c->replica)
		cb_wait_following_source(c);
	else
		cb_wait_promoted(c);
}

static void
step_app_after_copy(CbCluster *c)
{
	if (!c->replica)
		cb_app_database_after_copy(c, &c->instances[0]);
}

/* the store's credentials; the backup only while it is still to restore */
static void
step_store(CbCluster *c)
{
	c->restore = cb_restore_prepare(c, cb_step_state(c->name, "restore", NULL) != CB_STEP_DONE);
}

static void
step_restore(CbCluster *c)
{
	cb_restore_base(c, c->restore);
}

static void
step_configure_restore(CbCluster *c)
{
	cb_restore_configure(c, c->restore, c->replica);
}

static void
step_promote_restore(CbCluster *c)
{
	cb_restore_wait(c, c->replica);
}

/*
 * The cluster's TLS Secrets: those that exist are used as they are, what
 * is missing is made (certs.c) and stored as generated, never over a
 * Secret this cluster did not generate; then the instances' files.
 */
static void
step_pki(CbCluster *c)
{
	CbPki		pki;

	cb_certs_names(c, &pki);
	cb_resolve_pki(&pki);
	cb_certs_make(c, &pki);
	cb_resolve_store_pki(c, &pki);
	cb_certs_write(c, &pki);
}

static void
step_standbys(CbCluster *c)
{
	cb_standbys_clone(c);
	cb_standbys_start(c);
}

static void
step_streaming(CbCluster *c)
{
	cb_standbys_wait_streaming(c);
}

static void
step_restart(CbCluster *c)
{
	cb_lifecycle_restart_stopped(c);
}

/* a spec applied again: files written where they changed, reloaded, restarts */
static void
step_configure_again(CbCluster *c)
{
	cb_lifecycle_apply_config(c, cb_lifecycle_write_config(c));
}

static void
step_scale_down(CbCluster *c)
{
	cb_lifecycle_scale_down(c);
}

static void
step_streaming_again(CbCluster *c)
{
	cb_lifecycle_streaming(c);
}

static void
step_hibernate(CbCluster *c)
{
	cb_lifecycle_hibernate(c);
}

/* role, pid, timeline, LSN and lag of every instance, read from the servers */
static void
step_healthy(CbCluster *c)
{
	CbInstance *primary = &c->instances[0];
	PGconn	   *conn = cb_connect_instance(c, primary, "postgres");
	char	   *err = NULL;
	char	   *primary_lsn = cb_query_value(conn,
												 "SELECT CASE WHEN pg_catalog.pg_is_in_recovery()"
												 " THEN pg_catalog.pg_last_wal_replay_lsn()"
												 " ELSE pg_catalog.pg_current_wal_lsn() END", &err);

	/* the primary's connection serves its own row too */
	for (int i = 0; i < c->ninstances; i++)
	{
		CbInstance *inst = &c->instances[i];
		const char *params[] = {primary_lsn};
		char	   *tli;
		char	   *lsn;
		char	   *lag = NULL;
		PGresult   *res;

		if (i > 0)
			conn = cb_connect_instance(c, inst, "postgres");
		tli = cb_query_value(conn, "SELECT timeline_id FROM pg_catalog.pg_control_checkpoint()", &err);
		if (i == 0)
			lsn = primary_lsn;
		else
		{
			res = cb_exec_params(conn,
								 "SELECT pg_catalog.pg_last_wal_replay_lsn(),"
								 " greatest(0, pg_catalog.pg_wal_lsn_diff($1::pg_lsn,"
								 "  pg_catalog.pg_last_wal_replay_lsn()))::bigint",
								 1, params, &err);
			lsn = res && PQntuples(res) ? pstrdup(PQgetvalue(res, 0, 0)) : NULL;
			lag = res && PQntuples(res) ? pstrdup(PQgetvalue(res, 0, 1)) : NULL;
			if (res)
				PQclear(res);
		}
		cb_disconnect(conn);
		cb_status_instance(c->name, inst->name, i == 0 ? "primary" : "replica",
						   i == 0 && !c->replica ? "running" : "streaming",
						   cb_instance_pid(inst->pgdata), tli ? atoi(tli) : 0, lsn, lag);
	}
	cb_status_ready(c->name, c->ninstances, primary->name, c->host, primary->port);
	cb_status_observed(c->name, c->generation);
	cb_status_phase(c->name, CB_PHASE_HEALTHY,
					c->replica ? psprintf("Replica cluster: %s follows source %s in continuous recovery",
										  primary->name, c->spec->replica.source) : NULL);
}

/* ---------- running the plan ---------- */

/* a method's progress line; its first one is the step's middle (faultinject.c) */
static void
progress_report(const char *cluster, const char *progress)
{
	cb_fault_point(NULL, NULL, CB_FAULT_MIDDLE);
	cb_status_progress(cluster, progress);
}

static void
record_failure(CbCluster *c, const Step *step, ErrorData *edata)
{
	StringInfoData reason;

	initStringInfo(&reason);
	appendStringInfo(&reason, "%s: %s", step->name, edata->message);
	if (edata->detail && edata->detail[0])
		appendStringInfo(&reason, "\n%s", edata->detail);
	if (step->journaled)
		cb_step_finish(c->name, step->name, NULL, false, reason.data);
	if (c->after_bootstrap)
	{
		/* the cluster ran once: it is not given up, the launcher retries */
		cb_status_phase(c->name, CB_PHASE_WAITING,
						psprintf("%s\nThe worker tries again by itself, with a growing delay (at most 5 minutes).",
								 reason.data));
		return;
	}
	cb_status_phase(c->name, CB_PHASE_FAILED, reason.data);
}

/*
 * Was the step interrupted rather than failed?  A child tool killed from
 * outside, or a primary that was running and is gone: neither says the
 * spec or the data is wrong, so the step is left unfinished (the journal
 * says running) and the next run redoes it, as after a crash of the worker.
 */
static bool
interrupted(CbCluster *c, uint64 killed_before, bool primary_started)
{
	if (cb_children_killed_count() != killed_before)
		return true;
	return primary_started && cb_instance_pid(c->instances[0].pgdata) == 0;
}

/*
 * The host is at fault (environment.c): no failure, the phase says what to
 * fix, and the worker ends, to be relaunched with the launcher's growing
 * delay.  A half-made copy goes at once: it is redone anyway, and on a full
 * disk it holds the space the retry needs.
 */
static void
wait_for_host(CbCluster *c, const Step *step, const char *cause)
{
	for (int i = 0; i < c->ninstances; i++)
		if (!cb_instance_drop_tmp(&c->instances[i]))
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not remove \"%s\": %m", cb_instance_tmp(&c->instances[i]))));
	ereport(LOG,
			(errmsg("cnpg_bootstrap: cluster \"%s\" waits for the host at step \"%s\": %s",
					c->name, step->name, cause)));
	cb_status_phase(c->name, CB_PHASE_SETTING_UP,
					psprintf("%s: waiting for the host: %s\n"
							 "The worker tries again by itself, with a growing delay (at most 5 minutes); no re-apply is needed.",
							 step->name, cause));
}

/*
 * A recovering server stopped by its WAL program (the store did not
 * answer) says why only in its own log: whatever step failed over it (the
 * wait for the promotion, a start again), that error joins the DETAIL,
 * where environment.c can tell the host's failure and the log shows it.
 */
static void
add_wal_error(CbCluster *c, ErrorData *edata)
{
	char	   *wal;

	if (c->restore == NULL || c->ninstances == 0 ||
		cb_instance_pid(c->instances[0].pgdata) != 0 ||
		(wal = cb_restore_wal_error(&c->instances[0])) == NULL)
		return;
	edata->detail = edata->detail ?
		psprintf("%s\n%s", edata->detail, wal) : wal;
}

/*
 * run one step; false if it failed (recorded) or was interrupted.
 * primary_started: the plan started the primary before this step.
 */
static bool
run_step(CbCluster *c, const Step *step, bool primary_started)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;
	uint64		killed_before = cb_children_killed_count();
	char	   *cause;

	PG_TRY();
	{
		cb_fault_point(c, step->name, CB_FAULT_START);
		step->fn(c);
		cb_fault_point(c, step->name, CB_FAULT_END);
		cb_fault_step_done();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		cb_fault_step_done();
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (IsTransactionState())
			AbortCurrentTransaction();
		add_wal_error(c, edata);
		edata->elevel = LOG;
		edata->hide_stmt = true;
		ThrowErrorData(edata);
		/* the host's fault first: its reason names what to fix */
		if ((cause = cb_environment_cause(c, edata)) != NULL)
			wait_for_host(c, step, cause);
		else if (interrupted(c, killed_before, primary_started))
		{
			ereport(LOG,
					(errmsg("cnpg_bootstrap: step \"%s\" of cluster \"%s\" was interrupted; the next run redoes it",
							step->name, c->name)));
			cb_status_progress(c->name, psprintf("%s: interrupted (%s); retrying", step->name,
												 edata->message));
		}
		else
			record_failure(c, step, edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

static int
step_index(const Step *plan, int nsteps, const char *name)
{
	for (int i = 0; i < nsteps; i++)
		if (strcmp(plan[i].name, name) == 0)
			return i;
	elog(ERROR, "unknown step \"%s\"", name);
	return -1;
}

static void
run_plan(CbCluster *c, const Step *plan, int nsteps)
{
	bool		started = false;

	for (int i = 0; i < nsteps; i++)
	{
		const Step *step = &plan[i];

		CHECK_FOR_INTERRUPTS();

		/*
		 * Once the primary was started, every later step needs it: one that
		 * died in between (a crash, a kill) is started again rather than
		 * failing the step that would first reach it.
		 */
		if (started && cb_instance_pid(c->instances[0].pgdata) == 0)
		{
			ereport(LOG,
					(errmsg("cnpg_bootstrap: instance \"%s\" of cluster \"%s\" is not running; starting it again before step \"%s\"",
							c->instances[0].name, c->name, step->name)));
			if (!run_step(c, &plan[step_index(plan, nsteps, "start")], false))
				return;
		}
		if (strcmp(step->name, "start") == 0)
			started = true;
		if (step->journaled)
		{
			CbStepState state = cb_step_state(c->name, step->name, NULL);

			if (state == CB_STEP_DONE)
				continue;
			if (state == CB_STEP_FAILED)
				return;
			if (state == CB_STEP_RUNNING && step->redo_from &&
				strcmp(step->redo_from, step->name) != 0)
			{
				int			from = step_index(plan, nsteps, step->redo_from);

				ereport(LOG,
						(errmsg("cnpg_bootstrap: step \"%s\" of cluster \"%s\" was interrupted; redoing from \"%s\"",
								step->name, c->name, step->redo_from)));
				for (int j = from; j <= i; j++)
					if (plan[j].journaled)
						cb_step_forget(c->name, plan[j].name);
				i = from - 1;
				continue;
			}
			if (!cb_step_begin(c->name, step->name, NULL))
				return;			/* the cluster was deleted meanwhile */
		}
		if (!run_step(c, step, started && strcmp(step->name, "start") != 0))
			return;
		if (step->journaled)
			cb_step_finish(c->name, step->name, NULL, true, NULL);
		if (c->end_run)
			return;				/* the step said so: nothing failed */
	}
}

/* stop the postmaster of every <directory>/<instance>/pgdata */
static void
stop_instances(CbCluster *c, const char *directory)
{
	DIR		   *dir;
	struct dirent *de;
	List	   *pgdatas = NIL;
	ListCell   *lc;

	if ((dir = AllocateDir(directory)) == NULL)
		return;
	while ((de = ReadDir(dir, directory)) != NULL)
	{
		struct stat st;
		char	   *inst = psprintf("%s/%s", directory, de->d_name);

		/* real directories only: never follow a link out of our tree */
		if (de->d_name[0] != '.' && lstat(inst, &st) == 0 && S_ISDIR(st.st_mode))
			pgdatas = lappend(pgdatas, psprintf("%s/pgdata", inst));
	}
	FreeDir(dir);
	foreach(lc, pgdatas)
		cb_instance_stop(c, lfirst(lc), "fast");
}

/*
 * Stop the servers of a deleted cluster and remove its directory, only if
 * ownership.c proves it is ours under the data_root in force; else keep
 * the teardown row, with the reason, and touch nothing.  Returns NULL when
 * done, else why not.
 */
static char *
teardown(const char *name, const char *directory)
{
	MemoryContext cxt = CurrentMemoryContext;
	CbCluster	c;
	struct stat st;
	char	   *refusal;

	memset(&c, 0, sizeof(c));
	c.name = name;
	if (directory == NULL || (lstat(directory, &st) != 0 && errno == ENOENT))
	{
		/* recorded without a directory (no data_root then), or none made */
		cb_status_teardown_done(name);
		ereport(LOG,
				(errmsg("cnpg_bootstrap: cluster \"%s\" deleted; it had no directory to remove", name),
				 directory ? 0 :
				 errdetail("It was deleted while cnpg_bootstrap.data_root was empty and no directory of it was known: nothing was stopped or removed.")));
		return NULL;
	}

	refusal = cb_owned_dir_refusal(directory, name);
	if (refusal == NULL)
	{
		PG_TRY();
		{
			stop_instances(&c, directory);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			refusal = psprintf("its servers could not be stopped: %s", edata->message);
		}
		PG_END_TRY();
	}
	if (refusal != NULL)
	{
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cnpg_bootstrap: not removing \"%s\" of deleted cluster \"%s\"",
						directory, name),
				 errdetail("%s.", refusal),
				 errhint("The worker tries again in a minute.  If the directory is yours to remove, stop its servers and remove it by hand, then delete the cluster's row from cnpg_bootstrap.teardown.")));
		cb_status_teardown_refused(name, refusal);
		return refusal;
	}
	if (!cb_owned_dir_remove(directory))
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove \"%s\" of deleted cluster \"%s\": %m",
						directory, name)));
		refusal = "its directory could not be removed completely";
		cb_status_teardown_refused(name, refusal);
		return refusal;
	}
	cb_status_teardown_done(name);
	ereport(LOG, (errmsg("cnpg_bootstrap: cluster \"%s\" deleted", name)));
	return NULL;
}

void
cb_reconcile_cluster(const char *name)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "cnpg_bootstrap reconcile",
											  ALLOCSET_DEFAULT_SIZES);
	CbCluster	c;
	CbJournal	journal;
	char	   *directory;
	char	   *refusal;
	char	   *cause;
	const Step *failed_at = &initdb_plan[0];
	int			observed;
	bool		hibernation;
	char	   *phase;

	MemoryContextSwitchTo(cxt);
	if (cb_status_teardown_pending(name, &directory) &&
		(refusal = teardown(name, directory)) != NULL)
	{
		/* a Cluster applied again under that name must not move in there */
		cb_status_phase(name, CB_PHASE_FAILED,
						psprintf("prepare: the deleted Cluster \"%s\" is not torn down yet: %s\n"
								 "Delete this Cluster, see cnpg_bootstrap.teardown, and apply it again once that row is gone.",
								 name, refusal));
		return;
	}

	memset(&c, 0, sizeof(c));
	c.name = name;
	cb_status_journal(&journal, name);
	journal.progress = progress_report;
	c.journal = &journal;
	cb_tx_begin();
	c.spec = cb_catalog_load_cluster(name, &c.generation);
	cb_catalog_cluster_lifecycle(name, &observed, &hibernation, &phase);
	cb_tx_commit();
	if (c.spec == NULL)
		return;
	c.after_bootstrap = observed > 0;
	c.waking = phase != NULL && strcmp(phase, CB_PHASE_HIBERNATED) == 0;

	/* layout problems (data_root, socket path) fail before any step */
	PG_TRY();
	{
		cb_layout_init(&c);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (IsTransactionState())
			AbortCurrentTransaction();
		if ((cause = cb_environment_cause(&c, edata)) != NULL)
			wait_for_host(&c, failed_at, cause);
		else
			record_failure(&c, failed_at, edata);
		return;
	}
	PG_END_TRY();

	if (c.after_bootstrap)
	{
		/* a spec applied again: supervise.c keeps off while it is applied */
		if (phase != NULL && strcmp(phase, CB_PHASE_HEALTHY) == 0 && !hibernation)
			cb_status_phase(name, CB_PHASE_APPLYING,
							psprintf("applying generation %d of the spec", c.generation));
		if (hibernation)
			run_plan(&c, hibernate_plan, lengthof(hibernate_plan));
		else
			run_plan(&c, maintain_plan, lengthof(maintain_plan));
		return;
	}
	switch (c.spec->bootstrap.method)
	{
		case CB_BOOTSTRAP_INITDB:
			run_plan(&c, initdb_plan, lengthof(initdb_plan));
			break;
		case CB_BOOTSTRAP_PG_BASEBACKUP:
			run_plan(&c, basebackup_plan, lengthof(basebackup_plan));
			break;
		case CB_BOOTSTRAP_RECOVERY:
			run_plan(&c, recovery_plan, lengthof(recovery_plan));
			break;
	}
}
