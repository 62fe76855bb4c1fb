/*-------------------------------------------------------------------------
 *
 * replica.h
 *	  The recovery settings of a replica cluster's designated primary, from
 *	  spec.replica (the Bootstrap page's replica clusters).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_REPLICA_H
#define CB_REPLICA_H

#include "cluster.h"

/*
 * restore_command (if spec.replica.source has an object store, else
 * bootstrap_restore_command if not NULL), primary_conninfo (if it has
 * connectionParameters), the latest timeline and recovery_min_apply_delay,
 * as postgresql.conf lines
 */
extern char *cb_replica_recovery_conf(CbCluster *c, const char *bootstrap_restore_command);

#endif							/* CB_REPLICA_H */
