# The fault matrix's harness (t/022_faults.pl, t/023_faults_recovery.pl):
# one case arms cnpg_bootstrap.fault_injection ('<step>:<when>:<kind>:<n>',
# src/faultinject.c), applies a Cluster, waits for the fault to fire, brings
# the control instance back when the fault took it down, and checks the end
# state: healthy, the case's own checks, no child tool left running under
# the cluster's directory, no temporary file or directory left.  Each case
# prints a "MATRIX <fault> survived|LOST <seconds>" line for bench/faults.sh.
#
#   fault_case(N, FAULT, NAME, YAML, CHECK)   CHECK->(FAULT) returns ok
#   drop(NAME)            delete the Cluster and wait for its directory to go
#   fault_summary()       the injected / survived test and line
#   CB_FAULTS_ONLY=<regex> runs only the matching cases
package FaultCase;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use CbTest;

our @EXPORT = qw(fault_case drop fault_summary procs_with);

our %stats = (injected => 0, survived => 0);

sub log_since
{
	my ($offset) = @_;
	my $log = slurp_file($CbTest::node->logfile);
	return substr($log, $offset);
}

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
		$cmd =~ s/\0/ /g;
		next unless index($cmd, $needle) >= 0;
		push @found, "$pid $cmd" if alive($pid);
	}
	return @found;
}

# the control postmaster died (kill -9 or SIGQUIT): start it again
sub restart_control
{
	my $pid = $CbTest::node->{_pid};
	for (1 .. 200)
	{
		last unless alive($pid);
		usleep(50_000);
	}
	wait_datadir_released($CbTest::node->data_dir);
	unlink($CbTest::node->data_dir . '/postmaster.pid');
	unlink($CbTest::node->host . '/.s.PGSQL.' . $CbTest::node->port . '.lock');
	$CbTest::node->{_pid} = undef;
	$CbTest::node->start;
}

# a case: fault $fault in cluster $name made by $yaml; $check runs after
sub fault_case
{
	my ($n, $fault, $name, $yaml, $check) = @_;
	my ($step, $when, $kind) = split /:/, $fault;
	# CB_FAULTS_ONLY=<regex>: only the matching cases (while debugging one)
	return if $ENV{CB_FAULTS_ONLY} && $fault !~ /$ENV{CB_FAULTS_ONLY}/;
	my $offset = -s $CbTest::node->logfile;
	my $t0 = time;

	q1("ALTER SYSTEM SET cnpg_bootstrap.fault_injection = '$fault:$n'");
	q1('SELECT pg_reload_conf()');
	apply($yaml);
	$stats{injected}++;

	# the fault fires (once), then the control instance comes back
	my $fired = 0;
	for (1 .. 1200)
	{
		my $l = log_since($offset);
		if ($l =~ /fault injection: \Q$kind\E at the \Q$when\E of step "\Q$step\E"/) { $fired = 1; last; }
		usleep(100_000);
	}
	ok($fired, "$fault: fired") or diag(log_since($offset));
	if ($kind eq 'kill-control' || $kind eq 'stop-immediate')
	{
		restart_control();
	}
	else
	{
		# kill-worker: the control instance reinitialises by itself
		for (1 .. 300)
		{
			last if eval { $CbTest::node->safe_psql('postgres', 'SELECT 1'); 1 };
			usleep(100_000);
		}
	}
	q1("ALTER SYSTEM RESET cnpg_bootstrap.fault_injection");
	q1('SELECT pg_reload_conf()');

	my $phase = wait_cluster($name, '5 minutes');
	my $ok = is($phase, 'Cluster in healthy state', "$fault: healthy after the fault");
	if (!$ok)
	{
		diag(status($name, 'phase_reason'));
		for my $f (glob("$CbTest::root/$name/*/log/pg_ctl.log"))
		{
			my @l = split /\n/, slurp_file($f);
			diag("$f:\n" . join("\n", @l[ ($#l > 15 ? $#l - 15 : 0) .. $#l ]));
		}
	}
	$ok &&= $check->($fault) if $check;

	# nothing of the interrupted attempt is left
	my @kids = grep { !m{/postgres -D } } procs_with("$CbTest::root/$name/");
	$ok &= is(scalar(@kids), 0, "$fault: no child tool left running")
	  or diag(join("\n", @kids));
	my @tmp = grep { m{\.tmp|tmp\.} } (glob("$CbTest::root/$name/*"), glob("$CbTest::root/$name/*/*"), glob("$CbTest::root/.*$name*"));
	$ok &= is(scalar(@tmp), 0, "$fault: no temporary file or directory left")
	  or diag(join("\n", @tmp));
	$stats{survived}++ if $ok;
	diag(sprintf("MATRIX %s %s %.1f", $fault, $ok ? 'survived' : 'LOST', time - $t0));
}

sub drop
{
	my ($name) = @_;
	return unless q1("SELECT count(*) FROM cnpg_bootstrap.objects WHERE kind = 'Cluster' AND name = '$name'");
	q1("SELECT cnpg_bootstrap_delete('Cluster', '$name')");
	for (1 .. 600)
	{
		last unless -e "$CbTest::root/$name";
		usleep(100_000);
	}
}

sub fault_summary
{
	is($stats{survived}, $stats{injected}, "faults injected / survived: $stats{injected} / $stats{survived}");
	diag("faults injected / survived: $stats{injected} / $stats{survived}");
}

1;
