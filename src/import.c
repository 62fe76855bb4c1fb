/*-------------------------------------------------------------------------
 *
 * import.c
 *	  spec.bootstrap.initdb.import: a logical import from a live server into
 *	  the new primary, after post-init (docs/cnpg-rules.md §10, with the
 *	  seed's rules of docs/decisions.md §5-6).
 *
 * microservice: one source database goes into the application database,
 * every object owned by the application owner (pg_restore --no-owner
 * --no-privileges --role=<owner>, the owner being SUPERUSER only while it
 * runs), then postImportApplicationSQL and ANALYZE.
 * monolith: the listed roles (from pg_authid with their password
 * verifiers where the source lets us read it, else from pg_roles without
 * passwords, with a WARNING), their memberships, then each listed database
 * with its owners and privileges, created by pg_restore --create when the
 * target lacks it, then ANALYZE.
 *
 * Unlike CloudNativePG, dumps are made and restored in parallel: directory
 * format with one job per core, several small databases at once.  A dump
 * lives in <cluster>/import/<n> (never a path built from a database name)
 * and the directory is removed when the import ends, whichever way.
 *
 * Journal (cnpg_bootstrap.steps, step "import"): instance "" stands for the
 * whole import, and once it is done the source is never contacted again;
 * instance <target database> is begun right before its restore touches the
 * target and finished after ANALYZE.  A database found running or failed
 * by a later run was half restored: it is dropped and made again as
 * post-init left it, then restored from scratch, so a restart never leaves
 * a half-restored database that looks complete.  The roles of a monolith
 * are step "import-roles"; roles already present are kept, so a redo only
 * adds the missing ones.
 *
 * No password ever reaches an argv, a conninfo, a log line or a status
 * column: the source's password is in its pgpass file (passfile= in the
 * conninfo), the target is reached as postgres over its unix socket, and
 * the statements carrying password verifiers run with statement logging
 * off.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "libpq-fe.h"
#include "utils/builtins.h"

#include "external.h"
#include "fsutil.h"
#include "import.h"
#include "import_int.h"
#include "instance.h"
#include "pgconn.h"
#include "process.h"
#include "redact.h"

#define IMPORT_STEP			"import"
#define IMPORT_APPNAME		"cnpg_bootstrap_import"


/* how many lines of a tool's output are kept to explain its failure */
#define TOOL_TAIL_LINES		40

/* ---------- options the user may pass to pg_dump and pg_restore ----------
 *
 * pgDumpExtraOptions and the pgRestore*Options lists are checked before any
 * work, the way getopt reads them: each item is one argv word, a short
 * option may be clustered ("-Ov") or carry its value ("-n1"), a long one
 * must be written in full (getopt would accept any unambiguous prefix,
 * which a list cannot be checked against), and an option that takes a value
 * uses the next item when the value is not attached.  An item that is not
 * an option is refused: to pg_dump it would name the database to dump, to
 * pg_restore the archive to read.  Unknown options are refused too.  The
 * error names the field, the item and the option, never the value.
 *
 * Refused (README copies this table; D = pg_dump, R = pg_restore):
 *
 * | option                          | D | R | why                                  |
 * |---------------------------------|---|---|--------------------------------------|
 * | -f, --file                      | x | x | D: we choose the dump directory and  |
 * |                                 |   |   | remove it; R: writes a script        |
 * |                                 |   |   | instead of restoring                 |
 * | -F, --format                    | x | x | directory format, needed for -j      |
 * | -j, --jobs                      | x | x | one job per core, set by us          |
 * | -d, --dbname, -h, --host,       | x | x | the source is the externalCluster,   |
 * | -p, --port, -U, --username      |   |   | the target its unix socket           |
 * | -W, --password                  | x | x | nothing answers a prompt; the        |
 * |                                 |   |   | password is the externalCluster's    |
 * |                                 |   |   | Secret, in a pgpass file             |
 * | --section                       | x | x | sections are ours (schemaOnly)       |
 * | -s, --schema-only               | x | x | use schemaOnly                       |
 * | -a, --data-only                 | x | x | no tables to restore the data into   |
 * | -C, --create                    | x | x | we decide whether to create the db   |
 * | -c, --clean                     |   | x | the target is new: the DROPs fail or |
 * |                                 |   |   | remove what post-init made           |
 * | -1, --single-transaction        | - | x | cannot be combined with -j           |
 * | --role                          |   | x | microservice: the owner owns it all; |
 * |                                 |   |   | monolith: owners are kept            |
 * | -l, --list                      | - | x | prints the TOC instead of restoring  |
 * | -L, --use-list                  | - | x | reads a file of the control host     |
 * | --filter (PostgreSQL 17)        | x | - | reads a file of the control host     |
 * | --binary-upgrade                | x | - | for pg_upgrade only                  |
 * | --restrict-key                  | x | x | for plain-text scripts only          |
 * | -V, --version, -?, --help       | x | x | print and exit without working       |
 * | an item that is not an option,  | x | x | would name the database (D) or the   |
 * | "--"                            |   |   | archive (R)                          |
 * | an option not in these tables,  | x | x | unknown, or an abbreviation          |
 * | an abbreviated long option      |   |   |                                      |
 * (x refused, blank accepted, - not an option of that tool)
 *
 * -Z/--compress is allowed: we dump with -Z0 (a local dump that is removed
 * at once is faster uncompressed) and the user's value comes later.
 */
typedef struct ToolOption
{
	const char *name;			/* long name without "--", or NULL */
	char		letter;			/* short option, or '\0' */
	bool		has_arg;
	const char *refused;		/* why; NULL: allowed */
} ToolOption;

#define WHY_FILE_DUMP	"the dump goes to a directory that cnpg_bootstrap chooses and removes"
#define WHY_FILE_REST	"it would write a script instead of restoring"
#define WHY_FORMAT		"the archive is in directory format, which parallel dump and restore need"
#define WHY_JOBS		"the number of jobs is set by cnpg_bootstrap (one per core)"
#define WHY_CONN		"the source is the externalCluster and the target its unix socket"
#define WHY_PASSWORD	"nothing can answer a password prompt; the password comes from the externalCluster's password Secret"
#define WHY_SECTION		"sections are chosen by cnpg_bootstrap (use schemaOnly for the schema alone)"
#define WHY_SCHEMA		"use schemaOnly to import the schema alone"
#define WHY_DATA		"a data-only run leaves no tables to restore the data into"
#define WHY_CREATE		"cnpg_bootstrap decides whether the restore creates the database"
#define WHY_CLEAN		"the target database is new: the DROP statements fail or remove what post-init made"
#define WHY_SINGLE		"a single transaction cannot be combined with parallel restore (-j)"
#define WHY_ROLE		"microservice: every object belongs to the owner; monolith: owners are kept"
#define WHY_LIST		"it prints the table of contents instead of restoring"
#define WHY_HOSTFILE	"it reads a file of the control host"
#define WHY_UPGRADE		"it is for pg_upgrade only; such a dump does not restore normally"
#define WHY_PLAIN		"it applies to plain-text scripts only"
#define WHY_EXIT		"it prints and exits without doing the work"

/* what both tools refuse, and what both accept, with the same meaning */
#define REFUSED_BY_BOTH \
	{"format", 'F', true, WHY_FORMAT}, \
	{"jobs", 'j', true, WHY_JOBS}, \
	{"dbname", 'd', true, WHY_CONN}, \
	{"host", 'h', true, WHY_CONN}, \
	{"port", 'p', true, WHY_CONN}, \
	{"username", 'U', true, WHY_CONN}, \
	{"password", 'W', false, WHY_PASSWORD}, \
	{"section", '\0', true, WHY_SECTION}, \
	{"schema-only", 's', false, WHY_SCHEMA}, \
	{"data-only", 'a', false, WHY_DATA}, \
	{"create", 'C', false, WHY_CREATE}, \
	{"restrict-key", '\0', true, WHY_PLAIN}, \
	{"version", 'V', false, WHY_EXIT}, \
	{"help", '?', false, WHY_EXIT}

#define ACCEPTED_BY_BOTH \
	{"schema", 'n', true, NULL}, \
	{"exclude-schema", 'N', true, NULL}, \
	{"no-owner", 'O', false, NULL}, \
	{"no-reconnect", 'R', false, NULL}, \
	{"superuser", 'S', true, NULL}, \
	{"table", 't', true, NULL}, \
	{"verbose", 'v', false, NULL}, \
	{"no-password", 'w', false, NULL}, \
	{"no-privileges", 'x', false, NULL}, \
	{"no-acl", '\0', false, NULL}, \
	{"disable-triggers", '\0', false, NULL}, \
	{"enable-row-security", '\0', false, NULL}, \
	{"if-exists", '\0', false, NULL}, \
	{"no-comments", '\0', false, NULL}, \
	{"no-publications", '\0', false, NULL}, \
	{"no-security-labels", '\0', false, NULL}, \
	{"no-subscriptions", '\0', false, NULL}, \
	{"no-table-access-method", '\0', false, NULL}, \
	{"no-tablespaces", '\0', false, NULL}, \
	{"strict-names", '\0', false, NULL}, \
	{"use-set-session-authorization", '\0', false, NULL}

static const ToolOption pg_dump_options[] = {
	REFUSED_BY_BOTH,
	ACCEPTED_BY_BOTH,
	{"file", 'f', true, WHY_FILE_DUMP},
	{"binary-upgrade", '\0', false, WHY_UPGRADE},
	{"filter", '\0', true, WHY_HOSTFILE},
	{"blobs", 'b', false, NULL},
	{"no-blobs", 'B', false, NULL},
	{"clean", 'c', false, NULL},
	{"extension", 'e', true, NULL},
	{"encoding", 'E', true, NULL},
	{"exclude-table", 'T', true, NULL},
	{"compress", 'Z', true, NULL},
	{"attribute-inserts", '\0', false, NULL},
	{"column-inserts", '\0', false, NULL},
	{"disable-dollar-quoting", '\0', false, NULL},
	{"exclude-table-data", '\0', true, NULL},
	{"extra-float-digits", '\0', true, NULL},
	{"include-foreign-data", '\0', true, NULL},
	{"inserts", '\0', false, NULL},
	{"load-via-partition-root", '\0', false, NULL},
	{"lock-wait-timeout", '\0', true, NULL},
	{"no-sync", '\0', false, NULL},
	{"no-toast-compression", '\0', false, NULL},
	{"no-unlogged-table-data", '\0', false, NULL},
	{"on-conflict-do-nothing", '\0', false, NULL},
	{"quote-all-identifiers", '\0', false, NULL},
	{"role", '\0', true, NULL},
	{"rows-per-insert", '\0', true, NULL},
	{"serializable-deferrable", '\0', false, NULL},
	{"snapshot", '\0', true, NULL},
	/* later pg_dump versions (cnpg_bootstrap.bindir may point to one) */
	{"table-and-children", '\0', true, NULL},
	{"exclude-table-and-children", '\0', true, NULL},
	{"exclude-table-data-and-children", '\0', true, NULL},
	{"exclude-extension", '\0', true, NULL},
	{NULL, '\0', false, NULL}
};

static const ToolOption pg_restore_options[] = {
	REFUSED_BY_BOTH,
	ACCEPTED_BY_BOTH,
	{"file", 'f', true, WHY_FILE_REST},
	{"clean", 'c', false, WHY_CLEAN},
	{"single-transaction", '1', false, WHY_SINGLE},
	{"role", '\0', true, WHY_ROLE},
	{"list", 'l', false, WHY_LIST},
	{"use-list", 'L', true, WHY_HOSTFILE},
	{"exit-on-error", 'e', false, NULL},
	{"index", 'I', true, NULL},
	{"function", 'P', true, NULL},
	{"trigger", 'T', true, NULL},
	{"no-data-for-failed-tables", '\0', false, NULL},
	{NULL, '\0', false, NULL}
};

/* options that select what pg_dump dumps: the preflight probes then do not apply */
static const char *const selective_dump_options[] = {
	"-t", "--table", "-T", "--exclude-table", "-n", "--schema",
	"-N", "--exclude-schema", "-e", "--extension", NULL
};


/* one pg_restore run: the sections it restores and its options */
typedef struct RestoreRun
{
	const char *label;
	int			nsections;
	const char *sections[3];
	const CbStringList *options;
} RestoreRun;

/* ---------- checking the option lists ---------- */

static const ToolOption *
find_long_option(const ToolOption *table, const char *name, size_t len)
{
	for (const ToolOption *o = table; o->name || o->letter; o++)
		if (o->name && strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static const ToolOption *
find_short_option(const ToolOption *table, char letter)
{
	for (const ToolOption *o = table; o->name || o->letter; o++)
		if (o->letter == letter)
			return o;
	return NULL;
}

static void
refuse_option(const char *field, int i, const char *option, const char *tool,
			  const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s[%d]: option \"%s\" cannot be passed to %s", field, i, option, tool),
			 errdetail("%s.", why),
			 errhint("Remove it from the list; see the option table in the README.")));
}

/* the option's own name, without a value that may follow it */
static char *
option_name(const char *item, bool is_long)
{
	if (is_long)
		return pnstrdup(item, strcspn(item, "="));
	return psprintf("-%c", item[1]);
}

/* one item; returns true when the next item is this option's value */
static bool
check_option_item(const char *item, int i, const ToolOption *table,
				  const char *tool, const char *field)
{
	const ToolOption *o;

	if (item[0] != '-' || item[1] == '\0')
		refuse_option(field, i, "(not an option)", tool,
					  "an item that is not an option would name the database or the archive");
	if (item[1] == '-')
	{
		const char *eq = strchr(item, '=');
		size_t		len = eq ? (size_t) (eq - item - 2) : strlen(item + 2);

		if ((o = find_long_option(table, item + 2, len)) == NULL)
			refuse_option(field, i, option_name(item, true), tool,
						  "it is not a known option (long options must be written in full)");
		if (o->refused)
			refuse_option(field, i, option_name(item, true), tool, o->refused);
		if (!o->has_arg && eq)
			refuse_option(field, i, option_name(item, true), tool, "it takes no value");
		return o->has_arg && !eq;
	}
	for (const char *p = item + 1; *p; p++)
	{
		char	   *name = psprintf("-%c", *p);

		if ((o = find_short_option(table, *p)) == NULL)
			refuse_option(field, i, name, tool, "it is not a known option");
		if (o->refused)
			refuse_option(field, i, name, tool, o->refused);
		if (o->has_arg)
			return p[1] == '\0';
	}
	return false;
}

static void
check_option_list(const CbStringList *list, const ToolOption *table,
				  const char *tool, const char *field)
{
	for (int i = 0; i < list->n; i++)
	{
		if (!check_option_item(list->items[i], i, table, tool, field))
			continue;
		if (i + 1 >= list->n)
			refuse_option(field, i, option_name(list->items[i], list->items[i][1] == '-'),
						  tool, "its value is missing");
		i++;					/* the value, whatever it looks like */
	}
}

static void
check_options(const CbImport *spec)
{
	const struct
	{
		const CbStringList *list;
		const char *field;
	}			restore_lists[] = {
		{&spec->pg_restore_extra_options, IMPORT_FIELD ".pgRestoreExtraOptions"},
		{&spec->pg_restore_predata_options, IMPORT_FIELD ".pgRestorePredataOptions"},
		{&spec->pg_restore_data_options, IMPORT_FIELD ".pgRestoreDataOptions"},
		{&spec->pg_restore_postdata_options, IMPORT_FIELD ".pgRestorePostdataOptions"},
	};

	check_option_list(&spec->pg_dump_extra_options, pg_dump_options, "pg_dump",
					  IMPORT_FIELD ".pgDumpExtraOptions");
	for (int i = 0; i < (int) lengthof(restore_lists); i++)
		check_option_list(restore_lists[i].list, pg_restore_options, "pg_restore",
						  restore_lists[i].field);
}

static bool
dump_is_selective(const CbStringList *options)
{
	for (int i = 0; i < options->n; i++)
		for (int j = 0; selective_dump_options[j]; j++)
		{
			const char *opt = selective_dump_options[j];
			size_t		len = strlen(opt);

			/* "-n", "-nfoo", "--schema", "--schema=foo" (never "--schema-only") */
			if (strncmp(options->items[i], opt, len) == 0 &&
				(opt[1] != '-' || options->items[i][len] == '\0' ||
				 options->items[i][len] == '='))
				return true;
		}
	return false;
}

/* ---------- small helpers ---------- */

/*
 * pg_restore's -d: a conninfo, so that a database name holding "=" is not
 * read as one.  A source without options of its own gives just the quoted
 * dbname; host, port and user are pg_restore's -h, -p and -U.
 */
static char *
target_dbname_arg(const char *dbname)
{
	CbSource	none = {0};

	return cb_source_conninfo(&none, dbname, "application_name=" IMPORT_APPNAME);
}

/*
 * The part of a tool's output that explains its failure: its own lines
 * ("pg_restore: error: ...") and the server's HINT, never the
 * "Command was:" echo of a statement, which can carry data of the source.
 */
static char *
tool_message(const char *tail)
{
	StringInfoData buf;
	/* the tail is redacted as it is read (redact.c); again, in case */
	char	   *copy = cb_redact_text(tail);
	char	   *save = NULL;

	initStringInfo(&buf);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		if (strncmp(line, "pg_dump", 7) != 0 && strncmp(line, "pg_restore", 10) != 0 &&
			strncmp(line, "HINT:", 5) != 0 &&
			strncmp(line, "could not execute", 17) != 0)
			continue;
		if (buf.len > 0)
			appendStringInfoChar(&buf, '\n');
		appendStringInfoString(&buf, line);
	}
	return buf.len > 0 ? buf.data : pstrdup("(no message from the tool)");
}

/* a query that must succeed; on failure the connection is closed and ERROR */
PGresult *
imp_must_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
		   const char *what)
{
	char	   *err = NULL;
	PGresult   *res = nparams < 0 ? cb_exec(conn, sql, &err) :
		cb_exec_params(conn, sql, nparams, params, &err);

	if (res == NULL || err != NULL)
	{
		if (res)
			PQclear(res);
		cb_disconnect(conn);
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("%s: %s", what, err ? err : "no answer")));
	}
	return res;
}

void
imp_must_exec(PGconn *conn, const char *sql, const char *what)
{
	PQclear(imp_must_query(conn, sql, -1, NULL, what));
}

/* first value of a one-parameter query (NULL for none), or ERROR */
char *
imp_query_value(PGconn *conn, const char *sql, const char *param, const char *what)
{
	const char *params[] = {param};
	PGresult   *res = imp_must_query(conn, sql, param ? 1 : 0, params, what);
	char	   *v = NULL;

	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		v = pstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

bool
imp_query_bool(PGconn *conn, const char *sql, const char *param, const char *what)
{
	char	   *v = imp_query_value(conn, sql, param, what);

	return v && strcmp(v, "t") == 0;
}

static void
imp_odd_answer(PGconn *conn, PGresult *res, const char *what, const char *why)
{
	PQclear(res);
	cb_disconnect(conn);
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("%s: unexpected answer: %s", what, why)));
}

void
imp_check_columns(PGconn *conn, PGresult *res, int ncols, const char *what)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != ncols)
		imp_odd_answer(conn, res, what,
					   psprintf("%d columns instead of %d", PQnfields(res), ncols));
}

const char *
imp_value(PGconn *conn, PGresult *res, int row, int col, const char *what,
		  const char *row_name)
{
	if (row >= PQntuples(res) || col >= PQnfields(res))
		imp_odd_answer(conn, res, what, "a value is missing");
	if (PQgetisnull(res, row, col))
	{
		char	   *column = pstrdup(PQfname(res, col) ? PQfname(res, col) : "?");

		imp_odd_answer(conn, res, what,
					   row_name ? psprintf("column %s of \"%s\" is NULL", column, row_name) :
					   psprintf("column %s is NULL", column));
	}
	return PQgetvalue(res, row, col);
}

bool
imp_bool(PGconn *conn, PGresult *res, int row, int col, const char *what,
		 const char *row_name)
{
	const char *v = imp_value(conn, res, row, col, what, row_name);

	if (strcmp(v, "t") != 0 && strcmp(v, "f") != 0)
	{
		char	   *column = pstrdup(PQfname(res, col));

		imp_odd_answer(conn, res, what,
					   row_name ? psprintf("column %s of \"%s\" is not a boolean", column, row_name) :
					   psprintf("column %s is not a boolean", column));
	}
	return v[0] == 't';
}

static bool
target_has_database(PGconn *conn, const char *dbname)
{
	return imp_query_bool(conn, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1)",
					  dbname, "looking for a database on the target");
}

/* "database 2 of 5 (sales)" or "databases 2, 3 of 5 (sales, hr)" */
static void
report_progress(Import *imp, ImportDb **batch, int n, const char *what)
{
	StringInfoData where;
	StringInfoData names;

	initStringInfo(&where);
	initStringInfo(&names);
	appendStringInfoString(&where, n == 1 ? "database " : "databases ");
	for (int i = 0; i < n; i++)
	{
		appendStringInfo(&where, "%s%d", i ? ", " : "", batch[i]->index);
		appendStringInfo(&names, "%s%s", i ? ", " : "", batch[i]->target);
	}
	appendStringInfo(&where, " of %d (%s): %s", imp->ndbs, names.data, what);
	cb_journal_progress(imp->c->journal, psprintf("import: %s", where.data));
	cb_journal_phase(imp->c->journal, CB_PHASE_SETTING_UP,
					 psprintf("Importing %s", where.data));
}

/* ---------- preflight ---------- */

static void
preflight_failed(PGconn *conn, Import *imp, const char *what, const char *detail,
				 const char *hint)
{
	cb_disconnect(conn);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("preflight of source %s: %s", imp->src->spec->name, what),
			 detail ? errdetail("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}

bool
imp_is_wildcard(const CbStringList *list)
{
	return list->n == 1 && strcmp(list->items[0], "*") == 0;
}

/* the databases to import, in order; "*" is every connectable one but postgres */
static void
list_databases(Import *imp, PGconn *conn)
{
	const CbStringList *names = &imp->spec->databases;
	PGresult   *res = NULL;
	int			n = names->n;

	if (imp->monolith && imp_is_wildcard(names))
	{
		res = imp_must_query(conn,
						 "SELECT datname FROM pg_catalog.pg_database"
						 " WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres'"
						 " ORDER BY datname", 0, NULL, "listing the source's databases");
		imp_check_columns(conn, res, 1, "listing the source's databases");
		n = PQntuples(res);
		for (int i = 0; i < n; i++)
			(void) imp_value(conn, res, i, 0, "listing the source's databases", NULL);
	}
	imp->ndbs = n;
	imp->dbs = palloc0(sizeof(ImportDb) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		ImportDb   *db = &imp->dbs[i];

		db->index = i + 1;
		db->source = pstrdup(res ? PQgetvalue(res, i, 0) : names->items[i]);
		db->target = imp->monolith ? db->source : imp->c->app_db;
		db->dump_dir = psprintf("%s/%d", imp->dump_root, db->index);
	}
	if (res)
		PQclear(res);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(imp->dbs[j].source, imp->dbs[i].source) == 0)
				preflight_failed(conn, imp, psprintf("database \"%s\" is listed twice", imp->dbs[i].source),
								 NULL, NULL);
	if (n == 0)
		preflight_failed(conn, imp, "no database to import",
						 "Every database but postgres and the templates counts for \"*\".", NULL);
}

/* exists, accepts connections, CONNECT granted */
static void
preflight_database_access(Import *imp, PGconn *conn, const ImportDb *db)
{
	const char *params[] = {db->source};
	PGresult   *res = imp_must_query(conn,
								 "SELECT datallowconn, pg_catalog.has_database_privilege(oid, 'CONNECT')"
								 " FROM pg_catalog.pg_database WHERE datname = $1",
								 1, params, "looking for a database on the source");
	bool		found;
	bool		allowconn;
	bool		connect;

	imp_check_columns(conn, res, 2, "looking for a database on the source");
	found = PQntuples(res) > 0;
	allowconn = found && imp_bool(conn, res, 0, 0, "looking for a database on the source", db->source);
	connect = found && imp_bool(conn, res, 0, 1, "looking for a database on the source", db->source);

	PQclear(res);
	if (!found)
		preflight_failed(conn, imp, psprintf("database \"%s\" does not exist", db->source),
						 psprintf("%s.databases names it.", IMPORT_FIELD), NULL);
	if (!allowconn)
		preflight_failed(conn, imp, psprintf("database \"%s\" does not accept connections", db->source),
						 NULL, NULL);
	if (!connect)
		preflight_failed(conn, imp,
						 psprintf("role \"%s\" has no CONNECT privilege on database \"%s\"",
								  PQuser(conn), db->source),
						 NULL, psprintf("GRANT CONNECT ON DATABASE %s TO %s on the source.",
										quote_identifier(db->source), quote_identifier(PQuser(conn))));
	if (strcmp(db->target, "template0") == 0 || strcmp(db->target, "template1") == 0)
		preflight_failed(conn, imp, psprintf("database \"%s\" cannot be imported", db->source),
						 "A template database of the target cannot be restored into.", NULL);
}

/*
 * What pg_dump will read and the role may not: schemas holding tables or
 * sequences without USAGE, tables and sequences without SELECT, tables
 * under row-level security the role does not bypass (pg_dump turns
 * row_security off, which fails then), and large objects without SELECT.
 * Extension members are left out: pg_dump does not dump them.
 */
static const char *const unreadable_sql =
"WITH me AS (SELECT rolsuper, %s AS rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user),"
" rel AS (SELECT c.oid, c.relkind, c.relnamespace, c.relrowsecurity, %s AS relforce, c.relowner"
"   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
"  WHERE c.relkind IN ('r', 'p', 'S')"
"    AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
"    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
"                     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
"                       AND d.objid = c.oid AND d.deptype = 'e'))"
" SELECT what FROM ("
"  SELECT 1 AS ord, 'schema ' || pg_catalog.quote_ident(n.nspname) AS what FROM pg_catalog.pg_namespace n"
"   WHERE n.oid IN (SELECT relnamespace FROM rel)"
"     AND NOT pg_catalog.has_schema_privilege(n.oid, 'USAGE')"
"  UNION ALL"
"  SELECT 2, CASE rel.relkind WHEN 'S' THEN 'sequence ' ELSE 'table ' END"
"         || rel.oid::pg_catalog.regclass::text FROM rel"
"   WHERE NOT pg_catalog.has_table_privilege(rel.oid, 'SELECT')"
"  UNION ALL"
"  SELECT 3, 'table ' || rel.oid::pg_catalog.regclass::text || ' (row-level security)' FROM rel, me"
"   WHERE rel.relrowsecurity AND NOT me.rolsuper AND NOT me.rolbypassrls"
"     AND (rel.relforce OR NOT pg_catalog.pg_has_role(rel.relowner, 'USAGE'))"
"  UNION ALL"
"  SELECT 4, 'large object ' || m.oid FROM pg_catalog.pg_largeobject_metadata m, me"
"   WHERE NOT (me.rolsuper OR pg_catalog.current_setting('lo_compat_privileges')::bool"
"              OR pg_catalog.pg_has_role(m.lomowner, 'USAGE')"
"              OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(m.lomacl) a"
"                          WHERE a.privilege_type = 'SELECT'"
"                            AND CASE WHEN a.grantee = 0 THEN true"
"                                ELSE pg_catalog.pg_has_role(a.grantee, 'USAGE') END))"
" ) x ORDER BY x.ord, x.what LIMIT 6";

/* the rights pg_dump needs, for a dump of every schema */
static void
preflight_readable(Import *imp, PGconn *conn, const ImportDb *db)
{
	bool		rls = imp->source_version >= 90500;
	PGresult   *res = imp_must_query(conn, psprintf(unreadable_sql, rls ? "rolbypassrls" : "false",
												rls ? "c.relforcerowsecurity" : "false"), 0, NULL,
								 psprintf("checking what the role can read in database \"%s\"", db->source));
	StringInfoData list;

	if (PQntuples(res) == 0)
	{
		PQclear(res);
		return;
	}
	initStringInfo(&list);
	for (int i = 0; i < PQntuples(res) && i < 5; i++)
		appendStringInfo(&list, "%s%s", i ? ", " : "", PQgetvalue(res, i, 0));
	if (PQntuples(res) > 5)
		appendStringInfoString(&list, ", ...");
	PQclear(res);
	preflight_failed(conn, imp,
					 psprintf("role \"%s\" cannot read everything in database \"%s\"",
							  PQuser(conn), db->source),
					 psprintf("Not readable: %s.", list.data),
					 "Grant the role USAGE on the schemas and SELECT on the tables, sequences and large objects (e.g. GRANT pg_read_all_data), or BYPASSRLS for tables with row-level security.");
}

/* every extension the dump will create (pg_dump skips initdb's) must be installable */
static void
preflight_extensions(Import *imp, PGconn *conn, PGconn *target, const ImportDb *db)
{
	PGresult   *res = imp_must_query(conn, "SELECT extname FROM pg_catalog.pg_extension"
								 " WHERE oid >= " FIRST_NORMAL_OID " ORDER BY extname", 0, NULL,
								 psprintf("listing the extensions of database \"%s\"", db->source));

	for (int i = 0; i < PQntuples(res); i++)
	{
		char	   *ext = pstrdup(PQgetvalue(res, i, 0));

		if (imp_query_bool(target, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions"
					   " WHERE name = $1)", ext, "listing the target's extensions"))
			continue;
		PQclear(res);
		cb_disconnect(target);
		preflight_failed(conn, imp,
						 psprintf("extension \"%s\" of database \"%s\" is not available on the target",
								  ext, db->source),
						 psprintf("The target runs the binaries in \"%s\".", imp->c->bindir),
						 psprintf("Install the package that provides it for PostgreSQL %d.", imp->c->major));
	}
	PQclear(res);
}

/*
 * Inside each database: what pg_dump reads is readable, what it creates can
 * be created.  Options that select what is dumped (-t, -n ...) make both
 * checks guesses, so pg_dump is left to judge then.
 */
static void
preflight_contents(Import *imp)
{
	PGconn	   *target;

	if (dump_is_selective(&imp->spec->pg_dump_extra_options))
		return;
	target = cb_connect_instance(imp->c, imp->primary, "postgres");
	for (int i = 0; i < imp->ndbs; i++)
	{
		PGconn	   *conn = cb_source_connect(imp->src, imp->dbs[i].source);

		preflight_readable(imp, conn, &imp->dbs[i]);
		preflight_extensions(imp, conn, target, &imp->dbs[i]);
		cb_disconnect(conn);
	}
	cb_disconnect(target);
}

/* roles: listed ones exist; pg_authid readable, or a WARNING */
static void
preflight_roles(Import *imp, PGconn *conn)
{
	const CbStringList *roles = &imp->spec->roles;

	if (!imp->monolith || roles->n == 0)
		return;
	for (int i = 0; !imp_is_wildcard(roles) && i < roles->n; i++)
		if (!imp_query_bool(conn, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)",
						roles->items[i], "looking for a role on the source"))
			preflight_failed(conn, imp, psprintf("role \"%s\" does not exist", roles->items[i]),
							 psprintf("%s.roles names it.", IMPORT_FIELD), NULL);
}

/*
 * Room for the restored databases plus the largest batch's dumps (batches
 * of one database per core, dumps uncompressed); a database's size on the
 * source bounds both its restored copy and its dump.
 */
static void
preflight_space(Import *imp, PGconn *conn)
{
	int64		need = 0;
	int64		batch = 0;
	int64		largest_batch = 0;
	int64		free_bytes;

	for (int i = 0; i < imp->ndbs; i++)
	{
		char	   *v = imp_query_value(conn, "SELECT pg_catalog.pg_database_size($1)",
									imp->dbs[i].source, "measuring the source's databases");
		char	   *end = NULL;
		int64		size = v ? strtoi64(v, &end, 10) : 0;

		if (v && (end == v || *end != '\0' || size < 0))
			preflight_failed(conn, imp, psprintf("the size of database \"%s\" is not a number",
												 imp->dbs[i].source), NULL, NULL);

		need += size;
		batch = i % imp->jobs == 0 ? size : batch + size;
		largest_batch = Max(largest_batch, batch);
	}
	need += largest_batch;
	if (!cb_fs_space(imp->c->dir, &free_bytes, NULL))
		return;
	if (free_bytes < need)
		preflight_failed(conn, imp, "not enough free space for the import",
						 psprintf("The dumps and the restored databases take about " INT64_FORMAT " bytes; \"%s\" has " INT64_FORMAT " free.",
								  need, imp->c->dir, free_bytes),
						 "Free some space, or import fewer databases at a time.");
}

static void
preflight(Import *imp)
{
	/* as pg_basebackup's preflight: the source's dbname, else postgres */
	PGconn	   *conn = cb_source_connect(imp->src, cb_map_get(&imp->src->spec->connection_parameters,
															 "dbname") ? NULL : "postgres");
	char	   *v = imp_query_value(conn, "SELECT pg_catalog.current_setting('server_version_num')",
									NULL, "reading the source's version");
	char	   *end = NULL;
	long		version = v ? strtol(v, &end, 10) : 0;

	if (v == NULL || end == v || *end != '\0' || version <= 0 || version > INT_MAX)
		preflight_failed(conn, imp, "the source's server_version_num is not a version number",
						 NULL, NULL);

	if (version / 10000 > imp->c->major || version < 90200)
		preflight_failed(conn, imp, "the source's major version cannot be imported",
						 psprintf("The source runs PostgreSQL %s; the target's binaries in \"%s\" are PostgreSQL %d.",
								  version >= 100000 ? psprintf("%ld", version / 10000) :
								  psprintf("%ld.%ld", version / 10000, version / 100 % 100),
								  imp->c->bindir, imp->c->major),
						 "pg_dump reads servers from 9.2 up to its own major version: use binaries at least as new as the source (imageName, cnpg_bootstrap.bindir).");
	imp->source_version = (int) version;
	list_databases(imp, conn);
	for (int i = 0; i < imp->ndbs; i++)
		preflight_database_access(imp, conn, &imp->dbs[i]);
	preflight_roles(imp, conn);
	preflight_space(imp, conn);
	cb_disconnect(conn);
	preflight_contents(imp);
}

/* ---------- running pg_dump and pg_restore ---------- */

static void
child_options(Import *imp, CbChildOptions *opts, const char **argv, const char *tool,
			  const char *dbname)
{
	memset(opts, 0, sizeof(*opts));
	opts->argv = argv;
	opts->cwd = imp->dump_root;
	opts->log_prefix = psprintf("%s %s", tool, dbname);
	opts->log_file = imp->log_file;
	opts->tail_lines = TOOL_TAIL_LINES;

	/*
	 * In the worker's process group: a crash-restart or a fast shutdown of
	 * the control instance signals the group, so no dump or restore outlives
	 * the worker and races with the redo.
	 */
	opts->new_session = false;
}

static void
add_user_options(const char **argv, int *n, const CbStringList *list)
{
	for (int i = 0; i < list->n; i++)
		argv[(*n)++] = list->items[i];
}

static const char **
dump_argv(Import *imp, const ImportDb *db, int jobs)
{
	const CbStringList *extra = &imp->spec->pg_dump_extra_options;
	const char **argv = palloc0(sizeof(char *) * (16 + extra->n));
	int			n = 0;

	argv[n++] = cb_tool(imp->c, "pg_dump");
	argv[n++] = "-Fd";
	argv[n++] = psprintf("-j%d", jobs);
	argv[n++] = "-f";
	argv[n++] = db->dump_dir;
	argv[n++] = "-d";
	argv[n++] = cb_source_conninfo(imp->src, db->source, NULL);
	/* the dump is local and short-lived: neither compressed nor fsynced */
	argv[n++] = "-Z0";
	argv[n++] = "--no-sync";
	if (imp->spec->schema_only)
	{
		argv[n++] = "--section=pre-data";
		argv[n++] = "--section=post-data";
	}
	add_user_options(argv, &n, extra);
	return argv;
}

static void
dump_failed(const ImportDb *db, const CbChildResult *res)
{
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("database \"%s\": pg_dump failed (exit code %d)", db->source, res->exit_code),
			 errdetail("%s", tool_message(res->tail))));
}

/*
 * Dump a batch of databases at once, each with an equal share of the
 * cores: small databases are dominated by pg_dump's catalog queries, which
 * one job runs alone, so several at once pay on two cores; a lone database
 * gets every core.
 */
static void
dump_databases(Import *imp, ImportDb **batch, int k)
{
	CbChildOptions *opts = palloc0(sizeof(CbChildOptions) * k);
	CbChildResult *res = palloc0(sizeof(CbChildResult) * k);

	report_progress(imp, batch, k, "pg_dump");
	for (int i = 0; i < k; i++)
		child_options(imp, &opts[i], dump_argv(imp, batch[i], Max(1, imp->jobs / k)),
					  "pg_dump", batch[i]->source);
	(void) cb_run_children(k, opts, res);
	for (int i = 0; i < k; i++)
		if (res[i].exit_code != 0)
			dump_failed(batch[i], &res[i]);
}

static bool
lists_equal(const CbStringList *a, const CbStringList *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->items[i], b->items[i]) != 0)
			return false;
	return true;
}

/*
 * The pg_restore runs: one per section as CloudNativePG does, each with its
 * own options (a section's list replaces pgRestoreExtraOptions when not
 * empty).  When every section gets the same options one run restores them
 * all: parallel pg_restore then overlaps a table's indexes with the other
 * tables' data, and loads a table in the transaction that created it.
 */
static int
plan_restore(const CbImport *spec, RestoreRun *runs)
{
	static const char *const names[] = {"pre-data", "data", "post-data"};
	const CbStringList *specific[] = {&spec->pg_restore_predata_options,
		&spec->pg_restore_data_options,
	&spec->pg_restore_postdata_options};
	int			nruns = 0;
	bool		uniform = true;

	for (int s = 0; s < 3; s++)
	{
		if (spec->schema_only && s == 1)
			continue;
		runs[nruns].label = names[s];
		runs[nruns].nsections = 1;
		runs[nruns].sections[0] = names[s];
		runs[nruns].options = specific[s]->n > 0 ? specific[s] : &spec->pg_restore_extra_options;
		uniform = uniform && lists_equal(runs[nruns].options, runs[0].options);
		nruns++;
	}
	if (!uniform)
		return nruns;
	for (int r = 1; r < nruns; r++)
		runs[0].sections[r] = runs[r].sections[0];
	runs[0].nsections = nruns;
	runs[0].label = spec->schema_only ? "pre-data, post-data" : "pre-data, data, post-data";
	return 1;
}

static const char **
restore_argv(Import *imp, const ImportDb *db, const RestoreRun *run, int jobs, bool create)
{
	const char **argv = palloc0(sizeof(char *) * (24 + run->options->n));
	int			n = 0;

	argv[n++] = cb_tool(imp->c, "pg_restore");
	argv[n++] = "-h";
	argv[n++] = imp->c->run_dir;
	argv[n++] = "-p";
	argv[n++] = psprintf("%d", imp->primary->port);
	argv[n++] = "-U";
	argv[n++] = "postgres";
	/* pg_restore --create connects to postgres, creates the database, moves in */
	argv[n++] = "-d";
	argv[n++] = target_dbname_arg(create ? "postgres" : db->target);
	argv[n++] = psprintf("-j%d", jobs);
	argv[n++] = "--exit-on-error";
	if (create)
		argv[n++] = "--create";
	if (!imp->monolith)
	{
		argv[n++] = "--no-owner";
		argv[n++] = "--no-privileges";
		argv[n++] = psprintf("--role=%s", imp->c->app_owner);
	}
	/* a lone run of every section needs no filter */
	if (run->nsections < 3)
		for (int s = 0; s < run->nsections; s++)
			argv[n++] = psprintf("--section=%s", run->sections[s]);
	add_user_options(argv, &n, run->options);
	argv[n++] = db->dump_dir;
	return argv;
}

/* a failed restore: every database of the batch not yet finished is failed */
static void
restore_failed(Import *imp, ImportDb **batch, int k, int failed, const RestoreRun *run,
			   const CbChildResult *res)
{
	const ImportDb *db = batch[failed];
	char	   *what = psprintf("database \"%s\": pg_restore (%s) failed (exit code %d)",
								db->target, run->label, res->exit_code);
	char	   *message = tool_message(res->tail);

	for (int i = 0; i < k; i++)
		cb_journal_step_finish(imp->c->journal, IMPORT_STEP, batch[i]->target, false,
							   i == failed ? psprintf("%s\n%s", what, message) :
							   psprintf("stopped: database \"%s\" failed beside it", db->target));
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("%s", what),
			 errdetail("%s", message)));
}

/* restore a batch of begun databases, section runs one after the other */
static void
restore_databases(Import *imp, ImportDb **batch, int k)
{
	RestoreRun	runs[3];
	int			nruns = plan_restore(imp->spec, runs);
	CbChildOptions *opts = palloc0(sizeof(CbChildOptions) * k);
	CbChildResult *res = palloc0(sizeof(CbChildResult) * k);

	for (int r = 0; r < nruns; r++)
	{
		report_progress(imp, batch, k, psprintf("pg_restore %s", runs[r].label));
		for (int i = 0; i < k; i++)
			child_options(imp, &opts[i],
						  restore_argv(imp, batch[i], &runs[r], Max(1, imp->jobs / k),
									   r == 0 && batch[i]->create),
						  "pg_restore", batch[i]->target);
		(void) cb_run_children(k, opts, res);
		for (int i = 0; i < k; i++)
			if (res[i].exit_code != 0)
				restore_failed(imp, batch, k, i, &runs[r], &res[i]);
	}
}

/* ---------- the target side ---------- */

/* a list of SQL run as post-init runs its batches (docs/cnpg-rules.md §4.3) */
static void
run_sql_list(Import *imp, const char *dbname, const CbStringList *list, const char *field)
{
	PGconn	   *conn;

	if (list->n == 0)
		return;
	conn = cb_connect_instance(imp->c, imp->primary, dbname);
	imp_must_exec(conn, "SET search_path TO \"$user\", public", field);
	for (int i = 0; i < list->n; i++)
		imp_must_exec(conn, list->items[i], psprintf("%s[%d] in database \"%s\"", field, i, dbname));
	imp_must_exec(conn, "RESET search_path", field);
	cb_disconnect(conn);
}

/*
 * A database whose restore was interrupted or failed: drop it and make it
 * again as post-init left it (the application database owned by its owner
 * with postInitApplicationSQL run in it, postgres with postInitSQL), or
 * not at all (pg_restore --create makes it).
 */
static void
redo_database(Import *imp, const ImportDb *db)
{
	const CbInitdb *initdb = &imp->c->spec->bootstrap.initdb;
	bool		is_postgres = strcmp(db->target, "postgres") == 0;
	bool		is_app = imp->c->has_app && strcmp(db->target, imp->c->app_db) == 0;
	PGconn	   *conn = cb_connect_instance(imp->c, imp->primary, is_postgres ? "template1" : "postgres");
	const char *q = quote_identifier(db->target);

	ereport(LOG,
			(errmsg("cnpg_bootstrap: the import of database \"%s\" of cluster \"%s\" did not finish; restoring it from scratch",
					db->target, imp->c->name)));
	imp_must_exec(conn, psprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", q),
			  psprintf("dropping the half-restored database \"%s\"", db->target));
	if (is_app)
		imp_must_exec(conn, psprintf("CREATE DATABASE %s OWNER %s", q, quote_identifier(imp->c->app_owner)),
				  "creating the application database again");
	else if (is_postgres)
	{
		/* as initdb made it, before postInitTemplateSQL changed template1 */
		imp_must_exec(conn, "CREATE DATABASE postgres TEMPLATE template0",
				  "creating the postgres database again");
		imp_must_exec(conn, "COMMENT ON DATABASE postgres IS 'default administrative connection database'",
				  "creating the postgres database again");
	}
	cb_disconnect(conn);
	if (is_app)
	{
		/* a crash may have left it SUPERUSER */
		if (!imp->monolith)
			cb_import_owner_superuser(imp, false);
		run_sql_list(imp, db->target, &initdb->post_init_application_sql,
					 "spec.bootstrap.initdb.postInitApplicationSQL");
	}
	else if (is_postgres)
		run_sql_list(imp, db->target, &initdb->post_init_sql, "spec.bootstrap.initdb.postInitSQL");
}

/* redo what needs it, learn whether pg_restore must create the database, begin */
static bool
begin_database(Import *imp, ImportDb *db)
{
	PGconn	   *conn;

	if (db->state == CB_STEP_RUNNING || db->state == CB_STEP_FAILED)
		redo_database(imp, db);
	conn = cb_connect_instance(imp->c, imp->primary, "postgres");
	db->create = !target_has_database(conn, db->target);
	cb_disconnect(conn);
	if (db->create && !imp->monolith)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_DATABASE),
				 errmsg("the application database \"%s\" does not exist on the target", db->target)));
	return cb_journal_step_begin(imp->c->journal, IMPORT_STEP, db->target);
}

/* CloudNativePG drops the application database's extensions before the restore */
static void
drop_app_extensions(Import *imp, const ImportDb *db)
{
	PGconn	   *conn = cb_connect_instance(imp->c, imp->primary, db->target);
	PGresult   *res = imp_must_query(conn, "SELECT extname FROM pg_catalog.pg_extension WHERE oid >= "
								 FIRST_NORMAL_OID, 0, NULL, "listing the application database's extensions");

	for (int i = 0; i < PQntuples(res); i++)
	{
		char	   *err = NULL;

		if (!cb_exec_ok(conn, psprintf("DROP EXTENSION %s", quote_identifier(PQgetvalue(res, i, 0))), &err))
			ereport(WARNING,
					(errmsg("could not drop extension \"%s\" before the import: %s",
							PQgetvalue(res, i, 0), err ? err : "failed")));
	}
	PQclear(res);
	cb_disconnect(conn);
}

static void
analyze_database(Import *imp, const ImportDb *db)
{
	PGconn	   *conn = cb_connect_instance(imp->c, imp->primary, db->target);

	imp_must_exec(conn, "ANALYZE", psprintf("ANALYZE of database \"%s\"", db->target));
	cb_disconnect(conn);
}

static void
finish_database(Import *imp, ImportDb *db)
{
	ImportDb   *one[] = {db};

	report_progress(imp, one, 1, "ANALYZE");
	analyze_database(imp, db);
	cb_journal_step_finish(imp->c->journal, IMPORT_STEP, db->target, true, NULL);
	db->state = CB_STEP_DONE;
}

/* ---------- the two import types ---------- */

static void
import_microservice(Import *imp)
{
	ImportDb   *db = &imp->dbs[0];
	ImportDb   *one[] = {db};

	if (db->state == CB_STEP_DONE)
		return;
	dump_databases(imp, one, 1);
	if (!begin_database(imp, db))
		return;
	drop_app_extensions(imp, db);
	cb_import_owner_superuser(imp, true);
	PG_TRY();
	{
		restore_databases(imp, one, 1);
	}
	PG_CATCH();
	{
		cb_import_owner_revoke_quietly(imp);
		PG_RE_THROW();
	}
	PG_END_TRY();
	cb_import_owner_superuser(imp, false);
	report_progress(imp, one, 1, "postImportApplicationSQL");
	run_sql_list(imp, db->target, &imp->spec->post_import_application_sql,
				 IMPORT_FIELD ".postImportApplicationSQL");
	finish_database(imp, db);
}

static void
remove_dumps(ImportDb **batch, int k)
{
	for (int i = 0; i < k; i++)
		if (!cb_rmtree(batch[i]->dump_dir))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not remove \"%s\": %m", batch[i]->dump_dir)));
}

/*
 * Roles first (owners and grantees must exist), then the databases in
 * batches of one per core: dumped together, restored together, their
 * dumps removed before the next batch, so that the disk holds one batch's
 * dumps at a time.
 */
static void
import_monolith(Import *imp)
{
	ImportDb  **todo = palloc0(sizeof(ImportDb *) * imp->ndbs);
	int			n = 0;

	cb_import_roles(imp);
	for (int i = 0; i < imp->ndbs; i++)
		if (imp->dbs[i].state != CB_STEP_DONE)
			todo[n++] = &imp->dbs[i];
	for (int start = 0; start < n; start += imp->jobs)
	{
		ImportDb  **batch = todo + start;
		int			k = Min(imp->jobs, n - start);

		dump_databases(imp, batch, k);
		for (int i = 0; i < k; i++)
			if (!begin_database(imp, batch[i]))
				return;			/* the cluster was deleted meanwhile */
		restore_databases(imp, batch, k);
		for (int i = 0; i < k; i++)
			finish_database(imp, batch[i]);
		remove_dumps(batch, k);
	}
}

static Import *
import_init(CbCluster *c, CbInstance *primary)
{
	Import	   *imp = palloc0(sizeof(Import));
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);

	imp->c = c;
	imp->primary = primary;
	imp->spec = &c->spec->bootstrap.initdb.import;
	imp->monolith = strcmp(imp->spec->type, "monolith") == 0;
	imp->jobs = cores < 1 ? 1 : (int) cores;
	imp->dump_root = psprintf("%s/import", c->dir);
	imp->log_file = psprintf("%s/import.log", primary->logdir);
	if (!imp->monolith && !c->has_app)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a microservice import needs the application database and its owner"),
				 errhint("Set spec.bootstrap.initdb.database and owner.")));
	return imp;
}

void
cb_import_run(CbCluster *c, CbInstance *primary)
{
	Import	   *imp;

	if (cb_journal_step_state(c->journal, IMPORT_STEP, NULL) == CB_STEP_DONE)
		return;
	imp = import_init(c, primary);

	/*
	 * First of all, on every run: a run cut short (crash, kill -9) may have
	 * left the owner SUPERUSER, and this one may fail at once (import_owner.c).
	 */
	if (!imp->monolith)
		cb_import_owner_superuser(imp, false);
	check_options(imp->spec);
	cb_journal_phase(c->journal, CB_PHASE_SETTING_UP, "Importing: preflight of the source");
	imp->src = cb_source_prepare(c, imp->spec->source_external_cluster,
								 IMPORT_FIELD ".source.externalCluster");
	preflight(imp);
	for (int i = 0; i < imp->ndbs; i++)
		imp->dbs[i].state = cb_journal_step_state(c->journal, IMPORT_STEP, imp->dbs[i].target);
	if (!cb_journal_step_begin(c->journal, IMPORT_STEP, NULL))
		return;

	/* what an interrupted run left is never reused */
	if (cb_path_exists(imp->dump_root) && !cb_rmtree(imp->dump_root))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove \"%s\": %m", imp->dump_root)));
	cb_mkdir_p(imp->dump_root);
	PG_TRY();
	{
		if (imp->monolith)
			import_monolith(imp);
		else
			import_microservice(imp);
	}
	PG_FINALLY();
	{
		if (!cb_rmtree(imp->dump_root))
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not remove the import's dumps in \"%s\": %m", imp->dump_root)));
	}
	PG_END_TRY();
	cb_journal_step_finish(c->journal, IMPORT_STEP, NULL, true, NULL);
	cb_journal_progress(c->journal, NULL);
	cb_journal_phase(c->journal, CB_PHASE_SETTING_UP,
					 psprintf("Creating primary instance %s", primary->name));
}
