# The host failing under a bootstrap (issue 14, item 2): no free port in
# cnpg_bootstrap.port_range, a bindir without initdb, a data_root the
# worker may not write, a source that does not answer, and (when the test
# runner provides a small file system in CB_SMALLFS: tools/run-tests.sh
# mounts a tmpfs) a disk that fills up mid-initdb and mid-clone.  Each is
# shown in cnpg_bootstrap_status within seconds, naming the resource; the
# cluster is never failed and nothing half-made is left; once the host is
# fixed the bootstrap proceeds by itself, without a re-apply.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use lib 't';
use CbTest;

# supervision off: envsrc stands for a server outside, stopped and started by hand
my ($node, $root) = start_control('58700-58700',
	"cnpg_bootstrap.max_workers = 4\ncnpg_bootstrap.supervise_interval = 0\n");

# poll the status until its reason matches $re (or $secs pass); the phase
# must never be 'Bootstrap failed' meanwhile
sub reason_within
{
	my ($name, $re, $secs, $what) = @_;
	my $t0 = time;
	my ($phase, $reason) = ('', '');
	while (time - $t0 < $secs)
	{
		($phase, $reason) = split /\|/, q1("SELECT phase || '|' || coalesce(phase_reason, '') FROM cnpg_bootstrap_status('$name')"), 2;
		$reason //= '';
		last if $reason =~ $re || $phase eq 'Bootstrap failed';
		usleep(200_000);
	}
	ok($reason =~ $re && $phase ne 'Bootstrap failed', sprintf('%s: shown within %.1f s', $what, time - $t0))
	  or diag("phase: $phase\nreason: $reason");
	return $reason;
}

sub healthy_by_itself
{
	my ($name, $what) = @_;
	is(wait_cluster($name, '3 minutes'), 'Cluster in healthy state', "$what: healthy once fixed, without a re-apply");
	is(q1("SELECT count(*) FROM cnpg_bootstrap.objects WHERE kind = 'Cluster' AND name = '$name' AND generation = 1"), '1',
		"$what: the Cluster was applied once");
}

# ---------- no free port ----------
apply(cluster_yaml('env1'));
is(wait_cluster('env1'), 'Cluster in healthy state', 'env1 takes the only port of the range');
apply(cluster_yaml('env2'));
reason_within('env2', qr/no free port left in cnpg_bootstrap\.port_range 58700-58700/, 20, 'no free port');
q1("ALTER SYSTEM SET cnpg_bootstrap.port_range = '58700-58729'");
q1('SELECT pg_reload_conf()');
healthy_by_itself('env2', 'no free port');

# ---------- a bindir without initdb ----------
my $real = $node->config_data('--bindir');
my $bin = "$root/bin";
mkdir $bin or die;
opendir(my $dh, $real) or die;
symlink("$real/$_", "$bin/$_") or die for grep { !/^\./ && $_ ne 'initdb' } readdir($dh);
closedir($dh);
q1("ALTER SYSTEM SET cnpg_bootstrap.bindir = '$bin'");
q1('SELECT pg_reload_conf()');
apply(cluster_yaml('env3'));
reason_within('env3', qr/no PostgreSQL binaries.*\Q$bin\E\/initdb/s, 20, 'initdb missing from the bindir');
symlink("$real/initdb", "$bin/initdb") or die;
healthy_by_itself('env3', 'initdb missing');

# ---------- data_root not writable ----------
# data_root itself is ours to chmod (the worker makes it 0700): a
# data_root under a directory the server's user may not write is not
my $locked = "$root/locked";
mkdir $locked or die;
chmod(0500, $locked) == 1 or die "chmod $locked: $!";
ok(!mkdir("$locked/probe"), "the test itself cannot write $locked");
q1("ALTER SYSTEM SET cnpg_bootstrap.data_root = '$locked/dr'");
q1('SELECT pg_reload_conf()');
apply(cluster_yaml('env4'));
my $r = reason_within('env4', qr/Permission denied/, 20, 'data_root not writable');
like($r, qr/\Q$locked\E\/dr/, 'the reason names the directory');
chmod 0700, $locked or die;
healthy_by_itself('env4', 'data_root not writable');
{
	local $CbTest::root = "$locked/dr";
	is(tq('env4', 'postgres', 'SELECT 1'), '1', 'data_root not writable: the instance answers');
}
q1("SELECT cnpg_bootstrap_delete('Cluster', 'env4')");
for (1 .. 300) { last unless -e "$locked/dr/env4"; usleep(100_000); }
q1("ALTER SYSTEM SET cnpg_bootstrap.data_root = '$root'");
q1('SELECT pg_reload_conf()');

# ---------- a source that does not answer ----------
apply(<<'YAML');
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: envsrc
spec:
  instances: 1
  enableSuperuserAccess: true
  storage:
    size: 1Gi
  postgresql:
    pg_hba:
      - host replication postgres 127.0.0.1/32 scram-sha-256
YAML
is(wait_cluster('envsrc'), 'Cluster in healthy state', 'source cluster healthy');
tq('envsrc', 'app', 'CREATE TABLE src_rows AS SELECT g AS i, md5(g::text) AS h FROM generate_series(1, 100000) g');
my $sport = port_of('envsrc-1');
my $src_pgdata = "$root/envsrc/envsrc-1/pgdata";
sub clone_yaml
{
	my ($name) = @_;
	return <<"YAML";
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: 1
  storage:
    size: 1Mi
  bootstrap:
    pg_basebackup:
      source: envsrc
  externalClusters:
  - name: envsrc
    connectionParameters:
      host: 127.0.0.1
      port: "$sport"
      user: postgres
      dbname: postgres
    password:
      name: envsrc-superuser
      key: password
YAML
}
system_or_bail('pg_ctl', '-D', $src_pgdata, '-m', 'fast', '-w', 'stop');
apply(clone_yaml('env5'));
reason_within('env5', qr/does not answer.*(Connection refused|could not connect)/s, 20, 'source down');
system_or_bail('pg_ctl', '-D', $src_pgdata, '-w', '-l', "$root/envsrc-restart.log", 'start');
healthy_by_itself('env5', 'source down');
is(tq('env5', 'app', 'SELECT count(*) FROM src_rows'), '100000', 'source down: every row once it is back');

# ---------- the source vanishing mid-clone and mid-import ----------
# more data, so that the copy takes a moment; the source is stopped (-m
# immediate) as soon as the copy is seen under way, and started again once
# the cluster shows it waits for it
tq('envsrc', 'app', 'CREATE TABLE big AS SELECT g AS i, repeat(md5(g::text), 4) AS h FROM generate_series(1, 600000) g');
sub vanish_while
{
	my ($name, $yaml, $underway, $what) = @_;
	apply($yaml);
	my $seen = 0;
	for (1 .. 1200)
	{
		if ($underway->()) { $seen = 1; last; }
		usleep(25_000);
	}
	ok($seen, "$what: the copy was seen under way");
	system_or_bail('pg_ctl', '-D', $src_pgdata, '-m', 'immediate', '-w', 'stop');
	my $r = reason_within($name, qr/a server does not answer/, 30, "$what: source gone");
	ok(!-e "$root/$name/$name-1/pgdata.tmp", "$what: no half-made copy left");
	system_or_bail('pg_ctl', '-D', $src_pgdata, '-w', '-l', "$root/envsrc-restart.log", 'start');
	healthy_by_itself($name, $what);
	is(tq($name, 'app', 'SELECT count(*) FROM big'), '600000', "$what: every row once the source is back");
}
vanish_while('env8', clone_yaml('env8'), sub { -d "$root/env8/env8-1/pgdata.tmp/base" }, 'source gone mid-clone');
my $import_yaml = clone_yaml('env9');
$import_yaml =~ s/    pg_basebackup:\n      source: envsrc\n/    initdb:\n      import:\n        type: microservice\n        databases:\n          - app\n        source:\n          externalCluster: envsrc\n/;
vanish_while('env9', $import_yaml, sub { glob("$root/env9/import/*") }, 'source gone mid-import');
# the disk-full clone below must fit its small file system once there is room
tq('envsrc', 'app', 'DROP TABLE big');
tq('envsrc', 'postgres', 'CHECKPOINT');

# ---------- the disk fills up (a small file system of the runner's) ----------
SKIP:
{
	my $small = $ENV{CB_SMALLFS} // '';
	skip 'no small file system (CB_SMALLFS) from the test runner', 11 unless $small && -d $small && -w $small;
	my $sroot = "$small/root";
	mkdir $sroot, 0700;
	q1("ALTER SYSTEM SET cnpg_bootstrap.data_root = '$sroot'");
	q1('SELECT pg_reload_conf()');
	sleep(1);

	# ballast: leave ~12 MB free, less than an initdb writes
	my $free = sub { my $o = `df -Pk '$small' | tail -1`; return (split /\s+/, $o)[3] * 1024; };
	my $ballast = "$small/ballast";
	sub fill { my ($path, $bytes) = @_; open(my $fh, '>', $path) or die; my $mb = "\0" x (1 << 20);
		print $fh $mb for 1 .. int($bytes / (1 << 20)); close $fh; }
	fill($ballast, $free->() - 12 * (1 << 20));
	apply(cluster_yaml('env6', "  bootstrap:\n    initdb:\n      database: app\n      owner: app\n") =~ s/size: 1Gi/size: 1Mi/r);
	my $r6 = reason_within('env6', qr/no space left on device in "\Q$sroot\E\/env6"/, 60, 'disk full mid-initdb');
	ok(!-e "$sroot/env6/env6-1/pgdata.tmp" && !-e "$sroot/env6/env6-1/pgdata", 'disk full mid-initdb: no half-made data directory left');
	ok($free->() > 10 * (1 << 20), 'disk full mid-initdb: the space it took is free again');
	unlink $ballast;
	healthy_by_itself('env6', 'disk full mid-initdb');
	local $CbTest::root = $sroot;
	is(tq('env6', 'postgres', 'SELECT 1'), '1', 'disk full mid-initdb: the instance answers');

	# mid-clone: the source holds more than is left
	fill($ballast, $free->() - 25 * (1 << 20));
	apply(clone_yaml('env7'));
	reason_within('env7', qr/no space left on device in "\Q$sroot\E\/env7"/, 90, 'disk full mid-clone');
	ok(!-e "$sroot/env7/env7-1/pgdata.tmp" && !-e "$sroot/env7/env7-1/pgdata", 'disk full mid-clone: no half-made copy left');
	unlink $ballast;
	healthy_by_itself('env7', 'disk full mid-clone');
	is(tq('env7', 'app', 'SELECT count(*) FROM src_rows'), '100000', 'disk full mid-clone: every row once there is room');

	# the small file system's clusters go before it is unmounted
	q1("SELECT cnpg_bootstrap_delete('Cluster', '$_')") for qw(env6 env7);
	for (1 .. 300)
	{
		last unless -e "$sroot/env6" || -e "$sroot/env7";
		usleep(100_000);
	}
}

done_testing();
