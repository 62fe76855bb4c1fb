/*-------------------------------------------------------------------------
 *
 * wal_restore_shim.h
 *	  The error reporting of cnpg_bootstrap_wal_restore (wal_restore_shim.c)
 *	  for the extension's sources it links (objectstore.c, barman.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_WAL_RESTORE_SHIM_H
#define CB_WAL_RESTORE_SHIM_H

/* prefix of every line written to stderr */
#define WR_PROGNAME "cnpg_bootstrap_wal_restore"

/* exit status of an ereport(ERROR) (set once the configuration is read) */
extern int	wr_error_exit_status;

/* exit with status, on purpose; every other exit gives wr_error_exit_status */
extern void wr_exit(int status) pg_attribute_noreturn();
/* at the start of main, before any other atexit handler */
extern void wr_guard_exits(void);

#endif							/* CB_WAL_RESTORE_SHIM_H */
