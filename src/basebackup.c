/*-------------------------------------------------------------------------
 *
 * basebackup.c
 *	  Bootstrap from a live cluster (docs/cnpg-rules.md §8, with the seed's
 *	  rules of docs/decisions.md §1-2): preflight the source, clone it with
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
#include "instance.h"
#include "pgconn.h"
#include "process.h"
#include "replica.h"
#include "tablespaces.h"
#include "waituntil.h"

#define CB_PROMOTE_TIMEOUT_MS 600000

/*
 * The preflight speaks to the source as pg_basebackup will: over physical
 * replication connections (replication=true), the only kind the Bootstrap
 * page's source set-up lets streaming_replica open ("host replication
 * streaming_replica all md5").  So it asks only what the walsender
 * protocol answers, and nothing the copy itself does not need:
 *
 * - the connection succeeds: the source answers, the pg_hba.conf line and
 *   the password or certificate are right, the role has REPLICATION (or
 *   SUPERUSER: PostgreSQL refuses a walsender to any other role);
 * - IDENTIFY_SYSTEM answers (system identifier, timeline, WAL position);
 * - the major version (reported at connection) is the target binaries';
 * - a second replication connection opens while the first is held:
 *   pg_basebackup -X stream needs two WAL senders (the backup and its WAL
 *   stream), and only SQL (pg_stat_replication) could count the free ones.
 *
 * Tablespaces and the size of the copy need SQL (pg_tablespace,
 * pg_database_size) and are not asked: pg_basebackup meets them itself.
 */
#define CB_PREFLIGHT_TIMEOUT_MS 30000

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

/*
 * The server's refusals we can name (English texts: a source with another
 * lc_messages gets the generic message, which carries the server's text).
 */
static bool
refused_walsender_role(const char *err)
{
	return strstr(err, "must be superuser or replication role") != NULL ||	/* PG < 16 */
		strstr(err, "permission denied to start WAL sender") != NULL;	/* PG >= 16 */
}

static bool
refused_walsender_slot(const char *err)
{
	return strstr(err, "exceeds max_wal_senders") != NULL ||
		strstr(err, "too many clients already") != NULL;
}

/* a physical replication connection to the source, or the reason as an ERROR */
static PGconn *
preflight_connect(const CbSource *src, PGconn *held)
{
	char	   *err = NULL;
	PGconn	   *conn = cb_source_connect_replication(src, &err);
	const char *user = cb_map_get(&src->spec->connection_parameters, "user");

	if (conn != NULL)
		return conn;
	if (err == NULL)
		err = "connection failed";
	if (refused_walsender_role(err))
		preflight_failed(held, src, "the role has neither REPLICATION nor SUPERUSER",
						 psprintf("pg_basebackup connects as \"%s\": %s", user ? user : "(default user)", err),
						 "Use a role with LOGIN REPLICATION (CloudNativePG sources: streaming_replica with its certificate).");
	if (refused_walsender_slot(err) || held != NULL)
		preflight_failed(held, src, "not enough free WAL senders",
						 held ? psprintf("A second replication connection, which pg_basebackup -X stream needs for its WAL stream, failed: %s", err)
						 : err,
						 "Raise max_wal_senders on the source, or end other replication connections.");
	cb_disconnect(held);
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("source %s does not answer: %s", src->spec->name, err),
			 strstr(err, "pg_hba.conf") ?
			 errhint("pg_basebackup connects for replication: the source's pg_hba.conf needs a \"replication\" line for this user and address.") : 0));
	return NULL;				/* keep compiler quiet */
}

/* one walsender command, its PGresult (TUPLES_OK) or ERROR */
static PGresult *
walsender_command(PGconn *conn, const CbSource *src, const char *command)
{
	char	   *err = NULL;
	PGresult   *res = cb_exec_timeout(conn, command, -1, NULL, CB_PREFLIGHT_TIMEOUT_MS, &err);

	if (res != NULL && err == NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
		PQntuples(res) == 1)
		return res;
	PQclear(res);
	cb_disconnect(conn);
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("preflight of source %s: %s: %s", src->spec->name, command,
					err ? err : "unexpected answer")));
	return NULL;				/* keep compiler quiet */
}

void
cb_basebackup_preflight(CbCluster *c, const CbSource *src)
{
	PGconn	   *conn = preflight_connect(src, NULL);
	PGconn	   *second;
	PGresult   *res;
	int			major = PQserverVersion(conn) / 10000;

	if (major != c->major)
		preflight_failed(conn, src, "the source's major version differs from the target binaries'",
						 psprintf("The source runs PostgreSQL %d; the binaries in \"%s\" are PostgreSQL %d.",
								  major, c->bindir, c->major),
						 "A physical copy needs the same major version; set imageName/cnpg_bootstrap.bindir, or use initdb with import.");

	/* what pg_basebackup asks first: the source is a server it can stream */
	res = walsender_command(conn, src, "IDENTIFY_SYSTEM");
	if (PQnfields(res) < 3)
	{
		PQclear(res);
		preflight_failed(conn, src, "IDENTIFY_SYSTEM gave an unexpected answer", NULL, NULL);
	}
	ereport(DEBUG1,
			(errmsg_internal("source %s: system identifier %s, timeline %s, WAL at %s",
							 src->spec->name, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
							 PQgetvalue(res, 0, 2))));
	PQclear(res);

	/* two WAL senders free: hold one, open another */
	second = preflight_connect(src, conn);
	cb_disconnect(second);
	cb_disconnect(conn);
}

/* pg_basebackup -P: "12345/67890 kB (18%), 0/1 tablespace" */
typedef struct Progress
{
	const CbJournal *journal;
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
	cb_journal_progress(p->journal, psprintf("pg_basebackup: %ld/%ld kB", done, total));
	cb_journal_phase(p->journal, CB_PHASE_SETTING_UP,
					 psprintf("Cloning with pg_basebackup: %ld of %ld kB", done, total));
}

void
cb_basebackup_clone(CbCluster *c, const CbSource *src)
{
	CbInstance *inst = &c->instances[0];
	/* a half copy from an interrupted run is discarded, never reused */
	char	   *tmp = cb_instance_fresh_tmp(c, inst);
	const char *fixed[] = {cb_tool(c, "pg_basebackup"), "-D", tmp, "-X", "stream",
		"-c", "fast", "-P", "-w", "-d",
		cb_source_conninfo(src, NULL, "options='-c wal_sender_timeout=0s'"),
	NULL};
	const char **mappings;
	const char **argv;
	int			n = 0;
	CbChildOptions opts;
	CbChildResult res;
	Progress	progress = {c->journal, 0};

	/* each tablespace into <instance>/tablespaces/<name>, never the source's path */
	mappings = cb_source_tablespace_mappings(src, inst);
	argv = palloc0(sizeof(char *) * (lengthof(fixed) + CB_MAX_TABLESPACES + 1));
	cb_argv_append(argv, &n, lengthof(fixed) + CB_MAX_TABLESPACES, fixed);
	cb_argv_append(argv, &n, lengthof(fixed) + CB_MAX_TABLESPACES, mappings);

	cb_instance_child_options(inst, "pg_basebackup", argv, &opts);
	opts.on_line = report_progress;
	opts.on_line_arg = &progress;
	if (!cb_run_child(&opts, &res))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("error in pg_basebackup (exit code %d)", res.exit_code),
				 errdetail("%s", res.tail ? res.tail : "")));

	cb_instance_install_tmp(inst);
	cb_journal_progress(c->journal, NULL);
}

void
cb_basebackup_configure(CbCluster *c, const CbSource *src, bool replica)
{
	CbInstance *inst = &c->instances[0];
	char	   *override;

	cb_take_over_copy(inst->pgdata);

	if (replica)
	{
		/* spec.replica.source, by streaming, by its store or both */
		override = cb_replica_recovery_conf(c, NULL);
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

/* a one-value query on the primary and the value it should return */
typedef struct QueryWait
{
	CbCluster  *c;
	const char *sql;
	const char *want;
} QueryWait;

static PGconn *
connect_primary(void *arg, int which)
{
	QueryWait  *q = arg;

	return cb_connect_instance(q->c, &q->c->instances[0], "postgres");
}

static bool
query_returns(CbWait *w, void *arg)
{
	QueryWait  *q = arg;
	char	   *err = NULL;
	char	   *v = cb_query_value(cb_wait_conn(w, 0), q->sql, &err);

	return v && strcmp(v, q->want) == 0;
}

/* poll a one-value query on the primary until it returns want */
static void
wait_for(CbCluster *c, const char *sql, const char *want, const char *what)
{
	QueryWait	q = {c, sql, want};
	CbWaitSpec	spec = {.what = what, .timeout_ms = CB_PROMOTE_TIMEOUT_MS,
	.connect = connect_primary};

	if (!cb_wait_until(query_returns, &q, &spec))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s: not reached after %d s", what, CB_PROMOTE_TIMEOUT_MS / 1000),
				 errhint("See the logs under \"%s\".", c->instances[0].logdir)));
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
	const CbExternalCluster *ec = cb_find_external_cluster(c->spec, c->spec->replica.source);

	/*
	 * With a store to ship WAL from, streaming is not needed: the replica
	 * is ready once it accepts connections in recovery (it is consistent).
	 */
	if (ec && (ec->barman_object_store.present || ec->has_plugin))
	{
		wait_for(c, "SELECT pg_catalog.pg_is_in_recovery()", "t",
				 "replica cluster in recovery from its source");
		return;
	}
	wait_for(c, "SELECT status FROM pg_catalog.pg_stat_wal_receiver", "streaming",
			 "replica cluster streaming from its source");
}
