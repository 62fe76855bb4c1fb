/*-------------------------------------------------------------------------
 *
 * postinit.c
 *	  What runs inside a new primary after initdb, in CloudNativePG's order
 *	  (docs/cnpg-rules.md §4.3): the owner role, postInitSQL (+refs) in postgres,
 *	  postInitTemplateSQL (+refs) in template1, the application database,
 *	  postInitApplicationSQL (+refs) in it.  Then the passwords (section 5)
 *	  and the replication role (6.2).
 *
 * Each list or referenced script is one batch on one connection; a
 * referenced script is sent as one exec.  The first error stops the
 * bootstrap with the step, the item and the server's message.
 *
 * A script from a Secret may hold secrets (passwords in CREATE ROLE, keys):
 * it runs after every kind of server logging is turned off for the
 * session, and its failure is reported by SQLSTATE and position only,
 * since the server's message can quote the script ('relation "..." does
 * not exist', 'syntax error at or near "..."').
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq-fe.h"
#include "utils/builtins.h"

#include "fsutil.h"
#include "instance.h"
#include "pgconn.h"
#include "postinit.h"
#include "secrets.h"

static const char *const db_names[] = {"postgres", "template1", NULL};
static const char *const sql_fields[] = {"postInitSQL", "postInitTemplateSQL",
"postInitApplicationSQL"};

static void
exec_or_fail(PGconn *conn, const char *sql, const char *what)
{
	char	   *err = NULL;

	if (!cb_exec_ok(conn, sql, &err))
	{
		cb_disconnect(conn);
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("%s: %s", what, err ? err : "failed")));
	}
}

/* a one-value query with one parameter, e.g. "does this role exist" */
static bool
exists_query(PGconn *conn, const char *sql, const char *param)
{
	char	   *err = NULL;
	const char *params[] = {param};
	PGresult   *res = cb_exec_params(conn, sql, 1, params, &err);
	bool		found;

	if (res == NULL || err != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("post-init: %s", err ? err : "query failed")));
	found = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return found;
}

/*
 * Everything that could write a statement of this session, or an error
 * quoting it, to the server's log; each SET in an exec of its own, since
 * log_statement is looked at before any statement of a query string runs.
 * log_min_messages alone would do (every such line is a LOG or an ERROR
 * message); the others are kept in case it is raised back by the script.
 */
static const char *const quiet_settings[] = {
	"SET log_min_messages = 'panic'",
	"SET log_statement = 'none'",
	"SET log_duration = off",
	"SET log_min_duration_statement = -1",
	"SET log_min_duration_sample = -1",
	"SET log_statement_sample_rate = 0",
	"SET log_transaction_sample_rate = 0",
	"SET log_min_error_statement = 'panic'",
	"SET debug_print_parse = off",
	"SET debug_print_rewritten = off",
	"SET debug_print_plan = off",
	"SET auto_explain.log_min_duration = -1",
	NULL
};

static bool
ref_is_secret(const CbResolvedRef *r)
{
	return strncmp(r->object, "Secret ", 7) == 0;
}

/* a Secret's script: the failure says where, never what the server quoted */
static void
exec_secret_script(PGconn *conn, const CbResolvedRef *r, const char *dbname)
{
	char	   *err = NULL;
	PGresult   *res = cb_exec(conn, r->value, &err);
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *position = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
	char	   *why;

	if (res != NULL && err == NULL)
	{
		PQclear(res);
		return;
	}
	why = res == NULL ? pstrdup("the connection failed") :
		psprintf("SQLSTATE %s%s%s", sqlstate ? sqlstate : "unknown",
				 position ? " at character " : "", position ? position : "");
	if (res)
		PQclear(res);
	cb_disconnect(conn);
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("post-init: %s (%s key \"%s\") in database \"%s\" failed: %s",
					r->path, r->object, r->key, dbname, why),
			 errdetail("The server's message is not shown: the script comes from a Secret and the message can quote it."),
			 errhint("Run the script by hand to see the message.")));
}

/* does the list or a referenced script of which have something to run? */
static bool
has_batch(CbCluster *c, CbPostInitDb which)
{
	const CbInitdb *initdb = &c->spec->bootstrap.initdb;
	const CbStringList *lists[] = {&initdb->post_init_sql,
		&initdb->post_init_template_sql,
	&initdb->post_init_application_sql};

	return lists[which]->n > 0 || c->nrefs[which] > 0;
}

/* one batch: search_path bracketing as CNPG does, then each item */
static void
run_batch(CbCluster *c, CbInstance *inst, const char *dbname, CbPostInitDb which)
{
	const CbInitdb *initdb = &c->spec->bootstrap.initdb;
	const CbStringList *lists[] = {&initdb->post_init_sql,
		&initdb->post_init_template_sql,
	&initdb->post_init_application_sql};
	const CbStringList *list = lists[which];
	PGconn	   *conn;
	bool		quiet = false;

	if (!has_batch(c, which))
		return;
	conn = cb_connect_instance(c, inst, dbname);
	exec_or_fail(conn, "SET search_path TO \"$user\", public", "post-init");
	for (int i = 0; i < list->n; i++)
		exec_or_fail(conn, list->items[i],
					 psprintf("post-init: spec.bootstrap.initdb.%s[%d] in database \"%s\"",
							  sql_fields[which], i, dbname));
	for (int i = 0; i < c->nrefs[which]; i++)
	{
		const CbResolvedRef *r = &c->refs[which][i];

		if (ref_is_secret(r))
		{
			if (!quiet)
				for (int q = 0; quiet_settings[q]; q++)
					exec_or_fail(conn, quiet_settings[q], "post-init: turning logging off for a Secret's script");
			quiet = true;
			exec_secret_script(conn, r, dbname);
			continue;
		}
		exec_or_fail(conn, r->value,
					 psprintf("post-init: %s (%s key \"%s\") in database \"%s\"",
							  r->path, r->object, r->key, dbname));
	}
	exec_or_fail(conn, "RESET search_path", "post-init");
	cb_disconnect(conn);
}

void
cb_postinit_run(CbCluster *c, CbInstance *primary)
{
	PGconn	   *conn = cb_connect_instance(c, primary, "postgres");
	bool		db_exists;

	if (c->app_owner &&
		!exists_query(conn, "SELECT COUNT(*) > 0 FROM pg_catalog.pg_roles WHERE rolname = $1",
					  c->app_owner))
		exec_or_fail(conn, psprintf("CREATE ROLE %s LOGIN", quote_identifier(c->app_owner)),
					 "post-init: creating the owner role");

	/*
	 * One connection for the role and the database when no SQL of the
	 * Cluster's runs in between; SQL that does gets a server with no
	 * session of ours open (it may terminate sessions, or drop a database).
	 */
	if (has_batch(c, CB_POSTINIT_POSTGRES) || has_batch(c, CB_POSTINIT_TEMPLATE1))
	{
		cb_disconnect(conn);
		conn = NULL;
	}
	run_batch(c, primary, db_names[0], CB_POSTINIT_POSTGRES);
	run_batch(c, primary, db_names[1], CB_POSTINIT_TEMPLATE1);
	cb_write_file(psprintf("%s/.check-empty-wal-archive", primary->pgdata), "", 0, 0600);

	if (!c->has_app)
	{
		if (conn)
			cb_disconnect(conn);
		return;
	}
	if (conn == NULL)
		conn = cb_connect_instance(c, primary, "postgres");
	db_exists = exists_query(conn, "SELECT COUNT(*) > 0 FROM pg_catalog.pg_database WHERE datname = $1",
							 c->app_db);
	if (!db_exists)
		exec_or_fail(conn, psprintf("CREATE DATABASE %s OWNER %s",
									quote_identifier(c->app_db),
									quote_identifier(c->app_owner)),
					 "post-init: creating the application database");
	cb_disconnect(conn);
	/* an application database that already existed keeps its SQL skipped */
	if (!db_exists)
		run_batch(c, primary, c->app_db, CB_POSTINIT_APP);
}

void
cb_app_database_after_copy(CbCluster *c, CbInstance *primary)
{
	PGconn	   *conn;

	if (!c->has_app)
		return;
	conn = cb_connect_instance(c, primary, "postgres");
	if (!exists_query(conn, "SELECT COUNT(*) > 0 FROM pg_catalog.pg_roles WHERE rolname = $1",
					  c->app_owner))
		exec_or_fail(conn, psprintf("CREATE ROLE %s LOGIN", quote_identifier(c->app_owner)),
					 "creating the owner role");
	if (!exists_query(conn, "SELECT COUNT(*) > 0 FROM pg_catalog.pg_database WHERE datname = $1",
					  c->app_db))
		exec_or_fail(conn, psprintf("CREATE DATABASE %s OWNER %s",
									quote_identifier(c->app_db),
									quote_identifier(c->app_owner)),
					 "creating the application database");
	exec_or_fail(conn, psprintf("ALTER DATABASE %s OWNER TO %s",
								quote_identifier(c->app_db),
								quote_identifier(c->app_owner)),
				 "giving the application database to its owner");
	cb_disconnect(conn);
}

/*
 * ALTER ROLE ... PASSWORD with a client-side SCRAM verifier, never logged:
 * log_statement and log_min_error_statement are silenced for the
 * transaction, as CNPG does.
 */
static void
set_password(PGconn *conn, const char *role, const char *password)
{
	char	   *verifier = password ? cb_password_verifier(role, password) : NULL;
	char	   *literal;
	const char *what = psprintf("setting the password of role \"%s\"", role);

	if (verifier == NULL)
	{
		exec_or_fail(conn, psprintf("ALTER ROLE %s WITH PASSWORD NULL", quote_identifier(role)),
					 what);
		return;
	}

	/*
	 * log_statement is decided before any statement of a query string runs,
	 * so the SETs go in executions of their own, ahead of the ALTER ROLE.
	 */
	exec_or_fail(conn, "BEGIN", what);
	exec_or_fail(conn, "SET LOCAL log_statement = 'none'", what);
	exec_or_fail(conn, "SET LOCAL log_min_error_statement = 'PANIC'", what);
	exec_or_fail(conn, "SET LOCAL log_min_duration_statement = -1", what);
	literal = PQescapeLiteral(conn, verifier, strlen(verifier));
	exec_or_fail(conn, psprintf("ALTER ROLE %s WITH PASSWORD %s", quote_identifier(role), literal),
				 what);
	PQfreemem(literal);
	exec_or_fail(conn, "COMMIT", what);
}

void
cb_configure_roles(CbCluster *c, CbInstance *primary)
{
	PGconn	   *conn = cb_connect_instance(c, primary, "postgres");

	if (c->has_app && c->app_password)
		set_password(conn, c->app_owner, c->app_password);
	if (c->superuser_password)
		set_password(conn, "postgres", c->superuser_password);
	else if (exists_query(conn, "SELECT rolpassword IS NOT NULL FROM pg_catalog.pg_authid WHERE rolname = $1",
						  "postgres"))
		set_password(conn, "postgres", NULL);

	if (!exists_query(conn, "SELECT COUNT(*) > 0 FROM pg_catalog.pg_roles WHERE rolname = $1",
					  "streaming_replica"))
		exec_or_fail(conn,
					 "CREATE USER streaming_replica REPLICATION;"
					 " COMMENT ON ROLE streaming_replica IS"
					 " 'Special user for streaming replication created by cnpg_bootstrap'",
					 "creating the streaming_replica role");
	exec_or_fail(conn, "ALTER USER streaming_replica LOGIN REPLICATION",
				 "configuring the streaming_replica role");
	cb_disconnect(conn);
}
