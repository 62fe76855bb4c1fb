# Issue 12, item 4: replica clusters as CloudNativePG's Bootstrap page
# describes them, on real parts (s3rver, barman-cloud-wal-archive): a
# pg_basebackup replica whose spec.replica.source also has an object store
# gets a restore_command besides primary_conninfo, and rows written on the
# source arrive by streaming and, with streaming refused, through the
# store; a replica bootstrapped by recovery from one externalCluster (a
# store only) follows spec.replica.source, another one (server and store).
# Skipped when Node/npm, barman-cloud or boto3 are missing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use lib 't';
use StoreRig;
use CbTest;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $why = rig_start('s3', "$tmp/rig", own_keys => 't020');
plan skip_all => $why if defined $why;
my $ep = "http://127.0.0.1:$ENV{S3RIG_PORT}";
my ($key_id, $secret_key) = ($ENV{S3RIG_KEY}, $ENV{S3RIG_SECRET});

delete @ENV{qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_SESSION_TOKEN)};
my ($node, $root) = start_control('58200-58299');
$ENV{AWS_ACCESS_KEY_ID} = $key_id;
$ENV{AWS_SECRET_ACCESS_KEY} = $secret_key;
$ENV{AWS_DEFAULT_REGION} = 'us-east-1';

# ---------- the source: streaming and archiving into s3://backups/rsrc ----------
my $src = PostgreSQL::Test::Cluster->new('rsrc');
$src->init(allows_streaming => 1);
$src->append_conf('postgresql.conf', qq{
listen_addresses = 'localhost'
archive_mode = on
archive_command = 'barman-cloud-wal-archive --endpoint-url $ep s3://backups rsrc %p'
});
sub hba
{
	my ($replication) = @_;
	open(my $hba, '>', $src->data_dir . '/pg_hba.conf') or die;
	print $hba "local all all trust\nlocal replication all trust\n";
	print $hba "host replication streaming_replica $_ $replication\nhost all all $_ trust\n"
	  for ('127.0.0.1/32', '::1/128');
	close $hba;
}
hba('trust');
$src->start;
$src->safe_psql('postgres', 'CREATE ROLE streaming_replica LOGIN REPLICATION;'
	  . " CREATE TABLE ev (tag text, i int); INSERT INTO ev SELECT 'first', g FROM generate_series(1, 10) g");
my $sport = $src->port;

sub archived
{
	my ($what) = @_;
	my $seg = $src->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
	$src->safe_psql('postgres', 'SELECT pg_switch_wal()');
	ok($src->poll_query_until('postgres',
			"SELECT coalesce(last_archived_wal >= '$seg', false) FROM pg_stat_archiver"),
		"$what: segment $seg archived");
}
my $ev = q{SELECT coalesce(string_agg(tag || ':' || n, ' ' ORDER BY tag), '') FROM (SELECT tag, count(*) n FROM ev GROUP BY tag) s};
sub wait_rows
{
	my ($cluster, $want) = @_;
	my $got = '';
	return 'not healthy' unless status($cluster, 'phase') eq 'Cluster in healthy state';
	for (1 .. 900)
	{
		$got = tq($cluster, 'postgres', $ev) // '';
		return $got if $got eq $want;
		usleep(100_000);
	}
	return $got;
}

my $creds = <<"YAML";
apiVersion: v1
kind: Secret
metadata:
  name: t020-s3
stringData:
  ACCESS_KEY_ID: $key_id
  ACCESS_SECRET_KEY: $secret_key
---
YAML
sub store_yaml
{
	return <<"YAML";
    barmanObjectStore:
      destinationPath: s3://backups
      endpointURL: $ep
      serverName: rsrc
      s3Credentials:
        accessKeyId:
          name: t020-s3
          key: ACCESS_KEY_ID
        secretAccessKey:
          name: t020-s3
          key: ACCESS_SECRET_KEY
YAML
}
my $origin = <<"YAML" . store_yaml();
  - name: origin
    connectionParameters:
      host: localhost
      port: "$sport"
      user: streaming_replica
      dbname: postgres
YAML

# ---------- a pg_basebackup replica fed by streaming and by the store ----------
apply($creds . <<"YAML" . $origin);
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: storerep
spec:
  instances: 1
  storage:
    size: 1Gi
  replica:
    enabled: true
    source: origin
  bootstrap:
    pg_basebackup:
      source: origin
  externalClusters:
YAML
is(wait_cluster('storerep'), 'Cluster in healthy state', 'storerep: replica cluster healthy')
  or diag(status('storerep', 'phase_reason'));
like(tq('storerep', 'postgres', 'SHOW restore_command'), qr/cnpg_bootstrap_wal_restore/,
	'storerep: a restore_command from the source\'s object store');
like(tq('storerep', 'postgres', 'SHOW primary_conninfo'), qr/user='*streaming_replica/,
	'storerep: and primary_conninfo to the source');
$src->safe_psql('postgres', "INSERT INTO ev SELECT 'streamed', g FROM generate_series(1, 5) g");
is(wait_rows('storerep', 'first:10 streamed:5'), 'first:10 streamed:5', 'storerep: rows written on the source arrive');

# streaming refused from now on: the walsender ends and cannot come back
hba('reject');
$src->reload;
$src->safe_psql('postgres', 'SELECT pg_terminate_backend(pid) FROM pg_stat_replication');
$src->safe_psql('postgres', "INSERT INTO ev SELECT 'shipped', g FROM generate_series(1, 7) g");
archived('storerep, streaming refused');
is(wait_rows('storerep', 'first:10 shipped:7 streamed:5'), 'first:10 shipped:7 streamed:5',
	'storerep: with streaming refused, rows arrive through the store');
is($src->safe_psql('postgres', 'SELECT count(*) FROM pg_stat_replication'), '0',
	'... while nothing streams from the source');
hba('trust');
$src->reload;
q1("SELECT cnpg_bootstrap_delete('Cluster', 'storerep')");

# ---------- a recovery replica: bootstrap source a store, replica.source another ----------
my ($o, $e);
ok(IPC::Run::run([ 'barman-cloud-backup', '--endpoint-url', $ep, '--immediate-checkpoint',
	'-h', $src->host, '-p', $sport, '-d', 'postgres', 's3://backups', 'rsrc' ], '>', \$o, '2>', \$e),
	'a base backup of the source in the store') or diag("$o$e");
apply($creds . <<"YAML" . $origin . "  - name: backupsonly\n" . store_yaml());
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: recrep
spec:
  instances: 1
  storage:
    size: 1Gi
  replica:
    enabled: true
    source: origin
  bootstrap:
    recovery:
      source: backupsonly
  externalClusters:
YAML
is(wait_cluster('recrep', '6 minutes'), 'Cluster in healthy state', 'recrep: replica cluster healthy')
  or diag(status('recrep', 'phase_reason'));
like(tq('recrep', 'postgres', 'SHOW primary_conninfo'), qr/user='*streaming_replica/,
	'recrep: primary_conninfo of spec.replica.source (the bootstrap source has no server)');
$src->safe_psql('postgres', "INSERT INTO ev SELECT 'late', g FROM generate_series(1, 3) g");
is(wait_rows('recrep', 'first:10 late:3 shipped:7 streamed:5'), 'first:10 late:3 shipped:7 streamed:5',
	'recrep: rows written on the source arrive');
ok($src->poll_query_until('postgres', 'SELECT count(*) = 1 FROM pg_stat_replication'),
	'recrep: it streams from spec.replica.source');

# no credential in logs or ps
my $logs = '';
for my $f (glob("$root/recrep/*/log/*"), $node->logfile)
{
	$logs .= slurp_file($f) if -f $f;
}
unlike($logs, qr/\Q$secret_key\E/, 'the secret key appears in no log (control instance, recrep)');

q1("SELECT cnpg_bootstrap_delete('Cluster', 'recrep')");
done_testing();
