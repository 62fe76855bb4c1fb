/*-------------------------------------------------------------------------
 *
 * status.c
 *	  cnpg-bootstrap status [CLUSTER]: without a name, one line per Cluster
 *	  (kubectl get clusters); with one, a report like kubectl cnpg status:
 *	  the phase and its reason, the primary and the read-write endpoint,
 *	  each instance with its role, status, port, timeline, LSN and lag, and
 *	  the last steps of the worker's journal with their durations.
 *
 *	  The summary and the instances come from cnpg_bootstrap_status(),
 *	  _instances() and _replication(), which a monitoring role may be
 *	  granted; the progress line and the steps from the catalog, which only
 *	  a superuser reads (the report says so when it cannot).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define LIST_SQL \
	"SELECT cluster, instances::text, ready_instances::text, phase,"				\
	" coalesce(current_primary, ''),"												\
	" coalesce(extract(epoch FROM now() - started_at)::bigint::text, '')"			\
	" FROM cnpg_bootstrap_status()"

#define SUMMARY_SQL \
	"SELECT cluster, phase, coalesce(phase_reason, ''), bootstrap_method,"		\
	" coalesce(current_primary, ''),"												\
	" CASE WHEN rw_host IS NOT NULL THEN rw_host || ':' || rw_port ELSE '' END,"	\
	" instances::text, ready_instances::text,"										\
	" coalesce(date_trunc('second', started_at)::text, ''),"						\
	" coalesce(date_trunc('second', ready_at)::text || ' (' ||"					\
	"   round(extract(epoch FROM ready_at - started_at)::numeric, 1) || 's after the start)', '')" \
	" FROM cnpg_bootstrap_status($1)"

#define INSTANCES_SQL \
	"SELECT i.instance, i.role, i.status, coalesce(i.port::text, ''),"				\
	" coalesce(i.timeline::text, ''), coalesce(i.lsn::text, ''),"					\
	" coalesce((SELECT r.lag_bytes::text FROM cnpg_bootstrap_replication($1) r"	\
	"   WHERE r.instance = i.instance AND i.role <> 'primary'), ''),"				\
	" coalesce(i.pid::text, '')"													\
	" FROM cnpg_bootstrap_instances($1) i"

#define PROGRESS_SQL \
	"SELECT coalesce(progress, '') FROM cnpg_bootstrap.clusters WHERE name = $1"

/* the last steps, oldest first; a running one counts up to now */
#define STEPS_SQL \
	"SELECT step, instance, outcome, to_char(started_at, 'HH24:MI:SS'),"			\
	" round(extract(epoch FROM coalesce(finished_at, clock_timestamp()) - started_at)::numeric, 1) || 's'," \
	" coalesce(detail, '')"															\
	" FROM (SELECT * FROM cnpg_bootstrap.steps WHERE cluster = $1"					\
	"        ORDER BY started_at DESC, step DESC LIMIT 15) s"						\
	" ORDER BY started_at, step"

/* columns aligned as kubectl aligns them: three spaces apart */
static void
print_table(const char *const *headers, const PGresult *res)
{
	int			ncols = PQnfields(res);
	int			widths[16];

	for (int c = 0; c < ncols && c < 16; c++)
	{
		widths[c] = (int) strlen(headers[c]);
		for (int r = 0; r < PQntuples(res); r++)
			if (PQgetlength(res, r, c) > widths[c])
				widths[c] = PQgetlength(res, r, c);
	}
	if (ncols > 16)
		ncols = 16;
	for (int r = -1; r < PQntuples(res); r++)
	{
		int			last = ncols - 1;

		/* no trailing blanks: stop at the last column with a value */
		while (r >= 0 && last > 0 && PQgetlength(res, r, last) == 0)
			last--;
		for (int c = 0; c <= last; c++)
		{
			const char *v = r < 0 ? headers[c] : PQgetvalue(res, r, c);

			if (c == last)
				printf("%s", v);
			else
				printf("%-*s   ", widths[c], v);
		}
		printf("\n");
	}
}

/* kubectl's ages: 45s, 12m, 5h, 3d */
static const char *
age(const char *seconds, char *buf, size_t size)
{
	long		s;

	if (seconds[0] == '\0')
		return "";
	s = strtol(seconds, NULL, 10);
	if (s < 120)
		snprintf(buf, size, "%lds", s);
	else if (s < 7200)
		snprintf(buf, size, "%ldm", s / 60);
	else if (s < 172800)
		snprintf(buf, size, "%ldh", s / 3600);
	else
		snprintf(buf, size, "%ldd", s / 86400);
	return buf;
}

static int
list_clusters(PGconn *conn)
{
	PGresult   *res = cli_exec(conn, LIST_SQL, 0, NULL);
	int			w[5] = {4, 9, 5, 6, 7};
	char		buf[32];

	if (res == NULL)
		return CLI_EXIT_FAIL;
	if (PQntuples(res) == 0)
	{
		fprintf(stderr, "No clusters found.\n");
		PQclear(res);
		return CLI_EXIT_OK;
	}
	for (int r = 0; r < PQntuples(res); r++)
		for (int c = 0; c < 5; c++)
			if (PQgetlength(res, r, c) > w[c])
				w[c] = PQgetlength(res, r, c);
	printf("%-*s   %-*s   %-*s   %-*s   %-*s   AGE\n", w[0], "NAME", w[1], "INSTANCES",
		   w[2], "READY", w[3], "STATUS", w[4], "PRIMARY");
	for (int r = 0; r < PQntuples(res); r++)
		printf("%-*s   %-*s   %-*s   %-*s   %-*s   %s\n",
			   w[0], PQgetvalue(res, r, 0), w[1], PQgetvalue(res, r, 1),
			   w[2], PQgetvalue(res, r, 2), w[3], PQgetvalue(res, r, 3),
			   w[4], PQgetvalue(res, r, 4), age(PQgetvalue(res, r, 5), buf, sizeof(buf)));
	PQclear(res);
	return CLI_EXIT_OK;
}

/* a field of the summary, skipped when empty */
static void
field(const char *label, const char *value)
{
	if (value && value[0])
		printf("%-21s%s\n", label, value);
}

/* a catalog query only a superuser may run: NULL, and why, if it cannot */
static PGresult *
catalog_query(PGconn *conn, const char *sql, const char *name, char *why, size_t size)
{
	const char *values[1] = {name};
	PGresult   *res = PQexecParams(conn, sql, 1, NULL, values, NULL, NULL, 0);
	const char *m;

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	snprintf(why, size, "%s", m ? m : "query failed");
	PQclear(res);
	return NULL;
}

static int
cluster_report(PGconn *conn, const char *name)
{
	static const char *const inst_headers[] = {
		"NAME", "ROLE", "STATUS", "PORT", "TIMELINE", "CURRENT LSN", "LAG (BYTES)", "PID"
	};
	static const char *const step_headers[] = {
		"STEP", "INSTANCE", "OUTCOME", "STARTED", "DURATION", "DETAIL"
	};
	const char *values[1] = {name};
	PGresult   *sum;
	PGresult   *res;
	char		why[256];

	sum = cli_exec(conn, SUMMARY_SQL, 1, values);
	if (sum == NULL)
		return CLI_EXIT_FAIL;
	if (PQntuples(sum) == 0)
	{
		cli_error("%s \"%s\" not found", cli_resource("Cluster"), name);
		PQclear(sum);
		return CLI_EXIT_FAIL;
	}
	printf("Cluster Summary\n");
	field("Name:", PQgetvalue(sum, 0, 0));
	field("Status:", PQgetvalue(sum, 0, 1));
	field("Reason:", PQgetvalue(sum, 0, 2));
	res = catalog_query(conn, PROGRESS_SQL, name, why, sizeof(why));
	if (res && PQntuples(res) == 1)
		field("Progress:", PQgetvalue(res, 0, 0));
	PQclear(res);
	field("Bootstrap method:", PQgetvalue(sum, 0, 3));
	field("Primary instance:", PQgetvalue(sum, 0, 4));
	field("Read-write service:", PQgetvalue(sum, 0, 5));
	field("Instances:", PQgetvalue(sum, 0, 6));
	field("Ready instances:", PQgetvalue(sum, 0, 7));
	field("Started:", PQgetvalue(sum, 0, 8));
	field("Ready:", PQgetvalue(sum, 0, 9));
	PQclear(sum);

	printf("\nInstances status\n");
	res = cli_exec(conn, INSTANCES_SQL, 1, values);
	if (res == NULL)
		return CLI_EXIT_FAIL;
	if (PQntuples(res) == 0)
		printf("No instances yet.\n");
	else
		print_table(inst_headers, res);
	PQclear(res);

	printf("\nSteps\n");
	res = catalog_query(conn, STEPS_SQL, name, why, sizeof(why));
	if (res == NULL)
		printf("Not shown: %s.\n", why);
	else if (PQntuples(res) == 0)
		printf("None yet.\n");
	else
		print_table(step_headers, res);
	PQclear(res);
	return CLI_EXIT_OK;
}

int
cli_status(const CliOptions *opt)
{
	PGconn	   *conn = cli_connect(opt);
	int			rc = CLI_EXIT_OK;

	if (conn == NULL)
		return CLI_EXIT_FAIL;
	if (opt->nargs == 0)
		rc = list_clusters(conn);
	for (int i = 0; i < opt->nargs; i++)
	{
		if (i > 0)
			printf("\n");
		if (cluster_report(conn, opt->args[i]) != CLI_EXIT_OK)
			rc = CLI_EXIT_FAIL;
	}
	fflush(stdout);
	PQfinish(conn);
	return rc;
}
