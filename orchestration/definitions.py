"""Dagster definitions: the nightly refresh of sources -> models -> checks -> serving file -> Superset."""

from datetime import timedelta

from dagster import (
    AssetSelection,
    AssetsDefinition,
    AssetSpec,
    FreshnessPolicy,
    DefaultScheduleStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    apply_freshness_policy,
    in_process_executor,
)
from dagster_dbt import DbtCliResource

from orchestration.assets.data_docs import data_docs
from orchestration.assets.ingestion import case_events_raw, finance_raw, os2bos_raw
from orchestration.assets.serving import serving_warehouse, superset_dashboards
from orchestration.assets.transformation import DBT_EXECUTABLE, dbt_project, warehouse_models
from orchestration.checks import GX_CHECKS
from orchestration.hooks import alert_on_failure, data_docs_index_on_failure
from orchestration.resources import WarehouseDltResource, settings, warehouse_writer
from orchestration.sensors import build_finance_drop_sensor

# Runs keep a week of history in the instance, and a crashed run is retried once by the daemon.
RUN_TAGS = {"dagster/max_retries": "1", "dagster/retry_strategy": "FROM_FAILURE"}

# One process runs a whole refresh: DuckDB files have a single writer, and two cores are
# better spent inside DuckDB than on parallel steps.
nightly_refresh = define_asset_job(
    name="nightly_refresh",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    hooks={alert_on_failure, data_docs_index_on_failure},
    run_tags=RUN_TAGS,
    description="Load all sources, build and test the models, validate, publish, refresh Superset.",
)

finance_refresh = define_asset_job(
    name="finance_refresh",
    selection=AssetSelection.groups("raw_finance").downstream(),
    executor_def=in_process_executor,
    hooks={alert_on_failure, data_docs_index_on_failure},
    run_tags=RUN_TAGS,
    description="Load new finance files, rebuild what depends on them, validate, publish.",
)


def deadline_cron(nightly_cron: str, grace_hours: int) -> str:
    """The cron of the freshness deadline: the nightly start + `grace_hours` (a daily "M H * * *" cron)."""
    fields = nightly_cron.split()
    if len(fields) != 5 or not fields[0].isdigit() or not fields[1].isdigit() or fields[2:] != ["*", "*", "*"]:
        raise ValueError(f"freshness needs a daily cron 'M H * * *' for WAREHOUSE_NIGHTLY_CRON, not {nightly_cron!r}")
    return f"{fields[0]} {(int(fields[1]) + grace_hours) % 24} * * *"


# Every asset is fresh when materialised since the last nightly start, checked at start + grace hours
# (02:00 → 06:00 local): a night that failed or did not run shows FAIL in the UI by the morning.
# A finance load by the sensor during the day also counts as fresh.
NIGHTLY_FRESHNESS = FreshnessPolicy.cron(
    deadline_cron=deadline_cron(settings().nightly_cron, settings().freshness_grace_hours),
    lower_bound_delta=timedelta(hours=settings().freshness_grace_hours),
    timezone=settings().timezone,
)


def _fresh_nightly(assets: AssetsDefinition) -> AssetsDefinition:
    def attach(spec: AssetSpec) -> AssetSpec:
        return apply_freshness_policy(spec, NIGHTLY_FRESHNESS)

    return assets.map_asset_specs(attach)


nightly_schedule = ScheduleDefinition(
    name="nightly_refresh_schedule",
    job=nightly_refresh,
    cron_schedule=settings().nightly_cron,
    execution_timezone=settings().timezone,
    default_status=DefaultScheduleStatus.RUNNING,  # refresh every night without a click in the UI
)

defs = Definitions(
    assets=[_fresh_nightly(a) for a in (os2bos_raw, finance_raw, case_events_raw, warehouse_models,
                                        serving_warehouse, superset_dashboards, data_docs)],
    asset_checks=GX_CHECKS,
    jobs=[nightly_refresh, finance_refresh],
    schedules=[nightly_schedule],
    sensors=[build_finance_drop_sensor(finance_refresh.name)],
    resources={
        "dlt": WarehouseDltResource(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
        "warehouse_writer": warehouse_writer,
    },
)
