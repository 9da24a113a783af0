#!/usr/bin/env bash
# Runs every test of the solution (unit, hub on real Kestrel, packaging, Redis, browser) and prints one summary line.
# On a machine with only the .NET SDK it first installs what the tests need besides it (Debian packages, as root or
# through sudo): redis-server for the Redis tests, Chromium for the browser tests, Node 18+ and npm for the
# third-party client tests.
set -uo pipefail
cd "$(dirname "$0")"

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "test.sh: the tests need ${need[*]}; install them (Debian: apt-get install -y ${need[*]}) or run as root" >&2
    exit 1
  fi
  echo "test.sh: installing ${need[*]}"
  if ! { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
         "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }; then
    echo "test.sh: could not install ${need[*]} with apt-get" >&2
    exit 1
  fi
fi

log=$(mktemp)
dotnet test Herald.slnx -warnaserror --logger "console;verbosity=normal" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# dotnet test prints, per test assembly, "Total tests: N" then "Passed: P" and "Failed: F" lines; add them up.
read -r passed failed < <(awk '/^Total tests:/ {t=1; next} t && /^ +Passed: / {p+=$2} t && /^ +Failed: / {f+=$2} /^ Total time:/ {t=0} END {print p+0, f+0}' "$log")
rm -f "$log"
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
