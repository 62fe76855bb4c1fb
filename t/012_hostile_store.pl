# A hostile or broken object store (issue 11, items 8, 9, 10 and 12):
# - crafted base backups: a FIFO at global/pg_control, a hard link, a
#   member larger than a data file can be, more data than the backup.info
#   declares; a real backup with a setuid 04777 file, a 0777 directory and a
#   tablespace_map pointing outside the data root appended to its data.tar;
# - the WAL program run directly: a decompression bomb, an oversize plain
#   segment, garbage that does not fit in a small address space, fsync
#   before rename, retries kept for replica clusters;
# - the worker's memory during a long wait of a replica cluster whose WAL
#   fetches keep failing (memory contexts and RSS sampled for 30 s);
# - the WAL program's credentials file removed once a recovery is promoted;
# - the object-store client's self-tests (bounded listings, keys outside
#   the prefix), built here as t/005 builds them.
# Skipped when Node/npm, barman-cloud or boto3 are missing.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Copy;
use JSON::PP;
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

my $why = rig_start('s3', $rigdir, own_keys => 't012');
plan skip_all => $why if defined $why;

my $t_start = time;
my $ep = "http://127.0.0.1:$ENV{S3RIG_PORT}";
my ($key_id, $secret_key) = ($ENV{S3RIG_KEY}, $ENV{S3RIG_SECRET});
$ENV{TZ} = 'UTC';
delete @ENV{qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_SESSION_TOKEN)};
my ($node, $root) = start_control('57500-57599');
$ENV{AWS_ACCESS_KEY_ID} = $key_id;
$ENV{AWS_SECRET_ACCESS_KEY} = $secret_key;
$ENV{AWS_DEFAULT_REGION} = 'us-east-1';
$ENV{S3_ENDPOINT} = $ep;

my $pgc = $ENV{PG_CONFIG} // 'pg_config';
my %pg = map { my $v = `$pgc --$_`; chomp $v; ($_ => $v) } qw(bindir includedir-server includedir pkglibdir);

sub run_ok
{
	my ($what, @cmd) = @_;
	my ($o, $e) = ('', '');
	my $t0 = time;
	my $ok = IPC::Run::run(\@cmd, '>', \$o, '2>', \$e);
	ok($ok, sprintf('%s (%.1f s)', $what, time - $t0)) or diag("$o$e");
	return $o;
}

# ---------- the client's self-tests (listing bounds, keys outside the prefix) ----------
{
	my $bin = "$tmp/test_objectstore";
	my ($out, $err) = ('', '');
	my @srcs = grep { -f } map { "$srcdir/src/$_" } qw(objectstore.c os_config.c os_sigv4.c os_xml.c os_transfer.c oswait.c hmac_sha256.c azureblob.c gcs.c barman.c walrestore_conf.c);
	ok( IPC::Run::run(
			[
				'cc', '-O1', '-g', '-Wall', '-DCB_OS_NO_BACKEND', "-I$srcdir/src",
				"-I$pg{'includedir-server'}", "-I$pg{includedir}", '-o', $bin,
				"$srcdir/test/unit/test_objectstore.c", "$srcdir/test/unit/os_testkit.c",
				"$srcdir/test/unit/unit_shim.c", @srcs,
				"-L$pg{pkglibdir}", '-lpgcommon', '-lpgport', '-lcurl', '-lssl', '-lcrypto'
			],
			'>', \$out, '2>', \$err),
		'test_objectstore builds') or diag($err);
	IPC::Run::run([ $bin, 'selftest' ], '>', \$out, '2>', \$err);
	like($out, qr/^\d+ passed, 0 failed$/m, 'client self-tests pass')
	  or diag(join("\n", grep { /^not ok|^#/ } split /\n/, $out) . $err);
	like($out, qr/^ok .*listing that never ends stops/m, 'self-test: a listing that never ends is bounded');
	like($out, qr/^ok .*keys outside the prefix/m, 'self-test: keys outside the listed prefix are left out');
}

# ---------- boto3 and tarfile helpers ----------
my $py = "$tmp/s3.py";
PostgreSQL::Test::Utils::append_to_file($py, <<'PY');
import boto3, io, os, shutil, sys, tarfile
s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'])
B = 'backups'
def keys(prefix):
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=B, Prefix=prefix):
        for o in page.get('Contents', []):
            yield o['Key'], o['Size']
def reg(t, name, data, mode=0o600, uid=None):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = mode
    if uid is not None: ti.uid = uid
    t.addfile(ti, io.BytesIO(data))
def dirent(t, name, mode=0o700):
    ti = tarfile.TarInfo(name); ti.type = tarfile.DIRTYPE; ti.mode = mode; t.addfile(ti)
label = b'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n'
cmd = sys.argv[1]
if cmd == 'list':
    for k, n in keys(sys.argv[2]):
        print(k, n)
elif cmd == 'copy':            # copy SRC DST [LAST_WAL]: the folder, WAL up to LAST_WAL
    src, dst = sys.argv[2], sys.argv[3]
    last = sys.argv[4] if len(sys.argv) > 4 else None
    for k, n in list(keys(src + '/')):
        base = k.rsplit('/', 1)[1]
        if last and '/wals/' in k and len(base) >= 24 and base[:24] > last:
            continue
        s3.copy_object(Bucket=B, Key=dst + k[len(src):], CopySource={'Bucket': B, 'Key': k})
elif cmd == 'put':             # put KEY FILE
    s3.upload_file(sys.argv[3], B, sys.argv[2])
elif cmd == 'puttext':         # puttext KEY TEXT
    s3.put_object(Bucket=B, Key=sys.argv[2], Body=sys.argv[3].encode())
elif cmd == 'get':             # get KEY FILE
    s3.download_file(B, sys.argv[2], sys.argv[3])
elif cmd == 'tar':             # tar KIND OUT [ARGS]
    kind, out = sys.argv[2], sys.argv[3]
    if kind == 'append':       # append OUT IN UID EVIL_TS_PATH
        shutil.copy(sys.argv[4], out)
        with tarfile.open(out, 'a') as t:
            reg(t, 'evil_setuid', b'#!/bin/sh\n', 0o4777, int(sys.argv[5]))
            dirent(t, 'evil_dir', 0o777)
            reg(t, 'evil_dir/f', b'x', 0o666)
            reg(t, 'tablespace_map', ('99999 %s\n' % sys.argv[6]).encode())
        sys.exit(0)
    if kind == 'huge':         # a header that declares 3 GB, 64 kB of data, no end
        ti = tarfile.TarInfo('base/huge'); ti.size = 3 << 30; ti.mode = 0o600
        with open(out, 'wb') as f:
            f.write(ti.tobuf(format=tarfile.GNU_FORMAT)); f.write(b'\0' * 65536)
        sys.exit(0)
    with tarfile.open(out, 'w', format=tarfile.PAX_FORMAT) as t:
        reg(t, 'backup_label', label)
        dirent(t, 'global')
        if kind == 'fifo':
            ti = tarfile.TarInfo('global/pg_control'); ti.type = tarfile.FIFOTYPE; ti.mode = 0o600
            t.addfile(ti)
        elif kind == 'link':
            ti = tarfile.TarInfo('global/pg_control'); ti.type = tarfile.LNKTYPE; ti.linkname = 'backup_label'
            t.addfile(ti)
        elif kind == 'bomb':
            dirent(t, 'base')
            reg(t, 'base/big', b'\0' * (8 << 20))
PY
sub s3py
{
	my (@args) = @_;
	my ($o, $e) = ('', '');
	IPC::Run::run([ 'python3', $py, @args ], '>', \$o, '2>', \$e) or die "s3.py @args: $e";
	return $o;
}

# ---------- a real source and one plain backup, WAL archived plain ----------
my $pgn = PostgreSQL::Test::Cluster->new('hostile_source');
$pgn->init;
$pgn->append_conf('postgresql.conf', qq{
wal_level = replica
archive_mode = on
archive_command = 'barman-cloud-wal-archive --endpoint-url $ep s3://backups pg-src %p'
});
$pgn->start;
$pgn->safe_psql('postgres', 'CREATE TABLE t AS SELECT g AS i FROM generate_series(1, 1000) g');
run_ok('a plain backup by barman-cloud-backup',
	'barman-cloud-backup', '--endpoint-url', $ep, '--immediate-checkpoint', '-h', $pgn->host, '-p', $pgn->port,
	'-d', 'postgres', 's3://backups', 'pg-src');
my $bl = decode_json(run_ok('barman-cloud-backup-list', 'barman-cloud-backup-list', '--endpoint-url', $ep,
		'--format', 'json', 's3://backups', 'pg-src'))->{backups_list};
my $bid = $bl->[0]{backup_id};
my $end_wal = $bl->[0]{end_wal};
note("backup $bid, WAL $bl->[0]{begin_wal} to $end_wal");
$pgn->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(1001, 2000) g');
my $last_seg = $pgn->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$pgn->safe_psql('postgres', 'SELECT pg_switch_wal()');
ok($pgn->poll_query_until('postgres',
		"SELECT coalesce(last_archived_wal >= '$last_seg', false) FROM pg_stat_archiver"),
	"WAL archived up to $last_seg");
$pgn->stop;

# ---------- crafted backups ----------
my $info = <<"INFO";
backup_id=20260101T000000
begin_time=2026-01-01 00:00:00.000000+00:00
end_time=2026-01-01 00:01:00.000000+00:00
status=DONE
timeline=1
version=150010
INFO
for my $kind (qw(fifo link bomb huge))
{
	s3py('tar', $kind, "$tmp/$kind.tar");
	s3py('put', "ev-$kind/base/20260101T000000/data.tar", "$tmp/$kind.tar");
	# the bomb declares 4 kB in all
	PostgreSQL::Test::Utils::append_to_file("$tmp/$kind.info", $info . ($kind eq 'bomb' ? "size=4096\n" : ''));
	s3py('put', "ev-$kind/base/20260101T000000/backup.info", "$tmp/$kind.info");
}
# the real backup, with evil members appended to its data.tar
my $evil_ts = "$tmp/evil-ts";
s3py('copy', 'pg-src', 'ev-ok');
s3py('get', "pg-src/base/$bid/data.tar", "$tmp/data.tar");
s3py('tar', 'append', "$tmp/evil.tar", "$tmp/data.tar", $<, $evil_ts);
s3py('put', "ev-ok/base/$bid/data.tar", "$tmp/evil.tar");
# a replica source whose WAL after the backup's end is corrupt: the replica
# reaches consistency, then keeps failing to fetch (and retrying)
my $next = sprintf('%s%08X', substr($end_wal, 0, 16), hex(substr($end_wal, 16)) + 1);
s3py('copy', 'pg-src', 'ev-wait', $end_wal);
s3py('puttext', 'ev-wait/wals/' . substr($next, 0, 16) . "/$next.gz", 'not gzip at all');

sub cluster
{
	my ($name, $server, %o) = @_;
	my $replica = $o{replica} ? "  replica:\n    enabled: true\n    source: origin\n" : '';
	return <<"YAML";
apiVersion: v1
kind: Secret
metadata:
  name: $name-s3
stringData:
  ID: $key_id
  KEY: $secret_key
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: 1
  storage:
    size: 1Gi
$replica  bootstrap:
    recovery:
      source: origin
  externalClusters:
  - name: origin
    barmanObjectStore:
      destinationPath: s3://backups
      endpointURL: $ep
      serverName: $server
      s3Credentials:
        accessKeyId: {name: $name-s3, key: ID}
        secretAccessKey: {name: $name-s3, key: KEY}
YAML
}

# ---------- crafted archives: refused, naming the member, nothing left ----------
apply(cluster("ev-$_", "ev-$_")) for qw(fifo link bomb huge);
my %want = (
	fifo => qr{^restore: .*"global/pg_control".*(FIFO|not a regular file or directory)},
	link => qr{^restore: .*"global/pg_control".*hard link},
	bomb => qr{^restore: .*"base/big".*(declares|declared)},
	huge => qr{^restore: .*"base/huge".*(larger|more than)},
);
for my $kind (qw(fifo link bomb huge))
{
	my $c = "ev-$kind";
	my $t0 = time;
	my $phase = eval { wait_cluster($c, '90 seconds') } // "no answer: $@";
	is($phase, 'Bootstrap failed', sprintf('%s: Bootstrap failed (%.1f s)', $c, time - $t0));
	my $r = status($c, 'phase_reason') // '';
	like($r, $want{$kind}, "$c: the reason names the member ($r)");
	ok(!-e "$root/$c/$c-1/pgdata" && !-e "$root/$c/$c-1/pgdata.tmp", "$c: no data directory left");
}

# ---------- a real backup with evil members: modes and tablespace_map ----------
apply(cluster('ev-ok', 'ev-ok'));
is(eval { wait_cluster('ev-ok', '5 minutes') } // "no answer: $@", 'Cluster in healthy state', 'ev-ok: the recovery ends healthy')
  or diag(status('ev-ok', 'phase_reason'));
my $pgdata = "$root/ev-ok/ev-ok-1/pgdata";
is(tq('ev-ok', 'postgres', 'SELECT count(*) FROM t'), '2000', 'ev-ok: the data, WAL replayed');
my @st = stat("$pgdata/evil_setuid");
is(@st ? sprintf('%04o', $st[2] & 07777) : 'missing', '0600', 'ev-ok: a 04777 member is written 0600');
@st = stat("$pgdata/evil_dir");
is(@st ? sprintf('%04o', $st[2] & 07777) : 'missing', '0700', 'ev-ok: a 0777 directory is made 0700');
@st = stat("$pgdata/evil_dir/f");
is(@st ? sprintf('%04o', $st[2] & 07777) : 'missing', '0600', 'ev-ok: a 0666 member is written 0600');
ok(!-l "$pgdata/pg_tblspc/99999", 'ev-ok: the archive\'s tablespace_map made no link in pg_tblspc');
ok(!-e "$pgdata/tablespace_map" && !-e "$pgdata/tablespace_map.old", 'ev-ok: no tablespace_map kept');
ok(!-e $evil_ts, 'ev-ok: nothing made at the tablespace_map\'s target');
my $wrdir = "$root/ev-ok/ev-ok-1/wal-restore";
ok(!-e "$wrdir/wal-restore.conf", 'ev-ok: the WAL program\'s credentials file is removed after the promotion');
ok(!-e "$wrdir/spool", 'ev-ok: the spool is removed after the promotion');
q1("SELECT cnpg_bootstrap_delete('Cluster', 'ev-ok')");

# ---------- the WAL program, run directly ----------
my $wr = "$pg{bindir}/cnpg_bootstrap_wal_restore";
my $spool = "$tmp/spool";
sub wr_conf
{
	my (%o) = @_;
	my %c = (
		destination_path => 's3://backups', endpoint_url => $ep, access_key_id => $key_id,
		secret_access_key => $secret_key, region => 'us-east-1', server_name => 'wr',
		spool_dir => $spool, prefetch => 1, standby => 'off', %o);
	delete $c{$_} for grep { !defined $c{$_} } keys %c;
	my $path = "$tmp/wr.conf";
	unlink $path;
	open(my $fh, '>', $path) or die;
	chmod 0600, $path;
	print $fh "$_=$c{$_}\n" for sort keys %c;
	close $fh;
	return $path;
}
sub wr
{
	my ($conf, $f, $p, %o) = @_;
	my ($out, $err) = ('', '');
	my @cmd = ($wr, $conf, $f, $p);
	@cmd = ('bash', '-c', "ulimit -v $o{vmem_kb}; exec \"\$@\"", 'wr', @cmd) if $o{vmem_kb};
	@cmd = ('strace', '-f', '-qq', '-e', 'trace=fsync,fdatasync,rename,openat', '-o', $o{strace}, @cmd)
	  if $o{strace};
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	my $rc = ($? & 127) ? 'signal ' . ($? & 127) : $? >> 8;
	return { rc => $rc, err => $out . $err };
}
my $dir = 'wr/wals/0000000100000000';
my $seg = 16 * 1024 * 1024;
# 1: a gzip bomb, 20 MB of zeros; 2: 17 MB plain; 3: 48 MB of garbage
# named .gz; 4: a good 16 MB segment; 5: garbage .gz for the replica case
{
	open(my $fh, '>', "$tmp/zeros") or die;
	print $fh "\0" x (20 * 1024 * 1024);
	close $fh;
	system('gzip', '-1', '-f', "$tmp/zeros") == 0 or die;
	s3py('put', "$dir/000000010000000000000001.gz", "$tmp/zeros.gz");
	open($fh, '>', "$tmp/big") or die;
	print $fh "\1" x ($seg + 1024 * 1024);
	close $fh;
	s3py('put', "$dir/000000010000000000000002", "$tmp/big");
	open($fh, '<', '/dev/urandom') or die;
	my $junk = '';
	read($fh, $junk, 48 * 1024 * 1024);
	close $fh;
	open(my $out, '>', "$tmp/junk") or die;
	print $out $junk;
	close $out;
	s3py('put', "$dir/000000010000000000000003.gz", "$tmp/junk");
	open($fh, '>', "$tmp/good") or die;
	print $fh "\2" x $seg;
	close $fh;
	s3py('put', "$dir/000000010000000000000004", "$tmp/good");
	s3py('puttext', "$dir/000000010000000000000005.gz", 'not gzip');
}
my $conf = wr_conf(wal_segment_size => $seg);
my $p = "$tmp/RECOVERYXLOG";
my $h = wr($conf, '000000010000000000000001', $p);
is($h->{rc}, 128, 'WAL program: a gzip segment that decompresses past the segment size exits 128') or diag($h->{err});
like($h->{err}, qr/more than $seg bytes/, 'WAL program: and says it is too large');
ok(!-e $p && !-e "$p.tmp", 'WAL program: nothing left at %p');
$h = wr($conf, '000000010000000000000002', $p);
is($h->{rc}, 128, 'WAL program: a plain object larger than the segment size exits 128') or diag($h->{err});
like($h->{err}, qr/more than $seg bytes/, 'WAL program: and says it is too large');
ok(!-e $p && !-e "$p.tmp", 'WAL program: nothing left at %p');
$h = wr($conf, '000000010000000000000005', $p);
is($h->{rc}, 128, 'WAL program: garbage named .gz in a recovery exits 128') or diag($h->{err});
$h = wr(wr_conf(wal_segment_size => $seg, standby => 'on'), '000000010000000000000005', $p);
is($h->{rc}, 1, 'WAL program: the same in a replica cluster exits 1 (PostgreSQL retries)') or diag($h->{err});

# a good segment: fsync of the file (and its directory) before the rename
$h = wr($conf, '000000010000000000000004', $p, strace => "$tmp/strace");
is($h->{rc}, 0, 'WAL program: a good segment is fetched') or diag($h->{err});
is(-s $p, $seg, 'WAL program: the whole segment');
my $trace = slurp_file("$tmp/strace");
my ($tmpfd) = $trace =~ /openat\([^\n]*"\Q$p\E\.tmp"[^\n]*\)\s*=\s*(\d+)/;
my $fsync_at = defined $tmpfd && $trace =~ /fsync\($tmpfd\)\s*=\s*0/ ? $-[0] : -1;
my $rename_at = $trace =~ /rename\("\Q$p\E\.tmp", "\Q$p\E"\)\s*=\s*0/ ? $-[0] : -1;
ok($fsync_at >= 0 && $rename_at > $fsync_at, 'WAL program: the file is fsynced before its rename')
  or diag(join("\n", grep { /fsync|rename|\Q$p\E/ } split /\n/, $trace));
unlink $p;

# a small address space: the smallest that fetches the good segment, plus
# 24 MB; 48 MB of garbage must not be buffered whole (an out-of-memory exit
# status 1 would read as the end of the archive)
my ($lo, $hi) = (16 * 1024, 1024 * 1024);
while ($hi - $lo > 4096)
{
	my $mid = int(($lo + $hi) / 2);
	my $r = wr(wr_conf(), '000000010000000000000004', $p, vmem_kb => $mid);
	unlink $p;
	if ($r->{rc} eq '0') { $hi = $mid; } else { $lo = $mid; }
}
note("the WAL program fetches in ${hi} kB of address space");
$h = wr(wr_conf(), '000000010000000000000003', $p, vmem_kb => $hi + 24 * 1024);
is($h->{rc}, 128, 'WAL program: 48 MB of garbage in a small address space exits 128, not 1') or diag($h->{err});
ok(!-e $p, 'WAL program: nothing at %p');

# ---------- memory of the worker during a long wait ----------
apply(cluster('ev-wait', 'ev-wait', replica => 1));
my $t0 = time;
my $wait_log = "$root/ev-wait/ev-wait-1/log";
# the replica is consistent and the fetches of $next keep failing
my $waiting = 0;
for (1 .. 1800)
{
	my $v = tq('ev-wait', 'postgres', 'SELECT pg_is_in_recovery()') // '';
	if ($v eq 't') { $waiting = 1; last; }
	last if (status('ev-wait', 'phase') // '') eq 'Bootstrap failed';
	usleep(100_000);
}
ok($waiting, sprintf('ev-wait: the replica is up and waits for WAL (%.1f s)', time - $t0))
  or diag(status('ev-wait', 'phase_reason'));
my ($wpid) = grep { (eval { slurp_file("/proc/$_/cmdline") } // '') =~ /cnpg_bootstrap worker ev-wait/ }
  map { m{/proc/(\d+)/} ? $1 : () } glob('/proc/[0-9]*/cmdline');
ok($wpid, 'the worker of ev-wait found' . ($wpid ? " (pid $wpid)" : ''));
sub rss_kb { my $s = eval { slurp_file("/proc/$_[0]/status") } // ''; return $s =~ /^VmRSS:\s+(\d+)/m ? $1 : -1; }
sub used_bytes
{
	my ($pid) = @_;
	my $before = -s $node->logfile;
	q1("SELECT pg_log_backend_memory_contexts($pid)");
	for (1 .. 100)
	{
		my $log = substr(slurp_file($node->logfile), $before);
		return $1 if $log =~ /Grand total: \d+ bytes in \d+ blocks; \d+ free \(\d+ chunks\); (\d+) used/;
		usleep(100_000);
	}
	return -1;
}
if ($wpid)
{
	sleep(3);
	my ($u0, $r0) = (used_bytes($wpid), rss_kb($wpid));
	sleep(30);
	my ($u1, $r1) = (used_bytes($wpid), rss_kb($wpid));
	is(status('ev-wait', 'phase'), 'Setting up primary', 'ev-wait: still waiting after 30 s') or
	  diag(status('ev-wait', 'phase_reason'));
	note("worker memory: contexts $u0 -> $u1 bytes used, RSS $r0 -> $r1 kB");
	ok($u0 > 0 && $u1 - $u0 < 64 * 1024, "the worker's memory contexts do not grow during the wait ($u0 -> $u1 bytes)");
	ok($r0 > 0 && $r1 - $r0 < 512, "the worker's RSS stays flat during the wait ($r0 -> $r1 kB)");
	my $conns = tq('ev-wait', 'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cnpg_bootstrap'");
	is($conns, '1', 'ev-wait: the worker keeps one connection open');
	my $logs = join('', map { slurp_file($_) } glob("$wait_log/*.csv"));
	my $n_conn = () = $logs =~ /connection authorized: user=postgres database=postgres application_name=cnpg_bootstrap/g;
	note("connections authorized on ev-wait: $n_conn");
}
q1("SELECT cnpg_bootstrap_delete('Cluster', 'ev-wait')");

$node->poll_query_until('postgres', 'SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)');
$node->stop;
note(sprintf('012_hostile_store: %.0f s', time - $t_start));
done_testing();
