/*-------------------------------------------------------------------------
 *
 * journal.h
 *	  The progress and journal interface a bootstrap method reports to:
 *	  the phase and progress line of its cluster, and sub-steps that are
 *	  journaled one by one (a clone per standby, a database per import).
 *	  The plan hands each method a journal bound to the control instance's
 *	  status tables (cb_status_journal() in status.c); a method only sees
 *	  these callbacks, so it never reaches the catalog itself.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_JOURNAL_H
#define CB_JOURNAL_H

typedef enum CbStepState
{
	CB_STEP_NONE,
	CB_STEP_RUNNING,			/* begun, not finished: interrupted */
	CB_STEP_DONE,
	CB_STEP_FAILED
} CbStepState;

/* CloudNativePG's phase strings */
#define CB_PHASE_SETTING_UP		"Setting up primary"
#define CB_PHASE_NEW_REPLICA	"Creating a new replica"
#define CB_PHASE_WAITING		"Waiting for the instances to become active"
#define CB_PHASE_HEALTHY		"Cluster in healthy state"
#define CB_PHASE_FAILED			"Bootstrap failed"
/* after bootstrap (src/lifecycle.c, src/supervise.c) */
#define CB_PHASE_PRIMARY_RESTART "Primary instance is being restarted in-place"
#define CB_PHASE_APPLYING		"Applying configuration"
#define CB_PHASE_UPGRADING		"Upgrading cluster"
/* ours: CloudNativePG shows hibernation as a condition, not a phase */
#define CB_PHASE_HIBERNATED		"Cluster hibernated"

typedef struct CbJournal
{
	const char *cluster;		/* whose journal */

	/* a sub-step (instance NULL: the step as a whole) */
	CbStepState (*step_state) (const char *cluster, const char *step,
							   const char *instance);
	/* false when the cluster is gone (deleted meanwhile): stop */
	bool		(*step_begin) (const char *cluster, const char *step,
							   const char *instance);
	void		(*step_finish) (const char *cluster, const char *step,
								const char *instance, bool ok,
								const char *detail);

	/* the phase (CB_PHASE_*) and the reason shown with it */
	bool		(*phase) (const char *cluster, const char *phase,
						  const char *reason);
	/* the progress line; NULL clears it */
	void		(*progress) (const char *cluster, const char *progress);
	/* from here on the cluster's directory holds data of the bootstrap */
	void		(*mark_bootstrapped) (const char *cluster);
} CbJournal;

static inline CbStepState
cb_journal_step_state(const CbJournal *j, const char *step, const char *instance)
{
	return j->step_state(j->cluster, step, instance);
}

static inline bool
cb_journal_step_begin(const CbJournal *j, const char *step, const char *instance)
{
	return j->step_begin(j->cluster, step, instance);
}

static inline void
cb_journal_step_finish(const CbJournal *j, const char *step, const char *instance,
					   bool ok, const char *detail)
{
	j->step_finish(j->cluster, step, instance, ok, detail);
}

static inline void
cb_journal_phase(const CbJournal *j, const char *phase, const char *reason)
{
	(void) j->phase(j->cluster, phase, reason);
}

static inline void
cb_journal_progress(const CbJournal *j, const char *progress)
{
	j->progress(j->cluster, progress);
}

static inline void
cb_journal_mark_bootstrapped(const CbJournal *j)
{
	j->mark_bootstrapped(j->cluster);
}

#endif							/* CB_JOURNAL_H */
