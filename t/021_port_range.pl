# Ports of the target instances (src/ports.c, its statements in status.c),
# on a range of two ports with one of them taken by a listener of this test:
# - cnpg_bootstrap.port_range is checked when set: a reversed range, ports
#   below 1024 and trailing text are refused with the setting's DETAIL;
# - a port something on the host listens on is skipped, the next one is
#   recorded for the instance;
# - a range with no port left makes the bootstrap wait (the host's fault,
#   t/024), the reason naming the
#   range and the instance (the instance gets no row);
# - a deleted Cluster's port is free again once its teardown is done, and
#   the next cluster takes it and runs on it.
use strict;
use warnings;
use IO::Socket::INET;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use lib 't';
use CbTest;

my ($node, $root) = start_control('58400-58401');

# ---------- the setting's parser ----------
for my $bad ('58401-58400', '80-90', '58400-58401x', '58400')
{
	my ($ret, $out, $err) = $node->psql('postgres',
		"ALTER SYSTEM SET cnpg_bootstrap.port_range = '$bad'");
	like($err, qr/invalid value for parameter "cnpg_bootstrap.port_range".*must look like "55432-55999"/s,
		"port_range '$bad' refused");
}
$node->safe_psql('postgres', "ALTER SYSTEM SET cnpg_bootstrap.port_range = '58400-58401'");
$node->safe_psql('postgres', 'ALTER SYSTEM RESET cnpg_bootstrap.port_range');

# ---------- a busy port is skipped; no port left fails the bootstrap ----------
my $busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 58400,
	Proto => 'tcp', Listen => 1, ReuseAddr => 1)
  or die "cannot listen on 58400: $!";

apply(<<'YAML');
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: two
spec:
  instances: 2
  storage:
    size: 1Gi
YAML
# the host's fault (t/024): the cluster waits, never fails, and says why
my $reason = '';
for (1 .. 600)
{
	$reason = status('two', 'phase_reason') // '';
	last if $reason =~ /no free port/;
	usleep(100_000);
}
is(status('two', 'phase'), 'Setting up primary', 'two instances, one free port: waiting, not failed');
like($reason,
	qr/no free port left in cnpg_bootstrap\.port_range 58400-58401 for instance two-2/,
	'the reason names the range and the instance');
is(port_of('two-1'), '58401', 'the port a listener holds was skipped');
is(q1("SELECT count(*) FROM cnpg_bootstrap.instances WHERE instance = 'two-2'"), '0',
	'the instance without a port has no row');

# ---------- a deleted cluster's port is taken again ----------
is(q1("SELECT cnpg_bootstrap_delete('Cluster', 'two')"), 't', 'delete two');
$node->poll_query_until('postgres', 'SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)')
  or die 'teardown never finished';
is(q1('SELECT count(*) FROM cnpg_bootstrap.instances'), '0', 'no instance holds a port');

apply(cluster_yaml('one'));
is(wait_cluster('one'), 'Cluster in healthy state', 'one instance: healthy');
is(port_of('one-1'), '58401', 'it took the port the teardown gave back');
is(tq('one', 'postgres', 'SHOW port'), '58401', 'and runs on it');
close($busy);

q1("SELECT cnpg_bootstrap_delete('Cluster', 'one')");
$node->poll_query_until('postgres', 'SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)')
  or die 'teardown never finished';
done_testing();
