/*-------------------------------------------------------------------------
 *
 * import.h
 *	  spec.bootstrap.initdb.import: logical import of databases and roles
 *	  from a live server (microservice and monolith), after post-init.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_IMPORT_H
#define CB_IMPORT_H

#include "cluster.h"

/*
 * Preflight the source and import into the running primary.  Journals
 * each database in cnpg_bootstrap.steps (step "import", instance = the
 * database name) so that a restart redoes only unfinished databases, from
 * scratch.  ereport(ERROR) names database, step and the tool's message.
 */
extern void cb_import_run(CbCluster *c, CbInstance *primary);

#endif							/* CB_IMPORT_H */
