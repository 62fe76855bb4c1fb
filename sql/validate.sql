-- Validation: one case per rule.  Each case applies a small manifest with
-- dry_run => true and shows the error (errmsg names the document and the
-- field, errdetail is the API server's rejection text, errhint the remedy),
-- or, for an accepted variant, the row apply returns.  The rules are those
-- of SPEC-cnpg.md section 3 (3.1 schema/CEL, 3.2 webhook items 1-19, in
-- that order), the validation rows 2-21 of its section 12 oracle, and our
-- own checks of the YAML stream and of the documents (SPEC.md section 2).
--
-- Order matters as on Kubernetes (SPEC-cnpg.md section 0): a document is
-- first checked against the schema of its kind (manifest.c), then
-- defaulted, then the schema/CEL rules the tables do not carry and, only
-- if those passed, the webhook (validate.c).  So a bad value that both the
-- CRD and the webhook refuse is reported by the CRD, as the API server
-- does (e.g. import type fooBar, oracle row 8).
CREATE EXTENSION IF NOT EXISTS cnpg_bootstrap;
SET client_min_messages = notice;
-- errors do not stop the script; VERBOSITY default shows ERROR, DETAIL and
-- HINT (verbose would print the C source location, which moves)
\set ON_ERROR_STOP 0
\set VERBOSITY default

-- For families of variants (oracle rows with several inputs): SQLSTATE and
-- errmsg of a rejection, or what a dry run accepted.
CREATE FUNCTION pg_temp.try_apply(manifest text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
	r record;
	result text := 'accepted:';
BEGIN
	FOR r IN SELECT * FROM cnpg_bootstrap_apply(manifest, dry_run => true) LOOP
		result := result || ' ' || r.kind || '/' || r.name || ' ' || r.action;
	END LOOP;
	RETURN result;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || SQLERRM;
END
$f$;

-- a minimal Cluster with the given name (oracle row 7)
CREATE FUNCTION pg_temp.named(name text) RETURNS text
LANGUAGE sql AS $f$
SELECT format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: %s
spec:
  instances: 1
  storage:
    size: 1Gi
$m$, name)
$f$;

-- a recovery from a Barman store with the given recoveryTarget (a YAML flow
-- map), for oracle rows 11-16
CREATE FUNCTION pg_temp.recovery_target(target text) RETURNS text
LANGUAGE sql AS $f$
SELECT format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-target
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      source: origin
      recoveryTarget: %s
  externalClusters:
    - name: origin
      barmanObjectStore:
        destinationPath: s3://backups/origin
$m$, target)
$f$;

-- a Cluster with the given spec.postgresql.parameters (a YAML flow map)
CREATE FUNCTION pg_temp.parameters(params text) RETURNS text
LANGUAGE sql AS $f$
SELECT format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-params
spec:
  instances: 1
  storage:
    size: 1Gi
  postgresql:
    parameters: %s
$m$, params)
$f$;

-- nothing is stored before we start (names of this file start with v-)
SELECT count(*) FROM cnpg_bootstrap.objects WHERE name LIKE 'v-%';

------------------------------------------------------------------------
-- The YAML stream and the documents (manifest.c; SPEC.md section 2)
------------------------------------------------------------------------

-- YAML syntax error: 22P02, with line and column
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-yaml
spec:
  instances: 1
    storage: 1Gi
$$, dry_run => true);

-- the SQLSTATEs: 22P02 for YAML syntax, 22023 for every rule below
\set VERBOSITY sqlstate
SELECT * FROM cnpg_bootstrap_apply($$
kind: Cluster
metadata: {name: v-yaml
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-instances
spec:
  instances: 0
  storage:
    size: 1Gi
$$, dry_run => true);
\set VERBOSITY default

-- a duplicate key in a mapping (YAML would silently keep the last one)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-dupkey
spec:
  instances: 1
  storage:
    size: 1Gi
  instances: 3
$$, dry_run => true);

-- an empty stream holds no object
SELECT * FROM cnpg_bootstrap_apply($$
---
# nothing here
$$, dry_run => true);

-- a document without kind
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
metadata:
  name: v-nokind
spec:
  instances: 1
$$, dry_run => true);

-- a document that is not a map
SELECT * FROM cnpg_bootstrap_apply($$
- kind: Cluster
$$, dry_run => true);

-- an unsupported kind
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Pooler
metadata:
  name: v-pooler
spec:
  cluster:
    name: v-cluster
$$, dry_run => true);

-- a wrong apiVersion, and a missing one
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Cluster
metadata:
  name: v-apiversion
spec:
  instances: 1
  storage:
    size: 1Gi
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
kind: Secret
metadata:
  name: v-apiversion
stringData:
  password: x
$$, dry_run => true);

-- metadata.name: required, a string, an RFC 1123 subdomain (every kind);
-- metadata.namespace an RFC 1123 label
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  labels:
    app: x
data:
  a: b
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: 42
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: V_Secret
stringData:
  password: x
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: v-namespace
  namespace: My.Namespace
$$, dry_run => true);
-- (dots are fine in a Secret/ConfigMap name; a Cluster's is narrower,
-- webhook item 12)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: v-post-init.sql
  namespace: team-a
data:
  init.sql: SELECT 1;
$$, dry_run => true);

-- an unknown field, with the nearest known name as HINT
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-typo
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      databse: app
$$, dry_run => true);

-- an unknown field with no near name: the HINT lists the known ones
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-unknown
spec:
  instances: 1
  storage:
    size: 1Gi
    volumeMode: Block
$$, dry_run => true);

-- an unknown top-level field
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: v-toplevel
dataa:
  a: b
$$, dry_run => true);

-- a known field that has no meaning on one host: accepted, with a NOTICE
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-ignored
spec:
  instances: 1
  storage:
    size: 1Gi
    storageClass: standard
  resources:
    requests:
      memory: 1Gi
  monitoring:
    enablePodMonitor: false
$$, dry_run => true);

-- a Secret value under data that is not base64: the key is named, the
-- value is not shown
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: v-base64
type: kubernetes.io/basic-auth
data:
  username: YXBw
  password: not-base64!
$$, dry_run => true);

-- a Secret/ConfigMap key must be a valid config key (Kubernetes'
-- IsConfigMapKey: characters, then "." / ".." / a ".." prefix)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: v-secret-key
stringData:
  my key: x
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: v-configmap-key
data:
  ..init.sql: SELECT 1;
$$, dry_run => true);

-- a ConfigMap key may be in data or binaryData, not both
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: ConfigMap
metadata:
  name: v-binary
data:
  init.sql: SELECT 1;
binaryData:
  init.sql: U0VMRUNUIDE7
$$, dry_run => true);

-- an integer that does not fit in 32 bits
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-int32
spec:
  instances: 3000000000
  storage:
    size: 1Gi
$$, dry_run => true);

------------------------------------------------------------------------
-- Schema and CEL (SPEC-cnpg.md 3.1)
------------------------------------------------------------------------

-- type: an integer field given a string
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-type-int
spec:
  instances: "3"
  storage:
    size: 1Gi
$$, dry_run => true);

-- type: a string field given a number (parameters are strings: quote them)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-type-string
spec:
  instances: 1
  storage:
    size: 1Gi
  postgresql:
    parameters:
      max_connections: 200
$$, dry_run => true);

-- type: a boolean field given a string, a map given a list
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-type-bool
spec:
  instances: 1
  enableSuperuserAccess: "true"
  storage:
    size: 1Gi
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-type-map
spec:
  instances: 1
  storage:
    - size: 1Gi
$$, dry_run => true);

-- minimum: instances >= 1
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-instances
spec:
  instances: 0
  storage:
    size: 1Gi
$$, dry_run => true);

-- minimum/maximum: walSegmentSize 1..1024
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-walseg
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      walSegmentSize: 2048
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-walseg
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      walSegmentSize: 0
$$, dry_run => true);

-- minimum: maxSyncReplicas >= 0
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-maxsync
spec:
  instances: 3
  maxSyncReplicas: -1
  storage:
    size: 1Gi
$$, dry_run => true);

-- minimum: barmanObjectStore.wal.maxParallel >= 1
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-maxparallel
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      source: origin
  externalClusters:
    - name: origin
      barmanObjectStore:
        destinationPath: s3://backups/origin
        wal:
          maxParallel: 0
$$, dry_run => true);

-- enum: logLevel
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-loglevel
spec:
  instances: 1
  logLevel: verbose
  storage:
    size: 1Gi
$$, dry_run => true);

-- enum: import type (oracle row 8: the webhook's "Unrecognized import type"
-- is never reached, the CRD's enum refuses fooBar first)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-import-type
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      import:
        type: fooBar
        databases: [foo]
        source:
          externalCluster: origin
$$, dry_run => true);

-- enum: barmanObjectStore.wal.compression
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-compression
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      source: origin
  externalClusters:
    - name: origin
      barmanObjectStore:
        destinationPath: s3://backups/origin
        wal:
          compression: zip
$$, dry_run => true);

-- required: import source, import type, import databases
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-import-source
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      import:
        type: microservice
        databases: [foo]
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-import-type
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      import:
        databases: [foo]
        source:
          externalCluster: origin
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-import-databases
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      import:
        type: microservice
        source:
          externalCluster: origin
$$, dry_run => true);

-- required and minLength 1: pg_basebackup.source
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-pgbb-source
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      database: app
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-pgbb-source
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: ""
$$, dry_run => true);

-- required and minLength 1: replica.source
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-replica-source
spec:
  instances: 1
  storage:
    size: 1Gi
  replica:
    enabled: true
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-replica-source
spec:
  instances: 1
  storage:
    size: 1Gi
  replica:
    enabled: true
    source: ""
$$, dry_run => true);

-- required: externalClusters[].name (oracle row 18, [{}]: the CRD refuses
-- the missing name before the webhook's Required error, shown in item 16)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-ext-name
spec:
  instances: 1
  storage:
    size: 1Gi
  externalClusters:
    - {}
$$, dry_run => true);

-- required and minLength 1: barmanObjectStore.destinationPath
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-destination
spec:
  instances: 1
  storage:
    size: 1Gi
  externalClusters:
    - name: origin
      barmanObjectStore:
        serverName: origin
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-destination
spec:
  instances: 1
  storage:
    size: 1Gi
  externalClusters:
    - name: origin
      barmanObjectStore:
        destinationPath: ""
$$, dry_run => true);

-- required: a selector's key (and name where the schema requires it)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-selector
spec:
  instances: 1
  storage:
    size: 1Gi
  externalClusters:
    - name: origin
      connectionParameters:
        host: origin.example.com
      password:
        name: origin-secret
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-selector
spec:
  instances: 1
  storage:
    size: 1Gi
  externalClusters:
    - name: origin
      barmanObjectStore:
        destinationPath: s3://backups/origin
        s3Credentials:
          accessKeyId:
            key: ACCESS_KEY_ID
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-sqlrefs
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      postInitSQLRefs:
        configMapRefs:
          - name: post-init
$$, dry_run => true);

-- required: superuserSecret.name
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-superuser
spec:
  instances: 1
  storage:
    size: 1Gi
  superuserSecret: {}
$$, dry_run => true);

-- pattern: replicationSlots.highAvailability.slotPrefix
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-slotprefix
spec:
  instances: 1
  storage:
    size: 1Gi
  replicationSlots:
    highAvailability:
      slotPrefix: My-Prefix
$$, dry_run => true);

-- pattern: a quantity (pvcTemplate request), with a readable HINT
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-quantity
spec:
  instances: 1
  storage:
    pvcTemplate:
      resources:
        requests:
          storage: 1GB
$$, dry_run => true);

-- CEL on spec.bootstrap.initdb: builtinLocale, icuLocale, icuRules need
-- their localeProvider
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-builtin
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      builtinLocale: C.UTF-8
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-icu
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      localeProvider: libc
      icuLocale: und
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-icu
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      localeProvider: builtin
      builtinLocale: C.UTF-8
      icuRules: "&A < z <<< Z"
$$, dry_run => true);
-- oracle row 6: with localeProvider icu all of them are accepted
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-icu
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      encoding: UTF-8
      localeProvider: icu
      icuLocale: und
      icuRules: "&A < z <<< Z"
$$, dry_run => true);

-- CEL on spec: imageName and imageCatalogRef are mutually exclusive
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-catalog
spec:
  instances: 1
  imageName: ghcr.io/cloudnative-pg/postgresql:17.5
  imageCatalogRef:
    apiGroup: postgresql.cnpg.io
    kind: ClusterImageCatalog
    name: postgresql
    major: 17
  storage:
    size: 1Gi
$$, dry_run => true);

-- all errors of a step are listed in DETAIL; errmsg names the first
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-several
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      localeProvider: libc
      builtinLocale: C.UTF-8
      icuLocale: und
      icuRules: "&A < z <<< Z"
$$, dry_run => true);

------------------------------------------------------------------------
-- Webhook (SPEC-cnpg.md 3.2), in its order
------------------------------------------------------------------------

-- 1. database and owner in pairs.  Defaulting gives the owner of a
-- database and the database of an owner (oracle row 3 holds without
-- defaulting only, see defaults.sql), so the rule is only reachable with a
-- monolith import, which has no default database
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-owner
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      owner: app
      import:
        type: monolith
        databases: ["*"]
        source:
          externalCluster: origin
$$, dry_run => true);

-- 2. walSegmentSize must be a power of 2 (oracle row 5: 3 / 64)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-walseg
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      walSegmentSize: 3
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-walseg
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      walSegmentSize: 64
$$, dry_run => true);

-- 3. postInitApplicationSQLRefs items need a name and a key (oracle row 4)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-sqlrefs
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      postInitApplicationSQLRefs:
        secretRefs:
          - name: x
            key: ""
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-sqlrefs
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      postInitApplicationSQLRefs:
        configMapRefs:
          - name: ""
            key: init.sql
$$, dry_run => true);
-- ... the other two refs fields are not checked by CloudNativePG
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-sqlrefs
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      postInitSQLRefs:
        secretRefs:
          - name: x
            key: ""
$$, dry_run => true);

-- 4. import: microservice (oracle row 9) and monolith (oracle row 10)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-import
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      import:
        type: microservice
        databases: [foo, bar]
        source:
          externalCluster: origin
$$, dry_run => true);
SELECT i AS microservice_import,
       pg_temp.try_apply(format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-import
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      import: %s
$m$, '{type: microservice, source: {externalCluster: origin}, ' || i || '}')) AS result
  FROM (VALUES ('databases: [foo, bar]'),
               ('databases: [foo], roles: [bar]'),
               ('databases: ["*foo"]'),
               ('databases: [foo]'),
               ('databases: [foo], postImportApplicationSQL: ["SELECT 1"]')) v(i);
SELECT i AS monolith_import,
       pg_temp.try_apply(format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-import
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      import: %s
$m$, '{type: monolith, source: {externalCluster: origin}, ' || i || '}')) AS result
  FROM (VALUES ('databases: []'),
               ('databases: [foo], postImportApplicationSQL: ["SELECT 1"]'),
               ('databases: [bar, "*"]'),
               ('databases: [foo], roles: [baz, "*"]'),
               ('databases: ["*"], roles: ["*"]')) v(i);
-- the full text of one: CloudNativePG prints the databases as the value
-- of the roles error
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-import
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      import:
        type: microservice
        databases: [foo]
        roles: [bar]
        source:
          externalCluster: origin
$$, dry_run => true);
-- the import source's existence is not checked at admission
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-import
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      import:
        type: microservice
        databases: [foo]
        source:
          externalCluster: nowhere
$$, dry_run => true);

-- 5. superuserSecret with an empty name
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-superuser
spec:
  instances: 1
  storage:
    size: 1Gi
  superuserSecret:
    name: ""
$$, dry_run => true);

-- 6. certificates: alt DNS names with a server TLS secret, a server TLS
-- secret without its CA, a replication secret without the client CA
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-certs
spec:
  instances: 1
  storage:
    size: 1Gi
  certificates:
    serverTLSSecret: my-tls
    serverCASecret: my-ca
    serverAltDNSNames: [db.example.com, db]
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-certs
spec:
  instances: 1
  storage:
    size: 1Gi
  certificates:
    serverTLSSecret: my-tls
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-certs
spec:
  instances: 1
  storage:
    size: 1Gi
  certificates:
    replicationTLSSecret: my-replication
$$, dry_run => true);

-- 7. one bootstrap method at a time (oracle row 2: 1 error, Forbidden)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-methods
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb: {}
    recovery:
      source: origin
  externalClusters:
    - name: origin
      barmanObjectStore:
        destinationPath: s3://backups/origin
$$, dry_run => true);
-- with initdb {database: app} beside the recovery, CloudNativePG defaults
-- the recovery only, so the initdb owner is missing too: 2 errors
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-methods
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      database: app
    recovery:
      source: origin
  externalClusters:
    - name: origin
      barmanObjectStore:
        destinationPath: s3://backups/origin
$$, dry_run => true);

-- 8. image tags: latest (written or implied), a digest alone, no version
SELECT img AS image_name,
       pg_temp.try_apply(format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-image
spec:
  instances: 1
  imageName: %s
  storage:
    size: 1Gi
$m$, img)) AS result
  FROM (VALUES ('ghcr.io/cloudnative-pg/postgresql:latest'),
               ('ghcr.io/cloudnative-pg/postgresql'),
               ('ghcr.io/cloudnative-pg/postgresql@sha256:4b6f7c8d2a1e3f5b7c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b'),
               ('ghcr.io/cloudnative-pg/postgresql:bookworm'),
               ('ghcr.io/cloudnative-pg/postgresql:17.5-bookworm@sha256:4b6f7c8d2a1e3f5b7c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b'),
               ('localhost:5000/postgres:16.4')) v(img);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-image
spec:
  instances: 1
  imageName: ghcr.io/cloudnative-pg/postgresql:latest
  storage:
    size: 1Gi
$$, dry_run => true);

-- 9. recovery targets (oracle rows 11-16); the full text of row 11 first
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-target
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      source: origin
      recoveryTarget:
        targetLSN: "1/1"
        targetTime: "2021-09-01 10:22:47.000000+06"
  externalClusters:
    - name: origin
      barmanObjectStore:
        destinationPath: s3://backups/origin
$$, dry_run => true);
SELECT t AS recovery_target, pg_temp.try_apply(pg_temp.recovery_target(t)) AS result
  FROM (VALUES
	-- row 11: more than one target
	('{targetLSN: "1/1", targetTime: "2021-09-01 10:22:47.000000+06"}'),
	('{backupID: b1, targetImmediate: false, targetName: restore_point_1}'),
	-- row 12: targetTime
	('{targetTime: "2021-09-01 10:22:47.000000+06:00"}'),
	('{targetTime: "2020-01-01 01:01:00"}'),
	('{targetTime: "2021-09-01 10:22:47.000000 +06:00"}'),
	('{targetTime: "2021-09-01T10:22:47Z"}'),
	-- row 13: backupID needed for targetName, targetXID, targetImmediate
	('{backupID: b1, targetName: restore_point_1}'),
	('{targetXID: "1234"}'),
	('{targetName: restore_point_1}'),
	('{targetImmediate: false}'),
	-- row 14: targetXID a 32-bit unsigned integer
	('{backupID: b1, targetXID: "4294967295"}'),
	('{backupID: b1, targetXID: "4294967296"}'),
	('{backupID: b1, targetXID: "-1"}'),
	('{backupID: b1, targetXID: "1/1"}'),
	-- row 15: targetName shorter than 64 bytes, no control characters
	('{backupID: b1, targetName: ' || repeat('a', 63) || '}'),
	('{backupID: b1, targetName: ' || repeat('a', 64) || '}'),
	('{backupID: b1, targetName: "line1\nline2"}'),
	-- (DEL as well: PostgreSQL text holds it, CloudNativePG refuses it here)
	('{backupID: b1, targetName: "a\x7fb"}'),
	('{backupID: b1, targetName: "my''restore point"}'),
	-- row 16: targetTLI latest or a positive integer; targetLSN
	('{targetTLI: latest}'),
	('{targetTLI: "23"}'),
	('{targetTLI: "0"}'),
	('{targetTLI: "-5"}'),
	('{targetTLI: "I don''t remember"}'),
	('{targetLSN: "1/1"}'),
	('{targetLSN: "28734982739847293874823974928738423/987429837498273498723984723"}'),
	('{targetLSN: "0/3000060/1"}')
  ) v(t);
-- the full text of a few of them
SELECT * FROM cnpg_bootstrap_apply(pg_temp.recovery_target(
	'{targetTime: "2021-09-01 10:22:47.000000 +06:00"}'), dry_run => true);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.recovery_target(
	'{targetXID: "1234"}'), dry_run => true);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.recovery_target(
	'{backupID: b1, targetXID: "-1"}'), dry_run => true);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.recovery_target(
	'{backupID: b1, targetName: "line1\nline2"}'), dry_run => true);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.recovery_target(
	'{targetTLI: "0"}'), dry_run => true);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.recovery_target(
	'{targetLSN: "28734982739847293874823974928738423/987429837498273498723984723"}'),
	dry_run => true);

-- 10. maxSyncReplicas below instances (and minSyncReplicas <= maxSyncReplicas)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-sync
spec:
  instances: 2
  maxSyncReplicas: 2
  storage:
    size: 1Gi
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-sync
spec:
  instances: 3
  minSyncReplicas: 2
  maxSyncReplicas: 1
  storage:
    size: 1Gi
$$, dry_run => true);

-- 11. storage size: a Kubernetes quantity, required unless the pvcTemplate
-- requests storage; walStorage alike
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-storage
spec:
  instances: 1
  storage:
    size: 1GB
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-storage
spec:
  instances: 1
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-storage
spec:
  instances: 1
  storage:
    size: 1Gi
  walStorage:
    storageClass: fast
$$, dry_run => true);
SELECT size AS storage_size,
       pg_temp.try_apply(format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-storage
spec:
  instances: 1
  storage:
    size: "%s"
$m$, size)) AS result
  FROM (VALUES ('1Gi'), ('500M'), ('1e9'), ('0.5Ti'), ('1GB'), ('1 Gi'),
               ('Gi'), ('1gi')) v(size);
-- a storage request in the pvcTemplate stands for the size
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-storage
spec:
  instances: 1
  storage:
    pvcTemplate:
      resources:
        requests:
          storage: 1Gi
$$, dry_run => true);

-- 12. a Cluster name is a DNS-1035 label of at most 50 characters
-- (oracle row 7); Kubernetes' own check (an RFC 1123 subdomain) runs first
SELECT * FROM cnpg_bootstrap_apply(pg_temp.named('test.one'), dry_run => true);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.named(repeat('a', 81)), dry_run => true);
SELECT n AS cluster_name, length(n), pg_temp.try_apply(pg_temp.named(n)) AS result
  FROM (VALUES ('test.one'),
               ('4b96d026-a956-47eb-bae8-a99b840805c3'),
               ('abcdefghijklmnopqrstuvwxyz-abcdefghijklmnopqrstuvwxyz-12'),
               (repeat('a', 81)),
               ('abcdefghijklmnopqrstuvwxyz-abcdefghi'),
               ('Cluster-One')) v(n);

-- 13. pg_basebackup.source must name an external cluster
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-pgbb
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: origin
$$, dry_run => true);

-- 14. recovery.source must name an external cluster that can be recovered
-- from (oracle row 19: 2 errors / exactly 1 of this rule; an external
-- cluster with nothing to connect to also breaks item 16, which the
-- oracle's unit test does not run, hence a second error here)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-recovery
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      source: test
  externalClusters:
    - name: another-test
      connectionParameters:
        host: another.example.com
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-recovery
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      source: test
  externalClusters:
    - name: test
$$, dry_run => true);

-- 15. volumeSnapshots: no backup, no backupID, a WAL snapshot needs walStorage
-- (then ours: volumeSnapshots themselves are refused on one host, see
-- bootstrap_rules.sql)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-snapshot
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      backup:
        name: backup-1
      volumeSnapshots:
        storage:
          name: snap-1
          kind: VolumeSnapshot
          apiGroup: snapshot.storage.k8s.io
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-snapshot
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      volumeSnapshots:
        storage:
          name: snap-1
          kind: VolumeSnapshot
          apiGroup: snapshot.storage.k8s.io
      recoveryTarget:
        backupID: b1
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-snapshot
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      volumeSnapshots:
        storage:
          name: snap-1
          kind: VolumeSnapshot
          apiGroup: snapshot.storage.k8s.io
        walStorage:
          name: snap-1-wal
          kind: VolumeSnapshot
          apiGroup: snapshot.storage.k8s.io
$$, dry_run => true);

-- ... and "Only VolumeSnapshots and PersistentVolumeClaims are supported"
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-snapshot
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      volumeSnapshots:
        storage:
          name: snap-1
          kind: Pod
$$, dry_run => true);

-- 16. external clusters (oracle row 18): a way to connect, path-safe
-- names, no duplicates
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-ext
spec:
  instances: 1
  storage:
    size: 1Gi
  externalClusters:
    - name: one
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-ext
spec:
  instances: 1
  storage:
    size: 1Gi
  externalClusters:
    - name: one
      connectionParameters: {host: one.example.com}
    - name: one
      connectionParameters: {host: one.example.com}
$$, dry_run => true);
SELECT e AS external_cluster, pg_temp.try_apply(format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-ext
spec:
  instances: 1
  storage:
    size: 1Gi
  externalClusters:
    - %s
$m$, e)) AS result
  FROM (VALUES
	('{name: ../pwned, connectionParameters: {host: h}}'),
	('{name: nested/pwned, connectionParameters: {host: h}}'),
	('{name: ".", connectionParameters: {host: h}}'),
	('{name: one, connectionParameters: {host: h}, sslCert: {name: s, key: ../pwned}}'),
	('{name: one, connectionParameters: {host: h}, sslKey: {name: "a\\b", key: tls.key}}'),
	('{name: one, connectionParameters: {host: h}, password: {name: s, key: ../pwned}}')
  ) v(e);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-ext
spec:
  instances: 1
  storage:
    size: 1Gi
  externalClusters:
    - name: one
      connectionParameters:
        host: one.example.com
      sslCert:
        name: one-tls
        key: ../pwned
$$, dry_run => true);

-- 17. replica clusters (oracle row 20)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-replica
spec:
  instances: 1
  storage:
    size: 1Gi
  replica:
    enabled: true
    source: test
  externalClusters:
    - name: test
      connectionParameters:
        host: test.example.com
$$, dry_run => true);
SELECT b AS bootstrap, pg_temp.try_apply(format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-replica
  %s
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap: %s
  replica:
    enabled: true
    source: test
  externalClusters:
    - name: test
      connectionParameters:
        host: test.example.com
      barmanObjectStore:
        destinationPath: s3://backups/test
$m$, CASE WHEN b LIKE '%resourceVersion%' THEN 'resourceVersion: "42"' ELSE '' END,
     split_part(b, ' +', 1))) AS result
  FROM (VALUES ('{initdb: {}}'),
               ('{initdb: {}} + resourceVersion'),
               ('{pg_basebackup: {source: test}}'),
               ('{recovery: {source: test}}')) v(b);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-replica
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      database: app
  replica:
    enabled: true
    source: test
  externalClusters:
    - name: test
      connectionParameters:
        host: test.example.com
$$, dry_run => true);
-- a stanza with only source is a replica too
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-replica
spec:
  instances: 1
  storage:
    size: 1Gi
  replica:
    source: test
  externalClusters:
    - name: test
      connectionParameters:
        host: test.example.com
$$, dry_run => true);
-- enabled and primary together
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-replica
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: test
  replica:
    enabled: true
    primary: toast
    source: test
  externalClusters:
    - name: test
      connectionParameters:
        host: test.example.com
    - name: toast
      connectionParameters:
        host: toast.example.com
$$, dry_run => true);
-- source, self and primary must name external clusters
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-replica
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: test
  replica:
    primary: cluster-a
    self: cluster-b
    source: nowhere
  externalClusters:
    - name: test
      connectionParameters:
        host: test.example.com
$$, dry_run => true);

-- 18. parameters: names, operator-owned ones, the PostgreSQL version,
-- wal_level, wal_log_hints, memory values
SELECT * FROM cnpg_bootstrap_apply(pg_temp.parameters(
	'{"shared buffers": 128MB}'), dry_run => true);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.parameters(
	'{port: "5433"}'), dry_run => true);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.parameters(
	'{listen_addresses: "*"}'), dry_run => true);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.parameters(
	'{shared_preload_libraries: pg_stat_statements}'), dry_run => true);
SELECT p AS parameters, pg_temp.try_apply(pg_temp.parameters(p)) AS result
  FROM (VALUES
	-- the key regex
	('{pg_stat_statements.max: "10000"}'),
	('{"a.b.c": x}'),
	('{"1abc": x}'),
	('{"my$var": x}'),
	-- fixed and blocked: refused unless equal to CloudNativePG's default
	('{port: "5432"}'),
	('{archive_mode: "on"}'),
	('{archive_mode: "off"}'),
	('{log_destination: csvlog}'),
	('{log_destination: stderr}'),
	('{hot_standby: "on"}'),
	('{recovery_target_name: x}'),
	('{pg_failover_slots.primary_dsn: x}'),
	-- wal_level
	('{wal_level: hot_standby}'),
	('{wal_level: minimal}'),
	('{wal_level: replica}'),
	-- wal_log_hints
	('{wal_log_hints: maybe}'),
	('{wal_log_hints: "off"}'),
	-- min_wal_size < max_wal_size
	('{min_wal_size: 2GB, max_wal_size: 1GB}'),
	('{max_wal_size: 1gb}')
  ) v(p);
-- oracle row 21: shared_buffers as PostgreSQL writes memory
SELECT sb AS shared_buffers,
       pg_temp.try_apply(pg_temp.parameters(format('{shared_buffers: "%s"}', sb))) AS result
  FROM (VALUES ('1'), ('1B'), ('1kB'), ('1MB'), ('1 MB'), ('1TB'),
               ('1kb'), ('1Mb'), ('1G'), ('1random')) v(sb);
SELECT * FROM cnpg_bootstrap_apply(pg_temp.parameters(
	'{shared_buffers: 1G}'), dry_run => true);
-- PostgreSQL 13 or newer
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-version
spec:
  instances: 1
  imageName: ghcr.io/cloudnative-pg/postgresql:12.18
  storage:
    size: 1Gi
$$, dry_run => true);
-- wal_level minimal: only with one instance, archiving off, no replica
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-minimal
spec:
  instances: 2
  storage:
    size: 1Gi
  postgresql:
    parameters:
      wal_level: minimal
      max_wal_senders: "0"
$$, dry_run => true);
-- ... and max_wal_senders 0 (CloudNativePG prints the wal_level as value)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-minimal
  annotations:
    cnpg.io/skipWalArchiving: enabled
spec:
  instances: 1
  storage:
    size: 1Gi
  postgresql:
    parameters:
      wal_level: minimal
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-minimal
  annotations:
    cnpg.io/skipWalArchiving: enabled
spec:
  instances: 1
  storage:
    size: 1Gi
  postgresql:
    parameters:
      wal_level: minimal
      max_wal_senders: "0"
      archive_mode: "off"
$$, dry_run => true);
-- wal_log_hints on with standbys
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-hints
spec:
  instances: 3
  storage:
    size: 1Gi
  postgresql:
    parameters:
      wal_log_hints: "off"
$$, dry_run => true);
-- min_wal_size and max_wal_size below the WAL volume
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-walsize
spec:
  instances: 1
  storage:
    size: 1Gi
  walStorage:
    size: 1Gi
  postgresql:
    parameters:
      max_wal_size: 2GB
$$, dry_run => true);

-- 19. promotion tokens
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-token
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: cluster-a
  replica:
    primary: v-token
    source: cluster-a
    promotionToken: e30=
    minApplyDelay: 1h
  externalClusters:
    - name: cluster-a
      connectionParameters:
        host: a.example.com
    - name: v-token
      connectionParameters:
        host: b.example.com
$$, dry_run => true);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-token
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: cluster-a
  replica:
    enabled: true
    source: cluster-a
    promotionToken: e30=
  externalClusters:
    - name: cluster-a
      connectionParameters:
        host: a.example.com
$$, dry_run => true);
SELECT what AS promotion_token, pg_temp.try_apply(format($m$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-token
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: cluster-a
  replica:
    primary: v-token
    source: cluster-a
    promotionToken: "%s"
  externalClusters:
    - name: cluster-a
      connectionParameters:
        host: a.example.com
    - name: v-token
      connectionParameters:
        host: b.example.com
$m$, tok)) AS result
  FROM (VALUES ('not base64!', 'not base64!'),
               ('base64 of: not json', encode('not json', 'base64')),
               ('base64 of: []', encode('[]', 'base64')),
               ('base64 of: {"latestCheckpointTimelineID": 1}',
                encode('{"latestCheckpointTimelineID": 1}', 'base64')),
               ('base64 of: {}', 'e30='),
               ('base64 of: five fields filled, no operatorVersion',
                translate(encode(convert_to('{"latestCheckpointTimelineID":"1",'
                       '"redoWalFile":"000000010000000000000002",'
                       '"databaseSystemIdentifier":"7400000000000000000",'
                       '"latestCheckpointREDOLocation":"0/2000028",'
                       '"timeOfLatestCheckpoint":"2025-01-01 00:00:00 UTC"}', 'UTF8'),
                       'base64'), E'\n', '')),
               ('base64 of: the six fields filled',
                translate(encode(convert_to('{"latestCheckpointTimelineID":"1",'
                       '"redoWalFile":"000000010000000000000002",'
                       '"databaseSystemIdentifier":"7400000000000000000",'
                       '"latestCheckpointREDOLocation":"0/2000028",'
                       '"timeOfLatestCheckpoint":"2025-01-01 00:00:00 UTC",'
                       '"operatorVersion":"1.27.0"}', 'UTF8'), 'base64'), E'\n', ''))) v(what, tok);

------------------------------------------------------------------------
-- A rejected manifest stores nothing, even with dry_run => false
------------------------------------------------------------------------
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: v-stored-secret
stringData:
  username: app
  password: s3cret
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: v-stored
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      walSegmentSize: 3
$$, dry_run => false);
SELECT count(*) FROM cnpg_bootstrap.objects WHERE name LIKE 'v-%';
SELECT count(*) FROM cnpg_bootstrap.clusters WHERE name LIKE 'v-%';
SELECT count(*) FROM cnpg_bootstrap.secret_data WHERE secret LIKE 'v-%';
