#!/usr/bin/env bash
# Side-by-side fan-out benchmark on loopback: Herald, the hand-written ASP.NET Core broadcaster
# (bench/AspNetBroadcaster) and Nchan (bench/nchan), each driven by `herald bench` through the same workloads
# (a)-(e) of the speed issue, and for Herald (h), the fan-out of (a) through URL Pattern matchers, next to the
# kernel's floor (bench/floor); then (g): (d), (a) and (b) again with the subscribers over TLS, for Herald and the
# broadcaster (Nchan's config here has no TLS listener); then (f), the reconnect storm, for Herald only (the others
# keep no history to resume from): `herald bench --storm-serve` starts its own hub with SQLite history, SIGKILLs it
# under F_SUBS subscribers and publishing, starts it again on the same port and data directory, and counts what every
# subscriber lost or got twice; then the same with 3 nodes on one redis-server (loopback), one node SIGKILLed and its
# subscribers sent to the other two. Prints one table.
#
#   bench/compare.sh                 full sizes (several minutes; run it on a quiet machine)
#   QUICK=1 bench/compare.sh         small sizes, about a minute
#   SERVERS="aspnet nchan" bench/compare.sh
#   SKIP_BUILD=1 ...                 use the Release builds already there
#   G=0 bench/compare.sh             leave out (g), (a), (b) and (d) over TLS (on by default; about 2 minutes
#                                    per server at full sizes)
#   F=0 bench/compare.sh             leave out (f), the reconnect storm (on by default; its Redis line needs
#                                    redis-server on the PATH)
#
# Sizes (env): A_SUBS A_RATE A_SECONDS | B_SUBS B_RATE B_SECONDS | C_SUBS C_RATES C_SECONDS (rates tried in
# order until delivery < 100 % or p99 > C_P99_MS) | D_SUBS D_HOLD_SUBS | E_PUBLISHERS E_UPDATES |
# F_SUBS F_RATE F_KILL_AFTER F_SECONDS F_DRAIN (the storm: subscribers, updates/s, seconds of publishing before the kill
# and after the hub answers again, seconds allowed after publishing for every subscriber to hold everything) |
# H_SUBS H_RATE H_SECONDS (URL patterns; until 2026-12-07 this was (f) with F_SUBS F_RATE F_SECONDS, which now size
# the storm) | FLOOR_CONNECTIONS FLOOR_WRITES. (g) uses the sizes of (a), (b) and (d). Ports: HERALD_PORT ASPNET_PORT
# NCHAN_PORT HERALD_TLS_PORT ASPNET_TLS_PORT STORM_PORT (the storm's node ports: STORM_PORT, +1, +2, +3; Redis +4).
# Every run's output is kept in the log directory printed at the end.
set -uo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ "${QUICK:-0}" = 1 ]; then
    : "${A_SUBS:=500}" "${A_RATE:=100}" "${A_SECONDS:=4}"
    : "${B_SUBS:=1000}" "${B_RATE:=100}" "${B_SECONDS:=3}"
    : "${C_SUBS:=1000}" "${C_RATES:=200 400}" "${C_SECONDS:=2}"
    : "${D_SUBS:=1000}" "${D_HOLD_SUBS:=2000}"
    : "${E_PUBLISHERS:=64}" "${E_UPDATES:=5000}"
    : "${F_SUBS:=300}" "${F_KILL_AFTER:=2}" "${F_SECONDS:=3}"
    : "${H_SUBS:=500}" "${H_SECONDS:=4}"
    : "${FLOOR_CONNECTIONS:=1000}" "${FLOOR_WRITES:=50000}"
    : "${WARMUP_UPDATES:=200}"
fi
: "${A_SUBS:=1000}" "${A_RATE:=100}" "${A_SECONDS:=10}"
: "${B_SUBS:=5000}" "${B_RATE:=100}" "${B_SECONDS:=10}"
: "${C_SUBS:=10000}" "${C_RATES:=50 100 110 120 130 140 150 200 300 400}" "${C_SECONDS:=5}" "${C_P99_MS:=250}"
: "${D_SUBS:=15000}" "${D_HOLD_SUBS:=19000}"
: "${E_PUBLISHERS:=64}" "${E_UPDATES:=100000}"
: "${F_SUBS:=10000}" "${F_RATE:=100}" "${F_KILL_AFTER:=5}" "${F_SECONDS:=10}" "${F_DRAIN:=10}" "${F:=1}"
: "${H_SUBS:=1000}" "${H_RATE:=100}" "${H_SECONDS:=10}"
: "${FLOOR_CONNECTIONS:=2000}" "${FLOOR_WRITES:=200000}"
: "${WARMUP_UPDATES:=1000}"
: "${SERVERS:=herald aspnet nchan}"
: "${HERALD_PORT:=5180}" "${ASPNET_PORT:=5181}" "${NCHAN_PORT:=5182}"
: "${HERALD_TLS_PORT:=5183}" "${ASPNET_TLS_PORT:=5184}" "${G:=1}"
: "${STORM_PORT:=5190}"
: "${JWT_KEY:=herald-bench-key-0123456789abcdef0123456789abcdef}"

logs=$(mktemp -d /tmp/herald-compare.XXXXXX)
herald="dotnet $root/src/Herald.Cli/bin/Release/net10.0/Herald.Cli.dll"
started_pids=()
nginx_pidfile=""

cleanup() {
    for pid in "${started_pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    if [ -n "$nginx_pidfile" ] && [ -s "$nginx_pidfile" ]; then
        kill "$(cat "$nginx_pidfile")" 2>/dev/null
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "compare: $*" >&2; }

# --- build ------------------------------------------------------------------------------------------------
[ "${SKIP_BUILD:-0}" = 1 ] && say "SKIP_BUILD=1: using the existing Release builds"
for project in src/Herald.Cli bench/AspNetBroadcaster bench/floor; do
    [ "${SKIP_BUILD:-0}" = 1 ] && break
    say "building $project (Release) ..."
    if ! dotnet build -c Release "$project" -nologo -v q > "$logs/build-$(basename "$project").log" 2>&1; then
        say "build of $project failed; see $logs/build-$(basename "$project").log"
        exit 1
    fi
done

# --- helpers ----------------------------------------------------------------------------------------------
# field JSON NAME: one value of herald bench's flat JSON output.
field() { sed -nE "s/.*\"$2\":\"?([^,\"}]*)\"?[,}].*/\1/p" <<< "$1"; }

wait_for_port() { # port pid
    for _ in $(seq 100); do
        if ! kill -0 "$2" 2>/dev/null; then return 1; fi
        if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; then return 0; fi
        sleep 0.2
    done
    return 1
}

declare -A value
set_value() { value["$1:$2"]=$3; }

# bench SERVER NAME ARGS...: one herald bench run, JSON kept in the log directory and echoed.
bench() {
    local server=$1 name=$2
    shift 2
    local out="$logs/$server-$name.json"
    say "$server $name: herald bench $*"
    $herald bench "${target_args[@]}" --server-pid "$server_pid" --json "$@" > "$out" 2> "$logs/$server-$name.progress"
    cat "$out"
}

ms() { printf '%.1f ms' "$1"; }
pct() { printf '%.3f %%' "$1"; }

run_workloads() { # server
    local s=$1 j rate best p99

    bench "$s" warmup -n 100 -m "$WARMUP_UPDATES" -r 0 --publishers 4 > /dev/null

    # (d) memory per idle subscriber, first: later workloads leave pooled memory behind that would hide it;
    # then the most one server process can hold
    j=$(bench "$s" d -n "$D_SUBS" -m 0 --hold-seconds 2)
    set_value "$s" d_mem "$(awk -v b="$(field "$j" serverBytesPerSubscriber)" 'BEGIN { printf "%.2f KB", b / 1024 }')"
    j=$(bench "$s" d-hold -n "$D_HOLD_SUBS" -m 0)
    set_value "$s" d_hold "$(field "$j" subscribed) of $D_HOLD_SUBS"

    # (a) 1,000 subscribers x 100 updates/s
    j=$(bench "$s" a -n "$A_SUBS" -m $((A_RATE * A_SECONDS)) -r "$A_RATE")
    set_value "$s" a_delivery "$(pct "$(field "$j" deliveryPercent)")$( [ "$(field "$j" pass)" = true ] || echo ' FAIL')"
    set_value "$s" a_p99 "$(ms "$(field "$j" latencyP99Ms)")"
    set_value "$s" a_cpu "$(printf '%.2f us' "$(field "$j" serverCpuMicrosPerDelivery)")"
    set_value "$s" a_floor "$(awk -v c="$(field "$j" serverCpuMicrosPerDelivery)" -v f="$floor" 'BEGIN { printf "%.2f x", c / f }')"

    # (b) 5,000 subscribers x 100 updates/s
    j=$(bench "$s" b -n "$B_SUBS" -m $((B_RATE * B_SECONDS)) -r "$B_RATE")
    set_value "$s" b_rate "$(printf '%.1f of %s/s' "$(field "$j" publishRate)" "$B_RATE")"
    set_value "$s" b_delivery "$(pct "$(field "$j" deliveryPercent)")$( [ "$(field "$j" pass)" = true ] || echo ' FAIL')"
    set_value "$s" b_p99 "$(ms "$(field "$j" latencyP99Ms)")"
    set_value "$s" b_cpu "$(printf '%.2f us' "$(field "$j" serverCpuMicrosPerDelivery)")"

    # (c) 10,000 subscribers, rate raised until delivery < 100 % or p99 > C_P99_MS
    best=""
    for rate in $C_RATES; do
        j=$(bench "$s" "c-$rate" -n "$C_SUBS" -m $((rate * C_SECONDS)) -r "$rate")
        p99=$(field "$j" latencyP99Ms)
        if [ "$(field "$j" pass)" != true ] || awk -v p="$p99" -v m="$C_P99_MS" 'BEGIN { exit !(p > m) }'; then
            [ -n "$best" ] || best=$(printf 'none (%s/s: %.0f/s, p99 %.0f ms)' "$rate" "$(field "$j" deliveriesPerSecond)" "$p99")
            break
        fi
        best=$(printf '%.0f/s (at %s/s)' "$(field "$j" deliveriesPerSecond)" "$rate")
    done
    set_value "$s" c_max "$best"

    # (h) herald only: the fan-out of (a) through Mercure 1.0 URL Pattern matchers (match_urlpattern), published to a
    # topic the pattern matches; the others have no URL patterns
    if [ "$s" = herald ]; then
        local saved=("${target_args[@]}")
        target_args=(--url "http://127.0.0.1:$HERALD_PORT/.well-known/mercure?match_urlpattern=https%3A%2F%2Fbench.example%2Fitems%2F%3Aid"
            --topic "https://bench.example/items/42" --dialect mercure --jwt-key "$JWT_KEY")
        j=$(bench "$s" h -n "$H_SUBS" -m $((H_RATE * H_SECONDS)) -r "$H_RATE")
        target_args=("${saved[@]}")
        set_value "$s" h_delivery "$(pct "$(field "$j" deliveryPercent)")$( [ "$(field "$j" pass)" = true ] || echo ' FAIL')"
        set_value "$s" h_p99 "$(ms "$(field "$j" latencyP99Ms)")"
        set_value "$s" h_cpu "$(printf '%.2f us' "$(field "$j" serverCpuMicrosPerDelivery)")"
    fi

    # (e) publishes/s with many publishers and no subscribers
    j=$(bench "$s" e -n 0 -m "$E_UPDATES" -r 0 --publishers "$E_PUBLISHERS")
    set_value "$s" e_rate "$(printf '%.0f/s' "$(field "$j" publishRate)")$( [ "$(field "$j" publishFailed)" = 0 ] || echo ' FAIL')"
}

# (g) TLS: SERVER's fresh process serving HTTPS (HTTP/1.1 negotiated by the bench) beside its cleartext port;
# subscribers over TLS, publishers in cleartext, so the figures are what TLS costs the streams. (d) first, as in
# run_workloads, then (a) and (b); each shown with its ratio to the same workload in cleartext earlier in this run.
tls_cert=""
run_tls() { # server
    local s=$1 j clear
    if [ "$G" != 1 ]; then return; fi
    case $s in
        herald)
            $herald serve --urls "http://127.0.0.1:$HERALD_PORT;https://127.0.0.1:$HERALD_TLS_PORT" \
                --cert-file "$tls_cert" --cert-key-file "$tls_key" --publisher-jwt-key "$JWT_KEY" \
                --subscriber-jwt-key "$JWT_KEY" --anonymous --data-dir "" > "$logs/herald-tls-server.log" 2>&1 &
            server_pid=$!
            target_args=(--url "https://127.0.0.1:$HERALD_TLS_PORT/.well-known/mercure?topic=bench"
                --publish-url "http://127.0.0.1:$HERALD_PORT/.well-known/mercure" --dialect mercure --jwt-key "$JWT_KEY")
            port=$HERALD_PORT
            ;;
        aspnet)
            # Kestrel's own configuration: its default certificate for the https:// address.
            Kestrel__Certificates__Default__Path="$tls_cert" Kestrel__Certificates__Default__KeyPath="$tls_key" \
                dotnet bench/AspNetBroadcaster/bin/Release/net10.0/AspNetBroadcaster.dll \
                --urls "http://127.0.0.1:$ASPNET_PORT;https://127.0.0.1:$ASPNET_TLS_PORT" > "$logs/aspnet-tls-server.log" 2>&1 &
            server_pid=$!
            target_args=(--url "https://127.0.0.1:$ASPNET_TLS_PORT/events" --publish-url "http://127.0.0.1:$ASPNET_PORT/publish" --dialect plain)
            port=$ASPNET_PORT
            ;;
        *)
            say "$s: (g) skipped: bench/nchan/nginx.conf has no TLS listener"
            set_value "$s" g_skipped "no TLS listener"
            return
            ;;
    esac
    started_pids+=("$server_pid")
    if ! wait_for_port "$port" "$server_pid"; then
        say "$s: (g) did not start listening; see $logs"
        set_value "$s" g_skipped "TLS server did not start"
        return
    fi

    bench "$s" g-warmup -n 100 -m "$WARMUP_UPDATES" -r 0 --publishers 4 > /dev/null
    j=$(bench "$s" g-d -n "$D_SUBS" -m 0 --hold-seconds 2)
    clear=$(field "$(cat "$logs/$s-d.json")" serverBytesPerSubscriber)
    set_value "$s" g_d_mem "$(awk -v b="$(field "$j" serverBytesPerSubscriber)" -v c="$clear" 'BEGIN { printf "%.2f KB (%.1f x)", b / 1024, (c > 0 ? b / c : 0) }')"

    j=$(bench "$s" g-a -n "$A_SUBS" -m $((A_RATE * A_SECONDS)) -r "$A_RATE")
    clear=$(field "$(cat "$logs/$s-a.json")" latencyP99Ms)
    set_value "$s" g_a_delivery "$(pct "$(field "$j" deliveryPercent)")$( [ "$(field "$j" pass)" = true ] || echo ' FAIL')"
    set_value "$s" g_a_p99 "$(awk -v p="$(field "$j" latencyP99Ms)" -v c="$clear" 'BEGIN { printf "%.1f ms (%.1f x)", p, (c > 0 ? p / c : 0) }')"

    j=$(bench "$s" g-b -n "$B_SUBS" -m $((B_RATE * B_SECONDS)) -r "$B_RATE")
    clear=$(field "$(cat "$logs/$s-b.json")" serverCpuMicrosPerDelivery)
    set_value "$s" g_b_delivery "$(pct "$(field "$j" deliveryPercent)")$( [ "$(field "$j" pass)" = true ] || echo ' FAIL')"
    set_value "$s" g_b_cpu "$(awk -v u="$(field "$j" serverCpuMicrosPerDelivery)" -v c="$clear" 'BEGIN { printf "%.2f us (%.1f x)", u, (c > 0 ? u / c : 0) }')"

    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
}

# (f) the reconnect storm, herald only: `herald bench --storm-serve` starts and owns the hub processes (the command
# lines below), SIGKILLs node 0 after F_KILL_AFTER s of publishing and, alone, starts it again on the same port and
# data directory; with 3 nodes on one redis-server its subscribers go to the other two. The bench stops by itself and
# stops the nodes. The broadcaster and Nchan keep no history, so a resumed subscriber cannot get what it missed.
storm_line() { # server key-prefix json
    local s=$1 k=$2 j=$3
    if [ -z "$j" ]; then
        set_value "$s" "${k}_resume" "did not run"
        return
    fi
    set_value "$s" "${k}_resume" "$(awk -v r="$(field "$j" resumeSeconds)" -v d="$(field "$j" hubDownSeconds)" \
        'BEGIN { if (r == "null") printf "never"; else printf "%.2f s", r; if (d > 0) printf " (down %.1f s)", d }')"
    set_value "$s" "${k}_loss" "$(field "$j" lost) / $(field "$j" duplicated)$( [ "$(field "$j" pass)" = true ] || echo ' FAIL')"
    set_value "$s" "${k}_p99" "$(printf '%.1f / %.1f ms' "$(field "$j" publishStormP99Ms)" "$(field "$j" publishStormMaxMs)")"
    set_value "$s" "${k}_rss" "$(awk -v b="$(field "$j" hubPeakRssBytes)" 'BEGIN { printf "%.1f MB", b / 1048576 }')"
}

# A durable loopback redis-server for the Redis rows (appendonly, appendfsync always: an acknowledged update is on
# Redis's disk), its data and log in DIR; sets redis_pid (the caller kills it) and waits until it answers.
start_redis() { # port dir
    mkdir -p "$2"
    redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync always \
        --dir "$2" > "$2/redis.log" 2>&1 &
    redis_pid=$!
    started_pids+=("$redis_pid")
    for _ in $(seq 50); do redis-cli -p "$1" ping > /dev/null 2>&1 && break; sleep 0.1; done
}

run_storm() { # server
    local s=$1 j dll node redis_port=$((STORM_PORT + 4)) redis_pid
    if [ "$F" != 1 ]; then return; fi
    if [ "$s" != herald ]; then
        for k in f_resume f_loss f_p99 f_rss f_r_resume f_r_loss f_r_p99 f_r_rss; do set_value "$s" "$k" "n/a: no resume"; done
        return
    fi
    ulimit -n 20000 2>/dev/null || say "(f): could not raise the open-file limit to 20000 (now $(ulimit -n))"
    # The storm starts with a cold hub, so it runs herald compiled ahead of time (ReadyToRun), as the single-file
    # build ships (Herald.Cli.csproj); JIT-compiled, the first ~0.3 s after a start are slower (README, Performance).
    local r2r="$logs/herald-r2r"
    if dotnet publish "$root/src/Herald.Cli" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
        -o "$r2r" -nologo -v q > "$logs/build-herald-r2r.log" 2>&1; then
        dll="$r2r/Herald.Cli.dll"
    else
        say "(f): the ReadyToRun build failed ($logs/build-herald-r2r.log); the storm runs the JIT build"
        dll="$root/src/Herald.Cli/bin/Release/net10.0/Herald.Cli.dll"
    fi
    # Every subscriber reconnects at once: a connection that finds the kernel's accept queue full waits out TCP's SYN
    # retransmission (1 s, 3 s...). herald serve asks for the largest backlog; the kernel caps it at somaxconn.
    local somaxconn
    somaxconn=$(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo 0)
    if [ "$somaxconn" -lt "$F_SUBS" ]; then
        say "(f): net.core.somaxconn is $somaxconn, below $F_SUBS subscribers: some reconnects may wait out SYN retransmissions (sysctl -w net.core.somaxconn=65535, README: Production)"
    fi
    local storm_args=(--jwt-key "$JWT_KEY" -n "$F_SUBS" -r "$F_RATE" --storm-kill-after "$F_KILL_AFTER"
        --storm-seconds "$F_SECONDS" --drain-seconds "$F_DRAIN" --json)

    say "herald storm (SQLite): $F_SUBS subscribers, $F_RATE/s, kill after $F_KILL_AFTER s"
    rm -rf "$logs/storm-data"
    j=$($herald bench --url "http://127.0.0.1:$STORM_PORT/.well-known/mercure?topic=bench" "${storm_args[@]}" \
        --storm-log-dir "$logs/storm-sqlite" \
        --storm-serve "dotnet $dll serve --urls http://127.0.0.1:$STORM_PORT --publisher-jwt-key $JWT_KEY --subscriber-jwt-key $JWT_KEY --anonymous --data-dir $logs/storm-data" \
        2> "$logs/herald-f.progress" | tee "$logs/herald-f.json")
    storm_line "$s" f "$j"

    if ! command -v redis-server > /dev/null; then
        say "(f) 3 nodes on Redis skipped: no redis-server on the PATH"
        for k in f_r_resume f_r_loss f_r_p99 f_r_rss; do set_value "$s" "$k" "skipped: no redis-server"; done
        return
    fi
    start_redis "$redis_port" "$logs/storm-redis"
    local nodes=()
    for node in 1 2 3; do
        nodes+=(--storm-serve "dotnet $dll serve --urls http://127.0.0.1:$((STORM_PORT + node)) --publisher-jwt-key $JWT_KEY --subscriber-jwt-key $JWT_KEY --anonymous --transport redis://127.0.0.1:$redis_port")
    done
    say "herald storm (3 nodes, Redis): $F_SUBS subscribers, $F_RATE/s, node 1 killed after $F_KILL_AFTER s"
    j=$($herald bench --url "http://127.0.0.1:$((STORM_PORT + 1))/.well-known/mercure?topic=bench" "${storm_args[@]}" \
        --storm-log-dir "$logs/storm-cluster" "${nodes[@]}" 2> "$logs/herald-f-redis.progress" | tee "$logs/herald-f-redis.json")
    storm_line "$s" f_r "$j"
    kill "$redis_pid" 2>/dev/null
    wait "$redis_pid" 2>/dev/null
}

# (e) again for herald with the Redis transport: a fresh one-node hub on a loopback redis-server with appendonly and
# appendfsync always (what the README asks for: an acknowledged update is on Redis's disk), so the figure stands
# beside the SQLite one above. The other servers store nothing.
run_e_redis() { # server
    local s=$1 j pid redis_port=$((STORM_PORT + 5)) redis_pid
    if [ "$s" != herald ]; then
        set_value "$s" e_r_rate "n/a: stores nothing"
        return
    fi
    if ! command -v redis-server > /dev/null; then
        set_value "$s" e_r_rate "skipped: no redis-server"
        return
    fi
    start_redis "$redis_port" "$logs/e-redis"
    $herald serve --urls "http://127.0.0.1:$HERALD_PORT" --publisher-jwt-key "$JWT_KEY" --subscriber-jwt-key "$JWT_KEY" \
        --anonymous --transport "redis://127.0.0.1:$redis_port" > "$logs/herald-e-redis-server.log" 2>&1 &
    pid=$!
    started_pids+=("$pid")
    if wait_for_port "$HERALD_PORT" "$pid"; then
        local saved=("${target_args[@]}") saved_pid=$server_pid
        target_args=(--url "http://127.0.0.1:$HERALD_PORT/.well-known/mercure?topic=bench" --dialect mercure --jwt-key "$JWT_KEY")
        server_pid=$pid
        bench "$s" e-redis-warmup -n 0 -m 2000 -r 0 --publishers 8 > /dev/null
        j=$(bench "$s" e-redis -n 0 -m "$E_UPDATES" -r 0 --publishers "$E_PUBLISHERS")
        target_args=("${saved[@]}")
        server_pid=$saved_pid
        set_value "$s" e_r_rate "$(printf '%.0f/s' "$(field "$j" publishRate)")$( [ "$(field "$j" publishFailed)" = 0 ] || echo ' FAIL')"
    else
        set_value "$s" e_r_rate "did not start"
    fi
    kill "$pid" "$redis_pid" 2>/dev/null
    wait "$pid" "$redis_pid" 2>/dev/null
}

if [ "$G" = 1 ]; then
    # A self-signed certificate for 127.0.0.1, for this run only (the bench accepts any certificate on loopback).
    tls_cert=$logs/tls-cert.pem
    tls_key=$logs/tls-key.pem
    if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$tls_key" -out "$tls_cert" > "$logs/openssl.log" 2>&1; then
        say "(g) skipped: openssl could not make a certificate; see $logs/openssl.log"
        G=0
    fi
fi

# (g)'s floor: resident memory per idle connection with nothing but the socket, and with an SslStream over it — what
# any .NET server pays for an idle TLS stream before its own state (bench/floor/IdleFloor.cs).
idle_floor=""
if [ "$G" = 1 ]; then
    clear_b=$(dotnet bench/floor/bin/Release/net10.0/floor.dll idle "$D_SUBS" clear 2>> "$logs/floor.log")
    tls_b=$(dotnet bench/floor/bin/Release/net10.0/floor.dll idle "$D_SUBS" tls 2>> "$logs/floor.log")
    idle_floor=$(awk -v c="$clear_b" -v t="$tls_b" 'BEGIN { printf "%.2f KB per idle connection in cleartext, %.2f KB over TLS (%.1f x)", c / 1024, t / 1024, (c > 0 ? t / c : 0) }')
    say "idle floor: $idle_floor"
fi

# --- the kernel floor -------------------------------------------------------------------------------------
say "floor: $FLOOR_WRITES writes over $FLOOR_CONNECTIONS connections"
floor=$(dotnet bench/floor/bin/Release/net10.0/floor.dll "$FLOOR_CONNECTIONS" "$FLOOR_WRITES" 2> "$logs/floor.log")
say "floor: $floor us per write"

# --- servers ----------------------------------------------------------------------------------------------
ran=()
for server in $SERVERS; do
    case $server in
        herald)
            # An unknown subcommand still prints the root help with exit code 0: look for it in the list.
            if ! $herald --help 2>/dev/null | grep -qE '^ +serve( |$)'; then
                say "herald: skipped: this build has no 'herald serve' command yet"
                set_value herald skipped "no 'herald serve' yet"
                ran+=(herald)
                continue
            fi
            # SQLite history, as a plain `herald serve` keeps it (durable: a publish is answered once committed), in
            # the log directory rather than ./herald-data, which would land in the working tree. Until 2026-12-07 this
            # ran with --data-dir "" (history in memory), so (a)-(e) of earlier notes are not durable figures.
            $herald serve --urls "http://127.0.0.1:$HERALD_PORT" --publisher-jwt-key "$JWT_KEY" \
                --subscriber-jwt-key "$JWT_KEY" --anonymous --data-dir "$logs/herald-data" > "$logs/herald-server.log" 2>&1 &
            server_pid=$!
            started_pids+=("$server_pid")
            target_args=(--url "http://127.0.0.1:$HERALD_PORT/.well-known/mercure?topic=bench" --dialect mercure --jwt-key "$JWT_KEY")
            port=$HERALD_PORT
            ;;
        aspnet)
            dotnet bench/AspNetBroadcaster/bin/Release/net10.0/AspNetBroadcaster.dll \
                --urls "http://127.0.0.1:$ASPNET_PORT" > "$logs/aspnet-server.log" 2>&1 &
            server_pid=$!
            started_pids+=("$server_pid")
            target_args=(--url "http://127.0.0.1:$ASPNET_PORT/events" --publish-url "http://127.0.0.1:$ASPNET_PORT/publish" --dialect plain)
            port=$ASPNET_PORT
            ;;
        nchan)
            if ! server_pid=$(bench/nchan/start.sh "$NCHAN_PORT" 2> "$logs/nchan-start.log"); then
                say "nchan: skipped: $(tail -1 "$logs/nchan-start.log")"
                set_value nchan skipped "$(tail -1 "$logs/nchan-start.log")"
                ran+=(nchan)
                continue
            fi
            nginx_pidfile=$(sed -n 's/^nchan: prefix //p' "$logs/nchan-start.log")/nginx.pid
            target_args=(--url "http://127.0.0.1:$NCHAN_PORT/sub" --publish-url "http://127.0.0.1:$NCHAN_PORT/pub" --dialect plain)
            port=$NCHAN_PORT
            ;;
        *)
            say "unknown server '$server' (herald, aspnet, nchan)"
            exit 2
            ;;
    esac

    if ! wait_for_port "$port" "$server_pid"; then
        say "$server: did not start listening on $port; see $logs"
        set_value "$server" skipped "did not start"
        ran+=("$server")
        continue
    fi

    run_workloads "$server"
    ran+=("$server")

    if [ "$server" = nchan ]; then
        kill "$(cat "$nginx_pidfile")" 2>/dev/null
        nginx_pidfile=""
    else
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi

    run_tls "$server"
    run_storm "$server"
    run_e_redis "$server"
done

# --- the table --------------------------------------------------------------------------------------------
rows=(
    "a_delivery|(a) ${A_SUBS} x ${A_RATE}/s|delivery"
    "a_p99||p99 latency"
    "a_cpu||server CPU/delivery"
    "a_floor||vs kernel floor"
    "b_rate|(b) ${B_SUBS} x ${B_RATE}/s|publish rate kept"
    "b_delivery||delivery"
    "b_p99||p99 latency"
    "b_cpu||server CPU/delivery"
    "c_max|(c) ${C_SUBS} subscribers|max deliveries/s"
    "d_mem|(d) ${D_SUBS} idle|memory/subscriber"
    "d_hold|    ${D_HOLD_SUBS} idle|held by one process"
    "e_rate|(e) ${E_PUBLISHERS} publishers|publishes/s"
    "e_r_rate|    herald on Redis|publishes/s"
    "f_resume|(f) storm: ${F_SUBS} subs|SQLite: resumed in"
    "f_loss|    x ${F_RATE}/s, SIGKILL|SQLite: lost / dup"
    "f_p99||SQLite: pub p99/max"
    "f_rss||SQLite: peak RSS"
    "f_r_resume||Redis x3: resumed in"
    "f_r_loss||Redis x3: lost / dup"
    "f_r_p99||Redis x3: pub p99/max"
    "f_r_rss||Redis x3: peak RSS"
    "g_d_mem|(g) TLS: ${D_SUBS} idle|memory/sub (x clear)"
    "g_a_delivery|    ${A_SUBS} x ${A_RATE}/s|delivery"
    "g_a_p99||p99 (x clear)"
    "g_b_delivery|    ${B_SUBS} x ${B_RATE}/s|delivery"
    "g_b_cpu||CPU/deliv. (x clear)"
    "h_delivery|(h) ${H_SUBS} x ${H_RATE}/s|delivery"
    "h_p99|    match_urlpattern|p99 latency"
    "h_cpu||server CPU/delivery"
)
echo
echo "Fan-out on loopback, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)$( [ "${QUICK:-0}" = 1 ] && echo ', QUICK sizes')"
echo "kernel floor: ${floor} us CPU per ~150 B write ($FLOOR_CONNECTIONS connections)"
[ -n "$idle_floor" ] && echo "idle floor: $idle_floor"
printf '%-22s%-22s' "workload" ""
for s in "${ran[@]}"; do printf '%-26s' "$s"; done
echo
for row in "${rows[@]}"; do
    IFS='|' read -r key group metric <<< "$row"
    printf '%-22s%-22s' "$group" "$metric"
    for s in "${ran[@]}"; do
        v=${value["$s:$key"]:-}
        [ -n "${value["$s:skipped"]:-}" ] && v="skipped"
        [ "${key#g_}" != "$key" ] && [ -n "${value["$s:g_skipped"]:-}" ] && v="skipped"
        printf '%-26s' "${v:--}"
    done
    echo
done
for s in "${ran[@]}"; do
    [ -n "${value["$s:skipped"]:-}" ] && echo "$s skipped: ${value["$s:skipped"]}"
    [ -n "${value["$s:g_skipped"]:-}" ] && echo "$s (g) skipped: ${value["$s:g_skipped"]}"
done
echo "logs: $logs"
