/*-------------------------------------------------------------------------
 *
 * faultinject.c
 *	  Test-only fault injection: cnpg_bootstrap.fault_injection names one
 *	  point of a plan, '<step>:<when>:<kind>[:<tag>]', and the worker that
 *	  reaches it does the fault once:
 *
 *	  when  start | middle | end of the named step; middle is the first
 *	        moment a child tool of the step has run 200 ms, or the step's
 *	        first progress report, whichever comes first
 *	  kind  kill-control    kill -9 of the control postmaster
 *	        stop-immediate  SIGQUIT to it (pg_ctl stop -m immediate)
 *	        kill-worker     kill -9 of this worker
 *	        term-worker     SIGTERM to this worker
 *	        kill-child      kill -9 of the child tool that runs (middle)
 *	        kill-target     kill -9 of the primary's postmaster
 *	        kill-wal-program  the next WAL program the primary's
 *	                        restore_command runs kills itself with SIGKILL
 *	  tag   anything: a new tag makes the same point fire again
 *
 *	  A fault fires once per value: the value is written (and synced) to
 *	  <control PGDATA>/cnpg_bootstrap_fault.fired before the fault, and a
 *	  value found there never fires again, so the worker that redoes the
 *	  step after the fault runs through.  Empty, the default, makes every
 *	  call here return at once.  Superuser only; it exists for the fault
 *	  matrix (t/022_faults.pl, bench/faults.sh).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/fd.h"
#include "utils/guc.h"

#include "faultinject.h"
#include "fsutil.h"
#include "instance.h"
#include "process.h"
#include "walspool.h"

#define CB_FAULT_FIRED_FILE	"cnpg_bootstrap_fault.fired"
#define CB_FAULT_CHILD_MS	200

char	   *cb_fault_injection = NULL;

typedef enum CbFaultKind
{
	CB_FAULT_KILL_CONTROL,
	CB_FAULT_STOP_IMMEDIATE,
	CB_FAULT_KILL_WORKER,
	CB_FAULT_TERM_WORKER,
	CB_FAULT_KILL_CHILD,
	CB_FAULT_KILL_TARGET,
	CB_FAULT_KILL_WAL_PROGRAM
} CbFaultKind;

static const char *const kind_names[] = {
	"kill-control", "stop-immediate", "kill-worker", "term-worker",
	"kill-child", "kill-target", "kill-wal-program"
};

static const char *const when_names[] = {"start", "middle", "end"};

typedef struct CbFault
{
	char		step[64];
	CbFaultWhen when;
	CbFaultKind kind;
} CbFault;

/* the step the plan is in, for the middle point */
static CbCluster *cur_cluster;
static char cur_step[64];
static bool middle_done;

static bool
parse_fault(const char *value, CbFault *f)
{
	char	   *copy = pstrdup(value);
	char	   *step = copy;
	char	   *when;
	char	   *kind;
	char	   *tag;
	size_t		i;

	if ((when = strchr(step, ':')) == NULL)
		return false;
	*when++ = '\0';
	if ((kind = strchr(when, ':')) == NULL)
		return false;
	*kind++ = '\0';
	if ((tag = strchr(kind, ':')) != NULL)
		*tag = '\0';
	if (step[0] == '\0' || strlen(step) >= sizeof(f->step))
		return false;
	strlcpy(f->step, step, sizeof(f->step));
	for (i = 0; i < lengthof(when_names); i++)
		if (strcmp(when, when_names[i]) == 0)
			break;
	if (i == lengthof(when_names))
		return false;
	f->when = (CbFaultWhen) i;
	for (i = 0; i < lengthof(kind_names); i++)
		if (strcmp(kind, kind_names[i]) == 0)
			break;
	if (i == lengthof(kind_names))
		return false;
	f->kind = (CbFaultKind) i;
	return true;
}

bool
cb_fault_check(char **newval, void **extra, GucSource source)
{
	CbFault		f;

	if (*newval == NULL || **newval == '\0' || parse_fault(*newval, &f))
		return true;
	GUC_check_errdetail("Expected \"<step>:<start|middle|end>:<kill-control|stop-immediate|kill-worker|term-worker|kill-child|kill-target|kill-wal-program>[:<tag>]\".");
	return false;
}

/* true once: this value has not fired yet, and is now recorded as fired */
static bool
claim_once(const char *value)
{
	char	   *path = psprintf("%s/%s", DataDir, CB_FAULT_FIRED_FILE);
	char	   *old = cb_read_file(path, NULL);
	int			fd;
	ssize_t		n;

	if (old != NULL && strcmp(old, value) == 0)
		return false;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return false;
	n = write(fd, value, strlen(value));
	(void) pg_fsync(fd);
	close(fd);
	return n == (ssize_t) strlen(value);
}

/*
 * Arm the kill of the WAL program: the next restore_command of the primary
 * finds the marker in its spool, removes it and dies by SIGKILL (a WAL
 * program is short-lived: waiting to catch one running would be luck).
 */
static bool
arm_wal_program_kill(void)
{
	char	   *spool;
	int			fd;

	if (cur_cluster == NULL || cur_cluster->ninstances == 0)
		return false;
	spool = psprintf("%s/%s/%s", cur_cluster->instances[0].dir, CB_WALSPOOL_DIR,
					 CB_WALSPOOL_SPOOL);
	fd = open(psprintf("%s/%s", spool, CB_WALSPOOL_FAULT_KILL),
			  O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* do the fault, once per value; true when it is done */
static bool
fire(const CbFault *f, pid_t child)
{
	pid_t		target = 0;
	const char *note = NULL;

	if (!claim_once(cb_fault_injection))
		return true;
	switch (f->kind)
	{
		case CB_FAULT_KILL_CONTROL:
		case CB_FAULT_STOP_IMMEDIATE:
			target = PostmasterPid;
			break;
		case CB_FAULT_KILL_WORKER:
		case CB_FAULT_TERM_WORKER:
			target = MyProcPid;
			break;
		case CB_FAULT_KILL_CHILD:
			target = child;
			break;
		case CB_FAULT_KILL_WAL_PROGRAM:
			/* the program kills itself: nothing for us to signal */
			note = arm_wal_program_kill() ? " (armed)" : " (no WAL spool)";
			break;
		case CB_FAULT_KILL_TARGET:
			if (cur_cluster && cur_cluster->ninstances > 0 &&
				cur_cluster->instances[0].pgdata)
				target = cb_instance_pid(cur_cluster->instances[0].pgdata);
			break;
	}
	ereport(LOG,
			(errmsg("cnpg_bootstrap: fault injection: %s at the %s of step \"%s\"%s",
					kind_names[f->kind], when_names[f->when], f->step,
					note ? note : target > 0 ? "" : " (nothing to signal)")));
	if (target <= 0)
		return true;
	(void) kill(target, (f->kind == CB_FAULT_STOP_IMMEDIATE) ? SIGQUIT :
				(f->kind == CB_FAULT_TERM_WORKER) ? SIGTERM : SIGKILL);
	if (target == MyProcPid)
		CHECK_FOR_INTERRUPTS();
	return true;
}

/* the middle: a child of the current step has run a while, or it reports */
static void
middle_point(pid_t child)
{
	CbFault		f;

	if (middle_done || cur_step[0] == '\0' || cb_fault_injection == NULL ||
		cb_fault_injection[0] == '\0' || !parse_fault(cb_fault_injection, &f) ||
		f.when != CB_FAULT_MIDDLE || strcmp(f.step, cur_step) != 0)
		return;
	/* a child is killed only while it is known to run */
	if (f.kind == CB_FAULT_KILL_CHILD && child <= 0)
		return;
	middle_done = fire(&f, child);
}

static void
child_running(pid_t pid, long elapsed_ms)
{
	if (elapsed_ms >= CB_FAULT_CHILD_MS)
		middle_point(pid);
}

void
cb_fault_point(CbCluster *c, const char *step, CbFaultWhen when)
{
	CbFault		f;

	if (cb_fault_injection == NULL || cb_fault_injection[0] == '\0')
		return;
	if (when == CB_FAULT_START)
	{
		cur_cluster = c;
		strlcpy(cur_step, step, sizeof(cur_step));
		middle_done = false;
		cb_child_running_hook = child_running;
	}
	if (when == CB_FAULT_MIDDLE)
	{
		middle_point(0);
		return;
	}
	if (parse_fault(cb_fault_injection, &f) && f.when == when &&
		strcmp(f.step, step) == 0)
		(void) fire(&f, 0);
}

void
cb_fault_step_done(void)
{
	cur_cluster = NULL;
	cur_step[0] = '\0';
	cb_child_running_hook = NULL;
}
