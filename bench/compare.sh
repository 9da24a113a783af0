#!/usr/bin/env bash
# Side-by-side fan-out benchmark on loopback: Herald, the hand-written ASP.NET Core broadcaster
# (bench/AspNetBroadcaster) and Nchan (bench/nchan), each driven by `herald bench` through the same workloads
# (a)-(e) of the speed issue, and for Herald (f), the fan-out of (a) through URL Pattern matchers, next to the
# kernel's floor (bench/floor); then (g): (d), (a) and (b) again with the subscribers over TLS, for Herald and the
# broadcaster (Nchan's config here has no TLS listener). Prints one table.
#
#   bench/compare.sh                 full sizes (several minutes; run it on a quiet machine)
#   QUICK=1 bench/compare.sh         small sizes, about a minute
#   SERVERS="aspnet nchan" bench/compare.sh
#   SKIP_BUILD=1 ...                 use the Release builds already there
#   G=0 bench/compare.sh             leave out (g), (a), (b) and (d) over TLS (on by default; about 2 minutes
#                                    per server at full sizes)
#
# Sizes (env): A_SUBS A_RATE A_SECONDS | B_SUBS B_RATE B_SECONDS | C_SUBS C_RATES C_SECONDS (rates tried in
# order until delivery < 100 % or p99 > C_P99_MS) | D_SUBS D_HOLD_SUBS | E_PUBLISHERS E_UPDATES | F_SUBS F_RATE F_SECONDS |
# FLOOR_CONNECTIONS FLOOR_WRITES. (g) uses the sizes of (a), (b) and (d). Ports: HERALD_PORT ASPNET_PORT NCHAN_PORT
# HERALD_TLS_PORT ASPNET_TLS_PORT. Every run's output is kept in
# the log directory printed at the end.
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
    : "${F_SUBS:=500}" "${F_SECONDS:=4}"
    : "${FLOOR_CONNECTIONS:=1000}" "${FLOOR_WRITES:=50000}"
    : "${WARMUP_UPDATES:=200}"
fi
: "${A_SUBS:=1000}" "${A_RATE:=100}" "${A_SECONDS:=10}"
: "${B_SUBS:=5000}" "${B_RATE:=100}" "${B_SECONDS:=10}"
: "${C_SUBS:=10000}" "${C_RATES:=50 100 110 120 130 140 150 200 300 400}" "${C_SECONDS:=5}" "${C_P99_MS:=250}"
: "${D_SUBS:=15000}" "${D_HOLD_SUBS:=19000}"
: "${E_PUBLISHERS:=64}" "${E_UPDATES:=100000}"
: "${F_SUBS:=1000}" "${F_RATE:=100}" "${F_SECONDS:=10}"
: "${FLOOR_CONNECTIONS:=2000}" "${FLOOR_WRITES:=200000}"
: "${WARMUP_UPDATES:=1000}"
: "${SERVERS:=herald aspnet nchan}"
: "${HERALD_PORT:=5180}" "${ASPNET_PORT:=5181}" "${NCHAN_PORT:=5182}"
: "${HERALD_TLS_PORT:=5183}" "${ASPNET_TLS_PORT:=5184}" "${G:=1}"
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

    # (f) herald only: the fan-out of (a) through Mercure 1.0 URL Pattern matchers (match_urlpattern), published to a
    # topic the pattern matches; the others have no URL patterns
    if [ "$s" = herald ]; then
        local saved=("${target_args[@]}")
        target_args=(--url "http://127.0.0.1:$HERALD_PORT/.well-known/mercure?match_urlpattern=https%3A%2F%2Fbench.example%2Fitems%2F%3Aid"
            --topic "https://bench.example/items/42" --dialect mercure --jwt-key "$JWT_KEY")
        j=$(bench "$s" f -n "$F_SUBS" -m $((F_RATE * F_SECONDS)) -r "$F_RATE")
        target_args=("${saved[@]}")
        set_value "$s" f_delivery "$(pct "$(field "$j" deliveryPercent)")$( [ "$(field "$j" pass)" = true ] || echo ' FAIL')"
        set_value "$s" f_p99 "$(ms "$(field "$j" latencyP99Ms)")"
        set_value "$s" f_cpu "$(printf '%.2f us' "$(field "$j" serverCpuMicrosPerDelivery)")"
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
            # --data-dir "": history in memory, as these figures were always measured (a plain serve now keeps
            # SQLite history in ./herald-data, which would also land in the working tree).
            $herald serve --urls "http://127.0.0.1:$HERALD_PORT" --publisher-jwt-key "$JWT_KEY" \
                --subscriber-jwt-key "$JWT_KEY" --anonymous --data-dir "" > "$logs/herald-server.log" 2>&1 &
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
    "f_delivery|(f) ${F_SUBS} x ${F_RATE}/s|delivery"
    "f_p99|    match_urlpattern|p99 latency"
    "f_cpu||server CPU/delivery"
    "g_d_mem|(g) TLS: ${D_SUBS} idle|memory/sub (x clear)"
    "g_a_delivery|    ${A_SUBS} x ${A_RATE}/s|delivery"
    "g_a_p99||p99 (x clear)"
    "g_b_delivery|    ${B_SUBS} x ${B_RATE}/s|delivery"
    "g_b_cpu||CPU/deliv. (x clear)"
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
