#!/usr/bin/env bash
# Starts nginx + Nchan on 127.0.0.1:PORT in a fresh temporary prefix and prints the master's pid.
#   bench/nchan/start.sh 5082            -> subscribe http://127.0.0.1:5082/sub, publish http://127.0.0.1:5082/pub
# Stop it with: kill "$(cat PREFIX/nginx.pid)" (the prefix is printed on stderr).
# Needs the Debian packages nginx-light and libnginx-mod-nchan.
set -euo pipefail
port=${1:?usage: start.sh PORT}
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v nginx >/dev/null || [ ! -f /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
    echo "nchan: install it first: apt-get install -y nginx-light libnginx-mod-nchan" >&2
    exit 3
fi
prefix=$(mktemp -d /tmp/herald-nchan.XXXXXX)
mkdir -p "$prefix/temp"
sed "s/__PORT__/$port/" "$here/nginx.conf" > "$prefix/nginx.conf"
nginx -p "$prefix" -c "$prefix/nginx.conf"
for _ in $(seq 50); do
    [ -s "$prefix/nginx.pid" ] && break
    sleep 0.1
done
echo "nchan: prefix $prefix" >&2
cat "$prefix/nginx.pid"
