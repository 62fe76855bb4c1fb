# Helpers shared by the TAP tests: a control instance with cnpg_bootstrap
# preloaded, queries against it and against the target clusters it makes.
package CbTest;

use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

our @EXPORT = qw(start_control q1 apply wait_cluster status port_of tq secret alive crash_control);

our $node;
our $root;

# a control instance; data_root is short: unix socket paths of the targets
# must fit in 107 bytes
sub start_control
{
	my ($port_range, $extra) = @_;
	$root = tempdir('/tmp/cbt.XXXXXX', CLEANUP => 1);
	$node = PostgreSQL::Test::Cluster->new('control');
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'cnpg_bootstrap'
cnpg_bootstrap.data_root = '$root'
cnpg_bootstrap.port_range = '$port_range'
# apply() calls carry Secrets: statement logging would write them (README)
log_statement = 'none'
} . ($extra // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION cnpg_bootstrap');
	return ($node, $root);
}

sub q1 { return $node->safe_psql('postgres', shift); }

sub apply
{
	my ($yaml) = @_;
	return q1("SELECT string_agg(kind || '/' || name || ' ' || action, ', ')"
		  . " FROM cnpg_bootstrap_apply(\$yaml\$$yaml\$yaml\$)");
}

# an optional timeout (an interval, e.g. '6 minutes'); default 4 minutes
sub wait_cluster
{
	my ($name, $timeout) = @_;
	$timeout //= '4 minutes';
	return q1("SELECT cnpg_bootstrap_wait('$name', '$timeout')");
}

sub status { my ($name, $col) = @_; return q1("SELECT $col FROM cnpg_bootstrap_status('$name')"); }

sub port_of { my ($inst) = @_; return q1("SELECT port FROM cnpg_bootstrap.instances WHERE instance = '$inst'"); }

# psql to an instance (default <cluster>-1) as postgres over its unix socket
sub tq
{
	my ($cluster, $db, $sql, $inst) = @_;
	my $port = port_of($inst // "$cluster-1");
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-At', '-h', "$root/$cluster/run", '-p', $port,
		'-U', 'postgres', '-d', $db, '-c', $sql ], '>', \$out, '2>', \$err);
	chomp $out if defined $out;
	return $out;
}

sub secret { my ($s, $k) = @_; return q1("SELECT cnpg_bootstrap_secret('$s', '$k')"); }

# a stopped process may stay a zombie until PID 1 reaps it
sub alive
{
	my ($pid) = @_;
	return 0 unless -e "/proc/$pid/stat";
	return (split / /, slurp_file("/proc/$pid/stat"))[2] ne 'Z';
}

# kill -9 of the control postmaster, then start it again.  PostgreSQL takes
# a zombie's pid for a live one: wait until the postmaster is dead or a
# zombie, then drop its stale pid and socket lock files.
sub crash_control
{
	my $pid = $node->{_pid};
	$node->kill9;
	for (1 .. 100)
	{
		last unless alive($pid);
		usleep(50_000);
	}
	sleep(1);    # let the old children notice the postmaster's death
	unlink($node->data_dir . '/postmaster.pid');
	unlink($node->host . '/.s.PGSQL.' . $node->port . '.lock');
	$node->start;
}

1;
