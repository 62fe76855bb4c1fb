/*-------------------------------------------------------------------------
 *
 * cluster.h
 *	  The runtime picture of one cluster on the host, as the plan hands it
 *	  to the bootstrap methods: plain values (directories, ports, binaries,
 *	  resolved Secret values) and the journal the methods report to.  The
 *	  methods include this, never the catalog or the status writer.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_CLUSTER_H
#define CB_CLUSTER_H

#include "postgres.h"

#include "journal.h"
#include "model.h"
#include "resolved.h"

typedef struct CbInstance
{
	int			serial;			/* 1 = the bootstrap primary */
	char	   *name;			/* <cluster>-<serial> */
	char	   *dir;			/* <data_root>/<cluster>/<name> */
	char	   *pgdata;			/* dir/pgdata */
	char	   *logdir;			/* dir/log */
	int			port;
} CbInstance;

/* a Secret/ConfigMap value the spec references, resolved before any work */
typedef struct CbResolvedRef
{
	const char *path;			/* field path that named it */
	char	   *object;			/* "Secret/x" or "ConfigMap/x" */
	char	   *key;
	char	   *value;
} CbResolvedRef;

/* the databases post-init runs in, in CloudNativePG's order */
typedef enum CbPostInitDb
{
	CB_POSTINIT_POSTGRES,		/* postInitSQL(+Refs) */
	CB_POSTINIT_TEMPLATE1,		/* postInitTemplateSQL(+Refs) */
	CB_POSTINIT_APP,			/* postInitApplicationSQL(+Refs) */
	CB_POSTINIT_NDBS
} CbPostInitDb;

typedef struct CbCluster
{
	CbClusterSpec *spec;
	const char *name;
	int			generation;
	char	   *dir;			/* <data_root>/<cluster> */
	char	   *run_dir;		/* unix sockets */
	char	   *certs_dir;
	char	   *bindir;			/* resolved, no %v */
	int			major;			/* of the binaries in bindir */
	char	   *os_user;		/* who runs the control instance */
	char	   *host;			/* first of cnpg_bootstrap.listen_addresses */
	int			ninstances;
	CbInstance *instances;

	/* the application database and its owner, if one is to be made */
	bool		has_app;
	char	   *app_db;
	char	   *app_owner;
	char	   *app_secret_name;
	char	   *app_password;	/* resolved from the Secret */
	char	   *superuser_password; /* NULL: superuser access disabled */
	bool		tls;			/* certificates written, ssl = on */
	bool		replica;		/* a replica cluster: follows its source */
	struct CbSource *source;	/* pg_basebackup: the source being cloned */
	struct CbRestore *restore;	/* recovery: the store and the backup */
	/* the Secrets and ObjectStores of the externalClusters used, resolved */
	const CbResolvedObjects *resolved;

	/* where the methods report phases, progress and journaled sub-steps */
	const CbJournal *journal;

	/*
	 * After bootstrap (lifecycle.c): the cluster was healthy once, so a
	 * failing step makes it wait and retry, never "Bootstrap failed";
	 * waking: it was hibernated, its instances are started, not restarted
	 * after a crash; end_run: a step asked to end this run where it is
	 * (nothing failed: an instance waits for its next restart).
	 */
	bool		after_bootstrap;
	bool		waking;
	bool		end_run;

	/* post-init scripts from *SQLRefs, resolved, by the database they run in */
	int			nrefs[CB_POSTINIT_NDBS];
	CbResolvedRef *refs[CB_POSTINIT_NDBS];
} CbCluster;

#endif							/* CB_CLUSTER_H */
