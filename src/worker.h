/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The launcher background worker, the per-cluster dynamic workers and
 *	  the shared memory they use to find each other.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_WORKER_H
#define CB_WORKER_H

#include "postgres.h"

/* called from _PG_init: shared memory hooks and the launcher */
extern void cb_worker_init(void);

/* from SQL functions: wake the launcher when this transaction commits */
extern void cb_wake_launcher_at_commit(void);

/* from cnpg_bootstrap_delete: stop the cluster's worker at commit */
extern void cb_stop_cluster_worker_at_commit(const char *cluster);

/* the cluster a dynamic worker reconciles (NULL in other processes) */
extern const char *cb_worker_cluster;

extern PGDLLEXPORT void cb_launcher_main(Datum main_arg);
extern PGDLLEXPORT void cb_cluster_worker_main(Datum main_arg);

#endif							/* CB_WORKER_H */
