/*-------------------------------------------------------------------------
 *
 * tablespaces.c
 *	  Where a pg_basebackup clone puts the source's tablespaces.  In plain
 *	  format pg_basebackup writes each tablespace to the path it has on the
 *	  source unless --tablespace-mapping names another: on one host that
 *	  path is the source's own folder (or one outside data_root), so every
 *	  tablespace is mapped, to <instance>/tablespaces/<name> as a recovery
 *	  lays them out (restore.c), by oid when the name cannot be a folder
 *	  name.  The list comes from pg_tablespace over SQL (the bootstrap
 *	  source, or our own primary for a standby); a source that takes
 *	  replication connections only tells it in the header of a BASE_BACKUP
 *	  that is abandoned at once, and its folders are named by oid.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "external.h"
#include "fsutil.h"
#include "pgconn.h"
#include "process.h"
#include "tablespaces.h"

#define CB_TABLESPACE_PROBE_CONNECT_MS 30000
/* the fast checkpoint BASE_BACKUP starts with may take long on a busy source */
#define CB_TABLESPACE_PROBE_MS (10 * 60 * 1000)

/* pg_basebackup reads "\=" as a '=' of the path, any other '\' as itself */
static void
append_escaped(StringInfo buf, const char *path)
{
	for (const char *p = path; *p; p++)
	{
		if (*p == '=')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
}

/* a name that can be one plain folder's name */
static bool
usable_name(const char *name)
{
	if (name[0] == '\0' || name[0] == '.' || strlen(name) > NAMEDATALEN)
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || (unsigned char) *p < 0x20 || *p == '\\' || *p == '=')
			return false;
	return true;
}

/* the folder of ours every tablespace goes under; emptied: a clone starts afresh */
static char *
fresh_tablespaces_dir(CbInstance *inst)
{
	char	   *tsdir = psprintf("%s/tablespaces", inst->dir);

	if (cb_path_exists(tsdir) && !cb_rmtree(tsdir))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove \"%s\": %m", tsdir)));
	return tsdir;
}

/*
 * One "--tablespace-mapping=OLD=NEW" per row of res: the oid in column 0,
 * the location in loc_col, the name in name_col (-1: none, the oid names
 * the folder).
 */
static const char **
mappings_of(PGresult *res, int name_col, int loc_col, const char *server, CbInstance *inst)
{
	char	   *tsdir;
	const char **args;
	int			n = 0;

	if (PQntuples(res) > CB_MAX_TABLESPACES)
	{
		int			ntuples = PQntuples(res);

		PQclear(res);
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s has %d tablespaces, more than the %d a clone maps",
						server, ntuples, CB_MAX_TABLESPACES)));
	}
	tsdir = fresh_tablespaces_dir(inst);
	args = palloc0(sizeof(char *) * (PQntuples(res) + 1));
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *oid = PQgetvalue(res, i, 0);
		const char *name = name_col >= 0 ? PQgetvalue(res, i, name_col) : "";
		const char *location = PQgetvalue(res, i, loc_col);
		StringInfoData arg;

		/*
		 * In-place tablespaces (pg_tblspc/<oid>) are copied with PGDATA; the
		 * header of BASE_BACKUP has a row without oid for PGDATA itself.
		 */
		if (PQgetisnull(res, i, 0) || location[0] != '/')
			continue;
		initStringInfo(&arg);
		appendStringInfoString(&arg, "--tablespace-mapping=");
		append_escaped(&arg, location);
		appendStringInfoChar(&arg, '=');
		append_escaped(&arg, psprintf("%s/%s", tsdir, usable_name(name) ? name : oid));
		args[n++] = arg.data;
	}
	PQclear(res);
	if (n > 0)
		cb_mkdir_p(tsdir);
	return args;
}

const char **
cb_tablespace_mappings(PGconn *conn, const char *server, CbInstance *inst)
{
	char	   *err = NULL;
	PGresult   *res;

	res = cb_exec(conn,
				  "SELECT oid, spcname, pg_catalog.pg_tablespace_location(oid)"
				  " FROM pg_catalog.pg_tablespace"
				  " WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid", &err);
	cb_disconnect(conn);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		if (res)
			PQclear(res);
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not list the tablespaces of %s: %s", server, err ? err : "no answer")));
	}
	return mappings_of(res, 1, 2, server, inst);
}

/* ---------- sources that take replication connections only ---------- */

/* libpq's message, one line */
static char *
message_of(const char *msg)
{
	char	   *m = pstrdup(msg && msg[0] ? msg : "no message");
	size_t		len = strlen(m);

	while (len > 0 && (m[len - 1] == '\n' || m[len - 1] == ' '))
		m[--len] = '\0';
	for (char *p = m; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return m;
}

/* the next result, waiting on the latch and the socket until deadline */
static PGresult *
next_result(PGconn *conn, TimestampTz deadline, char **err)
{
	while (PQisBusy(conn))
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		int			rc;

		if (left <= 0)
		{
			*err = pstrdup("no answer in time");
			return NULL;
		}
		rc = WaitLatchOrSocket(MyLatch,
							   WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | WL_SOCKET_READABLE | WL_TIMEOUT,
							   PQsocket(conn), left, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if ((rc & WL_SOCKET_READABLE) && !PQconsumeInput(conn))
		{
			*err = message_of(PQerrorMessage(conn));
			return NULL;
		}
	}
	return PQgetResult(conn);
}

/*
 * The walsender protocol has no command that lists tablespaces but
 * BASE_BACKUP, which sends them (oid, location, size) in its second result
 * set, before any file: the backup is started, that header read, and the
 * connection closed, which makes the server abort the backup.  It costs
 * the source a fast checkpoint, as pg_basebackup -c fast does.
 */
static PGresult *
tablespace_header(const CbSource *src)
{
	const char **keys = palloc0(sizeof(char *) * (src->n + 3));
	const char **values = palloc0(sizeof(char *) * (src->n + 3));
	char	   *server = psprintf("source %s", src->spec->name);
	TimestampTz deadline;
	PGresult   *res = NULL;
	PGconn	   *conn;
	char	   *err = NULL;
	int			n = 0;

	for (int i = 0; i < src->n; i++)
		if (strcmp(src->keywords[i], "replication") != 0 &&
			strcmp(src->keywords[i], "application_name") != 0)
		{
			keys[n] = src->keywords[i];
			values[n++] = src->values[i];
		}
	keys[n] = "replication";
	values[n++] = "true";
	keys[n] = "application_name";
	values[n++] = "cnpg_bootstrap";
	if ((conn = cb_connect(keys, values, CB_TABLESPACE_PROBE_CONNECT_MS, &err)) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("source %s does not answer: %s", src->spec->name,
						err ? err : "connection failed")));
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), CB_TABLESPACE_PROBE_MS);
	if (!PQsendQuery(conn, "BASE_BACKUP (LABEL 'cnpg_bootstrap: list of tablespaces',"
					 " CHECKPOINT 'fast', WAL false, MANIFEST 'no', TABLESPACE_MAP false)"))
		err = message_of(PQerrorMessage(conn));
	while (err == NULL && PQflush(conn) > 0)
	{
		(void) WaitLatchOrSocket(MyLatch,
								 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | WL_SOCKET_WRITEABLE | WL_TIMEOUT,
								 PQsocket(conn), 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (GetCurrentTimestamp() > deadline)
			err = pstrdup("no answer in time");
	}
	/* the backup's start position, then the tablespaces */
	for (int i = 0; err == NULL && i < 2; i++)
	{
		if (res)
			PQclear(res);
		res = next_result(conn, deadline, &err);
		if (err == NULL && (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK))
			err = res ? message_of(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) : pstrdup("no answer");
	}
	cb_disconnect(conn);
	if (err != NULL || res == NULL || PQnfields(res) < 2)
	{
		if (res)
			PQclear(res);
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not list the tablespaces of %s over replication: %s", server,
						err ? err : "unexpected answer to BASE_BACKUP")));
	}
	return res;
}

const char **
cb_source_tablespace_mappings(const CbSource *src, CbInstance *inst)
{
	MemoryContext mcx = CurrentMemoryContext;
	char	   *server = psprintf("source %s", src->spec->name);
	PGresult   *hdr = tablespace_header(src);
	PGconn	   *volatile conn = NULL;
	bool		any = false;

	/*
	 * The walsender first, which every source of a clone must allow: most
	 * have no tablespace, and then nothing else is asked (the Bootstrap
	 * page's source admits streaming_replica for replication only).  Only
	 * a source with tablespaces is asked for their names over SQL; one that
	 * refuses it gets folders named by oid.
	 */
	for (int i = 0; i < PQntuples(hdr); i++)
		if (!PQgetisnull(hdr, i, 0) && PQgetvalue(hdr, i, 1)[0] == '/')
			any = true;
	if (!any)
		return mappings_of(hdr, -1, 1, server, inst);
	PG_TRY();
	{
		conn = cb_source_connect(src, cb_map_get(&src->spec->connection_parameters, "dbname") ?
								 NULL : "postgres");
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(mcx);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_CONNECTION_FAILURE)
		{
			PQclear(hdr);
			PG_RE_THROW();
		}
		FlushErrorState();
		ereport(LOG,
				(errmsg("cnpg_bootstrap: source %s takes no SQL connection (%s): its tablespaces' folders are named by oid",
						src->spec->name, edata->message)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	if (conn == NULL)
		return mappings_of(hdr, -1, 1, server, inst);
	PQclear(hdr);
	return cb_tablespace_mappings(conn, server, inst);
}

void
cb_argv_append(const char **argv, int *n, int max, const char **more)
{
	for (; more && *more; more++)
	{
		if (*n >= max)
			elog(ERROR, "cnpg_bootstrap: too many arguments");
		argv[(*n)++] = *more;
	}
}
