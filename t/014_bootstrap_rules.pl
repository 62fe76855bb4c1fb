# The folder a recovery reads in the object store (issue 12, item 5):
# serverName, else the name of the externalClusters entry, as the Bootstrap
# page says, for barmanObjectStore and for the Barman Cloud plugin form
# alike (plugin-barman-cloud takes the Cluster's own name: the page wins).
# The store is empty, so each recovery fails at its first listing, and the
# reason names the folder it listed: <destinationPath>/<serverName>/base/.
# Skipped when Node/npm, barman-cloud or boto3 are missing (StoreRig).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use lib 't';
use StoreRig;
use CbTest;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $why = rig_start('s3', "$tmp/rig", own_keys => 't014');
plan skip_all => $why if defined $why;

my $ep = "http://127.0.0.1:$ENV{S3RIG_PORT}";
my ($node, $root) = start_control('57600-57699');

my $store = <<"YAML";
  destinationPath: s3://backups/t14
  endpointURL: $ep
  s3Credentials:
    accessKeyId: {name: t14-s3, key: ACCESS_KEY_ID}
    secretAccessKey: {name: t14-s3, key: ACCESS_SECRET_KEY}
YAML
(my $in_cluster = $store) =~ s/^/    /mg;
(my $in_store = $store) =~ s/^/  /mg;

# a Cluster restoring from an externalClusters entry named origin-<tag>
sub recovery
{
	my ($name, $tag, $source) = @_;
	return <<"YAML";
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      source: origin-$tag
  externalClusters:
  - name: origin-$tag
$source
YAML
}

is(apply(<<"YAML"), 'Secret/t14-s3 created, ObjectStore/t14-store created', 'store credentials and the ObjectStore');
apiVersion: v1
kind: Secret
metadata:
  name: t14-s3
stringData:
  ACCESS_KEY_ID: $ENV{S3RIG_KEY}
  ACCESS_SECRET_KEY: $ENV{S3RIG_SECRET}
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: t14-store
spec:
  configuration:
$in_store
YAML

my %clusters = (
	# barmanObjectStore: serverName, else the externalCluster's name
	't14-bos' => [ 'bos', "    barmanObjectStore:\n$in_cluster", 'origin-bos' ],
	't14-bos-sn' => [ 'bsn', "    barmanObjectStore:\n$in_cluster      serverName: pg-bos", 'pg-bos' ],
	# the plugin: serverName parameter, else the externalCluster's name
	't14-plug' => [
		'plug',
		"    plugin:\n      name: barman-cloud.cloudnative-pg.io\n"
		  . "      parameters:\n        barmanObjectName: t14-store",
		'origin-plug'
	],
	't14-plug-sn' => [
		'psn',
		"    plugin:\n      name: barman-cloud.cloudnative-pg.io\n"
		  . "      parameters:\n        barmanObjectName: t14-store\n        serverName: pg-plug",
		'pg-plug'
	],);

for my $c (sort keys %clusters)
{
	my ($tag, $source) = @{ $clusters{$c} };
	is(apply(recovery($c, $tag, $source)), "Cluster/$c created", "$c applied");
}
for my $c (sort keys %clusters)
{
	my $folder = $clusters{$c}[2];
	is(wait_cluster($c, '3 minutes'), 'Bootstrap failed', "$c: no backup in the empty store");
	my $reason = status($c, 'phase_reason') // '';
	like($reason, qr{^store: no target backup found}, "$c: the store step found no backup");
	like($reason, qr{/backups/t14/\Q$folder\E/base/}, "$c: listed the folder $folder ($reason)");
	unlike($reason, qr{/t14/\Q$c\E/base/}, "$c: not the Cluster's own name");
}

done_testing();
