#!/usr/bin/env bash
# Runs every test of the solution (unit, hub on real Kestrel, Redis, browser) and prints one summary line.
set -uo pipefail
cd "$(dirname "$0")"
log=$(mktemp)
dotnet test Herald.slnx -warnaserror --logger "console;verbosity=normal" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# dotnet test prints, per test assembly, "Total tests: N" then "Passed: P" and "Failed: F" lines; add them up.
read -r passed failed < <(awk '/^Total tests:/ {t=1; next} t && /^ +Passed: / {p+=$2} t && /^ +Failed: / {f+=$2} /^ Total time:/ {t=0} END {print p+0, f+0}' "$log")
rm -f "$log"
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
