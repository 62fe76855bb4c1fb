# Hostile sources and targets (issue 11): values of a source reach SQL
# quoted or bound (odd role and database names in a monolith import); an
# owner-planted operator =(name, name) in public with the database's
# search_path set to public, pg_catalog (CloudNativePG's CWE-426 case) is
# never called by our queries, on the source nor on the target; a
# Secret-sourced post-init script leaves no trace of its text in any log,
# whether it succeeds or fails; the application owner never stays SUPERUSER
# after a SIGTERM or a kill -9 of the worker in the middle of pg_restore,
# even when the redo cannot reach the source.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use lib 't';
use CbTest;

# a bindir of our own: every tool of the real one, pg_restore wrapped so that
# it can be held while $hold exists (the worker is then mid-restore)
my $bindir = tempdir('/tmp/cbbin.XXXXXX', CLEANUP => 1);
my $real = dirname(`which pg_restore`);
chomp $real;
opendir(my $dh, $real) or die "$real: $!";
for my $f (readdir $dh)
{
	next if $f =~ /^\./ || $f eq 'pg_restore';
	symlink("$real/$f", "$bindir/$f") or die "symlink $f: $!";
}
closedir $dh;
my $hold = "$bindir/hold";
my $started = "$bindir/restore-started";
open(my $w, '>', "$bindir/pg_restore") or die;
print $w <<"SH";
#!/bin/sh
if [ -e '$hold' ]; then echo \$PPID > '$started.tmp'; echo \$\$ >> '$bindir/sleepers'; mv '$started.tmp' '$started'; exec sleep 600; fi
exec '$real/pg_restore' "\$@"
SH
close $w;
chmod 0755, "$bindir/pg_restore";

my ($node, $root) = start_control('57400-57499',
	"cnpg_bootstrap.bindir = '$bindir'\nlog_min_messages = info\n# a kill -9 of a worker: the control restarts, as by default\nrestart_after_crash = on\n");

# ---------- the source ----------
my $src = PostgreSQL::Test::Cluster->new('source');
$src->init;
$src->append_conf('postgresql.conf', "listen_addresses = 'localhost'\n");
open(my $hba, '>', $src->data_dir . '/pg_hba.conf') or die;
print $hba "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n";
close $hba;
$src->start;
my $sport = $src->port;
my $pw = "s3cret-src-Pw";

# the operator an owner plants, and the table recording each call
my $plant = <<'SQL';
CREATE TABLE public.calls (port text);
GRANT INSERT ON public.calls TO PUBLIC;
CREATE FUNCTION public.evil_eq(name, name) RETURNS boolean LANGUAGE plpgsql AS
  $f$BEGIN INSERT INTO public.calls VALUES (pg_catalog.current_setting('port')); RETURN $1::text OPERATOR(pg_catalog.=) $2::text; END$f$;
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.evil_eq);
SQL
my $oddrole = qq{o'dd"role; DROP ROLE importer; --\nline2};
(my $oddrole_q = $oddrole) =~ s/"/""/g;
my $odddb = qq{sh'op "db"; x};
(my $odddb_q = $odddb) =~ s/"/""/g;
$src->safe_psql('postgres', <<"SQL");
CREATE ROLE importer LOGIN SUPERUSER PASSWORD '$pw';
CREATE ROLE "$oddrole_q" LOGIN CONNECTION LIMIT 3 PASSWORD 'odd-role-pw';
CREATE DATABASE "$odddb_q" OWNER "$oddrole_q";
CREATE DATABASE plain;
$plant
ALTER DATABASE postgres SET search_path = public, pg_catalog;
SQL
$src->safe_psql($odddb, "$plant\nCREATE TABLE t AS SELECT g AS id FROM generate_series(1, 50) g;\nALTER TABLE t OWNER TO \"$oddrole_q\";");
$src->safe_psql('plain', "CREATE TABLE items AS SELECT g AS id, 'item ' || g AS name FROM generate_series(1, 300000) g;"
	  . " CREATE TABLE conflict (v text DEFAULT 'RestoreValue-9e7f');");
$src->safe_psql('postgres', qq{ALTER DATABASE "$odddb_q" SET search_path = public, pg_catalog});

sub src_calls
{
	return $src->safe_psql('postgres', 'SELECT count(*) FROM public.calls') + $src->safe_psql($odddb, 'SELECT count(*) FROM public.calls');
}

sub secret_doc
{
	my ($name, %keys) = @_;
	my $d = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: $name\nstringData:\n";
	$d .= "  $_: \"$keys{$_}\"\n" for sort keys %keys;
	return $d . "---\n";
}

sub cluster_doc
{
	my ($name, $body, $params) = @_;
	return pw_secret("$name-pw", $pw) . <<"YAML" . ext_cluster('source', $sport, 'importer', password => "$name-pw");
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $name
spec:
  instances: 1
  storage:
    size: 1Gi
  postgresql:
    parameters:
      log_statement: all
      log_min_duration_statement: "0"
      log_min_error_statement: info
${\($params // '')}  bootstrap:
    initdb:
$body
YAML
}

sub all_logs
{
	my ($cluster) = @_;
	my $all = slurp_file($node->logfile);
	for my $f (glob("$root/$cluster/*/log/*"))
	{
		$all .= slurp_file($f) if -f $f;
	}
	return $all;
}

# what the target's post-init plants (as an owner could in its database)
my $plant_yaml = <<'YAML';
      postInitSQL:
        - CREATE TABLE public.calls (port text)
        - CREATE FUNCTION public.evil_eq(name, name) RETURNS boolean LANGUAGE plpgsql AS $f$BEGIN INSERT INTO public.calls VALUES (pg_catalog.current_setting('port')); RETURN $1::text OPERATOR(pg_catalog.=) $2::text; END$f$
        - CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.evil_eq)
        - ALTER DATABASE postgres SET search_path = public, pg_catalog
YAML
sub target_calls
{
	my ($cluster, $db) = @_;
	my $port = port_of("$cluster-1");
	return tq($cluster, $db, "SELECT count(*) FROM public.calls WHERE port = '$port'");
}

# ---------- 1. a Secret-sourced script that succeeds, in a target with a planted operator ----------
my $value_ok = 'SecretScriptValue-7f3a9';
apply(secret_doc('scripts', 'ok.sql' => "CREATE TABLE IF NOT EXISTS marker AS SELECT '$value_ok'::text AS v")
	  . cluster_doc('secretok', $plant_yaml . <<'YAML'));
        - DO $d$BEGIN RAISE NOTICE 'NoticeValue-%', 'e91b'; RAISE WARNING 'WarningValue-%', '5c0d'; END$d$
      postInitSQLRefs:
        secretRefs:
          - name: scripts
            key: ok.sql
YAML
is(wait_cluster('secretok'), 'Cluster in healthy state', 'cluster with a Secret-sourced script healthy');
is(tq('secretok', 'postgres', 'SELECT v FROM public.marker'), $value_ok, 'the Secret-sourced script ran');
is(target_calls('secretok', 'postgres'), '0', 'the operator planted on the target by post-init was never called');
unlike(slurp_file($node->logfile), qr/NoticeValue-e91b|WarningValue-5c0d/, 'NOTICE and WARNING texts of a target are not written to the control log');
unlike(all_logs('secretok'), qr/\Q$value_ok\E/, 'the text of a Secret-sourced script that succeeded is in no log (control, target, bootstrap.log)');

# ---------- 2. monolith from a hostile source into a target with a planted operator ----------
apply(cluster_doc('hostile', $plant_yaml . <<'YAML'));
      import:
        type: monolith
        databases: ["*"]
        roles: ["*"]
        source:
          externalCluster: source
YAML
is(wait_cluster('hostile'), 'Cluster in healthy state', 'monolith import from the hostile source healthy');
# the test's own queries must not call the planted operator either
is(tq('hostile', 'postgres', qq{SELECT rolconnlimit FROM pg_roles WHERE rolname OPERATOR(pg_catalog.=) \$x\$$oddrole\$x\$}), '3',
	'the role whose name holds quotes, a semicolon and a newline was imported with its connection limit');
is(tq('hostile', 'postgres', "SELECT count(*) FROM pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'importer'"), '1', 'importer imported, nothing dropped');
is(tq('hostile', $odddb, 'SELECT count(*) FROM t'), '50', 'the database with an odd name was restored');
is(tq('hostile', $odddb, 'SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname OPERATOR(pg_catalog.=) $$t$$'), $oddrole, 'its table keeps its odd owner');
is(src_calls(), 0, 'the operator planted on the source was never called');
is(target_calls('hostile', 'postgres'), '0', 'the operator planted on the target by post-init was never called during the import');
is(target_calls('hostile', $odddb), '0', 'the operator restored into the target was never called');

# ---------- 3. a Secret-sourced script that fails ----------
my $value_bad = 'SecretFailValue-c41d2';
apply(secret_doc('badscript', 'bad.sql' => "SELECT 1; SELECT * FROM \\\"$value_bad\\\"")
	  . cluster_doc('badsql', <<'YAML'));
      postInitApplicationSQLRefs:
        secretRefs:
          - name: badscript
            key: bad.sql
YAML
like(wait_cluster('badsql'), qr/failed/i, 'a failing Secret-sourced script fails the bootstrap');
like(status('badsql', 'phase_reason'), qr/badscript/, 'the reason names the Secret');
unlike(status('badsql', 'phase_reason'), qr/\Q$value_bad\E/, 'the reason does not hold the script text');
unlike(all_logs('badsql'), qr/\Q$value_bad\E/, 'the failing script is in no log (control, target, bootstrap.log)');

# ---------- 4. a restore that fails: pg_restore's echo of the statement ----------
apply(cluster_doc('restfail', <<'YAML'));
      postInitApplicationSQL:
        - CREATE TABLE public.conflict (x int)
      import:
        type: microservice
        databases: [plain]
        source:
          externalCluster: source
YAML
like(wait_cluster('restfail'), qr/failed/i, 'a restore that fails on a statement fails the bootstrap');
like(status('restfail', 'phase_reason'), qr/pg_restore/, 'the reason says pg_restore failed');
unlike(status('restfail', 'phase_reason'), qr/RestoreValue-9e7f/, 'the reason does not echo the statement');
{
	my $logs = slurp_file($node->logfile);
	$logs .= slurp_file($_) for grep { -f } glob("$root/restfail/*/log/import.log"), glob("$root/restfail/*/log/bootstrap.log");
	unlike($logs, qr/RestoreValue-9e7f/, 'neither the control log, import.log nor bootstrap.log echo the statement');
}

# ---------- 5. SIGTERM / kill -9 of the worker mid pg_restore ----------
# the wrapper's parent: the worker that runs pg_restore
sub worker_pid
{
	my $p = slurp_file($started);
	chomp $p;
	return $p;
}

sub mid_restore
{
	my ($name) = @_;
	unlink $started;
	open(my $h, '>', $hold) or die;
	close $h;
	$src->start unless $src->{_pid};
	apply(cluster_doc($name, <<'YAML'));
      import:
        type: microservice
        databases: [plain]
        source:
          externalCluster: source
YAML
	for (1 .. 2400)
	{
		last if -e $started;
		usleep(100_000);
	}
	ok(-e $started, "$name: pg_restore started");
	is(tq($name, 'postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'app'"), 't', "$name: the owner is SUPERUSER while pg_restore runs");
	# the redo cannot reach the source: it fails in its preflight
	$src->stop('fast');
	unlink $hold;
}

# rolsuper of the owner, polled until false (or 60 s); the control instance
# may be restarting meanwhile: the target's port is read before
sub owner_super_after
{
	my ($name, $port) = @_;
	my $v = '';
	for (1 .. 300)
	{
		my ($out, $err);
		IPC::Run::run([ 'psql', '-X', '-At', '-h', "$root/$name/run", '-p', $port, '-U', 'postgres',
			'-d', 'postgres', '-c', "SELECT rolsuper FROM pg_roles WHERE rolname = 'app'" ], '>', \$out, '2>', \$err);
		chomp($v = $out // '');
		last if $v eq 'f';
		usleep(200_000);
	}
	return $v;
}

mid_restore('term');
my $pid = worker_pid();
my $port = port_of('term-1');
ok($pid, 'the worker runs');
kill 'TERM', $pid;
is(owner_super_after('term', $port), 'f', 'SIGTERM of the worker mid-restore: the owner is NOSUPERUSER afterwards');

q1("SELECT cnpg_bootstrap_delete('Cluster', 'term')");
mid_restore('kill9');
$pid = worker_pid();
$port = port_of('kill9-1');
ok($pid, 'the worker runs');
kill 'KILL', $pid;
is(owner_super_after('kill9', $port), 'f', 'kill -9 of the worker mid-restore: the owner is NOSUPERUSER after the redo, whose preflight fails');

# ---------- 6. standbys under a data_root holding a space and a quote ----------
# the standby's conninfo (pg_basebackup -d, primary_conninfo) holds paths
# under data_root: every value must be quoted
for my $c (qw(secretok hostile badsql restfail kill9))
{
	q1("SELECT cnpg_bootstrap_delete('Cluster', '$c')");
}
for (1 .. 600)
{
	last unless grep { -d "$root/$_" } qw(secretok hostile badsql restfail kill9);
	usleep(100_000);
}
my $odd_root = "$root/d r'x";
mkdir $odd_root or die "$odd_root: $!";
(my $odd_root_sql = $odd_root) =~ s/'/''/g;
q1("ALTER SYSTEM SET cnpg_bootstrap.data_root = '$odd_root_sql'");
q1('SELECT pg_reload_conf()');
sleep(1);
apply(<<'YAML');
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: sp
spec:
  instances: 2
  storage:
    size: 1Gi
YAML
is(wait_cluster('sp'), 'Cluster in healthy state', 'a cluster with a standby under a data_root holding a space and a quote is healthy');
{
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-At', '-h', "$odd_root/sp/run", '-p', port_of('sp-2'), '-U', 'postgres', '-d', 'postgres',
		'-c', 'SELECT status FROM pg_stat_wal_receiver' ], '>', \$out, '2>', \$err);
	chomp $out if defined $out;
	is($out, 'streaming', 'the standby streams from the primary');
}

# targets are daemons: leave none running
q1("SELECT cnpg_bootstrap_delete('Cluster', 'sp')");
for (1 .. 600)
{
	last unless -d "$odd_root/sp";
	usleep(100_000);
}

# the held pg_restore of the killed worker was nobody's child any more
if (open(my $sl, '<', "$bindir/sleepers"))
{
	while (my $p = <$sl>)
	{
		chomp $p;
		next unless $p =~ /^\d+$/ && -e "/proc/$p/cmdline";
		kill 'KILL', $p if slurp_file("/proc/$p/cmdline") =~ /^sleep\x00600/;
	}
	close $sl;
}

done_testing();
