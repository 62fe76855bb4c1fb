/*-------------------------------------------------------------------------
 *
 * initdb.h
 *	  The initdb method's PGDATA: the initdb command line from
 *	  spec.bootstrap.initdb, and the configuration files every instance
 *	  gets (postgresql.conf includes, custom.conf, override.conf,
 *	  pg_hba.conf, pg_ident.conf).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_INITDB_H
#define CB_INITDB_H

#include "cluster.h"

/* the initdb argv for pgdata (ereport ERROR if the binaries lack an option) */
extern const char **cb_initdb_argv(CbCluster *c, const char *pgdata);
/* run initdb into <pgdata>.tmp, configure, rename to pgdata */
extern void cb_initdb_run(CbCluster *c, CbInstance *inst);
/* a copied PGDATA: the source's pid/signal files gone, its postgresql.conf set aside */
extern void cb_take_over_copy(const char *pgdata);
/* (re)write the configuration files of an instance's PGDATA */
extern void cb_write_instance_config(CbCluster *c, CbInstance *inst,
									 const char *pgdata, const char *override);

#endif							/* CB_INITDB_H */
