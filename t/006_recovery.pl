# The recovery bootstrap method end to end, on real parts: an S3 server that
# checks Signature V4 (s3rver, test/s3rig.sh), a real PostgreSQL archiving
# its WAL with barman-cloud-wal-archive (gzip into pg-gz, plain into
# pg-plain) and real barman-cloud-backup base backups.  Full recoveries
# (gzip and plain), every recovery target (name, time, LSN, XID inclusive
# and exclusive, immediate), an older backupID, a standby, failures of the
# store (wrong secret, missing bucket, no backup, unknown backupID) and of
# the restore (truncated data.tar), no credential in logs, ps or status,
# a crash of the control instance mid-recovery.  Skipped when Node/npm,
# barman-cloud or boto3 are missing.
#
# CB_T006_FIXTURES_ONLY=1 stops after the store is filled and checked and
# every manifest passed a dry-run apply (no cluster is made).
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Find;
use JSON::PP;
use List::Util qw(max);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use lib 't';
use StoreRig;
use CbTest;

my $srcdir = getcwd();
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $rigdir = "$tmp/rig";
my $fixtures_only = $ENV{CB_T006_FIXTURES_ONLY} // '';


my $why = rig_start('s3', $rigdir, own_keys => 't006');
plan skip_all => $why if defined $why;

my $t_start = time;
my $ep = "http://127.0.0.1:$ENV{S3RIG_PORT}";
my ($key_id, $secret_key) = ($ENV{S3RIG_KEY}, $ENV{S3RIG_SECRET});    # the rig's only key pair
my $wrong_secret = 'Wr0ng-t006-S3cret-9fQz';                # distinctive, for the leak checks
# barman writes local times with their offset
$ENV{TZ} = 'UTC';

# The control instance first, without AWS_* in its environment: the
# credentials of a recovery must come from the Secret, not from the host.
delete @ENV{qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_SESSION_TOKEN)};
my ($node, $root) = start_control('56600-56699');
note("data_root: $root");

my $sampler = $fixtures_only ? undef : ps_sampler_start("$root/ps.txt", 50);

# from here on the rig's credentials are in the environment of the source
# PostgreSQL (its archive_command), barman-cloud and boto3
$ENV{AWS_ACCESS_KEY_ID} = $key_id;
$ENV{AWS_SECRET_ACCESS_KEY} = $secret_key;
$ENV{AWS_DEFAULT_REGION} = 'us-east-1';
$ENV{S3_ENDPOINT} = $ep;

sub run_ok
{
	my ($what, @cmd) = @_;
	my ($o, $e);
	my $t0 = time;
	my $ok = IPC::Run::run(\@cmd, '>', \$o, '2>', \$e);
	ok($ok, sprintf('%s (%.1f s)', $what, time - $t0)) or diag("$o$e");
	return $o;
}

# boto3 helper: "list <prefix>" prints "<key> <size>" lines; "corrupt <src>
# <dst>" copies every object of folder <src> to <dst>, each data.tar cut
# to half its size (plus 100 bytes: not on a tar block boundary)
my $s3py = "$tmp/s3.py";
PostgreSQL::Test::Utils::append_to_file($s3py, <<'PY');
import boto3, os, sys
s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'])
B = 'backups'
def keys(prefix):
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=B, Prefix=prefix):
        for o in page.get('Contents', []):
            yield o['Key'], o['Size']
cmd = sys.argv[1]
if cmd == 'list':
    for k, n in keys(sys.argv[2]):
        print(k, n)
elif cmd == 'corrupt':
    src, dst = sys.argv[2], sys.argv[3]
    for k, n in list(keys(src + '/')):
        nk = dst + k[len(src):]
        if k.endswith('/data.tar'):
            cut = n // 2 + 100
            body = s3.get_object(Bucket=B, Key=k, Range='bytes=0-%d' % (cut - 1))['Body'].read()
            assert len(body) == cut
            s3.put_object(Bucket=B, Key=nk, Body=body)
            print('truncated', nk, n, cut)
        else:
            s3.copy_object(Bucket=B, Key=nk, CopySource={'Bucket': B, 'Key': k})
            print('copied', nk, n)
PY
sub store_objects
{
	my ($prefix) = @_;
	my ($o, $e);
	IPC::Run::run([ 'python3', $s3py, 'list', $prefix ], '>', \$o, '2>', \$e) or die "list $prefix: $e";
	return { map { split / / } split /\n/, $o };
}

# ---------- the source: archiving into pg-gz and pg-plain, three backups ----------
# both folders are archived at once (pg_backup_stop waits for the archiver:
# two barman-cloud-wal-archive in a row made the backups twice as slow);
# the command fails if either does
my $pgn = PostgreSQL::Test::Cluster->new('recovery_source');
$pgn->init;
$pgn->append_conf('postgresql.conf', qq{
wal_level = replica
archive_mode = on
archive_command = 'barman-cloud-wal-archive --endpoint-url $ep -z s3://backups pg-gz %p & barman-cloud-wal-archive --endpoint-url $ep s3://backups pg-plain %p; r=\$?; wait \$! && exit \$r'
});
$pgn->start;
my $src_tli = $pgn->safe_psql('postgres', 'SELECT timeline_id FROM pg_control_checkpoint()');
$pgn->safe_psql('postgres',
	'CREATE TABLE big AS SELECT g AS i, md5(g::text) AS h FROM generate_series(1, 200000) g');
my @conn = ('-h', $pgn->host, '-p', $pgn->port, '-d', 'postgres');
# A and B at the same time (concurrent backups are fine; it saves ~15 s)
{
	my ($bo, $be);
	my $t0 = time;
	my $h = IPC::Run::start([ 'barman-cloud-backup', '--endpoint-url', $ep, '--immediate-checkpoint', @conn,
		's3://backups', 'pg-plain' ], '>', \$bo, '2>', \$be);
	run_ok('backup A (gzip) into pg-gz',
		'barman-cloud-backup', '--endpoint-url', $ep, '-z', '--immediate-checkpoint', @conn, 's3://backups', 'pg-gz');
	ok($h->finish, sprintf('backup B (plain) into pg-plain, alongside (%.1f s)', time - $t0)) or diag("$bo$be");
}
$pgn->safe_psql('postgres', 'INSERT INTO big SELECT g, md5(g::text) FROM generate_series(200001, 250000) g');
run_ok('backup C (gzip, later, more data) into pg-gz',
	'barman-cloud-backup', '--endpoint-url', $ep, '-z', '--immediate-checkpoint', @conn, 's3://backups', 'pg-gz');

sub backups_of
{
	my ($server) = @_;
	my $json = run_ok("barman-cloud-backup-list $server",
		'barman-cloud-backup-list', '--endpoint-url', $ep, '--format', 'json', 's3://backups', $server);
	return [ sort { $a->{backup_id} cmp $b->{backup_id} } @{ decode_json($json)->{backups_list} } ];
}
my $gz = backups_of('pg-gz');
my $plainb = backups_of('pg-plain');
is(scalar(@$gz) . ' ' . scalar(@$plainb), '2 1', 'the store lists two gzip backups and one plain backup');
my ($A, $C) = @$gz;
my ($B) = @$plainb;
note("backups: A $A->{backup_id} ($A->{begin_xlog}), B $B->{backup_id}, C $C->{backup_id} ($C->{begin_xlog})");
ok($A->{backup_id} lt $C->{backup_id} && $B->{backup_id} lt $C->{backup_id}, 'backup IDs in the order taken: A, B < C');
my $base_objs = store_objects('pg-');
ok(exists $base_objs->{"pg-gz/base/$A->{backup_id}/data.tar.gz"}
	  && exists $base_objs->{"pg-gz/base/$C->{backup_id}/data.tar.gz"}
	  && exists $base_objs->{"pg-plain/base/$B->{backup_id}/data.tar"},
	'base tars: data.tar.gz in pg-gz, data.tar in pg-plain');

# ---------- the timeline of events, all after backup C ----------
# early (10 rows) | before (100 rows, xid X) | restore point rp1 | time T |
# LSN L | after (100 rows)
$pgn->safe_psql('postgres', q{CREATE TABLE ev (tag text NOT NULL, i int NOT NULL);
	INSERT INTO ev SELECT 'early', g FROM generate_series(1, 10) g});
my $xid = $pgn->safe_psql('postgres', q{BEGIN;
	INSERT INTO ev SELECT 'before', g FROM generate_series(1, 100) g;
	SELECT txid_current();
	COMMIT;});
like($xid, qr/^\d+$/, "xid of the 'before' transaction: $xid");
$pgn->safe_psql('postgres', q{SELECT pg_create_restore_point('rp1')});
sleep(1);
my $ttime = $pgn->safe_psql('postgres',
	q{SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')});
sleep(1);
my $tlsn = $pgn->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
$pgn->safe_psql('postgres', q{INSERT INTO ev SELECT 'after', g FROM generate_series(1, 100) g});
my $last_seg = $pgn->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$pgn->safe_psql('postgres', 'SELECT pg_switch_wal()');
note("targets: xid $xid, name rp1, time $ttime, lsn $tlsn; last segment $last_seg");
my $t0 = time;
ok($pgn->poll_query_until('postgres',
		"SELECT coalesce(last_archived_wal >= '$last_seg', false) FROM pg_stat_archiver"),
	sprintf('the segment of the last commit (%s) archived (%.1f s)', $last_seg, time - $t0));
is($pgn->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver'), '0', 'no archive_command failure');
my $walobjs = store_objects('pg-');
my $wdir = substr($last_seg, 0, 16);
ok(exists $walobjs->{"pg-gz/wals/$wdir/$last_seg.gz"} && exists $walobjs->{"pg-plain/wals/$wdir/$last_seg"},
	'that segment is in both folders (pg-gz compressed, pg-plain plain)');
note(sprintf('WAL objects: pg-gz %d, pg-plain %d',
	scalar(grep { m{^pg-gz/wals/} } keys %$walobjs), scalar(grep { m{^pg-plain/wals/} } keys %$walobjs)));
my $full_ev = $pgn->safe_psql('postgres',
	q{SELECT string_agg(tag || ':' || n, ' ' ORDER BY tag) FROM (SELECT tag, count(*) n FROM ev GROUP BY tag) s});
is($full_ev, 'after:100 before:100 early:10', 'the source holds every event');

# ---------- a corrupt copy of the plain backup: data.tar cut in half ----------
my $corrupt_out = run_ok('pg-corrupt: a copy of pg-plain with a truncated data.tar',
	'python3', $s3py, 'corrupt', 'pg-plain', 'pg-corrupt');
like($corrupt_out, qr{^truncated pg-corrupt/base/$B->{backup_id}/data\.tar \d+ \d+$}m, 'pg-corrupt: data.tar truncated');
my $cb = backups_of('pg-corrupt');
is(join(' ', map { $_->{backup_id} } @$cb), $B->{backup_id}, 'pg-corrupt: barman lists the backup (the catalog is fine)');

# ---------- the manifests ----------
my %creds = (s3 => [ $key_id, $secret_key ], wrong => [ $key_id, $wrong_secret ]);

# recovery_cluster(name, server => pg-gz, dest => s3://backups, creds => s3|wrong,
#   instances => 1, region => 0|1, target => [k => v, ...] (in order))
sub recovery_cluster
{
	my ($name, %o) = @_;
	my $server = $o{server} // 'pg-gz';
	my $dest = $o{dest} // 's3://backups';
	my $sec = 'rec-' . ($o{creds} // 's3');
	my ($kid, $sk) = @{ $creds{ $o{creds} // 's3' } };
	my $inst = $o{instances} // 1;
	my $target = '';
	if ($o{target})
	{
		$target = "      recoveryTarget:\n";
		my @t = @{ $o{target} };
		while (my ($k, $v) = splice(@t, 0, 2)) { $target .= "        $k: $v\n"; }
	}
	my $region = $o{region} ? "        region:\n          name: $sec\n          key: ACCESS_REGION\n" : '';
	my $replica = $o{replica} ? "  replica:\n    enabled: true\n    source: origin\n" : '';
	return <<"YAML";
apiVersion: v1
kind: Secret
metadata:
  name: $sec
stringData:
  ACCESS_KEY_ID: $kid
  ACCESS_SECRET_KEY: $sk
  ACCESS_REGION: us-east-1
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: $inst
  storage:
    size: 1Gi
$replica  bootstrap:
    recovery:
      source: origin
$target  externalClusters:
  - name: origin
    barmanObjectStore:
      destinationPath: $dest
      endpointURL: $ep
      serverName: $server
      s3Credentials:
        accessKeyId:
          name: $sec
          key: ACCESS_KEY_ID
        secretAccessKey:
          name: $sec
          key: ACCESS_SECRET_KEY
$region      wal:
        maxParallel: 8
YAML
}

my $Cid = $C->{backup_id};
my %m = (
	'rec-gz' => recovery_cluster('rec-gz'),
	'rec-plain' => recovery_cluster('rec-plain', server => 'pg-plain', instances => 2, region => 1),
	'rec-old' => recovery_cluster('rec-old', target => [ backupID => $A->{backup_id} ]),
	'rec-imm' => recovery_cluster('rec-imm', target => [ backupID => $Cid, targetImmediate => 'true' ]),
	# targetName and targetXID need a backupID (CloudNativePG's webhook)
	'rec-name' => recovery_cluster('rec-name', target => [ backupID => $Cid, targetName => 'rp1' ]),
	'rec-time' => recovery_cluster('rec-time', target => [ targetTime => "\"$ttime\"" ]),
	'rec-lsn' => recovery_cluster('rec-lsn', target => [ targetLSN => "\"$tlsn\"" ]),
	'rec-xid' => recovery_cluster('rec-xid', target => [ backupID => $Cid, targetXID => "\"$xid\"", exclusive => 'false' ]),
	'rec-xidx' => recovery_cluster('rec-xidx', target => [ backupID => $Cid, targetXID => "\"$xid\"", exclusive => 'true' ]),
	'rec-badkey' => recovery_cluster('rec-badkey', creds => 'wrong'),
	'rec-nobucket' => recovery_cluster('rec-nobucket', dest => 's3://nosuchbucket'),
	'rec-none' => recovery_cluster('rec-none', server => 'pg-nothere'),
	'rec-badid' => recovery_cluster('rec-badid', target => [ backupID => '20000101T000000' ]),
	'rec-corrupt' => recovery_cluster('rec-corrupt', server => 'pg-corrupt'),
	'rec-crash' => recovery_cluster('rec-crash', server => 'pg-plain'),
	'rec-replica' => recovery_cluster('rec-replica', replica => 1),
	# the Barman Cloud plugin form: an ObjectStore document holds the store
	'rec-plugin' => <<"YAML",
apiVersion: v1
kind: Secret
metadata:
  name: rec-s3p
stringData:
  ACCESS_KEY_ID: $key_id
  ACCESS_SECRET_KEY: $secret_key
---
apiVersion: barmancloud.cnpg.io/v1
kind: ObjectStore
metadata:
  name: rec-store
spec:
  configuration:
    destinationPath: s3://backups
    endpointURL: $ep
    s3Credentials:
      accessKeyId: {name: rec-s3p, key: ACCESS_KEY_ID}
      secretAccessKey: {name: rec-s3p, key: ACCESS_SECRET_KEY}
    wal:
      maxParallel: 4
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: rec-plugin
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
        barmanObjectName: rec-store
        serverName: pg-gz
YAML
);
for my $c (sort keys %m)
{
	my $r = $node->safe_psql('postgres', "SELECT string_agg(kind || '/' || name, ', ' ORDER BY kind)"
		  . " FROM cnpg_bootstrap_apply(\$yaml\$$m{$c}\$yaml\$, dry_run => true)");
	like($r, qr{^Cluster/$c, (?:ObjectStore/rec-store, )?Secret/rec-}, "$c: the manifest passes validation (dry run)");
}
note(sprintf('fixtures ready after %.0f s', time - $t_start));

# CB_T006_ORACLE=1: the expected results of the targets, checked with
# barman-cloud-restore and barman-cloud-wal-restore into plain servers
# (validates the test itself, not cnpg_bootstrap; ~6 s a target)
sub oracle
{
	my ($what, $bid, $target) = @_;
	my $o = PostgreSQL::Test::Cluster->new('oracle_' . ($what =~ s/\W+/_/gr));
	my $d = $o->data_dir;
	run_ok("oracle $what: barman-cloud-restore $bid", 'barman-cloud-restore', '--endpoint-url', $ep,
		's3://backups', 'pg-gz', $bid, $d);
	chmod 0700, $d;
	$o->append_conf('postgresql.conf', "port = " . $o->port . "\nunix_socket_directories = '" . $o->host
		  . "'\nlisten_addresses = ''\narchive_mode = off\nrecovery_target_action = 'promote'\n"
		  . "restore_command = 'barman-cloud-wal-restore --endpoint-url $ep s3://backups pg-gz %f %p'\n$target\n");
	PostgreSQL::Test::Utils::append_to_file("$d/recovery.signal", '');
	$o->start;
	$o->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
	my $r = $o->safe_psql('postgres', q{SELECT to_regclass('ev') IS NULL}) eq 't' ? 'no ev'
	  : $o->safe_psql('postgres',
		q{SELECT coalesce(string_agg(tag || ':' || n, ' ' ORDER BY tag), '') FROM (SELECT tag, count(*) n FROM ev GROUP BY tag) s});
	$o->stop;
	return $r;
}
if ($ENV{CB_T006_ORACLE})
{
	my $Cid = $C->{backup_id};
	is(oracle('name', $Cid, "recovery_target_name = 'rp1'"), 'before:100 early:10', 'oracle: targetName rp1');
	# PostgreSQL refuses RFC 3339; CloudNativePG rewrites it so (docs/cnpg-rules.md §1.5)
	my $pgtime = $ttime =~ s/T/ /r =~ s/Z$/+00:00/r;
	is(oracle('time', $Cid, "recovery_target_time = '$pgtime'"), 'before:100 early:10', 'oracle: targetTime');
	is(oracle('lsn', $Cid, "recovery_target_lsn = '$tlsn'"), 'before:100 early:10', 'oracle: targetLSN');
	is(oracle('xid', $Cid, "recovery_target_xid = '$xid'\nrecovery_target_inclusive = 'true'"),
		'before:100 early:10', 'oracle: targetXID inclusive');
	is(oracle('xidx', $Cid, "recovery_target_xid = '$xid'\nrecovery_target_inclusive = 'false'"),
		'early:10', 'oracle: targetXID exclusive');
	is(oracle('imm', $Cid, "recovery_target = 'immediate'"), 'no ev', 'oracle: targetImmediate');
}

if ($fixtures_only)
{
	$node->stop;
	$pgn->stop;
	done_testing();
	exit 0;
}

# ---------- helpers on the restored clusters ----------
my $logs = '';    # every log of every cluster, kept before it is deleted

sub cluster_files
{
	my ($dir, $want) = @_;
	my @f;
	return @f unless -d $dir;
	find({ no_chdir => 1, wanted => sub {
		$File::Find::prune = 1 if -d $_ && m{/pgdata(\.tmp)?$};
		push @f, $_ if -f $_ && $want->($_);
	} }, $dir);
	return @f;
}
sub logs_of
{
	my ($c) = @_;
	return join('', map { slurp_file($_) } cluster_files("$root/$c", sub { $_[0] =~ m{/log/} }));
}
sub done_with
{
	my ($c) = @_;
	$logs .= logs_of($c);
	q1("SELECT cnpg_bootstrap_delete('Cluster', '$c')");
}

my $ev_sql = q{SELECT coalesce(string_agg(tag || ':' || n, ' ' ORDER BY tag), '') FROM (SELECT tag, count(*) n FROM ev GROUP BY tag) s};
my $pitr_ev = 'before:100 early:10';

# a healthy recovered primary with the expected events
sub check_restored
{
	my ($c, $want_ev, $what) = @_;
	is(tq($c, 'postgres', 'SELECT count(*) FROM big'), '250000', "$c: table big restored");
	is(tq($c, 'postgres', $ev_sql), $want_ev, "$c: $what");
	is(tq($c, 'postgres', 'SELECT pg_is_in_recovery()'), 'f', "$c: a primary (recovery ended)");
	tq($c, 'postgres', 'CHECKPOINT');    # the end-of-recovery checkpoint may still be pending
	my $tli = tq($c, 'postgres', 'SELECT timeline_id FROM pg_control_checkpoint()');
	ok(defined $tli && $tli =~ /^\d+$/ && $tli > $src_tli, "$c: on a new timeline ($tli > $src_tli)");
	ok(-d "$root/$c/$c-1/pgdata" && !-e "$root/$c/$c-1/pgdata.tmp", "$c: pgdata in place, no pgdata.tmp left");
}

# ---------- full recoveries: gzip, plain with a standby, an older backup, immediate ----------
apply($m{$_}) for qw(rec-gz rec-plain rec-old rec-imm);
$t0 = time;
is(wait_cluster('rec-gz', '6 minutes'), 'Cluster in healthy state', 'rec-gz: full recovery from pg-gz healthy')
  or diag(status('rec-gz', 'phase_reason'));
note(sprintf('rec-gz healthy after %.1f s', time - $t0));
check_restored('rec-gz', $full_ev, 'every event, the last one too (the whole archive replayed)');
is(status('rec-gz', 'bootstrap_method'), 'recovery', 'rec-gz: bootstrap method recovery');
is(tq('rec-gz', 'postgres', q{WITH i AS (INSERT INTO ev VALUES ('new', 1) RETURNING tag) SELECT tag FROM i}), 'new',
	'rec-gz: read-write');
is(tq('rec-gz', 'postgres', "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'"), 'app',
	'rec-gz: application database app, owned by app');
{
	local $ENV{PGPASSWORD} = secret('rec-gz-app', 'password');
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-At', '-h', '127.0.0.1', '-p', port_of('rec-gz-1'), '-U', 'app', '-d', 'app',
		'-c', 'SELECT current_user' ], '>', \$out, '2>', \$err);
	is($out, "app\n", 'rec-gz: app logs in with the password of rec-gz-app') or diag($err);
}

is(wait_cluster('rec-plain', '6 minutes'), 'Cluster in healthy state', 'rec-plain: full recovery from pg-plain healthy')
  or diag(status('rec-plain', 'phase_reason'));
check_restored('rec-plain', $full_ev, 'every event (plain base and plain WAL)');
is(q1("SELECT string_agg(role || ':' || status, ' ' ORDER BY instance) FROM cnpg_bootstrap_instances('rec-plain')"),
	'primary:running replica:streaming', 'rec-plain: a standby made from the recovered primary');
is(tq('rec-plain', 'postgres', 'SELECT pg_is_in_recovery()', 'rec-plain-2'), 't', 'rec-plain-2: a standby');
is(tq('rec-plain', 'postgres', 'SELECT count(*) FROM pg_stat_wal_receiver WHERE status = \'streaming\'', 'rec-plain-2'),
	'1', 'rec-plain-2: streaming');
is(tq('rec-plain', 'postgres', $ev_sql, 'rec-plain-2'), $full_ev, 'rec-plain-2: has the restored rows');

is(wait_cluster('rec-old', '6 minutes'), 'Cluster in healthy state', 'rec-old: recovery from the older backup A healthy')
  or diag(status('rec-old', 'phase_reason'));
check_restored('rec-old', $full_ev, 'every event (A, then all the WAL after it)');
# PostgreSQL says where redo started: the checkpoint of backup A, not C's
my $old_logs = logs_of('rec-old');
my $redo = qr/(?:redo starts at|starting backup recovery with redo LSN) /;
ok($old_logs =~ /$redo\Q$A->{begin_xlog}\E\b/ && $old_logs !~ /$redo\Q$C->{begin_xlog}\E\b/,
	"rec-old: redo started at backup A's start ($A->{begin_xlog}), not C's");
note('rec-old status: ' . status('rec-old', 'phase_reason') . ' / '
	  . q1("SELECT string_agg(step || '=' || coalesce(detail, ''), '; ') FROM cnpg_bootstrap.steps WHERE cluster = 'rec-old'"));

is(wait_cluster('rec-imm', '6 minutes'), 'Cluster in healthy state', 'rec-imm: targetImmediate healthy')
  or diag(status('rec-imm', 'phase_reason'));
is(tq('rec-imm', 'postgres', 'SELECT count(*) FROM big'), '250000', 'rec-imm: backup C\'s data');
is(tq('rec-imm', 'postgres', q{SELECT to_regclass('ev') IS NULL}), 't', 'rec-imm: stopped at consistency, before table ev existed');
is(tq('rec-imm', 'postgres', 'SELECT pg_is_in_recovery()'), 'f', 'rec-imm: promoted');
done_with($_) for qw(rec-gz rec-plain rec-old rec-imm);

# ---------- point-in-time targets ----------
apply($m{$_}) for qw(rec-name rec-time rec-lsn rec-xid rec-xidx);
for my $case ([ 'rec-name', 'targetName rp1' ], [ 'rec-time', "targetTime $ttime" ], [ 'rec-lsn', "targetLSN $tlsn" ],
	[ 'rec-xid', "targetXID $xid inclusive" ])
{
	my ($c, $what) = @$case;
	is(wait_cluster($c, '6 minutes'), 'Cluster in healthy state', "$c: $what healthy")
	  or diag(status($c, 'phase_reason'));
	check_restored($c, $pitr_ev, "$what: the 'before' rows, not the 'after' ones");
}
is(wait_cluster('rec-xidx', '6 minutes'), 'Cluster in healthy state', 'rec-xidx: targetXID exclusive healthy')
  or diag(status('rec-xidx', 'phase_reason'));
check_restored('rec-xidx', 'early:10', "targetXID $xid exclusive: the earlier rows, not that transaction's");
done_with($_) for qw(rec-name rec-time rec-lsn rec-xid rec-xidx);

# ---------- a replica cluster fed from the store; the plugin form ----------
apply($m{$_}) for qw(rec-replica rec-plugin);
is(wait_cluster('rec-replica', '6 minutes'), 'Cluster in healthy state', 'rec-replica: replica cluster healthy')
  or diag(status('rec-replica', 'phase_reason'));
like(status('rec-replica', 'phase_reason'), qr/Replica cluster: rec-replica-1 follows source origin/,
	'rec-replica: status says it is a replica cluster');
is(tq('rec-replica', 'postgres', 'SELECT pg_is_in_recovery()'), 't', 'rec-replica: in continuous recovery');
is(tq('rec-replica', 'postgres', $ev_sql), $full_ev, 'rec-replica: everything archived so far replayed');
is(tq('rec-replica', 'postgres', "SELECT count(*) FROM pg_database WHERE datname = 'app'"), '0',
	'rec-replica: no application database on a replica cluster');
# new WAL on the source reaches the replica through the store alone
$pgn->safe_psql('postgres', "INSERT INTO ev SELECT 'shipped', g FROM generate_series(1, 7) g");
my $shipped_seg = $pgn->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$pgn->safe_psql('postgres', 'SELECT pg_switch_wal()');
my $shipped = '';
for (1 .. 600)
{
	$shipped = tq('rec-replica', 'postgres', "SELECT count(*) FROM ev WHERE tag = 'shipped'") // '';
	last if $shipped eq '7';
	usleep(100_000);
}
is($shipped, '7', "rec-replica: rows written on the source after the bootstrap arrive by WAL shipping ($shipped_seg)");
# the archive now ends later: later full recoveries replay the shipped rows too
$full_ev = $pgn->safe_psql('postgres', $ev_sql);
is(wait_cluster('rec-plugin', '6 minutes'), 'Cluster in healthy state', 'rec-plugin: recovery through an ObjectStore healthy')
  or diag(status('rec-plugin', 'phase_reason'));
is(tq('rec-plugin', 'postgres', 'SELECT count(*) FROM big'), '250000', 'rec-plugin: the data of the newest backup');
done_with($_) for qw(rec-replica rec-plugin);

# ---------- failures: the store, then the restore ----------
apply($m{$_}) for qw(rec-badkey rec-nobucket rec-none rec-badid rec-corrupt);
sub failed
{
	my ($c) = @_;
	is(wait_cluster($c, '6 minutes'), 'Bootstrap failed', "$c: Bootstrap failed");
	ok(!-e "$root/$c/$c-1/pgdata", "$c: no pgdata directory");
	return status($c, 'phase_reason') // '';
}
my $r = failed('rec-badkey');
like($r, qr/^store: .*SignatureDoesNotMatch/s, "rec-badkey: the store's SignatureDoesNotMatch ($r)");
ok(index($r, $wrong_secret) < 0 && index($r, $secret_key) < 0, 'rec-badkey: no secret in the reason');
$r = failed('rec-nobucket');
like($r, qr/^store: .*nosuchbucket/s, "rec-nobucket: names the bucket ($r)");
like($r, qr/NoSuchBucket/, 'rec-nobucket: the store\'s NoSuchBucket');
$r = failed('rec-none');
like($r, qr/^store: no target backup found/, "rec-none: no backup under pg-nothere ($r)");
$r = failed('rec-badid');
like($r, qr/^store: no backup found with ID 20000101T000000/, "rec-badid: unknown backupID ($r)");
$r = failed('rec-corrupt');
like($r, qr/^restore: /, "rec-corrupt: truncated data.tar fails in restore ($r)");
my $status_text = q1("SELECT string_agg(s::text, ' ') FROM cnpg_bootstrap_status() s")
  . q1("SELECT string_agg(i::text, ' ') FROM cnpg_bootstrap.steps i");
done_with($_) for qw(rec-badkey rec-nobucket rec-none rec-badid rec-corrupt);

# ---------- a crash of the control instance mid-recovery ----------
# Timing-dependent: the crash lands in the restore when it is slow enough
# to be seen running, else in a later step; either way the worker must
# resume and end healthy with all the data.  Drop this block if it flakes.
apply($m{'rec-crash'});
# wait (30 s at most) until the restore step shows, in the journal or the
# status, or the cluster is already done
for (1 .. 600)
{
	last if q1("SELECT EXISTS (SELECT 1 FROM cnpg_bootstrap.steps WHERE cluster = 'rec-crash' AND step = 'restore')"
		  . " OR EXISTS (SELECT 1 FROM cnpg_bootstrap_status('rec-crash') WHERE phase_reason LIKE 'restore%'"
		  . " OR phase IN ('Cluster in healthy state', 'Bootstrap failed'))") eq 't';
	usleep(50_000);
}
note('rec-crash at the crash: ' . (status('rec-crash', 'phase_reason') // ''));
{
	# the control instance restarts without AWS_* in its environment
	local %ENV = %ENV;
	delete @ENV{qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION)};
	crash_control();
}
is(wait_cluster('rec-crash', '6 minutes'), 'Cluster in healthy state', 'rec-crash: healthy after a crash mid-recovery')
  or diag(status('rec-crash', 'phase_reason'));
check_restored('rec-crash', $full_ev, 'every event after the redone recovery');
$status_text .= q1("SELECT string_agg(s::text, ' ') FROM cnpg_bootstrap_status() s")
  . q1("SELECT string_agg(i::text, ' ') FROM cnpg_bootstrap.steps i");
done_with('rec-crash');

# ---------- no credential in logs, ps or status ----------
my $ps = ps_sampled($sampler);
$logs .= slurp_file($node->logfile);
for my $s ([ 'the secret key', $secret_key ], [ 'the access key id', $key_id ], [ 'the wrong secret key', $wrong_secret ])
{
	my ($what, $v) = @$s;
	ok(index($logs, $v) < 0, "no $what in the control log or any instance log");
	ok(index($ps, $v) < 0, "no $what in ps output")
	  or diag(join("\n", map { s/\Q$v\E/<$what>/gr } (grep { index($_, $v) >= 0 } split /\n/, $ps)[0 .. 2]));
	ok(index($status_text, $v) < 0, "no $what in status or steps");
}

$node->poll_query_until('postgres', 'SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)');
$node->stop;
$pgn->stop;
note(sprintf('006_recovery: %.0f s', time - $t_start));
done_testing();
