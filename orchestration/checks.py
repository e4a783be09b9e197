"""Great Expectations suites as Dagster asset checks; error-severity failures block publishing."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)

from expectations.suites import SUITES, Layer, SuiteSpec
from orchestration.resources import settings

# The Dagster asset each suite validates: raw tables keyed [dataset, table] by the dlt
# translator, dbt models keyed [schema, model] by dagster-dbt.
CHECKED_ASSETS: dict[str, AssetKey] = {
    "raw_os2bos_core_payment": AssetKey(["os2bos", "core_payment"]),
    "marts_fct_client_cost": AssetKey(["marts", "fct_client_cost"]),
}


def _check_for(spec: SuiteSpec) -> AssetChecksDefinition:
    @asset_check(
        asset=CHECKED_ASSETS[spec.name],
        name=f"gx_{spec.name}",
        description=f"Great Expectations suite {spec.name} on {spec.schema}.{spec.table}",
        blocking=True,
    )
    def gx_suite(context: AssetCheckExecutionContext) -> AssetCheckResult:
        from expectations.validate import run_suite  # GX is slow to import: only when a check runs

        s = settings()
        database = s.raw_path if spec.layer is Layer.RAW else s.build_path
        outcome = run_suite(spec, database, s.duckdb_config())
        for failure in outcome.warnings:
            context.log.warning(f"[{spec.name}] warning: {failure.describe()}")
        for failure in outcome.errors:
            context.log.error(f"[{spec.name}] error: {failure.describe()}")
        return AssetCheckResult(
            passed=not outcome.failures,
            severity=AssetCheckSeverity.ERROR if outcome.errors else AssetCheckSeverity.WARN,
            description="; ".join(f.describe() for f in outcome.failures) or "all expectations met",
            metadata={
                "rows": outcome.rows,
                "expectations": outcome.evaluated,
                "errors": len(outcome.errors),
                "warnings": len(outcome.warnings),
                "failures": [f.describe() for f in outcome.failures],
            },
        )

    return gx_suite


GX_CHECKS: list[AssetChecksDefinition] = [_check_for(spec) for spec in SUITES]
