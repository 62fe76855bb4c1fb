/*-------------------------------------------------------------------------
 *
 * basebackup.c
 *	  Bootstrap from a live cluster (SPEC-cnpg.md section 8, with the seed's
 *	  rules of SPEC.md 4b): preflight the source, clone it with
 *	  pg_basebackup (WAL streamed, fast checkpoint) into pgdata.tmp, then
 *	  take the copy over with our own configuration.  A copy that is not a
 *	  replica cluster is promoted onto a new timeline: recovery.signal with
 *	  a restore_command that finds nothing, so PostgreSQL replays the WAL
 *	  the backup carries and then picks a new timeline.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "basebackup.h"
#include "cnpg_bootstrap.h"
#include "fsutil.h"
#include "hostlayout.h"
#include "initdb.h"
#include "instance.h"
#include "pgconn.h"
#include "postinit.h"
#include "process.h"
#include "status.h"

#define CB_PROMOTE_TIMEOUT_MS 600000

/* one row, one column of a query on the source, or ERROR */
static char *
source_value(PGconn *conn, const CbSource *src, const char *sql)
{
	char	   *err = NULL;
	char	   *v = cb_query_value(conn, sql, &err);

	if (v == NULL)
	{
		cb_disconnect(conn);
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("preflight of source %s: %s", src->spec->name, err ? err : "no answer")));
	}
	return v;
}

static void
preflight_failed(PGconn *conn, const CbSource *src, const char *what, const char *detail,
				 const char *hint)
{
	cb_disconnect(conn);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("source %s: %s", src->spec->name, what),
			 detail ? errdetail("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}

void
cb_basebackup_preflight(CbCluster *c, const CbSource *src)
{
	/* like pg_basebackup's own connection, which has no database, use postgres */
	PGconn	   *conn = cb_source_connect(src, cb_map_get(&src->spec->connection_parameters, "dbname") ?
										 NULL : "postgres");
	int			major = atoi(source_value(conn, src, "SHOW server_version_num")) / 10000;
	int			free_senders;
	char	   *tablespaces;
	int64		size;
	int64		free_bytes;

	if (strcmp(source_value(conn, src,
							"SELECT rolreplication OR rolsuper FROM pg_catalog.pg_roles"
							" WHERE rolname = current_user"), "t") != 0)
		preflight_failed(conn, src, "the role has neither REPLICATION nor SUPERUSER",
						 psprintf("pg_basebackup connects as \"%s\".", PQuser(conn)),
						 "Use a role with LOGIN REPLICATION (CloudNativePG sources: streaming_replica with its certificate).");
	if (major != c->major)
		preflight_failed(conn, src, "the source's major version differs from the target binaries'",
						 psprintf("The source runs PostgreSQL %d; the binaries in \"%s\" are PostgreSQL %d.",
								  major, c->bindir, c->major),
						 "A physical copy needs the same major version; set imageName/cnpg_bootstrap.bindir, or use initdb with import.");
	free_senders = atoi(source_value(conn, src,
									 "SELECT current_setting('max_wal_senders')::int"
									 " - (SELECT count(*) FROM pg_catalog.pg_stat_replication)"));
	if (free_senders < 2)
		preflight_failed(conn, src, "not enough free WAL senders",
						 psprintf("max_wal_senders leaves %d free; pg_basebackup needs 2 (the backup and its WAL stream).",
								  free_senders),
						 "Raise max_wal_senders on the source.");
	tablespaces = source_value(conn, src,
							   "SELECT coalesce(string_agg(spcname, ', ' ORDER BY spcname), '')"
							   " FROM pg_catalog.pg_tablespace"
							   " WHERE spcname NOT IN ('pg_default', 'pg_global')");
	if (tablespaces[0] != '\0')
		preflight_failed(conn, src, "the source has tablespaces, which this host cannot map",
						 psprintf("Tablespaces: %s.", tablespaces),
						 "Move their objects to pg_default, or use initdb with import.");
	size = strtoi64(source_value(conn, src,
								 "SELECT sum(pg_catalog.pg_database_size(oid))::bigint"
								 " FROM pg_catalog.pg_database WHERE datallowconn"), NULL, 10);
	if (cb_fs_space(cb_data_root, &free_bytes, NULL) && free_bytes < size)
		preflight_failed(conn, src, "not enough free space for a copy",
						 psprintf("The source holds " INT64_FORMAT " bytes; \"%s\" has " INT64_FORMAT " free.",
								  size, cb_data_root, free_bytes),
						 NULL);
	cb_disconnect(conn);
}

/* pg_basebackup -P: "12345/67890 kB (18%), 0/1 tablespace" */
typedef struct Progress
{
	const char *cluster;
	TimestampTz last;
} Progress;

static void
report_progress(const char *line, void *arg)
{
	Progress   *p = arg;
	long		done,
				total;
	TimestampTz now = GetCurrentTimestamp();

	if (sscanf(line, "%ld/%ld kB", &done, &total) != 2 ||
		!TimestampDifferenceExceeds(p->last, now, 1000))
		return;
	p->last = now;
	cb_status_progress(p->cluster, psprintf("pg_basebackup: %ld/%ld kB", done, total));
	cb_status_phase(p->cluster, CB_PHASE_SETTING_UP,
					psprintf("Cloning with pg_basebackup: %ld of %ld kB", done, total));
}

void
cb_basebackup_clone(CbCluster *c, const CbSource *src)
{
	CbInstance *inst = &c->instances[0];
	/* a half copy from an interrupted run is discarded, never reused */
	char	   *tmp = cb_instance_fresh_tmp(c, inst);
	const char *argv[] = {cb_tool(c, "pg_basebackup"), "-D", tmp, "-X", "stream",
		"-c", "fast", "-P", "-w", "-d",
		cb_source_conninfo(src, NULL, "options='-c wal_sender_timeout=0s'"),
	NULL};
	CbChildOptions opts;
	CbChildResult res;
	Progress	progress = {c->name, 0};

	cb_instance_child_options(inst, "pg_basebackup", (const char **) argv, &opts);
	opts.on_line = report_progress;
	opts.on_line_arg = &progress;
	if (!cb_run_child(&opts, &res))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("error in pg_basebackup (exit code %d)", res.exit_code),
				 errdetail("%s", res.tail ? res.tail : "")));

	cb_instance_install_tmp(inst);
	cb_status_progress(c->name, NULL);
}

void
cb_basebackup_configure(CbCluster *c, const CbSource *src, bool replica)
{
	CbInstance *inst = &c->instances[0];
	char	   *override;

	cb_take_over_copy(inst->pgdata);

	if (replica)
	{
		override = psprintf("primary_conninfo = %s\nrecovery_target_timeline = 'latest'\n",
							cb_conf_quote(cb_source_conninfo(src, NULL, NULL)));
		cb_write_instance_config(c, inst, inst->pgdata, override);
		cb_write_file(psprintf("%s/standby.signal", inst->pgdata), "", 0, 0600);
		return;
	}

	/*
	 * Archive recovery with nothing in the archive replays the WAL the
	 * backup streamed, then ends on a new timeline.
	 */
	override = "restore_command = '/bin/false'\nrecovery_target_timeline = 'latest'\n";
	cb_write_instance_config(c, inst, inst->pgdata, override);
	cb_write_file(psprintf("%s/recovery.signal", inst->pgdata), "", 0, 0600);
}

/* poll a one-value query on the primary until it returns want */
static void
wait_for(CbCluster *c, const char *sql, const char *want, const char *what)
{
	for (int waited = 0;; waited += 20)
	{
		PGconn	   *conn = cb_connect_instance(c, &c->instances[0], "postgres");
		char	   *err = NULL;
		char	   *v = cb_query_value(conn, sql, &err);

		cb_disconnect(conn);
		if (v && strcmp(v, want) == 0)
			return;
		if (waited >= CB_PROMOTE_TIMEOUT_MS)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s: not reached after %d s", what, CB_PROMOTE_TIMEOUT_MS / 1000),
					 errhint("See the logs under \"%s\".", c->instances[0].logdir)));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 20, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

void
cb_wait_promoted(CbCluster *c)
{
	CbInstance *inst = &c->instances[0];

	wait_for(c, "SELECT pg_catalog.pg_is_in_recovery()", "f", "end of recovery of the copy");
	/* the running primary keeps no recovery settings */
	cb_write_file(psprintf("%s/override.conf", inst->pgdata), "", 0, 0600);
}

void
cb_wait_following_source(CbCluster *c)
{
	wait_for(c, "SELECT status FROM pg_catalog.pg_stat_wal_receiver", "streaming",
			 "replica cluster streaming from its source");
}
