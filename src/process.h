/*-------------------------------------------------------------------------
 *
 * process.h
 *	  Child processes of a background worker (initdb, pg_ctl, pg_basebackup,
 *	  pg_dump ...): fork + exec with an explicit argv and a scrubbed envp,
 *	  no shell, output read through a pipe watched together with the
 *	  worker's latch, so SIGTERM stops the worker and its child within a
 *	  second.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_PROCESS_H
#define CB_PROCESS_H

#include "postgres.h"

typedef struct CbChildResult
{
	int			exit_code;		/* exit status; -1 if killed by a signal */
	int			term_signal;	/* signal that killed it, 0 if none */
	char	   *tail;			/* last lines of its output (palloc'd) */
	bool		timed_out;		/* stopped by us after timeout_ms */
} CbChildResult;

/*
 * Optional per-line callback, e.g. to parse pg_basebackup's progress.  Called
 * for every complete output line (without the newline).
 */
typedef void (*CbLineCallback) (const char *line, void *arg);

typedef struct CbChildOptions
{
	const char *const *argv;	/* argv[0] is the full path of the program */
	const char *const *extra_env;	/* "KEY=value" items added to the scrubbed
									 * environment, NULL-terminated; may be NULL */
	const char *cwd;			/* working directory (and HOME); NULL = / */
	const char *stdin_path;		/* a file read as stdin; NULL = /dev/null */
	const char *log_prefix;		/* prefix for lines sent to the server log */
	const char *log_file;		/* if set, output is appended to this file too */
	int			timeout_ms;		/* 0 = none */
	int			tail_lines;		/* how many last lines to keep (default 20) */
	CbLineCallback on_line;
	void	   *on_line_arg;
	bool		new_session;	/* setsid() in the child (default true via
								 * cb_run_child; daemons must survive us) */
} CbChildOptions;

/*
 * Run a child to completion.  The scrubbed environment holds only
 * PATH=<bindir of argv[0]>:/usr/bin:/bin, LANG=C.UTF-8, LC_MESSAGES=C and
 * HOME (the cwd), plus extra_env (which may override those).  While waiting,
 * CHECK_FOR_INTERRUPTS() is called; on SIGTERM the child's process group is
 * sent SIGTERM (then SIGKILL after 500 ms) and the worker exits through the
 * usual die() path; an ERROR thrown while waiting (or by on_line) stops the
 * child the same way before it propagates.
 *
 * Returns true when the child exited with status 0.  A program that cannot
 * be executed gives false with exit_code 127 and the reason in the tail.
 * One call of cb_run_child or cb_run_children at a time per process (calling
 * either from on_line is an error).  result may be NULL.
 *
 * Callers' contract: argv is public (ps shows it to every local user, and it
 * is written to the server log), so a password must never be in argv; pass
 * it through a 0600 file (PGPASSFILE) or extra_env.  extra_env is never
 * logged.
 *
 * In a cluster worker every child is recorded durably (childreg.c: pid,
 * start time, session) before it runs anything: it waits on a pipe until
 * the record is on disk, and exits without running the program if the
 * worker dies first.  The record goes when the child is reaped, and the
 * next worker of the cluster kills whatever recorded child is still alive
 * (a worker killed by SIGKILL cannot stop its children itself).
 *
 * The child's stdout and stderr go to a pipe that is read until the child
 * exits; a daemon it leaves behind (pg_ctl start) must have its own log
 * (pg_ctl -l), because the pipe is closed once the child is reaped.
 */
extern bool cb_run_child(const CbChildOptions *opts, CbChildResult *result);

/*
 * Run n children at the same time (e.g. cloning two standbys with
 * pg_basebackup in parallel) and wait for all of them, watching every
 * output pipe and the latch in one WaitEventSet.  Same guarantees as
 * cb_run_child for each (scrubbed env, log lines with each child's own
 * log_prefix/log_file/on_line, tail, timeout per child); on SIGTERM/ERROR/
 * FATAL/postmaster death every still-running child's process group gets
 * SIGTERM then SIGKILL and is reaped.  Returns true when all exited 0;
 * results[i] is filled for each.
 *
 * A child that fails (or cannot be executed, or times out) does not stop
 * the others; the caller looks at each result.  Every opts[i] is checked
 * before anything starts, and a log file that cannot be opened is an ERROR
 * before any child is forked.  The children are stopped together, so a
 * SIGTERM of the worker ends within one grace period (500 ms) plus the
 * reaping however many run.  results may be NULL (only the overall outcome
 * is wanted).  cb_run_child(o, r) is cb_run_children(1, o, r).
 */
extern bool cb_run_children(int n, const CbChildOptions *opts,
							CbChildResult *results);

/* convenience: run argv with defaults; the tail is in result */
extern bool cb_run(const char *const *argv, CbChildResult *result);

/*
 * Remove a directory tree (no child process; symlinks are removed, never
 * followed).  A path that does not exist counts as removed.  Returns false
 * with errno set.
 */
extern bool cb_rmtree(const char *path);

/*
 * How many children of this process ended by a signal from outside (kill -9,
 * the OOM killer, SIGTERM by someone else), not stopped by us after a
 * timeout: the caller tells an interrupted tool from a failed one.
 */
extern uint64 cb_children_killed_count(void);

/*
 * Test hook (faultinject.c): called on every pass of the wait for each child
 * still running, with how long it has run.  NULL unless a fault is armed.
 */
extern void (*cb_child_running_hook) (pid_t pid, long elapsed_ms);

#endif							/* CB_PROCESS_H */
