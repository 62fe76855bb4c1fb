/*-------------------------------------------------------------------------
 *
 * supervise.h
 *	  The launcher's look at the instances of healthy clusters (supervise.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_SUPERVISE_H
#define CB_SUPERVISE_H

extern int	cb_supervise_interval;

extern void cb_supervise(long *nap_ms);

#endif							/* CB_SUPERVISE_H */
