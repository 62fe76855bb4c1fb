#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine, as root: install what is
# missing, build and install cnpg_bootstrap, create a control instance of our
# own the way Debian manages PostgreSQL clusters (pg_createcluster 15 $CB_NAME,
# its own port and data directory, started with pg_ctlcluster, so that it
# starts at boot as postgresql@15-$CB_NAME wherever systemd runs) and
# bootstrap examples/cluster-example.yaml with it.  Idempotent: run it again
# to reuse the control instance.
#   CB_HOME   where the control instance and the clusters live (/var/lib/cnpg_bootstrap)
#   CB_PORT   the control instance's port (5499)
#   CB_NAME   the control instance's Debian cluster name (cnpg)
#   CB_FROM_DEB=1  build the Debian package (make deb, into build/) and install
#             it with apt-get instead of `make install`
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/.ci/setup-lib.sh"
CB_HOME=${CB_HOME:-/var/lib/cnpg_bootstrap}
CB_PORT=${CB_PORT:-5499}
CB_NAME=${CB_NAME:-cnpg}
MANIFEST=${1:-$ROOT/examples/cluster-example.yaml}

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
ensure_packages

if [ "${CB_FROM_DEB:-}" = 1 ]; then
	deb=$("$ROOT/tools/build-deb.sh" "$ROOT/build" | tail -n 1)
	apt_get install "$deb" >/dev/null
	echo "installed $(basename "$deb")"
else
	B=$(mktemp -d /tmp/cbbuild.XXXXXX); trap 'rm -rf "$B"' EXIT
	tar -C "$ROOT" --exclude=.git --exclude=./fuzz/corpus -cf - . | tar -C "$B" -xf -
	chown -R postgres: "$B"
	# a tree that was built in place carries objects older than its headers: start clean
	runuser -u postgres -- make -C "$B" -s clean >/dev/null
	runuser -u postgres -- make -C "$B" -s -j"$(nproc)" >/dev/null
	make -C "$B" -s install >/dev/null
fi

as_pg() { runuser -u postgres -- env -i PATH="$PGBIN:/usr/bin:/bin" HOME="$CB_HOME" LANG=C.UTF-8 "$@"; }
mkdir -p "$CB_HOME/clusters" && chown postgres: "$CB_HOME" "$CB_HOME/clusters" && chmod 0700 "$CB_HOME"
SOCKDIR=/var/run/postgresql
if [ -f "$CB_HOME/control/PG_VERSION" ] && [ ! -d "/etc/postgresql/15/$CB_NAME" ]; then
	# made by an older quick-start with initdb: kept, started with pg_ctl
	SOCKDIR=$CB_HOME
	as_pg "$PGBIN/pg_ctl" -D "$CB_HOME/control" -l "$CB_HOME/control.log" -w status >/dev/null 2>&1 ||
		as_pg "$PGBIN/pg_ctl" -D "$CB_HOME/control" -l "$CB_HOME/control.log" -w start >/dev/null
else
	if [ ! -d "/etc/postgresql/15/$CB_NAME" ]; then
		pg_createcluster 15 "$CB_NAME" --port "$CB_PORT" --datadir "$CB_HOME/control" \
			-o "shared_preload_libraries=cnpg_bootstrap" \
			-o "cnpg_bootstrap.data_root=$CB_HOME/clusters" \
			-o "listen_addresses=" >/dev/null
	fi
	# through systemd where it runs (postgresql@15-$CB_NAME), else pg_ctl
	pg_ctlcluster 15 "$CB_NAME" status >/dev/null 2>&1 || pg_ctlcluster 15 "$CB_NAME" start
	if [ -d /run/systemd/system ]; then
		systemctl enable "postgresql@15-$CB_NAME" >/dev/null 2>&1 || true
	fi
fi

psql_c() { as_pg psql -X -h "$SOCKDIR" -p "$CB_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
psql_c -qc "CREATE EXTENSION IF NOT EXISTS cnpg_bootstrap"
name=$(awk '/^kind: Cluster/{c=1} c && /^  name:/{print $2; exit}' "$MANIFEST")
# -c does not interpolate variables; stdin does
echo "SELECT * FROM cnpg_bootstrap_apply(:'m')" | psql_c -v m="$(cat "$MANIFEST")" -f -
psql_c -c "SELECT cnpg_bootstrap_wait('$name', '10 minutes')"
psql_c -c "SELECT cluster, phase, phase_reason, rw_host, rw_port FROM cnpg_bootstrap_status('$name')"
psql_c -c "SELECT * FROM cnpg_bootstrap_instances('$name')"
echo "control instance: psql -h $SOCKDIR -p $CB_PORT -U postgres   (as the postgres OS user)"
echo "it starts at boot as postgresql@15-$CB_NAME (pg_lsclusters; pg_ctlcluster 15 $CB_NAME stop|start)"
