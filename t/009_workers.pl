# The workers themselves (issue 11, items 4, 5 and 12): children of a worker
# killed with SIGKILL do not survive into the redo, one cluster never has two
# workers (not even after the launcher restarts), and a worker that keeps
# failing is relaunched with a growing delay, never in a tight loop.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use lib 't';
use CbTest;

# restart_after_crash: PostgreSQL::Test::Cluster turns it off; a SIGKILLed
# worker must make the control instance reinitialise, as in production
my ($node, $root) = start_control('57100-57199', "cnpg_bootstrap.max_workers = 4\nrestart_after_crash = on\n");

# A bindir whose initdb is slow once: the first initdb (after the marker
# directory is removed) sleeps as long as $root/slow.secs says, later ones
# run at once.  Every other tool is the real one.
my $real = $node->config_data('--bindir');
my $slow = "$root/slowbin";
mkdir $slow or die;
opendir(my $dh, $real) or die;
for my $tool (grep { !/^\./ && $_ ne 'initdb' } readdir($dh))
{
	symlink("$real/$tool", "$slow/$tool") or die;
}
closedir($dh);
open(my $fh, '>', "$slow/initdb") or die;
print $fh <<"SH";
#!/bin/sh
case "\$1" in --version|-V) exec $real/initdb "\$@";; esac
if mkdir $root/slow.once 2>/dev/null; then sleep "\$(cat $root/slow.secs)"; fi
exec $real/initdb "\$@"
SH
close $fh;
chmod 0755, "$slow/initdb";
q1("ALTER SYSTEM SET cnpg_bootstrap.bindir = '$slow'");
q1('SELECT pg_reload_conf()');

# live processes (not zombies) whose command line contains $needle
sub procs_with
{
	my ($needle) = @_;
	my @found;
	for my $d (glob('/proc/[0-9]*'))
	{
		my ($pid) = $d =~ m{(\d+)$};
		open(my $c, '<', "$d/cmdline") or next;
		local $/;
		my $cmd = <$c> // '';
		close $c;
		next unless index($cmd, $needle) >= 0;
		push @found, $pid if alive($pid);
	}
	return @found;
}

sub slow_initdb_running
{
	for (1 .. 600)
	{
		return 1 if -d "$root/slow.once" && procs_with("$slow/initdb");
		usleep(100_000);
	}
	return 0;
}

sub worker_pids
{
	return split /\n/, q1("SELECT pid FROM pg_stat_activity WHERE backend_type = 'cnpg_bootstrap worker' ORDER BY pid");
}

# ---------- 1. SIGKILL of a worker while its initdb runs ----------
# The kill makes the postmaster reinitialise (a crash of a server process);
# initdb runs in its own session and is not signalled by that.
{
	open(my $s, '>', "$root/slow.secs") or die;
	print $s "600\n";
	close $s;
}
apply(cluster_yaml('orph'));
ok(slow_initdb_running(), 'the slow initdb of orph runs');
{
	# recorded before it ran: pid, start time, own session; 0600 in a 0700 directory
	my $rec = $node->data_dir . '/cnpg_bootstrap_children/orph';
	my ($ipid) = procs_with("$slow/initdb");
	my $start = (split / /, (split /\) /, slurp_file("/proc/$ipid/stat"), 2)[1])[19];
	like(slurp_file($rec), qr/^child $ipid $start 1$/m, 'the running initdb is recorded with its start time');
	is(sprintf('%o', (stat $rec)[2] & 07777), '600', 'the record is 0600');
	is(sprintf('%o', (stat $node->data_dir . '/cnpg_bootstrap_children')[2] & 07777), '700', 'its directory is 0700');
}
my ($w1) = worker_pids();
ok($w1, 'the worker of orph runs');
kill 'KILL', $w1;
$node->poll_query_until('postgres', 'SELECT true') or die 'control instance did not come back';
is(wait_cluster('orph'), 'Cluster in healthy state', 'orph becomes healthy after its worker was killed');
my @left = procs_with("$slow/initdb");
is(scalar(@left), 0, 'no initdb of the killed worker is left running')
  or kill 'KILL', map { -$_ } @left;    # do not leave it behind
{
	my $clog = slurp_file($node->logfile);
	my $stop = $clog =~ /stopped leftover process \d+ of an earlier worker of cluster "orph"/ ? $-[0] : -1;
	my $redo = rindex($clog, 'initdb orph-1: running');
	ok($stop >= 0 && $stop < $redo, 'the restarted worker stopped the leftover before redoing initdb');
}
ok(!-e $node->data_dir . '/cnpg_bootstrap_children/orph', 'no child record left once the worker is done');

# ---------- 2. a restart of the launcher never gives a cluster two workers ----------
{
	open(my $s, '>', "$root/slow.secs") or die;
	print $s "20\n";
	close $s;
	rmdir "$root/slow.once";
}
apply(cluster_yaml('dup'));
ok(slow_initdb_running(), 'the slow initdb of dup runs');
my $launcher = q1("SELECT pid FROM pg_stat_activity WHERE backend_type = 'cnpg_bootstrap launcher'");
q1("SELECT pg_terminate_backend($launcher)");
my $max = 0;
my $relaunched = 0;
my $t0 = time();
while (time() - $t0 < 25)
{
	my @w = worker_pids();
	$max = @w if @w > $max;
	my $l = q1("SELECT pid FROM pg_stat_activity WHERE backend_type = 'cnpg_bootstrap launcher'");
	$relaunched = time() if !$relaunched && $l && $l ne $launcher;
	last if $relaunched && time() - $relaunched > 8;
	usleep(100_000);
}
ok($relaunched, 'the launcher was restarted');
is($max, 1, 'never more than one worker for dup, before or after the launcher restarted');
is(wait_cluster('dup'), 'Cluster in healthy state', 'dup healthy');

# ---------- 3. a worker that keeps failing is relaunched with backoff ----------
# the stored Cluster no longer parses: every worker for it exits with an ERROR
my $log_from = -s $node->logfile;
q1("BEGIN; SELECT count(*) FROM cnpg_bootstrap_apply(\$y\$" . cluster_yaml('bad') . "\$y\$);"
	  . " UPDATE cnpg_bootstrap.objects SET doc = '{\"kind\": 3}' WHERE kind = 'Cluster' AND name = 'bad'; COMMIT;");
sleep(12);
my $log = substr(slurp_file($node->logfile), $log_from);
my $runs = () = $log =~ /stored Cluster "bad" no longer parses/g;
cmp_ok($runs, '>=', 2, "the failing worker was retried ($runs runs in 12 s)");
cmp_ok($runs, '<=', 6, "but not in a tight loop ($runs runs in 12 s)");
my @delays = $log =~ /worker for cluster "bad" did not finish; next attempt in (\d+) s/g;
ok(@delays >= 2 && !grep({ $delays[$_] <= $delays[$_ - 1] } 1 .. $#delays),
	'the delay grows: ' . join(', ', @delays));
q1("SELECT cnpg_bootstrap_delete('Cluster', 'bad')");
$node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown WHERE cluster = 'bad')")
  or die 'bad was never torn down';
pass('a deleted failing cluster is torn down');

kill 'KILL', map { -$_ } procs_with("$slow/initdb");
# the targets outlive the control instance: stop them
for my $c (qw(orph dup))
{
	system("$real/pg_ctl", '-D', "$root/$c/$c-1/pgdata", '-m', 'immediate', 'stop')
	  if -f "$root/$c/$c-1/pgdata/postmaster.pid";
}
done_testing();
