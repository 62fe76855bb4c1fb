#!/usr/bin/env bash
# `make deb`: build the Debian package postgresql-15-cnpg-bootstrap from this
# tree (debian/, pg_buildext's debhelper sequence) in a temporary copy, so that
# the tree keeps no build products, and put the .deb in OUTDIR.
#   tools/build-deb.sh [OUTDIR]      (default: build/ in the tree)
# As root, installs what the build needs first (.ci/setup-lib.sh).  Prints the
# path of the .deb on its last line.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../.ci/setup-lib.sh
source "$ROOT/.ci/setup-lib.sh"
OUTDIR=${1:-$ROOT/build}

if [ "$(id -u)" -eq 0 ]; then
	ensure_packages
	ensure_deb_packages
fi

# the package's version is the extension's: 0.1.x for default_version '0.1'
ext=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$ROOT/cnpg_bootstrap.control")
ver=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
case $ver in
"$ext" | "$ext".*) ;;
*) echo "debian/changelog's version $ver is not cnpg_bootstrap.control's default_version $ext" >&2; exit 1 ;;
esac

# the package carries the command and its man page (debian/*.links, *.manpages)
[ -f "$ROOT/doc/cnpg-bootstrap.1" ] ||
	{ echo "doc/cnpg-bootstrap.1 is missing: the package carries the cnpg-bootstrap command and its man page" >&2; exit 1; }

B=$(mktemp -d /tmp/cbdeb.XXXXXX); trap 'rm -rf "$B"' EXIT
S=$B/cnpg-bootstrap-$ver
mkdir "$S"
# what a build in place left behind stays out (debian/rules clean removes the rest)
tar -C "$ROOT" --exclude=.git --exclude=./build --exclude=./debian/.debhelper \
	--exclude='./tmp_check*' --exclude=./output_iso --exclude=./results -cf - . | tar -C "$S" -xf -
# the parallel build dpkg-buildpackage passes on to make through DEB_BUILD_OPTIONS
( cd "$S" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} noddebs" dpkg-buildpackage -b -us -uc -j"$(nproc)" ) \
	>"$B/build.log" 2>&1 || { tail -n 60 "$B/build.log" >&2; echo "dpkg-buildpackage failed" >&2; exit 1; }
mkdir -p "$OUTDIR"
deb=$(ls "$B"/postgresql-*-cnpg-bootstrap_"$ver"_*.deb)
cp "$deb" "$OUTDIR/"
echo "$(cd "$OUTDIR" && pwd)/$(basename "$deb")"
