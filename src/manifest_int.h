/*-------------------------------------------------------------------------
 *
 * manifest_int.h
 *	  What the files of the manifest reader share (manifest.c is the
 *	  driver): the limits, scalar typing, the YAML reader's state, the
 *	  state of one document's check, and the functions one file defines
 *	  and others call.  Not for use outside those files.
 *
 * IDENTIFICATION
 *	  src/manifest_int.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_MANIFEST_INT_H
#define CB_MANIFEST_INT_H

#include <yaml.h>

#include "lib/stringinfo.h"
#include "fields.h"
#include "model.h"

/*
 * Limits that keep hostile input cheap.  A real manifest has a few hundred
 * nodes and a nesting depth near 12; aliases are counted at their expanded
 * size, so "billion laughs" stops at the budget.
 */
#define CB_MAX_NODES	500000
#define CB_MAX_DEPTH	100

/*
 * Sizes, in bytes of keys and scalar values with aliases counted at their
 * expanded size (what the stored JSON holds, give or take its quoting).
 * A document: the Kubernetes API server takes a request body of at most
 * 3 MiB (etcd then stores at most 1.5 MiB).  A manifest: ours, so that one
 * apply cannot make the control instance's backend build gigabytes.  The
 * values of a Secret or a ConfigMap: Kubernetes' MaxSecretSize, 1 MiB.
 */
#define CB_MAX_DOCUMENT_BYTES	(3 * 1024 * 1024)
#define CB_MAX_MANIFEST_BYTES	(64 * 1024 * 1024)
#define CB_MAX_DATA_BYTES		(1024 * 1024)

/* longest value (or key) quoted back in an error text */
#define CB_MAX_QUOTED	120

#define SUPPORTED_KINDS_HINT \
	"cnpg_bootstrap accepts kind Cluster (apiVersion postgresql.cnpg.io/v1), " \
	"Secret (v1), ConfigMap (v1) and ObjectStore (barmancloud.cnpg.io/v1); " \
	"apply other objects to Kubernetes or leave them out of the manifest."

#define YAML_TAG_PREFIX "tag:yaml.org,2002:"

#define NELEMS(array) ((int) lengthof(array))

typedef enum ScalarKind
{
	SK_STRING,
	SK_NULL,
	SK_BOOL,
	SK_INT,
	SK_FLOAT
} ScalarKind;

typedef struct Resolved
{
	ScalarKind	kind;
	bool		b;
	int64		i;
	double		d;
} Resolved;

typedef struct NameSet
{
	int		   *slots;			/* index + 1 into names[]; 0 = free */
	int			cap;			/* power of 2 */
} NameSet;

typedef struct Anchor
{
	CbNode	   *node;
	int			size;			/* nodes in the subtree, aliases expanded */
	int64		bytes;			/* bytes of keys and values in it, likewise */
} Anchor;

typedef struct Reader
{
	yaml_parser_t parser;
	const char *text;
	size_t		len;
	int			nodes;			/* nodes so far, aliases expanded */
	int64		bytes;			/* keys and values so far, aliases expanded */
	int64		doc_bytes;		/* the same, in the current document */
	Anchor	   *anchors;		/* of the current document */
	char	  **anchor_names;	/* parallel to anchors */
	int			nanchors;
	int			maxanchors;
	NameSet		anchor_set;		/* over anchor_names */
	bool		nul_seen;		/* a scalar of this document held a NUL */
	CbError    *err;
} Reader;

typedef struct DocCtx
{
	const CbSchema *schema;
	int			docno;			/* 1-based, among non-empty documents */
	int			line;
	char	   *label;			/* "Cluster/name", for errmsg */
	char	   *invalid;		/* "Cluster.postgresql.cnpg.io \"name\" is
								 * invalid", for errdetail */
	CbError    *err;
	StringInfoData tsv;			/* path in the tables' notation: a[].b, m.<key> */
	StringInfoData disp;		/* the same path as shown: a[0].b, m.key */
} DocCtx;

/* manifest.c */
extern const CbNode *cb_get_set(const CbNode *map, const char *key);

/* yaml_tree.c */
extern char *cb_canonical_text(const Resolved *r, const char *orig);
extern ScalarKind cb_node_kind(const CbNode *node, Resolved *r);
extern const char *cb_json_type_name(const CbNode *node);
extern int cb_nameset_find(const NameSet *ns, char *const *names,
						   const char *name);
extern void cb_nameset_add(NameSet *ns, char *const *names, int index);
extern bool cb_next_event(Reader *r, yaml_event_t *ev);
extern bool cb_read_node(Reader *r, yaml_event_t *ev, int depth, CbNode **out);

/* manifest_errors.c */
extern bool cb_set_error(CbError *err, int sqlstate, char *message,
						 char *detail, char *hint);
extern int cb_raw_unsafe(const unsigned char *p, int *code);
extern char *cb_go_quote_cut(const char *s);
extern bool cb_key_showable(const char *key);
extern char *cb_key_repr(const char *key);
extern char *cb_value_repr(const CbNode *node);
extern char *cb_shown_value(const DocCtx *c, const char *tsv_path,
							const CbNode *node);
extern bool cb_field_error(DocCtx *c, const char *path, const char *problem,
						   char *k8s, char *hint);

/* schema_check.c */
extern bool cb_walk_map(DocCtx *c, const CbNode *node, const char *required);

/* manifest_fill.c */
extern bool cb_fill_cluster(DocCtx *c, CbDocument *doc, const CbNode *root);
extern bool cb_fill_objectstore(DocCtx *c, CbDocument *doc,
								const CbNode *root);
extern bool cb_fill_secret(DocCtx *c, CbDocument *doc, const CbNode *root);
extern bool cb_fill_configmap(DocCtx *c, CbDocument *doc, const CbNode *root);

/* node_json.c */
extern void cb_json_string(StringInfo buf, const char *s);

#endif							/* CB_MANIFEST_INT_H */
