#!/usr/bin/env bash
# Stop the services scripts/up.sh started.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
for pidfile in "$WAREHOUSE_HOME"/run/*.pid; do
  [[ -f "$pidfile" ]] || continue
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    echo "[stop] stopped $(basename "$pidfile" .pid) ($pid)"
  fi
  rm -f "$pidfile"
done
