/*-------------------------------------------------------------------------
 *
 * environment.h
 *	  Which failures of a step are the host's (a full disk, no free port, a
 *	  missing tool, a directory the worker may not write, a source or an
 *	  object store that does not answer) rather than the spec's: the plan
 *	  keeps the cluster waiting and retries by itself once they are fixed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_ENVIRONMENT_H
#define CB_ENVIRONMENT_H

#include "cluster.h"

/* the reason to show, naming the resource; NULL if the spec is at fault */
extern char *cb_environment_cause(CbCluster *c, const ErrorData *edata);

#endif							/* CB_ENVIRONMENT_H */
