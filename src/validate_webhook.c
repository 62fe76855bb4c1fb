/*-------------------------------------------------------------------------
 *
 * validate_webhook.c
 *	  The checks of CloudNativePG's validating webhook, one function per
 *	  item: bootstrap methods, import, certificates, image, recovery target,
 *	  storage, names, sources, external clusters, replica mode, promotion
 *	  token.  validate.c runs them in the webhook's order.
 *
 * Pure, like the rest of the model (see model.h).
 *
 * IDENTIFICATION
 *	  src/validate_webhook.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "model.h"
#include "promotion_token.h"
#include "validate_bootstrap.h"
#include "validate_input.h"
#include "validate_int.h"


/* ---------- webhook checks (docs/cnpg-rules.md §3.2) ---------- */

#define HINT_APP_DB "Give both the database and its owner, or neither."

/* item 1: database and owner come in pairs */
static void
check_application_database(CbValidation *v, const char *method,
						   const char *database, const char *owner)
{
	if (!str_empty(database) && str_empty(owner))
		invalid(v, psprintf("spec.bootstrap.%s.owner", method), cb_go_quote(""),
				"You need to specify the database owner user", HINT_APP_DB);
	if (str_empty(database) && !str_empty(owner))
		invalid(v, psprintf("spec.bootstrap.%s.database", method), cb_go_quote(""),
				"You need to specify the database name", HINT_APP_DB);
}

/* item 3: only postInitApplicationSQLRefs is checked, as CloudNativePG does */
static void
check_application_sql_refs(CbValidation *v, const CbSQLRefs *refs)
{
	const char *hint = "Each SQL reference needs a name and a key.";
	int			i;

	for (i = 0; i < refs->nsecrets; i++)
		if (str_empty(refs->secrets[i].name) || str_empty(refs->secrets[i].key))
			invalid(v, "spec.bootstrap.initdb.postInitApplicationSQLRefs.secretRefs",
					cb_go_key_selector("SecretKeySelector", &refs->secrets[i]),
					"key and name must be specified", hint);
	for (i = 0; i < refs->nconfigmaps; i++)
		if (str_empty(refs->configmaps[i].name) || str_empty(refs->configmaps[i].key))
			invalid(v, "spec.bootstrap.initdb.postInitApplicationSQLRefs.configMapRefs",
					cb_go_key_selector("ConfigMapKeySelector", &refs->configmaps[i]),
					"key and name must be specified", hint);
}

/* items 1-3 for initdb */
void
cb_check_initdb(CbValidation *v)
{
	const CbInitdb *initdb = &v->spec->bootstrap.initdb;

	if (!initdb->present)
		return;
	check_application_database(v, "initdb", initdb->database, initdb->owner);
	if (initdb->wal_segment_size != 0 &&
		(initdb->wal_segment_size & (initdb->wal_segment_size - 1)) != 0)
		invalid(v, "spec.bootstrap.initdb.walSegmentSize",
				cb_go_int(initdb->wal_segment_size),
				"WAL segment size must be a power of 2",
				"walSegmentSize must be a power of 2 between 1 and 1024 (MB).");
	check_application_sql_refs(v, &initdb->post_init_application_sql_refs);
	cb_check_initdb_options(&initdb->options, "spec.bootstrap.initdb.options",
							cb_report_forbidden, v);
}

/* item 1 for recovery and pg_basebackup */
void
cb_check_recovery_database(CbValidation *v)
{
	const CbRecovery *rec = &v->spec->bootstrap.recovery;

	if (rec->present)
		check_application_database(v, "recovery", rec->database, rec->owner);
}

void
cb_check_pg_basebackup_database(CbValidation *v)
{
	const CbBasebackup *bb = &v->spec->bootstrap.pg_basebackup;

	if (bb->present)
		check_application_database(v, "pg_basebackup", bb->database, bb->owner);
}

#define IMPORT_PATH "spec.bootstrap.initdb.import."
#define HINT_MICROSERVICE \
	"A microservice import takes exactly one database, named without " \
	"wildcards, and no roles."
#define HINT_MONOLITH \
	"A monolith import takes a list of databases and roles, or \"*\" alone " \
	"for all, and no postImportApplicationSQL."

static void
check_microservice_import(CbValidation *v, const CbImport *imp)
{
	if (imp->databases.n != 1)
		invalid(v, IMPORT_PATH "databases", cb_go_string_slice(&imp->databases),
				"You need to specify a single database for the `microservice` import type",
				HINT_MICROSERVICE);
	/* CloudNativePG prints the databases here, not the roles */
	if (imp->roles.n != 0)
		invalid(v, IMPORT_PATH "roles", cb_go_string_slice(&imp->databases),
				"You cannot specify roles to import for the `microservice` import type",
				HINT_MICROSERVICE);
	if (imp->databases.n == 1 && strchr(imp->databases.items[0], '*') != NULL)
		invalid(v, IMPORT_PATH "databases.0", cb_go_string_slice(&imp->databases),
				"You cannot specify any wildcard for the `microservice` import type",
				HINT_MICROSERVICE);
}

static bool
list_contains(const CbStringList *list, const char *item)
{
	int			i;

	for (i = 0; i < list->n; i++)
		if (str_eq(list->items[i], item))
			return true;
	return false;
}

static void
check_monolith_import(CbValidation *v, const CbImport *imp)
{
	if (imp->databases.n < 1)
		invalid(v, IMPORT_PATH "databases", cb_go_string_slice(&imp->databases),
				"You need to specify at least a database for the `monolith` import type",
				HINT_MONOLITH);
	if (imp->databases.n > 1 && list_contains(&imp->databases, "*"))
		invalid(v, IMPORT_PATH "databases", cb_go_string_slice(&imp->databases),
				"Wildcard import cannot be used along other database names",
				HINT_MONOLITH);
	if (imp->roles.n > 1 && list_contains(&imp->roles, "*"))
		invalid(v, IMPORT_PATH "roles", cb_go_string_slice(&imp->databases),
				"Wildcard import cannot be used along other role names",
				HINT_MONOLITH);
	if (imp->post_import_application_sql.n > 0)
		invalid(v, IMPORT_PATH "postImportApplicationSQL",
				cb_go_string_slice(&imp->post_import_application_sql),
				"postImportApplicationSQL is not allowed for the `monolith` import type",
				HINT_MONOLITH);
}

/* item 4 */
void
cb_check_import(CbValidation *v)
{
	const CbImport *imp = &v->spec->bootstrap.initdb.import;

	if (!v->spec->bootstrap.initdb.present || !imp->present)
		return;
	if (str_eq(imp->type, "microservice"))
		check_microservice_import(v, imp);
	else if (str_eq(imp->type, "monolith"))
		check_monolith_import(v, imp);
	else
		invalid(v, IMPORT_PATH "type", cb_go_quote(imp->type),
				"Unrecognized import type",
				"The import type is microservice or monolith.");
}

/* item 5 (CloudNativePG's path is in lower case) */
void
cb_check_superuser_secret(CbValidation *v)
{
	if (v->spec->has_superuser_secret &&
		str_empty(v->spec->superuser_secret_name))
		invalid(v, "spec.superusersecret.name", cb_go_quote(""),
				"Super user secret name can't be empty",
				"Name the superuser Secret, or leave superuserSecret out.");
}

/* item 6 */
void
cb_check_certificates(CbValidation *v)
{
	const CbCertificates *c = &v->spec->certificates;

	if (!c->present)
		return;
	if (!str_empty(c->server_tls_secret))
	{
		if (c->server_alt_dns_names.n != 0)
		{
			StringInfoData names;
			int			i;

			/* fmt.Sprintf("%v") of the list, then quoted */
			initStringInfo(&names);
			appendStringInfoChar(&names, '[');
			for (i = 0; i < c->server_alt_dns_names.n; i++)
				appendStringInfo(&names, "%s%s", i ? " " : "",
								 c->server_alt_dns_names.items[i]);
			appendStringInfoChar(&names, ']');
			invalid(v, "spec.certificates.serveraltdnsnames", cb_go_quote(names.data),
					"Server alternative DNS names can't be defined when server TLS secret is provided",
					"Put the alternative names in the server certificate you provide.");
		}
		if (str_empty(c->server_ca_secret))
			invalid(v, "spec.certificates.servercasecret", cb_go_quote(""),
					"Server CA secret can't be empty when server TLS secret is provided",
					"Give serverCASecret along with serverTLSSecret.");
	}
	if (!str_empty(c->replication_tls_secret) && str_empty(c->client_ca_secret))
		invalid(v, "spec.certificates.clientcasecret", cb_go_quote(""),
				"Client CA secret can't be empty when client replication secret is provided",
				"Give clientCASecret along with replicationTLSSecret.");
}

/* item 7 */
void
cb_check_bootstrap_method(CbValidation *v)
{
	if (v->bootstrap_methods > 1)
		forbidden(v, "spec.bootstrap",
				  "Only one bootstrap method can be specified at a time",
				  "Use one of initdb, recovery and pg_basebackup.");
}

/* item 8 */
void
cb_check_image_name(CbValidation *v)
{
	static const char *const messages[] = {
		[CB_IMAGE_LATEST] = "Can't use 'latest' as image tag as we can't detect upgrades",
		[CB_IMAGE_DIGEST_ONLY] = "Can't use just the image sha as we can't detect upgrades",
		[CB_IMAGE_BAD_VERSION] = "invalid version tag",
	};
	const char *image = v->spec->image_name;
	int			major;
	CbImageTagStatus status;

	if (str_empty(image))
		return;
	status = cb_image_tag_status(image, &major);
	if (status != CB_IMAGE_OK)
		invalid(v, "spec.imageName", cb_go_quote(image), messages[status],
				"The image tag must start with the PostgreSQL version, as in "
				"ghcr.io/cloudnative-pg/postgresql:18.6-system-trixie.");
}

#define TARGET_PATH "spec.bootstrap.recovery.recoveryTarget"

/* item 9, first half: exclusiveness and the syntax of each target */
static void
check_recovery_target_values(CbValidation *v, const CbRecoveryTarget *t)
{
	int			targets = (t->target_immediate != CB_UNSET) +
		!str_empty(t->target_lsn) + !str_empty(t->target_name) +
		!str_empty(t->target_xid) + !str_empty(t->target_time);

	if (targets > 1)
		invalid(v, TARGET_PATH, cb_go_recovery_target(t),
				"Recovery target options are mutually exclusive",
				"Give one of targetImmediate, targetLSN, targetName, targetXID and targetTime.");
	if (!str_empty(t->target_time) && cb_recovery_target_time(t->target_time) == NULL)
		invalid(v, TARGET_PATH, cb_go_quote(t->target_time),
				"The format of TargetTime is invalid",
				"Write targetTime as YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]] or in RFC 3339.");
	if (!str_empty(t->target_lsn) && !cb_is_lsn(t->target_lsn))
		invalid(v, TARGET_PATH, cb_go_quote(t->target_lsn), "Invalid TargetLSN",
				"Write targetLSN as two hexadecimal numbers around a slash, as in 0/3000060.");
	if (!str_empty(t->target_xid) && !cb_is_xid(t->target_xid))
		invalid(v, TARGET_PATH ".targetXID", cb_go_quote(t->target_xid),
				"recovery target xid must be a non-negative 32-bit integer",
				"targetXID is a decimal number from 0 to 4294967295.");
}

/* PostgreSQL's restore point names: NAMEDATALEN-1 bytes, no control characters */
static void
check_recovery_target_name(CbValidation *v, const CbRecoveryTarget *t)
{
	const char *hint = "targetName is a restore point name: at most 63 bytes, "
		"no control characters.";
	const char *p;

	if (str_empty(t->target_name))
		return;
	if (strlen(t->target_name) >= 64)
		invalid(v, TARGET_PATH ".targetName", cb_go_quote(t->target_name),
				"recovery target name must be shorter than 64 bytes", hint);
	for (p = t->target_name; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7F)
			break;
	if (*p != '\0')
		invalid(v, TARGET_PATH ".targetName", cb_go_quote(t->target_name),
				"recovery target name must not contain ASCII control characters",
				hint);
}

/* item 9 */
void
cb_check_recovery_target(CbValidation *v)
{
	const CbRecovery *rec = &v->spec->bootstrap.recovery;
	const CbRecoveryTarget *t = &rec->target;
	int64		tli;

	if (!rec->present || !t->present)
		return;
	check_recovery_target_values(v, t);
	check_recovery_target_name(v, t);

	/* a backup catalog finds the base backup by time or LSN only */
	if ((!str_empty(t->target_name) || !str_empty(t->target_xid) ||
		 t->target_immediate != CB_UNSET) &&
		!rec->has_volume_snapshots && str_empty(t->backup_id))
		required(v, TARGET_PATH, "BackupID is missing",
				 "Give backupID with targetName, targetXID or targetImmediate.");

	if (!str_empty(t->target_tli) && strcmp(t->target_tli, "latest") != 0 &&
		(!cb_go_atoi(t->target_tli, &tli) || tli < 1))
		invalid(v, TARGET_PATH ".targetTLI", cb_go_recovery_target(t),
				"recovery target timeline can be set to 'latest' or a positive integer",
				"targetTLI is latest or a timeline number from 1.");
}

/* item 10, with CloudNativePG's minSyncReplicas checks before it */
void
cb_check_sync_replicas(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;
	const char *hint = "0 <= minSyncReplicas <= maxSyncReplicas < instances.";

	if (spec->min_sync_replicas < 0)
		invalid(v, "spec.minSyncReplicas", cb_go_int(spec->min_sync_replicas),
				"minSyncReplicas must be a non negative integer", hint);
	if (spec->min_sync_replicas > spec->max_sync_replicas)
		invalid(v, "spec.minSyncReplicas", cb_go_int(spec->min_sync_replicas),
				"minSyncReplicas cannot be greater than maxSyncReplicas", hint);
	if (spec->max_sync_replicas < 0)
		invalid(v, "spec.maxSyncReplicas", cb_go_int(spec->max_sync_replicas),
				"maxSyncReplicas must be a non negative integer", hint);
	if (spec->max_sync_replicas >= spec->instances)
		invalid(v, "spec.maxSyncReplicas", cb_go_int(spec->max_sync_replicas),
				"maxSyncReplicas must be lower than the number of instances", hint);
}

static void
check_storage_size(CbValidation *v, const char *path, const char *size,
				   bool has_template_request)
{
	const char *hint = "The size is a Kubernetes quantity such as 1Gi, 500M "
		"or 1e9 (not 1GB).";

	if (!str_empty(size) && !cb_parse_quantity(size, NULL))
		invalid(v, psprintf("%s.size", path), cb_go_quote(size),
				"Size value isn't valid", hint);
	if (str_empty(size) && !has_template_request)
		invalid(v, psprintf("%s.size", path), cb_go_quote(size),
				"Size not configured. Please add it, or a storage request in the pvcTemplate.",
				hint);
}

/* item 11 */
void
cb_check_storage(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;

	check_storage_size(v, "spec.storage", spec->storage_size,
					   spec->has_storage_pvc_template_request);
	if (spec->has_wal_storage)
		check_storage_size(v, "spec.walStorage", spec->wal_storage_size,
						   spec->has_wal_storage_pvc_template_request);
}

/* item 12: names become services, paths and certificate names */
void
cb_check_name(CbValidation *v)
{
	const char *name = v->spec->name ? v->spec->name : "";

	if (strlen(name) > 63 || !cb_is_dns_label(name, strlen(name), true))
		invalid(v, "metadata.name", cb_go_quote(name),
				"cluster name must be a valid DNS label", HINT_CLUSTER_NAME);
	if (strlen(name) > 50)
		invalid(v, "metadata.name", cb_go_quote(name),
				"the maximum length of a cluster name is 50 characters",
				HINT_CLUSTER_NAME);
}

#define HINT_EXTERNAL \
	"Sources are named in spec.externalClusters."

static void
check_external_reference(CbValidation *v, const char *path, const char *name)
{
	if (cb_find_external_cluster(v->spec, name) == NULL)
		invalid(v, path, cb_go_quote(name),
				psprintf("External cluster %s not found", name ? name : ""),
				HINT_EXTERNAL);
}

/*
 * item 13; and, where CloudNativePG fails at run time, a source that
 * pg_basebackup cannot connect to
 */
void
cb_check_pg_basebackup_source(CbValidation *v)
{
	const CbBasebackup *bb = &v->spec->bootstrap.pg_basebackup;
	const CbExternalCluster *ec;

	if (!bb->present)
		return;
	check_external_reference(v, "spec.bootstrap.pg_basebackup.source",
							 bb->source);
	ec = cb_find_external_cluster(v->spec, bb->source);
	if (ec != NULL && ec->connection_parameters.n == 0)
		invalid(v, "spec.bootstrap.pg_basebackup.source", cb_go_quote(bb->source),
				psprintf("External cluster %s cannot be used for pg_basebackup: "
						 "missing connection parameters", bb->source),
				"A pg_basebackup source needs connectionParameters.");
}

/* item 14 */
void
cb_check_recovery_source(CbValidation *v)
{
	const CbRecovery *rec = &v->spec->bootstrap.recovery;
	const CbExternalCluster *ec;

	if (!rec->present || str_empty(rec->source))
		return;
	check_external_reference(v, "spec.bootstrap.recovery.source", rec->source);
	ec = cb_find_external_cluster(v->spec, rec->source);
	if (ec == NULL || (!ec->has_connection_parameters &&
					   !ec->barman_object_store.present && !ec->has_plugin))
		invalid(v, "spec.bootstrap.recovery.source", cb_go_quote(rec->source),
				psprintf("External cluster %s cannot be used for recovery: "
						 "missing connection parameters, Barman, or CNPG-i configuration",
						 rec->source),
				"A recovery source needs a barmanObjectStore (or a plugin, or connectionParameters).");
}

#define HINT_SNAPSHOT_KINDS \
	"A snapshot source is a VolumeSnapshot (apiGroup snapshot.storage.k8s.io) " \
	"or a PersistentVolumeClaim (no apiGroup)."

/* item 15; the snapshots themselves are refused later (cb_check_host_bootstrap) */
void
cb_check_recovery_data_source(CbValidation *v)
{
	const CbRecovery *rec = &v->spec->bootstrap.recovery;
	const char *hint = "A recovery from volumeSnapshots takes no backup and "
		"no backupID, and needs spec.walStorage for a WAL snapshot.";
	const char *kinds = "Only VolumeSnapshots and PersistentVolumeClaims are supported";
	const char *ref = "v1.TypedLocalObjectReference{...}";

	if (!rec->present || !rec->has_volume_snapshots)
		return;
	if (rec->backup.present)
	{
		invalid(v, "spec.bootstrap.recovery.backup", cb_go_backup_source(rec),
				"Recovery from dataSource is not compatible with other types of recovery",
				hint);
		return;
	}
	if (rec->target.present && !str_empty(rec->target.backup_id))
	{
		invalid(v, TARGET_PATH ".backupID", cb_go_quote(rec->target.backup_id),
				"Cannot specify a backupID when recovering using a DataSource",
				hint);
		return;
	}
	if (!cb_volume_snapshot_source_ok(rec->volume_snapshots_api_group, rec->volume_snapshots_kind))
		invalid(v, "spec.bootstrap.recovery.storage", ref, kinds, HINT_SNAPSHOT_KINDS);
	if (rec->has_volume_snapshots_wal && !v->spec->has_wal_storage)
		invalid(v, "spec.bootstrap.recovery.dataSource.walStorage", ref,
				"A WAL storage configuration is required when recovering using a DataSource for WALs",
				hint);
	if (rec->has_volume_snapshots_wal &&
		!cb_volume_snapshot_source_ok(rec->volume_snapshots_wal_api_group,
									  rec->volume_snapshots_wal_kind))
		invalid(v, "spec.bootstrap.recovery.dataSource.walStorage", ref, kinds,
				HINT_SNAPSHOT_KINDS);
}


/* a name that becomes one path component (docs/cnpg-rules.md §1.6) */
static bool
is_path_component(const char *s)
{
	return s == NULL || (strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
						 strchr(s, '/') == NULL && strchr(s, '\\') == NULL);
}

static void
check_path_component(CbValidation *v, const char *path, const char *value)
{
	if (!is_path_component(value))
		invalid(v, path, cb_go_quote(value),
				"cannot contain a path separator or a '..' component",
				"Names that become file names cannot hold '/' or '\\', nor be '.' or '..'.");
}

static void
check_external_cluster(CbValidation *v, const CbExternalCluster *ec,
					   const char *path)
{
	int			i;

	if (!ec->has_connection_parameters && !ec->barman_object_store.present &&
		!ec->has_plugin)
		required(v, path,
				 "one of connectionParameters, plugin and barmanObjectStore is required",
				 "Give the source's connectionParameters, barmanObjectStore or plugin.");
	check_path_component(v, psprintf("%s.name", path), ec->name);
	cb_check_connection_parameters(&ec->connection_parameters,
								   psprintf("%s.connectionParameters", path),
								   cb_report_forbidden, v);
	for (i = 0; i < NELEM(cb_external_selectors); i++)
	{
		const CbKeyRef *ref = cb_external_selector(ec, i);

		if (!ref->present || !cb_external_selectors[i].is_file_name)
			continue;
		check_path_component(v, psprintf("%s.%s.name", path,
										 cb_external_selectors[i].path), ref->name);
		check_path_component(v, psprintf("%s.%s.key", path,
										 cb_external_selectors[i].path), ref->key);
	}
}

/* item 16 */
void
cb_check_external_clusters(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;
	bool		duplicates = false;
	int			i;
	int			j;

	for (i = 0; i < spec->nexternal_clusters; i++)
	{
		check_external_cluster(v, &spec->external_clusters[i],
							   psprintf("spec.externalClusters[%d]", i));
		for (j = 0; j < i; j++)
			if (str_eq(spec->external_clusters[i].name,
					   spec->external_clusters[j].name))
				duplicates = true;
	}
	if (duplicates)
		invalid(v, "spec.externalClusters", cb_go_external_clusters(spec),
				"the list of external clusters contains duplicate values",
				"Give each external cluster its own name.");
}

/* CloudNativePG's check runs on creation only: not yet stored here */
static bool
is_new_cluster(const CbValidation *v)
{
	if (v->spec->has_resource_version)
		return false;
	return v->existing_clusters == NULL ||
		!list_contains(v->existing_clusters, v->spec->name);
}

/* item 17 (CloudNativePG's paths say replicaCluster, the JSON key is replica) */
void
cb_check_replica_mode(CbValidation *v)
{
	const CbClusterSpec *spec = v->spec;
	const CbReplica *r = &spec->replica;
	const CbBootstrap *b = &spec->bootstrap;

	if (!r->present)
		return;
	if (r->enabled != CB_UNSET && !str_empty(r->primary))
		forbidden(v, "spec.replicaCluster.enabled",
				  "replica mode enabled is not compatible with the primary field",
				  "Use replica.enabled, or replica.primary with replica.self, not both.");
	if (cb_is_replica_cluster(spec))
	{
		if (!v->bootstrap_written)
			required(v, "spec.bootstrap",
					 "bootstrap configuration is required for replica mode",
					 "A replica cluster bootstraps with pg_basebackup or recovery.");
		else if (!b->pg_basebackup.present && !b->recovery.present &&
				 is_new_cluster(v))
			invalid(v, "spec.replicaCluster", cb_go_replica(r),
					"replica mode bootstrap is compatible only with pg_basebackup or recovery",
					"A replica cluster bootstraps with pg_basebackup or recovery.");
	}
	check_external_reference(v, "spec.replicaCluster.primaryServerName", r->source);
	if (!str_empty(r->self))
		check_external_reference(v, "spec.replicaCluster.self", r->self);
	if (!str_empty(r->primary))
		check_external_reference(v, "spec.replicaCluster.primary", r->primary);
}


/* item 19 */
void
cb_check_promotion_token(CbValidation *v)
{
	const CbReplica *r = &v->spec->replica;
	const char *hint = "A promotion token comes from the demoted primary "
		"(base64 of its pg_controldata JSON) and is given to a primary "
		"cluster, without minApplyDelay.";
	char	   *problem;

	if (!r->present || str_empty(r->promotion_token))
		return;
	if (!str_empty(r->min_apply_delay))
		invalid(v, "spec.replicaCluster.minApplyDelay", cb_go_quote(r->promotion_token),
				"minApplyDelay cannot be applied with a promotion token", hint);
	else if (cb_is_replica_cluster(v->spec))
		invalid(v, "spec.replicaCluster.token", cb_go_quote(r->promotion_token),
				"promotionToken is only allowed for primary clusters", hint);
	else if ((problem = cb_promotion_token_problem(r->promotion_token)) != NULL)
		invalid(v, "spec.replicaCluster.token", cb_go_quote(r->promotion_token),
				problem, hint);
}
