-- The Barman Cloud plugin's ObjectStore (barmancloud.cnpg.io/v1): apply
-- actions, schema and validation errors, the fields that are not acted on,
-- and the reference a Cluster's plugin-form externalCluster makes to it.
CREATE EXTENSION IF NOT EXISTS cnpg_bootstrap;
SET client_min_messages = notice;
\set VERBOSITY default

-- created; retentionPolicy and the sidecar are accepted and not acted on
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: v1
kind: Secret
metadata:
  name: minio
stringData:
  ACCESS_KEY_ID: minio
  ACCESS_SECRET_KEY: minio123
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: minio-store
spec:
  retentionPolicy: 30d
  instanceSidecarConfiguration:
    logLevel: debug
  configuration:
    destinationPath: s3://backups/
    endpointURL: http://localhost:9000
    s3Credentials:
      accessKeyId:
        name: minio
        key: ACCESS_KEY_ID
      secretAccessKey:
        name: minio
        key: ACCESS_SECRET_KEY
    wal:
      compression: gzip
$$);
SELECT kind, name, namespace, doc -> 'spec' -> 'configuration' ->> 'destinationPath' AS dest
  FROM cnpg_bootstrap.objects WHERE kind = 'ObjectStore';

-- the same again: unchanged; a change: configured
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: minio-store
spec:
  retentionPolicy: 30d
  instanceSidecarConfiguration:
    logLevel: debug
  configuration:
    destinationPath: s3://backups/
    endpointURL: http://localhost:9000
    s3Credentials:
      accessKeyId:
        name: minio
        key: ACCESS_KEY_ID
      secretAccessKey:
        name: minio
        key: ACCESS_SECRET_KEY
    wal:
      compression: gzip
$$);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: minio-store
spec:
  configuration:
    destinationPath: s3://backups/
    endpointURL: http://localhost:9000
    s3Credentials:
      accessKeyId:
        name: minio
        key: ACCESS_KEY_ID
      secretAccessKey:
        name: minio
        key: ACCESS_SECRET_KEY
    wal:
      compression: gzip
      maxParallel: 4
$$);

-- schema errors name the field path
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: typo-store
spec:
  configuration:
    destinationPat: s3://backups/
$$);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: typo-store
spec:
  configuration:
    destinationPath: s3://backups/
    s3Credentials:
      accessKeyId:
        name: minio
$$);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: typo-store
spec:
  configuration:
    destinationPath: ""
$$);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: typo-store
spec:
  configuration:
    destinationPath: s3://backups/
    wal:
      maxParallel: 0
$$);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: typo-store
spec: {}
$$);
-- serverName belongs to the Cluster's plugin parameters (the CRD's CEL rule)
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: typo-store
spec:
  configuration:
    destinationPath: s3://backups/
    serverName: pg-prod
$$);
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: ObjectStore
metadata:
  name: typo-store
spec:
  configuration:
    destinationPath: s3://backups/
$$);

SELECT count(*) FROM cnpg_bootstrap.objects WHERE name = 'typo-store';

-- a Cluster restoring through the plugin form references the ObjectStore
SELECT * FROM cnpg_bootstrap_apply($$
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: os-restore
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      source: origin
  externalClusters:
  - name: origin
    plugin:
      name: barman-cloud.cloudnative-pg.io
      parameters:
        barmanObjectName: minio-store
        serverName: pg-prod
$$);
SELECT cluster, phase, bootstrap_method FROM cnpg_bootstrap_status('os-restore');

-- neither the ObjectStore nor the Secrets it names can go while referenced
SELECT cnpg_bootstrap_delete('ObjectStore', 'minio-store');
SELECT cnpg_bootstrap_delete('Secret', 'minio');

SELECT cnpg_bootstrap_delete('objectstore', 'no-such-store');

-- the Cluster first, then the ObjectStore and its Secret
SELECT cnpg_bootstrap_delete('Cluster', 'os-restore');
SELECT cnpg_bootstrap_delete('ObjectStore', 'minio-store');
SELECT cnpg_bootstrap_delete('Secret', 'minio');
SELECT count(*) FROM cnpg_bootstrap.objects;
SELECT count(*) FROM cnpg_bootstrap_status();
DELETE FROM cnpg_bootstrap.teardown;
