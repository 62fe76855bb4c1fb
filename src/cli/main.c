/*-------------------------------------------------------------------------
 *
 * main.c
 *	  cnpg-bootstrap: apply CloudNativePG manifests to a cnpg_bootstrap
 *	  control instance and follow the clusters it makes, the way kubectl
 *	  and kubectl cnpg do.  This file owns the command line: connection
 *	  options as psql takes them, the subcommands and their options,
 *	  --help and --version.  doc/cnpg-bootstrap.1 is the manual.
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef CB_VERSION
#define CB_VERSION "unknown"
#endif

const char *progname = "cnpg-bootstrap";

/* options besides the connection's, each allowed by some subcommands */
enum
{
	OPT_FILE = 1 << 0,
	OPT_DRY_RUN = 1 << 1,
	OPT_WAIT = 1 << 2,
	OPT_TIMEOUT = 1 << 3,
	OPT_IGNORE = 1 << 4,
	OPT_TCP = 1 << 5,
};

/* long-only options' codes for getopt_long */
enum
{
	LONG_DRY_RUN = 256,
	LONG_WAIT,
	LONG_TIMEOUT,
	LONG_IGNORE,
	LONG_TCP,
};

typedef struct Command
{
	const char *name;
	int			(*run) (const CliOptions *opt);
	int			allowed;		/* OPT_* */
	int			min_args;
	int			max_args;		/* -1: any number */
} Command;

static int
run_delete(const CliOptions *opt)
{
	return cli_delete(opt);
}

static const Command commands[] = {
	{"apply", cli_apply, OPT_FILE | OPT_DRY_RUN | OPT_WAIT | OPT_TIMEOUT, 0, 0},
	{"delete", run_delete, OPT_FILE | OPT_IGNORE, 0, -1},
	{"status", cli_status, 0, 0, -1},
	{"wait", cli_wait_command, OPT_TIMEOUT, 1, -1},
	{"get", cli_get, 0, 2, 3},
	{"psql", cli_psql, OPT_TCP, 1, -1},
};

static void
usage(void)
{
	printf("%s applies CloudNativePG manifests to a cnpg_bootstrap control instance\n"
		   "and follows the clusters it makes.\n\n", progname);
	printf("Usage:\n"
		   "  %s [CONNECTION OPTION]... COMMAND [ARGUMENT]...\n\n", progname);
	printf("Commands:\n"
		   "  apply -f FILE|DIR|- [--dry-run] [--wait[=TIMEOUT]]\n"
		   "                       apply manifests (all files in one transaction)\n"
		   "  status [CLUSTER]...  list the clusters, or report on one\n"
		   "  wait CLUSTER... [--timeout=TIMEOUT]\n"
		   "                       wait until healthy or failed, showing progress\n"
		   "  delete cluster|secret|configmap|objectstore NAME...\n"
		   "  delete -f FILE|DIR|- [--ignore-not-found]\n"
		   "                       delete objects, or those a manifest names\n"
		   "  get secret NAME [KEY]\n"
		   "                       list a Secret's keys, or print one value\n"
		   "  psql CLUSTER [--tcp] [-- PSQL ARGUMENT...]\n"
		   "                       run psql on the cluster's primary as postgres\n\n");
	printf("Options:\n"
		   "  -f, --filename=FILE  a manifest file, a directory of *.yaml, *.yml, *.json\n"
		   "                       files, or - for standard input (may be repeated)\n"
		   "      --dry-run        validate only; store nothing\n"
		   "      --wait[=TIMEOUT] after apply, wait for the applied clusters\n"
		   "      --timeout=TIMEOUT  how long to wait (default 5m; 0: no limit);\n"
		   "                       TIMEOUT as 90s, 5m, 1h30m or seconds\n"
		   "      --ignore-not-found  delete: an object that does not exist is no error\n"
		   "      --tcp            psql: over TCP with the superuser Secret's password,\n"
		   "                       even when the cluster's unix socket serves\n"
		   "  -V, --version        output version information, then exit\n"
		   "  -?, --help           show this help, then exit\n\n");
	printf("Connection options (as psql's; PG* environment variables and service\n"
		   "files apply; the database defaults to postgres):\n"
		   "  -h, --host=HOSTNAME  control instance's host or socket directory\n"
		   "  -p, --port=PORT      control instance's port\n"
		   "  -U, --username=USER  role to connect as (a superuser, except for\n"
		   "                       status and wait)\n"
		   "  -d, --dbname=DBNAME  database where the extension lives, or a\n"
		   "                       connection string\n"
		   "  -w, --no-password    never prompt for a password\n"
		   "  -W, --password       prompt for a password\n\n");
	printf("Exit status: 0 success; 1 an error, a failed cluster or a timeout;\n"
		   "2 a usage error.  See man cnpg-bootstrap.\n");
}

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: error: ", progname);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry \"%s --help\" for more information.\n", progname);
	return CLI_EXIT_USAGE;
}

static const char *
option_name(int bit)
{
	switch (bit)
	{
		case OPT_FILE:
			return "-f";
		case OPT_DRY_RUN:
			return "--dry-run";
		case OPT_WAIT:
			return "--wait";
		case OPT_TIMEOUT:
			return "--timeout";
		case OPT_TCP:
			return "--tcp";
		default:
			return "--ignore-not-found";
	}
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"host", required_argument, NULL, 'h'},
		{"port", required_argument, NULL, 'p'},
		{"username", required_argument, NULL, 'U'},
		{"dbname", required_argument, NULL, 'd'},
		{"no-password", no_argument, NULL, 'w'},
		{"password", no_argument, NULL, 'W'},
		{"filename", required_argument, NULL, 'f'},
		{"dry-run", optional_argument, NULL, LONG_DRY_RUN},
		{"wait", optional_argument, NULL, LONG_WAIT},
		{"timeout", required_argument, NULL, LONG_TIMEOUT},
		{"ignore-not-found", no_argument, NULL, LONG_IGNORE},
		{"tcp", no_argument, NULL, LONG_TCP},
		{"help", no_argument, NULL, '?'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	CliOptions	opt;
	int			used = 0;
	int			c;
	const Command *cmd = NULL;

	memset(&opt, 0, sizeof(opt));
	opt.timeout = 300;
	/* our messages; getopt's own go to stderr too */
	opterr = 1;
	while ((c = getopt_long(argc, argv, "h:p:U:d:wWf:V?", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'h':
				opt.host = optarg;
				break;
			case 'p':
				opt.port = optarg;
				break;
			case 'U':
				opt.user = optarg;
				break;
			case 'd':
				opt.dbname = optarg;
				break;
			case 'w':
				opt.password = -1;
				break;
			case 'W':
				opt.password = 1;
				break;
			case 'f':
				if (opt.nfiles == CLI_MAX_FILES)
					return usage_error("-f may be given at most 64 times%s", "");
				opt.files[opt.nfiles++] = optarg;
				used |= OPT_FILE;
				break;
			case LONG_DRY_RUN:
				/* kubectl's --dry-run=client|server|none */
				if (optarg && strcmp(optarg, "none") == 0)
					opt.dry_run = false;
				else if (optarg == NULL || strcmp(optarg, "client") == 0 ||
						 strcmp(optarg, "server") == 0 || strcmp(optarg, "true") == 0)
				{
					opt.dry_run = true;
					used |= OPT_DRY_RUN;
				}
				else
					return usage_error("invalid --dry-run value \"%s\"", optarg);
				break;
			case LONG_WAIT:
				opt.wait = true;
				used |= OPT_WAIT;
				if (optarg && !cli_parse_duration(optarg, &opt.timeout))
					return usage_error("invalid timeout \"%s\" (examples: 90s, 5m, 1h30m)", optarg);
				break;
			case LONG_TIMEOUT:
				used |= OPT_TIMEOUT;
				if (!cli_parse_duration(optarg, &opt.timeout))
					return usage_error("invalid timeout \"%s\" (examples: 90s, 5m, 1h30m)", optarg);
				break;
			case LONG_IGNORE:
				opt.ignore_not_found = true;
				used |= OPT_IGNORE;
				break;
			case LONG_TCP:
				opt.tcp = true;
				used |= OPT_TCP;
				break;
			case 'V':
				printf("%s (cnpg_bootstrap) %s\n", progname, CB_VERSION);
				return CLI_EXIT_OK;
			case '?':
				/* getopt_long returns '?' for an unknown option too (and said so) */
				if (strcmp(argv[optind - 1], "-?") != 0 &&
					strcmp(argv[optind - 1], "--help") != 0)
					return usage_error("%s", "invalid option");
				usage();
				return CLI_EXIT_OK;
			default:
				return usage_error("%s", "invalid option");
		}
	}
	if (optind >= argc)
		return usage_error("%s", "no command given");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL)
		return usage_error("unknown command \"%s\"", argv[optind]);
	opt.args = argv + optind + 1;
	opt.nargs = argc - optind - 1;

	for (int bit = 1; bit <= OPT_TCP; bit <<= 1)
		if ((used & bit) && !(cmd->allowed & bit))
		{
			fprintf(stderr, "%s: error: option %s cannot be used with %s\n",
					progname, option_name(bit), cmd->name);
			return CLI_EXIT_USAGE;
		}
	if (strcmp(cmd->name, "apply") == 0)
	{
		if (opt.nfiles == 0)
			return usage_error("%s", "apply needs -f FILE, DIR or -");
		if (opt.dry_run && opt.wait)
			return usage_error("%s", "--wait cannot be used with --dry-run");
	}
	if (strcmp(cmd->name, "psql") != 0 &&
		(opt.nargs < cmd->min_args || (cmd->max_args >= 0 && opt.nargs > cmd->max_args)))
		return usage_error("wrong number of arguments for %s", cmd->name);
	if (strcmp(cmd->name, "psql") == 0 && opt.nargs < 1)
		return usage_error("%s", "psql needs a CLUSTER");
	return cmd->run(&opt);
}
