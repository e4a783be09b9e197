#!/usr/bin/env bash
# README command 2: set up and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export GX_ANALYTICS_ENABLED=false DAGSTER_DISABLE_TELEMETRY=true
exec .venv/bin/pytest "$@"
