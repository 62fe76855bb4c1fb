-- Apply-time answers about bootstrap (issue 12, items 6-9):
--  6. recovery.volumeSnapshots is refused (no VolumeSnapshot objects on one
--     host), after CloudNativePG's own rule on the snapshot kinds;
--  7. recovery.backup together with recovery.source is refused (CloudNativePG
--     lets the Backup object win; we never receive Backup objects);
--  8. the *SQLRefs of an initdb with import are ignored, as CloudNativePG
--     ignores them: a NOTICE names them, and their Secrets/ConfigMaps are no
--     references of the Cluster;
--  9. an empty connectionParameters map counts as written; DEL and the other
--     control characters PostgreSQL text can hold are accepted and read back
--     from the catalog; a NUL is refused naming the field (never its value);
--     a replica cluster without bootstrap gets CloudNativePG's message.
-- The recovery serverName defaults (item 5) need an object store: t/014.
CREATE EXTENSION IF NOT EXISTS cnpg_bootstrap;
SET client_min_messages = notice;
\set ON_ERROR_STOP 0
\set VERBOSITY default

-- SQLSTATE and errmsg of a rejection, or what a dry run accepted; and
-- whether S3CR3T appears in any error field
CREATE FUNCTION pg_temp.try_apply(manifest text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
	r record;
	result text := 'accepted:';
	msg text;
	det text;
	hnt text;
BEGIN
	FOR r IN SELECT * FROM cnpg_bootstrap_apply(manifest, dry_run => true) LOOP
		result := result || ' ' || r.kind || '/' || r.name || ' ' || r.action;
	END LOOP;
	RETURN result;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
		hnt = PG_EXCEPTION_HINT;
	IF concat(msg, det, hnt) LIKE '%S3CR3T%' THEN
		RETURN 'LEAK: ' || concat_ws(' | ', msg, det, hnt);
	END IF;
	RETURN SQLSTATE || ' ' || msg;
END
$f$;

-- a Cluster bootstrapped by recovery with the given recovery section (a
-- YAML flow map) and an object store source named origin
CREATE FUNCTION pg_temp.recovery(recovery text, extra text DEFAULT '') RETURNS text
LANGUAGE sql AS $f$
SELECT format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: br-recovery
spec:
  instances: 1
  storage:
    size: 1Gi
%s
  bootstrap:
    recovery: %s
  externalClusters:
  - name: origin
    barmanObjectStore:
      destinationPath: s3://backups/origin
$m$, extra, recovery)
$f$;

------------------------------------------------------------------------
-- 6. volumeSnapshots
------------------------------------------------------------------------

-- refused whatever the snapshot: the whole error, then each case
SELECT * FROM cnpg_bootstrap_apply(pg_temp.recovery(
	'{volumeSnapshots: {storage: {name: snap-1, kind: VolumeSnapshot, apiGroup: snapshot.storage.k8s.io}}}'),
	dry_run => true);
-- CloudNativePG's own rule on the kinds comes first
SELECT * FROM cnpg_bootstrap_apply(pg_temp.recovery(
	'{volumeSnapshots: {storage: {name: snap-1, kind: Deployment, apiGroup: apps}}}'),
	dry_run => true);
SELECT v, pg_temp.try_apply(pg_temp.recovery(v, w))
FROM (VALUES
	('{volumeSnapshots: {storage: {name: pvc-1, kind: PersistentVolumeClaim}}}', ''),
	('{volumeSnapshots: {storage: {name: pvc-1, kind: PersistentVolumeClaim, apiGroup: ""}}}', ''),
	('{volumeSnapshots: {storage: {name: pvc-1, kind: PersistentVolumeClaim, apiGroup: snapshot.storage.k8s.io}}}', ''),
	('{volumeSnapshots: {storage: {name: snap-1, kind: VolumeSnapshot}}}', ''),
	('{volumeSnapshots: {storage: {name: snap-1, kind: volumesnapshot, apiGroup: snapshot.storage.k8s.io}}}', ''),
	('{volumeSnapshots: {storage: {name: snap-1, kind: VolumeSnapshot, apiGroup: snapshot.storage.k8s.io},'
	 ' walStorage: {name: snap-2, kind: Secret}}}',
	 '  walStorage: {size: 1Gi}'),
	('{volumeSnapshots: {storage: {name: snap-1, kind: VolumeSnapshot, apiGroup: snapshot.storage.k8s.io},'
	 ' walStorage: {name: snap-2, kind: VolumeSnapshot, apiGroup: snapshot.storage.k8s.io}}}',
	 '  walStorage: {size: 1Gi}'),
	('{source: origin, volumeSnapshots: {storage: {name: snap-1, kind: VolumeSnapshot, apiGroup: snapshot.storage.k8s.io}}}', '')
  ) AS t(v, w);

------------------------------------------------------------------------
-- 7. recovery.backup together with recovery.source
------------------------------------------------------------------------

SELECT * FROM cnpg_bootstrap_apply(pg_temp.recovery(
	'{backup: {name: backup-example}, source: origin}'), dry_run => true);
SELECT v, pg_temp.try_apply(pg_temp.recovery(v))
FROM (VALUES
	('{backup: {name: backup-example}, source: origin, recoveryTarget: {backupID: b1}}'),
	-- each alone is accepted (a Backup object alone fails at bootstrap)
	('{backup: {name: backup-example}}'),
	('{source: origin}')
  ) AS t(v);

------------------------------------------------------------------------
-- 8. *SQLRefs with import: a NOTICE naming them
------------------------------------------------------------------------

-- initdb is a flow map: the given fields, then the import
CREATE FUNCTION pg_temp.import_refs(refs text, import text DEFAULT
	', import: {type: microservice, databases: [shop], source: {externalCluster: old}}')
RETURNS text
LANGUAGE sql AS $f$
SELECT format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: br-import
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb: {%s%s}
  externalClusters:
  - name: old
    connectionParameters: {host: localhost, user: importer, dbname: postgres}
$m$, refs, import)
$f$;

-- two of the three refs: named in one NOTICE
SELECT * FROM cnpg_bootstrap_apply(pg_temp.import_refs(
	'postInitSQLRefs: {secretRefs: [{name: br-sql, key: a.sql}]},'
	' postInitApplicationSQLRefs: {configMapRefs: [{name: br-cm, key: b.sql}]}'),
	dry_run => true);
-- all three
SELECT * FROM cnpg_bootstrap_apply(pg_temp.import_refs(
	'postInitSQLRefs: {secretRefs: [{name: br-sql, key: a.sql}]},'
	' postInitTemplateSQLRefs: {configMapRefs: [{name: br-cm, key: b.sql}]},'
	' postInitApplicationSQLRefs: {secretRefs: [{name: br-sql, key: c.sql}]}'),
	dry_run => true);
-- no NOTICE: refs without import, import without refs, empty refs
SELECT * FROM cnpg_bootstrap_apply(pg_temp.import_refs(
	'postInitSQLRefs: {secretRefs: [{name: br-sql, key: a.sql}]}', ''),
	dry_run => true);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.import_refs('postInitSQL: ["SELECT 1"]'),
	dry_run => true);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.import_refs(
	'postInitSQLRefs: {secretRefs: []}, postInitTemplateSQLRefs: {}'),
	dry_run => true);

-- the refs of an import are not references of the Cluster: their Secret
-- can be deleted (the worker never reads it)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: br-sql
stringData:
  a.sql: SELECT 1
$$);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.import_refs(
	'postInitSQLRefs: {secretRefs: [{name: br-sql, key: a.sql}]}'));
SELECT cnpg_bootstrap_delete('Secret', 'br-sql');
SELECT cnpg_bootstrap_delete('Cluster', 'br-import');
-- without import they are references
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: br-sql
stringData:
  a.sql: SELECT 1
$$);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.import_refs(
	'postInitSQLRefs: {secretRefs: [{name: br-sql, key: a.sql}]}', ''));
SELECT cnpg_bootstrap_delete('Secret', 'br-sql');
SELECT cnpg_bootstrap_delete('Cluster', 'br-import');
SELECT cnpg_bootstrap_delete('Secret', 'br-sql');

------------------------------------------------------------------------
-- 9a. connectionParameters: {} is written
------------------------------------------------------------------------

CREATE FUNCTION pg_temp.external(ec text, bootstrap text DEFAULT '{}') RETURNS text
LANGUAGE sql AS $f$
SELECT format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: br-external
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap: %s
  externalClusters:
  - %s
$m$, bootstrap, ec)
$f$;
SELECT e, b, pg_temp.try_apply(pg_temp.external(e, b))
FROM (VALUES
	('{name: origin, connectionParameters: {}}', '{}'),
	('{name: origin}', '{}'),
	('{name: origin, connectionParameters: null}', '{}'),
	-- a recovery source with connectionParameters passes CloudNativePG's check
	('{name: origin, connectionParameters: {}}', '{recovery: {source: origin}}'),
	('{name: origin}', '{recovery: {source: origin}}'),
	-- pg_basebackup still needs a connection parameter (our rule)
	('{name: origin, connectionParameters: {}}', '{pg_basebackup: {source: origin}}')
  ) AS t(e, b);

------------------------------------------------------------------------
-- 9b. control characters PostgreSQL text holds are accepted
------------------------------------------------------------------------

CREATE FUNCTION pg_temp.controls(name text, description text, sql text) RETURNS text
LANGUAGE sql AS $f$
SELECT format($m$
apiVersion: v1
kind: Secret
metadata:
  name: %1$s-s
stringData:
  password: "pass\x7fword\x85\u2028S3CR3T"
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: %1$s
spec:
  description: "%2$s"
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      postInitSQL: ["%3$s"]
  externalClusters:
  - name: origin
    connectionParameters: {host: localhost, application_name: "a\x7fb"}
    password: {name: %1$s-s, key: password}
$m$, name, description, sql)
$f$;
SELECT d, pg_temp.try_apply(pg_temp.controls('br-ctl', d, 'SELECT 1'))
FROM (VALUES ('DEL \x7f'), ('NEL \x85 \N'), ('C1 \x80 \x9f'), ('LS \L PS \P'),
			 ('BOM \uFEFF'), ('nonchar \uFFFE \uFFFF'), ('C0 \x01 \x1f \e \a'),
			 ('tab \t CR \r LF \n')) AS t(d);
-- the recovery target name rule is CloudNativePG's again for DEL
SELECT pg_temp.try_apply(pg_temp.recovery('{source: origin, recoveryTarget: {backupID: b1, targetName: "a\x7fb"}}'));
SELECT pg_temp.try_apply(pg_temp.recovery('{source: origin, recoveryTarget: {backupID: b1, targetName: "a\x85b"}}'));
-- a value shown in an error escapes them as Go's %q does
SELECT * FROM cnpg_bootstrap_apply(pg_temp.recovery(
	'{source: origin, recoveryTarget: {targetTime: "2021-09-01\x85\x7f\L\uFEFF"}}'), dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: "Secret\x85\L"
metadata:
  name: x
$$, dry_run => true);
-- stored for real, read back: the catalog's jsonb gives them back raw,
-- and the stored document parses again (a Secret's deletion loads every
-- Cluster to see whether it still names it)
SELECT * FROM cnpg_bootstrap_apply(pg_temp.controls('br-ctl',
	'DEL \x7f NEL \x85 LS \L PS \P BOM \uFEFF nonchar \uFFFF C1 \x9f', 'SELECT ''\x7f\x85\u2028'''));
SELECT * FROM cnpg_bootstrap_apply(pg_temp.controls('br-ctl',
	'DEL \x7f NEL \x85 LS \L PS \P BOM \uFEFF nonchar \uFFFF C1 \x9f', 'SELECT ''\x7f\x85\u2028'''));
SELECT cnpg_bootstrap_secret('br-ctl-s', 'password') = E'pass\x7fword' || U&'\0085\2028' || 'S3CR3T'
	AS password_read_back;
SELECT doc -> 'spec' ->> 'description' = E'DEL \x7f NEL ' || U&'\0085 LS \2028 PS \2029 BOM \FEFF nonchar \FFFF C1 \009F'
	AS description_stored
  FROM cnpg_bootstrap.objects WHERE kind = 'Cluster' AND name = 'br-ctl';
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: br-other
stringData:
  k: v
$$);
SELECT cnpg_bootstrap_delete('Secret', 'br-other');
SELECT cnpg_bootstrap_delete('Secret', 'br-ctl-s');
SELECT cnpg_bootstrap_delete('Cluster', 'br-ctl');
SELECT cnpg_bootstrap_delete('Secret', 'br-ctl-s');

------------------------------------------------------------------------
-- 9c. NUL cannot be stored: refused naming the field, never the value
------------------------------------------------------------------------

SELECT * FROM cnpg_bootstrap_apply(pg_temp.controls('br-nul', 'x', 'SELECT 1\0 S3CR3T'),
	dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: br-nul
stringData:
  password: "S3CR3T\x00S3CR3T"
$$, dry_run => true);
SELECT d, pg_temp.try_apply(pg_temp.controls('br-nul', d, 'SELECT 1'))
FROM (VALUES ('\0'), ('S3CR3T\x00'), ('\u0000S3CR3T'), ('S3CR3T\x7f')) AS t(d);
SELECT pg_temp.try_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: br-nul
spec:
  instances: 1
  storage:
    size: 1Gi
  externalClusters:
  - name: origin
    connectionParameters: {host: localhost, application_name: "S3CR3T\0"}
$$);
SELECT pg_temp.try_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: br-nul
data:
  script.sql: "SELECT '\0'"
$$);
-- in a name: the document has no name that could be shown
SELECT pg_temp.try_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: "br-\0nul"
data: {}
$$);
-- in a key: a YAML error at its place, as before
SELECT pg_temp.try_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: br-nul
data:
  "S3CR3T\0": x
$$);

------------------------------------------------------------------------
-- 9d. a replica cluster without bootstrap: CloudNativePG's message after
--     defaulting (the bootstrap section defaults to initdb)
------------------------------------------------------------------------

SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: br-replica
spec:
  instances: 1
  storage:
    size: 1Gi
  replica:
    enabled: true
    source: origin
  externalClusters:
  - name: origin
    connectionParameters: {host: localhost}
$$, dry_run => true);

-- nothing of this file is left behind
SELECT count(*) AS left_behind FROM cnpg_bootstrap.objects WHERE name LIKE 'br-%';
