# An object store that misbehaves under a recovery (issue 14, item 2): a
# real barman-cloud backup in the S3 rig (test/s3rig.sh), read through
# test/faultproxy.py, a proxy whose answers the test switches at run time
# (one proxy and one cluster per case; the cases of a wave run at once).
#   - a few 503 and 500 answers: retried, the recovery succeeds;
#   - 500 for ever on data.tar: the status names the store within seconds,
#     the cluster waits (never failed), no half-restored pgdata.tmp stays;
#     the proxy back to pass: healthy by itself, without a re-apply;
#   - truncated bodies (Content-Length kept, and close-delimited without
#     one) of data.tar and of WAL files: never taken as whole, resumed;
#   - a slow store completes; a store that hangs is given up after
#     cnpg_bootstrap.store_timeout (3 s here) and its retries, and then
#     waited for like a 500;
#   - a delete while data.tar is being restored: worker, children,
#     directory and catalog rows gone;
#   - 500 for ever on WAL files while the backup is replayed: the WAL
#     program's error (in the server's log) names the store, the cluster
#     waits, and recovery resumes once the store answers;
#   - TLS with endpointCA naming the wrong CA: Bootstrap failed at once,
#     naming the endpoint and endpointCA (a configuration error, no wait).
# CB_FAULTS_ONLY=<regex> runs only the cases whose tag matches (retried,
# down, truncate, cut, walcut, slow, hang, delete, walstore, wrongca).
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use lib 't';
use StoreRig;
use CbTest;
use FaultCase ();

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $why = rig_start('s3', "$tmp/rig", own_keys => 't025');
plan skip_all => $why if defined $why;
plan skip_all => 'openssl not found' unless have('openssl');

my $store = "http://127.0.0.1:$ENV{S3RIG_PORT}";
my ($key_id, $secret_key) = ($ENV{S3RIG_KEY}, $ENV{S3RIG_SECRET});
$ENV{TZ} = 'UTC';
my $only = $ENV{CB_FAULTS_ONLY} // '';
sub wanted { return !$only || $_[0] =~ /$only/; }

# the control instance without AWS_* in its environment; a short
# store_timeout so that a hanging store is given up within the test
delete @ENV{qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_SESSION_TOKEN)};
my ($node, $root) = start_control('59000-59099',
	"cnpg_bootstrap.max_workers = 6\nmax_worker_processes = 16\ncnpg_bootstrap.store_timeout = 3\n");

$ENV{AWS_ACCESS_KEY_ID} = $key_id;
$ENV{AWS_SECRET_ACCESS_KEY} = $secret_key;
$ENV{AWS_DEFAULT_REGION} = 'us-east-1';

# ---------- the proxies ----------
my @proxies;

# a faultproxy in front of the rig; undef-free hash: port, control, log
sub proxy_start
{
	my ($name, %o) = @_;
	my $dir = "$tmp/proxy-$name";
	make_path($dir);
	my $p = { name => $name, port => PostgreSQL::Test::Cluster::get_free_port(),
		control => "$dir/control", log => "$dir/log" };
	my @tls = $o{cert} ? ('--cert', $o{cert}, '--key', $o{key}) : ();
	$p->{h} = IPC::Run::start([ 'python3', getcwd() . '/test/faultproxy.py', '--port', $p->{port},
			'--upstream', $store, '--control', $p->{control}, '--log', $p->{log}, @tls ],
		'>', "$dir/out", '2>&1');
	push @proxies, $p;
	for (1 .. 100)
	{
		return $p if -f $p->{log} && slurp_file($p->{log}) =~ /^listening$/m;
		usleep(100_000);
	}
	BAIL_OUT("faultproxy $name did not start: " . (-f "$dir/out" ? slurp_file("$dir/out") : ''));
}

# switch the proxy's behaviour (atomically: a rename)
sub mode
{
	my ($p, @lines) = @_;
	open(my $fh, '>', "$p->{control}.tmp") or die;
	print $fh "$_\n" for @lines;
	close $fh;
	rename("$p->{control}.tmp", $p->{control}) or die;
	note("proxy $p->{name}: " . join(' | ', @lines));
}

sub plog { my ($p) = @_; return -f $p->{log} ? slurp_file($p->{log}) : ''; }

END
{
	local $?;    # the test's exit status is not the proxies'
	$_->{h}->kill_kill for grep { $_->{h} } @proxies;
}

# ---------- the source: one plain backup, WAL after it ----------
my $pgn = PostgreSQL::Test::Cluster->new('store_source');
$pgn->init;
$pgn->append_conf('postgresql.conf', qq{
wal_level = replica
archive_mode = on
archive_command = 'barman-cloud-wal-archive --endpoint-url $store s3://backups ssrc %p'
});
$pgn->start;
$pgn->safe_psql('postgres', 'CREATE TABLE big AS SELECT g AS i, md5(g::text) AS h FROM generate_series(1, 150000) g');
my ($o, $e);
ok(IPC::Run::run([ 'barman-cloud-backup', '--endpoint-url', $store, '--immediate-checkpoint',
	'-h', $pgn->host, '-p', $pgn->port, '-d', 'postgres', 's3://backups', 'ssrc' ], '>', \$o, '2>', \$e),
	'a barman-cloud backup of the source (plain data.tar)') or diag("$o$e");
for (1 .. 3)
{
	$pgn->safe_psql('postgres', 'INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 20000) g; SELECT pg_switch_wal()');
}
my $sum_sql = q{SELECT count(*) || ':' || sum(i) || ':' || sum(hashtext(h)) FROM big};
my $want = $pgn->safe_psql('postgres', $sum_sql);
my $seg = $pgn->safe_psql('postgres', 'SELECT pg_walfile_name(pg_switch_wal())');
ok($pgn->poll_query_until('postgres', "SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver"),
	"WAL archived up to $seg");

# ---------- the manifests ----------
sub recovery_yaml
{
	my ($name, $ep, $ca) = @_;
	my $ca_ref = $ca ? "      endpointCA:\n        name: $name-s3\n        key: ca.crt\n" : '';
	my $ca_val = $ca ? "  ca.crt: |\n" . join('', map { "    $_\n" } split /\n/, $ca) : '';
	return <<"YAML";
apiVersion: v1
kind: Secret
metadata:
  name: $name-s3
stringData:
  ACCESS_KEY_ID: $key_id
  ACCESS_SECRET_KEY: $secret_key
$ca_val---
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
$ca_ref      serverName: ssrc
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

sub phase_reason
{
	my ($name) = @_;
	my ($phase, $reason) = split /\|/,
	  q1("SELECT phase || '|' || coalesce(phase_reason, '') FROM cnpg_bootstrap_status('$name')"), 2;
	return ($phase // '', $reason // '');
}

my %applied_at;    # cluster -> time of its apply

sub apply_case
{
	my ($name, $p, $ca) = @_;
	my $scheme = $ca ? 'https' : 'http';
	apply(recovery_yaml($name, "$scheme://127.0.0.1:$p->{port}", $ca));
	$applied_at{$name} = time;
}

# poll until the reason matches $re, at most $secs after the apply; the
# phase must never be failed meanwhile
sub reason_within
{
	my ($name, $re, $secs, $what) = @_;
	my ($phase, $reason);
	while (time - $applied_at{$name} < $secs)
	{
		($phase, $reason) = phase_reason($name);
		last if $reason =~ $re || $phase eq 'Bootstrap failed';
		usleep(200_000);
	}
	ok($reason =~ $re && $phase ne 'Bootstrap failed',
		sprintf('%s: shown %.1f s after the apply', $what, time - $applied_at{$name}))
	  or diag("phase: $phase\nreason: $reason");
	return $reason;
}

# the cluster's worker processes (the bgworker's title names its cluster)
sub workers_of
{
	my ($name) = @_;
	return grep { /cnpg_bootstrap worker \Q$name\E(\s|$)/ } FaultCase::procs_with("cnpg_bootstrap worker $name");
}

# while the cluster waits for the host (between two runs of its worker,
# which retries with a growing delay), nothing of the failed run is left
sub no_half_made
{
	my ($name, $what) = @_;
	my $t0 = time;
	usleep(50_000) while workers_of($name) && time - $t0 < 30;
	ok(!workers_of($name), "$what: no worker between two runs");
	my @left = grep { -e } ("$root/$name/$name-1/pgdata.tmp", "$root/$name/$name-1/pgdata");
	is(scalar(@left), 0, "$what: no half-restored data directory left") or diag(join("\n", @left));
}

sub healthy_with_every_row
{
	my ($name, $what) = @_;
	my $phase = wait_cluster($name, '3 minutes');
	is($phase, 'Cluster in healthy state', sprintf('%s: healthy %.1f s after the apply', $what, time - $applied_at{$name}))
	  or return diag(join("\n", phase_reason($name)));
	is(tq($name, 'postgres', $sum_sql), $want, "$what: every row of the source");
	is(q1("SELECT generation FROM cnpg_bootstrap.objects WHERE kind = 'Cluster' AND name = '$name'"), '1',
		"$what: applied once");
}

sub control_log_since { my ($off) = @_; return substr(slurp_file($node->logfile), $off); }

# Cases run in two waves: every case of a wave is applied at once (each
# with its own proxy and cluster), then checked one after the other, then
# its cluster deleted; the waits (retries, timeouts, a slow store) overlap.
# A case: [ tag, start sub, check sub ].
my $log_start = -s $node->logfile;
my %px;
my @wave1 = (
	# ---------- (1) a few 503 and 500 answers are retried ----------
	[ 'retried', sub {
		$px{retried} = proxy_start('retried');
		mode($px{retried}, 'status 503 3', 'status 500 2 ~data\.tar');
		apply_case('sf1', $px{retried});
	}, sub {
		healthy_with_every_row('sf1', '503 x3 then 500 x2 on data.tar');
		my $l = plog($px{retried});
		is(scalar(() = $l =~ / -> status 503$/mg), 3, 'the proxy answered 503 three times');
		is(scalar(() = $l =~ /data\.tar -> status 500$/mg), 2, 'and 500 twice to the GET of data.tar');
		my $cl = control_log_since($log_start);
		like($cl, qr/failed \(HTTP 503 ServiceUnavailable\), retry 1 of 6/, 'the worker retried the 503');
		like($cl, qr/data\.tar" failed \(HTTP 500 InternalError\), retry 2 of 6/, 'and the 500s');
	} ],
	# ---------- (2) the store keeps answering 500: wait, then go on by itself ----------
	[ 'down', sub {
		$px{down} = proxy_start('down');
		mode($px{down}, 'status 500 ~data\.tar');
		apply_case('sf2', $px{down});
	}, sub {
		my $r = reason_within('sf2', qr/the object store does not answer: .*HTTP 500/, 60, '500 for ever on data.tar');
		like($r, qr{restore: waiting for the host}, 'the reason names the step and says it waits');
		no_half_made('sf2', '500 for ever');
		sleep(2);
		my ($phase) = phase_reason('sf2');
		isnt($phase, 'Bootstrap failed', '500 for ever: still not failed a while later');
		mode($px{down}, 'pass');
		healthy_with_every_row('sf2', '500 for ever, then pass');
	} ],
	# ---------- (3) truncated bodies: never taken as whole ----------
	[ 'truncate', sub {
		$px{truncate} = proxy_start('truncate');
		mode($px{truncate}, 'truncate 3 ~data\.tar');
		apply_case('sf3', $px{truncate});
	}, sub {
		healthy_with_every_row('sf3', 'data.tar truncated 3 times (Content-Length kept)');
		is(scalar(() = plog($px{truncate}) =~ / -> truncate 20\d \d+\/\d+$/mg), 3, 'the proxy cut data.tar three times');
	} ],
	[ 'cut', sub {
		$px{cut} = proxy_start('cut');
		mode($px{cut}, 'cut 2 ~data\.tar', 'cut 2 ~list-type=2');
		apply_case('sf4', $px{cut});
	}, sub {
		healthy_with_every_row('sf4', 'data.tar and listings cut twice each, without Content-Length');
		is(scalar(() = plog($px{cut}) =~ /data\.tar -> cut 20\d \d+\/\d+$/mg), 2, 'the proxy cut data.tar twice');
		is(scalar(() = plog($px{cut}) =~ /list-type=2\S* -> cut 20\d \d+\/\d+$/mg), 2, 'and two listings');
	} ],
	[ 'walcut', sub {
		$px{walcut} = proxy_start('walcut');
		mode($px{walcut}, 'cut 3 ~/wals/');
		apply_case('sf5', $px{walcut});
	}, sub {
		healthy_with_every_row('sf5', 'WAL files cut, without Content-Length');
		is(scalar(() = plog($px{walcut}) =~ / -> cut 20\d \d+\/\d+$/mg), 3, 'the proxy cut three WAL files');
	} ],
);

my ($k, $tls_seen) = ("$tmp/keys", 0);
my @wave2 = (
	# ---------- (4) slow, then hanging ----------
	[ 'slow', sub {
		$px{slow} = proxy_start('slow');
		mode($px{slow}, 'slow 400');
		apply_case('sf6', $px{slow});
	}, sub {
		healthy_with_every_row('sf6', 'every answer 0.4 s late');
		my $n = () = plog($px{slow}) =~ / -> slow 20\d$/mg;
		ok($n > 10, "the proxy slowed $n answers");
	} ],
	[ 'hang', sub {
		$px{hang} = proxy_start('hang');
		mode($px{hang}, 'hang');
		apply_case('sf7', $px{hang});
	}, sub {
		# 7 attempts of store_timeout (3 s) and the pauses between them
		reason_within('sf7', qr/the object store does not answer: .*no data received for 3 s/, 75,
			'a store that accepts and never answers');
		no_half_made('sf7', 'hang');
		mode($px{hang}, 'pass');
		healthy_with_every_row('sf7', 'hang, then pass');
	} ],
	# ---------- a delete while data.tar is being restored ----------
	# (the catalog side of this race is specs/delete_restore.spec)
	[ 'delete', sub {
		$px{delete} = proxy_start('delete');
		mode($px{delete}, 'hang ~data\.tar');
		apply_case('sf9', $px{delete});
	}, sub {
		my $p = $px{delete};
		usleep(100_000) until plog($p) =~ /data\.tar -> hang$/m || time - $applied_at{sf9} > 60;
		like(plog($p), qr/data\.tar -> hang$/m, 'the restore of data.tar has begun');
		is(q1("SELECT outcome FROM cnpg_bootstrap.steps WHERE cluster = 'sf9' AND step = 'restore'"), 'running',
			'its step is journaled as running');
		ok(-d "$root/sf9/sf9-1/pgdata.tmp", 'pgdata.tmp is being filled');
		q1("SELECT cnpg_bootstrap_delete('Cluster', 'sf9')");
		my $t0 = time;
		usleep(100_000) while (-e "$root/sf9" || q1("SELECT count(*) FROM cnpg_bootstrap.teardown WHERE cluster = 'sf9'"))
		  && time - $t0 < 60;
		ok(!-e "$root/sf9", sprintf('deleted mid-restore: the directory is gone (%.1f s)', time - $t0));
		is(q1("SELECT count(*) FROM cnpg_bootstrap.teardown WHERE cluster = 'sf9'") . ' '
			  . q1("SELECT count(*) FROM cnpg_bootstrap.steps WHERE cluster = 'sf9'") . ' '
			  . q1("SELECT count(*) FROM cnpg_bootstrap.clusters WHERE name = 'sf9'"),
			'0 0 0', 'deleted mid-restore: no teardown, step or status row left');
		my @left = (FaultCase::procs_with('cnpg_bootstrap worker sf9'), FaultCase::procs_with("$root/sf9/"));
		is(scalar(@left), 0, 'deleted mid-restore: no worker or child of it left') or diag(join("\n", @left));
	} ],
	# ---------- (2) again, while the WAL is replayed ----------
	[ 'walstore', sub {
		$px{walstore} = proxy_start('walstore');
		mode($px{walstore}, 'status 500 ~/wals/');
		apply_case('sf10', $px{walstore});
	}, sub {
		reason_within('sf10', qr/the object store does not answer: .*HTTP 500/, 75, '500 for ever on WAL files');
		# what the WAL program said (in the server's stderr log)
		my $slog = "$root/sf10/sf10-1/log/postgres";
		note("sf10: $_") for grep { /wal_(fetch|restore)/ } split /\n/, (-f $slog ? slurp_file($slog) : '');
		mode($px{walstore}, 'pass');
		healthy_with_every_row('sf10', '500 for ever on WAL files, then pass');
	} ],
	# ---------- (5) TLS, endpointCA naming the wrong CA ----------
	[ 'wrongca', sub {
		make_path($k);
		for my $n (qw(store other))
		{
			ok(IPC::Run::run([ 'openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
				'-nodes', '-keyout', "$k/$n.key", '-out', "$k/$n.crt", '-days', '2', '-subj', "/CN=$n-ca.t025",
				'-addext', 'subjectAltName=IP:127.0.0.1' ], '>', \$o, '2>', \$e), "certificate $n") or diag($e);
		}
		my $p = $px{tls} = proxy_start('tls', cert => "$k/store.crt", key => "$k/store.key");
		# the proxy serves TLS: its own certificate verifies, and the store answers (403 unsigned)
		my $code = `curl -s -o /dev/null -w '%{http_code}' --cacert '$k/store.crt' 'https://127.0.0.1:$p->{port}/backups'`;
		is($code, '403', 'the TLS proxy answers with its own CA');
		$tls_seen = length(plog($p));
		apply_case('sf8', $p, slurp_file("$k/other.crt"));
	}, sub {
		my $ep = "https://127.0.0.1:$px{tls}{port}";
		my ($phase, $reason) = ('', '');
		while (time - $applied_at{sf8} < 60)
		{
			($phase, $reason) = phase_reason('sf8');
			last if $phase eq 'Bootstrap failed';
			usleep(200_000);
		}
		is($phase, 'Bootstrap failed', sprintf('wrong endpointCA: Bootstrap failed %.1f s after the apply',
			time - $applied_at{sf8})) or diag($reason);
		like($reason, qr/\Q$ep\E/, 'the reason names the endpoint');
		like($reason, qr/certificate of \Q$ep\E could not be verified against endpointCA/,
			'the reason says the certificate did not verify against endpointCA');
		unlike($reason, qr/waiting for the host/, 'not taken for a store that does not answer');
		unlike(substr(plog($px{tls}), $tls_seen), qr/ GET /, 'no request reached the store');
	} ],
);

my %cluster_of = (retried => 'sf1', down => 'sf2', truncate => 'sf3', cut => 'sf4', walcut => 'sf5',
	slow => 'sf6', hang => 'sf7', wrongca => 'sf8', delete => 'sf9', walstore => 'sf10');
for my $wave (\@wave1, \@wave2)
{
	my @cases = grep { wanted($_->[0]) } @$wave;
	$_->[1]->() for @cases;
	$_->[2]->() for @cases;
	my @names = map { $cluster_of{ $_->[0] } } @cases;
	for my $name (@names)
	{
		q1("SELECT cnpg_bootstrap_delete('Cluster', '$name')")
		  if q1("SELECT count(*) FROM cnpg_bootstrap.objects WHERE kind = 'Cluster' AND name = '$name'");
	}
	for (1 .. 600)
	{
		last unless grep { -e "$root/$_" } @names;
		usleep(100_000);
	}
}

done_testing();
