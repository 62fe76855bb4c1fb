/*-------------------------------------------------------------------------
 *
 * instance.h
 *	  The life of one target instance: start, stop, is it running, wait
 *	  until it accepts connections (pg_ctl as a detached daemon).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_INSTANCE_H
#define CB_INSTANCE_H

#include "reconcile.h"

/* the postmaster's pid if one runs on pgdata, else 0 */
extern int	cb_instance_pid(const char *pgdata);
extern void cb_instance_start(CbCluster *c, CbInstance *inst);
/* mode: "fast" or "immediate"; no-op if not running */
extern void cb_instance_stop(CbCluster *c, const char *pgdata, const char *mode);
/* a tool of the cluster's bindir */
extern char *cb_tool(CbCluster *c, const char *tool);

#endif							/* CB_INSTANCE_H */
