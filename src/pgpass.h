/*-------------------------------------------------------------------------
 *
 * pgpass.h
 *	  pgpass files: one line, fields escaped as libpq reads them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_PGPASS_H
#define CB_PGPASS_H

#include "postgres.h"

/*
 * "*:*:*:user:password\n" with ':' and '\' escaped (no user -> '*'); host
 * and port are not written (see pgpass.c)
 */
extern char *cb_pgpass_line(const char *host, const char *port, const char *user,
							const char *password);
/* write it as a 0600 file (atomic) */
extern void cb_pgpass_write(const char *path, const char *line);

#endif							/* CB_PGPASS_H */
