/*-------------------------------------------------------------------------
 *
 * tablespaces.h
 *	  Tablespaces of a pg_basebackup clone (issue 12, item 3): each of the
 *	  source's tablespaces goes to <instance>/tablespaces/<name>, the layout
 *	  a recovery uses, through pg_basebackup's --tablespace-mapping.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_TABLESPACES_H
#define CB_TABLESPACES_H

#include "cluster.h"

struct pg_conn;

/* more would not be a database anyone clones; it bounds argv */
#define CB_MAX_TABLESPACES 1000

/*
 * pg_basebackup arguments "--tablespace-mapping=OLD=NEW", one for each
 * tablespace the server behind conn has outside its data directory, NEW
 * under inst's own tablespaces folder; NULL-terminated.  Also empties that
 * folder: a clone starts afresh.  conn is closed.
 */
extern const char **cb_tablespace_mappings(struct pg_conn *conn, const char *server,
										   CbInstance *inst);

/*
 * The same for a pg_basebackup bootstrap source: over SQL if it takes a
 * connection to a database, else over a replication connection (folders
 * named by oid)
 */
struct CbSource;
extern const char **cb_source_tablespace_mappings(const struct CbSource *src,
												  CbInstance *inst);

/* append the NULL-terminated list more to argv[*n...], at most max in all */
extern void cb_argv_append(const char **argv, int *n, int max, const char **more);

#endif							/* CB_TABLESPACES_H */
