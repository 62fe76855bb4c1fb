/*-------------------------------------------------------------------------
 *
 * process.c
 *	  Child processes of a background worker: initdb, pg_ctl,
 *	  pg_basebackup, pg_dump ... run with fork + execve, an explicit argv
 *	  and a scrubbed environment, never through a shell.
 *
 * The worker must stay responsive while a child runs: its output pipe is
 * watched together with the worker's latch, CHECK_FOR_INTERRUPTS() runs on
 * every wake-up, and whatever ends the wait early (SIGTERM -> FATAL, an
 * ERROR, postmaster death) first stops the child's process group and reaps
 * it.  An ERROR is handled by PG_FINALLY; a FATAL never returns through our
 * frames, so an on_proc_exit callback holding the current child's pid does
 * the same there.
 *
 * What the child must not inherit from a postmaster child (each item was
 * seen in practice, see ci-notes.md): the postmaster's process group (fast
 * shutdown signals the whole group), ignored or blocked signals (exec keeps
 * SIG_IGN and the mask), descriptors without CLOEXEC (log pipe, postmaster
 * death pipe, relation files) and the environment (PGDATA of the control
 * instance, PGHOST, LC_* ...).
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

#include "cnpg_bootstrap.h"
#include "process.h"

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
 * The child being waited for, so that the exit callback can stop it when
 * the worker exits without unwinding our frames (FATAL, postmaster death).
 * Zero when none.  Only one child at a time.
 */
static volatile pid_t current_child_pid = 0;
static volatile bool current_child_group = false;
static bool exit_callback_registered = false;

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

/* one run of a child, shared by the steps of cb_run_child */
typedef struct CbRun
{
	const char *prog;
	bool		group;			/* the child leads its own process group */
	int			timeout_ms;
	pid_t		pid;
	int			pipe_fd;		/* read end of the output pipe, or -1 */
	struct sigaction old_chld;
	bool		chld_changed;	/* SIGCHLD disposition to restore */
	int			status;
	bool		exited;
	bool		timed_out;
	CbOutput	out;
} CbRun;

static void cb_child_exec(char *const *argv, char *const *envp,
						  const char *cwd, int out_fd, bool new_session,
						  long maxfd, const char *exec_fail_msg)
			pg_attribute_noreturn();
static bool cb_stop_child(pid_t pid, bool group, int *status);
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
			  int out_fd, bool new_session, long maxfd,
			  const char *exec_fail_msg)
{
	struct sigaction sa;
	sigset_t	empty;
	int			devnull;
	int			sig;
	int			err;

	/*
	 * Leave the postmaster's process group, or a fast shutdown of the
	 * control instance would signal a daemon we start (pg_ctl start does this
	 * itself, initdb and pg_basebackup benefit too).
	 */
	if (new_session)
		(void) setsid();

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

	devnull = open("/dev/null", O_RDONLY);
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
 * Stop a child (and, with group, its whole process group): SIGTERM, then
 * SIGKILL after the grace period; reap it.  Returns true if reaped, with its
 * wait status in *status.  Used from error and exit paths, so it never
 * throws.
 */
static bool
cb_stop_child(pid_t pid, bool group, int *status)
{
	pid_t		target = group ? -pid : pid;
	int			waited;

	(void) kill(target, SIGTERM);
	if (group)
		(void) kill(target, SIGCONT);	/* a stopped group cannot exit */

	for (waited = 0; waited <= CB_CHILD_TERM_GRACE_MS + CB_CHILD_KILL_WAIT_MS;
		 waited += 10)
	{
		pid_t		r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
		{
			/* stragglers of the group that ignored SIGTERM */
			if (group && kill(target, 0) == 0)
			{
				pg_usleep(Max(CB_CHILD_TERM_GRACE_MS - waited, 0) * 1000L);
				(void) kill(target, SIGKILL);
			}
			return r == pid;
		}
		if (waited == CB_CHILD_TERM_GRACE_MS)
			(void) kill(target, SIGKILL);
		pg_usleep(10 * 1000L);
	}
	return false;
}

/* exit callback: a FATAL or postmaster death while a child runs */
static void
cb_child_exit_callback(int code, Datum arg)
{
	pid_t		pid = current_child_pid;
	int			status;

	if (pid != 0)
	{
		current_child_pid = 0;
		(void) cb_stop_child(pid, current_child_group, &status);
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
 * Wait for the child: read its output, reap it, honour the timeout and the
 * worker's interrupts.  Runs inside PG_TRY: the state lives in *run, whose
 * address is taken, so nothing is lost to longjmp.
 */
static void
cb_wait_child(CbRun *run)
{
	bool		eof = false;
	char		buf[8192];
	TimestampTz start_time = GetCurrentTimestamp();

	for (;;)
	{
		int			events;
		long		wait_ms = CB_CHILD_POLL_MS;
		int			rc;
		pid_t		r;

		/* read what is there */
		while (!eof)
		{
			ssize_t		n = read(run->pipe_fd, buf, sizeof(buf));

			if (n > 0)
				cb_output_bytes(&run->out, buf, n);
			else if (n == 0)
				eof = true;
			else if (errno == EINTR)
				continue;
			else if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			else
			{
				ereport(WARNING,
						(errcode_for_file_access(),
						 errmsg("could not read the output of \"%s\": %m",
								run->prog)));
				eof = true;
			}
		}

		/*
		 * Reap.  Once the child is gone we stop at once, even if the pipe is
		 * still open: a daemon it started may hold it for ever.
		 */
		r = waitpid(run->pid, &run->status, WNOHANG);
		if (r == run->pid)
		{
			run->exited = true;
			current_child_pid = 0;
			/* output written just before exiting */
			while (!eof)
			{
				ssize_t		n = read(run->pipe_fd, buf, sizeof(buf));

				if (n > 0)
					cb_output_bytes(&run->out, buf, n);
				else if (n < 0 && errno == EINTR)
					continue;
				else
					break;
			}
			break;
		}
		if (r < 0 && errno != EINTR)
			elog(ERROR, "waitpid failed for child process %d: %m",
				 (int) run->pid);

		if (run->timeout_ms > 0)
		{
			long		elapsed = TimestampDifferenceMilliseconds(start_time,
																  GetCurrentTimestamp());

			if (elapsed >= run->timeout_ms)
			{
				run->timed_out = true;
				run->exited = cb_stop_child(run->pid, run->group, &run->status);
				current_child_pid = 0;
				ereport(LOG,
						(errmsg("%s: stopped after a timeout of %d ms",
								run->out.prefix, run->timeout_ms),
						 errhidestmt(true)));
				break;
			}
			wait_ms = Min(wait_ms, run->timeout_ms - elapsed);
		}

		/*
		 * SIGCHLD does not set the latch, hence the short timeout: it is how
		 * a child that exits without closing the pipe is noticed.
		 */
		events = WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH;
		if (!eof)
			events |= WL_SOCKET_READABLE;
		rc = WaitLatchOrSocket(MyLatch, events,
							   eof ? PGINVALID_SOCKET : run->pipe_fd,
							   wait_ms, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	cb_output_flush(&run->out);
}

/* after the wait, normal or not: no child left behind, no fd leaked */
static void
cb_run_cleanup(CbRun *run)
{
	/*
	 * current_child_pid stays set until the child is reaped: a FATAL from a
	 * signal handler (bgworker_die) meanwhile must still find it.
	 */
	if (current_child_pid != 0)
	{
		int			stop_status;

		(void) cb_stop_child(current_child_pid, current_child_group,
							 &stop_status);
		current_child_pid = 0;
	}
	if (run->pipe_fd >= 0)
		close(run->pipe_fd);
	run->pipe_fd = -1;
	if (run->out.log_fd >= 0)
		close(run->out.log_fd);
	run->out.log_fd = -1;
	if (run->chld_changed)
		(void) sigaction(SIGCHLD, &run->old_chld, NULL);
	run->chld_changed = false;
}

/*
 * Fork and exec.  Everything the child needs is built before the fork; on
 * return the child runs and current_child_pid names it.
 */
static void
cb_start_child(CbRun *run, const CbChildOptions *opts, const char *cwd,
			   const char *cmdline)
{
	const char *prog = run->prog;
	char	   *bindir;
	char	   *slash;
	char	  **argv;
	char	  **envp;
	char	   *exec_fail_msg;
	int			nargs = 0;
	int			i;
	int			pipefd[2];
	long		maxfd;
	pid_t		pid;
	int			fork_errno;
	sigset_t	block_all;
	sigset_t	old_mask;

	while (opts->argv[nargs])
		nargs++;
	argv = palloc(sizeof(char *) * (nargs + 1));
	for (i = 0; i < nargs; i++)
		argv[i] = pstrdup(opts->argv[i]);
	argv[nargs] = NULL;

	bindir = pstrdup(prog);
	slash = strrchr(bindir, '/');
	*slash = '\0';
	/* nothing to add for a program in /, /usr/bin or /bin */
	if (bindir[0] == '\0' || strcmp(bindir, "/usr/bin") == 0 ||
		strcmp(bindir, "/bin") == 0)
		bindir = NULL;
	envp = cb_build_env(bindir, cwd, opts->extra_env);
	exec_fail_msg = psprintf("could not execute \"%s\": errno ", prog);

	maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd <= 0 || maxfd > 65536)
		maxfd = 65536;

	if (opts->log_file)
	{
		char	   *header;

		run->out.log_fd = open(opts->log_file,
							   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
							   S_IRUSR | S_IWUSR);
		if (run->out.log_fd < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open log file \"%s\": %m",
							opts->log_file)));
		/* a header, so that runs appended to one file can be told apart */
		header = psprintf("---- %s\n", cmdline);
		if (write(run->out.log_fd, header, strlen(header)) < 0)
			run->out.log_write_failed = true;
		pfree(header);
	}

	if (pipe2(pipefd, O_CLOEXEC) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create a pipe for \"%s\": %m", prog)));
	run->pipe_fd = pipefd[0];
	if (fcntl(pipefd[0], F_SETFL, O_NONBLOCK) != 0)
	{
		int			save_errno = errno;

		close(pipefd[1]);
		errno = save_errno;
		elog(ERROR, "could not make a pipe non-blocking: %m");
	}

	if (!exit_callback_registered)
	{
		on_proc_exit(cb_child_exit_callback, (Datum) 0);
		exit_callback_registered = true;
	}

	/*
	 * waitpid() needs SIGCHLD not to be ignored (an ignored SIGCHLD makes the
	 * kernel reap children itself).
	 */
	if (sigaction(SIGCHLD, NULL, &run->old_chld) == 0 &&
		(run->old_chld.sa_handler == SIG_IGN ||
		 (run->old_chld.sa_flags & SA_NOCLDWAIT)))
	{
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		(void) sigaction(SIGCHLD, &dfl, NULL);
		run->chld_changed = true;
	}

	/*
	 * Block every signal across the fork: the child must not run a backend
	 * signal handler before it has reset them, and in the parent a SIGTERM
	 * must not end the worker before current_child_pid names the child.
	 */
	sigfillset(&block_all);
	sigprocmask(SIG_SETMASK, &block_all, &old_mask);
	pid = fork();
	if (pid == 0)
		cb_child_exec(argv, envp, cwd, pipefd[1], opts->new_session, maxfd,
					  exec_fail_msg);
	fork_errno = errno;
	if (pid > 0)
	{
		run->pid = pid;
		current_child_group = run->group;
		current_child_pid = pid;
	}
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	close(pipefd[1]);

	if (pid < 0)
	{
		errno = fork_errno;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not fork a child process for \"%s\": %m",
						prog)));
	}
}

static bool
cb_run_child_internal(const CbChildOptions *opts, CbChildResult *result)
{
	CbRun		run;
	const char *cwd;
	StringInfoData cmdline;
	int			i;

	memset(result, 0, sizeof(*result));

	if (opts == NULL || opts->argv == NULL || opts->argv[0] == NULL ||
		opts->argv[0][0] != '/')
		elog(ERROR, "a child process needs an absolute program path");
	if (current_child_pid != 0)
		elog(ERROR, "a child process is already running in this worker");

	memset(&run, 0, sizeof(run));
	run.prog = opts->argv[0];
	run.group = opts->new_session;
	run.timeout_ms = opts->timeout_ms;
	run.pipe_fd = -1;
	run.out.log_fd = -1;
	run.out.prefix = opts->log_prefix ? opts->log_prefix :
		(strrchr(run.prog, '/') + 1);
	run.out.tail_size = opts->tail_lines > 0 ? opts->tail_lines :
		CB_DEFAULT_TAIL_LINES;
	run.out.tail = palloc0(sizeof(char *) * run.out.tail_size);
	run.out.on_line = opts->on_line;
	run.out.on_line_arg = opts->on_line_arg;
	initStringInfo(&run.out.line);

	cwd = opts->cwd;
	if (cwd == NULL)
	{
		struct stat st;

		/* data_root until it exists (the first steps create it), else / */
		if (cb_data_root && cb_data_root[0] == '/' &&
			stat(cb_data_root, &st) == 0 && S_ISDIR(st.st_mode))
			cwd = cb_data_root;
		else
			cwd = "/";
	}

	initStringInfo(&cmdline);
	for (i = 0; opts->argv[i]; i++)
	{
		if (i > 0)
			appendStringInfoChar(&cmdline, ' ');
		appendStringInfoString(&cmdline, opts->argv[i]);
	}

	/*
	 * argv is public anyway (ps shows it), and knowing what ran is what a DBA
	 * needs first; the environment is not logged.
	 */
	ereport(LOG,
			(errmsg_internal("%s: running %s", run.out.prefix, cmdline.data),
			 errhidestmt(true)));

	/* a clear message for the commonest failure, before forking */
	if (access(run.prog, X_OK) != 0)
	{
		char	   *msg = psprintf("could not execute \"%s\": %m", run.prog);

		ereport(LOG, (errmsg_internal("%s: %s", run.out.prefix, msg),
					  errhidestmt(true)));
		result->exit_code = 127;
		result->tail = msg;
		return false;
	}

	PG_TRY();
	{
		cb_start_child(&run, opts, cwd, cmdline.data);
		cb_wait_child(&run);
	}
	PG_FINALLY();
	{
		/* an ERROR on the way: the child must not outlive this call */
		cb_run_cleanup(&run);
	}
	PG_END_TRY();

	if (run.timed_out)
		cb_tail_add(&run.out, psprintf("stopped after a timeout of %d ms",
									   run.timeout_ms));
	cb_fill_result(result, run.status, run.exited);
	result->timed_out = run.timed_out;
	result->tail = cb_tail_join(&run.out);

	return run.exited && !run.timed_out && WIFEXITED(run.status) &&
		WEXITSTATUS(run.status) == 0;
}

bool
cb_run_child(const CbChildOptions *opts, CbChildResult *result)
{
	CbChildResult local_result;

	return cb_run_child_internal(opts, result ? result : &local_result);
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
