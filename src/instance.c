/*-------------------------------------------------------------------------
 *
 * instance.c
 *	  Start and stop target instances with pg_ctl, and tell whether one
 *	  runs.  pg_ctl daemonises the postmaster in its own session, so
 *	  targets keep running when the control instance stops; the worker
 *	  adopts them again through postmaster.pid.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"

#include "hostlayout.h"
#include "instance.h"
#include "process.h"

char *
cb_tool(CbCluster *c, const char *tool)
{
	return psprintf("%s/%s", c->bindir, tool);
}

/*
 * A postmaster killed with -9 stays a zombie until PID 1 reaps it, and
 * kill(pid, 0) still succeeds on a zombie: look at its state.
 */
static bool
process_is_zombie(int pid)
{
	char	   *stat = cb_read_file(psprintf("/proc/%d/stat", pid), NULL);
	char	   *paren;

	if (stat == NULL || (paren = strrchr(stat, ')')) == NULL)
		return false;
	return paren[1] == ' ' && paren[2] == 'Z';
}

int
cb_instance_pid(const char *pgdata)
{
	char	   *pidfile = psprintf("%s/postmaster.pid", pgdata);
	char	   *content = cb_read_file(pidfile, NULL);
	int			pid;

	if (content == NULL)
		return 0;
	pid = atoi(content);
	if (pid <= 0)
		return 0;
	if (kill(pid, 0) != 0 && errno != EPERM)
		return 0;
	return process_is_zombie(pid) ? 0 : pid;
}

static void
run_pg_ctl(CbCluster *c, const char *const *argv, const char *what,
		   const char *log_file)
{
	CbChildOptions opts;
	CbChildResult res;

	memset(&opts, 0, sizeof(opts));
	opts.argv = argv;
	opts.cwd = c->dir;
	opts.log_prefix = what;
	opts.log_file = log_file;
	opts.new_session = true;
	if (!cb_run_child(&opts, &res))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("%s failed (exit code %d)", what, res.exit_code),
				 errdetail("%s", res.tail ? res.tail : "")));
}

void
cb_instance_start(CbCluster *c, CbInstance *inst)
{
	cb_instances_start(c, &inst, 1);
}

/* start the instances that are not running, all at once (pg_ctl -w each) */
void
cb_instances_start(CbCluster *c, CbInstance **insts, int n)
{
	CbChildOptions *opts = palloc0(sizeof(CbChildOptions) * Max(n, 1));
	CbChildResult *results = palloc0(sizeof(CbChildResult) * Max(n, 1));
	CbInstance **started = palloc0(sizeof(CbInstance *) * Max(n, 1));
	int			m = 0;

	for (int i = 0; i < n; i++)
	{
		CbInstance *inst = insts[i];
		const char **argv = palloc0(sizeof(char *) * 12);

		if (cb_instance_pid(inst->pgdata) > 0)
			continue;
		argv[0] = cb_tool(c, "pg_ctl");
		argv[1] = "start";
		argv[2] = "-w";
		argv[3] = "-t";
		argv[4] = "300";
		argv[5] = "-s";
		argv[6] = "-D";
		argv[7] = inst->pgdata;
		argv[8] = "-l";
		argv[9] = psprintf("%s/pg_ctl.log", inst->logdir);
		cb_instance_child_options(inst, "pg_ctl start", argv, &opts[m]);
		started[m++] = inst;
	}
	if (m == 0 || cb_run_children(m, opts, results))
		return;
	for (int i = 0; i < m; i++)
		if (results[i].exit_code != 0)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("pg_ctl start %s failed (exit code %d)", started[i]->name,
							results[i].exit_code),
					 errdetail("%s", results[i].tail ? results[i].tail : "")));
}

void
cb_instance_stop(CbCluster *c, const char *pgdata, const char *mode)
{
	const char *pg_ctl = c->bindir ? cb_tool(c, "pg_ctl") : NULL;
	int			pid = cb_instance_pid(pgdata);

	if (pid == 0)
		return;
	if (pg_ctl == NULL)
	{
		/* no bindir known (teardown): signal the postmaster directly */
		int			sig = strcmp(mode, "immediate") == 0 ? SIGQUIT : SIGINT;

		kill(pid, sig);
		for (int i = 0; i < 600 && cb_instance_pid(pgdata) > 0; i++)
		{
			pg_usleep(50000);
			CHECK_FOR_INTERRUPTS();
		}
		return;
	}
	{
		const char *argv[] = {pg_ctl, "stop", "-w", "-s", "-t", "120", "-m", mode,
		"-D", pgdata, NULL};

		run_pg_ctl(c, argv, psprintf("pg_ctl stop %s", pgdata), NULL);
	}
}

char *
cb_instance_fresh_tmp(CbCluster *c, CbInstance *inst)
{
	char	   *tmp = psprintf("%s.tmp", inst->pgdata);

	cb_instance_stop(c, inst->pgdata, "immediate");
	if ((cb_path_exists(tmp) && !cb_rmtree(tmp)) ||
		(cb_path_exists(inst->pgdata) && !cb_rmtree(inst->pgdata)))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove the old data directory of %s: %m", inst->name)));
	return tmp;
}

void
cb_instance_install_tmp(CbInstance *inst)
{
	char	   *tmp = psprintf("%s.tmp", inst->pgdata);

	/* a directory: rename, then make the rename itself durable */
	if (rename(tmp, inst->pgdata) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename \"%s\": %m", tmp)));
	fsync_fname(inst->dir, true);
}

void
cb_instance_child_options(CbInstance *inst, const char *tool, const char **argv,
						  CbChildOptions *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->argv = argv;
	opts->cwd = inst->dir;
	opts->log_prefix = psprintf("%s %s", tool, inst->name);
	opts->log_file = psprintf("%s/bootstrap.log", inst->logdir);
	opts->new_session = true;
}
