/*-------------------------------------------------------------------------
 *
 * waituntil.h
 *	  The one poll-until-true-or-deadline loop of the worker: wait until a
 *	  server is promoted, streams, has stopped, a lock is free ...
 *
 * cb_wait_until calls until(w, arg) again and again until it returns true
 * (then true) or the deadline has passed (then false: the caller reports
 * its own timeout).  Between passes it sleeps on the worker's latch
 * (SIGTERM and cancels stop it at once, postmaster death ends the process),
 * first briefly, then up to CB_WAIT_MAX_POLL_MS.  The deadline is kept on
 * the monotonic clock, time spent in the predicate included: a wait ends
 * at most one pass after its deadline.
 *
 * Every pass runs in a memory context of its own, reset after the pass,
 * so a wait of hours does not grow.  A predicate that talks to servers
 * asks for its connections with cb_wait_conn: the wait opens each one
 * once, through spec->connect, keeps it from pass to pass and opens it
 * again only after it broke; all are closed when the wait ends, however
 * it ends.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_WAITUNTIL_H
#define CB_WAITUNTIL_H

#include "libpq-fe.h"

/* the first pause between two passes, and the longest */
#define CB_WAIT_FIRST_POLL_MS	20
#define CB_WAIT_MAX_POLL_MS		1000
/* the connections a predicate may keep (cb_wait_conn's which) */
#define CB_WAIT_MAX_CONNS		2

typedef struct CbWait CbWait;

/* one pass: true once what is awaited holds; may ereport */
typedef bool (*CbWaitPredicate) (CbWait *w, void *arg);

/*
 * Open connection `which` for the predicate: NULL if it cannot be opened
 * yet (the pass goes on without it, the next pass tries again), or
 * ereport ERROR to end the wait.
 */
typedef PGconn *(*CbWaitConnect) (void *arg, int which);

typedef struct CbWaitSpec
{
	const char *what;			/* what is awaited (the pass context's name) */
	int			timeout_ms;		/* <= 0: no deadline */
	CbWaitConnect connect;		/* NULL: cb_wait_conn is not used */
	int			max_poll_ms;	/* <= 0: CB_WAIT_MAX_POLL_MS */
} CbWaitSpec;

extern bool cb_wait_until(CbWaitPredicate until, void *arg, const CbWaitSpec *spec);

/* in a predicate: the kept connection `which`, opened if needed, or NULL */
extern PGconn *cb_wait_conn(CbWait *w, int which);

/* in a predicate: the passes so far, this one included */
extern int	cb_wait_passes(const CbWait *w);

#endif							/* CB_WAITUNTIL_H */
