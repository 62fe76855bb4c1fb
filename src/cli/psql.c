/*-------------------------------------------------------------------------
 *
 * psql.c
 *	  cnpg-bootstrap psql CLUSTER [-- psql arguments]: psql on the
 *	  cluster's primary as the postgres role, as kubectl cnpg psql does.
 *
 *	  The targets' pg_hba.conf (src/instance_config.c) lets the control
 *	  instance's OS user in over the cluster's unix socket by peer
 *	  authentication, as postgres: when this command runs as that user and
 *	  the socket is there, psql is exec'd on it and needs no password.
 *	  Otherwise it goes over TCP to the read-write endpoint, with the
 *	  password of the <cluster>-superuser Secret when the cluster has one
 *	  (spec.enableSuperuserAccess): that password reaches psql through a
 *	  temporary passfile (mkstemp, 0600), never argv or the environment,
 *	  and the file is removed when psql ends.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#define PRIMARY_SQL \
	"SELECT s.phase, i.port, i.data_directory, s.rw_host, s.rw_port"	\
	" FROM cnpg_bootstrap_status($1) s"									\
	" LEFT JOIN cnpg_bootstrap_instances($1) i ON i.instance = s.current_primary"

#define SUPERUSER_SQL "SELECT cnpg_bootstrap_secret($1 || '-superuser', 'password')"

/* <data_root>/<cluster>/<instance>/pgdata -> <data_root>/<cluster>/run */
static char *
socket_dir(const char *pgdata)
{
	char	   *dir = strdup(pgdata);
	char	   *run = NULL;

	for (int i = 0; dir && i < 2; i++)
	{
		char	   *slash = strrchr(dir, '/');

		if (slash == NULL || slash == dir)
		{
			free(dir);
			return NULL;
		}
		*slash = '\0';
	}
	if (dir && asprintf(&run, "%s/run", dir) < 0)
		run = NULL;
	free(dir);
	return run;
}

/* the socket is there and this OS user is the one peer authentication maps */
static bool
socket_usable(const char *dir, const char *port)
{
	char		path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/.s.PGSQL.%s", dir, port);
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == geteuid();
}

/* a passfile field: '\' and ':' escaped */
static void
put_field(FILE *f, const char *v, bool last)
{
	for (; *v; v++)
	{
		if (*v == '\\' || *v == ':')
			fputc('\\', f);
		fputc(*v, f);
	}
	fputc(last ? '\n' : ':', f);
}

/*
 * The superuser password, when the cluster has the Secret and we may read
 * it; written to a new 0600 passfile whose path is returned (NULL: none).
 */
static char *
superuser_passfile(PGconn *conn, const char *cluster, const char *host, const char *port)
{
	const char *values[1] = {cluster};
	PGresult   *res;
	char	   *path = NULL;
	const char *tmp = getenv("TMPDIR");
	int			fd;
	FILE	   *f;
	bool		ok;

	/* a superuser's session; the value comes back as a row, never in a log */
	res = PQexec(conn, "SET log_statement = 'none'; SET log_min_duration_statement = -1");
	PQclear(res);
	res = PQexecParams(conn, SUPERUSER_SQL, 1, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		PQclear(res);
		return NULL;
	}
	if (asprintf(&path, "%s/cnpg-bootstrap-pgpass.XXXXXX", tmp && tmp[0] ? tmp : "/tmp") < 0)
	{
		PQclear(res);
		return NULL;
	}
	/* mkstemp makes the file 0600, O_EXCL */
	fd = mkstemp(path);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
	{
		cli_error("could not create a passfile in \"%s\": %s",
				  tmp && tmp[0] ? tmp : "/tmp", strerror(errno));
		if (fd >= 0)
		{
			close(fd);
			unlink(path);
		}
		PQclear(res);
		free(path);
		return NULL;
	}
	put_field(f, host, false);
	put_field(f, port, false);
	put_field(f, "*", false);
	put_field(f, "postgres", false);
	put_field(f, PQgetvalue(res, 0, 0), true);
	explicit_bzero(PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
	PQclear(res);
	ok = fflush(f) == 0;
	ok &= fclose(f) == 0;
	if (!ok)
	{
		cli_error("could not write passfile \"%s\"", path);
		unlink(path);
		free(path);
		return NULL;
	}
	return path;
}

static volatile pid_t psql_pid = 0;

/* a TERM or HUP for this process ends psql, then the passfile is removed */
static void
forward_signal(int sig)
{
	if (psql_pid > 0)
		kill(psql_pid, sig);
}

/* psql's environment: nothing of the control instance's connection may steer it */
static void
child_environment(const char *passfile)
{
	unsetenv("PGHOSTADDR");
	unsetenv("PGSERVICE");
	unsetenv("PGSSLMODE");
	unsetenv("PGPASSWORD");
	if (passfile)
		setenv("PGPASSFILE", passfile, 1);
	else
		unsetenv("PGPASSFILE");
}

int
cli_psql(const CliOptions *opt)
{
	const char *cluster;
	const char *values[1];
	PGconn	   *conn;
	PGresult   *res;
	char	   *host;
	char	   *port;
	char	   *passfile = NULL;
	char	  **argv;
	int			argc = 0;
	pid_t		pid;
	int			status;

	if (opt->nargs < 1)
	{
		cli_error("usage: %s psql CLUSTER [-- PSQL ARGUMENTS]", progname);
		return CLI_EXIT_USAGE;
	}
	cluster = opt->args[0];
	values[0] = cluster;
	conn = cli_connect(opt);
	if (conn == NULL)
		return CLI_EXIT_FAIL;
	res = cli_exec(conn, PRIMARY_SQL, 1, values);
	if (res == NULL)
	{
		PQfinish(conn);
		return CLI_EXIT_FAIL;
	}
	if (PQntuples(res) == 0)
	{
		cli_error("%s \"%s\" not found", cli_resource("Cluster"), cluster);
		PQclear(res);
		PQfinish(conn);
		return CLI_EXIT_FAIL;
	}
	if (PQgetisnull(res, 0, 1) || PQgetisnull(res, 0, 2))
	{
		cli_error("%s \"%s\" has no primary yet (%s)", cli_resource("Cluster"), cluster,
				  PQgetvalue(res, 0, 0));
		PQclear(res);
		PQfinish(conn);
		return CLI_EXIT_FAIL;
	}
	host = socket_dir(PQgetvalue(res, 0, 2));
	port = strdup(PQgetvalue(res, 0, 1));
	if (opt->tcp || host == NULL || !socket_usable(host, port))
	{
		if (PQgetisnull(res, 0, 3) || PQgetisnull(res, 0, 4))
		{
			cli_error("%s \"%s\" has no read-write endpoint yet", cli_resource("Cluster"), cluster);
			PQclear(res);
			PQfinish(conn);
			return CLI_EXIT_FAIL;
		}
		free(host);
		free(port);
		host = strdup(PQgetvalue(res, 0, 3));
		port = strdup(PQgetvalue(res, 0, 4));
		passfile = superuser_passfile(conn, cluster, host, port);
		if (passfile == NULL)
			fprintf(stderr, "%s: no password of %s-superuser to give psql (the cluster has no such Secret "
					"without spec.enableSuperuserAccess, or this role may not read it); run as the control "
					"instance's OS user on its host to use the unix socket instead\n", progname, cluster);
	}
	PQclear(res);
	PQfinish(conn);

	argv = calloc(opt->nargs + 10, sizeof(char *));
	if (argv == NULL || host == NULL || port == NULL)
	{
		cli_error("out of memory");
		return CLI_EXIT_FAIL;
	}
	argv[argc++] = "psql";
	argv[argc++] = "-h";
	argv[argc++] = host;
	argv[argc++] = "-p";
	argv[argc++] = port;
	argv[argc++] = "-U";
	argv[argc++] = "postgres";
	argv[argc++] = "-d";
	argv[argc++] = "postgres";
	/* the user's own arguments last: psql takes the last -d or -U given */
	for (int i = 1; i < opt->nargs; i++)
		argv[argc++] = opt->args[i];
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);

	if (passfile == NULL)
	{
		child_environment(NULL);
		execvp("psql", argv);
		cli_error("could not run psql: %s", strerror(errno));
		return CLI_EXIT_FAIL;
	}

	/* the passfile outlives psql by nothing: wait for it, then remove it */
	pid = fork();
	if (pid < 0)
	{
		cli_error("could not fork: %s", strerror(errno));
		unlink(passfile);
		return CLI_EXIT_FAIL;
	}
	if (pid == 0)
	{
		child_environment(passfile);
		execvp("psql", argv);
		cli_error("could not run psql: %s", strerror(errno));
		_exit(CLI_EXIT_FAIL);
	}
	/* psql handles ^C and ^\ itself, as under a shell */
	psql_pid = pid;
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, forward_signal);
	signal(SIGHUP, forward_signal);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
		{
			status = 1 << 8;
			break;
		}
	unlink(passfile);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return CLI_EXIT_FAIL;
}
