# Helpers shared by the TAP tests: a control instance with cnpg_bootstrap
# preloaded, queries against it and against the target clusters it makes.
package CbTest;

use strict;
use warnings;
use Exporter 'import';
use Cwd ();
use File::Temp qw(tempdir);
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

our @EXPORT = qw(start_control q1 apply wait_cluster status port_of tq secret alive crash_control
  ps_sampler_start ps_sampler_stop ps_sampled pw_secret ext_cluster cluster_yaml wait_datadir_released);

our $node;
our $root;
my $owner_pid;

# a control instance; data_root is short: unix socket paths of the targets
# must fit in 107 bytes
sub start_control
{
	my ($port_range, $extra) = @_;
	$root = tempdir('/tmp/cbt.XXXXXX', CLEANUP => 1);
	$owner_pid = $$;
	$node = PostgreSQL::Test::Cluster->new('control');
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'cnpg_bootstrap'
cnpg_bootstrap.data_root = '$root'
cnpg_bootstrap.port_range = '$port_range'
# apply() calls carry Secrets: statement logging would write them (README)
log_statement = 'none'
# no background initdb of the spare pool unless a test turns it on in
# \$extra (later lines win): it adds CPU load to a 2-core CI run
cnpg_bootstrap.spare_pool_size = 0
} . ($extra // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION cnpg_bootstrap');
	return ($node, $root);
}

# a one-instance Cluster, with optional lines appended (under spec)
sub cluster_yaml
{
	my ($name, $extra) = @_;
	return <<"YAML" . ($extra // '');
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: 1
  storage:
    size: 1Gi
YAML
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
	# the process may end between a check and the read: read once, never die
	open(my $fh, '<', "/proc/$pid/stat") or return 0;
	my $stat = <$fh>;
	close $fh;
	return defined $stat && (split / /, $stat)[2] ne 'Z';
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
	# the old children hold its shared memory until they notice its death
	# (a worker busy in a long step may take seconds on a loaded machine)
	wait_datadir_released($node->data_dir);
	unlink($node->data_dir . '/postmaster.pid');
	unlink($node->host . '/.s.PGSQL.' . $node->port . '.lock');
	$node->start;
}

# wait (up to 60 s) until no process works in $dir any more: every
# PostgreSQL process chdirs to its data directory
sub wait_datadir_released
{
	my ($dir) = @_;
	my $real = Cwd::realpath($dir) // $dir;
	for (1 .. 600)
	{
		my $busy = 0;
		for my $p (glob('/proc/[0-9]*'))
		{
			my $cwd = readlink("$p/cwd");
			if (defined $cwd && $cwd eq $real) { $busy = 1; last; }
		}
		return 1 unless $busy;
		usleep(100_000);
	}
	return 0;
}

# ps sampler: a child appends every command line of the machine (ps -eo args)
# to $file every $interval_ms until stopped; for the checks that no secret
# ever shows on a command line.  Returns the handle for the two below.
my @samplers;

sub ps_sampler_start
{
	my ($file, $interval_ms) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		# killed by SIGTERM: never runs the END blocks of the test
		open(my $fh, '>>', $file) or POSIX::_exit(1);
		while (1) { print $fh `ps -eo args 2>/dev/null`; usleep($interval_ms * 1000); }
	}
	my $s = { pid => $pid, file => $file, owner => $$ };
	push @samplers, $s;
	return $s;
}

sub ps_sampler_stop
{
	my ($s) = @_;
	return unless $s && $s->{pid};
	kill 'TERM', $s->{pid};
	waitpid($s->{pid}, 0);
	$s->{pid} = undef;
}

# all the sampler saw, once stopped; the test's own psql calls carry uris
# and passwords: their lines are left out
sub ps_sampled
{
	my ($s) = @_;
	ps_sampler_stop($s);
	return join("\n", grep { !/\bpsql\b/ } split(/\n/, slurp_file($s->{file})));
}

# a test that dies stops its samplers too (not in a forked child)
END
{
	local $?;
	$_->{owner} == $$ && ps_sampler_stop($_) for @samplers;
	# the targets outlive the control instance by design: a test's own go
	# with it, so that no server of a finished test holds a port or memory
	if ($root && $owner_pid && $$ == $owner_pid)
	{
		for my $pidfile (split /\n/, `find '$root' -name postmaster.pid 2>/dev/null`)
		{
			(my $pgdata = $pidfile) =~ s{/postmaster\.pid$}{};
			system('pg_ctl', '-D', $pgdata, '-m', 'immediate', 'stop', '-s');
		}
	}
}

# a Secret $name with one key, password (a double-quoted YAML string), and
# the document separator after it
sub pw_secret
{
	my ($name, $value) = @_;
	(my $v = $value) =~ s/\\/\\\\/g;
	$v =~ s/"/\\"/g;
	return <<"YAML";
apiVersion: v1
kind: Secret
metadata:
  name: $name
stringData:
  password: "$v"
---
YAML
}

# the externalClusters list of a Cluster with one server on localhost;
# password => the Secret with its password (key password), or extra => YAML
# lines of their own (TLS)
sub ext_cluster
{
	my ($name, $port, $user, %o) = @_;
	my $auth = defined $o{password} ? "    password:\n      name: $o{password}\n      key: password\n" : $o{extra} // '';
	return <<"YAML" . $auth;
  externalClusters:
  - name: $name
    connectionParameters:
      host: localhost
      port: "$port"
      user: $user
      dbname: postgres
YAML
}

1;
