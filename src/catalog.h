/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  The control instance's own catalog (schema cnpg_bootstrap), through
 *	  SPI: stored objects, Secret values, ConfigMap keys, the clusters row
 *	  apply makes, a deleted Cluster's teardown row (catalog.c), and a
 *	  worker's short transaction (spi_exec.c).  What the worker records
 *	  (phases, instances, the step journal) is status.h's.
 *
 * Readers return palloc'd copies in the memory context that was current
 * when the caller called them (or, in a worker, when cb_tx_begin() ran),
 * so results survive the end of the transaction.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_CATALOG_H
#define CB_CATALOG_H

#include "postgres.h"
#include "nodes/pg_list.h"

#include "model.h"

/*
 * a short transaction of a worker, with SPI connected and a snapshot;
 * cb_tx_commit() makes the caller's memory context current again
 */
extern void cb_tx_begin(void);
extern void cb_tx_commit(void);

/* ---- objects ---- */
typedef struct CbStoredObject
{
	char	   *doc;			/* JSON text */
	int			generation;
	char	   *generated_by;	/* NULL unless a generated Secret */
} CbStoredObject;

/* caller connected to SPI */
extern bool cb_catalog_get_object(const char *kind, const char *name,
								  CbStoredObject *obj);
extern void cb_catalog_put_object(const char *kind, const char *name,
								  const char *namespace, const char *doc,
								  int generation, const char *generated_by);
extern bool cb_catalog_delete_object(const char *kind, const char *name);
extern List *cb_catalog_object_names(const char *kind);

/* Secret values (decoded); caller connected to SPI */
extern bool cb_catalog_get_secret(const char *name, CbMap *data);
extern void cb_catalog_put_secret_data(const char *name, const CbMap *data);
extern bool cb_catalog_secret_data_equal(const char *name, const CbMap *data);
extern char *cb_catalog_get_configmap_value(const char *name, const char *key);

/* worker: a Secret's values in a transaction of its own; false if absent */
extern bool cb_catalog_load_secret_tx(const char *name, CbMap *data);
/*
 * worker: store a Secret the cluster generated (own transaction); false,
 * writing nothing, if a Secret of that name exists that this cluster did
 * not generate (a user's Secret is used as it is, never overwritten)
 */
extern bool cb_catalog_store_generated_secret(const char *cluster, const char *name,
											  const char *namespace, const char *type,
											  const char *user_type, const CbMap *data);

/* a stored Cluster, re-parsed and defaulted by the model */
extern CbClusterSpec *cb_catalog_load_cluster(const char *name, int *generation);

/*
 * a stored ObjectStore's spec.configuration, re-parsed by the model; false
 * if absent.  The _tx form runs in a transaction of its own (worker).
 */
extern bool cb_catalog_get_objectstore(const char *name, CbObjectStore *out);
extern bool cb_catalog_load_objectstore_tx(const char *name, CbObjectStore *out);

/* ---- cluster status ---- */
extern bool cb_catalog_cluster_exists(const char *name, bool *bootstrapped,
									  char **phase);
extern void cb_catalog_create_cluster_status(const CbClusterSpec *spec);
extern void cb_catalog_cluster_lifecycle(const char *name, int *observed_generation,
										bool *hibernation, char **phase);
extern bool cb_catalog_set_hibernation(const char *name, bool on);
extern void cb_catalog_update_cluster_generation(const char *name, int generation,
												 int instances);
extern void cb_catalog_delete_cluster(const char *name);
/* apply/delete serialize per object through one of this many locks */
#define CB_OBJECT_LOCK_BUCKETS 256
extern int	cb_catalog_object_lock_key(const char *kind, const char *name);
extern void cb_catalog_lock_object_key(int key);
extern void cb_catalog_lock_object(const char *kind, const char *name);

/* launcher: names of clusters needing a worker (own transaction) */
extern List *cb_catalog_clusters_needing_work(void);

#endif							/* CB_CATALOG_H */
