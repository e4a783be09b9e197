#!/usr/bin/env bash
# README command 1: set up, generate the sample municipality, run the nightly job once on the
# embedded default (DuckDB files, SQLite metadata), then serve Superset and the Dagster UI.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
bash scripts/setup.sh
source scripts/env.sh

# The sample municipality is demo data: demo mode lets the pipeline create its own HMAC key.
export WAREHOUSE_DEMO_MODE="${WAREHOUSE_DEMO_MODE:-1}"
export SUPERSET_SECRET_KEY_FILE="${SUPERSET_SECRET_KEY_FILE:-$(demo_secret superset_secret_key)}"
export SUPERSET_ADMIN_USERNAME="${SUPERSET_ADMIN_USERNAME:-admin}"
if [[ -z "${SUPERSET_ADMIN_PASSWORD:-}" ]]; then
  export SUPERSET_ADMIN_PASSWORD_FILE="${SUPERSET_ADMIN_PASSWORD_FILE:-$(demo_secret superset_admin_password)}"
fi
export WAREHOUSE_CASE_EVENTS_TOKEN_FILE="${WAREHOUSE_CASE_EVENTS_TOKEN_FILE:-$(demo_secret case_events_token)}"
superset_port="${SUPERSET_PORT:-8088}"
dagster_port="${DAGSTER_PORT:-3000}"
events_port="${SAMPLE_EVENTS_PORT:-8765}"
export WAREHOUSE_CASE_EVENTS_URL="${WAREHOUSE_CASE_EVENTS_URL:-http://127.0.0.1:$events_port}"

start() {  # name, command...
  local name=$1; shift
  nohup "$@" >"$WAREHOUSE_HOME/log/$name.log" 2>&1 &
  echo $! >"$WAREHOUSE_HOME/run/$name.pid"
}
wait_for() {  # name, url, expected HTTP status
  for _ in $(seq 1 120); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "$2")" == "$3" ]] && return 0
    sleep 1
  done
  echo "[up] $1 did not start: see $WAREHOUSE_HOME/log/$1.log" >&2
  return 1
}
bash scripts/stop.sh >/dev/null 2>&1 || true

if [[ ! -f "$WAREHOUSE_HOME/sources/os2bos.sqlite" ]]; then
  .venv/bin/python -m ingestion.sample_data --scale small --out "$WAREHOUSE_HOME/sources"
fi
# The sample municipality's child-case system serves its events over the REST API the loader reads.
start sample-case-events-api .venv/bin/python -m ingestion.sample_data.case_events_api \
  --data "$WAREHOUSE_HOME/sources/case_events.sqlite" --port "$events_port" --token-file "$WAREHOUSE_CASE_EVENTS_TOKEN_FILE"
wait_for sample-case-events-api "http://127.0.0.1:$events_port/api/v1/events" 401

.venv/bin/python -m orchestration refresh

superset_config/.venv/bin/python superset_config/manage.py setup

start superset superset_config/.venv/bin/python superset_config/manage.py serve --host 127.0.0.1 --port "$superset_port"
start dagster-webserver .venv/bin/dagster-webserver -m orchestration.definitions -h 127.0.0.1 -p "$dagster_port"
start dagster-daemon .venv/bin/dagster-daemon run -m orchestration.definitions
mkdir -p "$WAREHOUSE_HOME/quality/data_docs"
start data-docs .venv/bin/python -m http.server --directory "$WAREHOUSE_HOME/quality/data_docs" \
  --bind 127.0.0.1 "${DATA_DOCS_PORT:-8089}"
wait_for superset "http://127.0.0.1:$superset_port/health" 200
wait_for dagster-webserver "http://127.0.0.1:$dagster_port/server_info" 200

password="${SUPERSET_ADMIN_PASSWORD:-$(cat "$SUPERSET_ADMIN_PASSWORD_FILE")}"
cat <<INFO

  Ready in $(( $(date +%s) - started )) s: the warehouse is refreshed and published.
  Superset  : http://127.0.0.1:$superset_port   (dashboard "Cost per client")
              login: $SUPERSET_ADMIN_USERNAME / $password
  Dagster UI: http://127.0.0.1:$dagster_port    (job nightly_refresh, schedule 02:00 ${WAREHOUSE_TIMEZONE:-Europe/Copenhagen})
  Data Docs : http://127.0.0.1:${DATA_DOCS_PORT:-8089}    (Great Expectations results of every run)
  Serving warehouse (read-only for analysts): $WAREHOUSE_HOME/warehouse/serving.duckdb
  Logs: $WAREHOUSE_HOME/log/   Stop everything: bash scripts/stop.sh

INFO
