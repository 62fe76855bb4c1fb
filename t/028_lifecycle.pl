# After bootstrap (issue 15): supervision restarts instances killed with
# SIGKILL, a reboot (control and targets stopped, only the control started)
# brings every cluster back without a re-apply, instances scale 3 -> 4 -> 2
# by re-apply, postgresql.parameters re-applied reach every instance (by
# reload or by a rolling restart), hibernation stops a cluster and keeps it
# stopped across a control restart, and an instance that keeps dying backs
# off and says why.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

use lib 't';
use CbTest;

my ($node, $root) = start_control('59100-59149', "cnpg_bootstrap.supervise_interval = 1\n");

sub pgdata { my ($inst) = @_; (my $c = $inst) =~ s/-\d+$//; return "$root/$c/$inst/pgdata"; }

sub postmaster_pid
{
	my ($inst) = @_;
	open(my $fh, '<', pgdata($inst) . '/postmaster.pid') or return 0;
	my $pid = <$fh>;
	close $fh;
	chomp $pid;
	return $pid;
}

# poll a query on the control until it returns $want (up to $secs)
sub poll_until
{
	my ($sql, $want, $secs) = @_;
	my $got;
	for (1 .. ($secs // 120) * 10)
	{
		$got = q1($sql);
		return $got if $got eq $want;
		usleep(100_000);
	}
	diag("last: $got; phase: " . q1("SELECT phase || ' / ' || coalesce(phase_reason, '') FROM cnpg_bootstrap.clusters"));
	return $got;
}

sub wait_healthy
{
	my ($name, $secs) = @_;
	return poll_until("SELECT phase FROM cnpg_bootstrap.clusters WHERE name = '$name'",
		'Cluster in healthy state', $secs // 240);
}

sub manifest
{
	my ($instances, $params, $annotations, $hba) = @_;
	$params //= "      work_mem: '4MB'\n";
	$annotations = $annotations ? "  annotations:\n$annotations" : '';
	$params .= "    pg_hba:\n$hba" if $hba;
	return <<"YAML";
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: life
$annotations
spec:
  instances: $instances
  postgresql:
    parameters:
$params  storage:
    size: 1Gi
YAML
}

sub streaming_count
{
	return tq('life', 'postgres',
		"SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'");
}

apply(manifest(3));
is(wait_cluster('life'), 'Cluster in healthy state', '3 instances healthy');
tq('life', 'postgres', 'CREATE TABLE kept (i int); INSERT INTO kept SELECT generate_series(1, 500)');

# ---- 1. supervision: kill -9 of the primary's postmaster ----
my $pid = postmaster_pid('life-1');
ok($pid > 0, 'primary postmaster pid');
my $t0 = time;
kill 'KILL', $pid;
is(poll_until("SELECT restarts FROM cnpg_bootstrap_instances('life') WHERE instance = 'life-1'", '1', 60),
	'1', 'the killed primary was restarted (restarts = 1)');
is(wait_healthy('life'), 'Cluster in healthy state', 'healthy again after the primary was killed');
diag(sprintf('figure: kill -9 of the primary -> healthy again in %.1f s (supervise_interval = 1 s)', time - $t0));
like(q1("SELECT last_exit_reason FROM cnpg_bootstrap_instances('life') WHERE instance = 'life-1'"),
	qr/without a word in its log/, 'last exit reason: killed without a word');
ok(q1("SELECT last_restart IS NOT NULL FROM cnpg_bootstrap_instances('life') WHERE instance = 'life-1'") eq 't',
	'last_restart recorded');
isnt(postmaster_pid('life-1'), $pid, 'a new postmaster');
is(tq('life', 'postgres', 'SELECT count(*) FROM kept'), '500', 'data intact on the primary');
is(poll_until("SELECT 1", '1') && do {
		my $n;
		for (1 .. 300) { $n = streaming_count(); last if defined $n && $n eq '2'; usleep(100_000); }
		$n;
	}, '2', 'both standbys stream again');
like(slurp_file($node->logfile), qr/instance "life-1" of cluster "life" is not running/, 'the log says so');

# ---- kill -9 of a standby's postmaster ----
$pid = postmaster_pid('life-2');
kill 'KILL', $pid;
is(poll_until("SELECT restarts FROM cnpg_bootstrap_instances('life') WHERE instance = 'life-2'", '1', 60),
	'1', 'the killed standby was restarted');
is(wait_healthy('life'), 'Cluster in healthy state', 'healthy again after a standby was killed');
is(tq('life', 'postgres', "SELECT status FROM pg_stat_wal_receiver", 'life-2'), 'streaming',
	'the standby streams again');
is(tq('life', 'postgres', 'SELECT count(*) FROM kept', 'life-2'), '500', 'data on the standby');

# ---- 3. scaling by re-apply: 3 -> 4 -> 2 ----
like(apply(manifest(4)), qr/Cluster\/life configured/, 're-applied with instances: 4');
is(poll_until("SELECT instances || '/' || ready_instances || ' ' || phase FROM cnpg_bootstrap.clusters WHERE name = 'life'",
	'4/4 Cluster in healthy state', 240), '4/4 Cluster in healthy state', 'scaled up to 4');
is(tq('life', 'postgres', 'SELECT count(*) FROM kept', 'life-4'), '500', 'the new standby has the data');
is(tq('life', 'postgres', "SELECT status FROM pg_stat_wal_receiver", 'life-4'), 'streaming', 'life-4 streams');
is(tq('life', 'postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '_cnpg_life_4'"), '1',
	'its slot exists');
my $port3 = port_of('life-3');
my $port4 = port_of('life-4');
like(apply(manifest(2)), qr/Cluster\/life configured/, 're-applied with instances: 2');
is(poll_until("SELECT instances || '/' || ready_instances || ' ' || phase FROM cnpg_bootstrap.clusters WHERE name = 'life'",
	'2/2 Cluster in healthy state', 240), '2/2 Cluster in healthy state', 'scaled down to 2');
is(q1("SELECT string_agg(instance, ' ' ORDER BY instance) FROM cnpg_bootstrap_instances('life')"),
	'life-1 life-2', 'the highest-numbered instances went');
ok(!-d "$root/life/life-3" && !-d "$root/life/life-4", 'their directories are removed');
is(tq('life', 'postgres', "SELECT string_agg(slot_name, ' ' ORDER BY slot_name) FROM pg_replication_slots"),
	'_cnpg_life_2', 'their slots are dropped');
is(q1("SELECT count(*) FROM cnpg_bootstrap.instances WHERE port IN ($port3, $port4)"), '0', 'their ports are free');
ok(!grep({ -e "/proc/$_" && readlink("/proc/$_/cwd") =~ m{/life-[34]/} } map { m{/proc/(\d+)$} ? $1 : () } glob('/proc/[0-9]*')),
	'no process left in their directories');

# ---- 4. configuration by re-apply: work_mem (reload), shared_buffers (restart) ----
my $pid1 = postmaster_pid('life-1');
apply(manifest(2, "      work_mem: '8MB'\n", undef, "    - host all all 192.0.2.7/32 reject\n"));
is(wait_healthy('life'), 'Cluster in healthy state', 'healthy after work_mem changed');
is(poll_until("SELECT observed_generation = generation FROM cnpg_bootstrap.clusters WHERE name = 'life'", 't'),
	't', 'the generation is observed');
for my $i ('life-1', 'life-2')
{
	is(tq('life', 'postgres', 'SHOW work_mem', $i), '8MB', "work_mem reached $i");
}
is(postmaster_pid('life-1'), $pid1, 'work_mem: reloaded, not restarted');
for my $i ('life-1', 'life-2')
{
	is(tq('life', 'postgres', "SELECT count(*) FROM pg_hba_file_rules WHERE address = '192.0.2.7'", $i), '1',
		"the new pg_hba line reached $i");
}
apply(manifest(2, "      work_mem: '8MB'\n      shared_buffers: '48MB'\n"));
is(wait_healthy('life'), 'Cluster in healthy state', 'healthy after shared_buffers changed');
for my $i ('life-1', 'life-2')
{
	is(tq('life', 'postgres', 'SHOW shared_buffers', $i), '48MB', "shared_buffers reached $i");
	is(tq('life', 'postgres', 'SELECT count(*) FROM pg_settings WHERE pending_restart', $i), '0',
		"nothing pending a restart on $i");
}
isnt(postmaster_pid('life-1'), $pid1, 'shared_buffers: the primary was restarted');
is(q1("SELECT restarts FROM cnpg_bootstrap_instances('life') WHERE instance = 'life-1'"), '1',
	'a restart to apply a parameter is not counted as a crash restart');
like(slurp_file($node->logfile), qr/restarting instance "life-2" of cluster "life" to apply shared_buffers.*restarting instance "life-1" of cluster "life" to apply shared_buffers/s,
	'rolling restart: the standby first, then the primary');

# ---- 5. stop and start on demand, across a control restart ----
is(q1("SELECT cnpg_bootstrap_stop('life')"), 't', 'cnpg_bootstrap_stop');
is(poll_until("SELECT phase FROM cnpg_bootstrap.clusters WHERE name = 'life'", 'Cluster hibernated', 60),
	'Cluster hibernated', 'phase: hibernated');
ok(postmaster_pid('life-1') == 0 || !-e '/proc/' . postmaster_pid('life-1'), 'the primary is stopped');
ok(!-e pgdata('life-1') . '/postmaster.pid' && !-e pgdata('life-2') . '/postmaster.pid', 'both stopped cleanly');
$node->restart;
sleep 4;						# several supervision passes
ok(!-e pgdata('life-1') . '/postmaster.pid', 'still stopped after the control restarted');
is(q1("SELECT phase FROM cnpg_bootstrap.clusters WHERE name = 'life'"), 'Cluster hibernated', 'still hibernated');
is(q1("SELECT cnpg_bootstrap_start('life')"), 't', 'cnpg_bootstrap_start');
is(wait_healthy('life'), 'Cluster in healthy state', 'started again');
is(tq('life', 'postgres', 'SELECT count(*) FROM kept'), '500', 'data intact after hibernation');
is(q1("SELECT restarts FROM cnpg_bootstrap_instances('life') WHERE instance = 'life-1'"), '1',
	'waking from hibernation is not a crash restart');

# the same by CloudNativePG's annotation
apply(manifest(2, "      work_mem: '8MB'\n      shared_buffers: '48MB'\n", "    cnpg.io/hibernation: \"on\"\n"));
is(poll_until("SELECT phase FROM cnpg_bootstrap.clusters WHERE name = 'life'", 'Cluster hibernated', 60),
	'Cluster hibernated', 'cnpg.io/hibernation: "on" hibernates');
ok(!-e pgdata('life-1') . '/postmaster.pid', 'stopped by the annotation');
apply(manifest(2, "      work_mem: '8MB'\n      shared_buffers: '48MB'\n", "    cnpg.io/hibernation: \"off\"\n"));
is(wait_healthy('life'), 'Cluster in healthy state', 'cnpg.io/hibernation: "off" starts it again');
my ($ok, $out, $err) = (0);
$ok = $node->psql('postgres', "SELECT * FROM cnpg_bootstrap_apply(\$y\$"
	  . manifest(2, "      work_mem: '8MB'\n      shared_buffers: '48MB'\n", "    cnpg.io/hibernation: \"maybe\"\n") . "\$y\$)",
	stderr => \$err);
like($err, qr/cnpg\.io\/hibernation.*Unsupported value: "maybe"/, 'another value is refused');

# ---- 2. reboot: the control and every target stopped, only the control started ----
my @pids = map { postmaster_pid($_) } ('life-1', 'life-2');
$node->stop('fast');
kill 'KILL', @pids;				# as a power cut leaves them
for my $p (@pids) { for (1 .. 100) { last unless alive($p); usleep(50_000); } }
wait_datadir_released(pgdata($_)) for ('life-1', 'life-2');
$t0 = time;
$node->start;
is(wait_healthy('life'), 'Cluster in healthy state', 'after the "reboot" the cluster is back, no re-apply');
diag(sprintf('figure: control started after a "reboot" -> cluster healthy in %.1f s', time - $t0));
is(tq('life', 'postgres', 'SELECT count(*) FROM kept'), '500', 'data intact after the reboot');
is(tq('life', 'postgres', "SELECT status FROM pg_stat_wal_receiver", 'life-2'), 'streaming',
	'the standby streams after the reboot');

# ---- a standby whose WAL is gone from the primary is cloned again ----
# supervision paused while the standby is stopped by hand and the primary
# drops its slot and recycles the WAL the standby would need
my $params = "      work_mem: '8MB'\n      shared_buffers: '48MB'\n      wal_keep_size: '0'\n";
apply(manifest(2, $params));
is(wait_healthy('life'), 'Cluster in healthy state', 'wal_keep_size 0 applied');
q1("ALTER SYSTEM SET cnpg_bootstrap.supervise_interval = 0");
q1("SELECT pg_reload_conf()");
sleep 2;
my $stopped_by_hand = system('pg_ctl', '-D', pgdata('life-2'), '-m', 'fast', '-w', 'stop') == 0;
ok($stopped_by_hand, 'standby stopped by hand');
tq('life', 'postgres', "SELECT pg_drop_replication_slot('_cnpg_life_2')");
for (1 .. 4)
{
	tq('life', 'postgres', "INSERT INTO kept SELECT 0 FROM generate_series(1, 10); SELECT pg_switch_wal()");
}
tq('life', 'postgres', 'CHECKPOINT');
tq('life', 'postgres', "INSERT INTO kept SELECT 0 FROM generate_series(1, 10); SELECT pg_switch_wal()");
tq('life', 'postgres', 'CHECKPOINT');
system('pg_ctl', '-D', pgdata('life-2'), '-w', '-l', "$root/life-2-by-hand.log", 'start');
q1("ALTER SYSTEM RESET cnpg_bootstrap.supervise_interval");
q1("SELECT pg_reload_conf()");
my $gone = 0;
for (1 .. 600)
{
	if (slurp_file($node->logfile) =~ /standby "life-2" of cluster "life" needs WAL the primary no longer has; cloning it again/)
	{
		$gone = 1;
		last;
	}
	usleep(100_000);
}
ok($gone, 'the standby that cannot stream is cloned again');
is(wait_healthy('life'), 'Cluster in healthy state', 'healthy after the new clone');
is(tq('life', 'postgres', "SELECT status FROM pg_stat_wal_receiver", 'life-2'), 'streaming', 'the new clone streams');
is(tq('life', 'postgres', 'SELECT count(*) FROM kept', 'life-2'), '550', 'with every row');
is(tq('life', 'postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '_cnpg_life_2'"), '1',
	'its slot is back');

# ---- an instance that dies in a loop backs off and says why ----
my $auto = pgdata('life-2') . '/postgresql.auto.conf';
my $saved = slurp_file($auto);
# the value stands for any, a password in a conninfo too: status and log never show it
append_to_file($auto, "max_connections = 'not a number s3cr3t-value'\n");
kill 'KILL', postmaster_pid('life-2');
like(poll_until("SELECT phase_reason ~ 'keeps stopping.*max_connections' FROM cnpg_bootstrap.clusters WHERE name = 'life'", 't', 60) && 
	q1("SELECT phase_reason FROM cnpg_bootstrap.clusters WHERE name = 'life'"),
	qr/instance life-2 keeps stopping \(\d+ times within a minute of its restart\); next restart in \d+ s\.\nLast exit: pg_ctl start life-2 failed \(exit code 1\): configuration file ".*postgresql.auto.conf" contains errors: .*max_connections/s,
	'the reason says it keeps stopping, when it is tried next, and why');
unlike(q1("SELECT phase_reason FROM cnpg_bootstrap.clusters WHERE name = 'life'"), qr/s3cr3t/,
	'the parameter value is not in the reason');
like(q1("SELECT phase_reason FROM cnpg_bootstrap.clusters WHERE name = 'life'"),
	qr/invalid value for parameter "max_connections" \(value not shown\)/, 'the parameter is named, its value cut off');
my $r1 = q1("SELECT restarts FROM cnpg_bootstrap_instances('life') WHERE instance = 'life-2'");
sleep 8;
my $r2 = q1("SELECT restarts FROM cnpg_bootstrap_instances('life') WHERE instance = 'life-2'");
ok($r2 > $r1, "it is tried again ($r1 -> $r2)");
ok($r2 - $r1 <= 4, 'but backing off, not in a tight loop');
open(my $fh, '>', $auto) or die;
print $fh $saved;
close $fh;
is(wait_healthy('life', 360), 'Cluster in healthy state', 'healthy once the cause is fixed, without a re-apply');
unlike(slurp_file($node->logfile), qr/s3cr3t/, 'the parameter value is not in the control log');
is(tq('life', 'postgres', 'SELECT count(*) FROM kept', 'life-2'), '550', 'data intact on the standby');

# ---- a limit hot standbys must match: raised standbys first, lowered primary first ----
my $logpos = -s $node->logfile;
apply(manifest(2, $params . "      max_connections: '120'\n"));
is(wait_healthy('life'), 'Cluster in healthy state', 'healthy after max_connections raised');
like(substr(slurp_file($node->logfile), $logpos),
	qr/restarting instance "life-2" of cluster "life" to apply max_connections.*restarting instance "life-1" of cluster "life" to apply max_connections/s,
	'raised: the standby restarts first');
$logpos = -s $node->logfile;
apply(manifest(2, $params . "      max_connections: '90'\n"));
is(wait_healthy('life'), 'Cluster in healthy state', 'healthy after max_connections lowered');
like(substr(slurp_file($node->logfile), $logpos),
	qr/restarting instance "life-1" of cluster "life" to apply max_connections.*restarting instance "life-2" of cluster "life" to apply max_connections/s,
	'lowered: the primary restarts first');
for my $i ('life-1', 'life-2')
{
	is(tq('life', 'postgres', 'SHOW max_connections', $i), '90', "max_connections 90 on $i");
}
is(tq('life', 'postgres', 'SELECT pg_is_wal_replay_paused()', 'life-2'), 'f', 'the standby replays, not paused');
tq('life', 'postgres', 'INSERT INTO kept VALUES (7)');
my $caught = 0;
for (1 .. 300)
{
	my $n = tq('life', 'postgres', 'SELECT count(*) FROM kept', 'life-2');
	if (defined $n && $n eq '551') { $caught = 1; last; }
	usleep(100_000);
}
ok($caught, 'a new row reaches the standby');

done_testing();
