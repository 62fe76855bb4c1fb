/*-------------------------------------------------------------------------
 *
 * import_roles.c
 *	  The roles of a monolith import (spec.bootstrap.initdb.import.roles):
 *	  read from the source's pg_authid with their password verifiers where
 *	  the import role may read it, else from pg_roles without passwords
 *	  (with a WARNING); created on the target as CloudNativePG writes them,
 *	  never SUPERUSER or REPLICATION; then their memberships.
 *
 * The source is hostile until checked: every value it returns reaches SQL
 * quoted (quote_identifier, PQescapeLiteral) or as a checked integer, and
 * a NULL, a missing column or a value of the wrong kind is an error that
 * names the role and the column, never a crash of the worker.
 *
 * Journal: step "import-roles"; roles already present are kept, so a redo
 * only adds the missing ones.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "lib/stringinfo.h"
#include "libpq-fe.h"
#include "utils/builtins.h"

#include "external.h"
#include "import_int.h"
#include "instance.h"
#include "pgconn.h"

typedef struct SourceRole
{
	char	   *name;
	bool		createdb,
				login,
				inherit,
				createrole,
				bypassrls,
				superuser,
				replication;
	char	   *valid_until;	/* NULL: none */
	char	   *password;		/* verifier, NULL: none or unreadable */
	int			connlimit;
} SourceRole;

/* roles that belong to the target, never imported */
static bool
role_is_ours(Import *imp, const char *name)
{
	return strcmp(name, "postgres") == 0 || strcmp(name, "streaming_replica") == 0 ||
		strncmp(name, "cnpg_", 5) == 0 ||
		(imp->c->app_owner && strcmp(name, imp->c->app_owner) == 0);
}

static bool
role_is_wanted(Import *imp, const char *name)
{
	const CbStringList *roles = &imp->spec->roles;

	if (role_is_ours(imp, name))
		return false;
	if (imp_is_wildcard(roles))
		return true;
	for (int i = 0; i < roles->n; i++)
		if (strcmp(roles->items[i], name) == 0)
			return true;
	return false;
}

/* rolconnlimit: an integer of -1 and up, or an error naming the role */
static int
connection_limit(PGconn *conn, PGresult *res, int row, int col, const char *what,
				 const char *role)
{
	const char *v = imp_value(conn, res, row, col, what, role);
	char	   *end;
	long		n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < -1 || n > INT_MAX)
	{
		PQclear(res);
		cb_disconnect(conn);
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("%s: unexpected answer: column rolconnlimit of \"%s\" is not a connection limit",
						what, role)));
	}
	return (int) n;
}

static SourceRole *
read_source_roles(Import *imp, PGconn *conn, int *nroles)
{
	bool		authid = imp_query_bool(conn, "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT')",
									NULL, "checking access to pg_authid");
	PGresult   *res;
	SourceRole *roles;
	const char *what = "reading the source's roles";

	if (!authid)
		ereport(WARNING,
				(errmsg("source %s: role \"%s\" cannot read pg_authid; roles are imported from pg_roles without their passwords",
						imp->src->spec->name, PQuser(conn)),
				 errhint("Set the imported roles' passwords on the target, or import as a superuser.")));
	/* ISO dates in UTC, so that VALID UNTIL reads back the same on the target */
	imp_must_exec(conn, "SET DateStyle = 'ISO'; SET TimeZone = 'UTC'", "preparing to read roles");
	res = imp_must_query(conn,
					 psprintf("SELECT rolname, rolcreatedb, rolcanlogin, rolinherit, rolcreaterole,"
							  " %s, rolsuper, rolreplication, rolvaliduntil::text, %s,"
							  " rolconnlimit::text FROM pg_catalog.%s WHERE oid >= " FIRST_NORMAL_OID
							  " ORDER BY rolname",
							  imp->source_version >= 90500 ? "rolbypassrls" : "false",
							  authid ? "rolpassword" : "NULL::text",
							  authid ? "pg_authid" : "pg_roles"),
					 0, NULL, what);
	imp_check_columns(conn, res, 11, what);
	*nroles = PQntuples(res);
	roles = palloc0(sizeof(SourceRole) * Max(*nroles, 1));
	for (int i = 0; i < *nroles; i++)
	{
		SourceRole *r = &roles[i];

		r->name = pstrdup(imp_value(conn, res, i, 0, what, NULL));
		r->createdb = imp_bool(conn, res, i, 1, what, r->name);
		r->login = imp_bool(conn, res, i, 2, what, r->name);
		r->inherit = imp_bool(conn, res, i, 3, what, r->name);
		r->createrole = imp_bool(conn, res, i, 4, what, r->name);
		r->bypassrls = imp_bool(conn, res, i, 5, what, r->name);
		r->superuser = imp_bool(conn, res, i, 6, what, r->name);
		r->replication = imp_bool(conn, res, i, 7, what, r->name);
		r->valid_until = PQgetisnull(res, i, 8) ? NULL : pstrdup(PQgetvalue(res, i, 8));
		r->password = PQgetisnull(res, i, 9) ? NULL : pstrdup(PQgetvalue(res, i, 9));
		r->connlimit = connection_limit(conn, res, i, 10, what, r->name);
	}
	PQclear(res);
	return roles;
}

static char *
literal(PGconn *conn, const char *value)
{
	char	   *lit = PQescapeLiteral(conn, value, strlen(value));
	char	   *copy;

	if (lit == NULL)
		elog(ERROR, "could not quote a literal: out of memory");
	copy = pstrdup(lit);
	PQfreemem(lit);
	return copy;
}

/*
 * CREATE ROLE as CloudNativePG writes it, never SUPERUSER or REPLICATION.
 * A password verifier is sent with every kind of statement logging off
 * for its transaction, in a statement of its own: log_statement is looked
 * at before any statement of a query string runs.
 */
static void
create_role(Import *imp, PGconn *conn, const SourceRole *r)
{
	StringInfoData sql;
	const char *what = psprintf("creating role \"%s\"", r->name);

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE ROLE %s WITH %sCREATEDB %sLOGIN %sINHERIT %sCREATEROLE %sBYPASSRLS"
					 " NOSUPERUSER NOREPLICATION CONNECTION LIMIT %d",
					 quote_identifier(r->name), r->createdb ? "" : "NO", r->login ? "" : "NO",
					 r->inherit ? "" : "NO", r->createrole ? "" : "NO", r->bypassrls ? "" : "NO",
					 r->connlimit);
	if (r->valid_until)
		appendStringInfo(&sql, " VALID UNTIL %s", literal(conn, r->valid_until));
	if (r->superuser || r->replication)
		ereport(LOG,
				(errmsg("cnpg_bootstrap: role \"%s\" of source %s imported without SUPERUSER and REPLICATION",
						r->name, imp->src->spec->name)));
	if (r->password == NULL)
	{
		imp_must_exec(conn, sql.data, what);
		return;
	}
	appendStringInfo(&sql, " PASSWORD %s", literal(conn, r->password));
	imp_must_exec(conn, "BEGIN; SET LOCAL log_statement = 'none';"
			  " SET LOCAL log_min_error_statement = 'PANIC';"
			  " SET LOCAL log_min_duration_statement = -1;"
			  " SET LOCAL log_min_duration_sample = -1;"
			  " SET LOCAL log_transaction_sample_rate = 0", what);
	imp_must_exec(conn, sql.data, what);
	imp_must_exec(conn, "COMMIT", what);
}

static bool
target_has_role(PGconn *conn, const char *name)
{
	return imp_query_bool(conn, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)",
					  name, "looking for a role on the target");
}

/* GRANT role TO member, as the source recorded it where the target allows */
static void
grant_membership(PGconn *conn, const char *role, const char *member, const char *grantor,
				 bool admin)
{
	char	   *sql = psprintf("GRANT %s TO %s%s", quote_identifier(role),
							   quote_identifier(member), admin ? " WITH ADMIN OPTION" : "");
	char	   *err = NULL;

	if (grantor && target_has_role(conn, grantor) &&
		cb_exec_ok(conn, psprintf("%s GRANTED BY %s", sql, quote_identifier(grantor)), &err))
		return;
	if (err)
		ereport(WARNING,
				(errmsg("granting role \"%s\" to \"%s\" as \"%s\" failed: %s; granting it as postgres",
						role, member, grantor, err)));
	imp_must_exec(conn, sql, psprintf("granting role \"%s\" to \"%s\"", role, member));
}

/*
 * Memberships where the member is a normal role and the role a normal or a
 * predefined one (pg_read_all_data ...), granted when both exist on the
 * target and one of them is imported.
 */
static void
import_memberships(Import *imp, PGconn *src, PGconn *dst)
{
	PGresult   *res = imp_must_query(src,
								 "SELECT DISTINCT ON (r.rolname, m.rolname) r.rolname, m.rolname, g.rolname,"
								 " am.admin_option"
								 " FROM pg_catalog.pg_auth_members am"
								 " JOIN pg_catalog.pg_roles r ON r.oid = am.roleid"
								 " JOIN pg_catalog.pg_roles m ON m.oid = am.member"
								 " LEFT JOIN pg_catalog.pg_roles g ON g.oid = am.grantor"
								 " WHERE am.member >= " FIRST_NORMAL_OID
								 "   AND (am.roleid >= " FIRST_NORMAL_OID " OR r.rolname ~ '^pg_')"
								 " ORDER BY r.rolname, m.rolname, am.admin_option DESC",
								 0, NULL, "reading the source's role memberships");
	const char *what = "reading the source's role memberships";
	int			n;
	char	  **rows;

	imp_check_columns(src, res, 4, what);
	n = PQntuples(res);
	rows = palloc(sizeof(char *) * Max(n * 4, 1));
	for (int i = 0; i < n; i++)
	{
		/* role, member and admin_option are never NULL; the grantor may be gone */
		rows[i * 4] = pstrdup(imp_value(src, res, i, 0, what, NULL));
		rows[i * 4 + 1] = pstrdup(imp_value(src, res, i, 1, what, rows[i * 4]));
		rows[i * 4 + 2] = PQgetisnull(res, i, 2) ? NULL : pstrdup(PQgetvalue(res, i, 2));
		rows[i * 4 + 3] = pstrdup(imp_bool(src, res, i, 3, what, rows[i * 4]) ? "t" : "f");
	}
	PQclear(res);
	for (int i = 0; i < n; i++)
	{
		char	  **row = &rows[i * 4];

		if (!role_is_wanted(imp, row[0]) && !role_is_wanted(imp, row[1]))
			continue;
		if (!target_has_role(dst, row[0]) || !target_has_role(dst, row[1]))
		{
			ereport(LOG,
					(errmsg("cnpg_bootstrap: membership of \"%s\" in \"%s\" not imported: a role is missing on the target",
							row[1], row[0])));
			continue;
		}
		grant_membership(dst, row[0], row[1], row[2], strcmp(row[3], "t") == 0);
	}
}

void
cb_import_roles(Import *imp)
{
	CbCluster  *c = imp->c;
	PGconn	   *src;
	PGconn	   *dst;
	SourceRole *roles;
	int			nroles;

	if (!imp->monolith || imp->spec->roles.n == 0 ||
		cb_journal_step_state(c->journal, IMPORT_ROLES_STEP, NULL) == CB_STEP_DONE)
		return;
	if (!cb_journal_step_begin(c->journal, IMPORT_ROLES_STEP, NULL))
		return;
	cb_journal_progress(c->journal, "import: roles");
	cb_journal_phase(c->journal, CB_PHASE_SETTING_UP, "Importing roles");

	src = cb_source_connect(imp->src, imp->dbs[0].source);
	roles = read_source_roles(imp, src, &nroles);
	dst = cb_connect_instance(c, imp->primary, "postgres");
	for (int i = 0; i < nroles; i++)
	{
		if (!role_is_wanted(imp, roles[i].name))
		{
			if (role_is_ours(imp, roles[i].name) && !imp_is_wildcard(&imp->spec->roles))
				ereport(WARNING,
						(errmsg("role \"%s\" is not imported: the target manages it itself", roles[i].name)));
			continue;
		}
		if (target_has_role(dst, roles[i].name))
			ereport(LOG,
					(errmsg("cnpg_bootstrap: role \"%s\" already exists on the target, kept as it is",
							roles[i].name)));
		else
			create_role(imp, dst, &roles[i]);
	}
	import_memberships(imp, src, dst);
	cb_disconnect(src);
	cb_disconnect(dst);
	cb_journal_step_finish(c->journal, IMPORT_ROLES_STEP, NULL, true, NULL);
}

