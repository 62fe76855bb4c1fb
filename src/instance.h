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

#include "cluster.h"

/* the postmaster's pid if one runs on pgdata, else 0 */
extern int	cb_instance_pid(const char *pgdata);
extern void cb_instance_start(CbCluster *c, CbInstance *inst);
extern void cb_instances_start(CbCluster *c, CbInstance **insts, int n);
/* mode: "fast" or "immediate"; no-op if not running */
extern void cb_instance_stop(CbCluster *c, const char *pgdata, const char *mode);
/*
 * A data directory is made in <pgdata>.tmp and moved in place only when
 * complete.  fresh_tmp stops whatever runs on the instance and removes both
 * directories (a half-made copy is never reused) and returns the tmp path;
 * install_tmp renames it durably.
 */
extern char *cb_instance_fresh_tmp(CbCluster *c, CbInstance *inst);
extern void cb_instance_install_tmp(CbInstance *inst);

/* options for a tool run on behalf of an instance, logged to its bootstrap.log */
struct CbChildOptions;
extern void cb_instance_child_options(CbInstance *inst, const char *tool,
									  const char **argv, struct CbChildOptions *opts);

/* a tool of the cluster's bindir */
extern char *cb_tool(CbCluster *c, const char *tool);

#endif							/* CB_INSTANCE_H */
