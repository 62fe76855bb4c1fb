# The fault matrix for the recovery method (issue 14, item 1): a real
# barman-cloud backup in a real S3 store (test/s3rig.sh), WAL archived after
# it, and faults injected while the backup is restored and while the WAL is
# replayed; after each, the cluster is healthy with every row of the source
# (t/FaultCase.pm checks that no child or temporary directory is left).
# CB_FAULTS=full runs the whole set (bench/faults.sh).
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use lib 't';
use StoreRig;
use CbTest;
use FaultCase;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $why = rig_start('s3', "$tmp/rig", own_keys => 't022');
plan skip_all => $why if defined $why;

my $ep = "http://127.0.0.1:$ENV{S3RIG_PORT}";
my ($key_id, $secret_key) = ($ENV{S3RIG_KEY}, $ENV{S3RIG_SECRET});
$ENV{TZ} = 'UTC';

# the control instance without AWS_* in its environment: the credentials
# come from the Secret
delete @ENV{qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_SESSION_TOKEN)};
my ($node, $root) = start_control($ENV{CB_FAULTS_RECOVERY_PORTS} || '58600-58699', "cnpg_bootstrap.max_workers = 4\nrestart_after_crash = on\n");

$ENV{AWS_ACCESS_KEY_ID} = $key_id;
$ENV{AWS_SECRET_ACCESS_KEY} = $secret_key;
$ENV{AWS_DEFAULT_REGION} = 'us-east-1';

# ---------- the source: archived into s3://backups/fsrc, one backup, WAL after it ----------
my $pgn = PostgreSQL::Test::Cluster->new('fault_source');
$pgn->init;
$pgn->append_conf('postgresql.conf', qq{
wal_level = replica
archive_mode = on
archive_command = 'barman-cloud-wal-archive --endpoint-url $ep -z s3://backups fsrc %p'
});
$pgn->start;
$pgn->safe_psql('postgres', 'CREATE TABLE big AS SELECT g AS i FROM generate_series(1, 200000) g');
my ($o, $e);
ok(IPC::Run::run([ 'barman-cloud-backup', '--endpoint-url', $ep, '-z', '--immediate-checkpoint',
	'-h', $pgn->host, '-p', $pgn->port, '-d', 'postgres', 's3://backups', 'fsrc' ], '>', \$o, '2>', \$e),
	'a barman-cloud backup of the source') or diag("$o$e");
# WAL to replay after the backup: several segments
for (1 .. 4)
{
	$pgn->safe_psql('postgres', 'INSERT INTO big SELECT g FROM generate_series(1, 25000) g; SELECT pg_switch_wal()');
}
my $rows = $pgn->safe_psql('postgres', 'SELECT count(*) FROM big');
# the segment of the last insert, switched out and archived
my $seg = $pgn->safe_psql('postgres', 'SELECT pg_walfile_name(pg_switch_wal())');
ok($pgn->poll_query_until('postgres', "SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver"),
	"WAL archived up to $seg");

sub recovery_yaml
{
	my ($name) = @_;
	return <<"YAML";
apiVersion: v1
kind: Secret
metadata:
  name: $name-s3
stringData:
  ACCESS_KEY_ID: $key_id
  ACCESS_SECRET_KEY: $secret_key
---
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
      source: origin
  externalClusters:
  - name: origin
    barmanObjectStore:
      destinationPath: s3://backups
      endpointURL: $ep
      serverName: fsrc
      s3Credentials:
        accessKeyId:
          name: $name-s3
          key: ACCESS_KEY_ID
        secretAccessKey:
          name: $name-s3
          key: ACCESS_SECRET_KEY
      wal:
        maxParallel: 4
YAML
}

my @cases = ('restore:middle:kill-control', 'promote:start:kill-wal-program');
push @cases, ('promote:middle:kill-target', 'restore:middle:kill-worker', 'restore:middle:term-worker', 'restore:end:stop-immediate',
	'configure:end:kill-worker', 'store:end:kill-control', 'promote:start:stop-immediate',
	'promote:middle:kill-control', 'app-database:end:kill-target')
  if ($ENV{CB_FAULTS} // '') eq 'full';
my $n = 0;
for my $fault (@cases)
{
	$n++;
	my $name = "fr$n";
	fault_case($n, $fault, $name, recovery_yaml($name), sub {
		my ($f) = @_;
		return is(tq($name, 'postgres', 'SELECT count(*) FROM big'), $rows, "$f: every row of the source, WAL replayed");
	});
	drop($name);
}
fault_summary();

# ---------- the disk filling up mid-restore (issue 14, item 2) ----------
# a small file system of the test runner's (CB_SMALLFS, a tmpfs): the
# restore stops before it would fill it, the cluster waits naming the
# place, nothing half-made stays, and once there is room it proceeds
SKIP:
{
	my $small = $ENV{CB_SMALLFS} // '';
	skip 'no small file system (CB_SMALLFS) from the test runner', 5 unless $small && -d $small && -w $small;
	my $sroot = "$small/rroot";
	mkdir $sroot, 0700;
	q1("ALTER SYSTEM SET cnpg_bootstrap.data_root = '$sroot'");
	q1('SELECT pg_reload_conf()');
	sleep(1);
	my $free = sub { my $o = `df -Pk '$small' | tail -1`; return (split /\s+/, $o)[3] * 1024; };
	my $ballast = "$small/ballast";
	open(my $fh, '>', $ballast) or die;
	my $mb = "\0" x (1 << 20);
	print $fh $mb for 1 .. int(($free->() - 20 * (1 << 20)) / (1 << 20));
	close $fh;
	(my $yaml = recovery_yaml('frdisk')) =~ s/size: 1Gi/size: 1Mi/;
	apply($yaml);
	my ($phase, $reason) = ('', '');
	for (1 .. 600)
	{
		($phase, $reason) = split /\|/, q1("SELECT phase || '|' || coalesce(phase_reason, '') FROM cnpg_bootstrap_status('frdisk')"), 2;
		last if ($reason // '') =~ /waiting for the host/ || $phase eq 'Bootstrap failed';
		usleep(100_000);
	}
	like($reason // '', qr/restore: waiting for the host: no space left on device in "\Q$sroot\E\/frdisk"/,
		'disk full mid-restore: the cluster waits, naming the place') or diag("$phase: $reason");
	ok(!-e "$sroot/frdisk/frdisk-1/pgdata.tmp", 'disk full mid-restore: no half-restored copy left');
	unlink $ballast;
	is(wait_cluster('frdisk', '4 minutes'), 'Cluster in healthy state', 'disk full mid-restore: healthy once there is room');
	{
		local $CbTest::root = $sroot;
		is(tq('frdisk', 'postgres', 'SELECT count(*) FROM big'), $rows, 'disk full mid-restore: every row');
	}
	q1("SELECT cnpg_bootstrap_delete('Cluster', 'frdisk')");
	for (1 .. 300) { last unless -e "$sroot/frdisk"; usleep(100_000); }
	ok(!-e "$sroot/frdisk", 'disk full mid-restore: torn down');
}
done_testing();
