/*-------------------------------------------------------------------------
 *
 * reconcile.h
 *	  The plan of named, idempotent steps that turns a stored Cluster into
 *	  running instances (the runtime picture the steps share is cluster.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_RECONCILE_H
#define CB_RECONCILE_H

#include "postgres.h"

#include "cluster.h"

/* worker entry: teardown and/or reconcile one cluster, then return */
extern void cb_reconcile_cluster(const char *name);

#endif							/* CB_RECONCILE_H */
