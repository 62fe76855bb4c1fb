/*-------------------------------------------------------------------------
 *
 * procstat.h
 *	  What /proc/<pid>/stat says about a process (procstat.c): the one
 *	  parser behind the child record (childreg.c) and the postmaster checks
 *	  of the instance toolkit (instance.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_PROCSTAT_H
#define CB_PROCSTAT_H

#include <sys/types.h>

typedef struct CbProcStat
{
	char		state;			/* field 3: 'R', 'S', 'Z' (zombie) ... */
	pid_t		ppid;			/* field 4 */
	pid_t		pgrp;			/* field 5: process group */
	pid_t		session;		/* field 6 */
	unsigned long long start;	/* field 22: start time, clock ticks since boot */
} CbProcStat;

/*
 * Read /proc/<pid>/stat.  False when the process is not there (or its stat
 * cannot be parsed); never throws, allocates nothing.
 */
extern bool cb_proc_stat(pid_t pid, CbProcStat *ps);

#endif							/* CB_PROCSTAT_H */
