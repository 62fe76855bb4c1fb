# Azure Blob Storage against a real store: azurite (test/azrig.sh), which
# checks Shared Key and SAS signatures.  A real PostgreSQL backup is put
# there in Barman Cloud's layout (pg_basebackup -Ft for data.tar, the
# archived WAL segments, a backup.info written as barman writes it), then:
# the client through test/unit/test_azureblob.c (listing pages, whole and
# ranged GETs, HEAD, errors, SAS, a connection string), the WAL program
# cnpg_bootstrap_wal_restore with provider=azure, and, when the installed
# extension speaks Azure, a full recovery through cnpg_bootstrap_apply.
# Without Node/npm (azurite runs on Node >= 20) only the self-tests run.
use strict;
use warnings;
use Cwd qw(getcwd);
use Digest::SHA qw(hmac_sha256_base64);
use File::Path qw(make_path);
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use POSIX qw(strftime);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use lib 't';
use StoreRig;
use CbTest;

my $srcdir = getcwd();
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $account = 'devstoreaccount1';
# azurite's published development key (its README): not a secret
my $key = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';


my $t_start = time;
# ---------- the test programs, from the same sources ----------
my $pgc = $ENV{PG_CONFIG} // 'pg_config';
my %pg = map { my $v = `$pgc --$_`; chomp $v; ($_ => $v) } qw(includedir-server includedir pkglibdir);
my @cc = ('cc', '-O1', '-g', '-Wall', '-DCB_OS_NO_BACKEND', "-I$srcdir/src", "-I$srcdir/src/bin",
	"-I$pg{'includedir-server'}", "-I$pg{includedir}");
my @ld = ("-L$pg{pkglibdir}", '-lpgcommon', '-lpgport', '-lcurl', '-lssl', '-lcrypto');
my $bin = "$tmp/test_azureblob";
my $wr = "$tmp/cnpg_bootstrap_wal_restore";
my ($out, $err);
ok(IPC::Run::run([ @cc, '-o', $bin, map({ "$srcdir/$_" } qw(test/unit/test_azureblob.c
	test/unit/os_testkit.c test/unit/unit_shim.c src/objectstore.c src/os_config.c src/os_sigv4.c src/os_xml.c src/os_transfer.c src/oswait.c src/hmac_sha256.c src/azureblob.c src/gcs.c src/barman.c)), @ld ], '>', \$out, '2>', \$err),
	'test program builds') or BAIL_OUT("cannot build test_azureblob: $err");
# as the Makefile builds them: the front (spool hits) and the fetcher it
# execs on a miss, side by side
ok( IPC::Run::run([ grep({ $_ ne '-DCB_OS_NO_BACKEND' } @cc), '-o', $wr,
			"$srcdir/src/bin/cnpg_bootstrap_wal_restore.c", "$srcdir/src/walrestore_conf.c", @ld[ 0 .. 2 ] ],
		'>', \$out, '2>', \$err)
	  && IPC::Run::run([ @cc, '-o', "$tmp/cnpg_bootstrap_wal_fetch", map({ "$srcdir/src/$_" }
			  qw(bin/cnpg_bootstrap_wal_fetch.c bin/wal_restore_shim.c objectstore.c os_config.c os_sigv4.c os_xml.c os_transfer.c oswait.c hmac_sha256.c azureblob.c gcs.c
			  barman.c walrestore_conf.c)), @ld, '-larchive' ], '>', \$out, '2>', \$err),
	'cnpg_bootstrap_wal_restore and cnpg_bootstrap_wal_fetch build')
  or BAIL_OUT("cannot build cnpg_bootstrap_wal_restore: $err");

IPC::Run::run([ $bin, 'selftest' ], '>', \$out, '2>', \$err);
like($out, qr/^\d+ passed, 0 failed$/m,
	'self-tests: Shared Key vector, destinationPath forms, connection strings, List Blobs XML, configuration')
  or diag(join("\n", grep { /^not ok/ } split /\n/, $out) . $err);

# the self-tests need no store; the rest does
my $why = rig_start('azure', "$tmp/rig");
if (defined $why)
{
	note("the tests against azurite are skipped: $why");
	done_testing();
	exit 0;
}
my $port = $ENV{AZRIG_PORT};
my $dest = "http://127.0.0.1:$port/$account/backups/cluster1";
delete @ENV{qw(AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_SAS_TOKEN)};
$ENV{AZURE_STORAGE_ACCOUNT} = $account;
$ENV{AZURE_STORAGE_KEY} = $key;
$ENV{TZ} = 'UTC';

# one operation; "k=v" lines -> { k => [v, ...] }
sub tool
{
	my ($d, @args) = @_;
	my ($o, $e) = ('', '');
	my $t0 = time;
	IPC::Run::run([ $bin, 'rig', $d, @args ], '>', \$o, '2>', \$e);
	my %h = (rc => $? >> 8, out => $o . $e, wall => time - $t0);
	for (split /\n/, $o) { push @{ $h{$1} }, $2 if /^(\w+)=(.*)$/; }
	return \%h;
}
sub v { my ($h, $k) = @_; return $h->{$k} ? $h->{$k}[-1] : ''; }
sub sha_file { return Digest::SHA->new(256)->addfile($_[0])->hexdigest; }

is(v(tool($dest, 'mkcontainer'), 'status'), 'ok', 'container "backups" created (a Shared Key PUT)');

# ---------- a real backup in Barman Cloud's layout ----------
my $arch = "$tmp/archive";
make_path($arch);
my $src = PostgreSQL::Test::Cluster->new('azsource');
$src->init(allows_streaming => 1);
$src->append_conf('postgresql.conf', "archive_mode = on\narchive_command = 'cp %p $arch/%f'\n");
$src->start;
$src->safe_psql('postgres', 'CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 50000) g');
my $bb = "$tmp/bb";
$src->command_ok([ 'pg_basebackup', '-h', $src->host, '-p', $src->port, '-D', $bb, '-Ft', '-Xnone', '-cfast' ],
	'pg_basebackup -Ft of the source');
# rows after the backup: only WAL replay brings them back
$src->safe_psql('postgres', 'INSERT INTO t SELECT g, md5(g::text) FROM generate_series(50001, 60000) g');
my $last = $src->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$src->safe_psql('postgres', 'SELECT pg_switch_wal()');
ok($src->poll_query_until('postgres', "SELECT last_archived_wal = '$last' FROM pg_stat_archiver"),
	"WAL archived up to $last");
my $want_rows = $src->safe_psql('postgres', 'SELECT count(*) || \' \' || sum(g) FROM t');

my $label = `tar -xOf $bb/base.tar backup_label`;
my ($begin_xlog, $begin_wal) = $label =~ /^START WAL LOCATION: (\S+) \(file (\w{24})\)/m;
my ($start_time) = $label =~ /^START TIME: (\S+ \S+)/m;
my $manifest = decode_json(slurp_file("$bb/backup_manifest"));
my $end_xlog = $manifest->{'WAL-Ranges'}[0]{'End-LSN'};
my ($hi, $lo) = map { hex } split m{/}, $end_xlog;
my $end_wal = sprintf('%08X%08X%08X', 1, $hi, $lo >> 24);
(my $backup_id = $start_time) =~ s/(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)/$1$2$3T$4$5$6/;
(my $pylabel = $label) =~ s/\\/\\\\/g;
$pylabel =~ s/'/\\'/g;
$pylabel =~ s/\n/\\n/g;
my %info = (
	backup_label => "'$pylabel'", begin_time => "$start_time.000000+00:00",
	begin_wal => $begin_wal, begin_xlog => $begin_xlog, compression => 'None',
	end_time => strftime('%Y-%m-%d %H:%M:%S.000000+00:00', gmtime), end_wal => $end_wal,
	end_xlog => $end_xlog, server_name => 'cloud', status => 'DONE',
	systemid => $src->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()'),
	tablespaces => 'None', timeline => 1,
	version => $src->safe_psql('postgres', 'SHOW server_version_num'), xlog_segment_size => 16777216);
PostgreSQL::Test::Utils::append_to_file("$tmp/backup.info", join('', map { "$_=$info{$_}\n" } sort keys %info));

my $t0 = time;
my @uploads = ([ "pg/base/$backup_id/backup.info", "$tmp/backup.info" ],
	[ "pg/base/$backup_id/data.tar", "$bb/base.tar" ]);
opendir(my $dh, $arch) or die;
for my $f (sort grep { /^[0-9A-F]{24}/ } readdir $dh)
{
	push @uploads, [ 'pg/wals/' . substr($f, 0, 16) . "/$f", "$arch/$f" ];
}
closedir $dh;
my $bad = grep { v(tool($dest, 'put', @$_), 'status') ne 'ok' } @uploads;
is($bad, 0, sprintf('%d objects uploaded in Barman\'s layout (%.1f s)', scalar @uploads, time - $t0));
my %size = map { ($_->[0] => -s $_->[1]) } @uploads;
my @wals = grep { m{^pg/wals/} } map { $_->[0] } @uploads;

# ---------- the client ----------
my $h = tool($dest, 'list', 'pg/', '-', 3);
my %listed = map { split / / } @{ $h->{object} // [] };
ok($h->{rc} == 0 && v($h, 'pages') == int((@uploads + 2) / 3) && keys(%listed) == @uploads
	  && !grep({ $listed{$_} != $size{$_} } keys %size),
	sprintf('List Blobs, 3 per page: %s pages, every object with its size', v($h, 'pages')))
  or diag($h->{out});
$h = tool($dest, 'list', 'pg/', '/', 0);
is(join(' ', @{ $h->{prefix} // [] }), 'pg/base/ pg/wals/', 'delimiter: BlobPrefix as common prefixes');
$h = tool($dest, 'catalog', 'pg');
is(v($h, 'chosen'), $backup_id, "catalog: backup $backup_id found and chosen") or diag($h->{out});
like(v($h, 'backup'), qr/^\Q$backup_id\E\|1\|$begin_wal\|$end_wal$/, 'catalog: usable, begin_wal and end_wal');

$h = tool($dest, 'get', "pg/base/$backup_id/data.tar", "$tmp/data.tar");
ok($h->{rc} == 0 && sha_file("$tmp/data.tar") eq sha_file("$bb/base.tar"),
	sprintf('GET data.tar (%.1f MB): byte-identical (%.0f ms)', $size{"pg/base/$backup_id/data.tar"} / 1048576,
		1000 * v($h, 'seconds')))
  or diag($h->{out});
$h = tool($dest, 'get', "pg/base/$backup_id/data.tar", "$tmp/part", 1000000, 123457);
my $want_part = do { open(my $f, '<:raw', "$bb/base.tar") or die; seek($f, 1000000, 0); read($f, my $b, 123457); $b };
ok($h->{rc} == 0 && slurp_file("$tmp/part") eq $want_part && v($h, 'size') == $size{"pg/base/$backup_id/data.tar"},
	'ranged GET (x-ms-range): the same bytes, and the full size from Content-Range');
$h = tool($dest, 'head', $wals[0]);
ok($h->{rc} == 0 && v($h, 'size') == $size{ $wals[0] } && v($h, 'etag') =~ /^"0x/, 'HEAD: size and ETag');
$h = tool($dest, 'get', 'pg/wals/nothere', "$tmp/x");
ok($h->{rc} == 1 && v($h, 'status') eq 'notfound' && v($h, 'code') eq 'BlobNotFound', 'GET of a missing blob: not found');
$h = tool($dest, 'head', 'pg/wals/nothere');
ok($h->{rc} == 1 && v($h, 'status') eq 'notfound', 'HEAD of a missing blob: not found (x-ms-error-code)');

{
	local $ENV{AZURE_STORAGE_KEY} = 'V3JvbmdLZXlGb3JUMDA3IQ==';    # base64 "WrongKeyForT007!"
	local $ENV{CB_MAX_RETRIES} = 6;
	$h = tool($dest, 'list', 'pg/', '-', 0);
	ok($h->{rc} == 1 && v($h, 'http') == 403 && v($h, 'code') =~ /^Auth/ && v($h, 'retries') == 0
		  && $h->{wall} < 2,
		sprintf('wrong key: HTTP 403 %s at once, no retry (%.0f ms)', v($h, 'code'), 1000 * $h->{wall}))
	  or diag($h->{out});
	unlike($h->{out}, qr/V3JvbmdLZXlG|Eby8vdM0/, 'wrong key: no key in the messages');
}
$h = tool("http://127.0.0.1:$port/$account/nosuchcontainer/x", 'list', 'pg/', '-', 0);
like(v($h, 'message'), qr/^container "nosuchcontainer" does not exist/, 'missing container: named')
  or diag($h->{out});

# an account SAS (read and list), as the portal makes them
my $se = '2099-01-01T00:00:00Z';
my $sig = hmac_sha256_base64(join("\n", $account, 'rl', 'b', 'sco', '', $se, '', '', '2021-08-06', '', ''),
	decode_base64($key)) . '=';
(my $esig = $sig) =~ s/([^A-Za-z0-9])/sprintf('%%%02X', ord $1)/ge;
my $sas = "sv=2021-08-06&ss=b&srt=sco&sp=rl&se=$se&sig=$esig";
{
	local $ENV{AZURE_STORAGE_SAS_TOKEN} = "?$sas";
	$h = tool($dest, 'get', "pg/base/$backup_id/data.tar", "$tmp/data-sas.tar");
	ok($h->{rc} == 0 && sha_file("$tmp/data-sas.tar") eq sha_file("$bb/base.tar"), 'SAS token: GET byte-identical');
	$h = tool($dest, 'list', 'pg/wals/', '-', 2);
	is(scalar @{ $h->{object} // [] }, scalar @wals, 'SAS token: listing with pagination');
	(my $bad_sas = $sas) =~ s/sig=/sig=AA/;
	local $ENV{AZURE_STORAGE_SAS_TOKEN} = $bad_sas;
	$h = tool($dest, 'head', $wals[0]);
	ok($h->{rc} == 1 && v($h, 'http') == 403 && $h->{out} !~ /\Q$esig\E/, 'bad SAS token: 403, its signature not shown');
}
{
	# barman takes the endpoint from the connection string, the container from the path
	local $ENV{AZURE_STORAGE_CONNECTION_STRING} = "DefaultEndpointsProtocol=http;AccountName=$account;"
	  . "AccountKey=$key;BlobEndpoint=http://127.0.0.1:$port/$account;";
	$h = tool("http://azurite.invalid:1/$account/backups/cluster1", 'head', $wals[0]);
	is(v($h, 'status'), 'ok', 'connection string: its BlobEndpoint is where requests go');
}

# ---------- the WAL program, provider=azure ----------
my $spool = "$tmp/spool";
sub wr_conf
{
	my (%o) = @_;
	my %c = (provider => 'azure', destination_path => $dest, azure_account => $account, azure_key => $key,
		server_name => 'pg', spool_dir => $spool, prefetch => 4, standby => 'off', %o);
	my $path = "$tmp/wr.conf";
	unlink $path;
	open(my $fh, '>', $path) or die;
	chmod 0600, $path;
	print $fh map { defined $c{$_} ? "$_=$c{$_}\n" : '' } sort keys %c;
	close $fh;
	return $path;
}
sub wr
{
	my ($conf, $f, $p) = @_;
	my ($o, $e) = ('', '');
	my $t = time;
	IPC::Run::run([ $wr, $conf, $f, $p ], '>', \$o, '2>', \$e);
	return { rc => $? >> 8, err => $o . $e, wall => time - $t };
}
my @segs = grep { /^[0-9A-F]{24}$/ } map { (split m{/})[-1] } @wals;
$h = wr(wr_conf(), $segs[0], "$tmp/RECOVERYXLOG");
ok($h->{rc} == 0 && sha_file("$tmp/RECOVERYXLOG") eq sha_file("$arch/$segs[0]"),
	sprintf('WAL program: %s fetched byte-identical (%.0f ms, with prefetch)', $segs[0], 1000 * $h->{wall}))
  or diag($h->{err});
if (@segs > 1)
{
	$h = wr(wr_conf(), $segs[1], "$tmp/RECOVERYXLOG");
	ok($h->{rc} == 0 && sha_file("$tmp/RECOVERYXLOG") eq sha_file("$arch/$segs[1]"),
		sprintf('WAL program: the next segment from the spool (%.0f ms)', 1000 * $h->{wall}));
}
$h = wr(wr_conf(azure_key => undef, azure_sas_token => $sas), $segs[-1], "$tmp/RECOVERYXLOG");
ok($h->{rc} == 0 && sha_file("$tmp/RECOVERYXLOG") eq sha_file("$arch/$segs[-1]"), 'WAL program: with a SAS token')
  or diag($h->{err});
$h = wr(wr_conf(), '0000000100000000000000FE', "$tmp/missing");
ok($h->{rc} == 1 && !-e "$tmp/missing", 'WAL program: a missing segment is exit 1');
$h = wr(wr_conf(azure_key => 'V3JvbmdLZXlGb3JUMDA3IQ=='), $segs[0], "$tmp/wrong");
ok($h->{rc} == 128 && $h->{err} =~ /403/ && $h->{err} !~ /V3JvbmdLZXlG|Eby8vdM0/ && !-e "$tmp/wrong",
	'WAL program: a wrong key is exit 128, the key not on stderr')
  or diag($h->{err});

# ---------- a full recovery through the extension ----------
my $so = `$pgc --pkglibdir`;
chomp $so;
SKIP:
{
	skip 'the installed cnpg_bootstrap does not speak Azure yet (make install first)', 4
	  unless system("grep -q cb_az_parse_destination '$so/cnpg_bootstrap.so' 2>/dev/null") == 0;
	my ($node, $root) = start_control('56900-56949');
	my $cluster = sub {
		my ($name, $cred) = @_;
		return <<"YAML";
apiVersion: v1
kind: Secret
metadata:
  name: $name-az
stringData:
  ACCOUNT: $account
  KEY: '$key'
  SAS: '$sas'
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
      destinationPath: $dest
      serverName: pg
      azureCredentials:
        storageAccount:
          name: $name-az
          key: ACCOUNT
        $cred:
          name: $name-az
          key: @{[ $cred eq 'storageKey' ? 'KEY' : 'SAS' ]}
      wal:
        maxParallel: 4
YAML
	};
	apply($cluster->('az-key', 'storageKey'));
	apply($cluster->('az-sas', 'storageSasToken'));
	for my $c (qw(az-key az-sas))
	{
		my $t = time;
		is(wait_cluster($c, '5 minutes'), 'Cluster in healthy state',
			sprintf('%s: recovery from azurite healthy (%.1f s)', $c, time - $t))
		  or diag(status($c, 'phase_reason'));
		is(tq($c, 'postgres', "SELECT count(*) || ' ' || sum(g) FROM t"), $want_rows,
			"$c: every row, those after the backup too (WAL replayed from Azure)");
	}
}

note(sprintf('t/007 total %.1f s', time - $t_start));
done_testing();
