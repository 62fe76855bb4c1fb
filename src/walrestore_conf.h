/*-------------------------------------------------------------------------
 *
 * walrestore_conf.h
 *	  The configuration file of cnpg_bootstrap_wal_restore, the program that
 *	  restore_command runs to fetch WAL from a Barman Cloud object store.
 *	  The background worker writes it; the program reads it.  It holds the
 *	  store's credentials, so it is never passed on a command line: mode
 *	  0600, owned by the user that runs PostgreSQL.
 *
 * Format: "key=value" lines; '#' starts a comment line.  In values, a
 * backslash is written "\\", a newline "\n" and a carriage return "\r";
 * every other byte is written as is.  A NULL value is left out.
 *
 * Pure: no ereport (palloc, psprintf and StringInfo only), so the same
 * file is compiled into the module and into the program.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_WALRESTORE_CONF_H
#define CB_WALRESTORE_CONF_H

#include "postgres.h"

#include "objectstore.h"

#define CB_WALRESTORE_MAX_PREFETCH 64

typedef struct CbWalRestoreConf
{
	char	   *provider;		/* "s3" (NULL means it too), "azure" or "google" */
	char	   *destination_path;	/* s3://bucket[/prefix] or an Azure URL */
	char	   *endpoint_url;	/* may be NULL */
	char	   *endpoint_ca_file;	/* may be NULL */
	char	   *access_key_id;	/* s3 */
	char	   *secret_access_key;	/* s3 */
	char	   *region;			/* may be NULL */
	char	   *session_token;	/* may be NULL */
	char	   *azure_account;	/* azure: CbOsConfig's azure_* fields */
	char	   *azure_key;		/* azure: this or azure_sas_token */
	char	   *azure_sas_token;
	char	   *azure_endpoint; /* may be NULL */
	char	   *google_credentials; /* google: the service-account JSON key */
	char	   *server_name;	/* folder under destination_path */
	char	   *spool_dir;		/* absolute dir for prefetched segments */
	int			prefetch;		/* segments fetched at once
								 * (wal.maxParallel), >= 1; more than
								 * CB_WALRESTORE_MAX_PREFETCH is taken as
								 * that */
	bool		standby;		/* true: replica cluster (errors are soft),
								 * false: recovery */
	int			wal_segment_size;	/* the cluster's, from pg_control; 0:
									 * unknown (then the largest PostgreSQL
									 * allows, CB_WALRESTORE_MAX_SEGMENT) */
	int			store_timeout;	/* CbOsConfig.stall_timeout_s; 0: the
								 * client's default */
} CbWalRestoreConf;

/* no WAL file (segment, history, backup) is larger: PostgreSQL's limit */
#define CB_WALRESTORE_MAX_SEGMENT (1024 * 1024 * 1024)

/*
 * Write conf to path atomically: a temporary file beside it (mode 0600),
 * fsync, rename, fsync of the directory.  false with *errmsg (no value of
 * conf in it) on failure.
 */
extern bool cb_walrestore_conf_write(const char *path,
									 const CbWalRestoreConf *conf,
									 char **errmsg);

/*
 * Read path into conf (zeroed first).  Refuses a file that is not a
 * regular file owned by the current user with mode 0600 or stricter, an
 * unknown key, a missing required key (destination_path, server_name,
 * spool_dir; access_key_id and secret_access_key for s3, azure_key or
 * azure_sas_token for azure, google_credentials for google) and a bad
 * number.  *errmsg never quotes a
 * value.
 */
extern bool cb_walrestore_conf_read(const char *path, CbWalRestoreConf *conf,
									char **errmsg);

/*
 * The store's part of the file and the client's configuration, one field
 * for one field: the worker writes what cb_os_config_from_store resolved,
 * the program gets it back (pointers are shared, nothing is copied).
 */
extern void cb_walrestore_conf_from_os(CbWalRestoreConf *conf, const CbOsConfig *cfg);
extern void cb_walrestore_conf_to_os(const CbWalRestoreConf *conf, CbOsConfig *cfg);

/* fsync the directory holding path (a rename in it becomes durable) */
extern bool cb_fsync_parent_dir(const char *path);

#endif							/* CB_WALRESTORE_CONF_H */
