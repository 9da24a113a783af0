#!/usr/bin/env bash
# Runs every test of the solution (unit, hub on real Kestrel, Redis, browser) and prints one summary line.
set -uo pipefail
cd "$(dirname "$0")"
log=$(mktemp)
dotnet test Herald.slnx -warnaserror --logger "console;verbosity=normal" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# dotnet test prints one 'Failed: X, Passed: Y' summary per test assembly; add them up.
read -r passed failed < <(grep -E '(Passed|Failed)!? +- +Failed: ' "$log" | sed -E 's/.*Failed: *([0-9]+), *Passed: *([0-9]+).*/\2 \1/' | awk '{p+=$1; f+=$2} END {print p+0, f+0}')
rm -f "$log"
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
