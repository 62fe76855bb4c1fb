#!/usr/bin/env bash
# The Debian package, built, installed, used and removed, as root on Debian 12
# (tools/run-tests.sh runs it last): `make deb`'s .deb is installed with
# apt-get (which pulls its runtime libraries), its files are checked, a
# throwaway control instance of its own (postgres OS user, ports 59400-59449)
# bootstraps a one-instance initdb Cluster applied with the package's
# cnpg-bootstrap command, and the cluster is queried; then the package is
# removed and purged, and the cluster's directory and its running server must
# be left alone (the target still answers).  Afterwards the system is as the test found it: files of the
# package that existed before (a `make install`) are put back, and a package
# that was installed before is installed again.
#   DEB=<file>   test this .deb instead of building one
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../.ci/setup-lib.sh
source "$ROOT/.ci/setup-lib.sh"
PKG=postgresql-15-cnpg-bootstrap
PORT=59400
CL=deb-example

[ "$(id -u)" -eq 0 ] || { echo "run as root (servers run as the postgres OS user)" >&2; exit 2; }
W=$(mktemp -d /tmp/cbdebt.XXXXXX)
chmod 0755 "$W"
fail() { echo "deb-test: FAILED: $*" >&2; exit 1; }
as_pg() { runuser -u postgres -- env -i PATH="$PGBIN:/usr/bin:/bin" HOME="$W" LANG=C.UTF-8 "$@"; }
ctl() { as_pg psql -X -At -h "$W" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

prior_pkg=$(dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null || true)
touched=    # set once the test installs: from then on, cleanup puts the system back
cleanup() {
	local rc=$? f
	set +e
	# the control instance first, so that nothing restarts a target meanwhile
	[ -f "$W/control/postmaster.pid" ] && as_pg pg_ctl -D "$W/control" -m fast -w stop >/dev/null 2>&1
	find "$W/clusters" -name postmaster.pid 2>/dev/null | while read -r f; do
		as_pg pg_ctl -D "${f%/*}" -m fast -w stop >/dev/null 2>&1 ||
			as_pg pg_ctl -D "${f%/*}" -m immediate stop >/dev/null 2>&1
	done
	if [ -n "$touched" ]; then
		# installed, or its configuration left by a failed removal
		dpkg --purge "$PKG" >/dev/null 2>&1
		if [ "$prior_pkg" = installed ]; then
			apt_get install --reinstall "$DEB" >/dev/null || echo "deb-test: could not reinstall $PKG" >&2
		elif [ -s "$W/prior.tar" ]; then
			tar -C / -xpf "$W/prior.tar" || echo "deb-test: could not restore $W/prior.tar" >&2
		fi
	fi
	rm -rf "$W"
	exit $rc
}
trap cleanup EXIT

# 1. build
t0=$(date +%s)
if [ -z "${DEB:-}" ]; then
	DEB=$("$ROOT/tools/build-deb.sh" "$W/out" | tail -n 1)
	echo "deb-test: built $(basename "$DEB") in $(($(date +%s) - t0)) s"
fi
[ -f "$DEB" ] || fail "no package at $DEB"
DEB=$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")

# what the package will replace that a `make install` put there (not owned by
# any package): kept, and restored at the end
sort -u /var/lib/dpkg/info/*.list >"$W/owned"
dpkg-deb --fsys-tarfile "$DEB" | tar -tf - | sed 's|^\./|/|' | sort -u | comm -23 - "$W/owned" |
	while read -r f; do
		if [ -f "$f" ] || [ -L "$f" ]; then echo "${f#/}"; fi
	done >"$W/prior.list"
if [ -s "$W/prior.list" ]; then tar -C / -cpf "$W/prior.tar" -T "$W/prior.list"; fi

# 2. install, as a user would: apt resolves the Depends
touched=1
t1=$(date +%s)
# --reinstall: the same version may be installed, its files overwritten by a make install
apt_get install --reinstall "$DEB" >/dev/null || fail "apt-get install $DEB"
echo "deb-test: installed $(dpkg-query -W -f='${Package} ${Version}' "$PKG") in $(($(date +%s) - t1)) s"
files=$(dpkg -L "$PKG")
for f in /usr/lib/postgresql/15/lib/cnpg_bootstrap.so \
	/usr/share/postgresql/15/extension/cnpg_bootstrap.control \
	/usr/share/postgresql/15/extension/cnpg_bootstrap--0.1.sql \
	/usr/lib/postgresql/15/bin/cnpg_bootstrap_wal_restore \
	/usr/lib/postgresql/15/bin/cnpg_bootstrap_wal_fetch \
	/usr/lib/postgresql/15/bin/cnpg-bootstrap /usr/bin/cnpg-bootstrap \
	/usr/share/man/man1/cnpg-bootstrap.1.gz \
	/usr/share/doc/postgresql-15-cnpg-bootstrap/examples/cluster-example.yaml; do
	grep -qxF "$f" <<<"$files" || fail "dpkg -L $PKG does not list $f"
	[ -e "$f" ] || fail "$f is missing after the install"
done
deps=$(dpkg-query -W -f='${Depends}' "$PKG")
for d in postgresql-15 libyaml-0-2 libssl3 libcurl4 libarchive13 libpq5; do
	grep -qE "(^|, )$d( |,|$)" <<<"$deps" || fail "Depends lacks $d: $deps"
done
for f in /usr/lib/postgresql/15/lib/cnpg_bootstrap.so /usr/lib/postgresql/15/bin/cnpg_bootstrap_wal_fetch \
	/usr/lib/postgresql/15/bin/cnpg_bootstrap_wal_restore; do
	! ldd "$f" | grep -q 'not found' || fail "$f: $(ldd "$f" | grep 'not found')"
done
out=$(cnpg-bootstrap --help 2>&1) || fail "cnpg-bootstrap --help exited $?: $out"
grep -q apply <<<"$out" || fail "cnpg-bootstrap --help does not mention apply: $out"

# 3. a throwaway control instance of the test's own, with the package's module
mkdir -p "$W/clusters" && chown postgres: "$W" "$W/clusters"
as_pg initdb -D "$W/control" -U postgres -A peer --no-instructions >/dev/null
cat >>"$W/control/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$W'
shared_preload_libraries = 'cnpg_bootstrap'
cnpg_bootstrap.data_root = '$W/clusters'
cnpg_bootstrap.port_range = '$((PORT + 1))-$((PORT + 49))'
log_statement = 'none'
# the spare pool makes and renames its own directories in data_root by itself:
# off, so that the check below (nothing of the clusters' tree disappears on
# removal) sees only what the package's removal does
cnpg_bootstrap.spare_pool_size = 0
CONF
as_pg pg_ctl -D "$W/control" -l "$W/control.log" -w start >/dev/null || { cat "$W/control.log"; fail "control instance"; }
ctl -qc "CREATE EXTENSION cnpg_bootstrap"
cat >"$W/cluster.yaml" <<YAML
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: $CL
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      database: app
      owner: app
      postInitApplicationSQL:
        - CREATE TABLE greeting (id int PRIMARY KEY, text text)
        - INSERT INTO greeting VALUES (1, 'hello from the package')
YAML
chown postgres: "$W/cluster.yaml"
# applied with the package's command, found on PATH through /usr/bin
t1=$(date +%s)
out=$(as_pg cnpg-bootstrap -h "$W" -p "$PORT" -U postgres apply -f "$W/cluster.yaml" --wait --timeout=5m 2>&1) ||
	{ echo "$out"; ctl -c "SELECT phase, phase_reason FROM cnpg_bootstrap_status('$CL')"; fail "cnpg-bootstrap apply --wait"; }
grep -qx "cluster.postgresql.cnpg.io/$CL created" <<<"$out" || fail "cnpg-bootstrap apply printed: $out"
phase=$(ctl -c "SELECT phase FROM cnpg_bootstrap_status('$CL')")
[ "$phase" = 'Cluster in healthy state' ] || fail "$CL: $phase"
echo "deb-test: $CL: $phase in $(($(date +%s) - t1)) s (cnpg-bootstrap apply --wait)"
as_pg cnpg-bootstrap -h "$W" -p "$PORT" -U postgres status "$CL" >/dev/null || fail "cnpg-bootstrap status $CL"
tport=$(ctl -c "SELECT port FROM cnpg_bootstrap_instances('$CL') WHERE instance = '$CL-1'")
target() { as_pg psql -X -At -h "$W/clusters/$CL/run" -p "$tport" -U postgres -d app -c "$1"; }
[ "$(target 'SELECT text FROM greeting')" = 'hello from the package' ] || fail "the target's greeting"
pgdata=$(ctl -c "SELECT data_directory FROM cnpg_bootstrap_instances('$CL') WHERE instance = '$CL-1'")
[ -f "$pgdata/PG_VERSION" ] || fail "no PG_VERSION in $pgdata"
tpid=$(head -n 1 "$pgdata/postmaster.pid")
(cd "$W/clusters" && find . -maxdepth 4 | sort) >"$W/tree.before"

# 4. remove, then purge: the user's cluster and its server stay (a removed
# package without conffiles is gone for apt: dpkg purges what may be left)
for how in remove purge; do
	t1=$(date +%s)
	if [ $how = remove ]; then apt_get remove "$PKG" >/dev/null; else dpkg --purge "$PKG" >/dev/null 2>&1; fi ||
		fail "$how $PKG"
	! dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -qx installed || fail "$PKG still installed after $how"
	for f in /usr/share/postgresql/15/extension/cnpg_bootstrap.control /usr/bin/cnpg-bootstrap \
		/usr/lib/postgresql/15/bin/cnpg_bootstrap_wal_fetch; do
		[ ! -e "$f" ] || fail "$f left after $how"
	done
	[ -f "$pgdata/PG_VERSION" ] || fail "$pgdata is gone after $how"
	kill -0 "$tpid" 2>/dev/null || fail "the target's postmaster $tpid stopped after $how"
	[ "$(head -n 1 "$pgdata/postmaster.pid")" = "$tpid" ] || fail "the target restarted after $how"
	[ "$(target 'SELECT text FROM greeting')" = 'hello from the package' ] || fail "the target after $how"
	# the control instance keeps the module it loaded at start
	as_pg pg_ctl -D "$W/control" status >/dev/null || fail "the control instance stopped after $how"
	echo "deb-test: $how: $pgdata and its server (pid $tpid) untouched, the target answers ($how: $(($(date +%s) - t1)) s)"
done
(cd "$W/clusters" && find . -maxdepth 4 | sort) >"$W/tree.after"
# the server writes logs and WAL meanwhile: compare names, not contents, and
# only what the package could have removed (nothing under the cluster)
missing=$(comm -23 "$W/tree.before" "$W/tree.after" | grep -vE '/(log|pg_wal|pg_stat_tmp|pg_logical|pg_subtrans)/' || true)
[ -z "$missing" ] || fail "gone from the cluster directory after the removal: $missing"
echo "deb-test: PASSED ($(($(date +%s) - t0)) s)"
