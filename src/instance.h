/*-------------------------------------------------------------------------
 *
 * instance.h
 *	  The instance toolkit every method shares: the life of one target
 *	  instance (start, stop, is it running: pg_ctl as a detached daemon),
 *	  its data directory made in <pgdata>.tmp, tools run on its behalf,
 *	  connections to it, and its configuration files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_INSTANCE_H
#define CB_INSTANCE_H

#include "cluster.h"

/* the postmaster's pid if one runs on pgdata, else 0 */
extern int	cb_instance_pid(const char *pgdata);
extern void cb_instance_start(CbCluster *c, CbInstance *inst);
extern void cb_instances_start(CbCluster *c, CbInstance **insts, int n);
/* mode: "fast" or "immediate"; no-op if not running */
extern void cb_instance_stop(CbCluster *c, const char *pgdata, const char *mode);
/*
 * A data directory is made in <pgdata>.tmp and moved in place only when
 * complete.  fresh_tmp stops whatever runs on the instance and removes both
 * directories (a half-made copy is never reused) and returns the tmp path;
 * install_tmp renames it durably.
 */
extern char *cb_instance_fresh_tmp(CbCluster *c, CbInstance *inst);
/* <pgdata>.tmp of the instance */
extern char *cb_instance_tmp(const CbInstance *inst);
/* remove a half-made <pgdata>.tmp if there is one; false with errno */
extern bool cb_instance_drop_tmp(const CbInstance *inst);
extern void cb_instance_install_tmp(CbInstance *inst);

/* options for a tool run on behalf of an instance, logged to its bootstrap.log */
struct CbChildOptions;
extern void cb_instance_child_options(CbInstance *inst, const char *tool,
									  const char **argv, struct CbChildOptions *opts);

/* a tool of the cluster's bindir */
extern char *cb_tool(CbCluster *c, const char *tool);

/* connect to a database of an instance as postgres; ereport ERROR on failure */
extern struct pg_conn *cb_connect_instance(CbCluster *c, CbInstance *inst,
										   const char *dbname);

/*
 * instance_config.c: (re)write the configuration files of an instance's
 * PGDATA (postgresql.conf includes, custom.conf, override.conf,
 * pg_hba.conf, pg_ident.conf), and take over a copied PGDATA (the source's
 * pid/signal files gone, its postgresql.conf and postgresql.auto.conf set
 * aside).
 */
extern void cb_write_instance_config(CbCluster *c, CbInstance *inst,
									 const char *pgdata, const char *override);
extern void cb_take_over_copy(const char *pgdata);
extern bool cb_rewrite_instance_config(CbCluster *c, CbInstance *inst);

#endif							/* CB_INSTANCE_H */
