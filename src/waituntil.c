/*-------------------------------------------------------------------------
 *
 * waituntil.c
 *	  The worker's one poll loop (waituntil.h): a predicate called until it
 *	  holds or a deadline passes, on the latch, each pass in a memory
 *	  context reset after it, with the connections the predicate keeps.
 *
 * The deadline is a point on CLOCK_MONOTONIC fixed when the wait starts.
 * Counting the pauses instead (waited += 20) leaves out the time of the
 * passes themselves, a connection and a query each: a wait said to last
 * 120 s could last many times that.  A clock set back or forward (NTP)
 * does not move a monotonic deadline either.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "libpq-fe.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "pgconn.h"
#include "waituntil.h"

struct CbWait
{
	const CbWaitSpec *spec;
	void	   *arg;
	PGconn	   *conns[CB_WAIT_MAX_CONNS];
	int			passes;
};

/* milliseconds on the monotonic clock */
static int64
monotonic_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		elog(ERROR, "clock_gettime(CLOCK_MONOTONIC) failed: %m");
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

PGconn *
cb_wait_conn(CbWait *w, int which)
{
	Assert(which >= 0 && which < CB_WAIT_MAX_CONNS && w->spec->connect != NULL);

	/* kept while it works; a broken one (server restarted, gone) is replaced */
	if (w->conns[which] != NULL && PQstatus(w->conns[which]) != CONNECTION_OK)
	{
		cb_disconnect(w->conns[which]);
		w->conns[which] = NULL;
	}
	if (w->conns[which] == NULL)
		w->conns[which] = w->spec->connect(w->arg, which);
	return w->conns[which];
}

int
cb_wait_passes(const CbWait *w)
{
	return w->passes;
}

bool
cb_wait_until(CbWaitPredicate until, void *arg, const CbWaitSpec *spec)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext pass = AllocSetContextCreate(outer, "cnpg_bootstrap wait",
											   ALLOCSET_SMALL_SIZES);
	CbWait	   *w = palloc0(sizeof(CbWait));
	int64		deadline = spec->timeout_ms > 0 ? monotonic_ms() + spec->timeout_ms : 0;
	volatile bool done = false;

	w->spec = spec;
	w->arg = arg;
	if (spec->what)
		MemoryContextSetIdentifier(pass, spec->what);

	PG_TRY();
	{
		int			poll_ms = CB_WAIT_FIRST_POLL_MS;

		for (;;)
		{
			long		nap = poll_ms;

			w->passes++;
			MemoryContextSwitchTo(pass);
			done = until(w, arg);
			MemoryContextSwitchTo(outer);
			MemoryContextReset(pass);
			if (done)
				break;
			/* the time of the pass counts: no pause past the deadline */
			if (deadline != 0)
			{
				int64		left = deadline - monotonic_ms();

				if (left <= 0)
					break;
				nap = Min(nap, left);
			}
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 nap, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			/* soon at first (a server starts in a second), then each second */
			poll_ms = Min(poll_ms + poll_ms / 2,
						  spec->max_poll_ms > 0 ? spec->max_poll_ms : CB_WAIT_MAX_POLL_MS);
		}
	}
	PG_FINALLY();
	{
		/* libpq's connections are malloc'd: closed on every way out */
		for (int i = 0; i < CB_WAIT_MAX_CONNS; i++)
		{
			cb_disconnect(w->conns[i]);
			w->conns[i] = NULL;
		}
		MemoryContextSwitchTo(outer);
		MemoryContextDelete(pass);
	}
	PG_END_TRY();
	pfree(w);
	return done;
}
