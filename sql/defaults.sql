-- Defaulting (SPEC-cnpg.md section 2 and oracle row 1): small Clusters
-- applied for real, then what the defaulted spec became, as far as SQL can
-- see it.  The catalog keeps each document as written
-- (cnpg_bootstrap.objects.doc); the defaulted spec shows through
-- cnpg_bootstrap_status() (bootstrap_method, instances) and through the
-- rules that look at defaulted values (the referenced Secrets, the fixed
-- parameters compared with the computed archive_mode, the image checks).
--
-- The defaulted values SQL cannot read yet are checked by the unit test
-- fuzz/validate_test.c (make unit), row 1 and "through cb_manifest_parse":
-- imageName ghcr.io/cloudnative-pg/postgresql:18.6-system-trixie (PG 18),
-- namespace default, logLevel info, initdb {database app, owner app,
-- encoding UTF8, localeCollate C, localeCType C} with locale left unset,
-- owner = database (initdb {database: appdb} -> owner appdb, recovery and
-- pg_basebackup alike), no default database for a monolith import,
-- enableSuperuserAccess false, superuserSecret <cluster>-superuser, the
-- generated <cluster>-app Secret (none for a replica cluster), the
-- sanitized parameters (CloudNativePG's defaults, sorted, archive_mode on /
-- always for a replica / off with cnpg.io/skipWalArchiving), storage bytes.
CREATE EXTENSION IF NOT EXISTS cnpg_bootstrap;
SET client_min_messages = notice;
\set VERBOSITY default

-- oracle row 1: an empty Cluster (no instances, no bootstrap) becomes one
-- instance bootstrapped with initdb
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-empty
spec:
  storage:
    size: 1Gi
$$);

-- an empty bootstrap section is initdb too
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-bootstrap
spec:
  instances: 2
  storage:
    size: 1Gi
  bootstrap: {}
$$);

-- oracle rows 1 and 3: initdb {database: appdb} gets its owner, and
-- {owner: app} its database, so neither half-pair is refused after
-- defaulting (validate.sql shows the one case that still is)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-database
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      database: appdb
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-owner
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      owner: app
$$);

-- a monolith import has no default database, and needs none
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-monolith
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      import:
        type: monolith
        databases: ["*"]
        roles: ["*"]
        source:
          externalCluster: origin
  externalClusters:
    - name: origin
      connectionParameters:
        host: origin.example.com
$$);

-- oracle row 1: recovery {database: appdb} is a recovery (its owner
-- defaulted, {owner: app} gets database app); pg_basebackup alike
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-recovery
spec:
  instances: 3
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      source: origin
      database: appdb
  externalClusters:
    - name: origin
      barmanObjectStore:
        destinationPath: s3://backups/origin
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-basebackup
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: origin
      owner: app
  externalClusters:
    - name: origin
      connectionParameters:
        host: origin.example.com
        user: streaming_replica
$$);

-- what the defaulted specs became
SELECT cluster, instances, bootstrap_method, phase
  FROM cnpg_bootstrap_status()
 WHERE cluster LIKE 'd-%'
 ORDER BY cluster;

-- the document is stored as written: d-empty has no instances, no bootstrap
SELECT name, doc -> 'spec' AS spec
  FROM cnpg_bootstrap.objects
 WHERE kind = 'Cluster' AND name IN ('d-empty', 'd-database')
 ORDER BY name;

-- imageName is defaulted only without an imageCatalogRef (else the CEL
-- rule "imageName and imageCatalogRef are mutually exclusive" would fire)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-catalog
spec:
  instances: 1
  imageCatalogRef:
    apiGroup: postgresql.cnpg.io
    kind: ClusterImageCatalog
    name: postgresql
    major: 17
  storage:
    size: 1Gi
$$);

-- enableSuperuserAccess defaults to false: the superuser Secret a Cluster
-- names is then not used, and may be deleted; with access enabled it may not
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: d-superuser
type: kubernetes.io/basic-auth
stringData:
  username: postgres
  password: s3cret-Pa55
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-superuser
spec:
  instances: 1
  storage:
    size: 1Gi
  superuserSecret:
    name: d-superuser
$$);
SELECT cnpg_bootstrap_delete('Secret', 'd-superuser');
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: d-superuser
type: kubernetes.io/basic-auth
stringData:
  username: postgres
  password: s3cret-Pa55
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-superuser
spec:
  instances: 1
  enableSuperuserAccess: true
  storage:
    size: 1Gi
  superuserSecret:
    name: d-superuser
$$);
SELECT cnpg_bootstrap_delete('Secret', 'd-superuser');

-- archive_mode is computed (section 1.2): on for a primary cluster, always
-- for a replica cluster, off with cnpg.io/skipWalArchiving; a user value
-- of this fixed parameter is accepted only when it equals the computed one
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-archive-on
spec:
  instances: 1
  storage:
    size: 1Gi
  postgresql:
    parameters:
      archive_mode: "on"
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-archive-always
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: origin
  replica:
    enabled: true
    source: origin
  postgresql:
    parameters:
      archive_mode: always
  externalClusters:
    - name: origin
      connectionParameters:
        host: origin.example.com
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-archive-off
  annotations:
    cnpg.io/skipWalArchiving: enabled
spec:
  instances: 1
  storage:
    size: 1Gi
  postgresql:
    parameters:
      archive_mode: "off"
$$);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-archive-wrong
spec:
  instances: 1
  storage:
    size: 1Gi
  postgresql:
    parameters:
      archive_mode: always
$$);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-archive-wrong
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: origin
  replica:
    source: origin
  postgresql:
    parameters:
      archive_mode: "on"
  externalClusters:
    - name: origin
      connectionParameters:
        host: origin.example.com
$$);

-- CloudNativePG's other parameter defaults are the only values their
-- blocked keys accept
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-blocked
spec:
  instances: 1
  storage:
    size: 1Gi
  postgresql:
    parameters:
      logging_collector: "on"
      log_destination: csvlog
      log_directory: /controller/log
      log_filename: postgres
      log_rotation_age: "0"
      log_rotation_size: "0"
      log_truncate_on_rotation: "false"
$$);

-- re-applying is compared on the document as written: the same text is
-- unchanged, but writing out a defaulted value (instances: 1) reports
-- configured although the defaulted spec is the same
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-empty
spec:
  storage:
    size: 1Gi
$$);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: d-empty
spec:
  instances: 1
  storage:
    size: 1Gi
$$);

SELECT cluster, instances, bootstrap_method
  FROM cnpg_bootstrap_status()
 WHERE cluster LIKE 'd-%'
 ORDER BY cluster;

-- clean up
SELECT name, cnpg_bootstrap_delete('Cluster', name)
  FROM cnpg_bootstrap.objects
 WHERE kind = 'Cluster' AND name LIKE 'd-%'
 ORDER BY name;
SELECT cnpg_bootstrap_delete('Secret', 'd-superuser');
SELECT count(*) FROM cnpg_bootstrap.objects WHERE name LIKE 'd-%';
DELETE FROM cnpg_bootstrap.teardown WHERE cluster LIKE 'd-%';
