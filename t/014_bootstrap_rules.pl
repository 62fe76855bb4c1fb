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

# ---------- control characters PostgreSQL text holds (item 9) ----------
# DEL, NEL and U+2028 written as YAML escapes: stored, read back from the
# catalog by the worker (jsonb gives them back raw), used as written
my $ctl = <<'YAML';
apiVersion: v1
kind: Secret
metadata:
  name: t14-ctl-app
stringData:
  username: app
  password: "pw\x7f\x85\u2028S3CR3T-t14"
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: t14-ctl
spec:
  description: "DEL \x7f NEL \x85 LS \L"
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      secret: {name: t14-ctl-app}
      postInitApplicationSQL:
      - CREATE TABLE t (v text)
      - "INSERT INTO t VALUES ('a\x7fb\x85c\u2028d')"
YAML
is(apply($ctl), 'Secret/t14-ctl-app created, Cluster/t14-ctl created', 't14-ctl applied');
is(wait_cluster('t14-ctl', '4 minutes'), 'Cluster in healthy state', 't14-ctl: healthy')
  or diag(status('t14-ctl', 'phase_reason'));
is(tq('t14-ctl', 'app', "SELECT v = E'a\\x7fb' || U&'\\0085c\\2028d' FROM t"), 't',
	't14-ctl: the post-init SQL ran with DEL, NEL and U+2028 as written');
{
	local $ENV{PGPASSWORD} = "pw\x7f\xc2\x85\xe2\x80\xa8S3CR3T-t14";
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-At', '-h', '127.0.0.1', '-p', port_of('t14-ctl-1'), '-U', 'app',
		'-d', 'app', '-c', 'SELECT current_user' ], '>', \$out, '2>', \$err);
	is($out, "app\n", 't14-ctl: the owner logs in with a password holding DEL, NEL and U+2028') or diag($err);
}
is(apply($ctl), 'Secret/t14-ctl-app unchanged, Cluster/t14-ctl unchanged', 't14-ctl: applied again, unchanged');

# a NUL is refused naming the field; the value never reaches the log
my $nul = <<'YAML';
apiVersion: v1
kind: Secret
metadata:
  name: t14-nul
stringData:
  password: "S3CR3T-nul\0tail"
YAML
my ($rc, $out, $err) = $node->psql('postgres', "SELECT * FROM cnpg_bootstrap_apply(\$y\$$nul\$y\$)");
like($err, qr/Secret\/t14-nul: stringData.password: holds a NUL character/, 'a NUL is refused naming the field');
my $log = slurp_file($node->logfile);
ok(index($log, 'S3CR3T') < 0, 'no Secret value of this test in the control log');

done_testing();
