/*-------------------------------------------------------------------------
 *
 * walspool.h
 *	  The names shared by the recovery method (restore.c, in the worker)
 *	  and the restore_command programs (src/bin/) inside an instance's
 *	  WAL spool, so that the two sides cannot drift apart.
 *
 * Layout, under <data_root>/<cluster>/<instance>/:
 *	 wal-restore/wal-restore.conf	the programs' configuration (0600)
 *	 wal-restore/spool/				prefetched segments, each written as
 *									"<name>.tmp" and renamed when complete
 *	 wal-restore/spool/.prefetcher	flock'ed by the one running prefetcher
 *	 wal-restore/spool/.stop		the worker's word that recovery ended:
 *									the prefetcher exits
 *	 wal-restore/spool/.end-of-archive	the first segment the store does
 *									not have (a replica cluster has replayed
 *									everything archived so far)
 *	 wal-restore/spool/.fault-kill	test only (faultinject.c): the next
 *									restore_command removes it and dies by
 *									SIGKILL
 *
 * Plain macros: included by backend and frontend code alike.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_WALSPOOL_H
#define CB_WALSPOOL_H

#define CB_WALSPOOL_DIR				"wal-restore"
#define CB_WALSPOOL_CONF			"wal-restore.conf"
#define CB_WALSPOOL_SPOOL			"spool"
#define CB_WALSPOOL_TMP_SUFFIX		".tmp"

#define CB_WALSPOOL_PREFETCHER		".prefetcher"
#define CB_WALSPOOL_STOP			".stop"
#define CB_WALSPOOL_END_OF_ARCHIVE	".end-of-archive"
#define CB_WALSPOOL_FAULT_KILL		".fault-kill"

#endif							/* CB_WALSPOOL_H */
