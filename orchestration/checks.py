"""Great Expectations suites as Dagster asset checks; error-severity failures block publishing.

One blocking check per suite (expectations/suites.py), named `gx_<suite>`, on the asset the
suite validates. A failed `critical` expectation gives passed=False with severity ERROR (the
publish step does not run); failed warnings only give passed=False with severity WARN.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)
from dagster._core.errors import DagsterInvalidPropertyError

from expectations.suites import SUITES, Layer, SuiteSpec, asset_key_path
from orchestration.assets.transformation import warehouse_models
from orchestration.resources import settings


def _in_the_graph(spec: SuiteSpec) -> bool:
    """Raw suites always; a mart suite when dbt's manifest has the model (a mart whose YAML was just
    added gets its check once `dbt parse` or the next build has written it to the manifest)."""
    return spec.layer is Layer.RAW or AssetKey(asset_key_path(spec)) in warehouse_models.keys


CHECKED_SUITES: tuple[SuiteSpec, ...] = tuple(spec for spec in SUITES if _in_the_graph(spec))

# The Dagster asset each suite validates: raw tables keyed [dataset, table] by the dlt
# translator, dbt models keyed [schema, model] by dagster-dbt.
CHECKED_ASSETS: dict[str, AssetKey] = {spec.name: AssetKey(asset_key_path(spec)) for spec in CHECKED_SUITES}


def _run_id(context: AssetCheckExecutionContext) -> str | None:
    """The Dagster run's id, which names the result's Data Docs page; None when invoked directly."""
    try:
        return context.run.run_id
    except DagsterInvalidPropertyError:  # a check invoked directly (tests) has no run
        return None


def _check_for(spec: SuiteSpec) -> AssetChecksDefinition:
    @asset_check(
        asset=CHECKED_ASSETS[spec.name],
        name=f"gx_{spec.name}",
        description=f"Great Expectations suite {spec.name} on {spec.schema}.{spec.table}",
        blocking=True,
    )
    def gx_suite(context: AssetCheckExecutionContext) -> AssetCheckResult:
        from expectations.validate import run_warehouse_suite  # GX is slow to import: only when a check runs

        s = settings()
        outcome = run_warehouse_suite(
            spec, s.raw_path, s.build_path, s.duckdb_config(),
            quality_dir=s.quality_dir, today=s.run_date(), run_name=_run_id(context),
        )
        for failure in outcome.warnings:
            context.log.warning(f"[{spec.name}] warning: {failure.describe()}")
        for failure in outcome.errors:
            context.log.error(f"[{spec.name}] error: {failure.describe()}")
        metadata = {
            "rows": outcome.rows,
            "expectations": outcome.evaluated,
            "errors": len(outcome.errors),
            "warnings": len(outcome.warnings),
            "failures": [f.describe() for f in outcome.failures],
            "seconds": round(outcome.seconds, 2),
        }
        if outcome.data_docs is not None:
            metadata["data_docs"] = MetadataValue.path(str(outcome.data_docs))
        return AssetCheckResult(
            passed=not outcome.failures,
            severity=AssetCheckSeverity.ERROR if outcome.errors else AssetCheckSeverity.WARN,
            description="; ".join(f.describe() for f in outcome.failures) or "all expectations met",
            metadata=metadata,
        )

    return gx_suite


GX_CHECKS: list[AssetChecksDefinition] = [_check_for(spec) for spec in CHECKED_SUITES]
