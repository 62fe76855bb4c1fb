/*-------------------------------------------------------------------------
 *
 * tarextract.h
 *	  Writing the members of a base backup's tar (read by libarchive from
 *	  the object store) into a new data directory, treating the archive as
 *	  hostile: regular files and directories only, modes of our own, no
 *	  path out of the destination, a bound on what is written.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_TAREXTRACT_H
#define CB_TAREXTRACT_H

#include "postgres.h"

#include <archive.h>

#include "barman.h"

/* what all the tars of one restore may write */
typedef struct CbTarBudget
{
	int64		max;			/* bytes of all members together */
	int64		used;
	char	   *why;			/* what max is, for the error message */
} CbTarBudget;

/*
 * The bound of a restore into dir: the size backup.info declares (plus
 * 1% and 1 MB), and in any case what the file system holding dir has free
 * minus 2% of its size, so that a store can never fill the disk.
 */
extern void cb_tar_budget_init(CbTarBudget *budget, const CbBarmanBackup *backup,
							   const char *dir);

/*
 * Every member of in (opened for reading) under dest, which must exist.
 * file names the tar in messages; is_data says it is PGDATA's tar, whose
 * tablespace_map is left out (our pg_tblspc links point to folders of our
 * own).  ERROR naming the member for anything refused.
 */
extern void cb_tar_extract(struct archive *in, const char *dest, bool is_data,
						   const char *file, CbTarBudget *budget);

#endif							/* CB_TAREXTRACT_H */
