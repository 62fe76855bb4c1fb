#!/usr/bin/env bash
# The full fault matrix (issue 14, item 1): every case of t/022_faults.pl and
# t/023_faults_recovery.pl with CB_FAULTS=full (CI runs a reduced set of the
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
CB_FAULTS_PORTS=${CB_FAULTS_PORTS:-59500-59599} CB_FAULTS_RECOVERY_PORTS=${CB_FAULTS_RECOVERY_PORTS:-59600-59699} \
	CB_FAULTS=full "$ROOT/tools/dev-check.sh" t/022_faults.pl t/023_faults_recovery.pl >/tmp/cb-faults.$$.log 2>&1 || rc=$?
LOGDIR=/tmp/cbdev-$(basename "$ROOT")/src/tmp_check/log
cat "$LOGDIR"/regress_log_022_faults "$LOGDIR"/regress_log_023_faults_recovery 2>/dev/null |
	grep -o 'MATRIX .*' | perl -ne '
	my (undef, $fault, $res, $secs) = split;
	my ($step, $when, $kind) = split /:/, $fault;
	$kinds{$kind} = 1; $row{"$step $when"}{$kind}[0]++; $inj++;
	if ($res eq "survived") { $row{"$step $when"}{$kind}[1]++; $sur++; }
	push @times, $secs;
	END {
		my @k = sort keys %kinds;
		printf "%-26s" . (" %14s" x @k) . "\n", "step when", @k;
		for my $r (sort keys %row) {
			printf "%-26s" . (" %14s" x @k) . "\n", $r,
			  map { my $c = $row{$r}{$_}; $c ? ($c->[1] // 0) . "/" . $c->[0] : "-" } @k;
		}
		@times = sort { $a <=> $b } @times;
		printf "\nfaults injected / survived: %d / %d; seconds from apply to healthy per case: median %.1f, max %.1f\n",
		  $inj, $sur, $times[$#times / 2] // 0, $times[-1] // 0;
	}'
echo "(full log: /tmp/cb-faults.$$.log; exit $rc)"
exit $rc
