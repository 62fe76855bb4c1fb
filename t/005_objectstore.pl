# The S3 client (src/objectstore.c) and the Barman catalog (src/barman.c)
# against real parts: an S3 server that recomputes Signature V4 (s3rver,
# test/s3rig.sh) holding real backups and WAL made by barman-cloud from a
# real PostgreSQL.  The code is not part of a bootstrap method yet, so it is
# driven through test/unit/test_objectstore.c, built here with the same
# sources.  Then cnpg_bootstrap_wal_restore (restore_command), built here
# too, against the same WAL archive.  Skipped when Node/npm, barman-cloud or
# the store are missing.
use strict;
use warnings;
use Cwd qw(getcwd);
use Digest::SHA;
use File::Copy;
use File::Path qw(rmtree);
use IO::Socket::INET;
use IO::Uncompress::Gunzip;
use JSON::PP;
use List::Util qw(max);
use POSIX qw(strftime);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use StoreRig;
use Time::HiRes qw(time usleep);
use Time::Local qw(timegm);

my $srcdir = getcwd();
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $rigdir = "$tmp/rig";


my $why = rig_start('s3', $rigdir);
plan skip_all => $why if defined $why;

my $ep = "http://127.0.0.1:$ENV{S3RIG_PORT}";
$ENV{AWS_ACCESS_KEY_ID} = 'testkey';
$ENV{AWS_SECRET_ACCESS_KEY} = 'testsecret';
$ENV{AWS_DEFAULT_REGION} = 'us-east-1';
$ENV{S3_ENDPOINT} = $ep;
delete $ENV{AWS_SESSION_TOKEN};
# barman writes local times with their offset, and prints them as ctime
$ENV{TZ} = 'UTC';
my $t_start = time;

# ---------- the test program, from the same sources ----------
my $pgc = $ENV{PG_CONFIG} // 'pg_config';
my %pg = map { my $v = `$pgc --$_`; chomp $v; ($_ => $v) } qw(includedir-server includedir pkglibdir);
my $bin = "$tmp/test_objectstore";
my ($out, $err);
ok( IPC::Run::run(
		[
			'cc', '-O2', '-g', '-Wall', '-DCB_OS_NO_BACKEND', "-I$srcdir/src",
			"-I$pg{'includedir-server'}", "-I$pg{includedir}", '-o', $bin,
			"$srcdir/test/unit/test_objectstore.c", "$srcdir/test/unit/os_testkit.c",
			"$srcdir/test/unit/unit_shim.c",
			"$srcdir/src/objectstore.c", "$srcdir/src/os_config.c", "$srcdir/src/os_sigv4.c", "$srcdir/src/os_xml.c", "$srcdir/src/os_transfer.c", "$srcdir/src/oswait.c", "$srcdir/src/hmac_sha256.c", "$srcdir/src/azureblob.c", "$srcdir/src/gcs.c", "$srcdir/src/barman.c", "$srcdir/src/walrestore_conf.c",
			"-L$pg{pkglibdir}", '-lpgcommon', '-lpgport', '-lcurl', '-lssl', '-lcrypto'
		],
		'>', \$out, '2>', \$err),
	'test program builds') or BAIL_OUT("cannot build test_objectstore: $err");

IPC::Run::run([ $bin, 'selftest' ], '>', \$out, '2>', \$err);
like($out, qr/^\d+ passed, 0 failed$/m,
	'self-tests: SigV4 vectors, XML, backup.info, choice rules, walrestore conf, retries/resume/stall/cancel on a fake server')
  or diag(join("\n", grep { /^not ok|^#/ } split /\n/, $out) . $err);
note((split /\n/, $out)[-1]);

# run one operation against the rig; "k=v" lines -> { k => [v, ...] }
sub tool
{
	my @cmd = ($bin, 'rig', @_);
	my ($o, $e) = ('', '');
	my $t0 = time;
	IPC::Run::run(\@cmd, '>', \$o, '2>', \$e);
	my %h = (rc => $? >> 8, out => $o . $e, wall => time - $t0);
	for (split /\n/, $o) { push @{ $h{$1} }, $2 if /^(\w+)=(.*)$/; }
	return \%h;
}
sub v { my ($h, $k) = @_; return $h->{$k} ? $h->{$k}[-1] : ''; }

sub sha_file { return Digest::SHA->new(256)->addfile($_[0])->hexdigest; }
sub stored { return "$rigdir/data/backups/$_[0]._S3rver_object"; }    # s3rver's copy

sub run_ok
{
	my ($what, @cmd) = @_;
	my ($o, $e);
	my $t0 = time;
	my $ok = IPC::Run::run(\@cmd, '>', \$o, '2>', \$e);
	ok($ok, sprintf('%s (%.1f s)', $what, time - $t0)) or diag("$o$e");
	return $o;
}

# ---------- a PostgreSQL archiving to the store, two barman-cloud backups ----------
my $pgn = PostgreSQL::Test::Cluster->new('barman_source');
$pgn->init;
$pgn->append_conf('postgresql.conf', qq{
wal_level = replica
archive_mode = on
archive_command = 'barman-cloud-wal-archive --endpoint-url $ep -z s3://backups pg %p'
});
$pgn->start;
$pgn->safe_psql('postgres',
	'CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 100000) g');
my @conn = ('-h', $pgn->host, '-p', $pgn->port, '-d', 'postgres');
run_ok('backup A (gzip) by barman-cloud-backup',
	'barman-cloud-backup', '--endpoint-url', $ep, '-z', '--immediate-checkpoint', @conn,
	's3://backups', 'pg');
my $between = $pgn->safe_psql('postgres',
	q{SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')});
$pgn->safe_psql('postgres', 'INSERT INTO t SELECT g, md5(g::text) FROM generate_series(100001, 150000) g');
run_ok('backup B (plain) by barman-cloud-backup',
	'barman-cloud-backup', '--endpoint-url', $ep, '--immediate-checkpoint', @conn,
	's3://backups', 'pg');
my $json = run_ok('barman-cloud-backup-list --format json',
	'barman-cloud-backup-list', '--endpoint-url', $ep, '--format', 'json', 's3://backups', 'pg');
my @blist = @{ decode_json($json)->{backups_list} };
is(scalar(@blist), 2, 'barman lists two backups');
my ($A, $B) = map { $_->{backup_id} } sort { $a->{backup_id} cmp $b->{backup_id} } @blist;

# ---------- the catalog, read by us ----------
my $cat = tool('s3://backups', 'catalog', 'pg');
is(v($cat, 'status') . ' ' . v($cat, 'backups'), 'ok 2', 'catalog: two backups read (SigV4 accepted)');
my %ours;
for my $line (@{ $cat->{backup} // [] })
{
	my @f = split /\|/, $line, -1;
	$ours{ $f[0] } = {
		usable => $f[1], status => $f[2], timeline => $f[3], begin_time => $f[4],
		end_time => $f[5], begin_wal => $f[6], end_wal => $f[7], begin_xlog => $f[8],
		end_xlog => $f[9], systemid => $f[10], label_lines => $f[11]
	};
}
sub ctime
{
	my ($t) = @_;    # "YYYY-MM-DD HH:MM:SS.ffffff+00:00" -> Python's ctime()
	my ($y, $mo, $d, $h, $mi, $s) = $t =~ /^(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)/ or return '';
	return strftime('%a %b %e %H:%M:%S %Y', gmtime(timegm($s, $mi, $h, $d, $mo - 1, $y)));
}
for my $b (@blist)
{
	my $o = $ours{ $b->{backup_id} } // {};
	my @fields = qw(status timeline begin_wal end_wal begin_xlog end_xlog systemid);
	is( join(' ', map { $o->{$_} // '' } @fields),
		join(' ', map { $b->{$_} // '' } @fields),
		"backup.info of $b->{backup_id}: same fields as barman-cloud-backup-list");
	is( ctime($o->{begin_time} // '') . ' / ' . ctime($o->{end_time} // ''),
		"$b->{begin_time} / $b->{end_time}",
		"backup.info of $b->{backup_id}: same times (barman prints them to the second)");
	ok($o->{usable} && $o->{label_lines} >= 5, "backup.info of $b->{backup_id}: usable, backup_label decoded");
}

# ---------- CloudNativePG's choice ----------
sub chosen
{
	my $h = tool('s3://backups', 'catalog', @_);
	return v($h, 'chosen') || v($h, 'error');
}
is(chosen('pg'), $B, 'choice: no recoveryTarget -> the newest backup (B)');
is(chosen('pg', "backupID=$A"), $A, 'choice: backupID A');
is(chosen('pg', "targetTime=$between"), $A, "choice: targetTime between the backups ($between) -> A");
is(chosen('pg', "targetTime=$ours{$B}{end_time}"), $B, 'choice: targetTime equal to B\'s end_time -> B');
is(chosen('pg', "targetLSN=$ours{$B}{end_xlog}"), $A, 'choice: targetLSN equal to B\'s end LSN -> A (strictly before)');
my ($hi, $lo) = split m{/}, $ours{$B}{end_xlog} // '0/0';
is(chosen('pg', sprintf('targetLSN=%X/%X', hex($hi), hex($lo) + 1)), $B, 'choice: targetLSN just past B -> B');
is(chosen('pg', 'targetTLI=latest'), $B, 'choice: targetTLI latest');
is(chosen('pg', 'backupID=20000101T000000'), 'no backup found with ID 20000101T000000', 'choice: unknown backupID');
my $none = tool('s3://backups', 'catalog', 'pg', 'targetTLI=2');
is(v($none, 'error'), 'no target backup found', 'choice: targetTLI 2 -> no target backup found');
is(scalar(grep { /^backup \d{8}T\d{6}: on timeline 1, not targetTLI 2$/ } @{ $none->{detail} // [] }),
	2, 'choice: the detail says why each backup was not usable');
$none = tool('s3://backups', 'catalog', 'pg', 'targetTime=2000-01-01 00:00:00');
like(join("\n", @{ $none->{detail} // [] }), qr/backup $A: ends at .*, after targetTime 2000-01-01 00:00:00/,
	'choice: a targetTime before every backup is explained');
$none = tool('s3://backups', 'catalog', 'nothere');
is(v($none, 'error') . ' / ' . v($none, 'detail'),
	'no target backup found / Nothing was found under s3://backups/nothere/base/.',
	'missing prefix: a clear error naming where we looked');

# ---------- errors from the store ----------
my $h = tool('s3://nobucket/some/path', 'catalog', 'pg');
ok($h->{rc} == 1 && v($h, 'code') eq 'NoSuchBucket'
	  && v($h, 'message') =~ /^bucket "nobucket" does not exist at \Q$ep\E/,
	'missing bucket: a clear error naming it') or diag($h->{out});
{
	local $ENV{AWS_SECRET_ACCESS_KEY} = 'Wr0ngS3cretK3y';
	$h = tool('s3://backups', 'list', 'pg/', '-', '0');
	ok( $h->{rc} == 1 && v($h, 'http') == 403 && v($h, 'code') eq 'SignatureDoesNotMatch'
		  && v($h, 'message') =~ /The request signature we calculated does not match/,
		'wrong secret key: the store\'s SignatureDoesNotMatch') or diag($h->{out});
	ok($h->{wall} < 1.0, sprintf('wrong secret key: fails at once (%.2f s), no retry', $h->{wall}));
	unlike($h->{out}, qr/Wr0ngS3cretK3y|testsecret/, 'wrong secret key: no secret in the output');
	$h = tool('s3://backups', 'get', "pg/base/$A/backup.info", "$tmp/x");
	is(v($h, 'code'), 'SignatureDoesNotMatch', 'wrong secret key: GET fails the same way');
}
{
	local $ENV{AWS_ACCESS_KEY_ID} = 'nosuchkey';
	$h = tool('s3://backups', 'head', "pg/base/$A/backup.info");
	is(v($h, 'http') . ' ' . v($h, 'status'), '403 error', 'unknown key: HEAD refused (no body to say why)');
	$h = tool('s3://backups', 'list', 'pg/', '-', '0');
	is(v($h, 'code'), 'InvalidAccessKeyId', 'unknown key: InvalidAccessKeyId');
}
$h = tool('s3://backups', 'get', 'pg/base/nope/backup.info', "$tmp/x");
is(v($h, 'status'), 'notfound', 'a missing object is "not found", not an error');

# ---------- base tars: names, streamed GET, ranges, HEAD ----------
$h = tool('s3://backups', 'basefiles', 'pg', $A);
like(v($h, 'file'), qr{^pg/base/$A/data\.tar\.gz \d+ gzip data 0 0$}, 'backup A: data.tar.gz, gzip from the suffix');
$h = tool('s3://backups', 'basefiles', 'pg', $B);
like(v($h, 'file'), qr{^pg/base/$B/data\.tar \d+ none data 0 0$}, 'backup B: data.tar, uncompressed');

for my $key ("pg/base/$A/data.tar.gz", "pg/base/$B/data.tar")
{
	$h = tool('s3://backups', 'get', $key, "$tmp/got");
	is(v($h, 'status'), 'ok', "streamed GET of $key");
	is(sha_file("$tmp/got"), sha_file(stored($key)), "$key: byte-identical to the stored object")
	  if -f stored($key);
	is(v($h, 'size'), -s "$tmp/got", "$key: size known");
}
my $tar = "pg/base/$B/data.tar";
my $size = -s stored($tar);
$h = tool('s3://backups', 'get', $tar, "$tmp/range", 1000, 5000);
open(my $fh, '<:raw', stored($tar)) or die;
seek($fh, 1000, 0);
read($fh, my $want, 5000);
close $fh;
is(slurp_file("$tmp/range"), $want, 'ranged GET: bytes 1000..5999 exactly');
$h = tool('s3://backups', 'head', $tar);
is(v($h, 'size'), $size, 'HEAD: the size');

# throughput against curl on the same object (median of 3)
my (@ours, @curls);
for (1 .. 3)
{
	$h = tool('s3://backups', 'get', $tar, "$tmp/got");
	push @ours, v($h, 'seconds');
	my $t0 = time;
	system('curl', '-sf', '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', 'testkey:testsecret',
		'-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', '-o', "$tmp/curl", "$ep/backups/$tar");
	push @curls, time - $t0;
}
my ($mo, $mc) = map { (sort { $a <=> $b } @$_)[1] } \@ours, \@curls;
ok($mo > 0 && $mc > 0 && $mo < 3 * $mc,
	sprintf('GET of %.0f MB: %.0f MB/s, curl %.0f MB/s', $size / 1048576,
		$size / 1048576 / ($mo || 1), $size / 1048576 / ($mc || 1)));

# ---------- WAL objects: names, parallel GETs ----------
$h = tool('s3://backups', 'walobjects', 'pg');
my @wals = map { (split / /)[2] } @{ $h->{wal} // [] };
ok(@wals >= 3 && v($h, 'key_mismatches') eq '0' && !$h->{unknown},
	scalar(@wals) . ' WAL objects, each named as cb_barman_wal_key() names it');
ok((grep { /\.backup\.gz$/ } @wals) && (grep { m{^pg/wals/[0-9A-F]{16}/[0-9A-F]{24}\.gz$} } @wals),
	'WAL objects: compressed segments and backup labels in wals/<16 hex>/');
mkdir "$tmp/wals";
$h = tool('s3://backups', 'getmany', "$tmp/wals", @wals);
is(v($h, 'status') . ' ' . v($h, 'files'), 'ok ' . scalar(@wals), 'parallel GET of every WAL object');
is( scalar(grep { my $b = (split m{/})[-1]; sha_file("$tmp/wals/$b") eq sha_file(stored($_)) } @wals),
	scalar(@wals), 'every WAL object byte-identical');
note(sprintf('parallel WAL GET: %s files, %.1f MB in %s s', v($h, 'files'), v($h, 'bytes') / 1048576, v($h, 'seconds')));

# ---------- listing with continuation tokens ----------
# byte strings (UTF-8): what S3 sorts by and what the programs get
my $utf8_key = "many/\xc3\xbcn\xc3\xaf.txt";
my @keys = ((map { sprintf('many/obj%04d', $_) } 0 .. 249),
	'many/sp ace+plus=eq~tilde.txt', $utf8_key, 'many/sub/x');
run_ok('253 objects put with boto3', 'python3', '-c', <<'PY', @keys);
import boto3, os, sys
s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'])
for k in sys.argv[1:]:
    s3.put_object(Bucket='backups', Key=k, Body=k.encode())
PY
$h = tool('s3://backups', 'list', 'many/', '-', '7');
is(v($h, 'pages') . ' ' . v($h, 'objects'), '37 253', 'listing with max-keys 7: 37 pages, 253 objects');
my @got = map { s/ \d+$//r } @{ $h->{object} // [] };
is_deeply(\@got, [ sort @keys ], 'every key once, in order, across the continuation tokens');
$h = tool('s3://backups/many', 'list', '', '/', '7');
is(v($h, 'objects') . ' ' . v($h, 'prefixes') . ' ' . v($h, 'prefix'), '252 1 sub/',
	'listing with a delimiter and a prefix in destinationPath: keys relative to it');
for my $k ('many/sp ace+plus=eq~tilde.txt', $utf8_key)
{
	$h = tool('s3://backups', 'get', $k, "$tmp/k");
	is(slurp_file("$tmp/k"), $k, "GET of a key that needs escaping: $k");
}

# ---------- cnpg_bootstrap_wal_restore: restore_command on the real archive ----------
# as the Makefile builds them: the front (spool hits, libc only) and the
# fetcher it execs on a miss, side by side
my $wr = "$tmp/cnpg_bootstrap_wal_restore";
# (CB_WAL_CFLAGS: tools/asan-check.sh builds them with the sanitizers)
my @wrcc = ('cc', '-O1', '-g', '-Wall', "-I$srcdir/src", "-I$srcdir/src/bin",
	"-I$pg{'includedir-server'}", "-I$pg{includedir}", split(' ', $ENV{CB_WAL_CFLAGS} // ''));
ok( IPC::Run::run(
		[
			@wrcc, '-o', $wr, "$srcdir/src/bin/cnpg_bootstrap_wal_restore.c", "$srcdir/src/walrestore_conf.c",
			"-L$pg{pkglibdir}", '-lpgcommon', '-lpgport'
		],
		'>', \$out, '2>', \$err)
	  && IPC::Run::run(
		[
			@wrcc, '-DCB_OS_NO_BACKEND', '-o', "$tmp/cnpg_bootstrap_wal_fetch",
			map({ "$srcdir/src/$_" } qw(bin/cnpg_bootstrap_wal_fetch.c bin/wal_restore_shim.c
				  objectstore.c os_config.c os_sigv4.c os_xml.c os_transfer.c oswait.c hmac_sha256.c azureblob.c gcs.c barman.c walrestore_conf.c)),
			"-L$pg{pkglibdir}", '-lpgcommon', '-lpgport', '-lcurl', '-lssl', '-lcrypto', '-larchive'
		],
		'>', \$out, '2>', \$err),
	'cnpg_bootstrap_wal_restore and cnpg_bootstrap_wal_fetch build')
  or BAIL_OUT("cannot build cnpg_bootstrap_wal_restore: $err");

# one more segment, archived (gzip) by barman-cloud-wal-archive; its copy
# from pg_wal (before a checkpoint can recycle it) is the reference
my $last = $pgn->safe_psql('postgres',
	'INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g;'
	  . ' SELECT pg_walfile_name(pg_current_wal_lsn())');
$pgn->safe_psql('postgres', 'SELECT pg_switch_wal()');
ok($pgn->poll_query_until('postgres', "SELECT last_archived_wal = '$last' FROM pg_stat_archiver"),
	"one more segment archived ($last)");
mkdir "$tmp/orig";
File::Copy::copy($pgn->data_dir . "/pg_wal/$last", "$tmp/orig/$last") or die "copy: $!";
# the last five archived segments; the others' reference is their stored object, gunzipped
$h = tool('s3://backups', 'walobjects', 'pg');
my %gzkey = map { my ($n, $c, $k) = split / /; ($n => $k) } @{ $h->{wal} // [] };
my @segs = (sort grep { /^[0-9A-F]{24}$/ } keys %gzkey)[-5 .. -1];
ok(@segs == 5 && $segs[-1] eq $last
	  && 4 == grep({ hex(substr($segs[$_], 16)) == hex(substr($segs[0], 16)) + $_ } 1 .. 4),
	"five consecutive segments in the archive: @segs");
for my $s (@segs)
{
	my $plain;
	IO::Uncompress::Gunzip::gunzip(stored($gzkey{$s}) => \$plain) or die;
	if ($s eq $last)
	{
		is(length($plain) . ' ' . Digest::SHA::sha256_hex($plain),
			(-s "$tmp/orig/$s") . ' ' . sha_file("$tmp/orig/$s"),
			'barman\'s gzip object of the segment is its pg_wal file');
		next;
	}
	PostgreSQL::Test::Utils::append_to_file("$tmp/orig/$s", $plain);
}
my %orig = map { ($_ => sha_file("$tmp/orig/$_")) } @segs;
# the same segment archived uncompressed, and a history file (gzip)
run_ok('a segment archived plain (server pg-plain)',
	'barman-cloud-wal-archive', '--endpoint-url', $ep, 's3://backups', 'pg-plain', "$tmp/orig/$last");
run_ok('the same segment archived bzip2-compressed (server pg-bz2)',
	'barman-cloud-wal-archive', '--endpoint-url', $ep, '--bzip2', 's3://backups', 'pg-bz2', "$tmp/orig/$last");
mkdir "$tmp/hist";
my $history = "1\t0/9000000\tno recovery target specified\n";
PostgreSQL::Test::Utils::append_to_file("$tmp/hist/00000002.history", $history);
run_ok('a history file archived (gzip)',
	'barman-cloud-wal-archive', '--endpoint-url', $ep, '-z', 's3://backups', 'pg', "$tmp/hist/00000002.history");

# the configuration file, as documented in src/walrestore_conf.h
my $spool = "$tmp/spool";
sub wr_conf
{
	my (%o) = @_;
	my %c = (
		destination_path => 's3://backups', endpoint_url => $ep, access_key_id => 'testkey',
		secret_access_key => 'testsecret', region => 'us-east-1', server_name => 'pg',
		spool_dir => $spool, prefetch => 1, standby => 'off', %o);
	my $path = "$tmp/wr.conf";
	unlink $path;
	open(my $fh, '>', $path) or die;
	chmod 0600, $path;
	for my $k (sort keys %c)
	{
		(my $v = $c{$k}) =~ s/\\/\\\\/g;
		$v =~ s/\n/\\n/g;
		print $fh "$k=$v\n";
	}
	close $fh;
	return $path;
}

# restore_command's call; rc is the exit status, or "signal N"
sub wr
{
	my ($conf, $f, $p) = @_;
	my ($o, $e) = ('', '');
	my $t0 = time;
	IPC::Run::run([ $wr, $conf, $f, $p ], '>', \$o, '2>', \$e);
	my $rc = ($? & 127) ? 'signal ' . ($? & 127) : $? >> 8;
	return { rc => $rc, err => $o . $e, wall => time - $t0 };
}
sub spooled { opendir(my $d, $spool) or return ''; return join(' ', sort grep { !/^\./ } readdir $d); }

my $p = "$tmp/RECOVERYXLOG";
my $conf = wr_conf();
$h = wr($conf, $last, $p);
is($h->{rc}, 0, "gzip segment $last fetched") or diag($h->{err});
is(sha_file($p), $orig{$last}, 'gzip segment: byte-identical to the source\'s pg_wal');
my $t_single = $h->{wall};
unlink $p;
$h = wr(wr_conf(server_name => 'pg-plain'), $last, $p);
is($h->{rc}, 0, 'plain segment fetched') or diag($h->{err});
is(sha_file($p), $orig{$last}, 'plain segment: byte-identical to the source\'s pg_wal');
is(sha_file($p), sha_file(stored("pg-plain/wals/" . substr($last, 0, 16) . "/$last")),
	'plain segment: byte-identical to the stored object');
unlink $p;
$h = wr(wr_conf(server_name => 'pg-bz2'), $last, $p);
is($h->{rc}, 0, 'bzip2 segment fetched') or diag($h->{err});
is(sha_file($p), $orig{$last}, 'bzip2 segment: byte-identical to the source\'s pg_wal');
ok(-e stored('pg-bz2/wals/' . substr($last, 0, 16) . "/$last.bz2"), 'barman stored it as .bz2');
unlink $p;

# prefetch: the segment asked for at once; the ones that follow come from
# the background prefetcher (one listing, parallel GETs, up to twice
# `prefetch` in the spool), then spool hits
$conf = wr_conf(prefetch => 4);
$h = wr($conf, $segs[0], $p);
my $t_fetch = $h->{wall};
is($h->{rc} . ' ' . sha_file($p), "0 $orig{$segs[0]}", 'prefetch 4: the segment asked for, at %p');
my $want_spool = join(' ', @segs[ 1 .. 4 ]);
for (1 .. 200) { last if spooled() eq $want_spool; usleep(50_000); }
is(spooled(), $want_spool, 'prefetch 4: the background prefetcher spools the four that follow, no temporary left');
is(scalar(grep { sha_file("$spool/$_") eq $orig{$_} } @segs[ 1 .. 4 ]), 4,
	'prefetch 4: each spooled segment byte-identical to pg_wal');
unlink $p;
$h = wr($conf, $segs[1], $p);
my $t_hit = $h->{wall};
ok($h->{rc} == 0 && sha_file($p) eq $orig{ $segs[1] } && !-e "$spool/$segs[1]",
	'the next segment is a spool hit, moved out of the spool') or diag($h->{err});
ok($t_hit < $t_fetch / 2,
	sprintf('spool hit %.0f ms, fetch of 1 segment (and the prefetcher started) %.0f ms, without prefetch %.0f ms',
		1000 * $t_hit, 1000 * $t_fetch, 1000 * $t_single));
$h = wr($conf, $segs[3], $p);
unlink "$spool/$segs[4]";
$h = wr($conf, $segs[4], $p);
ok($h->{rc} == 0 && sha_file($p) eq $orig{ $segs[4] } && spooled() eq '',
	'a miss: fetched from the store, and the spooled segments before it (never to be asked for) pruned')
  or diag($h->{err} . ' spool: ' . spooled());
rmtree($spool);

{
	my ($bw, $t0) = ("$tmp/barman-wal", time);
	system('barman-cloud-wal-restore', '--endpoint-url', $ep, 's3://backups', 'pg', $segs[0], $bw);
	note(sprintf('barman-cloud-wal-restore of the same segment: %.0f ms', 1000 * (time - $t0)));
}

# other WAL names: history, .backup; missing ones
unlink $p;
$h = wr($conf, '00000002.history', $p);
ok($h->{rc} == 0 && slurp_file($p) eq $history, 'history file fetched (gzip, in wals/)')
  or diag($h->{err});
my ($bkey) = grep { /\.backup\.gz$/ } @wals;
my ($bname) = $bkey =~ m{/([^/]+)\.gz$};
$h = wr($conf, $bname, $p);
my $want_backup;
IO::Uncompress::Gunzip::gunzip(stored($bkey) => \$want_backup);
ok($h->{rc} == 0 && slurp_file($p) eq $want_backup, "backup label file $bname fetched");
unlink $p;
my $missing = substr($segs[0], 0, 16) . '000000FE';
$h = wr($conf, $missing, $p);
ok($h->{rc} eq '1' && !-e $p && !-e "$p.tmp" && spooled() eq '',
	'missing segment: exit 1, nothing written') or diag($h->{err});
like($h->{err}, qr/not found/, 'missing segment: said on stderr');
$h = wr($conf, '00000009.history', $p);
is($h->{rc}, 1, 'missing history file: exit 1');

# failures: 128 in recovery (PostgreSQL aborts), 1 for a replica (it retries)
$h = wr(wr_conf(secret_access_key => 'Wr0ngS3cretK3y'), $segs[0], $p);
ok($h->{rc} eq '128' && $h->{err} =~ /SignatureDoesNotMatch/ && !-e $p,
	sprintf('wrong secret key in recovery: exit 128, SignatureDoesNotMatch (%.2f s)', $h->{wall}))
  or diag($h->{err});
unlike($h->{err}, qr/Wr0ngS3cretK3y|testsecret/, 'wrong secret key: no secret on stderr');
$h = wr(wr_conf(secret_access_key => 'Wr0ngS3cretK3y', standby => 'on'), $segs[0], $p);
ok($h->{rc} eq '1' && $h->{err} =~ /SignatureDoesNotMatch/, 'wrong secret key on a replica: exit 1');
$conf = wr_conf();
chmod 0644, $conf;
$h = wr($conf, $segs[0], $p);
ok($h->{rc} eq '128' && $h->{err} =~ /mode 0644/ && !-e $p, 'a configuration file of mode 0644 is refused')
  or diag($h->{err});
$h = wr("$tmp/nothere.conf", $segs[0], $p);
ok($h->{rc} eq '128' && $h->{err} =~ /could not open configuration file/, 'a missing configuration file: exit 128');

# SIGTERM (a shutdown) while the store does not answer: ended at once
my $silent = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0) or die;
$conf = wr_conf(endpoint_url => 'http://127.0.0.1:' . $silent->sockport);
my $run = IPC::Run::start([ $wr, $conf, $segs[0], $p ], '>', \$out, '2>', \$err);
usleep(500_000);
my $t_term = time;
$run->signal('TERM');
$run->finish;
my $term_status = $run->full_result;
ok(($term_status & 127) == 15 && time - $t_term < 1.0 && !-e $p && !-e "$p.tmp",
	sprintf('SIGTERM during a request: ended by SIGTERM in %.0f ms, nothing left', 1000 * (time - $t_term)))
  or diag("status $term_status: $err");
close $silent;

note(sprintf('005_objectstore: %.0f s', time - $t_start));
done_testing();
