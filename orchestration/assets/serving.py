"""The serving file readers use, replaced only after every blocking check passed; then Superset."""

import os
import subprocess

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from orchestration.assets.transformation import warehouse_models
from orchestration.publish import PUBLISHED_SCHEMAS, publish
from orchestration.resources import settings
from orchestration.settings import REPO_ROOT

# Every dbt model in a published schema feeds the serving file.
PUBLISHED_MODELS = sorted(
    (key for key in warehouse_models.keys if key.path[0] in PUBLISHED_SCHEMAS), key=lambda k: k.path
)
SUPERSET_PYTHON = REPO_ROOT / "superset_config" / ".venv" / "bin" / "python"
SUPERSET_MANAGE = REPO_ROOT / "superset_config" / "manage.py"


@asset(
    key=AssetKey(["serving_warehouse"]),
    deps=PUBLISHED_MODELS,
    group_name="serving",
    required_resource_keys={"warehouse_writer"},
    description="The published warehouse (marts only): a new version swapped in atomically after validation.",
)
def serving_warehouse(context: AssetExecutionContext) -> MaterializeResult:
    s = settings()
    version, tables = publish(s.build_path, s.serving_path, s.duckdb_config(), keep=s.keep_versions)
    for table in tables:
        context.log.info(f"published {table.schema}.{table.table}: {table.rows} rows")
    return MaterializeResult(
        metadata={
            "path": str(s.serving_path),
            "version": version.name,
            "tables": {f"{t.schema}.{t.table}": t.rows for t in tables},
        }
    )


@asset(
    key=AssetKey(["superset_dashboards"]),
    deps=[AssetKey(["serving_warehouse"])],
    group_name="serving",
    description=(
        "Superset after a publish: dataset metrics regenerated from the semantic layer, dashboards "
        "re-imported, roles and row-level security re-applied, its chart data cache cleared (cached "
        "results are keyed on the query, not the data, so they would show the old file), then warmed: "
        "every dashboard opened once per access scope in headless Chromium, so leaders are answered "
        "from the cache and a chart that fails to draw fails this asset."
    ),
)
def superset_dashboards(context: AssetExecutionContext) -> MaterializeResult:
    set_up = os.environ.get("SUPERSET_METADATA_URI") or (settings().home / "superset" / "superset.db").exists()
    if not SUPERSET_PYTHON.exists() or not set_up:
        context.log.info("Superset is not set up here (scripts/up.sh does it): nothing to refresh")
        return MaterializeResult(metadata={"refreshed": False})
    imported = _manage(context, "import-dashboards")
    if "chart data cache cleared" not in imported:
        raise RuntimeError(f"Superset's chart cache was not cleared:\n{imported[-3000:]}")
    warmed = _manage(context, "warm-cache").strip().splitlines()
    return MaterializeResult(metadata={"refreshed": True, "cache_cleared": True, "cache_warmed": warmed[-1]})


def _manage(context: AssetExecutionContext, command: str) -> str:
    """Run `manage.py <command>` in Superset's environment; its output, or an error with its tail."""
    result = subprocess.run(
        [str(SUPERSET_PYTHON), str(SUPERSET_MANAGE), command], capture_output=True, text=True, timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    context.log.info(result.stdout.strip())
    return result.stdout
