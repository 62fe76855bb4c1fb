/*-------------------------------------------------------------------------
 *
 * instance.c
 *	  The instance toolkit every method shares: start and stop target
 *	  instances with pg_ctl, tell whether one runs, make its data
 *	  directory in <pgdata>.tmp and install it, run a tool on its behalf,
 *	  connect to it (its configuration files are instance_config.c's).
 *
 * pg_ctl daemonises the postmaster in its own session, so targets keep
 * running when the control instance stops; the worker adopts them again
 * through postmaster.pid, whose pid it believes only once /proc shows a
 * postgres of ours working in that data directory.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/latch.h"

/* how long a stop may take, as pg_ctl stop -t 120 did */
#define CB_STOP_TIMEOUT_MS 120000
/* how long connecting to an instance may take */
#define CB_CONNECT_TIMEOUT_MS 30000

#include "fsutil.h"
#include "instance.h"
#include "pgconn.h"
#include "process.h"
#include "procstat.h"
#include "waituntil.h"

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
	CbProcStat	ps;

	return cb_proc_stat((pid_t) pid, &ps) && ps.state == 'Z';
}

/*
 * A live (not zombie) process of our OS user whose working directory is
 * want (a realpath)?
 */
static bool
ours_working_in(int pid, const char *want)
{
	char		link[PATH_MAX];
	struct stat st;
	ssize_t		n;

	if (stat(psprintf("/proc/%d", pid), &st) != 0 || st.st_uid != geteuid())
		return false;
	n = readlink(psprintf("/proc/%d/cwd", pid), link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	return strcmp(link, want) == 0 && !process_is_zombie(pid);
}

/*
 * Is pid a live postmaster of pgdata, run by us?  A postmaster.pid can be
 * stale and its pid reused by anything: only a process of our OS user whose
 * binary is postgres and whose working directory is pgdata qualifies (the
 * postmaster chdirs to its data directory at start).
 */
static bool
is_our_postmaster(int pid, const char *pgdata)
{
	char		want[PATH_MAX];
	char		link[PATH_MAX];
	ssize_t		n;
	const char *base;

	if (realpath(pgdata, want) == NULL || !ours_working_in(pid, want))
		return false;
	n = readlink(psprintf("/proc/%d/exe", pid), link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	/* the binaries may have been replaced by an upgrade since it started */
	if (n > 10 && strcmp(link + n - 10, " (deleted)") == 0)
		link[n - 10] = '\0';
	base = strrchr(link, '/');
	return base != NULL && strcmp(base + 1, "postgres") == 0;
}

/*
 * Does a process of ours still work in pgdata (its cwd)?  The children of
 * a postmaster killed with -9 linger a moment with its shared memory
 * attached, and a new postmaster refuses to start beside them.
 */
static bool
pgdata_in_use(const char *pgdata)
{
	char		want[PATH_MAX];
	DIR		   *proc;
	struct dirent *de;
	bool		found = false;

	if (realpath(pgdata, want) == NULL || (proc = AllocateDir("/proc")) == NULL)
		return false;
	while (!found && (de = ReadDir(proc, "/proc")) != NULL)
	{
		int			pid = atoi(de->d_name);

		found = pid > 0 && pid != MyProcPid && ours_working_in(pid, want);
	}
	FreeDir(proc);
	return found;
}

/*
 * Before starting over a dead postmaster: wait (up to 10 s, on the latch)
 * until its last child is gone and its own process is reaped.  A new
 * postmaster takes a zombie's pid in postmaster.pid for a live server; if
 * nobody reaps it (a container whose PID 1 does not), the stale lock file
 * is set aside once no process of ours works in the data directory.
 */
typedef struct DeadPostmaster
{
	const char *pgdata;
	int			pid;			/* of postmaster.pid, 0 if none */
	bool		busy;			/* a process still works in pgdata */
} DeadPostmaster;

static bool
dead_postmaster_released(CbWait *w, void *arg)
{
	DeadPostmaster *d = (DeadPostmaster *) arg;

	d->busy = pgdata_in_use(d->pgdata);
	return !d->busy && (d->pid <= 0 || !process_is_zombie(d->pid));
}

static void
wait_pgdata_released(const char *pgdata)
{
	char	   *pidfile = psprintf("%s/postmaster.pid", pgdata);
	char	   *content = cb_read_file(pidfile, NULL);
	DeadPostmaster d = {pgdata, content ? atoi(content) : 0, true};
	CbWaitSpec	spec = {"dead postmaster", 10000, NULL};

	if (cb_wait_until(dead_postmaster_released, &d, &spec))
		return;
	if (!d.busy && d.pid > 0 && process_is_zombie(d.pid) && unlink(pidfile) == 0)
		ereport(LOG,
				(errmsg("cnpg_bootstrap: removed the stale postmaster.pid of \"%s\": its postmaster (PID %d) is dead and not reaped",
						pgdata, d.pid)));
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
	return is_our_postmaster(pid, pgdata) ? pid : 0;
}

/*
 * Signal the postmaster of pgdata, checked as above.  Through a pidfd when
 * the kernel has them: checked after the pidfd is opened, the signal cannot
 * reach another process that took the pid meanwhile.
 */
static bool
signal_postmaster(int pid, const char *pgdata, int sig)
{
	int			pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
	bool		ok;

	if (pidfd < 0 && errno == ESRCH)
		return true;			/* gone already */
	/* no pidfds here (old kernel, seccomp): checked, then kill() */
	if (!is_our_postmaster(pid, pgdata))
		ok = true;				/* exited meanwhile: nothing of ours to signal */
	else if (pidfd >= 0)
		ok = syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0 || errno == ESRCH;
	else
		ok = kill(pid, sig) == 0 || errno == ESRCH;
	if (pidfd >= 0)
		close(pidfd);
	return ok;
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
		/* a postmaster.pid of a dead postmaster: its children may linger */
		if (cb_path_exists(psprintf("%s/postmaster.pid", inst->pgdata)))
			wait_pgdata_released(inst->pgdata);
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

/* a pass of the wait of cb_instance_stop */
static bool
postmaster_gone(CbWait *w, void *arg)
{
	return cb_instance_pid((const char *) arg) == 0;
}

/*
 * Stop the postmaster of pgdata ("fast": SIGINT, "immediate": SIGQUIT),
 * signalled by us only after checking it is one (not pg_ctl, which signals
 * whatever pid postmaster.pid names), and wait until it is gone, on the
 * latch so that SIGTERM still stops the worker at once.
 */
void
cb_instance_stop(CbCluster *c, const char *pgdata, const char *mode)
{
	int			sig = strcmp(mode, "immediate") == 0 ? SIGQUIT : SIGINT;
	int			pid = cb_instance_pid(pgdata);
	CbWaitSpec	spec = {.what = "a server's stop", .timeout_ms = CB_STOP_TIMEOUT_MS};

	if (pid == 0)
		return;
	if (!signal_postmaster(pid, pgdata, sig))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not signal the postmaster (PID %d) of \"%s\": %m", pid, pgdata)));
	if (cb_wait_until(postmaster_gone, unconstify(char *, pgdata), &spec))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("the server of \"%s\" did not stop within %d s (%s shutdown)",
					pgdata, CB_STOP_TIMEOUT_MS / 1000, mode)));
}

char *
cb_instance_tmp(const CbInstance *inst)
{
	return psprintf("%s.tmp", inst->pgdata);
}

bool
cb_instance_drop_tmp(const CbInstance *inst)
{
	char	   *tmp = cb_instance_tmp(inst);

	return !cb_path_exists(tmp) || cb_rmtree(tmp);
}

char *
cb_instance_fresh_tmp(CbCluster *c, CbInstance *inst)
{
	cb_instance_stop(c, inst->pgdata, "immediate");
	if (!cb_instance_drop_tmp(inst) ||
		(cb_path_exists(inst->pgdata) && !cb_rmtree(inst->pgdata)))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove the old data directory of %s: %m", inst->name)));
	return cb_instance_tmp(inst);
}

void
cb_instance_install_tmp(CbInstance *inst)
{
	char	   *tmp = cb_instance_tmp(inst);

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

PGconn *
cb_connect_instance(CbCluster *c, CbInstance *inst, const char *dbname)
{
	char	   *err = NULL;
	PGconn	   *conn = cb_connect_local(c->run_dir, inst->port, dbname,
										CB_CONNECT_TIMEOUT_MS, &err);

	if (conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not connect to database \"%s\" of %s: %s",
						dbname, inst->name, err ? err : "unknown error")));
	return conn;
}
