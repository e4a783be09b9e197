"""Dagster definitions: the nightly refresh of sources -> models -> checks -> serving file."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    in_process_executor,
)
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from orchestration.assets.ingestion import case_events_raw, finance_raw, os2bos_raw
from orchestration.assets.serving import serving_warehouse
from orchestration.assets.transformation import DBT_EXECUTABLE, dbt_project, warehouse_models
from orchestration.checks import GX_CHECKS
from orchestration.resources import settings

# One process runs the whole refresh: DuckDB files have a single writer, and two cores
# are better spent inside DuckDB than on parallel steps.
nightly_refresh = define_asset_job(
    name="nightly_refresh",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Load both sources, build and test the models, validate, publish.",
)

nightly_schedule = ScheduleDefinition(
    name="nightly_refresh_schedule",
    job=nightly_refresh,
    cron_schedule=settings().nightly_cron,
    execution_timezone=settings().timezone,
    default_status=DefaultScheduleStatus.RUNNING,  # refresh every night without a click in the UI
)

defs = Definitions(
    assets=[os2bos_raw, finance_raw, case_events_raw, warehouse_models, serving_warehouse],
    asset_checks=GX_CHECKS,
    jobs=[nightly_refresh],
    schedules=[nightly_schedule],
    resources={
        "dlt": DagsterDltResource(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    },
)
