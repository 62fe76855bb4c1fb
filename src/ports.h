/*-------------------------------------------------------------------------
 *
 * ports.h
 *	  The TCP ports of the target clusters' instances: the setting that
 *	  bounds them (cnpg_bootstrap.port_range), whether one is free on this
 *	  host, and the choice of an instance's port, kept once recorded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_PORTS_H
#define CB_PORTS_H

#include "postgres.h"

/* cnpg_bootstrap.port_range's two ports; false if it is not a valid range */
extern bool cb_parse_port_range(const char *value, int *lo, int *hi);

/* nobody listens on port (loopback); worker processes */
extern bool cb_port_is_free(int port);

/*
 * The port of an instance, chosen in [port_lo, port_hi] on first call and
 * recorded in cnpg_bootstrap.instances (with serial and data_directory),
 * then kept; an ERROR when no port of the range is free.  Worker processes
 * (one short transaction per statement).
 */
extern int	cb_status_instance_port(const char *cluster, const char *instance,
									int serial, const char *data_directory,
									int port_lo, int port_hi);

#endif							/* CB_PORTS_H */
