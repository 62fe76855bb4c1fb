# The warm pool of spare data directories (issue 16): a spare made by
# initdb in the background is taken by a Cluster whose initdb options
# match, not by one whose options differ; the pool refills after a take;
# spare_pool_size = 0 turns it off and removes the spares; an interrupted
# refill (initdb killed, the pool worker killed, a half-made directory
# left) never hands out anything half-made and its leftovers are removed;
# clusters made from spares have distinct system identifiers; the disk
# bound holds.  Every assertion reads the outcome: the journal, the
# target's catalog, the pool directory, the control log.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use File::Path qw(make_path);

use lib 't';
use CbTest;

my ($node, $root) = start_control('59150-59249',
	"cnpg_bootstrap.max_workers = 4\ncnpg_bootstrap.spare_pool_size = 1\n"
	  # a killed pool worker restarts the control's processes, as in production
	  . "restart_after_crash = on\n");
my $pool = "$root/.spares";

# complete spares: <key>.<id> with a pgdata inside
sub spares
{
	opendir(my $d, $pool) or return ();
	my @s = sort grep { /^[0-9a-f]{16}\.[0-9a-f]+$/ && -d "$pool/$_/pgdata" } readdir($d);
	closedir $d;
	return @s;
}

sub pool_entries
{
	opendir(my $d, $pool) or return ();
	my @s = sort grep { !/^\.\.?$/ } readdir($d);
	closedir $d;
	return @s;
}

sub wait_for
{
	my ($what, $cond, $secs) = @_;
	my $deadline = time + ($secs // 180);
	while (time < $deadline)
	{
		return 1 if $cond->();
		usleep(100_000);
	}
	diag("timed out waiting for $what; pool: " . join(' ', pool_entries()));
	return 0;
}

sub spare_detail
{
	my ($c) = @_;
	return q1("SELECT coalesce(string_agg(detail, ' | '), '<none>') FROM cnpg_bootstrap.steps WHERE cluster = '$c' AND step = 'spare'");
}

sub sysid
{
	my ($c) = @_;
	return tq($c, 'postgres', 'SELECT system_identifier FROM pg_control_system()');
}

sub log_text { return slurp_file($node->logfile); }

sub healthy
{
	my ($name, $extra) = @_;
	apply(cluster_yaml($name, $extra));
	is(wait_cluster($name), 'Cluster in healthy state', "$name healthy");
}

# ---------- 1. the defaults are kept warm before any Cluster was applied ----------
ok(wait_for('a first spare', sub { scalar(spares()) >= 1 }), 'a spare for defaulted Clusters is made while idle');
my @before = spares();
ok(-f "$pool/.cnpg_bootstrap", 'the pool directory carries the ownership marker');
is(sprintf('%o', (stat($pool))[2] & 0777), '700', 'the pool directory is 0700');

# ---------- 2. a defaulted Cluster takes it; post-init still runs ----------
healthy('sp1');
like(spare_detail('sp1'), qr/took spare data directory "\Q$before[0]\E"/, 'sp1 took the spare (journal)');
like(log_text(), qr/instance "sp1-1": took spare data directory/, 'and the log says so');
ok(!-e "$pool/$before[0]", 'the spare is gone from the pool');
is(tq('sp1', 'app', 'SELECT current_database() || \':\' || pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()'),
	'app:app', 'post-init made the application database and its owner');
my $uri = secret('sp1-app', 'uri');
my ($out, $err);
IPC::Run::run([ 'psql', '-X', '-At', $uri, '-c', 'SELECT current_user' ], '>', \$out, '2>', \$err);
chomp $out if defined $out;
is($out, 'app', "the app Secret's uri works");

# ---------- 3. refill after use ----------
ok(wait_for('the refill', sub { scalar(spares()) >= 1 }), 'the pool refills after a take');
isnt((spares())[0], $before[0], 'with a new spare');

# ---------- 4. options differ: no spare; then one is kept for them too ----------
my $cks = "  bootstrap:\n    initdb:\n      dataChecksums: true\n";
healthy('sp2', $cks);
like(spare_detail('sp2'), qr/no spare taken: no spare matches/, 'sp2 (checksums) took no spare');
is(tq('sp2', 'postgres', 'SHOW data_checksums'), 'on', 'sp2 has checksums (its own initdb)');
ok(wait_for('a spare for the checksum recipe', sub { scalar(spares()) >= 2 }),
	'the pool keeps a spare for the recently used option set too');
healthy('sp3', $cks);
like(spare_detail('sp3'), qr/took spare data directory/, 'sp3 (checksums) took a spare');
is(tq('sp3', 'postgres', 'SHOW data_checksums'), 'on', 'of the checksum recipe');
healthy('sp4');
like(spare_detail('sp4'), qr/took spare data directory/, 'sp4 (defaults) took a spare');
is(tq('sp4', 'postgres', 'SHOW data_checksums'), 'off', 'of the defaults recipe');

# ---------- 5. distinct system identifiers ----------
my %ids = map { ($_ => sysid($_)) } qw(sp1 sp2 sp3 sp4);
note(join ' ', map { "$_=$ids{$_}" } sort keys %ids);
ok((grep { defined $_ && /^\d+$/ } values %ids) == 4, 'every target answers with its system identifier');
my %seen = reverse %ids;
is(scalar(keys %seen), 4, 'clusters made from spares have distinct system identifiers');

# ---------- 5b. the application database made ahead, only without post-init SQL ----------
like(log_text(), qr/postgres --single \(spare pool\): running .*--single/,
	'spares of defaulted Clusters get the application database in single-user mode');
is(tq('sp1', 'postgres', "SELECT count(*) FROM pg_database WHERE datname = 'app'"), '1', 'sp1 has one app database');
# post-init SQL of the Cluster's own: its recipe has no application database, the SQL runs
my $appsql = "  bootstrap:\n    initdb:\n      postInitApplicationSQL:\n        - CREATE TABLE made_by_postinit (i int)\n";
healthy('sp7', $appsql);
like(spare_detail('sp7'), qr/no spare taken/, 'sp7 (post-init SQL) took no spare: another recipe');
ok(wait_for('a spare for the post-init SQL recipe', sub { scalar(spares()) >= 3 }), 'the pool keeps one for it');
healthy('sp8', $appsql);
like(spare_detail('sp8'), qr/took spare data directory/, 'sp8 took that spare');
is(tq('sp8', 'app', "SELECT count(*) FROM pg_tables WHERE tablename = 'made_by_postinit'"), '1',
	"sp8's postInitApplicationSQL ran in its application database");
is(tq('sp8', 'app', 'SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()'),
	'app', 'owned by app');

# ---------- 6. a refill whose initdb is killed: nothing half-made is used ----------
ok(wait_for('three spares', sub { scalar(spares()) >= 3 }), 'pool full again');
my @full = spares();
# take one by hand: the launcher sees a missing spare and starts a refill
system('rm', '-rf', "$pool/$full[0]");
my ($victim, $victim_dir);
wait_for('the refill initdb', sub {
	for my $p (glob('/proc/[0-9]*'))
	{
		open(my $fh, '<', "$p/cmdline") or next;
		my $cmd = join ' ', split /\0/, (<$fh> // '');
		close $fh;
		if ($cmd =~ m{/initdb .*-D \Q$pool\E/([0-9a-f]{16}\.[0-9a-f]+)\.new/pgdata})
		{
			($victim) = $p =~ m{(\d+)$};
			$victim_dir = $1;
			return 1;
		}
	}
	return 0;
}, 120);
ok($victim, "caught the refill's initdb ($victim_dir)");
kill 'KILL', $victim if $victim;
ok(wait_for('the killed refill logged', sub { log_text() =~ /initdb for recipe [0-9a-f]+ was killed/ }, 60),
	'the pool worker saw its initdb killed');
ok(!-e "$pool/$victim_dir", 'the killed initdb never became a complete spare');
# removed by the run that saw the kill, or else first thing by the next one
ok(wait_for('the half-made directory removed', sub { !-e "$pool/$victim_dir.new" }, 120),
	'its half-made directory was removed');
ok(wait_for('a new spare after the kill', sub { scalar(spares()) >= 3 }), 'the next refill makes it again');
ok(!grep({ $_ eq $victim_dir } spares()), 'under a new name');

# ---------- 7. the pool worker itself killed mid-initdb, and planted leftovers ----------
@full = spares();
system('rm', '-rf', "$pool/$full[0]");
my $wpid;
wait_for('the pool worker and its initdb', sub {
	$wpid = q1("SELECT pid FROM pg_stat_activity WHERE backend_type = 'cnpg_bootstrap spare pool'");
	return 0 unless $wpid;
	return `ps -o args= --ppid $wpid 2>/dev/null` =~ /initdb/;
}, 120);
ok($wpid, "caught the pool worker ($wpid) running initdb");
my @half = grep { /\.new$/ } pool_entries();
is(scalar(@half), 1, 'one half-made spare while it runs');
# kill -9 of a backend: the control instance restarts its processes
kill 'KILL', $wpid;
# planted: a half-made spare under the name of a complete one's key, and a shell without pgdata
my $key = substr($full[1], 0, 16);
make_path("$pool/$key.dead1.new/pgdata", "$pool/$key.dead2");
open(my $fh, '>', "$pool/$key.dead1.new/pgdata/PG_VERSION") or die; print $fh "15\n"; close $fh;
ok(wait_for('the leftovers removed', sub {
	my @e = pool_entries();
	return !(grep { /\.new$|dead2|^\.trash/ } @e);
}, 180), 'the next refill removes every leftover (the killed one and the planted ones)');
like(log_text(), qr/removed the leftover of an interrupted refill "\Q$half[0]\E"/, 'the killed one by name');
ok(wait_for('the pool full again', sub { scalar(spares()) >= 3 }, 180), 'and refills');
$node->poll_query_until('postgres', 'SELECT true');
is(q1("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'cnpg_bootstrap spare pool'") <= 1, 1,
	'one pool worker at most');
# no initdb of the killed worker is left
my $orphans = `ps -eo args= | grep -F '$half[0]' | grep -v grep`;
is($orphans, '', 'no initdb of the killed worker still runs');
healthy('sp5');
like(spare_detail('sp5'), qr/took spare data directory "[0-9a-f]{16}\.[0-9a-f]+"/, 'sp5 took a complete spare');
unlike(spare_detail('sp5'), qr/dead|\Q$half[0]\E/, 'never a leftover');

# ---------- 8. the disk bound ----------
ok(wait_for('the pool full again', sub { scalar(spares()) >= 3 }, 180), 'pool full');
my $recorded = slurp_file("$pool/@{[ (spares())[0] ]}/size");
ok($recorded > 0, "a spare records its size ($recorded bytes)");
# room for one spare more than the pool holds, asked for four per recipe
my $have = scalar(spares());
my $bound_mb = int(($recorded * ($have + 1.5)) / (1024 * 1024)) + 1;
q1("ALTER SYSTEM SET cnpg_bootstrap.spare_pool_size = 4");
q1("ALTER SYSTEM SET cnpg_bootstrap.spare_pool_max_mb = $bound_mb");
q1("SELECT pg_reload_conf()");
my $max_seen = 0;
ok(wait_for('one spare more', sub {
	my $n = scalar(spares());
	$max_seen = $n if $n > $max_seen;
	return $n >= $have + 1;
}, 120), "the pool grows up to the bound ($have -> " . ($have + 1) . ')');
my $t_end = time + 15;
while (time < $t_end)
{
	my $n = scalar(spares());
	$max_seen = $n if $n > $max_seen;
	usleep(200_000);
}
my $total = 0;
$total += slurp_file("$pool/$_/size") for spares();
note("bound $bound_mb MB, spares " . scalar(spares()) . ", recorded $total bytes, max seen $max_seen");
ok($total <= $bound_mb * 1024 * 1024, 'the spares stay within spare_pool_max_mb');
is($max_seen, $have + 1, 'never more spares than fit the bound');
my $du = `du -sk $pool` =~ /^(\d+)/ ? $1 : 0;
ok($du * 1024 <= $bound_mb * 1024 * 1024 + 1024 * 1024, "the pool directory takes $du kB on disk");

# ---------- 9. pool off ----------
q1("ALTER SYSTEM SET cnpg_bootstrap.spare_pool_size = 0");
q1("SELECT pg_reload_conf()");
ok(wait_for('the spares removed', sub { scalar(spares()) == 0 }, 60), 'spare_pool_size = 0 removes the spares');
healthy('sp6');
is(spare_detail('sp6'), '<none>', 'pool off: no spare row');
unlike(log_text(), qr/instance "sp6-1": (took|no spare)/, 'and nothing about a spare in the log');
sleep 3;
is(scalar(spares()), 0, 'and no refill');

done_testing();
