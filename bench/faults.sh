#!/usr/bin/env bash
# The full fault matrix (issue 14, item 1): every case of t/021_faults.pl and
# t/022_faults_recovery.pl with CB_FAULTS=full (CI runs a reduced set of the
# same files), built and run through tools/dev-check.sh (a private copy of
# PostgreSQL's installation, servers as the postgres OS user).  Prints the
# matrix: per step and fault kind, survived / injected, and the time each
# case took to reach healthy after its fault.  Run as root.
#   CB_FAULTS_ONLY=<regex>   only the matching cases
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "run as root (servers run as the postgres OS user)" >&2; exit 2; }
echo "# $(date -u '+%F %T UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
rc=0
CB_FAULTS=full "$ROOT/tools/dev-check.sh" t/021_faults.pl t/022_faults_recovery.pl >/tmp/cb-faults.$$.log 2>&1 || rc=$?
LOGDIR=/tmp/cbdev-$(basename "$ROOT")/src/tmp_check/log
cat "$LOGDIR"/regress_log_021_faults "$LOGDIR"/regress_log_022_faults_recovery 2>/dev/null |
	grep -o 'MATRIX .*' | awk '
	{ split($2, f, ":"); key = f[1] " " f[2]; kind[f[3]] = 1; step[key] = 1
	  n[key, f[3]]++; if ($3 == "survived") ok[key, f[3]]++; inj++; if ($3 == "survived") sur++
	  t[$2] = $4 }
	END {
	  nk = 0; for (k in kind) kinds[++nk] = k
	  printf "%-28s", "step when"; for (i = 1; i <= nk; i++) printf " %15s", kinds[i]; printf "\n"
	  for (s in step) { printf "%-28s", s
	    for (i = 1; i <= nk; i++) { k = kinds[i]
	      if (n[s, k]) printf " %15s", (ok[s, k] + 0) "/" n[s, k]; else printf " %15s", "-" }
	    printf "\n" }
	  printf "\nfaults injected / survived: %d / %d\n", inj, sur
	}' | sort -k1,1 -s
echo "(full log: /tmp/cb-faults.$$.log; exit $rc)"
exit $rc
