/*-------------------------------------------------------------------------
 *
 * restore.h
 *	  The recovery bootstrap method: a base backup streamed from a Barman
 *	  Cloud object store into the new PGDATA, then archive recovery fed by
 *	  cnpg_bootstrap_wal_restore (src/bin/).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_RESTORE_H
#define CB_RESTORE_H

#include "barman.h"
#include "objectstore.h"
#include "cluster.h"

typedef struct CbRestore
{
	const CbExternalCluster *source;
	const CbObjectStore *store;
	char	   *server_name;	/* the folder under destinationPath */
	CbOsConfig	cfg;			/* credentials resolved from Secrets */
	CbOsClient *client;
	const CbBarmanBackup *backup;	/* the chosen one; NULL once restored */
	int			nfiles;
	CbBarmanBaseFile *files;
	int64		total_bytes;
} CbRestore;

/* store step: credentials, and (unless restored already) the backup to use */
extern CbRestore *cb_restore_prepare(CbCluster *c, bool choose);
/* restore step: every tar of the backup into <pgdata>.tmp, renamed when whole */
extern void cb_restore_base(CbCluster *c, CbRestore *r);
/* configure step: restore_command, targets, signal file */
extern void cb_restore_configure(CbCluster *c, CbRestore *r, bool replica);
/* restore_command for a replica cluster following externalCluster name's store; NULL if it has none */
extern char *cb_replica_restore_command(CbCluster *c, const char *name);
/* promote step: wait for the end of recovery (or, replica, for consistency) */
extern void cb_restore_wait(CbCluster *c, bool replica);

/* the WAL program's last error since the server started, or NULL */
extern char *cb_restore_wal_error(const CbInstance *inst);

#endif							/* CB_RESTORE_H */
