/*-------------------------------------------------------------------------
 *
 * external.h
 *	  Connections to spec.externalClusters sources: libpq keyword/value
 *	  options and a conninfo string that never hold a password, with the
 *	  password in a pgpass file and TLS material in 0600 files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_EXTERNAL_H
#define CB_EXTERNAL_H

#include "lib/stringinfo.h"
#include "cluster.h"

typedef struct CbSource
{
	const CbExternalCluster *spec;
	char	   *dir;			/* <cluster>/controller/external/<NAME> */
	int			n;				/* keyword/value pairs */
	const char **keywords;		/* NULL-terminated */
	const char **values;
} CbSource;

/* write the source's pgpass and TLS files (values from c->resolved), build its options */
extern CbSource *cb_source_prepare(CbCluster *c, const char *name, const char *field_path);
/* the same options as a conninfo string (no password in it), dbname replaced if given */
extern char *cb_source_conninfo(const CbSource *src, const char *dbname,
								const char *extra);
/* append key='value' to a conninfo string, quoted as libpq reads it */
extern void cb_conninfo_append(StringInfo buf, const char *key, const char *value);
/* connect (normal, search_path pinned by a first SET, dbname as given or "postgres") or ereport ERROR naming the source */
extern struct pg_conn *cb_source_connect(const CbSource *src, const char *dbname);
/* a physical replication connection (walsender protocol, no SQL), or NULL with *err */
extern struct pg_conn *cb_source_connect_replication(const CbSource *src, char **err);

#endif							/* CB_EXTERNAL_H */
