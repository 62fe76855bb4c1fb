/*-------------------------------------------------------------------------
 *
 * process.c
 *	  Child processes of a background worker: initdb, pg_ctl,
 *	  pg_basebackup, pg_dump ... run with fork + execve, an explicit argv
 *	  and a scrubbed environment, never through a shell.
 *
 * The worker must stay responsive while children run: their output pipes
 * are watched together with the worker's latch in one WaitEventSet,
 * CHECK_FOR_INTERRUPTS() runs on every wake-up, and whatever ends the wait
 * early (SIGTERM -> FATAL, an ERROR, postmaster death) first stops every
 * running child's process group and reaps it.  An ERROR is handled by
 * PG_FINALLY; a FATAL never returns through our frames, so an on_proc_exit
 * callback holding the running children does the same there.
 *
 * cb_run_child is cb_run_children with one child: there is one code path.
 *
 * What the child must not inherit from a postmaster child (each item was
 * seen in practice, see docs/machines.md §4): the postmaster's process group (fast
 * shutdown signals the whole group), ignored or blocked signals (exec keeps
 * SIG_IGN and the mask), descriptors without CLOEXEC (log pipe, postmaster
 * death pipe, relation files) and the environment (PGDATA of the control
 * instance, PGHOST, LC_* ...).
 *
 * A child of a cluster worker is recorded by childreg.c before it may run
 * (it blocks on a "go" pipe until the parent has fsynced the record): a
 * worker killed by SIGKILL runs none of the above, and its successor must
 * know what to stop.
 *
 * Also here: cb_rmtree, which removes a directory tree without spawning rm.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "childreg.h"
#include "process.h"
#include "redact.h"

void		(*cb_child_running_hook) (pid_t pid, long elapsed_ms) = NULL;

/* children that ended by a signal someone else sent (cb_children_killed_count) */
static uint64 cb_children_killed = 0;

/*
 * The signals that stop a process from outside (kill, the OOM killer, a
 * shutdown), as opposed to a tool's own crash (SIGSEGV, SIGABRT ...)
 */
static bool
cb_signal_from_outside(int sig)
{
	return sig == SIGKILL || sig == SIGTERM || sig == SIGINT ||
		sig == SIGQUIT || sig == SIGHUP;
}

uint64
cb_children_killed_count(void)
{
	return cb_children_killed;
}

/* how long we poll waitpid() at most between two latch wake-ups */
#define CB_CHILD_POLL_MS		100

/* SIGTERM -> SIGKILL grace period when we stop a child */
#define CB_CHILD_TERM_GRACE_MS	500

/* how long we wait for a SIGKILLed child to be reapable */
#define CB_CHILD_KILL_WAIT_MS	5000

/* longer output lines are cut into pieces of this size */
#define CB_MAX_LINE				8192

#define CB_DEFAULT_TAIL_LINES	20

/*
 * A round of the wait loop reads at most this many buffers from one pipe
 * before it looks at the other children, their timeouts and the interrupts:
 * a child that writes without pause must not starve any of those.
 */
#define CB_MAX_READS_PER_ROUND	16

/* output of one child: line assembly, tail ring, log file */
typedef struct CbOutput
{
	const char *prefix;
	int			log_fd;
	bool		log_write_failed;
	StringInfoData line;
	bool		prev_cr;
	int			tail_size;
	int			tail_count;		/* lines kept so far, <= tail_size */
	int			tail_next;		/* ring position of the next line */
	char	  **tail;
	CbLineCallback on_line;
	void	   *on_line_arg;
} CbOutput;

/* one child of a cb_run_children call, from its options to its result */
typedef struct CbRun
{
	const CbChildOptions *opts;
	const char *prog;
	const char *cwd;
	char	   *cmdline;		/* argv joined by spaces, for the log */
	char	  **argv;			/* what execve gets, built before the fork */
	char	  **envp;
	char	   *exec_fail_msg;
	bool		startable;		/* false: cannot be executed, never forked */
	bool		group;			/* the child leads its own process group */
	int			timeout_ms;
	pid_t		pid;			/* the child once forked; kept after reaping */

	/*
	 * The child's pid from the fork until it is reaped (or given up on), else
	 * 0: what the exit callback stops.  Set with every signal blocked, and
	 * cleared only once waitpid() has reaped the child, so that a FATAL from
	 * a signal handler at any point in between still finds it.
	 */
	volatile pid_t live_pid;
	bool		stopping;		/* being stopped by cb_stop_runs */
	TimestampTz start_time;
	int			pipe_fd;		/* read end of the output pipe; -1 once at
								 * EOF or the child is done */
	int			go_fd;			/* write end of the go pipe until the child
								 * is recorded and let run, else -1 */
	int			status;
	bool		exited;
	bool		timed_out;
	CbOutput	out;
} CbRun;

/* one cb_run_children call: its children and what the wait needs */
typedef struct CbBatch
{
	int			n;
	CbRun	   *runs;
	long		maxfd;			/* descriptors the child closes at most */
	WaitEventSet *wes;			/* latch, postmaster death, open pipes */
	bool		wes_stale;		/* a pipe was closed: rebuild wes */
	WaitEvent  *occurred;		/* room for every event of wes */
	struct sigaction old_chld;
	bool		chld_changed;	/* SIGCHLD disposition to restore */
} CbBatch;

/*
 * The children being waited for, so that the exit callback can stop them
 * when the worker exits without unwinding our frames (FATAL, postmaster
 * death): the runs of the one cb_run_children call in progress (NULL when
 * none), each with its live_pid.  Calls do not nest, so one array is all
 * there is.
 */
static CbRun *volatile running_runs = NULL;
static volatile int running_nruns = 0;
static bool exit_callback_registered = false;

static void cb_child_exec(char *const *argv, char *const *envp,
						  const char *cwd, int out_fd, int go_read,
						  int go_write, bool new_session, long maxfd,
						  const char *exec_fail_msg, const char *stdin_path)
			pg_attribute_noreturn();
static void cb_stop_runs(CbRun *runs, int n);
static void cb_child_exit_callback(int code, Datum arg);
static char **cb_build_env(const char *bindir, const char *home,
						   const char *const *extra_env);
static void cb_output_bytes(CbOutput *out, const char *buf, ssize_t n);
static void cb_output_flush(CbOutput *out);
static void cb_output_line(CbOutput *out, const char *line);
static void cb_tail_add(CbOutput *out, const char *line);
static char *cb_tail_join(CbOutput *out);
static void cb_fill_result(CbChildResult *result, int status, bool exited);

/*
 * Write a string in the child, where only async-signal-safe calls may be
 * used (stdio and palloc could deadlock on a lock held at fork time).
 */
static void
cb_child_write(int fd, const char *s)
{
	size_t		len = strlen(s);

	while (len > 0)
	{
		ssize_t		n = write(fd, s, len);

		if (n <= 0)
			return;
		s += n;
		len -= n;
	}
}

/* errno as decimal digits, async-signal-safe (no strerror in the child) */
static void
cb_child_write_errno(int fd, int err)
{
	char		digits[16];
	int			i = sizeof(digits) - 1;

	digits[i] = '\0';
	do
	{
		digits[--i] = '0' + err % 10;
		err /= 10;
	} while (err > 0 && i > 0);
	cb_child_write(fd, digits + i);
}

/*
 * The child side of the fork: everything it needs was prepared before the
 * fork, so it only makes system calls.
 */
static void
cb_child_exec(char *const *argv, char *const *envp, const char *cwd,
			  int out_fd, int go_read, int go_write, bool new_session,
			  long maxfd, const char *exec_fail_msg, const char *stdin_path)
{
	struct sigaction sa;
	sigset_t	empty;
	int			devnull;
	int			sig;
	int			err;
	char		go;

	/*
	 * Leave the postmaster's process group, or a fast shutdown of the
	 * control instance would signal a daemon we start (pg_ctl start does this
	 * itself, initdb and pg_basebackup benefit too).
	 */
	if (new_session)
		(void) setsid();

	/*
	 * Run nothing until the parent has recorded us durably (childreg.c): a
	 * worker killed before that closes the pipe, and then we just exit, so no
	 * child of a worker ever runs unrecorded.  Every signal is still blocked;
	 * SIGKILL is not.
	 */
	(void) close(go_write);
	for (;;)
	{
		ssize_t		r = read(go_read, &go, 1);

		if (r == 1 && go == 'g')
			break;
		if (r < 0 && errno == EINTR)
			continue;
		_exit(127);
	}
	(void) close(go_read);

	/*
	 * Signals still blocked (by our parent, around the fork): reset every
	 * handler first so that nothing of the backend's can run here, then clear
	 * the mask.  exec keeps SIG_IGN, so ignored signals must be reset too.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
	{
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		(void) sigaction(sig, &sa, NULL);
	}

	devnull = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
	if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
		dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
		_exit(127);

	/*
	 * Close every other descriptor: several reach us without CLOEXEC (the
	 * postmaster death pipe, open relation files), and a daemon would keep
	 * them open for ever.
	 */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
	{
		int			fd;

		for (fd = 3; fd < maxfd; fd++)
			(void) close(fd);
	}

	if (chdir(cwd) != 0)
	{
		err = errno;
		cb_child_write(STDERR_FILENO, "could not change directory to \"");
		cb_child_write(STDERR_FILENO, cwd);
		cb_child_write(STDERR_FILENO, "\": errno ");
		cb_child_write_errno(STDERR_FILENO, err);
		cb_child_write(STDERR_FILENO, "\n");
		_exit(127);
	}

	sigemptyset(&empty);
	(void) sigprocmask(SIG_SETMASK, &empty, NULL);

	execve(argv[0], argv, envp);

	err = errno;
	cb_child_write(STDERR_FILENO, exec_fail_msg);
	cb_child_write_errno(STDERR_FILENO, err);
	cb_child_write(STDERR_FILENO, "\n");
	_exit(127);
}

/*
 * Stop the children of runs that are still alive (live_pid set), all at
 * once: SIGTERM to each (to its whole process group if it leads one), SIGKILL
 * after the grace period to whatever is left, and reap them.  A run that is
 * reaped gets exited and its wait status; one that cannot be reaped within
 * the kill wait is given up on (exited stays false).  Used from error and
 * exit paths, so it never throws; stopping the children together keeps a
 * SIGTERM of the worker within one grace period however many there are.
 */
static void
cb_stop_runs(CbRun *runs, int n)
{
	int			waited;
	int			i;

	for (i = 0; i < n; i++)
	{
		CbRun	   *run = &runs[i];
		pid_t		pid = run->live_pid;

		/* a child still waiting to be let run sees EOF and exits */
		if (run->go_fd >= 0)
		{
			(void) close(run->go_fd);
			run->go_fd = -1;
		}
		run->stopping = (pid != 0);
		if (pid == 0)
			continue;
		(void) kill(run->group ? -pid : pid, SIGTERM);
		if (run->group)
			(void) kill(-pid, SIGCONT); /* a stopped group cannot exit */
	}

	for (waited = 0;; waited += 10)
	{
		bool		waiting = false;	/* a child not reaped yet */
		bool		lingering = false;	/* group members of a reaped one */

		for (i = 0; i < n; i++)
		{
			CbRun	   *run = &runs[i];
			pid_t		pid = run->live_pid;

			if (!run->stopping)
				continue;
			if (pid != 0)
			{
				pid_t		r = waitpid(pid, &run->status, WNOHANG);

				if (r == pid || (r < 0 && errno == ECHILD))
				{
					run->exited = (r == pid);
					run->live_pid = 0;
					cb_childreg_remove(pid);
				}
				else
					waiting = true;
			}
			if (run->live_pid == 0 && run->group && kill(-run->pid, 0) == 0)
				lingering = true;
		}

		/*
		 * Group members that outlive their leader are not our children: they
		 * get until the end of the grace period, like the leader, and are not
		 * waited for after it.
		 */
		if (!waiting && (!lingering || waited >= CB_CHILD_TERM_GRACE_MS))
			break;
		if (waited >= CB_CHILD_TERM_GRACE_MS + CB_CHILD_KILL_WAIT_MS)
			break;
		if (waited == CB_CHILD_TERM_GRACE_MS)
		{
			for (i = 0; i < n; i++)
			{
				CbRun	   *run = &runs[i];

				if (!run->stopping)
					continue;
				if (run->group)
					(void) kill(-run->pid, SIGKILL);
				else if (run->live_pid != 0)
					(void) kill(run->pid, SIGKILL);
			}
		}
		pg_usleep(10 * 1000L);
	}

	for (i = 0; i < n; i++)
	{
		CbRun	   *run = &runs[i];

		if (!run->stopping)
			continue;
		/* stragglers of the group that ignored SIGTERM */
		if (run->group && kill(-run->pid, 0) == 0)
			(void) kill(-run->pid, SIGKILL);
		/* not reapable even after SIGKILL: given up on */
		run->live_pid = 0;
		run->stopping = false;
	}
}

/* exit callback: a FATAL or postmaster death while children run */
static void
cb_child_exit_callback(int code, Datum arg)
{
	CbRun	   *runs = running_runs;
	int			n = running_nruns;

	if (runs != NULL)
	{
		running_runs = NULL;
		cb_stop_runs(runs, n);
	}
}

/*
 * The child's environment: nothing inherited.  PATH starts with the program's
 * own directory so that tools it runs by name are of the same major version.
 * extra_env entries replace defaults with the same name.
 */
static char **
cb_build_env(const char *bindir, const char *home,
			 const char *const *extra_env)
{
	int			nextra = 0;
	int			n = 0;
	int			i;
	char	  **env;

	if (extra_env)
		while (extra_env[nextra])
			nextra++;

	env = palloc0(sizeof(char *) * (5 + nextra));
	env[n++] = psprintf("PATH=%s%s/usr/bin:/bin", bindir ? bindir : "",
						bindir ? ":" : "");
	env[n++] = pstrdup("LANG=C.UTF-8");
	env[n++] = pstrdup("LC_MESSAGES=C");
	env[n++] = psprintf("HOME=%s", home);

	for (i = 0; i < nextra; i++)
	{
		const char *eq = strchr(extra_env[i], '=');
		size_t		keylen;
		int			j;

		if (eq == NULL || eq == extra_env[i])
			elog(ERROR, "invalid environment entry for a child process (no \"NAME=\")");
		keylen = eq - extra_env[i] + 1;
		for (j = 0; j < n; j++)
			if (strncmp(env[j], extra_env[i], keylen) == 0)
				break;
		env[j] = pstrdup(extra_env[i]);
		if (j == n)
			n++;
	}
	env[n] = NULL;
	return env;
}

static void
cb_tail_add(CbOutput *out, const char *line)
{
	if (out->tail[out->tail_next])
		pfree(out->tail[out->tail_next]);
	out->tail[out->tail_next] = pstrdup(line);
	out->tail_next = (out->tail_next + 1) % out->tail_size;
	if (out->tail_count < out->tail_size)
		out->tail_count++;
}

static char *
cb_tail_join(CbOutput *out)
{
	StringInfoData buf;
	int			first = (out->tail_next - out->tail_count + out->tail_size) %
		out->tail_size;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < out->tail_count; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, '\n');
		appendStringInfoString(&buf, out->tail[(first + i) % out->tail_size]);
	}
	return buf.data;
}

/* one complete line: server log, log file, tail, callback */
static void
cb_output_line(CbOutput *out, const char *line)
{
	/* statement echoes and values never leave the child (redact.c) */
	if ((line = cb_redact_child_line(out, line)) == NULL)
		return;
	ereport(LOG,
			(errmsg_internal("%s: %s", out->prefix, line),
			 errhidestmt(true)));

	if (out->log_fd >= 0 && !out->log_write_failed)
	{
		size_t		len = strlen(line);
		char	   *copy = palloc(len + 1);

		memcpy(copy, line, len);
		copy[len] = '\n';
		if (write(out->log_fd, copy, len + 1) != (ssize_t) (len + 1))
		{
			/* keep going: the log file is a copy, the child matters more */
			out->log_write_failed = true;
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not write to the log file of \"%s\": %m",
							out->prefix)));
		}
		pfree(copy);
	}

	cb_tail_add(out, line);

	if (out->on_line)
		out->on_line(line, out->on_line_arg);
}

/*
 * Split output into lines.  '\r' ends a line too (progress meters redraw
 * with it); empty lines are dropped; overlong lines are cut.
 */
static void
cb_output_bytes(CbOutput *out, const char *buf, ssize_t n)
{
	ssize_t		i;

	for (i = 0; i < n; i++)
	{
		char		c = buf[i];

		if (c == '\n' || c == '\r')
		{
			if (!(c == '\n' && out->prev_cr))
				cb_output_flush(out);
			out->prev_cr = (c == '\r');
			continue;
		}
		out->prev_cr = false;
		if (c == '\0')
			c = ' ';			/* a NUL would cut the line short */
		appendStringInfoChar(&out->line, c);
		if (out->line.len >= CB_MAX_LINE)
			cb_output_flush(out);
	}
}

static void
cb_output_flush(CbOutput *out)
{
	if (out->line.len > 0)
	{
		cb_output_line(out, out->line.data);
		resetStringInfo(&out->line);
	}
}

static void
cb_fill_result(CbChildResult *result, int status, bool exited)
{
	if (!exited)
	{
		result->exit_code = -1;
		result->term_signal = SIGKILL;
	}
	else if (WIFEXITED(status))
	{
		result->exit_code = WEXITSTATUS(status);
		result->term_signal = 0;
	}
	else if (WIFSIGNALED(status))
	{
		result->exit_code = -1;
		result->term_signal = WTERMSIG(status);
	}
	else
	{
		result->exit_code = -1;
		result->term_signal = 0;
	}
}

/*
 * Read what a child's pipe holds, up to max_reads buffers (0: until it is
 * empty), into its output.  At EOF or on a read error the pipe is closed:
 * nothing more can come, and the wait set must stop watching it.
 */
static void
cb_read_output(CbBatch *batch, CbRun *run, int max_reads)
{
	char		buf[8192];
	int			reads = 0;

	while (run->pipe_fd >= 0 && (max_reads == 0 || reads < max_reads))
	{
		ssize_t		n = read(run->pipe_fd, buf, sizeof(buf));

		if (n > 0)
		{
			cb_output_bytes(&run->out, buf, n);
			reads++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not read the output of \"%s\": %m",
							run->prog)));
		close(run->pipe_fd);
		run->pipe_fd = -1;
		batch->wes_stale = true;
	}
}

/*
 * A child is done (reaped or stopped): its last partial line is a line, and
 * its descriptors go at once, whatever the other children still do.  A
 * daemon it started may hold the pipe for ever; its output is not ours.
 */
static void
cb_finish_run(CbBatch *batch, CbRun *run)
{
	cb_output_flush(&run->out);
	if (run->pipe_fd >= 0)
	{
		close(run->pipe_fd);
		run->pipe_fd = -1;
		batch->wes_stale = true;
	}
	if (run->out.log_fd >= 0)
		close(run->out.log_fd);
	run->out.log_fd = -1;
}

/*
 * One look at a running child: read its output, reap it, honour its
 * timeout.  Returns false once it is done; else lowers *wait_ms to what is
 * left of its timeout.
 */
static bool
cb_poll_run(CbBatch *batch, CbRun *run, long *wait_ms)
{
	pid_t		r;

	cb_read_output(batch, run, CB_MAX_READS_PER_ROUND);

	/*
	 * Reap.  Once the child is gone we stop at once, even if the pipe is
	 * still open: a daemon it started may hold it for ever.
	 */
	r = waitpid(run->pid, &run->status, WNOHANG);
	if (r == run->pid)
	{
		run->exited = true;
		run->live_pid = 0;
		cb_childreg_remove(run->pid);
		/* output written just before exiting */
		cb_read_output(batch, run, 0);
		cb_finish_run(batch, run);
		return false;
	}
	if (r < 0 && errno != EINTR)
		elog(ERROR, "waitpid failed for child process %d: %m",
			 (int) run->pid);

	if (run->timeout_ms > 0)
	{
		long		elapsed = TimestampDifferenceMilliseconds(run->start_time,
															  GetCurrentTimestamp());

		if (elapsed >= run->timeout_ms)
		{
			run->timed_out = true;
			cb_stop_runs(run, 1);
			ereport(LOG,
					(errmsg("%s: stopped after a timeout of %d ms",
							run->out.prefix, run->timeout_ms),
					 errhidestmt(true)));
			cb_finish_run(batch, run);
			return false;
		}
		*wait_ms = Min(*wait_ms, run->timeout_ms - elapsed);
	}
	return true;
}

/*
 * The wait set: the latch, postmaster death and every pipe still open.  It
 * is rebuilt rather than modified when a pipe closes, because a WaitEventSet
 * cannot drop a socket, and a pipe at EOF would wake every wait.
 */
static void
cb_build_wait_set(CbBatch *batch)
{
	int			i;

	if (batch->wes)
		FreeWaitEventSet(batch->wes);
	batch->wes = NULL;
	batch->wes = CreateWaitEventSet(CurrentMemoryContext, batch->n + 2);
	AddWaitEventToSet(batch->wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch,
					  NULL);
	AddWaitEventToSet(batch->wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET,
					  NULL, NULL);
	for (i = 0; i < batch->n; i++)
		if (batch->runs[i].pipe_fd >= 0)
			AddWaitEventToSet(batch->wes, WL_SOCKET_READABLE,
							  batch->runs[i].pipe_fd, NULL, &batch->runs[i]);
	batch->wes_stale = false;
}

/*
 * Wait for every started child: read their output, reap them, honour their
 * timeouts and the worker's interrupts.  Runs inside PG_TRY: the state
 * lives in *batch, whose address is taken, so nothing is lost to longjmp.
 */
static void
cb_wait_children(CbBatch *batch)
{
	for (;;)
	{
		long		wait_ms = CB_CHILD_POLL_MS;
		bool		running = false;
		int			nevents;
		int			i;

		/* every wake-up looks at every child: there are only a few */
		for (i = 0; i < batch->n; i++)
		{
			CbRun	   *run = &batch->runs[i];

			if (run->live_pid != 0 && cb_poll_run(batch, run, &wait_ms))
			{
				running = true;
				if (cb_child_running_hook)
					cb_child_running_hook(run->live_pid,
										  TimestampDifferenceMilliseconds(run->start_time,
																		  GetCurrentTimestamp()));
			}
		}
		if (!running)
			break;

		if (batch->wes == NULL || batch->wes_stale)
			cb_build_wait_set(batch);

		/*
		 * SIGCHLD does not set the latch, hence the short timeout: it is how
		 * a child that exits without closing the pipe is noticed.
		 */
		nevents = WaitEventSetWait(batch->wes, wait_ms, batch->occurred,
								   batch->n + 2, PG_WAIT_EXTENSION);
		for (i = 0; i < nevents; i++)
			if (batch->occurred[i].events & WL_LATCH_SET)
				ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* after the wait, normal or not: no child left behind, no fd leaked */
static void
cb_batch_cleanup(CbBatch *batch)
{
	int			i;

	/*
	 * The registry stays set until the children are reaped: a FATAL from a
	 * signal handler (bgworker_die) meanwhile must still find them.
	 */
	cb_stop_runs(batch->runs, batch->n);
	running_runs = NULL;
	running_nruns = 0;

	for (i = 0; i < batch->n; i++)
	{
		CbRun	   *run = &batch->runs[i];

		if (run->pipe_fd >= 0)
			close(run->pipe_fd);
		run->pipe_fd = -1;
		if (run->out.log_fd >= 0)
			close(run->out.log_fd);
		run->out.log_fd = -1;
	}
	if (batch->wes)
		FreeWaitEventSet(batch->wes);
	batch->wes = NULL;
	if (batch->chld_changed)
		(void) sigaction(SIGCHLD, &batch->old_chld, NULL);
	batch->chld_changed = false;
}

/*
 * Everything about a child that can be known or can fail without forking:
 * its output state, cwd and command line, logged; whether it can be
 * executed at all (if not, *result says why and it is not started); its argv
 * and environment for execve.
 */
static void
cb_prepare_run(CbRun *run, const CbChildOptions *opts, CbChildResult *result)
{
	StringInfoData cmdline;
	char	   *bindir;
	char	   *slash;
	int			nargs = 0;
	int			i;

	run->opts = opts;
	run->prog = opts->argv[0];
	run->group = opts->new_session;
	run->timeout_ms = opts->timeout_ms;
	run->pipe_fd = -1;
	run->go_fd = -1;
	run->out.log_fd = -1;
	run->out.prefix = opts->log_prefix ? opts->log_prefix :
		(strrchr(run->prog, '/') + 1);
	run->out.tail_size = opts->tail_lines > 0 ? opts->tail_lines :
		CB_DEFAULT_TAIL_LINES;
	run->out.tail = palloc0(sizeof(char *) * run->out.tail_size);
	run->out.on_line = opts->on_line;
	run->out.on_line_arg = opts->on_line_arg;
	initStringInfo(&run->out.line);

	/* the caller's choice (an instance's or a cluster's directory), else / */
	run->cwd = opts->cwd ? opts->cwd : "/";

	initStringInfo(&cmdline);
	for (i = 0; opts->argv[i]; i++)
	{
		if (i > 0)
			appendStringInfoChar(&cmdline, ' ');
		appendStringInfoString(&cmdline, opts->argv[i]);
	}
	run->cmdline = cmdline.data;

	/*
	 * argv is public anyway (ps shows it), and knowing what ran is what a DBA
	 * needs first; the environment is not logged.
	 */
	ereport(LOG,
			(errmsg_internal("%s: running %s", run->out.prefix, run->cmdline),
			 errhidestmt(true)));

	/* a clear message for the commonest failure, before forking */
	if (access(run->prog, X_OK) != 0)
	{
		char	   *msg = psprintf("could not execute \"%s\": %m", run->prog);

		ereport(LOG, (errmsg_internal("%s: %s", run->out.prefix, msg),
					  errhidestmt(true)));
		result->exit_code = 127;
		result->tail = msg;
		return;
	}
	run->startable = true;

	while (opts->argv[nargs])
		nargs++;
	run->argv = palloc(sizeof(char *) * (nargs + 1));
	for (i = 0; i < nargs; i++)
		run->argv[i] = pstrdup(opts->argv[i]);
	run->argv[nargs] = NULL;

	bindir = pstrdup(run->prog);
	slash = strrchr(bindir, '/');
	*slash = '\0';
	/* nothing to add for a program in /, /usr/bin or /bin */
	if (bindir[0] == '\0' || strcmp(bindir, "/usr/bin") == 0 ||
		strcmp(bindir, "/bin") == 0)
		bindir = NULL;
	run->envp = cb_build_env(bindir, run->cwd, opts->extra_env);
	run->exec_fail_msg = psprintf("could not execute \"%s\": errno ",
								  run->prog);
}

/* open (append) the log file of a run, with a header naming the command */
static void
cb_open_log_file(CbRun *run)
{
	char	   *header;

	run->out.log_fd = open(run->opts->log_file,
						   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
						   S_IRUSR | S_IWUSR);
	if (run->out.log_fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open log file \"%s\": %m",
						run->opts->log_file)));
	/* a header, so that runs appended to one file can be told apart */
	header = psprintf("---- %s\n", run->cmdline);
	if (write(run->out.log_fd, header, strlen(header)) < 0)
		run->out.log_write_failed = true;
	pfree(header);
}

/*
 * Fork and exec one child.  Everything it needs was built before; on return
 * it runs and its live_pid names it to the exit callback.
 */
static void
cb_start_child(CbBatch *batch, CbRun *run)
{
	int			pipefd[2];
	int			gofd[2];
	pid_t		pid;
	int			fork_errno;
	sigset_t	block_all;
	sigset_t	old_mask;

	if (pipe2(pipefd, O_CLOEXEC) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create a pipe for \"%s\": %m", run->prog)));
	run->pipe_fd = pipefd[0];
	batch->wes_stale = true;
	if (fcntl(pipefd[0], F_SETFL, O_NONBLOCK) != 0)
	{
		int			save_errno = errno;

		close(pipefd[1]);
		errno = save_errno;
		elog(ERROR, "could not make a pipe non-blocking: %m");
	}
	/* the child waits on this one until it is recorded */
	if (pipe2(gofd, O_CLOEXEC) != 0)
	{
		int			save_errno = errno;

		close(pipefd[1]);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create a pipe for \"%s\": %m", run->prog)));
	}
	run->go_fd = gofd[1];

	/*
	 * Block every signal across the fork: the child must not run a backend
	 * signal handler before it has reset them, and in the parent a SIGTERM
	 * must not end the worker before live_pid names the child.
	 */
	sigfillset(&block_all);
	sigprocmask(SIG_SETMASK, &block_all, &old_mask);
	pid = fork();
	if (pid == 0)
		cb_child_exec(run->argv, run->envp, run->cwd, pipefd[1], gofd[0],
					  gofd[1], run->opts->new_session, batch->maxfd,
					  run->exec_fail_msg, run->opts->stdin_path);
	fork_errno = errno;
	if (pid > 0)
	{
		run->pid = pid;
		run->live_pid = pid;
	}
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	close(pipefd[1]);
	close(gofd[0]);

	if (pid < 0)
	{
		close(run->go_fd);
		run->go_fd = -1;
		errno = fork_errno;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not fork a child process for \"%s\": %m",
						run->prog)));
	}

	/*
	 * Recorded durably before it runs anything, so that a worker killed now
	 * or later leaves nothing its successor does not know of.  An ERROR
	 * here reaches cb_stop_runs, which closes the go pipe: the child exits
	 * without running the program.
	 */
	cb_childreg_add(pid, run->opts->new_session);
	if (write(run->go_fd, "g", 1) != 1)
	{
		/* it exited already (killed?); its wait status says so */
	}
	close(run->go_fd);
	run->go_fd = -1;
	run->start_time = GetCurrentTimestamp();
}

/*
 * Start every startable child of the batch and wait for them all.  The
 * children are registered for the exit callback before the first fork;
 * whatever goes wrong (an ERROR here or in an on_line callback) stops those
 * already running before it propagates.
 */
static void
cb_run_batch(CbBatch *batch)
{
	int			i;

	batch->maxfd = sysconf(_SC_OPEN_MAX);
	if (batch->maxfd <= 0 || batch->maxfd > 65536)
		batch->maxfd = 65536;
	batch->occurred = palloc(sizeof(WaitEvent) * (batch->n + 2));

	if (!exit_callback_registered)
	{
		on_proc_exit(cb_child_exit_callback, (Datum) 0);
		exit_callback_registered = true;
	}

	PG_TRY();
	{
		running_nruns = batch->n;
		running_runs = batch->runs;

		/* log files first: one that cannot be opened starts nothing */
		for (i = 0; i < batch->n; i++)
			if (batch->runs[i].startable && batch->runs[i].opts->log_file)
				cb_open_log_file(&batch->runs[i]);

		/*
		 * waitpid() needs SIGCHLD not to be ignored (an ignored SIGCHLD makes
		 * the kernel reap children itself).
		 */
		if (sigaction(SIGCHLD, NULL, &batch->old_chld) == 0 &&
			(batch->old_chld.sa_handler == SIG_IGN ||
			 (batch->old_chld.sa_flags & SA_NOCLDWAIT)))
		{
			struct sigaction dfl;

			memset(&dfl, 0, sizeof(dfl));
			dfl.sa_handler = SIG_DFL;
			sigemptyset(&dfl.sa_mask);
			(void) sigaction(SIGCHLD, &dfl, NULL);
			batch->chld_changed = true;
		}

		for (i = 0; i < batch->n; i++)
			if (batch->runs[i].startable)
				cb_start_child(batch, &batch->runs[i]);
		cb_wait_children(batch);
	}
	PG_FINALLY();
	{
		/* an ERROR on the way: no child may outlive this call */
		cb_batch_cleanup(batch);
	}
	PG_END_TRY();
}

bool
cb_run_children(int n, const CbChildOptions *opts, CbChildResult *results)
{
	CbBatch		batch;
	bool		all_ok = true;
	bool		any_startable = false;
	int			i;

	if (n < 0)
		elog(ERROR, "invalid number of child processes: %d", n);
	if (n > 0 && results == NULL)
		results = palloc(sizeof(CbChildResult) * n);
	if (n > 0)
		memset(results, 0, sizeof(CbChildResult) * n);

	/* nothing is started unless every child's options are usable */
	for (i = 0; i < n; i++)
		if (opts == NULL || opts[i].argv == NULL || opts[i].argv[0] == NULL ||
			opts[i].argv[0][0] != '/')
			elog(ERROR, "a child process needs an absolute program path");
	if (running_runs != NULL)
		elog(ERROR, "a child process is already running in this worker");

	memset(&batch, 0, sizeof(batch));
	batch.n = n;
	batch.runs = palloc0(sizeof(CbRun) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		cb_prepare_run(&batch.runs[i], &opts[i], &results[i]);
		if (batch.runs[i].startable)
			any_startable = true;
	}

	if (any_startable)
		cb_run_batch(&batch);

	for (i = 0; i < n; i++)
	{
		CbRun	   *run = &batch.runs[i];

		if (!run->startable)
		{
			all_ok = false;		/* results[i] says why already */
			continue;
		}
		if (run->timed_out)
			cb_tail_add(&run->out, psprintf("stopped after a timeout of %d ms",
											run->timeout_ms));
		cb_fill_result(&results[i], run->status, run->exited);
		if (run->exited && !run->timed_out && WIFSIGNALED(run->status) &&
			cb_signal_from_outside(WTERMSIG(run->status)))
			cb_children_killed++;
		results[i].timed_out = run->timed_out;
		results[i].tail = cb_tail_join(&run->out);
		if (!(run->exited && !run->timed_out && WIFEXITED(run->status) &&
			  WEXITSTATUS(run->status) == 0))
			all_ok = false;
	}
	return all_ok;
}

bool
cb_run_child(const CbChildOptions *opts, CbChildResult *result)
{
	CbChildResult local_result;

	return cb_run_children(1, opts, result ? result : &local_result);
}

bool
cb_run(const char *const *argv, CbChildResult *result)
{
	CbChildOptions opts;

	memset(&opts, 0, sizeof(opts));
	opts.argv = argv;
	opts.new_session = true;
	return cb_run_child(&opts, result);
}

/* nftw callback: files and symlinks unlinked, directories after contents */
static int
cb_rmtree_entry(const char *path, const struct stat *sb, int typeflag,
				struct FTW *ftwbuf)
{
	int			r;

	if (typeflag == FTW_DP || typeflag == FTW_D)
		r = rmdir(path);
	else if (typeflag == FTW_DNR)
		r = rmdir(path);		/* fails with a useful errno if not empty */
	else
		r = unlink(path);

	if (r != 0 && errno == ENOENT)
		return 0;				/* removed concurrently: fine */
	return r;
}

bool
cb_rmtree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT;

	/* a symlink (e.g. a pg_wal link) is removed, not what it points to */
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 || errno == ENOENT;

	/* FTW_PHYS: never follow symlinks; FTW_DEPTH: contents first */
	return nftw(path, cb_rmtree_entry, 16, FTW_PHYS | FTW_DEPTH) == 0;
}
