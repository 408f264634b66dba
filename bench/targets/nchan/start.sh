#!/bin/sh
# Start the bench's nginx + Nchan peer by hand, the way `go run ./bench
# -target nchan` starts it: nginx.conf (next to this script) with its
# placeholders filled in, in a fresh prefix, listening on loopback only.
#
#   bench/targets/nchan/start.sh [127.0.0.1:8091]   # prints the prefix; stop with stop.sh <prefix>
#
# Needs the Debian packages nginx and libnginx-mod-nchan.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
LISTEN=${1:-127.0.0.1:8091}
NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=/usr/lib/nginx/modules/ngx_nchan_module.so
case "$LISTEN" in 127.*|localhost:*) ;; *) echo "refusing to listen beyond loopback: $LISTEN" >&2; exit 2;; esac
[ -x "$NGINX" ] && [ -f "$MODULE" ] || { echo "install the Debian packages nginx libnginx-mod-nchan" >&2; exit 1; }
PREFIX=$(mktemp -d /tmp/fourway-nchan-XXXXXX)
chmod 755 "$PREFIX"
mkdir -m 777 "$PREFIX/logs" "$PREFIX/tmp"
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user www-data;"
sed -e "s|{{LISTEN}}|$LISTEN|" -e "s|{{USER}}|$USER_LINE|" -e "s|{{MODULE}}|$MODULE|" \
  -e "s|{{LISTEN_TLS}}||" -e "s|{{TLS}}||" -e "s|{{COMPRESS}}||" \
  -e "s|{{CONNECTIONS}}|20000|" -e "s|{{NOFILE}}|40000|" \
  "$HERE/nginx.conf" > "$PREFIX/nginx.conf"
"$NGINX" -p "$PREFIX/" -c "$PREFIX/nginx.conf" -e "$PREFIX/logs/error.log" -t -q
"$NGINX" -p "$PREFIX/" -c "$PREFIX/nginx.conf" -e "$PREFIX/logs/error.log"   # daemonizes; pid in $PREFIX/nginx.pid
i=0; while [ ! -s "$PREFIX/nginx.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
echo "nchan peer on http://$LISTEN (pid $(cat "$PREFIX/nginx.pid")); stop with: $HERE/stop.sh $PREFIX"
echo "$PREFIX"
