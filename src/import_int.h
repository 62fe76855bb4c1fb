/*-------------------------------------------------------------------------
 *
 * import_int.h
 *	  What import.c (databases) shares with import_roles.c (the roles of a
 *	  monolith import) and import_owner.c (the owner's SUPERUSER during a
 *	  microservice restore).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_IMPORT_INT_H
#define CB_IMPORT_INT_H

#include "libpq-fe.h"

#include "external.h"
#include "cluster.h"

#define IMPORT_ROLES_STEP	"import-roles"
#define IMPORT_FIELD		"spec.bootstrap.initdb.import"

/* roles with an oid below this are made by initdb (FirstNormalObjectId) */
#define FIRST_NORMAL_OID	"16384"

/* ---------- the import in progress ---------- */

typedef struct ImportDb
{
	int			index;			/* 1-based position in the list */
	char	   *source;			/* database on the source */
	char	   *target;			/* database on the target */
	char	   *dump_dir;		/* <cluster>/import/<index> */
	CbStepState state;
	bool		create;			/* missing on the target: pg_restore --create */
} ImportDb;

typedef struct Import
{
	CbCluster  *c;
	CbInstance *primary;
	const CbImport *spec;
	bool		monolith;
	CbSource   *src;
	int			jobs;			/* one per core */
	int			source_version; /* server_version_num */
	int			ndbs;
	ImportDb   *dbs;
	char	   *dump_root;		/* <cluster>/import */
	char	   *log_file;
} Import;

/* a query that must succeed; on failure the connection is closed and ERROR */
extern PGresult *imp_must_query(PGconn *conn, const char *sql, int nparams,
								const char *const *params, const char *what);
extern void imp_must_exec(PGconn *conn, const char *sql, const char *what);
/* first value of a one-parameter query (NULL for none), or ERROR */
extern char *imp_query_value(PGconn *conn, const char *sql, const char *param,
							 const char *what);
extern bool imp_query_bool(PGconn *conn, const char *sql, const char *param,
						   const char *what);
extern bool imp_is_wildcard(const CbStringList *list);

/*
 * A source's answer is checked before use: the columns asked for, and no
 * NULL where the catalogs have none (a source may be anything that speaks
 * the protocol).  Errors name the query's purpose, the row and the column.
 */
extern void imp_check_columns(PGconn *conn, PGresult *res, int ncols, const char *what);
extern const char *imp_value(PGconn *conn, PGresult *res, int row, int col,
							 const char *what, const char *row_name);
extern bool imp_bool(PGconn *conn, PGresult *res, int row, int col,
					 const char *what, const char *row_name);

/* import_roles.c: the roles and memberships of a monolith import */
extern void cb_import_roles(Import *imp);

/* import_owner.c: the owner is SUPERUSER only while pg_restore runs as it */
extern void cb_import_owner_superuser(Import *imp, bool on);
extern void cb_import_owner_revoke_quietly(Import *imp);

#endif							/* CB_IMPORT_INT_H */
