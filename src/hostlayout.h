/*-------------------------------------------------------------------------
 *
 * hostlayout.h
 *	  Where a cluster lives on the host: directories, binaries, free space
 *	  (the file helpers are fsutil.h's).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_HOSTLAYOUT_H
#define CB_HOSTLAYOUT_H

#include "cluster.h"

/* fill dirs and instances of c from the GUCs; ereport(ERROR) if unsafe */
extern void cb_layout_init(CbCluster *c);
/* create <cluster>/ (with our ownership marker, or check it), run/, certs/ and
 * each instance's dir and log/ (0700) */
extern void cb_layout_create(CbCluster *c);
/* resolve cnpg_bootstrap.bindir for the spec and learn the binaries' major */
extern void cb_resolve_bindir(CbCluster *c);
/* (storage.size + walStorage.size) x instances against data_root's free space */
extern void cb_check_free_space(CbCluster *c);

#endif							/* CB_HOSTLAYOUT_H */
