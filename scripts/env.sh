# Sourced by the scripts: the embedded default's environment, and demo secrets generated once.
# Anything already set in the environment wins.
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WAREHOUSE_HOME="${WAREHOUSE_HOME:-$repo_root/var}"
export DAGSTER_HOME="${DAGSTER_HOME:-$WAREHOUSE_HOME/dagster}"
export GX_ANALYTICS_ENABLED=false
export DAGSTER_DISABLE_TELEMETRY=true
mkdir -p "$WAREHOUSE_HOME/secrets" "$DAGSTER_HOME" "$WAREHOUSE_HOME/log" "$WAREHOUSE_HOME/run"
chmod 700 "$WAREHOUSE_HOME/secrets"

# A secret from the environment, else from a file in var/secrets created once with random content.
demo_secret() {
  local file="$WAREHOUSE_HOME/secrets/$1"
  if [[ ! -s "$file" ]]; then
    (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$file")
  fi
  printf '%s' "$file"
}
[[ -f "$DAGSTER_HOME/dagster.yaml" ]] || printf 'telemetry:\n  enabled: false\n' >"$DAGSTER_HOME/dagster.yaml"
