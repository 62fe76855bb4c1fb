# The fault matrix (issue 14, item 1), reduced for CI: a fault injected at
# a named point of a plan (cnpg_bootstrap.fault_injection, src/faultinject.c)
# and, after it, the same end state as without it: healthy, every post-init
# statement run exactly once, the generated Secret's password still the
# role's password, no child tool left running, no temporary directory left.
# Every fault kind at least once, every method the control runs without an
# object store (initdb, standbys, pg_basebackup, import) at least once.
# CB_FAULTS=full runs every case of @full as well (bench/faults.sh).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use lib 't';
use CbTest;
use FaultCase;

# restart_after_crash: a SIGKILLed worker makes the control instance
# reinitialise, as in production
my ($node, $root) = start_control($ENV{CB_FAULTS_PORTS} || '58500-58599', "cnpg_bootstrap.max_workers = 4\nrestart_after_crash = on\n");

# every post-init statement ran once; the app Secret's password logs in
sub initdb_check
{
	my ($name) = @_;
	return sub {
		my ($fault) = @_;
		my $ok = is(tq($name, 'postgres', 'SELECT count(*) FROM once_pg'), '1',
			"$fault: postInitSQL ran exactly once");
		$ok &&= is(tq($name, 'app', 'SELECT count(*) FROM once_app'), '1',
			"$fault: postInitApplicationSQL ran exactly once");
		my $pw = secret("$name-app", 'password');
		local $ENV{PGPASSWORD} = $pw;
		my ($out, $err);
		IPC::Run::run([ 'psql', '-X', '-At', '-h', '127.0.0.1', '-p', port_of("$name-1"),
			'-U', 'app', '-d', 'app', '-c', 'SELECT current_user' ], '>', \$out, '2>', \$err);
		chomp $out if defined $out;
		$ok &&= is($out, 'app', "$fault: the generated Secret's password is the role's password")
		  or diag($err);
		return $ok;
	};
}

sub initdb_yaml
{
	my ($name, $instances) = @_;
	$instances //= 1;
	return <<"YAML";
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: $instances
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      postInitSQL:
        - CREATE TABLE once_pg (i int)
        - INSERT INTO once_pg VALUES (1)
      postInitApplicationSQL:
        - CREATE TABLE once_app (i int)
        - INSERT INTO once_app VALUES (1)
YAML
}

# ---------- initdb and standbys: every fault kind ----------
my @initdb_cases = (
	'initdb:middle:kill-child',
	'post-init:start:stop-immediate',
	'post-init:end:kill-worker',
	'start:end:kill-target',
	'secrets:end:term-worker',
);
my @full_initdb = (
	(map { "initdb:$_" } qw(middle:kill-control start:kill-control end:kill-control middle:stop-immediate middle:kill-worker middle:term-worker end:kill-worker)),
	(map { "post-init:$_" } qw(start:kill-control end:kill-control start:kill-worker end:term-worker end:kill-target)),
	(map { "start:$_" } qw(start:kill-control end:kill-control end:stop-immediate end:kill-worker)),
	(map { "$_:end:kill-control" } qw(prepare secrets pki resolve-references roles healthy)),
	(map { "$_:start:kill-worker" } qw(prepare secrets pki resolve-references roles streaming healthy)),
);
push @initdb_cases, @full_initdb if ($ENV{CB_FAULTS} // '') eq 'full';

my $n = 0;
for my $fault (@initdb_cases)
{
	$n++;
	my $name = "fi$n";
	fault_case($n, $fault, $name, initdb_yaml($name), initdb_check($name));
	drop($name);
}

# standbys: the standby's pg_basebackup killed, the control killed mid-clone
my @standby_cases = ('standbys:middle:kill-child', 'standbys:middle:kill-control');
push @standby_cases, ('standbys:end:kill-worker', 'streaming:start:stop-immediate', 'standbys:start:term-worker')
  if ($ENV{CB_FAULTS} // '') eq 'full';
for my $fault (@standby_cases)
{
	$n++;
	my $name = "fs$n";
	fault_case($n, $fault, $name, initdb_yaml($name, 2), sub {
		my ($f) = @_;
		my $ok = initdb_check($name)->($f);
		$ok &&= is(tq($name, 'postgres', 'SELECT count(*) FROM once_pg', "$name-2"), '1',
			"$f: the standby has the data");
		$ok &&= is(tq($name, 'postgres', 'SELECT pg_is_in_recovery()', "$name-2"), 't',
			"$f: the standby is in recovery");
		return $ok;
	});
	drop($name);
}

# ---------- pg_basebackup and import from a source cluster ----------
apply(<<'YAML');
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: fsrc
spec:
  instances: 1
  enableSuperuserAccess: true
  storage:
    size: 1Gi
  postgresql:
    pg_hba:
      - host replication postgres 127.0.0.1/32 scram-sha-256
YAML
is(wait_cluster('fsrc'), 'Cluster in healthy state', 'source cluster healthy');
tq('fsrc', 'app', 'CREATE TABLE src_rows AS SELECT generate_series(1, 200000) AS i');
my $sport = port_of('fsrc-1');
my $ext = <<"YAML";
  externalClusters:
  - name: fsrc
    connectionParameters:
      host: 127.0.0.1
      port: "$sport"
      user: postgres
      dbname: postgres
    password:
      name: fsrc-superuser
      key: password
YAML

sub rows_check
{
	my ($name) = @_;
	return sub {
		my ($f) = @_;
		return is(tq($name, 'app', 'SELECT count(*) FROM src_rows'), '200000', "$f: every row of the source");
	};
}

my @clone_cases = ('clone:middle:kill-child', 'configure:end:kill-control');
push @clone_cases, ('clone:middle:kill-worker', 'clone:end:stop-immediate', 'promote:start:kill-worker', 'app-database:end:kill-control')
  if ($ENV{CB_FAULTS} // '') eq 'full';
for my $fault (@clone_cases)
{
	$n++;
	my $name = "fc$n";
	fault_case($n, $fault, $name, <<"YAML" . $ext, rows_check($name));
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    pg_basebackup:
      source: fsrc
YAML
	drop($name);
}

my @import_cases = ('import:middle:kill-child');
push @import_cases, ('import:middle:kill-control', 'import:end:kill-worker', 'roles:start:stop-immediate')
  if ($ENV{CB_FAULTS} // '') eq 'full';
for my $fault (@import_cases)
{
	$n++;
	my $name = "fm$n";
	fault_case($n, $fault, $name, <<"YAML" . $ext, rows_check($name));
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      import:
        type: microservice
        databases:
          - app
        source:
          externalCluster: fsrc
YAML
	drop($name);
}

fault_summary();
done_testing();
