/*-------------------------------------------------------------------------
 *
 * childreg.h
 *	  The durable record of a cluster worker's children (initdb, pg_ctl,
 *	  pg_basebackup, pg_dump ...), so that a worker restarted after its
 *	  predecessor was killed (SIGKILL, the OOM killer, a crash of the
 *	  control instance) stops what is left of them before any redo.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_CHILDREG_H
#define CB_CHILDREG_H

#include "postgres.h"

#include <sys/types.h>

/*
 * The cluster whose children are recorded from now on: set by a cluster
 * worker once it has claimed its cluster (worker.c); NULL (the default, as
 * in a backend) records nothing.  ERROR unless a plain cluster name.
 */
extern void cb_childreg_set_scope(const char *cluster);

/*
 * Record a child that was just forked and has not run anything yet: its pid,
 * its start time (field 22 of /proc/<pid>/stat, so that a recycled pid is
 * never taken for it) and whether it leads its own session.  The record is
 * on disk (fsynced) when this returns; ERROR if it cannot be, and then the
 * child must not be let run.  Does nothing while no scope is set.
 */
extern void cb_childreg_add(pid_t pid, bool own_session);

/* forget a child that was reaped; never throws (a failure is logged) */
extern void cb_childreg_remove(pid_t pid);

/*
 * At the start of a cluster's worker, before any step: every child recorded
 * by an earlier worker of the cluster that still runs, with the recorded
 * start time, is stopped with SIGKILL (its whole process group when it
 * leads one) and waited for; then the record is removed.  ERROR if
 * something of theirs is still there after the wait: nothing may be redone
 * while it runs.
 */
extern void cb_childreg_stop_leftovers(const char *cluster);

#endif							/* CB_CHILDREG_H */
