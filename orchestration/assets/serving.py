"""The serving file readers use: replaced only after every blocking check has passed."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from orchestration.assets.transformation import warehouse_models
from orchestration.publish import PUBLISHED_SCHEMAS, publish
from orchestration.resources import settings

# Every dbt model in a published schema feeds the serving file.
PUBLISHED_MODELS = sorted(
    (key for key in warehouse_models.keys if key.path[0] in PUBLISHED_SCHEMAS), key=lambda k: k.path
)


@asset(
    key=AssetKey(["serving_warehouse"]),
    deps=PUBLISHED_MODELS,
    group_name="serving",
    description="The published warehouse (marts only), swapped in atomically after validation.",
)
def serving_warehouse(context: AssetExecutionContext) -> MaterializeResult:
    s = settings()
    tables = publish(s.build_path, s.serving_path, s.duckdb_config())
    for table in tables:
        context.log.info(f"published {table.schema}.{table.table}: {table.rows} rows")
    return MaterializeResult(
        metadata={
            "path": str(s.serving_path),
            "tables": {f"{t.schema}.{t.table}": t.rows for t in tables},
        }
    )
