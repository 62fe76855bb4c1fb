/*-------------------------------------------------------------------------
 *
 * barman.h
 *	  What Barman Cloud writes to an object store, read the way
 *	  CloudNativePG reads it: the catalog of base backups
 *	  (<serverName>/base/<backupID>/backup.info), the choice of the backup
 *	  to restore for a recoveryTarget (docs/cnpg-rules.md §9.1), and the names of
 *	  base tars and WAL objects, whose compression is known only from their
 *	  suffix.
 *
 * The parsers and the choice are pure (palloc only); loading a catalog
 * goes through objectstore.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_BARMAN_H
#define CB_BARMAN_H

#include "postgres.h"

#include "model.h"
#include "objectstore.h"

/* ---------- compression, from a name's suffix ---------- */

typedef enum CbCompression
{
	CB_COMPRESSION_NONE,
	CB_COMPRESSION_GZIP,
	CB_COMPRESSION_BZIP2,
	CB_COMPRESSION_XZ,
	CB_COMPRESSION_SNAPPY,
	CB_COMPRESSION_ZSTD,
	CB_COMPRESSION_LZ4
} CbCompression;

/* "none", "gzip", ... (CloudNativePG's wal.compression words) */
extern const char *cb_compression_name(CbCompression c);
/* "", ".gz", ".bz2", ".xz", ".snappy", ".zst", ".lz4" */
extern const char *cb_compression_suffix(CbCompression c);

/* ---------- WAL objects ---------- */

typedef enum CbWalKind
{
	CB_WAL_NONE,				/* not a WAL archive name */
	CB_WAL_SEGMENT,				/* 000000010000000000000003 */
	CB_WAL_BACKUP,				/* ...03.00000028.backup */
	CB_WAL_PARTIAL,				/* ...03.partial */
	CB_WAL_HISTORY				/* 00000002.history */
} CbWalKind;

extern CbWalKind cb_barman_wal_kind(const char *name);

/*
 * The folder of a WAL file: "<server>/wals/<TLI+log, 16 hex>/", or
 * "<server>/wals/" for a history file.  NULL if name is no WAL name.
 */
extern char *cb_barman_wal_dir(const char *server, const char *name);
/* the folder plus name plus the compression's suffix */
extern char *cb_barman_wal_key(const char *server, const char *name,
							   CbCompression compression);

/*
 * The last part of a key under wals/: the WAL name and the compression.
 * false for anything else (barman ignores those too).
 */
extern bool cb_barman_parse_wal_object(const char *basename, char **name,
									   CbCompression *compression);

/* ---------- base backup files ---------- */

typedef struct CbBarmanBaseFile
{
	char	   *key;			/* relative to the destinationPath */
	int64		size;
	bool		is_data;		/* PGDATA, else a tablespace */
	Oid			tablespace_oid; /* when !is_data */
	int			part;			/* 0 = main file, 1.. = _0001.. splits */
	CbCompression compression;
} CbBarmanBaseFile;

/*
 * "data.tar", "data_0001.tar.gz", "16385.tar.bz2" ... -> the fields above
 * (key and size left alone).  false for backup.info and anything unknown.
 */
extern bool cb_barman_parse_base_name(const char *basename, CbBarmanBaseFile *f);

/* ---------- backup.info and the catalog ---------- */

typedef struct CbBarmanTablespace
{
	char	   *name;
	Oid			oid;
	char	   *location;
} CbBarmanTablespace;

/* one folder under <serverName>/base/ */
typedef struct CbBarmanBackup
{
	char	   *backup_id;		/* the folder name */
	bool		has_info;		/* backup.info found and parsed */
	char	   *info_problem;	/* why it was not (missing, malformed) */
	CbMap		info;			/* every key=value as written (None -> NULL) */

	char	   *backup_name;
	char	   *status;			/* DONE, FAILED ... (CNPG ignores it) */
	char	   *error;
	bool		has_begin_time;
	bool		has_end_time;
	int64		begin_time;		/* microseconds since 1970-01-01 UTC */
	int64		end_time;
	char	   *begin_wal;
	char	   *end_wal;
	char	   *begin_xlog;
	char	   *end_xlog;
	int			timeline;		/* 0 if absent, as Go's JSON leaves it */
	char	   *systemid;
	int			version;
	int64		xlog_segment_size;
	char	   *backup_label;	/* decoded from its Python literal */
	int			ntablespaces;
	CbBarmanTablespace *tablespaces;
} CbBarmanBackup;

typedef struct CbBarmanCatalog
{
	char	   *server_name;
	char	   *base_url;		/* s3://bucket/prefix/<server>/base/ */
	int			nbackups;
	CbBarmanBackup *backups;	/* oldest first; unusable ones first */
} CbBarmanCatalog;

/*
 * backup.info text -> b (backup_id untouched).  false with *errmsg when a
 * line is not key=value or a needed value is malformed.
 */
extern bool cb_barman_parse_info(const char *text, size_t len,
								 CbBarmanBackup *b, char **errmsg);

/* a value of b->info; NULL if absent or None */
extern const char *cb_barman_info_get(const CbBarmanBackup *b, const char *key);

/* a Python str literal ('...' or "...") decoded; NULL with *errmsg */
extern char *cb_barman_py_string(const char *literal, char **errmsg);

/*
 * Times: CloudNativePG's ParseTargetTime (lib/pq's timestamp form
 * "YYYY-MM-DD[ HH:MM:SS[.f][±HH[:MM[:SS]]|Z]]", RFC 3339 with or without a
 * fraction, "YYYY-MM-DDTHH:MM:SS" as UTC); backup.info's times are of the
 * first form.  Result in microseconds since the epoch, UTC.
 */
extern bool cb_barman_parse_time(const char *s, int64 *usec, char **errmsg);
/* "YYYY-MM-DD HH:MM:SS.ffffff+00:00" */
extern char *cb_barman_format_time(int64 usec);
/* "X/Y", each at most 8 hex digits (CloudNativePG's LSN.Parse) */
extern bool cb_barman_parse_lsn(const char *s, uint64 *lsn);

/* usable for CloudNativePG: both begin_time and end_time present */
extern bool cb_barman_backup_usable(const CbBarmanBackup *b);

/*
 * List <server>/base/, GET every backup.info (in parallel) and parse them.
 * A folder without backup.info, or whose backup.info does not parse, is
 * kept with info_problem set, so that a failed choice can say so.  A store
 * error on any request fails the whole load: choosing an older backup
 * because the newest could not be read would be wrong.
 */
extern CbOsStatus cb_barman_load_catalog(CbOsClient *client,
										 const char *server_name,
										 CbBarmanCatalog *cat, CbOsError *err);

/* CloudNativePG's order, oldest first (done by cb_barman_load_catalog) */
extern void cb_barman_sort_catalog(CbBarmanCatalog *cat);

/*
 * The backup to restore, as CloudNativePG chooses it: backupID if given
 * (timeline ignored), else the newest usable backup on the requested
 * timeline that ends at or before targetTime, or whose end LSN is before
 * targetLSN, or the newest.  target may be NULL (no recoveryTarget).
 * NULL with *errmsg ("no target backup found", "no backup found with ID
 * <id>", "while parsing recovery target ...") and *errdetail listing every
 * backup found and why it was not taken.
 */
extern const CbBarmanBackup *cb_barman_choose(const CbBarmanCatalog *cat,
											  const CbRecoveryTarget *target,
											  char **errmsg, char **errdetail);

/*
 * The tars of a backup (<server>/base/<id>/): PGDATA first, then each
 * tablespace, each as its main file followed by its splits.  Files with an
 * unknown suffix are left out, as barman-cloud-restore does.
 */
extern CbOsStatus cb_barman_list_base_files(CbOsClient *client,
											const char *server_name,
											const char *backup_id,
											int *nfiles, CbBarmanBaseFile **files,
											CbOsError *err);

#endif							/* CB_BARMAN_H */
