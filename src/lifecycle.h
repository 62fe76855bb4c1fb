/*-------------------------------------------------------------------------
 *
 * lifecycle.h
 *	  After bootstrap: restarts, configuration applied again, scaling down,
 *	  standbys cloned again, hibernation (lifecycle.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_LIFECYCLE_H
#define CB_LIFECYCLE_H

#include "cluster.h"

extern void cb_lifecycle_restart_stopped(CbCluster *c);
extern bool cb_lifecycle_write_config(CbCluster *c);
extern void cb_lifecycle_apply_config(CbCluster *c, bool reload);
extern void cb_lifecycle_scale_down(CbCluster *c);
extern void cb_lifecycle_streaming(CbCluster *c);
extern void cb_lifecycle_hibernate(CbCluster *c);

#endif							/* CB_LIFECYCLE_H */
