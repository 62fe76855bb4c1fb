# Paths of the Bootstrap page that no other test reached (issue 12, item 11),
# clusters made by initdb only (t/017 has the clones and the recovery):
# - a `password` key in connectionParameters refused at apply;
# - cnpg_bootstrap_wait timing out, with the phase in its DETAIL;
# - `locale` alone, `localeProvider: libc` (accepted on 15), logLevel
#   `debug` adding initdb's -d, CREATE DATABASE in postInitSQL, the HA slots
#   `_cnpg_<instance>` made and used, cnpg_bootstrap_replication's figures;
# - `localeProvider: builtin` refused on 15, naming the versions;
# - a missing ConfigMap and a missing key in postInitSQLRefs;
# - cnpg_bootstrap.bindir with %v: another major's (fake) binaries used;
# - a data_root too long for the socket paths;
# - the free-space check: storage.size times instances, walStorage counted.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;

use lib 't';
use CbTest;

my ($node, $root) = start_control('57800-57899');

sub cluster_yaml
{
	my ($name, $spec) = @_;
	return <<"YAML" . ($spec // '');
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

# the error of an apply that must fail ('' if it did not)
sub apply_error
{
	my ($yaml) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"SELECT * FROM cnpg_bootstrap_apply(\$yaml\$$yaml\$yaml\$)");
	return $ret == 0 ? '' : $err;
}

# the reason a cluster is refused, at apply or at bootstrap: the rules of
# references may move from the worker to apply (issue 12); either way the
# text must name what is missing
sub refusal
{
	my ($name, $yaml) = @_;
	my $err = apply_error($yaml);
	return "apply: $err" if $err ne '';
	my $phase = wait_cluster($name, '2 minutes');
	return "$phase: " . (status($name, 'phase_reason') // '');
}

sub set_guc
{
	my ($guc, $value) = @_;
	if (defined $value) { q1("ALTER SYSTEM SET cnpg_bootstrap.$guc = '$value'"); }
	else { q1("ALTER SYSTEM RESET cnpg_bootstrap.$guc"); }
	q1('SELECT pg_reload_conf()');
	my $want = $value // ($guc eq 'data_root' ? $root : '');
	$node->poll_query_until('postgres', "SELECT current_setting('cnpg_bootstrap.$guc') = '$want'")
	  or die "$guc never became $want";
	sleep(1);    # the launcher reloads at its next wake-up
}

# ---------- a password in connectionParameters: refused at apply ----------
{
	my $err = apply_error(cluster_yaml('pwparam', <<'YAML'));
  bootstrap:
    pg_basebackup:
      source: origin
  externalClusters:
  - name: origin
    connectionParameters:
      host: localhost
      user: streaming_replica
      password: Param-Pa55-In-Conninfo
YAML
	like($err, qr/connectionParameters.*password.*(would reach command lines|Secret)/s,
		'a password key in connectionParameters is refused at apply, saying why');
	unlike($err, qr/Param-Pa55-In-Conninfo/, 'the refusal does not repeat the password');
	is(q1("SELECT count(*) FROM cnpg_bootstrap_status('pwparam')"), '0', 'nothing stored');
}

# ---------- locale alone, localeProvider libc, logLevel debug, CREATE DATABASE ----------
apply(cluster_yaml('loc', <<'YAML') =~ s/instances: 1/instances: 2/r);
  logLevel: debug
  bootstrap:
    initdb:
      locale: C.UTF-8
      localeProvider: libc
      postInitSQL:
      - CREATE DATABASE made_by_postinit
      - CREATE TABLE in_postgres (i int)
YAML

# cnpg_bootstrap_wait gives up with an error naming the cluster and its phase
{
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT cnpg_bootstrap_wait('loc', '10 ms')");
	isnt($ret, 0, 'wait with a timeout shorter than the bootstrap fails');
	like($err, qr/timed out waiting for cluster "loc"/, 'wait: the error names the cluster');
	like($err, qr/DETAIL:  After 00:00:00.01 the phase is "[^"]+"/, 'wait: the DETAIL gives the timeout and the phase');
	($ret, $out, $err) = $node->psql('postgres', "SELECT cnpg_bootstrap_wait('nosuch', '1 s')");
	like($err, qr/cluster "nosuch" does not exist/, 'wait on an unknown cluster: does not exist');
}

is(wait_cluster('loc'), 'Cluster in healthy state', 'loc: healthy');
# `locale` alone: CloudNativePG's code still defaults localeCollate and
# localeCType to C and passes them too; initdb lets the explicit lc flags
# win, so collate and ctype stay C and the other categories take the locale
# (docs/cnpg-rules.md §13)
my $blog = slurp_file("$root/loc/loc-1/log/bootstrap.log");
my ($initdb_line) = $blog =~ /^(---- \S*initdb .*)$/m;
$initdb_line //= '';
like($initdb_line, qr/ --locale=C\.UTF-8( |$)/, 'locale alone: initdb got --locale');
like($initdb_line, qr/ --lc-collate=C --lc-ctype=C /, 'and the defaulted --lc-collate=C --lc-ctype=C, as CloudNativePG passes them');
is(tq('loc', 'postgres', "SELECT datcollate || ' ' || datctype || ' ' || datlocprovider::text FROM pg_database WHERE datname = 'template1'"),
	'C C c', 'collate and ctype are C (explicit lc flags win), provider libc');
is(tq('loc', 'postgres', "SELECT current_setting('lc_messages') || ' ' || current_setting('lc_monetary')"),
	'C.UTF-8 C.UTF-8', 'the other categories take the locale');
like($initdb_line, qr/ --locale-provider=libc( |$)/, 'initdb got --locale-provider=libc (accepted on 15)');
like($initdb_line, qr/ -d( |$)/, 'logLevel debug: initdb got -d');
like($blog, qr/^Running in debug mode\.$/m, 'and initdb ran in debug mode');
is(tq('loc', 'postgres', "SELECT count(*) FROM pg_database WHERE datname = 'made_by_postinit'"), '1',
	'CREATE DATABASE in postInitSQL ran');
is(tq('loc', 'postgres', "SELECT to_regclass('in_postgres') IS NOT NULL"), 't', 'and the item after it too');

# HA slots: _cnpg_<instance> on the primary, used by the standby
is(tq('loc', 'postgres', "SELECT string_agg(slot_name || ':' || slot_type || ':' || active, ' ') FROM pg_replication_slots"),
	'_cnpg_loc_2:physical:true', 'the primary has the HA slot _cnpg_loc_2, active');
is(tq('loc', 'postgres', 'SHOW primary_slot_name', 'loc-2'), '_cnpg_loc_2', 'the standby streams through it');
is(tq('loc', 'postgres', "SELECT count(*) FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid"
	  . " WHERE r.application_name = 'loc-2' AND s.slot_name = '_cnpg_loc_2'"),
	'1', 'the slot is held by loc-2\'s WAL sender');

# cnpg_bootstrap_replication: what the worker saw when the cluster became healthy
{
	my $rows = q1("SELECT string_agg(instance || ':' || role || ':' || status || ':' || coalesce(lag_bytes::text, '-'), ' ' ORDER BY instance)"
		  . " FROM cnpg_bootstrap_replication('loc')");
	like($rows, qr/^loc-1:primary:running:- loc-2:replica:streaming:\d+$/, 'replication(): primary without lag, standby with a lag in bytes');
	my ($plsn, $slsn, $lag) = split /\|/, q1("SELECT p.lsn, s.lsn, s.lag_bytes FROM cnpg_bootstrap_replication('loc') p,"
		  . " cnpg_bootstrap_replication('loc') s WHERE p.instance = 'loc-1' AND s.instance = 'loc-2'");
	is($lag, q1("SELECT greatest(0, pg_wal_lsn_diff('$plsn', '$slsn'))::bigint"),
		'the standby\'s lag is the primary\'s LSN minus its replayed LSN');
	is(q1("SELECT '$slsn'::pg_lsn <= '$plsn'::pg_lsn AND '$plsn'::pg_lsn <= '" . tq('loc', 'postgres', 'SELECT pg_current_wal_lsn()') . "'"),
		't', 'the LSNs are real positions of the cluster');
	is(q1("SELECT lsn FROM cnpg_bootstrap_instances('loc') WHERE instance = 'loc-2'"), $slsn,
		'instances() and replication() agree');
}

# ---------- localeProvider builtin: refused on 15 ----------
apply(cluster_yaml('bltin', <<'YAML'));
  bootstrap:
    initdb:
      localeProvider: builtin
      builtinLocale: C.UTF-8
YAML
is(wait_cluster('bltin', '2 minutes'), 'Bootstrap failed', 'localeProvider builtin on 15: Bootstrap failed');
like(status('bltin', 'phase_reason'),
	qr/spec\.bootstrap\.initdb\.(localeProvider = builtin|builtinLocale) needs PostgreSQL 17 or later, the binaries in ".*" are PostgreSQL 15/,
	'the reason names the option and both versions');
ok(!-e "$root/bltin/bltin-1/pgdata", 'bltin: no data directory');
apply(cluster_yaml('bltin2', <<'YAML'));
  bootstrap:
    initdb:
      localeProvider: builtin
YAML
is(wait_cluster('bltin2', '2 minutes'), 'Bootstrap failed', 'localeProvider builtin alone on 15: Bootstrap failed');
like(status('bltin2', 'phase_reason'),
	qr/spec\.bootstrap\.initdb\.localeProvider = builtin needs PostgreSQL 17 or later, the binaries in ".*" are PostgreSQL 15/,
	'the reason names localeProvider = builtin and both versions');

# ---------- a missing ConfigMap, a missing key in postInitSQLRefs ----------
like(refusal('nocm', cluster_yaml('nocm', <<'YAML')),
  bootstrap:
    initdb:
      postInitSQLRefs:
        configMapRefs:
        - name: no-such-cm
          key: init.sql
YAML
	qr/^(apply|Bootstrap failed): .*ConfigMap "no-such-cm".*(does not exist|not found)/s,
	'a missing ConfigMap in postInitSQLRefs is refused, naming it');
like(refusal('nokey', <<'YAML' . cluster_yaml('nokey', <<'SPEC')),
apiVersion: v1
kind: ConfigMap
metadata:
  name: some-cm
data:
  other.sql: SELECT 1
---
YAML
  bootstrap:
    initdb:
      postInitSQLRefs:
        configMapRefs:
        - name: some-cm
          key: init.sql
SPEC
	qr/^(apply|Bootstrap failed): .*key "init\.sql" of ConfigMap "some-cm".*(does not exist|not found)/s,
	'a missing key of a ConfigMap in postInitSQLRefs is refused, naming the key');
ok(!-e "$root/nocm/nocm-1/pgdata" && !-e "$root/nokey/nokey-1/pgdata", 'no initdb for either');

# ---------- bindir with %v: the major of imageName's tag picks the binaries ----------
my $realbin = `pg_config --bindir`;
chomp $realbin;
mkdir "$root/v15";
symlink($realbin, "$root/v15/bin") or die;
mkdir "$root/v16";
mkdir "$root/v16/bin";
for my $tool (qw(pg_ctl pg_basebackup postgres pg_controldata))
{
	symlink("$realbin/$tool", "$root/v16/bin/$tool");
}
# initdb of "PostgreSQL 16": says so, and runs the real one otherwise
open(my $fh, '>', "$root/v16/bin/initdb") or die;
print $fh "#!/bin/sh\nif [ \"\$1\" = --version ]; then echo 'initdb (PostgreSQL) 16.1'; exit 0; fi\n"
  . "echo fake-initdb-16-ran\nexec '$realbin/initdb' \"\$@\"\n";
close $fh;
chmod 0755, "$root/v16/bin/initdb";
set_guc('bindir', "$root/v%v/bin");

my $icu = <<'YAML';
  bootstrap:
    initdb:
      localeProvider: icu
      icuLocale: und
      icuRules: '&a < b'
YAML
apply(cluster_yaml('img15', "  imageName: ghcr.io/cloudnative-pg/postgresql:15.6\n$icu"));
apply(cluster_yaml('img16', "  imageName: ghcr.io/cloudnative-pg/postgresql:16.1-standard-bookworm\n$icu"));
apply(cluster_yaml('img17', "  imageName: ghcr.io/cloudnative-pg/postgresql:17.2\n"));
apply(cluster_yaml('imgok', "  imageName: ghcr.io/cloudnative-pg/postgresql:15.6\n"));
is(wait_cluster('img15', '2 minutes'), 'Bootstrap failed', '%v, tag 15 + icuRules: Bootstrap failed');
like(status('img15', 'phase_reason'), qr/icuRules needs PostgreSQL 16 or later, the binaries in "\Q$root\E\/v15\/bin" are PostgreSQL 15/,
	'%v -> v15/bin, whose binaries are 15');
is(wait_cluster('img16', '2 minutes'), 'Bootstrap failed', '%v, tag 16 + icuRules: the fake 16 passes the check, real initdb 15 fails');
my $log16 = -f "$root/img16/img16-1/log/bootstrap.log" ? slurp_file("$root/img16/img16-1/log/bootstrap.log") : '';
like($log16, qr/^---- \Q$root\E\/v16\/bin\/initdb .*--icu-rules=/m, '%v -> v16/bin/initdb ran, given --icu-rules (a 16 option)');
like($log16, qr/fake-initdb-16-ran/, 'the fake 16 initdb itself ran');
unlike(status('img16', 'phase_reason'), qr/needs PostgreSQL 16/, 'img16 is not refused for its version');
is(wait_cluster('img17', '2 minutes'), 'Bootstrap failed', '%v, tag 17 with no binaries: Bootstrap failed');
like(status('img17', 'phase_reason'), qr/\Q$root\E\/v17\/bin/, 'the reason names the directory looked in');
is(wait_cluster('imgok'), 'Cluster in healthy state', '%v, tag 15, no 16 option: healthy with v15/bin');
like(slurp_file("$root/imgok/imgok-1/log/bootstrap.log"), qr/^---- \Q$root\E\/v15\/bin\/initdb /m, 'imgok: initdb from v15/bin');
unlike(slurp_file("$root/imgok/imgok-1/log/bootstrap.log"), qr/^---- \S*initdb .* -d( |$)/m, 'logLevel info (the default): no -d');
set_guc('bindir', undef);

# ---------- a data_root too long for the socket paths ----------
{
	my $long = "$root/" . ('d' x (100 - length($root)));
	mkdir $long or die;
	chmod 0700, $long;
	set_guc('data_root', $long);
	apply(cluster_yaml('sock'));
	is(wait_cluster('sock', '2 minutes'), 'Bootstrap failed', 'a data_root too long for socket paths: Bootstrap failed');
	like(status('sock', 'phase_reason'), qr/unix socket path of cluster "sock" would be too long.*must fit in 107 bytes/s,
		'the reason says the socket path is too long and its limit');
	ok(!-e "$long/sock", 'nothing made under it');
	q1("SELECT cnpg_bootstrap_delete('Cluster', 'sock')");
	set_guc('data_root', undef);
}

# ---------- free space: storage.size times instances, walStorage counted ----------
{
	my ($free) = `df -B1 --output=avail '$root'` =~ /(\d+)\s*$/;
	my $part = int($free * 0.6);    # fits once, not twice
	apply(cluster_yaml('space2', '') =~ s/instances: 1/instances: 2/r =~ s/size: 1Gi/size: "$part"/r);
	is(wait_cluster('space2', '2 minutes'), 'Bootstrap failed', 'storage.size fits once but not for 2 instances: Bootstrap failed');
	my $r = status('space2', 'phase_reason');
	like($r, qr/not enough free space for cluster "space2"/, 'space2: the reason says so');
	like($r, qr/\b$part bytes\b.*2 instances/s, 'space2: with the size and the instances');
	ok(!-e "$root/space2/space2-1/pgdata", 'space2: no initdb');

	apply(cluster_yaml('spacewal', "  walStorage:\n    size: \"$part\"\n") =~ s/size: 1Gi/size: "$part"/r);
	is(wait_cluster('spacewal', '2 minutes'), 'Bootstrap failed', 'storage + walStorage do not fit: Bootstrap failed');
	like(status('spacewal', 'phase_reason'), qr/not enough free space for cluster "spacewal".*walStorage\.size/s,
		'spacewal: the reason counts walStorage.size');
	my $small = int($free * 0.1);
	apply(cluster_yaml('spaceok', "  walStorage:\n    size: \"$small\"\n") =~ s/instances: 1/instances: 2/r
		  =~ s/size: 1Gi/size: "$small"/r);
	is(wait_cluster('spaceok'), 'Cluster in healthy state', '(storage + walStorage) x instances within the free space: healthy');
}

for my $c (qw(loc bltin bltin2 nocm nokey img15 img16 img17 imgok space2 spacewal spaceok))
{
	q1("SELECT cnpg_bootstrap_delete('Cluster', '$c') WHERE EXISTS (SELECT 1 FROM cnpg_bootstrap_status('$c'))");
}
$node->poll_query_until('postgres', 'SELECT NOT EXISTS (SELECT 1 FROM cnpg_bootstrap.teardown)');
$node->stop;
done_testing();
