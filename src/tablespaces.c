/*-------------------------------------------------------------------------
 *
 * tablespaces.c
 *	  Where a pg_basebackup clone puts the source's tablespaces.  In plain
 *	  format pg_basebackup writes each tablespace to the path it has on the
 *	  source unless --tablespace-mapping names another: on one host that
 *	  path is the source's own folder (or one outside data_root), so every
 *	  tablespace is mapped, to <instance>/tablespaces/<name> as a recovery
 *	  lays them out (restore.c), by oid when the name cannot be a folder
 *	  name.  The list comes from the source's pg_tablespace over SQL (the
 *	  bootstrap source, or our own primary for a standby).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "libpq-fe.h"

#include "hostlayout.h"
#include "pgconn.h"
#include "process.h"
#include "tablespaces.h"

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

const char **
cb_tablespace_mappings(PGconn *conn, const char *server, CbInstance *inst)
{
	char	   *tsdir = psprintf("%s/tablespaces", inst->dir);
	char	   *err = NULL;
	PGresult   *res;
	const char **args;
	int			n = 0;

	/* a clone starts afresh: an interrupted one's folders go */
	if (cb_path_exists(tsdir) && !cb_rmtree(tsdir))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove \"%s\": %m", tsdir)));
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
	if (PQntuples(res) > CB_MAX_TABLESPACES)
	{
		int			ntuples = PQntuples(res);

		PQclear(res);
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s has %d tablespaces, more than the %d a clone maps",
						server, ntuples, CB_MAX_TABLESPACES)));
	}
	args = palloc0(sizeof(char *) * (PQntuples(res) + 1));
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *oid = PQgetvalue(res, i, 0);
		const char *name = PQgetvalue(res, i, 1);
		const char *location = PQgetvalue(res, i, 2);
		StringInfoData arg;

		/* in-place tablespaces (pg_tblspc/<oid>) are copied with PGDATA */
		if (location[0] != '/')
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
