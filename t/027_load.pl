# Load (issue 14, item 3), the reduced form of bench/load.sh for CI:
#  1. 12 Clusters in one manifest with cnpg_bootstrap.max_workers = 3: all
#     healthy, never more than 3 workers nor 3 initdb's of ours at once
#     (sampled from /proc every 50 ms), and they start in the order they
#     were applied (the manifest lists them c12 ... c01);
#  2. apply/delete churn while clusters bootstrap: afterwards no server
#     process, no directory under data_root, no port, no catalog row;
#  3. 1000 Secrets and 1000 ConfigMaps in one apply, each readable after;
#     20000 ConfigMaps in one apply do not exhaust the lock table;
#  4. the size limits: Secret and ConfigMap data at most 1 MiB (Kubernetes'
#     own limit), a document at most 3 MiB of keys and values once aliases
#     are expanded (the API server's request limit), a manifest at most
#     64 MiB (ours);
#  5. the launcher's memory is flat across all of it.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use lib 't';
use CbTest;

my $MAXW = 3;
my ($node, $root) = start_control('58850-58999',
	"cnpg_bootstrap.max_workers = $MAXW\nmax_worker_processes = 16\n");
my $pm = $node->{_pid};

# ---------- the /proc sampler ----------

sub slurp_proc
{
	my ($path) = @_;
	open(my $fh, '<', $path) or return undef;
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s;
}

# VmRSS and RssAnon of a process, in kB
sub rss_of
{
	my ($pid) = @_;
	my $st = slurp_proc("/proc/$pid/status") // return (0, 0);
	my ($rss) = $st =~ /^VmRSS:\s+(\d+)/m;
	my ($anon) = $st =~ /^RssAnon:\s+(\d+)/m;
	return ($rss // 0, $anon // 0);
}

# One look at the control's processes: its launcher and cluster workers
# (children of the postmaster, by their ps title) and the initdb's they
# run (a worker's child; initdb's own forks, not yet exec'd, have an
# initdb parent and are not counted).  Other tests on this machine run
# initdb's of their own: only ours count.
sub look
{
	my (%ppid, %comm, %title);
	for my $d (glob('/proc/[0-9]*'))
	{
		my ($pid) = $d =~ m{(\d+)$};
		my $stat = slurp_proc("$d/stat") // next;
		next unless $stat =~ /^\d+ \((.*)\) (\S) (\d+)/s;
		next if $2 eq 'Z';
		($comm{$pid}, $ppid{$pid}) = ($1, $3);
		if ($3 == $pm)
		{
			my $cmd = slurp_proc("$d/cmdline") // '';
			$cmd =~ s/\0.*//s;
			$title{$pid} = $cmd;
		}
	}
	my @workers = grep { $title{$_} =~ /cnpg_bootstrap worker/ } keys %title;
	my ($launcher) = grep { $title{$_} =~ /cnpg_bootstrap launcher/ } keys %title;
	my %w = map { $_ => 1 } @workers;
	my @initdb = grep { $comm{$_} eq 'initdb' && $w{ $ppid{$_} } } keys %comm;
	return { workers => \@workers, initdb => \@initdb, launcher => $launcher };
}

# a child writing one line per look: time, workers, initdb's, launcher
# VmRSS and RssAnon, the largest worker VmRSS and RssAnon
sub sampler_start
{
	my ($file) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(my $fh, '>>', $file) or POSIX::_exit(1);
		$fh->autoflush(1);
		while (1)
		{
			my $l = look();
			my ($lr, $la) = $l->{launcher} ? rss_of($l->{launcher}) : (0, 0);
			my ($wr, $wa) = (0, 0);
			for my $w (@{ $l->{workers} })
			{
				my ($r, $a) = rss_of($w);
				$wr = $r if $r > $wr;
				$wa = $a if $a > $wa;
			}
			printf $fh "%.3f %d %d %d %d %d %d\n", time(), scalar @{ $l->{workers} },
			  scalar @{ $l->{initdb} }, $lr, $la, $wr, $wa;
			usleep(50_000);
		}
	}
	return $pid;
}

sub sampler_stop
{
	my ($pid, $file) = @_;
	kill 'TERM', $pid;
	waitpid($pid, 0);
	my @rows = map { [split / /] } split /\n/, slurp_file($file);
	return \@rows;
}

sub launcher_rss
{
	my $l = look();
	return $l->{launcher} ? rss_of($l->{launcher}) : (0, 0);
}

sub cluster_doc
{
	my ($name, $instances) = @_;
	return cluster_yaml($name) =~ s/instances: 1/instances: $instances/r;
}

# a warm-up cluster: the launcher has been through every path once
apply(cluster_yaml('warm'));
is(wait_cluster('warm'), 'Cluster in healthy state', 'warm-up cluster healthy');
my ($rss0, $anon0) = launcher_rss();
ok($rss0 > 0, "launcher found by its ps title (VmRSS $rss0 kB, RssAnon $anon0 kB)");

# ---------- 1. 12 clusters, 3 workers, in the order applied ----------
{
	my @applied = map { sprintf('c%02d', $_) } reverse 1 .. 12;
	my $file = "$root/samples.1";
	my $s = sampler_start($file);
	my $t0 = time();
	my $res = apply(join("---\n", map { cluster_yaml($_) } @applied));
	is(scalar(() = $res =~ /created/g), 12, '12 clusters applied in one manifest');
	is(wait_cluster($_, '8 minutes'), 'Cluster in healthy state', "$_ healthy") for @applied;
	my $secs = time() - $t0;
	my $rows = sampler_stop($s, $file);
	my ($maxw, $maxi) = (0, 0);
	for my $r (@$rows)
	{
		$maxw = $r->[1] if $r->[1] > $maxw;
		$maxi = $r->[2] if $r->[2] > $maxi;
	}
	note(sprintf('12 clusters in %.1f s, %d samples, at most %d workers and %d initdb at once',
		$secs, scalar @$rows, $maxw, $maxi));
	ok($maxw <= $MAXW, "never more than $MAXW workers at once (saw $maxw)");
	ok($maxi <= $MAXW, "never more than $MAXW initdb at once (saw $maxi)");
	ok($maxw >= 2, "workers ran side by side (saw $maxw)");

	# started: the initdb step's start, from the journal
	my @started = split /\n/,
	  q1("SELECT cluster FROM cnpg_bootstrap.steps WHERE step = 'initdb' AND cluster ~ '^c\\d\\d\$'"
		  . ' ORDER BY started_at');
	is(scalar @started, 12, 'every cluster ran initdb');
	my %rank = map { $started[$_] => $_ } 0 .. $#started;
	my @late = grep { abs($rank{ $applied[$_] } - $_) >= $MAXW } 0 .. $#applied;
	is(join(', ', map { "$applied[$_] applied #" . ($_ + 1) . ' started #' . ($rank{ $applied[$_] } + 1) } @late),
		'', "clusters start in the order applied (give or take $MAXW): " . join(' ', @started));
}

# ---------- 2. churn ----------
{
	srand(14);
	my @names = map { "k$_" } 1 .. 4;
	for my $round (1 .. 3)
	{
		apply(cluster_doc($_, $_ eq 'k2' ? 2 : 1)) for @names;
		usleep(int(rand(2_000_000)));
		q1("SELECT cnpg_bootstrap_delete('Cluster', '$_')") for @names[0, 2];
		usleep(int(rand(1_000_000)));
		apply(cluster_doc('k1', 1));
		usleep(int(rand(2_000_000)));
		q1("SELECT cnpg_bootstrap_delete('Cluster', '$_')") for @names;
	}
	my $left = '';
	for (1 .. 360)
	{
		$left = q1("SELECT string_agg(cluster, ',') FROM cnpg_bootstrap.teardown");
		last if $left eq '';
		usleep(500_000);
	}
	is($left, '', 'every teardown finished');
	my @dirs = grep { -e "$root/$_" } @names;
	is("@dirs", '', 'no directory left under data_root');
	my @procs;
	for my $d (glob('/proc/[0-9]*'))
	{
		my $cwd = readlink("$d/cwd") // next;
		push @procs, "$d:$cwd" if $cwd =~ m{^\Q$root\E/k\d};
	}
	is("@procs", '', 'no process left in their directories');
	is(q1("SELECT concat_ws(' ',"
		  . " (SELECT string_agg('clusters:' || name, ' ') FROM cnpg_bootstrap.clusters WHERE name ~ '^k\\d'),"
		  . " (SELECT string_agg('instances:' || instance || ':' || coalesce(port::text, '-'), ' ')"
		  . "    FROM cnpg_bootstrap.instances WHERE cluster ~ '^k\\d'),"
		  . " (SELECT string_agg('steps:' || cluster || ':' || step, ' ') FROM cnpg_bootstrap.steps WHERE cluster ~ '^k\\d'),"
		  . " (SELECT string_agg('objects:' || kind || '/' || name, ' ') FROM cnpg_bootstrap.objects WHERE name ~ '^k\\d'),"
		  . " (SELECT string_agg('secret_data:' || secret, ' ') FROM cnpg_bootstrap.secret_data WHERE secret ~ '^k\\d'),"
		  . " (SELECT string_agg('teardown:' || cluster, ' ') FROM cnpg_bootstrap.teardown))"),
		'', 'no catalog row left for the churned clusters');
	is(q1("SELECT count(*) FROM cnpg_bootstrap.instances"), '13',
		'the 13 clusters kept hold one port each');
}

# ---------- 3. 1000 Secrets and 1000 ConfigMaps in one apply ----------
{
	my @docs;
	for my $i (0 .. 999)
	{
		push @docs, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s$i\nstringData:\n  password: pw-$i\n";
		push @docs, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m$i\ndata:\n  key: value-$i\n";
	}
	my $m = join("---\n", @docs);
	my $t0 = time();
	my $res = apply($m);
	my $secs = time() - $t0;
	note(sprintf('2000 objects (%d bytes) applied in %.2f s', length($m), $secs));
	is(scalar(() = $res =~ / created/g), 2000, '2000 objects created in one apply');
	ok($secs < 120, sprintf('in bounded time (%.1f s)', $secs));
	is(q1("SELECT count(*) FROM generate_series(0, 999) i"
		  . " WHERE cnpg_bootstrap_secret('s' || i, 'password') = 'pw-' || i"), '1000',
		'each Secret reads back');
	is(q1("SELECT count(*) FROM generate_series(0, 999) i JOIN cnpg_bootstrap.objects o"
		  . " ON o.kind = 'ConfigMap' AND o.name = 'm' || i WHERE o.doc -> 'data' ->> 'key' = 'value-' || i"),
		'1000', 'each ConfigMap reads back');
	$res = apply($m);
	is(scalar(() = $res =~ / unchanged/g), 2000, 'applied again: 2000 unchanged');

	# one lock per object would need 20000 entries of the shared lock
	# table, which every session shares (~2000 here)
	my $big = join("---\n", map { "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: n$_\ndata:\n  k: v\n" } 1 .. 20000);
	my ($ret, $out, $err) = $node->psql('postgres',
		"SELECT count(*) FROM cnpg_bootstrap_apply(\$y\$$big\$y\$)");
	is($ret, 0, '20000 ConfigMaps in one apply: accepted') or diag($err);
	is($out, '20000', '20000 ConfigMaps stored');
}

# ---------- 4. size limits ----------
{
	my $MiB = 1024 * 1024;
	my $cm = sub {
		my ($name, $data) = @_;
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: $name\ndata:\n$data";
	};
	my $try = sub {
		my ($m) = @_;
		my ($ret, $out, $err) = $node->psql('postgres',
			"SELECT count(*) FROM cnpg_bootstrap_apply(\$y\$$m\$y\$)",
			extra_params => [ '-v', 'VERBOSITY=verbose' ]);
		return ($ret, $err);
	};
	my ($ret, $err);

	# 10 MB in one object: Kubernetes' API server takes at most 3 MiB
	($ret, $err) = $try->($cm->('big1', '  key: ' . ('x' x (10 * $MiB)) . "\n"));
	isnt($ret, 0, 'a ConfigMap with a 10 MB value is refused');
	like($err, qr/54000: manifest too large at line 6, column 8: the document holds more than 3145728 bytes/,
		'... naming the document limit and where it was passed');
	($ret, $err) = $try->($cm->('big2', join('', map { sprintf("  k%06d: %s\n", $_, 'v' x 100) } 1 .. 100000)));
	isnt($ret, 0, 'a ConfigMap of 100000 keys (10 MB) is refused');
	like($err, qr/54000: .*the document holds more than 3145728 bytes/, '... by the same limit');

	# under 3 MiB but over Kubernetes' 1 MiB of values
	($ret, $err) = $try->($cm->('big3', '  key: ' . ('x' x (2 * $MiB)) . "\n"));
	isnt($ret, 0, 'a ConfigMap with a 2 MiB value is refused');
	like($err, qr/22023: ConfigMap\/big3: data: too long: the values of data and binaryData hold 2097152 bytes, at most 1048576/,
		'... naming the size and the limit');
	like($err, qr/DETAIL:  ConfigMap "big3" is invalid: \[\]: Too long: must have at most 1048576 bytes/,
		'... with Kubernetes\' own words');
	($ret, $err) = $try->($cm->('big4', join('', map { sprintf("  k%06d: %s\n", $_, 'v' x 100) } 1 .. 15000)));
	isnt($ret, 0, 'a ConfigMap of 15000 keys (1.5 MB of values) is refused');
	like($err, qr/ConfigMap\/big4: data: too long/, '... by the same limit');

	($ret, $err) = $try->($cm->('edge', '  key: ' . ('x' x $MiB) . "\n"));
	is($ret, 0, 'a ConfigMap with exactly 1 MiB of data is accepted') or diag($err);

	($ret, $err) = $try->("apiVersion: v1\nkind: Secret\nmetadata:\n  name: bigs\nstringData:\n  a: "
		  . ('x' x ($MiB - 10)) . "\n  b: 0123456789A\n");
	isnt($ret, 0, 'a Secret with 1 MiB + 1 byte of data is refused');
	like($err, qr/DETAIL:  Secret "bigs" is invalid: data: Too long: must have at most 1048576 bytes/,
		'... with Kubernetes\' words');
	unlike($err, qr/xxxx|0123456789/, '... never showing a value');

	# 10 MB in ten ConfigMaps of 1000000 bytes: within every limit
	($ret, $err) = $try->(join("---\n", map { $cm->("ten$_", '  key: ' . ('y' x 1_000_000) . "\n") } 1 .. 10));
	is($ret, 0, 'a 10 MB manifest of ten ConfigMaps under 1 MiB each is accepted') or diag($err);
	is(q1("SELECT count(*) FROM cnpg_bootstrap.objects WHERE kind = 'ConfigMap' AND name ~ '^ten'"
		  . " AND length(doc -> 'data' ->> 'key') = 1000000"), '10', '... and stored whole');

	# more than 64 MiB of text: refused before it is parsed
	($ret, $err) = $try->($cm->('huge', '  key: ' . ('h' x (65 * $MiB)) . "\n"));
	isnt($ret, 0, 'a 65 MiB manifest is refused');
	like($err, qr/54000: manifest too large: \d+ bytes, more than 67108864 \(64 MiB\)/,
		'... naming the manifest limit');

	# aliases: a 1 MiB value used five times is a 5 MiB Cluster
	my $v = 'z' x $MiB;
	($ret, $err) = $try->(cluster_yaml('alias') =~ s/^metadata:\n/metadata:\n  annotations:\n    a0: &v $v\n    a1: *v\n    a2: *v\n    a3: *v\n    a4: *v\n/mr);
	isnt($ret, 0, 'a document of 5 MiB once aliases are expanded is refused');
	like($err, qr/54000: .*more than 3145728 bytes of keys and values once aliases are expanded/,
		'... naming the document limit');
	is(q1("SELECT count(*) FROM cnpg_bootstrap.objects WHERE name = 'alias'"), '0', '... and not stored');

	# 25 Clusters of 2.75 MiB each (256 kB aliased 11 times): 68.75 MiB
	my $w = 'w' x (256 * 1024);
	my $many = join("---\n", map {
		cluster_yaml("many$_") =~ s/^metadata:\n/"metadata:\n  annotations:\n    k0: &w $w\n" . join('', map { "    k$_: *w\n" } 1 .. 10)/mer
	} 1 .. 25);
	($ret, $err) = $try->($many);
	isnt($ret, 0, 'a manifest of 68 MiB once aliases are expanded is refused');
	like($err, qr/54000: .*more than 67108864 bytes/, '... naming the manifest limit');
}

# ---------- 5. the launcher's memory ----------
{
	my ($rss1, $anon1) = launcher_rss();
	note("launcher: VmRSS $rss0 -> $rss1 kB, RssAnon $anon0 -> $anon1 kB");
	ok($anon1 <= $anon0 + 1024, "launcher's private memory flat (RssAnon $anon0 -> $anon1 kB)");
	ok($rss1 <= $rss0 + 16384, "launcher's VmRSS flat (VmRSS $rss0 -> $rss1 kB; shared buffers it touched count)");
}

done_testing();
