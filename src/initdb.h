/*-------------------------------------------------------------------------
 *
 * initdb.h
 *	  The initdb method's PGDATA: the initdb command line from
 *	  spec.bootstrap.initdb, run, configured and installed (the
 *	  configuration files every instance gets are instance.h's).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_INITDB_H
#define CB_INITDB_H

#include "cluster.h"

/* the initdb argv for pgdata (ereport ERROR if the binaries lack an option) */
extern const char **cb_initdb_argv(CbCluster *c, const char *pgdata);
/*
 * The spare pool's recipe for this argv (sparepool.h); it carries the
 * application database and owner when post-init would make them first and
 * run no SQL of the Cluster's (c->has_app, app_db, app_owner, nrefs set)
 */
extern char *cb_initdb_spare_recipe(CbCluster *c, const char **argv);
/* run initdb into <pgdata>.tmp (or take a spare), configure, rename to pgdata */
extern void cb_initdb_run(CbCluster *c, CbInstance *inst);

#endif							/* CB_INITDB_H */
