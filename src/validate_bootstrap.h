/*-------------------------------------------------------------------------
 *
 * validate_bootstrap.h
 *	  Bootstrap rules checked at apply where one host answers otherwise
 *	  than CloudNativePG on Kubernetes (issue 12): what the webhook accepts
 *	  but this host cannot do is refused, and what CloudNativePG ignores
 *	  silently is said in a NOTICE.  Called by validate.c; pure, like the
 *	  rest of the model (see model.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_VALIDATE_BOOTSTRAP_H
#define CB_VALIDATE_BOOTSTRAP_H

#include "model.h"
#include "validate_input.h"

/*
 * CloudNativePG's validateVolumeSnapshotSource: a VolumeSnapshot of
 * snapshot.storage.k8s.io or a core PersistentVolumeClaim
 */
extern bool cb_volume_snapshot_source_ok(const char *api_group, const char *kind);

/*
 * After CloudNativePG's webhook checks: volumeSnapshots, and a Backup
 * object together with a source, refused (reported as Forbidden).
 */
extern void cb_check_host_bootstrap(const CbClusterSpec *spec,
									CbInputReport report, void *arg);

/* the NOTICEs of a valid, defaulted Cluster, appended to doc->notes */
extern void cb_bootstrap_notes(const CbClusterSpec *spec, CbDocument *doc);

#endif							/* CB_VALIDATE_BOOTSTRAP_H */
