/*-------------------------------------------------------------------------
 *
 * status.h
 *	  What the worker records: phases, instances, the step journal,
 *	  ports, teardown requests (status.c).  Every call is its own short
 *	  transaction (worker processes only).
 *	  The methods reach the step journal and the phase through journal.h;
 *	  cb_status_journal() binds that interface to these functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_STATUS_H
#define CB_STATUS_H

#include "postgres.h"

#include "nodes/pg_list.h"

#include "journal.h"

/* a journal (journal.h) that writes these tables for cluster */
extern void cb_status_journal(CbJournal *j, const char *cluster);

extern CbStepState cb_step_state(const char *cluster, const char *step,
								 const char *instance);
/* false when the cluster is gone (deleted meanwhile) */
extern bool cb_step_begin(const char *cluster, const char *step,
						  const char *instance);
extern void cb_step_finish(const char *cluster, const char *step,
						   const char *instance, bool ok, const char *detail);
extern void cb_step_forget(const char *cluster, const char *step);
extern void cb_step_forget_instance(const char *cluster, const char *step,
									const char *instance);

extern bool cb_status_phase(const char *cluster, const char *phase,
							const char *reason);
extern void cb_status_mark_bootstrapped(const char *cluster);
extern void cb_status_progress(const char *cluster, const char *progress);

/*
 * ports.c's statements (cb_status_instance_port() there chooses): the
 * port recorded for an instance, -1 if none; record port for it unless
 * another instance or a pending teardown holds it (false then)
 */
extern int	cb_status_recorded_port(const char *cluster, const char *instance);
extern bool cb_status_claim_port(const char *cluster, const char *instance,
								 int serial, const char *data_directory, int port);
extern void cb_status_instance(const char *cluster, const char *instance,
							   const char *role, const char *status, int pid,
							   int timeline, const char *lsn, const char *lag_bytes);
extern void cb_status_ready(const char *cluster, int ready, const char *primary,
							const char *rw_host, int rw_port);

/* teardown requests */
extern bool cb_status_teardown_pending(const char *cluster, char **directory);
extern void cb_status_teardown_done(const char *cluster);
/* keep the row and say why nothing was stopped or removed */
extern void cb_status_teardown_refused(const char *cluster, const char *reason);

/* after bootstrap: supervision (supervise.c) and the lifecycle (lifecycle.c) */
typedef struct CbWatched
{
	char	   *cluster;
	char	   *instance;
	char	   *role;			/* "primary" or "replica" */
	char	   *pgdata;
} CbWatched;

typedef enum CbRestartState
{
	CB_RESTART_NONE,			/* none scheduled */
	CB_RESTART_DUE,				/* scheduled, and its time has come */
	CB_RESTART_LATER			/* scheduled for later */
} CbRestartState;

extern List *cb_status_watched_instances(void);
extern void cb_status_instance_down(const char *cluster, const char *instance,
									const char *status, const char *phase,
									const char *reason, const char *last_exit);
extern void cb_status_observed(const char *cluster, int generation);
extern CbRestartState cb_status_restart_state(const char *cluster, const char *instance,
											  int *quick_failures, bool *recent);
extern void cb_status_restart_later(const char *cluster, const char *instance,
									int quick_failures, int delay_s, const char *last_exit);
extern void cb_status_restarting(const char *cluster, const char *instance,
								 int quick_failures);
extern List *cb_status_instances_beyond(const char *cluster, int n);
extern void cb_status_forget_instance(const char *cluster, const char *instance);

#endif							/* CB_STATUS_H */
