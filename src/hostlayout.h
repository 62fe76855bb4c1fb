/*-------------------------------------------------------------------------
 *
 * hostlayout.h
 *	  Where a cluster lives on the host: directories, binaries, free space,
 *	  and small durable file helpers.
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

extern void cb_mkdir_p(const char *path);
/* write a whole file: temp name, fsync, rename; mode 0600 or 0644 */
extern void cb_write_file(const char *path, const char *content, size_t len,
						  mode_t mode);
extern void cb_write_file_ext(const char *path, const char *content, size_t len,
							  mode_t mode, bool durable);
extern char *cb_read_file(const char *path, size_t *len);
extern bool cb_path_exists(const char *path);

#endif							/* CB_HOSTLAYOUT_H */
