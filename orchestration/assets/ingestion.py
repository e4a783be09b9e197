"""dlt loads into the raw DuckDB file, one Dagster asset per source table (key: dataset/table)."""

import fcntl
from collections.abc import Callable, Iterator

import requests
import sqlalchemy.exc

from dagster import AssetExecutionContext, AssetKey, AssetSpec, RetryRequested
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.case_events import case_events_source
from ingestion.case_system import ROW_KEYS as OS2BOS_ROW_KEYS
from ingestion.case_system import load_summary, os2bos_source
from ingestion.finance import ROW_KEYS as FINANCE_ROW_KEYS
from ingestion.finance import archive_loaded_files, finance_source
from ingestion.pipelines import raw_pipeline
from ingestion.resumed_loads import finish_interrupted_load
from orchestration.resources import pseudonym_key, settings


class RawLayerTranslator(DagsterDltTranslator):
    """Key each raw table as [dataset, table], the key dagster-dbt gives the matching dbt source."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        dataset = data.pipeline.dataset_name if data.pipeline else "raw"
        return spec.replace_attributes(key=AssetKey([dataset, data.resource.name]), deps=[])


# Failures worth another try: the source was unreachable, timed out or answered 5xx/429.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError, TimeoutError, requests.ConnectionError, requests.Timeout, sqlalchemy.exc.OperationalError,
)
MAX_RETRIES = 3


def _run_with_retries(context: AssetExecutionContext, run: Callable[[], Iterator]) -> Iterator:
    """Run a dlt load; on a transient source failure ask Dagster to retry the step with backoff."""
    try:
        yield from run()
    except Exception as error:  # dlt wraps the source's exception: look at the whole chain
        cause: BaseException | None = error
        while cause is not None and not isinstance(cause, TRANSIENT_ERRORS):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        wait = 30 * 2 ** context.retry_number
        context.log.warning(f"transient source failure ({cause}); retrying in {wait} s")
        raise RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=wait) from error


def _pipeline(dataset: str, *, for_definitions: bool = False):
    """The dlt pipeline landing `dataset` in the raw file.

    Loading the asset graph (webserver, daemon, every run process) only needs the pipeline's
    destination and dataset, so it gets a working folder of its own: dlt resets a pipeline's
    working folder while it syncs state, and a second process creating its pipeline there
    meanwhile would break the run that holds the writer lock. That folder never holds state, so
    dlt wipes and recreates it in every process: processes starting together (two refreshes, the
    webserver and its daemon) take turns, else one removes the folder while another fills it.
    """
    s = settings()
    if not for_definitions:
        return raw_pipeline(dataset, dataset, s.raw_path, s.dlt_dir)
    folder = s.home / "dlt_definitions"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return raw_pipeline(dataset, dataset, s.raw_path, folder)


def _os2bos_pipeline():
    return _pipeline("os2bos")


def _case_events_pipeline():
    return _pipeline("case_events")


def _case_events_source():
    return case_events_source(settings().case_events_url, settings().case_events_token, pseudonym_key)


def _finance_pipeline():
    return _pipeline("finance")


@dlt_assets(
    dlt_source=os2bos_source(settings().os2bos_url, pseudonym_key),
    dlt_pipeline=_pipeline("os2bos", for_definitions=True),
    name="os2bos_raw",
    group_name="raw_case_system",
    dagster_dlt_translator=RawLayerTranslator(),
)
def os2bos_raw(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator:
    """Case and grant tables from OS2bos, CPR numbers pseudonymised before they land."""
    pipeline = _os2bos_pipeline()
    source = os2bos_source(settings().os2bos_url, pseudonym_key, duckdb_config=settings().duckdb_config())
    finish_interrupted_load(pipeline, OS2BOS_ROW_KEYS)
    yield from _run_with_retries(context, lambda: dlt.run(context=context, dlt_source=source, dlt_pipeline=pipeline))
    for table, moved in load_summary(pipeline).items():
        context.log.info(f"[os2bos] {table}: {moved}")


@dlt_assets(
    dlt_source=finance_source(settings().finance_drop),
    dlt_pipeline=_pipeline("finance", for_definitions=True),
    name="finance_raw",
    group_name="raw_finance",
    dagster_dlt_translator=RawLayerTranslator(),
)
def finance_raw(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator:
    """Ledger postings and budgets from the finance system's export files in the drop folder."""
    pipeline = _finance_pipeline()
    source = finance_source(settings().finance_drop)
    finish_interrupted_load(pipeline, FINANCE_ROW_KEYS)
    yield from _run_with_retries(context, lambda: dlt.run(context=context, dlt_source=source, dlt_pipeline=pipeline))
    for archived in archive_loaded_files(settings().finance_drop, pipeline):
        context.log.info(f"[finance] loaded and archived {archived.name}")


@dlt_assets(
    dlt_source=_case_events_source(),
    dlt_pipeline=_pipeline("case_events", for_definitions=True),
    name="case_events_raw",
    group_name="raw_case_events",
    dagster_dlt_translator=RawLayerTranslator(),
)
def case_events_raw(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator:
    """Case-process events (notifications ... closures) from the child-case system's REST API."""
    pipeline, source = _case_events_pipeline(), _case_events_source()
    finish_interrupted_load(pipeline, {})  # events are merged on their id: dlt keeps no second copy
    yield from _run_with_retries(context, lambda: dlt.run(context=context, dlt_source=source, dlt_pipeline=pipeline))
