# Shared shell helpers for .ci/run, tools/quickstart.sh and bench/*.sh.
# Sourced, not executed.  Everything here is idempotent.

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export DEBIAN_FRONTEND=noninteractive

# apt-get that waits for dpkg's lock and retries a held lists lock.
apt_get() {
	local out i
	for i in $(seq 60); do
		out=$(apt-get -o DPkg::Lock::Timeout=300 -y -q "$@" 2>&1) && return 0
		grep -qE 'Could not get lock|Unable to lock' <<<"$out" || { echo "$out" >&2; return 1; }
		sleep 5
	done
	return 1
}

# Install only what is missing: naming an installed package upgrades it.
ensure_packages() {
	local p need=() dev=postgresql-server-dev-15
	for p in build-essential libyaml-dev libssl-dev libcurl4-openssl-dev libpq-dev libarchive-dev \
		libipc-run-perl clang libclang-rt-14-dev postgresql-15 postgresql-contrib openssl; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
	done
	[ -f /usr/include/postgresql/15/server/postgres.h ] && dev=
	[ ${#need[@]} -eq 0 ] && [ -z "$dev" ] && return 0
	apt_get update
	[ ${#need[@]} -eq 0 ] || apt_get install --no-install-recommends "${need[@]}"
	if [ -n "$dev" ]; then
		# pinned to the server's version; the fallback also upgrades the server
		apt_get install --no-install-recommends "$dev=$(dpkg-query -W -f='${Version}' postgresql-15)" ||
			apt_get install --no-install-recommends "$dev"
	fi
}

# What the object-store tests (t/005 to t/007) need besides the build: real
# barman-cloud to make backups and boto3 for it.  Node.js and npm (for the
# s3rver and azurite test stores) come with the machine; Debian's npm would
# conflict with its Node 20, so a machine without them skips those tests.
ensure_test_packages() {
	local p need=()
	for p in barman-cli-cloud python3-boto3; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	apt_get update
	apt_get install --no-install-recommends "${need[@]}"
}

# What `make deb` (tools/build-deb.sh) needs besides the build: dpkg-buildpackage
# and debhelper, and postgresql-server-dev-all for pg_buildext's debhelper
# sequence (dh --with pgxs_loop), pinned to the installed postgresql-common.
ensure_deb_packages() {
	local p need=() all=postgresql-server-dev-all
	for p in dpkg-dev debhelper fakeroot; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
	done
	dpkg-query -W -f='${Status}' "$all" 2>/dev/null | grep -q 'ok installed' && all=
	[ ${#need[@]} -eq 0 ] && [ -z "$all" ] && return 0
	apt_get update
	[ ${#need[@]} -eq 0 ] || apt_get install --no-install-recommends "${need[@]}"
	if [ -n "$all" ]; then
		apt_get install --no-install-recommends "$all=$(dpkg-query -W -f='${Version}' postgresql-common)" ||
			apt_get install --no-install-recommends "$all"
	fi
}
