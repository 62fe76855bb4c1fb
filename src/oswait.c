/*-------------------------------------------------------------------------
 *
 * oswait.c
 *	  The wait functions of the object-store client (objectstore.h,
 *	  CbOsWaitFn): the worker's latch in the server, poll() in the
 *	  standalone WAL program (built with -DCB_OS_NO_BACKEND).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <poll.h>
#include <signal.h>

#ifndef CB_OS_NO_BACKEND
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/wait_event.h"
#endif

#include "objectstore.h"

/* objectstore.h: a wait lasts 1 s at most */
#define OS_WAIT_MAX_MS			1000

/* ---------- waiting in the server ---------- */

#ifndef CB_OS_NO_BACKEND
/*
 * The latch, postmaster death and the sockets in one WaitEventSet, built
 * for this wait (libcurl's sockets change between waits) and freed before
 * CHECK_FOR_INTERRUPTS, which may throw.
 */
bool
cb_os_latch_wait(void *arg, CbOsWaitSocket *socks, int nsocks, long timeout_ms)
{
	WaitEventSet *set = CreateWaitEventSet(CurrentMemoryContext, nsocks + 2);
	WaitEvent  *events = palloc(sizeof(WaitEvent) * (nsocks + 2));
	int			nready;
	bool		latch = false;

	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (int i = 0; i < nsocks; i++)
	{
		int			ev = ((socks[i].events & CB_OS_WAIT_READ) ? WL_SOCKET_READABLE : 0) |
			((socks[i].events & CB_OS_WAIT_WRITE) ? WL_SOCKET_WRITEABLE : 0);

		if (ev)
			AddWaitEventToSet(set, ev, socks[i].fd, NULL, &socks[i]);
	}
	nready = WaitEventSetWait(set, Min(timeout_ms, OS_WAIT_MAX_MS), events,
							  nsocks + 2, PG_WAIT_EXTENSION);
	for (int i = 0; i < nready; i++)
	{
		CbOsWaitSocket *s = events[i].user_data;

		if (events[i].events & WL_LATCH_SET)
			latch = true;
		if (s == NULL)
			continue;
		s->revents = ((events[i].events & WL_SOCKET_READABLE) ? CB_OS_WAIT_READ : 0) |
			((events[i].events & WL_SOCKET_WRITEABLE) ? CB_OS_WAIT_WRITE : 0);
	}
	FreeWaitEventSet(set);
	pfree(events);
	if (latch)
		ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	return true;
}
#else							/* CB_OS_NO_BACKEND */

bool
cb_os_poll_wait(void *arg, CbOsWaitSocket *socks, int nsocks, long timeout_ms)
{
	volatile sig_atomic_t *stop = arg;
	struct pollfd pfd[128];

	if (stop && *stop)
		return false;
	nsocks = Min(nsocks, (int) lengthof(pfd));
	for (int i = 0; i < nsocks; i++)
	{
		pfd[i].fd = socks[i].fd;
		pfd[i].events = ((socks[i].events & CB_OS_WAIT_READ) ? POLLIN : 0) |
			((socks[i].events & CB_OS_WAIT_WRITE) ? POLLOUT : 0);
		pfd[i].revents = 0;
	}
	if (poll(pfd, nsocks, (int) Min(timeout_ms, OS_WAIT_MAX_MS)) > 0)
		for (int i = 0; i < nsocks; i++)
		{
			/* an error or a hang-up is for libcurl to read */
			if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL))
				socks[i].revents = socks[i].events;
			else
				socks[i].revents = ((pfd[i].revents & POLLIN) ? CB_OS_WAIT_READ : 0) |
					((pfd[i].revents & POLLOUT) ? CB_OS_WAIT_WRITE : 0);
		}
	return !(stop && *stop);
}
#endif
