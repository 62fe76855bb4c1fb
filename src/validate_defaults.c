/*-------------------------------------------------------------------------
 *
 * validate_defaults.c
 *	  CloudNativePG's defaulting of a Cluster: what its defaulting webhook
 *	  and the CRD's defaults fill before any check runs.
 *
 * Pure, like the rest of the model (see model.h).
 *
 * IDENTIFICATION
 *	  src/validate_defaults.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "model.h"
#include "validate_int.h"


/* ---------- defaulting (docs/cnpg-rules.md §2) ---------- */

/* the app DB and its owner; its Secret is generated unless one is named */
static void
default_application_database(const CbClusterSpec *spec, char **database,
							 char **owner, CbKeyRef *secret, bool creates_db)
{
	if (str_empty(*owner))
		*owner = *database;
	if (creates_db && !secret->present && !str_empty(*database) &&
		!str_empty(*owner))
		secret->name = psprintf("%s-app", spec->name ? spec->name : "");
}

static void
default_bootstrap(CbClusterSpec *spec)
{
	CbBootstrap *b = &spec->bootstrap;

	if (b->recovery.present)
	{
		b->method = CB_BOOTSTRAP_RECOVERY;
		if (str_empty(b->recovery.database))
			b->recovery.database = pstrdup("app");
		default_application_database(spec, &b->recovery.database,
									 &b->recovery.owner, &b->recovery.secret,
									 !cb_is_replica_cluster(spec));
	}
	else if (b->pg_basebackup.present)
	{
		b->method = CB_BOOTSTRAP_PG_BASEBACKUP;
		if (str_empty(b->pg_basebackup.database))
			b->pg_basebackup.database = pstrdup("app");
		default_application_database(spec, &b->pg_basebackup.database,
									 &b->pg_basebackup.owner,
									 &b->pg_basebackup.secret,
									 !cb_is_replica_cluster(spec));
	}
	else
	{
		CbInitdb   *initdb = &b->initdb;

		b->method = CB_BOOTSTRAP_INITDB;
		initdb->present = true;
		/* a monolith import brings its own databases */
		if (str_empty(initdb->database) &&
			!(initdb->import.present && str_eq(initdb->import.type, "monolith")))
			initdb->database = pstrdup("app");
		default_application_database(spec, &initdb->database, &initdb->owner,
									 &initdb->secret, true);
		if (str_empty(initdb->encoding))
			initdb->encoding = pstrdup("UTF8");
		if (str_empty(initdb->locale_collate))
			initdb->locale_collate = pstrdup("C");
		if (str_empty(initdb->locale_ctype))
			initdb->locale_ctype = pstrdup("C");
	}
}

/*
 * Fill what CloudNativePG's defaulting and the CRD defaults fill.  A
 * generated Secret name is set with its CbKeyRef's present left false, so
 * that later steps know to create it.
 */
void
cb_default_cluster(CbClusterSpec *spec)
{
	if (str_empty(spec->namespace))
		spec->namespace = pstrdup("default");
	if (spec->instances == 0)
		spec->instances = 1;
	if (str_empty(spec->image_name) && !spec->has_image_catalog_ref)
		spec->image_name = pstrdup(CB_DEFAULT_IMAGE);
	default_bootstrap(spec);
	if (str_empty(spec->log_level))
		spec->log_level = pstrdup("info");
	if (!spec->has_superuser_secret)
		spec->superuser_secret_name = psprintf("%s-superuser",
											   spec->name ? spec->name : "");
	spec->parameters = cb_sanitized_parameters(spec, &spec->parameters);
	spec->pg_major = spec->has_image_catalog_ref ? 0 :
		cb_pg_major_from_image(spec->image_name);
	if (!cb_parse_quantity(spec->storage_size, &spec->storage_bytes))
		spec->storage_bytes = 0;
	if (!cb_parse_quantity(spec->wal_storage_size, &spec->wal_storage_bytes))
		spec->wal_storage_bytes = 0;
}
