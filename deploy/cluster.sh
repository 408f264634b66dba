#!/bin/sh
# One feed on many nodes, on this machine: a 3-node NATS JetStream cluster
# (Debian's nats-server), two fourway nodes on one R3 stream, and nginx in
# front of them, all on loopback. Prints the URL; Ctrl-C stops everything.
#
#   deploy/cluster.sh [PORT]      # nginx on 127.0.0.1:PORT (8080)
#
# The nodes listen on PORT+1 and PORT+2, NATS clients on 14222-14224, NATS
# routes on 16222-16224. Try: open the page, stop a node (the pids are
# printed), watch every panel resume on the other with no gap; start it
# again with the command printed beside it.
#
# Needs: go, curl, and the Debian packages nats-server and nginx.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${1:-8080}
NGINX=${NGINX:-/usr/sbin/nginx}
NATS=${NATS:-$(command -v nats-server || echo /usr/sbin/nats-server)}
for bin in "$NGINX" "$NATS"; do
  [ -x "$bin" ] || { echo "$bin not found: install the Debian packages nats-server nginx" >&2; exit 1; }
done

DIR=$(mktemp -d /tmp/fourway-cluster-XXXXXX)
chmod 755 "$DIR"
PIDS=""
stop() {
  trap - INT TERM EXIT
  echo "stopping: $PIDS"
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  for p in $PIDS; do wait "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap stop INT TERM EXIT

echo "building fourway"
(cd "$ROOT" && go build -o "$DIR/fourway" .)

# NATS: three servers routed to one another, each with its own store.
ROUTES="nats://127.0.0.1:16222,nats://127.0.0.1:16223,nats://127.0.0.1:16224"
NATS_URLS="nats://127.0.0.1:14222,nats://127.0.0.1:14223,nats://127.0.0.1:14224"
for i in 1 2 3; do
  "$NATS" -n "nats$i" -a 127.0.0.1 -p $((14221 + i)) -js -sd "$DIR/nats$i" \
    --cluster_name fourway --cluster "nats://127.0.0.1:$((16221 + i))" --routes "$ROUTES" \
    >"$DIR/nats$i.log" 2>&1 &
  PIDS="$PIDS $!"
done

# fourway: two nodes on the stream FOURWAY, three copies of it.
UPSTREAMS=""
for n in a b; do
  # The built-in ticker publishes into the one feed from node a only: on
  # both, every tick would come twice.
  p=$((PORT + 1)) ticker=1s
  [ "$n" = b ] && p=$((PORT + 2)) ticker=0
  set -- "$DIR/fourway" --addr "127.0.0.1:$p" --node "$n" --nats "$NATS_URLS" --nats-replicas 3 --ticker "$ticker"
  # Started together with NATS, a node waits for it and its JetStream
  # (--nats-wait, a minute), answering /healthz 503 "starting" meanwhile.
  "$@" >>"$DIR/$n.log" 2>&1 &
  pid=$!
  PIDS="$PIDS $pid"
  until curl -fsS "http://127.0.0.1:$p/healthz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "node $n exited; its log:" >&2; tail -5 "$DIR/$n.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "node $n: http://127.0.0.1:$p (pid $pid; restart: $* )"
  UPSTREAMS="$UPSTREAMS    server 127.0.0.1:$p max_fails=1 fail_timeout=3s;\n"
done

# nginx in front, from deploy/nginx.conf.
mkdir -m 777 "$DIR/logs" "$DIR/tmp"
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user www-data;"
sed -e "s|{{LISTEN}}|127.0.0.1:$PORT|" -e "s|{{USER}}|$USER_LINE|" -e "s|{{READ_TIMEOUT}}|90s|" \
  -e "s|{{UPSTREAMS}}|$UPSTREAMS|" "$ROOT/deploy/nginx.conf" >"$DIR/nginx.conf"
"$NGINX" -p "$DIR/" -c "$DIR/nginx.conf" -e "$DIR/logs/error.log" -t -q
"$NGINX" -p "$DIR/" -c "$DIR/nginx.conf" -e "$DIR/logs/error.log" -g 'daemon off;' &
PIDS="$PIDS $!"

echo
echo "fourway through nginx: http://127.0.0.1:$PORT   (logs in $DIR; Ctrl-C stops all)"
wait
