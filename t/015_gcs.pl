# Google Cloud Storage (googleCredentials with a service-account JSON key)
# against a local store that speaks the same protocol: test/gcsrig.py, over
# HTTPS with a CA of this run (endpointCA), serving the XML API subset we
# use and an OAuth2 token endpoint that verifies the JWT's RS256 signature
# with the account's public key, checks its claims and issues short-lived
# tokens (4 s here, so that refreshes happen), refusing a storage request
# whose token is missing, unknown or expired.
#
# The backup is real: barman-cloud-backup and barman-cloud-wal-archive (gzip)
# into s3rver as t/006 does (barman cannot write to GCS here: no
# google-cloud-storage library), then copied object by object into the
# emulator's directory, keeping Barman's layout under gs://backups/prod.
# Keys are made with openssl at test time; none is committed.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Path qw(make_path);
use File::Basename qw(dirname);
use IO::Socket::INET;
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
my $t_start = time;

my $why = rig_start('s3', "$tmp/rig", own_keys => 't015');
plan skip_all => $why if defined $why;
plan skip_all => 'openssl not found' unless have('openssl');

delete @ENV{qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_SESSION_TOKEN
	  GOOGLE_APPLICATION_CREDENTIALS)};
my ($node, $root) = start_control('57700-57799');
my $sampler = ps_sampler_start("$root/ps.txt", 50);

my $ep = "http://127.0.0.1:$ENV{S3RIG_PORT}";
$ENV{AWS_ACCESS_KEY_ID} = $ENV{S3RIG_KEY};
$ENV{AWS_SECRET_ACCESS_KEY} = $ENV{S3RIG_SECRET};
$ENV{AWS_DEFAULT_REGION} = 'us-east-1';
$ENV{S3_ENDPOINT} = $ep;
$ENV{TZ} = 'UTC';

sub run_ok
{
	my ($what, @cmd) = @_;
	my ($o, $e) = ('', '');
	my $t0 = time;
	my $ok = IPC::Run::run(\@cmd, '>', \$o, '2>', \$e);
	ok($ok, sprintf('%s (%.1f s)', $what, time - $t0)) or diag("$o$e");
	return $o;
}

# ---------- keys of this run: TLS for the store, the service account ----------
my $k = "$tmp/keys";
make_path($k);
run_ok('TLS certificate of the store (127.0.0.1)', 'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
	'-keyout', "$k/tls.key", '-out', "$k/tls.crt", '-days', '2', '-subj', '/CN=127.0.0.1',
	'-addext', 'subjectAltName=IP:127.0.0.1');
for my $n (qw(sa wrong))
{
	run_ok("service-account key $n", 'openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt',
		'rsa_keygen_bits:2048', '-out', "$k/$n.pem");
}
run_ok('its public key, for the token endpoint', 'openssl', 'pkey', '-in', "$k/sa.pem", '-pubout', '-out', "$k/sa.pub");
my $gport = PostgreSQL::Test::Cluster::get_free_port();
my $email = 'restore@t015-project.iam.gserviceaccount.com';
my $key_id = 'f00dfeed' . sprintf('%08x', $$);
sub sa_json
{
	my ($pem_file) = @_;
	return JSON::PP->new->canonical->encode({
		type => 'service_account', project_id => 't015-project', private_key_id => $key_id,
		private_key => slurp_file($pem_file), client_email => $email, client_id => '1015',
		auth_uri => 'https://accounts.google.com/o/oauth2/auth',
		token_uri => "https://127.0.0.1:$gport/token" });
}
my $sa = sa_json("$k/sa.pem");
my $wrong = sa_json("$k/wrong.pem");
# what must never leak: a line of each private key's base64
my ($sa_line) = (slurp_file("$k/sa.pem") =~ /^([A-Za-z0-9+\/]{64})$/m);
my ($wrong_line) = (slurp_file("$k/wrong.pem") =~ /^([A-Za-z0-9+\/]{64})$/m);

# ---------- the store ----------
my $gdir = "$tmp/gcs/data";
my $glog = "$tmp/gcs/gcsrig.log";
$why = gcs_rig_start("$tmp/gcs", port => $gport, cert => "$k/tls.crt", key => "$k/tls.key",
	sa_pub => "$k/sa.pub", email => $email, expires_in => 4);
ok(!defined $why, "gcsrig listening on https://127.0.0.1:$gport") or BAIL_OUT($why);
make_path("$gdir/backups");
sub rig_count { my ($re) = @_; return scalar grep { /$re/ } split /\n/, slurp_file($glog); }

# ---------- a real Barman Cloud backup, copied into the store ----------
my $pgn = PostgreSQL::Test::Cluster->new('gcs_source');
$pgn->init;
$pgn->append_conf('postgresql.conf', qq{
wal_level = replica
archive_mode = on
archive_command = 'barman-cloud-wal-archive --endpoint-url $ep -z s3://backups pg %p'
});
$pgn->start;
$pgn->safe_psql('postgres', 'CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 100000) g');
run_ok('barman-cloud-backup -z into s3://backups/pg', 'barman-cloud-backup', '--endpoint-url', $ep, '-z',
	'--immediate-checkpoint', '-h', $pgn->host, '-p', $pgn->port, '-d', 'postgres', 's3://backups', 'pg');
# rows after the backup: only WAL replay brings them back
$pgn->safe_psql('postgres', 'INSERT INTO t SELECT g, md5(g::text) FROM generate_series(100001, 120000) g');
my $last = $pgn->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$pgn->safe_psql('postgres', 'SELECT pg_switch_wal()');
ok($pgn->poll_query_until('postgres', "SELECT coalesce(last_archived_wal >= '$last', false) FROM pg_stat_archiver"),
	"WAL archived up to $last");
my $want_rows = $pgn->safe_psql('postgres', q{SELECT count(*) || ' ' || sum(g) FROM t});
$pgn->stop;

my $copy = run_ok('every object of s3://backups/pg copied to gs://backups/prod/pg', 'python3', '-c', <<'PY', "$gdir/backups/prod");
import boto3, os, sys
s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'])
n = 0
for page in s3.get_paginator('list_objects_v2').paginate(Bucket='backups', Prefix='pg/'):
    for o in page.get('Contents', []):
        dst = os.path.join(sys.argv[1], o['Key'])
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        s3.download_file('backups', o['Key'], dst)
        n += 1
print(n)
PY
my @tars = glob("$gdir/backups/prod/pg/base/*/data.tar.gz");
my @wals = glob("$gdir/backups/prod/pg/wals/*/*.gz");
ok(@tars == 1 && @wals >= 2, sprintf('Barman layout in the store: %d data.tar.gz, %d WAL objects', scalar @tars, scalar @wals));

# ---------- one client, step by step (test/unit/test_gcs.c) ----------
my $pgc = $ENV{PG_CONFIG} // 'pg_config';
my %pg = map { my $v = `$pgc --$_`; chomp $v; ($_ => $v) } qw(includedir-server includedir pkglibdir bindir);
my $tool = "$tmp/test_gcs";
my ($out, $err) = ('', '');
ok(IPC::Run::run([ 'cc', '-O1', '-g', '-Wall', '-DCB_OS_NO_BACKEND', "-I$srcdir/src", "-I$srcdir/src/bin",
		"-I$srcdir/test/unit", "-I$pg{'includedir-server'}", "-I$pg{includedir}", '-o', $tool,
		map({ "$srcdir/$_" } qw(test/unit/test_gcs.c test/unit/os_testkit.c test/unit/unit_shim.c
		  src/objectstore.c src/os_config.c src/os_sigv4.c src/os_xml.c src/os_transfer.c src/oswait.c src/hmac_sha256.c src/azureblob.c src/gcs.c)),
		"-L$pg{pkglibdir}", '-lpgcommon', '-lpgport', '-lcurl', '-lssl', '-lcrypto' ], '>', \$out, '2>', \$err),
	'test_gcs builds') or BAIL_OUT("cannot build test_gcs: $err");
PostgreSQL::Test::Utils::append_to_file("$k/sa.json", $sa);
PostgreSQL::Test::Utils::append_to_file("$k/wrong.json", $wrong);
sub gtool
{
	my ($keyfile, @steps) = @_;
	my ($o, $e) = ('', '');
	IPC::Run::run([ $tool, $keyfile, 'gs://backups/prod', "https://127.0.0.1:$gport", "$k/tls.crt", @steps ],
		'>', \$o, '2>', \$e);
	return { rc => $? >> 8, out => $o . $e };
}
my ($backup_id) = $tars[0] =~ m{/base/([^/]+)/data\.tar\.gz$};
my $issued0 = rig_count(qr/^token issued/);
my $h = gtool("$k/sa.json", 'list:pg/', 'sleep:5000', 'list:pg/wals/', "get:pg/base/$backup_id/backup.info:$tmp/bi",
	'head:pg/wals/nothere');
ok($h->{rc} == 1 && $h->{out} =~ /^step=list:pg\/ status=ok.*\nobjects=(\d+) pages=\d+$/m && $1 == scalar(() = `find '$gdir/backups/prod/pg' -type f`)
	  && $h->{out} =~ /^step=get:\S+ status=ok/m && slurp_file("$tmp/bi") =~ /^status=DONE$/m
	  && $h->{out} =~ /^step=head:pg\/wals\/nothere status=notfound/m,
	'one client: paginated listings, a GET (backup.info), a HEAD of a missing object: not found') or diag($h->{out});
is(rig_count(qr/^token issued/) - $issued0, 2, 'one client, 5 s apart with 4 s tokens: the token was refreshed once');
is(rig_count(qr/^storage refused/), 0, 'and never used once expired');

$h = gtool("$k/wrong.json", 'list:pg/');
like($h->{out}, qr{message=the OAuth2 token endpoint "https://127\.0\.0\.1:$gport/token" refused the service account \Q$email\E: HTTP 400 invalid_grant: Invalid JWT Signature\.},
	'wrong key: the token endpoint\'s refusal, named');
unlike($h->{out}, qr/\Q$wrong_line\E|\Q$sa_line\E|PRIVATE KEY|assertion=|eyJ/, 'wrong key: no key, no assertion in the message');

# a token endpoint that never answers: SIGTERM still stops the request at once
my $silent = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp') or die;
(my $hang = $sa) =~ s{https://127\.0\.0\.1:$gport/token}{'https://127.0.0.1:' . $silent->sockport . '/token'}e;
PostgreSQL::Test::Utils::append_to_file("$k/hang.json", $hang);
{
	my ($o, $e) = ('', '');
	my $p = IPC::Run::start([ $tool, "$k/hang.json", 'gs://backups/prod', "https://127.0.0.1:$gport", "$k/tls.crt",
		'list:pg/' ], '>', \$o, '2>', \$e);
	sleep(2);
	my $t = time;
	$p->signal('TERM');
	$p->finish;
	my $took = time - $t;
	ok($took < 1.5 && $o =~ /stopped_after_ms=(\d+)/ && $1 < 1000,
		sprintf('SIGTERM during a token request that hangs: stopped in %.0f ms', 1000 * $took)) or diag("$o$e");
}

# ---------- the WAL program (restore_command), provider=google ----------
my $wr = "$pg{bindir}/cnpg_bootstrap_wal_restore";
sub wr_run
{
	my ($json, $seg, $dest) = @_;
	(my $v = $json) =~ s/\\/\\\\/g;
	my $conf = "$tmp/wr.conf";
	unlink $conf;
	open(my $fh, '>', $conf) or die;
	chmod 0600, $conf;
	print $fh "provider=google\ndestination_path=gs://backups/prod\nendpoint_url=https://127.0.0.1:$gport\n"
	  . "endpoint_ca_file=$k/tls.crt\ngoogle_credentials=$v\nserver_name=pg\nspool_dir=$tmp/spool\n"
	  . "prefetch=2\nstandby=off\n";
	close $fh;
	my ($o, $e) = ('', '');
	IPC::Run::run([ $wr, $conf, $seg, $dest ], '>', \$o, '2>', \$e);
	return { rc => $? >> 8, err => $o . $e };
}
my ($seg_obj) = grep { m{/[0-9A-F]{24}\.gz$} } @wals;
my ($seg) = $seg_obj =~ m{/([0-9A-F]{24})\.gz$};
$h = wr_run($sa, $seg, "$tmp/RECOVERYXLOG");
my $want_seg = `gunzip -c '$seg_obj'`;
ok($h->{rc} == 0 && -s "$tmp/RECOVERYXLOG" == 16 * 1024 * 1024 && slurp_file("$tmp/RECOVERYXLOG") eq $want_seg,
	"WAL program: $seg fetched and gunzipped through GCS") or diag($h->{err});
$h = wr_run($sa, '0000000100000000000000FE', "$tmp/missing");
ok($h->{rc} == 1 && !-e "$tmp/missing", 'WAL program: a missing segment is exit 1') or diag($h->{err});
$h = wr_run($wrong, $seg, "$tmp/wrong");
ok($h->{rc} == 128 && $h->{err} =~ /invalid_grant/ && $h->{err} !~ /\Q$wrong_line\E|PRIVATE KEY/ && !-e "$tmp/wrong",
	'WAL program: a wrong key is exit 128 naming the refusal, no key on stderr') or diag($h->{err});

# ---------- recoveries through the extension ----------
sub cluster_yaml
{
	my ($name, $json, %o) = @_;
	(my $ind = $json) =~ s/^/    /mg;
	(my $ca = slurp_file("$k/tls.crt")) =~ s/^/    /mg;
	my $gc = $o{gke} ? "      googleCredentials:\n        gkeEnvironment: true\n" :
	  "      googleCredentials:\n        applicationCredentials:\n          name: $name-gcs\n          key: sa.json\n";
	return <<"YAML";
apiVersion: v1
kind: Secret
metadata:
  name: $name-gcs
stringData:
  sa.json: |
$ind
  ca.crt: |
$ca
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
      destinationPath: gs://backups/prod
      endpointURL: https://127.0.0.1:$gport
      endpointCA:
        name: $name-gcs
        key: ca.crt
      serverName: pg
$gc      wal:
        maxParallel: 4
YAML
}

apply(cluster_yaml('gcs1', $sa));
apply(cluster_yaml('gcs-wrong', $wrong));
apply(cluster_yaml('gcs-gke', $sa, gke => 1));

my $t0 = time;
is(wait_cluster('gcs1', '5 minutes'), 'Cluster in healthy state',
	sprintf('gcs1: recovery from gs://backups/prod healthy (%.1f s)', time - $t0))
  or diag(status('gcs1', 'phase_reason'));
is(tq('gcs1', 'postgres', q{SELECT count(*) || ' ' || sum(g) FROM t}), $want_rows,
	'gcs1: every row, those after the backup too (WAL replayed through GCS)');
ok(rig_count(qr{^GET /backups/prod/pg/wals/}) >= 1, 'the WAL program fetched WAL through the GCS API');
ok(rig_count(qr/^token issued/) >= 2, sprintf('tokens issued: %d (they live 4 s: refreshed)', rig_count(qr/^token issued/)));
is(rig_count(qr/^storage refused expired token/), 0, 'no request ever carried an expired token');

is(wait_cluster('gcs-wrong', '2 minutes'), 'Bootstrap failed', 'gcs-wrong: a key the account does not have fails');
my $wr = status('gcs-wrong', 'phase_reason');
like($wr, qr{token.*127\.0\.0\.1:$gport/token.*invalid_grant.*Invalid JWT Signature}s,
	'gcs-wrong: the reason names the token endpoint and its refusal') or diag($wr);
unlike($wr, qr/BEGIN PRIVATE KEY|\Q$wrong_line\E|\Q$sa_line\E/, 'gcs-wrong: no key material in the reason');

is(wait_cluster('gcs-gke', '2 minutes'), 'Bootstrap failed', 'gcs-gke: gkeEnvironment true fails');
my $gke = q1(q{SELECT phase_reason FROM cnpg_bootstrap_status('gcs-gke')});
like($gke, qr/gkeEnvironment not supported/, 'gcs-gke: says workload identity is not supported') or diag($gke);
like(slurp_file($node->logfile), qr/gkeEnvironment not supported yet\n.*HINT:  A host has no GKE workload identity: give a service-account JSON key/,
	'gcs-gke: with a HINT saying what to give instead');

# ---------- no key material anywhere ----------
my $ps = ps_sampled($sampler);
my $all = $ps . slurp_file($node->logfile);
for my $f (glob("$root/*/*/log/* $root/*/log/*"), glob("$root/*/*/pgdata/log/*"))
{
	$all .= slurp_file($f) if -f $f;
}
unlike($all, qr/\Q$sa_line\E|\Q$wrong_line\E|PRIVATE KEY-/, 'no private key in ps, the control log or the clusters\' logs');
unlike(q1(q{SELECT string_agg(s::text, ' ') FROM cnpg_bootstrap_status() s}), qr/\Q$sa_line\E|PRIVATE KEY/,
	'no key in status');
ok(-d "$root/gcs1/gcs1-1" && !-e "$root/gcs1/gcs1-1/wal-restore/wal-restore.conf",
	'after the promotion the WAL program\'s configuration file, which held the key, is gone');
like($ps, qr/cnpg_bootstrap_wal_(restore|fetch)/, 'the sampler saw the WAL program') ;

note(sprintf('t/015 total %.1f s', time - $t_start));
done_testing();
