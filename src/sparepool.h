/*-------------------------------------------------------------------------
 *
 * sparepool.h
 *	  The warm pool of spare data directories on disk (sparepool.c): what
 *	  a recipe is, taking a spare, making one, and what the pool holds.
 *	  The background worker that refills it and the launcher's side are
 *	  spare_worker.h's.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_SPAREPOOL_H
#define CB_SPAREPOOL_H

#include "postgres.h"

/* GUCs (registered in cnpg_bootstrap.c) */
extern int	cb_spare_pool_size;		/* spares per option set; 0: pool off */
extern int	cb_spare_pool_max_mb;	/* all spares together, MB */

/*
 * A recipe: the initdb command line that matters for the data directory it
 * makes (binaries, major version, every option but -D and the flags that
 * change nothing in it: -d, -N, --no-sync, --no-instructions ...), one word
 * a line.  Two clusters whose recipes are equal get interchangeable data
 * directories from initdb, apart from the system identifier.  With
 * app_db and app_owner (only for a Cluster whose post-init runs no SQL of
 * its own), the spare also holds that role (LOGIN) and database, made as
 * post-init makes them.
 */
extern char *cb_spare_recipe(int major, const char *const *argv,
							 const char *app_db, const char *app_owner);

/*
 * Record that a cluster just needed this recipe (the pool keeps spares for
 * recently used recipes).  Never throws: a failure is logged.
 */
extern void cb_spare_note_recipe(const char *recipe);

/*
 * Take a complete spare for recipe by renaming its data directory to dest
 * (which must not exist; same file system).  Returns the spare's name, or
 * NULL with *why saying why none was taken (pool off, none matches ...).
 * Never hands out anything half-made: only a directory renamed complete by
 * the pool worker qualifies, and it is compared word by word with recipe.
 */
extern char *cb_spare_take(const char *recipe, const char *dest, char **why);

/* ---------- the pool worker's and the launcher's side ---------- */

/* what the pool directory holds, in one look (cheap: no tree walk) */
typedef struct CbSparePoolState
{
	bool		usable;			/* data_root and the pool directory are fine */
	int			complete;		/* complete spares */
	int			leftovers;		/* half-made or being removed */
	int			surplus;		/* complete spares no recipe wants */
	char	   *missing;		/* a recipe key that wants another spare and
								 * fits the disk bound, or NULL */
	int64		bytes;			/* recorded size of the complete spares */
} CbSparePoolState;

extern void cb_spare_pool_state(CbSparePoolState *st);

/*
 * The pool worker's run: under the pool's lock, remove leftovers and
 * surplus, write the defaults recipe, make at most one spare.  Returns
 * false if another run holds the lock.
 */
extern bool cb_spare_refill(const char *default_recipe);

#endif							/* CB_SPAREPOOL_H */
