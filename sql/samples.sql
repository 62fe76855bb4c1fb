-- Every CloudNativePG sample manifest of ../shared/samples, applied with
-- dry_run => true; ../shared/samples/EXPECTED.md lists the outcomes.
-- Skips (expected/samples_1.out) where ../shared is absent.
\set have_shared `test -f ../shared/samples/EXPECTED.md && echo true || echo false`
\if :have_shared
\else
\echo SKIP: ../shared/samples not found beside the project
\quit
\endif
CREATE EXTENSION IF NOT EXISTS cnpg_bootstrap;
SET client_min_messages = warning;
\set VERBOSITY default
\echo backup-example.yaml
\set m `cat ../shared/samples/backup-example.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo backup-with-volume-snapshot.yaml
\set m `cat ../shared/samples/backup-with-volume-snapshot.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-advanced-initdb.yaml
\set m `cat ../shared/samples/cluster-advanced-initdb.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-backup-aws-inherit.yaml
\set m `cat ../shared/samples/cluster-backup-aws-inherit.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-backup-azure-inherit.yaml
\set m `cat ../shared/samples/cluster-backup-azure-inherit.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-backup-retention-30d.yaml
\set m `cat ../shared/samples/cluster-backup-retention-30d.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-clone-basicauth.yaml
\set m `cat ../shared/samples/cluster-clone-basicauth.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-clone-tls.yaml
\set m `cat ../shared/samples/cluster-clone-tls.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-bis-restore-cr.yaml
\set m `cat ../shared/samples/cluster-example-bis-restore-cr.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-bis-restore.yaml
\set m `cat ../shared/samples/cluster-example-bis-restore.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-bis.yaml
\set m `cat ../shared/samples/cluster-example-bis.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-catalog.yaml
\set m `cat ../shared/samples/cluster-example-catalog.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-cert-manager.yaml
\set m `cat ../shared/samples/cluster-example-cert-manager.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-custom.yaml
\set m `cat ../shared/samples/cluster-example-custom.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-full.yaml
\set m `cat ../shared/samples/cluster-example-full.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-initdb-icu.yaml
\set m `cat ../shared/samples/cluster-example-initdb-icu.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-initdb-sql-refs.yaml
\set m `cat ../shared/samples/cluster-example-initdb-sql-refs.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-initdb.yaml
\set m `cat ../shared/samples/cluster-example-initdb.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-logical-destination.yaml
\set m `cat ../shared/samples/cluster-example-logical-destination.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-logical-source.yaml
\set m `cat ../shared/samples/cluster-example-logical-source.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-managed-services.yaml
\set m `cat ../shared/samples/cluster-example-managed-services.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-monitoring.yaml
\set m `cat ../shared/samples/cluster-example-monitoring.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-pg-hba.yaml
\set m `cat ../shared/samples/cluster-example-pg-hba.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-pod-selector-refs.yaml
\set m `cat ../shared/samples/cluster-example-pod-selector-refs.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-projected-volume.yaml
\set m `cat ../shared/samples/cluster-example-projected-volume.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-replica-from-backup-simple.yaml
\set m `cat ../shared/samples/cluster-example-replica-from-backup-simple.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-replica-from-volume-snapshot.yaml
\set m `cat ../shared/samples/cluster-example-replica-from-volume-snapshot.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-replica-streaming.yaml
\set m `cat ../shared/samples/cluster-example-replica-streaming.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-secret.yaml
\set m `cat ../shared/samples/cluster-example-secret.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-security-context.yaml
\set m `cat ../shared/samples/cluster-example-security-context.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-sync-az.yaml
\set m `cat ../shared/samples/cluster-example-sync-az.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-syncreplicas-explicit.yaml
\set m `cat ../shared/samples/cluster-example-syncreplicas-explicit.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-syncreplicas-legacy.yaml
\set m `cat ../shared/samples/cluster-example-syncreplicas-legacy.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-syncreplicas-quorum.yaml
\set m `cat ../shared/samples/cluster-example-syncreplicas-quorum.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-trigger-backup.yaml
\set m `cat ../shared/samples/cluster-example-trigger-backup.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-wal-storage.yaml
\set m `cat ../shared/samples/cluster-example-wal-storage.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-with-backup-scaleway.yaml
\set m `cat ../shared/samples/cluster-example-with-backup-scaleway.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-with-backup.yaml
\set m `cat ../shared/samples/cluster-example-with-backup.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-with-probes.yaml
\set m `cat ../shared/samples/cluster-example-with-probes.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-with-roles.yaml
\set m `cat ../shared/samples/cluster-example-with-roles.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-with-tablespaces-backup.yaml
\set m `cat ../shared/samples/cluster-example-with-tablespaces-backup.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-with-tablespaces.yaml
\set m `cat ../shared/samples/cluster-example-with-tablespaces.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example-with-volume-snapshot.yaml
\set m `cat ../shared/samples/cluster-example-with-volume-snapshot.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-example.yaml
\set m `cat ../shared/samples/cluster-example.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-expose-service.yaml
\set m `cat ../shared/samples/cluster-expose-service.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-import-schema-only-basicauth.yaml
\set m `cat ../shared/samples/cluster-import-schema-only-basicauth.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-import-snapshot-basicauth.yaml
\set m `cat ../shared/samples/cluster-import-snapshot-basicauth.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-import-snapshot-tls.yaml
\set m `cat ../shared/samples/cluster-import-snapshot-tls.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-pvc-template.yaml
\set m `cat ../shared/samples/cluster-pvc-template.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-replica-async.yaml
\set m `cat ../shared/samples/cluster-replica-async.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-replica-basicauth.yaml
\set m `cat ../shared/samples/cluster-replica-basicauth.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-replica-from-backup-other-namespace.yaml
\set m `cat ../shared/samples/cluster-replica-from-backup-other-namespace.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-replica-restore.yaml
\set m `cat ../shared/samples/cluster-replica-restore.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-replica-tls.yaml
\set m `cat ../shared/samples/cluster-replica-tls.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-restore-external-cluster.yaml
\set m `cat ../shared/samples/cluster-restore-external-cluster.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-restore-pitr.yaml
\set m `cat ../shared/samples/cluster-restore-pitr.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-restore-snapshot-full.yaml
\set m `cat ../shared/samples/cluster-restore-snapshot-full.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-restore-snapshot-pitr.yaml
\set m `cat ../shared/samples/cluster-restore-snapshot-pitr.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-restore-snapshot.yaml
\set m `cat ../shared/samples/cluster-restore-snapshot.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-restore-with-tablespaces.yaml
\set m `cat ../shared/samples/cluster-restore-with-tablespaces.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-restore.yaml
\set m `cat ../shared/samples/cluster-restore.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-storage-class-with-backup.yaml
\set m `cat ../shared/samples/cluster-storage-class-with-backup.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo cluster-storage-class.yaml
\set m `cat ../shared/samples/cluster-storage-class.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo database-example-fail.yaml
\set m `cat ../shared/samples/database-example-fail.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo database-example-icu.yaml
\set m `cat ../shared/samples/database-example-icu.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo database-example.yaml
\set m `cat ../shared/samples/database-example.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo dc-cluster-dc-a.yaml
\set m `cat ../shared/samples/dc-cluster-dc-a.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo dc-cluster-dc-b.yaml
\set m `cat ../shared/samples/dc-cluster-dc-b.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo dc-cluster-test.yaml
\set m `cat ../shared/samples/dc-cluster-test.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo k9s-plugins.yml
\set m `cat ../shared/samples/k9s-plugins.yml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo monitoring-alerts.yaml
\set m `cat ../shared/samples/monitoring-alerts.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo monitoring-kube-stack-config.yaml
\set m `cat ../shared/samples/monitoring-kube-stack-config.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo monitoring-podmonitor.yaml
\set m `cat ../shared/samples/monitoring-podmonitor.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo monitoring-prometheusrule.yaml
\set m `cat ../shared/samples/monitoring-prometheusrule.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo networkpolicy-example.yaml
\set m `cat ../shared/samples/networkpolicy-example.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo pooler-basic-auth.yaml
\set m `cat ../shared/samples/pooler-basic-auth.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo pooler-deployment-strategy.yaml
\set m `cat ../shared/samples/pooler-deployment-strategy.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo pooler-example-cluster-image-catalog.yaml
\set m `cat ../shared/samples/pooler-example-cluster-image-catalog.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo pooler-example-explicit-image.yaml
\set m `cat ../shared/samples/pooler-example-explicit-image.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo pooler-example-image-catalog.yaml
\set m `cat ../shared/samples/pooler-example-image-catalog.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo pooler-external.yaml
\set m `cat ../shared/samples/pooler-external.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo pooler-tls.yaml
\set m `cat ../shared/samples/pooler-tls.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo postgis-example.yaml
\set m `cat ../shared/samples/postgis-example.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo publication-example-objects.yaml
\set m `cat ../shared/samples/publication-example-objects.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo publication-example.yaml
\set m `cat ../shared/samples/publication-example.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo role-examples.yaml
\set m `cat ../shared/samples/role-examples.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo scheduled-backup-example.yaml
\set m `cat ../shared/samples/scheduled-backup-example.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
\echo subscription-example.yaml
\set m `cat ../shared/samples/subscription-example.yaml`
SELECT * FROM cnpg_bootstrap_apply(:'m', dry_run => true);
-- a dry run stores nothing
SELECT count(*) AS stored FROM cnpg_bootstrap.objects;
