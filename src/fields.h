/*-------------------------------------------------------------------------
 *
 * fields.h
 *	  The CRD schemas of the kinds we accept, as C tables.
 *
 * The tables live in src/fields_gen.c, generated at build time by
 * tools/gen_fields.pl from data/cnpg-cluster-fields.tsv (CloudNativePG's
 * Cluster CRD, flattened) and data/cnpg-objectstore-fields.tsv (the Barman
 * Cloud plugin's ObjectStore CRD).  Each row is one field path in the TSV's
 * notation: "a[]" stands for the items of list a, "m.<key>" for the values
 * of map m.  Rows are sorted by path (strcmp order) so that
 * cb_field_lookup() can binary-search them.
 *
 * CEL rules are carried as text only: validate.c enforces them by hand.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_FIELDS_H
#define CB_FIELDS_H

#include "postgres.h"

typedef enum CbFieldType
{
	CB_FIELD_STRING,
	CB_FIELD_INTEGER,
	CB_FIELD_BOOLEAN,
	CB_FIELD_NUMBER,
	CB_FIELD_OBJECT,
	CB_FIELD_ARRAY,
	CB_FIELD_INT_OR_STRING,
	CB_FIELD_ANY
} CbFieldType;

typedef struct CbFieldDef
{
	const char *path;			/* e.g. "spec.externalClusters[].name" */
	CbFieldType type;
	bool		required;		/* required in its parent object */
	bool		preserve_unknown;	/* object without declared fields: any
									 * content is accepted */
	const char *required_children;	/* "name|key": required child fields */
	const char *enum_values;	/* "microservice|monolith", or NULL */
	bool		has_min;
	bool		has_max;
	int64		min;			/* minimum (inclusive) */
	int64		max;			/* maximum (inclusive) */
	bool		has_min_length;
	bool		has_max_length;
	int			min_length;		/* in characters */
	int			max_length;
	const char *pattern;		/* the CRD's regex (RE2 syntax), or NULL */
	const char *format;			/* "int32", "date-time", ... or NULL */
	const char *default_json;	/* the CRD default as JSON text, or NULL */
	const char *cel;			/* "rule => message" lines, or NULL */
} CbFieldDef;

/* one generated table: the schema of one kind */
typedef struct CbSchema
{
	const char *kind;			/* "Cluster" */
	const char *api_version;	/* "postgresql.cnpg.io/v1" */
	const char *group;			/* "postgresql.cnpg.io", for error texts */
	const char *root_required;	/* required top-level fields, "a|b" */
	const CbFieldDef *fields;
	int			nfields;
} CbSchema;

extern const CbSchema cb_cluster_schema;
extern const CbSchema cb_objectstore_schema;

/* binary search of a sorted table; NULL if the path is not a field */
extern const CbFieldDef *cb_field_lookup(const CbFieldDef *fields, int nfields,
										 const char *path);

/* index of the first row whose path is >= path (for prefix scans) */
extern int	cb_field_lower_bound(const CbFieldDef *fields, int nfields,
								 const char *path);

#endif							/* CB_FIELDS_H */
