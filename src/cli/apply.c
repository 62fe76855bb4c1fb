/*-------------------------------------------------------------------------
 *
 * apply.c
 *	  cnpg-bootstrap apply and delete -f.
 *
 *	  apply sends each manifest (a file, each file of a directory, or
 *	  stdin) as a bound parameter of cnpg_bootstrap_apply(), all in one
 *	  transaction: every file is applied or none, and a Cluster in one
 *	  file sees the Secret another file stored.  It prints kubectl's lines
 *	  ("cluster.postgresql.cnpg.io/x created") once they are committed, and
 *	  with --wait follows the Clusters it applied (wait.c).
 *
 *	  delete -f asks the server which objects a manifest names (a dry-run
 *	  apply: the server's parser, its errors with line and column) and
 *	  deletes them, Clusters first: a Secret a Cluster still names cannot
 *	  go before it.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define APPLY_SQL \
	"SELECT kind, name, action FROM cnpg_bootstrap_apply($1::pg_catalog.text, $2::pg_catalog.bool)"

typedef struct Applied
{
	char	   *kind;
	char	   *name;
	char	   *action;
} Applied;

typedef struct AppliedList
{
	Applied    *items;
	int			n;
	int			cap;
} AppliedList;

static bool
add_rows(AppliedList *l, const PGresult *res)
{
	for (int r = 0; r < PQntuples(res); r++)
	{
		Applied    *a;

		if (l->n == l->cap)
		{
			Applied    *ni;

			l->cap = l->cap ? l->cap * 2 : 16;
			ni = realloc(l->items, sizeof(Applied) * l->cap);
			if (ni == NULL)
				return false;
			l->items = ni;
		}
		a = &l->items[l->n];
		a->kind = strdup(PQgetvalue(res, r, 0));
		a->name = strdup(PQgetvalue(res, r, 1));
		a->action = strdup(PQgetvalue(res, r, 2));
		if (!a->kind || !a->name || !a->action)
			return false;
		l->n++;
	}
	return true;
}

/*
 * Each manifest through cnpg_bootstrap_apply(), in the session's open
 * transaction; false (error printed, with the file) on the first failure.
 */
static bool
apply_manifests(PGconn *conn, CliManifest *m, int n, bool dry_run, AppliedList *out)
{
	for (int i = 0; i < n; i++)
	{
		const char *values[2] = {m[i].text, dry_run ? "true" : "false"};
		PGresult   *res;
		bool		ok;

		cli_set_current_file(m[i].name);
		res = cli_exec(conn, APPLY_SQL, 2, values);
		cli_set_current_file(NULL);
		if (res == NULL)
			return false;
		ok = add_rows(out, res);
		PQclear(res);
		if (!ok)
		{
			cli_error("out of memory");
			return false;
		}
	}
	if (out->n == 0)
	{
		cli_error("no objects passed to apply");
		return false;
	}
	return true;
}

/* read the inputs and open a quiet session with a transaction begun */
static PGconn *
open_for_manifests(const CliOptions *opt, CliManifest **m, int *n)
{
	PGconn	   *conn;

	if (!cli_read_inputs(opt, m, n))
		return NULL;
	conn = cli_connect(opt);
	if (conn == NULL)
		return NULL;
	/* before the first manifest travels: see cli_quiet_logging() */
	if (!cli_quiet_logging(conn) || !cli_command(conn, "BEGIN"))
	{
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

int
cli_apply(const CliOptions *opt)
{
	CliManifest *m;
	int			n;
	AppliedList applied = {NULL, 0, 0};
	PGconn	   *conn = open_for_manifests(opt, &m, &n);
	char	  **clusters;
	int			nclusters = 0;
	int			rc;

	if (conn == NULL)
		return CLI_EXIT_FAIL;
	if (!apply_manifests(conn, m, n, opt->dry_run, &applied))
	{
		PQclear(PQexec(conn, "ROLLBACK"));
		PQfinish(conn);
		return CLI_EXIT_FAIL;
	}
	/* a dry run stores nothing anyway; rolling back makes it certain */
	if (!cli_command(conn, opt->dry_run ? "ROLLBACK" : "COMMIT"))
	{
		PQfinish(conn);
		return CLI_EXIT_FAIL;
	}

	clusters = calloc(applied.n, sizeof(char *));
	for (int i = 0; i < applied.n; i++)
	{
		Applied    *a = &applied.items[i];

		printf("%s/%s %s%s\n", cli_resource(a->kind), a->name, a->action,
			   opt->dry_run ? " (dry run)" : "");
		if (clusters && strcmp(a->kind, "Cluster") == 0)
			clusters[nclusters++] = a->name;
	}
	fflush(stdout);

	rc = CLI_EXIT_OK;
	if (opt->wait && nclusters > 0)
		rc = cli_wait(conn, clusters, nclusters, opt->timeout);
	PQfinish(conn);
	return rc;
}

int
cli_delete_files(const CliOptions *opt)
{
	CliManifest *m;
	int			n;
	AppliedList named = {NULL, 0, 0};
	PGconn	   *conn = open_for_manifests(opt, &m, &n);
	bool		ok = true;

	if (conn == NULL)
		return CLI_EXIT_FAIL;
	if (!apply_manifests(conn, m, n, true, &named))
	{
		PQclear(PQexec(conn, "ROLLBACK"));
		PQfinish(conn);
		return CLI_EXIT_FAIL;
	}
	if (!cli_command(conn, "ROLLBACK"))
	{
		PQfinish(conn);
		return CLI_EXIT_FAIL;
	}
	/* Clusters first, then what they may have named; each on its own, as kubectl */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < named.n; i++)
		{
			bool		is_cluster = strcmp(named.items[i].kind, "Cluster") == 0;

			if (is_cluster != (pass == 0))
				continue;
			if (!cli_delete_one(conn, named.items[i].kind, named.items[i].name,
								opt->ignore_not_found, &ok))
				ok = false;
		}
	PQfinish(conn);
	return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
