#!/bin/sh
# Stop a peer started by start.sh, by the pid in its prefix (never by name).
#   bench/targets/nchan/stop.sh <prefix>
set -eu
PREFIX=${1:?usage: stop.sh <prefix printed by start.sh>}
PID=$(cat "$PREFIX/nginx.pid" 2>/dev/null) || { echo "no nginx.pid in $PREFIX"; exit 0; }
kill -QUIT "$PID" 2>/dev/null || { echo "pid $PID not running"; rm -rf "$PREFIX"; exit 0; }
i=0; while kill -0 "$PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
if kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID"; sleep 1; fi
rm -rf "$PREFIX"
echo "nchan peer stopped (pid $PID)"
