# The Secrets and ObjectStores a bootstrap method needs are read by the
# plan (issue 13: methods are leaves) and a missing one still fails the
# step that needs it, with the words it always had: an externalCluster's
# password Secret, a key missing from its sslRootCert Secret (pg_basebackup
# source step; an import's preflight, after initdb), the ObjectStore a
# plugin source names, the s3Credentials Secret of a barmanObjectStore and
# of a stored ObjectStore (recovery store step), a user CA Secret without
# ca.key (pki step).  No source or store is contacted: each case fails
# before.  The failure reasons never hold a Secret's value.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;

use lib 't';
use CbTest;

my ($node, $root) = start_control('58300-58349');

my $val = 'S3CR3T-t21-value';
is(apply(<<"YAML"), 'Secret/t21-tls created, Secret/t21-badca created, ObjectStore/t21-store created',
apiVersion: v1
kind: Secret
metadata:
  name: t21-tls
stringData:
  other.crt: $val
---
apiVersion: v1
kind: Secret
metadata:
  name: t21-badca
stringData:
  ca.crt: $val
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: t21-store
spec:
  configuration:
    destinationPath: s3://backups/t21
    endpointURL: http://127.0.0.1:9
    s3Credentials:
      accessKeyId: {name: t21-nos3-plugin, key: ACCESS_KEY_ID}
      secretAccessKey: {name: t21-nos3-plugin, key: ACCESS_SECRET_KEY}
YAML
	'Secrets and an ObjectStore whose credentials do not exist');

sub clone
{
	my ($name, $auth) = @_;
	return cluster_yaml($name, <<"YAML" . $auth);
  bootstrap:
    pg_basebackup:
      source: origin
  externalClusters:
  - name: origin
    connectionParameters:
      host: 127.0.0.1
      port: "9"
      user: streaming_replica
YAML
}

sub recovery
{
	my ($name, $source) = @_;
	return cluster_yaml($name, <<"YAML" . $source);
  bootstrap:
    recovery:
      source: origin
  externalClusters:
  - name: origin
YAML
}

my %cases = (
	't21-pw' => [
		clone('t21-pw', "    password: {name: t21-nosuch, key: password}\n"),
		qr/^source: Secret "t21-nosuch" referenced by password does not exist$/
	],
	't21-key' => [
		clone('t21-key', "    sslRootCert: {name: t21-tls, key: ca.crt}\n"),
		qr/^source: missing key ca\.crt in secret t21-tls \(referenced by sslRootCert\)$/
	],
	't21-plug' => [
		recovery('t21-plug',
			"    plugin:\n      name: barman-cloud.cloudnative-pg.io\n"
			  . "      parameters:\n        barmanObjectName: t21-nostore\n"),
		qr/^store: ObjectStore "t21-nostore" referenced by spec\.externalClusters\[origin\]\.plugin\.parameters\.barmanObjectName does not exist$/
	],
	't21-plugsec' => [
		recovery('t21-plugsec',
			"    plugin:\n      name: barman-cloud.cloudnative-pg.io\n"
			  . "      parameters:\n        barmanObjectName: t21-store\n"),
		qr/^store: while getting secret t21-nos3-plugin: secrets "t21-nos3-plugin" not found$/
	],
	't21-bos' => [
		recovery('t21-bos', <<'YAML'),
    barmanObjectStore:
      destinationPath: s3://backups/t21
      endpointURL: http://127.0.0.1:9
      s3Credentials:
        accessKeyId: {name: t21-nos3, key: ACCESS_KEY_ID}
        secretAccessKey: {name: t21-nos3, key: ACCESS_SECRET_KEY}
YAML
		qr/^store: while getting secret t21-nos3: secrets "t21-nos3" not found$/
	],
	't21-pki' => [
		cluster_yaml('t21-pki', "  certificates:\n    serverCASecret: t21-badca\n"),
		qr/^pki: Secret "t21-badca" lacks key "ca\.crt" or "ca\.key"$/
	],
	# the import's source is prepared in its preflight, after initdb
	't21-imp' => [
		cluster_yaml('t21-imp', <<'YAML'),
  bootstrap:
    initdb:
      import:
        type: microservice
        databases: [app]
        source:
          externalCluster: origin
  externalClusters:
  - name: origin
    connectionParameters:
      host: 127.0.0.1
      port: "9"
      user: postgres
    password: {name: t21-nosuch-imp, key: password}
YAML
		qr/^import: Secret "t21-nosuch-imp" referenced by password does not exist$/
	],);

for my $c (sort keys %cases)
{
	is(apply($cases{$c}[0]), "Cluster/$c created", "$c applied");
}
for my $c (sort keys %cases)
{
	is(wait_cluster($c, '4 minutes'), 'Bootstrap failed', "$c: bootstrap failed");
	my $reason = status($c, 'phase_reason') // '';
	like($reason, $cases{$c}[1], "$c: the step that needs it says what is missing ($reason)");
	unlike($reason, qr/\Q$val\E/, "$c: no Secret value in the reason");
}

# nothing was generated in place of the user's CA Secret, which stays as written
is(secret('t21-badca', 'ca.crt'), $val, 't21-pki: the user CA Secret is left as it is');
is(q1("SELECT count(*) FROM cnpg_bootstrap.objects WHERE kind = 'Secret' AND name IN ('t21-pki-server', 't21-pki-replication')"),
	'0', 't21-pki: no server or replication certificate stored after the CA failed');

my $log = slurp_file($node->logfile);
unlike($log, qr/\Q$val\E/, 'no Secret value in the control instance log');

done_testing();
