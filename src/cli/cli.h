/*-------------------------------------------------------------------------
 *
 * cli.h
 *	  The cnpg-bootstrap command: what its files share.  A frontend program
 *	  linked with libpq and libc only (no backend or libpgcommon headers),
 *	  built from src/cli/ (outside the module's wildcard of src/ files).
 *
 *	  main.c	options, subcommands, --help, --version
 *	  conn.c	connecting like psql, quiet logging, errors and notices
 *	  input.c	reading -f FILE|DIR|- into manifests
 *	  apply.c	apply and delete -f
 *	  wait.c	wait and apply --wait: live progress lines
 *	  status.c	status [CLUSTER]
 *	  secret.c	get secret, delete KIND NAME
 *	  psql.c	psql CLUSTER
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_CLI_H
#define CB_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "libpq-fe.h"

/* exit statuses (the man page lists them) */
#define CLI_EXIT_OK		0
#define CLI_EXIT_FAIL	1		/* an error, a failed cluster, a timeout */
#define CLI_EXIT_USAGE	2

/* the server refuses more (README: a whole manifest at most 64 MiB) */
#define CLI_MAX_MANIFEST	(64 * 1024 * 1024)
/* -f given at most this often */
#define CLI_MAX_FILES		64

/* the phases where a wait ends (src/journal.h; this program has no backend headers) */
#define CB_PHASE_HEALTHY	"Cluster in healthy state"
#define CB_PHASE_FAILED		"Bootstrap failed"
#define CB_PHASE_HIBERNATED	"Cluster hibernated"

typedef struct CliOptions
{
	/* connection, as psql takes it */
	const char *host;
	const char *port;
	const char *user;
	const char *dbname;
	int			password;		/* -1 -w (never prompt), 0 default, 1 -W */

	/* subcommand options */
	const char *files[CLI_MAX_FILES];
	int			nfiles;
	bool		dry_run;
	bool		wait;
	double		timeout;		/* seconds */
	bool		ignore_not_found;
	bool		tcp;			/* psql: over TCP even when the socket serves */

	/* positional arguments after the subcommand */
	char	  **args;
	int			nargs;
} CliOptions;

/* one manifest read from a file, a directory's file, or stdin */
typedef struct CliManifest
{
	char	   *name;			/* as shown in messages ("-" is stdin) */
	char	   *text;			/* NUL-terminated, holds no other NUL */
	size_t		len;
} CliManifest;

extern const char *progname;

/* conn.c */
extern void cli_error(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern PGconn *cli_connect(const CliOptions *opt);
extern bool cli_quiet_logging(PGconn *conn);
extern void cli_set_current_file(const char *name);
extern void cli_report_result_error(const PGresult *res, const char *file);
extern PGresult *cli_exec(PGconn *conn, const char *sql, int nparams,
						  const char *const *values);
extern bool cli_command(PGconn *conn, const char *sql);
extern const char *cli_resource(const char *kind);

/* input.c */
extern bool cli_read_inputs(const CliOptions *opt, CliManifest **out, int *n);

/* apply.c */
extern int	cli_apply(const CliOptions *opt);
extern int	cli_delete_files(const CliOptions *opt);

/* wait.c */
extern int	cli_wait(PGconn *conn, char **clusters, int n, double timeout);
extern int	cli_wait_command(const CliOptions *opt);
extern bool cli_parse_duration(const char *s, double *seconds);

/* status.c */
extern int	cli_status(const CliOptions *opt);

/* secret.c */
extern int	cli_get(const CliOptions *opt);
extern int	cli_delete(const CliOptions *opt);
extern bool cli_delete_one(PGconn *conn, const char *kind, const char *name,
						   bool ignore_not_found, bool *ok);

/* psql.c */
extern int	cli_psql(const CliOptions *opt);

#endif							/* CB_CLI_H */
