/*-------------------------------------------------------------------------
 *
 * references.h
 *	  Which Secrets and ConfigMaps a Cluster spec names, and where (pure
 *	  model code, like manifest.c and validate.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_REFERENCES_H
#define CB_REFERENCES_H

#include "model.h"

typedef struct CbReference
{
	CbKind		kind;			/* CB_KIND_SECRET or CB_KIND_CONFIGMAP */
	const char *name;
	const char *key;			/* NULL when the whole object is meant */
	const char *path;			/* field path naming it */
} CbReference;

typedef struct CbReferenceList
{
	int			n;
	CbReference *items;
} CbReferenceList;

/* every Secret/ConfigMap the spec names, in field order */
extern CbReferenceList cb_cluster_references(const CbClusterSpec *spec);

#endif							/* CB_REFERENCES_H */
