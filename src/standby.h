/*-------------------------------------------------------------------------
 *
 * standby.h
 *	  Instances 2..N: streaming standbys cloned from the primary with
 *	  pg_basebackup over TLS with the replication certificate.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_STANDBY_H
#define CB_STANDBY_H

#include "cluster.h"

/* clone every standby whose clone is not journaled as done, in parallel */
extern void cb_standbys_ensure_slots(CbCluster *c);
extern void cb_standbys_clone(CbCluster *c);
/* start the standbys that are not running */
extern void cb_standbys_start(CbCluster *c);
/* wait until each standby streams (both ends agree); record state and lag */
extern void cb_standbys_wait_streaming(CbCluster *c);
/* the replication slot of an instance: lowercase(_cnpg_ + name), runs of [^a-z0-9_] -> _ */
extern char *cb_slot_name(const CbInstance *inst);

#endif							/* CB_STANDBY_H */
