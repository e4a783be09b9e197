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
# Demo users besides the admin (see superset_config/access.py): a head of department, a leader of
# one school district (row-level security) and an analyst (SQL Lab, read-only); random passwords.
if [[ -z "${SUPERSET_ACCESS_FILE:-}" ]]; then
  export SUPERSET_ACCESS_FILE="$WAREHOUSE_HOME/secrets/superset_access.yaml"
  (umask 077; cat >"$SUPERSET_ACCESS_FILE" <<ACCESS
users:
  - {username: leader, role: leader, password_file: $(demo_secret superset_password_leader)}
  - {username: leader_nord, role: leader, district: Nordby Nord, password_file: $(demo_secret superset_password_leader_nord)}
  - {username: analyst, role: analyst, password_file: $(demo_secret superset_password_analyst)}
ACCESS
  )
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
# Open every dashboard once per access scope, so the first leader is answered from the cache.
superset_config/.venv/bin/python superset_config/manage.py warm-cache

# dbt docs (models, columns, tests, lineage) for analysts, generated from the build file.
dbt_docs="$WAREHOUSE_HOME/dbt_docs"
(cd dbt_project && WAREHOUSE_BUILD_PATH="$WAREHOUSE_HOME/warehouse/build.duckdb" \
  WAREHOUSE_RAW_PATH="$WAREHOUSE_HOME/warehouse/raw.duckdb" WAREHOUSE_DUCKDB_TEMP_DIR="$WAREHOUSE_HOME/tmp/duckdb" \
  DBT_LOG_PATH="$WAREHOUSE_HOME/log/dbt_docs" ../.venv/bin/dbt docs generate --profiles-dir . \
  --target-path "$dbt_docs" --quiet) >"$WAREHOUSE_HOME/log/dbt-docs-generate.log" 2>&1 \
  || echo "[up] dbt docs generate failed: see $WAREHOUSE_HOME/log/dbt-docs-generate.log" >&2

start superset superset_config/.venv/bin/python superset_config/manage.py serve --host 127.0.0.1 --port "$superset_port"
.venv/bin/python -m orchestration instance  # DAGSTER_HOME/dagster.yaml: SQLite, or PostgreSQL in production
start dagster-webserver .venv/bin/dagster-webserver -m orchestration.definitions -h 127.0.0.1 -p "$dagster_port"
start dagster-daemon .venv/bin/dagster-daemon run -m orchestration.definitions
mkdir -p "$WAREHOUSE_HOME/quality/data_docs"
start data-docs .venv/bin/python -m http.server --directory "$WAREHOUSE_HOME/quality/data_docs" \
  --bind 127.0.0.1 "${DATA_DOCS_PORT:-8089}"
mkdir -p "$dbt_docs"
start dbt-docs .venv/bin/python -m http.server --directory "$dbt_docs" --bind 127.0.0.1 "${DBT_DOCS_PORT:-8090}"
wait_for superset "http://127.0.0.1:$superset_port/health" 200
wait_for dagster-webserver "http://127.0.0.1:$dagster_port/server_info" 200

password="${SUPERSET_ADMIN_PASSWORD:-$(cat "$SUPERSET_ADMIN_PASSWORD_FILE")}"
cat <<INFO

  Ready in $(( $(date +%s) - started )) s: the warehouse is refreshed and published.
  Superset  : http://127.0.0.1:$superset_port   (dashboard "Cost per client")
              login: $SUPERSET_ADMIN_USERNAME / $password
  Dagster UI: http://127.0.0.1:$dagster_port    (job nightly_refresh, schedule 02:00 ${WAREHOUSE_TIMEZONE:-Europe/Copenhagen})
              leaders and analysts: $SUPERSET_ACCESS_FILE (passwords in the files it names)
  Data Docs : http://127.0.0.1:${DATA_DOCS_PORT:-8089}    (Great Expectations results of every run)
  dbt docs  : http://127.0.0.1:${DBT_DOCS_PORT:-8090}    (models, columns, tests, lineage; analysts: docs/analysts.md)
  Serving warehouse (read-only for analysts): $WAREHOUSE_HOME/warehouse/serving.duckdb
  Logs: $WAREHOUSE_HOME/log/   Stop everything: bash scripts/stop.sh

INFO
