/*-------------------------------------------------------------------------
 *
 * spare_worker.h
 *	  The spare pool's background worker ("cnpg_bootstrap spare pool") and
 *	  the launcher's side of it: when to start it, when to stop it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_SPARE_WORKER_H
#define CB_SPARE_WORKER_H

#include "postgres.h"

/*
 * Launcher: 1 while the pool worker it started runs (it counts against
 * cnpg_bootstrap.max_workers), else 0.
 */
extern int	cb_spare_launcher_running(void);

/* launcher: a cluster waits for a worker slot: stop the refill */
extern void cb_spare_launcher_yield(void);

/*
 * Launcher, once per look at the catalog: start the pool worker when no
 * cluster worker runs (busy false) and the pool wants work.  *nap_ms is
 * lowered to the next time worth a look.
 */
extern void cb_spare_launcher_tick(bool busy, long *nap_ms);

extern PGDLLEXPORT void cb_spare_worker_main(Datum main_arg);

#endif							/* CB_SPARE_WORKER_H */
