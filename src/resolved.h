/*-------------------------------------------------------------------------
 *
 * resolved.h
 *	  The Secrets and ObjectStores of the externalClusters a plan uses, as
 *	  the plan read them from the catalog (resolve.c) before the methods
 *	  run.  A method looks them up here, in memory, by the names its spec
 *	  gives; it never reaches the catalog.  An object that did not exist is
 *	  kept as absent, so that the method which needs it fails at the point,
 *	  and with the words, it did when it read the catalog itself.
 *
 *	  The values are Secret values: never put one in a message.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_RESOLVED_H
#define CB_RESOLVED_H

#include "postgres.h"

#include "model.h"

typedef struct CbResolvedSecret
{
	char	   *name;
	bool		exists;
	CbMap		data;			/* decoded values, if it exists */
} CbResolvedSecret;

typedef struct CbResolvedStore
{
	char	   *name;
	bool		exists;
	CbObjectStore store;		/* its spec.configuration, if it exists */
} CbResolvedStore;

typedef struct CbResolvedObjects
{
	int			nsecrets;
	CbResolvedSecret *secrets;
	int			nstores;
	CbResolvedStore *stores;
} CbResolvedObjects;

/*
 * A Secret's values, false if it does not exist.  A name the plan did not
 * resolve is a bug of the plan, not a missing Secret: say so.  (No Secret
 * is named "": references.c never resolves one.)
 */
static inline bool
cb_resolved_secret(const CbResolvedObjects *r, const char *name, CbMap *data)
{
	if (name == NULL || name[0] == '\0')
		return false;
	for (int i = 0; r != NULL && i < r->nsecrets; i++)
		if (strcmp(r->secrets[i].name, name) == 0)
		{
			if (r->secrets[i].exists)
				*data = r->secrets[i].data;
			return r->secrets[i].exists;
		}
	elog(ERROR, "Secret \"%s\" was not resolved before the bootstrap method needed it", name);
	return false;
}

/* a stored ObjectStore's configuration, NULL if there is none of that name */
static inline const CbObjectStore *
cb_resolved_objectstore(const CbResolvedObjects *r, const char *name)
{
	for (int i = 0; r != NULL && i < r->nstores; i++)
		if (strcmp(r->stores[i].name, name) == 0)
			return r->stores[i].exists ? &r->stores[i].store : NULL;
	elog(ERROR, "ObjectStore \"%s\" was not resolved before the bootstrap method needed it", name);
	return NULL;
}

#endif							/* CB_RESOLVED_H */
