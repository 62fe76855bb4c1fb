/*-------------------------------------------------------------------------
 *
 * references.h
 *	  Which Secrets, ConfigMaps and ObjectStores a Cluster spec names, and
 *	  where (pure model code, like manifest.c and validate.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_REFERENCES_H
#define CB_REFERENCES_H

#include "model.h"

typedef struct CbReference
{
	CbKind		kind;			/* CB_KIND_SECRET, _CONFIGMAP or _OBJECTSTORE */
	const char *name;
	const char *key;			/* NULL when the whole object is meant */
	const char *path;			/* field path naming it */
} CbReference;

typedef struct CbReferenceList
{
	int			n;
	CbReference *items;
} CbReferenceList;

/*
 * every Secret/ConfigMap/ObjectStore the spec names, in field order; the
 * Secrets of a named ObjectStore are not included (the model cannot read
 * the catalog): add them with cb_object_store_references()
 */
extern CbReferenceList cb_cluster_references(const CbClusterSpec *spec);

/* append the Secrets a Barman object store names, below path */
extern void cb_object_store_references(CbReferenceList *list,
									   const CbObjectStore *os,
									   const char *path);

#endif							/* CB_REFERENCES_H */
