/*-------------------------------------------------------------------------
 *
 * model.h
 *	  The manifest model: YAML documents -> validated, defaulted C structs.
 *
 * The model is pure: no SPI, no files, no processes, no network.  It only
 * uses palloc/StringInfo, so that the fuzz target can link it against a
 * small allocation shim (fuzz/pgshim.c) without a server.  Errors are
 * returned in a CbError, never thrown; the SQL layer turns them into
 * ereport(ERROR) with errhidestmt().
 *
 * Field names mirror CloudNativePG's, in C style:
 * spec.bootstrap.initdb.walSegmentSize -> spec->bootstrap.initdb.wal_segment_size
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_MODEL_H
#define CB_MODEL_H

#include "postgres.h"

/* ---------- generic YAML tree (manifest.c) ---------- */

typedef enum CbNodeType
{
	CB_NODE_NULL,
	CB_NODE_SCALAR,
	CB_NODE_MAP,
	CB_NODE_SEQ
} CbNodeType;

typedef struct CbNode CbNode;
struct CbNode
{
	CbNodeType	type;
	int			line;			/* 1-based, of the node's start */
	int			column;			/* 1-based */
	char	   *value;			/* SCALAR: its text */
	bool		quoted;			/* SCALAR: written quoted (so never a number/bool) */
	bool		nul;			/* SCALAR: held a NUL, cut there (refused) */
	int			nitems;			/* MAP: pairs; SEQ: items */
	char	  **keys;			/* MAP: keys, in document order */
	CbNode	  **items;			/* MAP: values; SEQ: items */
};

/* ---------- errors ---------- */

typedef struct CbError
{
	int			sqlstate;		/* ERRCODE_* */
	char	   *message;		/* errmsg: names document and field path */
	char	   *detail;			/* errdetail: CNPG/Kubernetes-format list */
	char	   *hint;			/* errhint: what is allowed; may be NULL */
} CbError;

/* ---------- small containers ---------- */

typedef struct CbStringList
{
	int			n;
	char	  **items;
} CbStringList;

typedef struct CbKV
{
	char	   *key;
	char	   *value;
	int			len;			/* value length (Secret values may hold NULs) */
} CbKV;

typedef struct CbMap
{
	int			n;
	CbKV	   *items;
} CbMap;

/* SecretKeySelector / ConfigMapKeySelector / LocalObjectReference */
typedef struct CbKeyRef
{
	bool		present;
	char	   *name;
	char	   *key;			/* NULL for a LocalObjectReference */
} CbKeyRef;

typedef struct CbSQLRefs
{
	int			nsecrets;
	CbKeyRef   *secrets;
	int			nconfigmaps;
	CbKeyRef   *configmaps;
} CbSQLRefs;

/* tri-state for *bool fields: CB_UNSET means "not written" */
#define CB_UNSET	(-1)

/* ---------- Cluster spec ---------- */

typedef enum CbBootstrapMethod
{
	CB_BOOTSTRAP_INITDB,
	CB_BOOTSTRAP_PG_BASEBACKUP,
	CB_BOOTSTRAP_RECOVERY
} CbBootstrapMethod;

typedef struct CbImport
{
	bool		present;
	char	   *type;			/* microservice | monolith */
	CbStringList databases;
	CbStringList roles;
	char	   *source_external_cluster;
	CbStringList post_import_application_sql;
	bool		schema_only;
	CbStringList pg_dump_extra_options;
	CbStringList pg_restore_extra_options;
	CbStringList pg_restore_predata_options;
	CbStringList pg_restore_data_options;
	CbStringList pg_restore_postdata_options;
} CbImport;

typedef struct CbInitdb
{
	bool		present;
	char	   *database;
	char	   *owner;
	CbKeyRef	secret;			/* secret.name */
	CbStringList options;		/* deprecated */
	int			data_checksums; /* CB_UNSET, 0, 1 */
	char	   *encoding;
	char	   *locale;
	char	   *locale_collate;
	char	   *locale_ctype;
	char	   *locale_provider;
	char	   *icu_locale;
	char	   *icu_rules;
	char	   *builtin_locale;
	int			wal_segment_size;	/* MB, 0 = unset */
	CbStringList post_init_sql;
	CbStringList post_init_template_sql;
	CbStringList post_init_application_sql;
	CbSQLRefs	post_init_sql_refs;
	CbSQLRefs	post_init_template_sql_refs;
	CbSQLRefs	post_init_application_sql_refs;
	CbImport	import;
} CbInitdb;

typedef struct CbBasebackup
{
	bool		present;
	char	   *source;
	char	   *database;
	char	   *owner;
	CbKeyRef	secret;
} CbBasebackup;

typedef struct CbRecoveryTarget
{
	bool		present;
	char	   *backup_id;
	char	   *target_tli;
	char	   *target_xid;
	char	   *target_name;
	char	   *target_lsn;
	char	   *target_time;
	int			target_immediate;	/* CB_UNSET, 0, 1 */
	int			exclusive;			/* CB_UNSET, 0, 1 */
} CbRecoveryTarget;

typedef struct CbRecovery
{
	bool		present;
	char	   *source;
	CbKeyRef	backup;				/* recovery.backup.name (a Backup object) */
	CbKeyRef	backup_endpoint_ca;
	bool		has_volume_snapshots;
	bool		has_volume_snapshots_wal;
	/* volumeSnapshots.storage / .walStorage: TypedLocalObjectReference */
	char	   *volume_snapshots_kind;
	char	   *volume_snapshots_api_group;
	char	   *volume_snapshots_wal_kind;
	char	   *volume_snapshots_wal_api_group;
	CbRecoveryTarget target;
	char	   *database;
	char	   *owner;
	CbKeyRef	secret;
} CbRecovery;

typedef struct CbObjectStore
{
	bool		present;
	char	   *destination_path;
	char	   *endpoint_url;
	CbKeyRef	endpoint_ca;
	char	   *server_name;
	/* s3Credentials */
	bool		has_s3;
	CbKeyRef	s3_access_key_id;
	CbKeyRef	s3_secret_access_key;
	CbKeyRef	s3_region;
	CbKeyRef	s3_session_token;
	bool		s3_inherit_from_iam_role;
	/* azureCredentials */
	bool		has_azure;
	CbKeyRef	azure_connection_string;
	CbKeyRef	azure_storage_account;
	CbKeyRef	azure_storage_key;
	CbKeyRef	azure_storage_sas_token;
	bool		azure_inherit_from_azure_ad;
	bool		azure_use_default_credentials;
	/* googleCredentials */
	bool		has_google;
	CbKeyRef	google_application_credentials;
	bool		google_gke_environment;
	/* wal / data */
	char	   *wal_compression;
	int			wal_max_parallel;	/* 0 = unset (1) */
	CbStringList wal_restore_additional_command_args;
	char	   *data_compression;
	CbStringList data_restore_additional_command_args;
} CbObjectStore;

/* the CNPG-i plugin whose externalClusters entries name an ObjectStore */
#define CB_BARMAN_CLOUD_PLUGIN "barman-cloud.cloudnative-pg.io"

typedef struct CbExternalCluster
{
	char	   *name;
	bool		has_connection_parameters;	/* written, even as {} */
	CbMap		connection_parameters;
	CbKeyRef	ssl_cert;
	CbKeyRef	ssl_key;
	CbKeyRef	ssl_root_cert;
	CbKeyRef	password;
	CbObjectStore barman_object_store;
	bool		has_plugin;
	char	   *plugin_name;
	CbMap		plugin_parameters;
} CbExternalCluster;

typedef struct CbReplica
{
	bool		present;
	int			enabled;		/* CB_UNSET, 0, 1 */
	char	   *source;
	char	   *primary;
	char	   *self;
	char	   *promotion_token;
	char	   *min_apply_delay;
} CbReplica;

typedef struct CbCertificates
{
	bool		present;
	char	   *server_ca_secret;
	char	   *server_tls_secret;
	char	   *client_ca_secret;
	char	   *replication_tls_secret;
	CbStringList server_alt_dns_names;
} CbCertificates;

typedef struct CbBootstrap
{
	CbBootstrapMethod method;	/* after defaulting */
	CbInitdb	initdb;
	CbBasebackup pg_basebackup;
	CbRecovery	recovery;
} CbBootstrap;

typedef struct CbClusterSpec
{
	/* metadata */
	char	   *name;
	char	   *namespace;		/* default "default" */
	bool		has_resource_version;	/* metadata.resourceVersion written */
	CbMap		annotations;

	/* spec */
	int			instances;
	char	   *image_name;
	bool		has_image_catalog_ref;
	int			pg_major;		/* from image_name's tag, 0 if unknown */
	char	   *storage_size;
	int64		storage_bytes;	/* parsed storage.size; 0 if unset */
	bool		has_storage_pvc_template_request;
	bool		has_wal_storage;
	char	   *wal_storage_size;
	int64		wal_storage_bytes;
	bool		has_wal_storage_pvc_template_request;	/* walStorage.pvcTemplate
														 * requests storage */
	bool		has_superuser_secret;
	char	   *superuser_secret_name;
	bool		enable_superuser_access;
	char	   *log_level;
	int			max_sync_replicas;
	int			min_sync_replicas;
	CbCertificates certificates;
	CbBootstrap bootstrap;
	bool		bootstrap_written;	/* spec.bootstrap present in the document */
	int			bootstrap_methods_written;	/* how many of initdb/recovery/pg_basebackup */
	int			nexternal_clusters;
	CbExternalCluster *external_clusters;
	CbReplica	replica;
	CbMap		parameters;		/* spec.postgresql.parameters, after defaulting */
	CbStringList pg_hba;
	CbStringList pg_ident;
	CbStringList shared_preload_libraries;
} CbClusterSpec;

typedef struct CbSecret
{
	char	   *name;
	char	   *namespace;
	char	   *type;
	CbMap		data;			/* decoded data merged with stringData */
	CbMap		annotations;
} CbSecret;

typedef struct CbConfigMap
{
	char	   *name;
	char	   *namespace;
	CbMap		data;
} CbConfigMap;

/* ObjectStore (barmancloud.cnpg.io/v1): the Barman Cloud plugin's store */
typedef struct CbObjectStoreDoc
{
	char	   *name;
	char	   *namespace;
	CbObjectStore configuration;	/* spec.configuration */
} CbObjectStoreDoc;

typedef enum CbKind
{
	CB_KIND_CLUSTER,
	CB_KIND_SECRET,
	CB_KIND_CONFIGMAP,
	CB_KIND_OBJECTSTORE
} CbKind;

#define CB_NKINDS		4

/* manifest.c: a kind's name, "Cluster" ... "ObjectStore" (one table) */
extern const char *cb_kind_name(CbKind kind);
/* manifest.c: its resource as the API server names it, "Cluster.postgresql.cnpg.io" */
extern char *cb_kind_resource(CbKind kind);

/* a NOTICE about a document that was accepted */
typedef struct CbNote
{
	char	   *message;		/* after "<Kind>/<name>: " */
	char	   *detail;
	char	   *hint;
} CbNote;

typedef struct CbDocument
{
	CbKind		kind;
	const char *kind_name;		/* "Cluster", "Secret", "ConfigMap",
								 * "ObjectStore" */
	char	   *name;
	int			index;			/* 0-based position in the stream */
	int			line;			/* first line of the document */
	CbNode	   *root;			/* the document as written */
	CbClusterSpec *cluster;		/* kind == CB_KIND_CLUSTER */
	CbSecret   *secret;			/* kind == CB_KIND_SECRET */
	CbConfigMap *configmap;		/* kind == CB_KIND_CONFIGMAP */
	CbObjectStoreDoc *objectstore;	/* kind == CB_KIND_OBJECTSTORE */
	CbStringList ignored_paths; /* known fields we do not act on (NOTICE) */
	CbStringList warnings;		/* e.g. Secret value ending in a newline */
	int			nnotes;
	CbNote	   *notes;			/* what CloudNativePG would ignore silently */
} CbDocument;

typedef struct CbManifest
{
	int			ndocs;
	CbDocument *docs;
} CbManifest;

/* manifest.c: YAML stream -> documents, schema-checked, structs filled */
extern bool cb_manifest_parse(const char *text, size_t len,
							  CbManifest **result, CbError *err);
/* node_json.c: a node tree as compact JSON text (for the catalog's jsonb) */
extern char *cb_node_to_json(const CbNode *node);
/* yaml_tree.c: look up a child of a MAP node, NULL if absent */
extern CbNode *cb_node_get(const CbNode *map, const char *key);
/*
 * node_json.c: the catalog's jsonb text of a stored document made readable
 * by cb_manifest_parse again (jsonb prints DEL, C1 controls, U+2028/9,
 * BOM and U+FFFE/F raw, which YAML does not take raw)
 */
extern char *cb_stored_json_for_yaml(const char *json);

/*
 * validate.c: defaulting (docs/cnpg-rules.md §2) and validation (section
 * 3) of every Cluster of the manifest.  existing_names lists the Clusters
 * already stored (CNPG's "object already exists" for the replica rule).
 */
extern bool cb_manifest_validate(CbManifest *manifest,
								 const CbStringList *existing_clusters,
								 CbError *err);

/* validate_values.c: helpers also used by the executor */
extern int	cb_pg_major_from_image(const char *image_name);
extern bool cb_parse_quantity(const char *text, int64 *bytes);
extern bool cb_is_replica_cluster(const CbClusterSpec *spec);
extern const CbExternalCluster *cb_find_external_cluster(const CbClusterSpec *spec,
														 const char *name);
extern const char *cb_map_get(const CbMap *map, const char *key);
/* the ObjectStore an externalCluster names through the Barman Cloud plugin */
extern const char *cb_plugin_object_store(const CbExternalCluster *ec);
/* validate_schema.c: Kubernetes' RFC 1123 names, lengths not checked */
extern bool cb_is_dns_label(const char *s, size_t len, bool dns1035);
extern bool cb_is_dns_subdomain(const char *s);

/* the operator's default image (docs/cnpg-rules.md §1.1) */
#define CB_DEFAULT_IMAGE "ghcr.io/cloudnative-pg/postgresql:18.6-system-trixie"

/* config_writer.c: recovery target and configuration text */
/* recoveryTarget.targetTime as written to the configuration; NULL if invalid */
extern char *cb_recovery_target_time(const char *target_time);
/* the sorted recovery_target_* lines of a recovery, "" without a target */
extern char *cb_recovery_target_conf(const CbRecoveryTarget *target);
/* a value as a quoted postgresql.conf string, escaped as CloudNativePG does */
extern char *cb_conf_quote(const char *value);
/*
 * custom.conf text of a defaulted spec; the cnpg.config_sha256 line is added
 * only when the caller passes a SHA-256 hex function (the model has none).
 */
extern char *cb_custom_conf(const CbClusterSpec *spec,
							char *(*sha256_hex) (const char *data, size_t len));

#endif							/* CB_MODEL_H */
