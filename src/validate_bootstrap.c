/*-------------------------------------------------------------------------
 *
 * validate_bootstrap.c
 *	  Bootstrap rules checked at apply where one host answers otherwise
 *	  than CloudNativePG on Kubernetes (issue 12, "everything the Bootstrap
 *	  page says, exactly").
 *
 * Refused, after CloudNativePG's own checks have run (so that its errors
 * come first):
 * - recovery.volumeSnapshots: a recovery from VolumeSnapshot (or
 *   PersistentVolumeClaim) objects.  There are none on one host, and
 *   ignoring the field would run some other recovery than the one asked
 *   for.  pg_basebackup or a recovery from an object store does the job.
 * - recovery.backup together with recovery.source: CloudNativePG restores
 *   the Backup object and does not choose a backup in source's store; we
 *   never receive Backup objects, so restoring from source would silently
 *   ignore what was asked for.
 *   (recovery.backup alone fails at bootstrap with its own message.)
 *
 * Said in a NOTICE, because CloudNativePG ignores it without a word:
 * - the *SQLRefs of an initdb with import: CloudNativePG leaves their
 *   folders out of the import job, so the scripts never run; the worker
 *   does the same (reconcile.c) and references.c does not count them as
 *   references of the Cluster.
 *
 * IDENTIFICATION
 *	  src/validate_bootstrap.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "validate_bootstrap.h"

#define SNAPSHOT_API_GROUP "snapshot.storage.k8s.io"

bool
cb_volume_snapshot_source_ok(const char *api_group, const char *kind)
{
	const char *group = api_group ? api_group : "";
	const char *k = kind ? kind : "";

	return (strcmp(group, SNAPSHOT_API_GROUP) == 0 && strcmp(k, "VolumeSnapshot") == 0) ||
		(group[0] == '\0' && strcmp(k, "PersistentVolumeClaim") == 0);
}

void
cb_check_host_bootstrap(const CbClusterSpec *spec, CbInputReport report, void *arg)
{
	const CbRecovery *rec = &spec->bootstrap.recovery;

	if (!rec->present)
		return;
	if (rec->has_volume_snapshots)
		report(arg, "spec.bootstrap.recovery.volumeSnapshots",
			   "recovery from volume snapshots is not possible on one host: "
			   "there are no VolumeSnapshot or PersistentVolumeClaim objects to restore",
			   "Clone the running source with spec.bootstrap.pg_basebackup, or recover "
			   "from an object store: spec.bootstrap.recovery.source naming an "
			   "externalClusters entry with a barmanObjectStore or the Barman Cloud plugin.");
	if (rec->backup.present && rec->source != NULL && rec->source[0] != '\0')
		report(arg, "spec.bootstrap.recovery.backup",
			   "recovery.backup cannot be used with recovery.source: CloudNativePG "
			   "would restore the Backup object, not a backup of source, and "
			   "cnpg_bootstrap receives no Backup objects",
			   "Remove recovery.backup and recover from the object store of "
			   "recovery.source; choose a backup with recoveryTarget.backupID.");
}

static void
add_note(CbDocument *doc, char *message, char *detail, char *hint)
{
	doc->notes = doc->nnotes == 0 ? palloc(sizeof(CbNote)) :
		repalloc(doc->notes, sizeof(CbNote) * (doc->nnotes + 1));
	doc->notes[doc->nnotes].message = message;
	doc->notes[doc->nnotes].detail = detail;
	doc->notes[doc->nnotes].hint = hint;
	doc->nnotes++;
}

void
cb_bootstrap_notes(const CbClusterSpec *spec, CbDocument *doc)
{
	const CbInitdb *initdb = &spec->bootstrap.initdb;
	const struct
	{
		const char *path;
		const CbSQLRefs *refs;
	}			sql_refs[] =
	{
		{"spec.bootstrap.initdb.postInitSQLRefs", &initdb->post_init_sql_refs},
		{"spec.bootstrap.initdb.postInitTemplateSQLRefs", &initdb->post_init_template_sql_refs},
		{"spec.bootstrap.initdb.postInitApplicationSQLRefs", &initdb->post_init_application_sql_refs},
	};
	StringInfoData ignored;

	if (spec->bootstrap.method != CB_BOOTSTRAP_INITDB || !initdb->import.present)
		return;
	initStringInfo(&ignored);
	for (int i = 0; i < (int) lengthof(sql_refs); i++)
		if (sql_refs[i].refs->nsecrets + sql_refs[i].refs->nconfigmaps > 0)
			appendStringInfo(&ignored, "%s%s", ignored.len ? ", " : "", sql_refs[i].path);
	if (ignored.len == 0)
		return;
	add_note(doc,
			 psprintf("ignored with initdb.import: %s", ignored.data),
			 pstrdup("CloudNativePG runs no *SQLRefs script when it imports (it leaves them "
					 "out of the import job), and neither does cnpg_bootstrap; postInitSQL, "
					 "postInitTemplateSQL and postInitApplicationSQL still run."),
			 pstrdup("Move the statements to postInitSQL, postInitTemplateSQL or "
					 "postInitApplicationSQL, or (microservice) to "
					 "import.postImportApplicationSQL, which runs after the import."));
}
