/*-------------------------------------------------------------------------
 *
 * faultinject.h
 *	  Test-only fault injection at the named steps of a plan
 *	  (cnpg_bootstrap.fault_injection = '<step>:<when>:<kind>'; empty, the
 *	  default, makes every call here a no-op).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_FAULTINJECT_H
#define CB_FAULTINJECT_H

#include "cluster.h"
#include "utils/guc.h"

typedef enum CbFaultWhen
{
	CB_FAULT_START,				/* before the step's work */
	CB_FAULT_MIDDLE,			/* while a child tool of the step runs */
	CB_FAULT_END				/* after the work, before it is journaled done */
} CbFaultWhen;

extern char *cb_fault_injection;

/* GUC check hook: the value parses, or it is empty */
extern bool cb_fault_check(char **newval, void **extra, GucSource source);

/* the plan enters a step (sets the step the middle point belongs to) */
extern void cb_fault_point(CbCluster *c, const char *step, CbFaultWhen when);
/* the plan left the step, whatever its outcome */
extern void cb_fault_step_done(void);

#endif							/* CB_FAULTINJECT_H */
