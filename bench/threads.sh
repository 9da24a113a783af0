#!/usr/bin/env bash
# Per-thread CPU of `herald serve` during one `herald bench` run, and how busy the whole machine was.
#
#   bench/threads.sh "-n 5000 -m 2000 -r 100"          (b)-like fan-out
#   DELAY=4 bench/threads.sh "-n 0 -m 300000 -r 0 --publishers 64" 4
#
# Starts the hub (Release build, fresh data dir, port $PORT), warms it up, starts the bench in the background,
# then reads /proc/PID/task/*/stat and /proc/stat DELAY seconds in and again SECONDS later (default 6). Pick
# DELAY past the connect phase and the run long enough to cover the window. SERVER_ENV adds environment
# variables to the hub (e.g. Herald__WriterThreads=2). Holds /tmp/herald-bench.lock like compare.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
args=$1
seconds=${2:-6}
: "${DELAY:=9}" "${PORT:=5492}" "${SERVER_ENV:=}"
key=herald-bench-key-0123456789abcdef0123456789abcdef
herald="$root/src/Herald.Cli/bin/Release/net10.0/Herald.Cli.dll"
[ -f "$herald" ] || { echo "threads: build first: dotnet build -c Release src/Herald.Cli" >&2; exit 1; }
url="http://127.0.0.1:$PORT/.well-known/mercure?topic=bench"
work=$(mktemp -d /tmp/herald-threads.XXXXXX)
exec 9>/tmp/herald-bench.lock
flock 9

env $SERVER_ENV dotnet "$herald" serve --urls "http://127.0.0.1:$PORT" --jwt-key $key --anonymous --data-dir "$work/data" > "$work/serve.log" 2>&1 &
hub=$!
trap 'kill $hub 2>/dev/null' EXIT
for _ in $(seq 50); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" && break; sleep 0.2; done
dotnet "$herald" bench --url "$url" --jwt-key $key -n 100 -m 1000 -r 0 --publishers 4 > /dev/null 2>&1
# shellcheck disable=SC2086
dotnet "$herald" bench --url "$url" --jwt-key $key --server-pid $hub --json $args > "$work/bench.json" 2> /dev/null &
bench=$!

snapshot() { # file: one line per thread "name<TAB>utime+stime", then the machine's /proc/stat cpu line
    local file=$1
    for task in /proc/$hub/task/*; do
        stat=$(cat "$task/stat" 2> /dev/null) || continue
        set -- ${stat##*) }
        printf '%s\t%s\n' "$(cat "$task/comm" 2> /dev/null)" $(( ${12} + ${13} ))
    done > "$file"
    head -1 /proc/stat >> "$file"
}
sleep "$DELAY"; snapshot "$work/a"; sleep "$seconds"; snapshot "$work/b"
wait $bench || true

python3 - "$work/a" "$work/b" "$seconds" "$(getconf CLK_TCK)" <<'PY'
import collections, sys
def load(path):
    threads, cpu = collections.Counter(), None
    for line in open(path):
        if line.startswith('cpu '):
            cpu = list(map(int, line.split()[1:]))
        else:
            name, ticks = line.rstrip('\n').rsplit('\t', 1)
            threads[name] += int(ticks)
    return threads, cpu
(ta, ca), (tb, cb) = load(sys.argv[1]), load(sys.argv[2])
seconds, hz = float(sys.argv[3]), float(sys.argv[4])
total = 0
for name in sorted(tb, key=lambda n: ta[n] - tb[n]):
    used = (tb[name] - ta[name]) / hz / seconds * 100
    total += used
    if used >= 0.1:
        print(f"{name:28s} {used:6.1f} % of a core")
print(f"{'hub in all':28s} {total:6.1f} % of a core")
d = [b - a for a, b in zip(ca, cb)]
print(f"machine busy {100 * (sum(d[:8]) - d[3] - d[4]) / sum(d[:8]):.1f} % of all cores (softirq {100 * d[6] / sum(d[:8]):.1f} %)")
PY
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(", ".join(f"{k} {d.get(k)}" for k in ("deliveryPercent", "publishRate", "latencyP99Ms", "serverCpuMicrosPerDelivery")))' "$work/bench.json"
kill $hub 2> /dev/null; wait $hub 2> /dev/null || true
rm -rf "$work"
