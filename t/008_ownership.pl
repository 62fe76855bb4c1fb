# What the worker may stop, signal and remove (issue 11): only cluster
# directories it created (with its ownership marker) under the data_root in
# force, never the control's data directory or a directory it did not make,
# never a process a postmaster.pid merely names; a delete rolled back with
# its savepoint stops nothing.  Every assertion reads the real outcome: files
# on disk, live processes, the catalog, the control's log.
use strict;
use warnings;
use File::Basename qw(dirname basename);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use POSIX ();
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use lib 't';
use CbTest;

my ($node, $root) = start_control('57000-57099', "cnpg_bootstrap.max_workers = 4\n");
my $bindir = dirname(`which pg_ctl`);

sub set_data_root
{
	my ($dir) = @_;
	if (defined $dir)
	{
		q1("ALTER SYSTEM SET cnpg_bootstrap.data_root = '$dir'");
	}
	else
	{
		q1('ALTER SYSTEM RESET cnpg_bootstrap.data_root');
	}
	q1('SELECT pg_reload_conf()');
	my $want = $dir // $root;
	$node->poll_query_until('postgres', "SELECT current_setting('cnpg_bootstrap.data_root') = '$want'")
	  or die "data_root never became $want";
	sleep(1);    # the launcher reloads at its next wake-up
}

# wait until the teardown of $name is gone, or the log says it was refused
sub wait_teardown
{
	my ($name, $log_from) = @_;
	for (1 .. 600)
	{
		return 'done'
		  if q1("SELECT count(*) FROM cnpg_bootstrap.teardown WHERE cluster = '$name'") eq '0';
		my $log = substr(slurp_file($node->logfile), $log_from);
		return 'refused' if $log =~ /not removing .*deleted cluster "\Q$name\E"/;
		usleep(200_000);
	}
	return 'timeout';
}

sub log_size { return -s $node->logfile; }

sub stop_target
{
	my ($pgdata) = @_;
	system_log("$bindir/pg_ctl", 'stop', '-D', $pgdata, '-m', 'immediate', '-w')
	  if -f "$pgdata/postmaster.pid";
}

# ---------- 1. a delete inside a savepoint rolled back stops nothing ----------
# keep is still bootstrapping (post-init sleeps) when the delete is rolled back
my $sleepy = <<'YAML';
  bootstrap:
    initdb:
      postInitSQL:
        - SELECT pg_sleep(8)
YAML
(my $sleepier = $sleepy) =~ s/8/120/;
apply(cluster_yaml('keep', $sleepy) . "---\n" . cluster_yaml('fakepid') . "---\n"
	  . cluster_yaml('nomark') . "---\n" . cluster_yaml('relsp', $sleepier));
$node->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM cnpg_bootstrap.steps WHERE cluster = 'keep' AND step = 'post-init' AND outcome = 'running')"
) or die 'keep never reached post-init';
my $from = log_size();
q1(q{BEGIN;
SAVEPOINT s;
SELECT cnpg_bootstrap_delete('Cluster', 'keep');
ROLLBACK TO SAVEPOINT s;
COMMIT;});
is(wait_cluster('keep'), 'Cluster in healthy state', 'keep healthy');
my $log = substr(slurp_file($node->logfile), $from);
unlike($log, qr/terminating background worker "cnpg_bootstrap worker" due to administrator command/,
	'the rolled-back delete did not stop the worker of keep');
unlike($log, qr/"post-init" of cluster "keep" was interrupted/, 'post-init of keep ran once');
is(q1("SELECT count(*) FROM cnpg_bootstrap.teardown"), '0', 'no teardown recorded');
ok(-f "$root/keep/keep-1/pgdata/postmaster.pid", 'keep still runs');

# a delete in savepoints released, then committed, still stops the worker
# at once (t/001 covers the plain committed delete)
$node->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM cnpg_bootstrap.steps WHERE cluster = 'relsp' AND step = 'post-init' AND outcome = 'running')"
) or die 'relsp never reached post-init';
$from = log_size();
q1(q{BEGIN;
SAVEPOINT a;
SAVEPOINT b;
SELECT cnpg_bootstrap_delete('Cluster', 'relsp');
RELEASE SAVEPOINT b;
RELEASE SAVEPOINT a;
COMMIT;});
is(wait_teardown('relsp', $from), 'done', 'relsp deleted');
like(substr(slurp_file($node->logfile), $from),
	qr/terminating background worker "cnpg_bootstrap worker" due to administrator command/,
	'the released delete stopped the worker of relsp');
ok(!-d "$root/relsp", 'relsp removed while its post-init still slept');

# ---------- 2. a postmaster.pid naming an unrelated live process ----------
is(wait_cluster('fakepid'), 'Cluster in healthy state', 'fakepid healthy');
my $fp_pgdata = "$root/fakepid/fakepid-1/pgdata";
my $real_pid = (split /\n/, slurp_file("$fp_pgdata/postmaster.pid"))[0];
stop_target($fp_pgdata);
# a sleep started in the data directory (so its cwd matches) by our own user
my $sleep = fork();
die "fork: $!" unless defined $sleep;
if ($sleep == 0)
{
	# a background shell ignores SIGINT, and exec keeps that: undo it
	$SIG{INT} = 'DEFAULT';
	$SIG{QUIT} = 'DEFAULT';
	chdir $fp_pgdata or POSIX::_exit(1);
	exec('sleep', '600') or POSIX::_exit(1);
}
usleep(200_000);
ok(alive($sleep), 'the sleep runs');
{
	open(my $fh, '>', "$fp_pgdata/postmaster.pid") or die;
	print $fh "$sleep\n$fp_pgdata\n";
	close($fh);
}
$from = log_size();
q1("SELECT cnpg_bootstrap_delete('Cluster', 'fakepid')");
is(wait_teardown('fakepid', $from), 'done', 'teardown of fakepid done');
ok(alive($sleep), 'the unrelated process named by postmaster.pid was not signalled');
ok(!-d "$root/fakepid", 'the directory of fakepid (ours, not running) was removed');
kill 'KILL', $sleep;
waitpid($sleep, 0);

# ---------- 3. a cluster directory without our marker is never removed ----------
is(wait_cluster('nomark'), 'Cluster in healthy state', 'nomark healthy');
my $nm_pgdata = "$root/nomark/nomark-1/pgdata";
my $nm_pid = (split /\n/, slurp_file("$nm_pgdata/postmaster.pid"))[0];
unlink("$root/nomark/.cnpg_bootstrap");
$from = log_size();
q1("SELECT cnpg_bootstrap_delete('Cluster', 'nomark')");
is(wait_teardown('nomark', $from), 'refused', 'teardown of nomark refused');
ok(-f "$nm_pgdata/PG_VERSION", 'its data directory is still there');
ok(alive($nm_pid), 'its server was not stopped');
$node->psql('postgres', "SELECT refused FROM cnpg_bootstrap.teardown WHERE cluster = 'nomark'",
	stdout => \my $why);
like($why // '',
	qr/ownership marker/, 'the teardown row says why');
# a Cluster applied again under that name does not move in there
apply(cluster_yaml('nomark'));
is(wait_cluster('nomark'), 'Bootstrap failed', 'nomark again: refused');
like(status('nomark', 'phase_reason'), qr/is not torn down yet/, 'with the reason');
ok(alive($nm_pid) && -f "$nm_pgdata/PG_VERSION", 'the old server and its data are untouched');
stop_target($nm_pgdata);

# a directory we did not create is never adopted, filled or removed
make_path("$root/squat/sub");
{
	open(my $fh, '>', "$root/squat/sub/canary") or die;
	print $fh "canary\n";
	close($fh);
}
apply(cluster_yaml('squat'));
is(wait_cluster('squat'), 'Bootstrap failed', 'squat refused');
like(status('squat', 'phase_reason'), qr/was not created by cnpg_bootstrap/, 'with the reason');
ok(!-e "$root/squat/squat-1", 'nothing made inside it');
$from = log_size();
q1("SELECT cnpg_bootstrap_delete('Cluster', 'squat')");
wait_teardown('squat', $from);
ok(-f "$root/squat/sub/canary", 'the canary survived the delete');

# ---------- 4. a delete while data_root is empty, then a data_root is set ----------
set_data_root('');
apply(cluster_yaml('decoy'));
q1("SELECT cnpg_bootstrap_delete('Cluster', 'decoy')");
is(q1("SELECT coalesce(directory, '<none>') FROM cnpg_bootstrap.teardown WHERE cluster = 'decoy'"),
	'<none>', 'no directory recorded against an empty data_root');
my $alt = tempdir('/tmp/cbo.XXXXXX', CLEANUP => 1);
chmod 0700, $alt;
make_path("$alt/decoy");
{
	open(my $fh, '>', "$alt/decoy/canary") or die;
	print $fh "canary\n";
	close($fh);
}
$from = log_size();
set_data_root($alt);
is(wait_teardown('decoy', $from), 'done', 'teardown of decoy done');
ok(-f "$alt/decoy/canary", 'a directory named like the cluster in the new data_root is untouched');

# ---------- 5. data_root holding the control's data directory ----------
my $control = $node->data_dir;
my $cname = basename($control);    # "pgdata": a valid cluster name
set_data_root(dirname($control));
$from = log_size();
apply(cluster_yaml($cname));
is(wait_cluster($cname, '2 minutes'), 'Bootstrap failed', 'a cluster over the control refused');
like(status($cname, 'phase_reason'), qr/contains the control instance's data directory/,
	'with the reason');
ok(!-e "$control/$cname-1", 'nothing made inside the control data directory');
q1("SELECT cnpg_bootstrap_delete('Cluster', '$cname')");
# no directory is recorded against an unusable data_root: nothing to remove
is(wait_teardown($cname, $from), 'done', 'its teardown ends without removing anything');
ok(-f "$control/PG_VERSION" && -f "$control/global/pg_control", 'the control data directory is intact');
is(q1('SELECT 1'), '1', 'the control instance still answers');

# a data_root to be made inside the control's data directory is not made
set_data_root("$control/sub");
apply(cluster_yaml('inside'));
is(wait_cluster('inside', '2 minutes'), 'Bootstrap failed', 'a data_root inside the control refused');
like(status('inside', 'phase_reason'), qr/would be inside .*a PostgreSQL data directory/, 'with the reason');
ok(!-e "$control/sub", 'nothing made inside the control data directory');
q1("SELECT cnpg_bootstrap_delete('Cluster', 'inside')");

# ---------- clean up ----------
set_data_root(undef);
q1("SELECT cnpg_bootstrap_delete('Cluster', 'keep')");
$node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown WHERE cluster = 'keep')")
  or die 'teardown of keep never finished';
ok(!-d "$root/keep", 'keep removed');
$node->stop;
done_testing();
