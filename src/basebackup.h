/*-------------------------------------------------------------------------
 *
 * basebackup.h
 *	  The pg_basebackup bootstrap method: preflight checks on the source,
 *	  the clone, and the take-over of the copy as the new cluster's primary
 *	  (or as the designated primary of a replica cluster).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_BASEBACKUP_H
#define CB_BASEBACKUP_H

#include "external.h"
#include "cluster.h"

/* every requirement checked before anything is copied; ERROR names the one failing */
extern void cb_basebackup_preflight(CbCluster *c, const CbSource *src);
/* pg_basebackup into <pgdata>.tmp, renamed when complete; progress in status */
extern void cb_basebackup_clone(CbCluster *c, const CbSource *src);
/* our configuration on the copy: a new primary (recovery to a new timeline) or a replica */
extern void cb_basebackup_configure(CbCluster *c, const CbSource *src, bool replica);
/* wait until the new primary has left recovery, then drop the recovery settings */
extern void cb_wait_promoted(CbCluster *c);
/* a replica cluster's designated primary streams from its source */
extern void cb_wait_following_source(CbCluster *c);

#endif							/* CB_BASEBACKUP_H */
