"""dlt loads into the raw DuckDB file, one Dagster asset per source table (key: dataset/table)."""

from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, AssetSpec
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.case_system import os2bos_source
from ingestion.finance import finance_source
from ingestion.pipelines import raw_pipeline
from orchestration.resources import pseudonym_key, settings


class RawLayerTranslator(DagsterDltTranslator):
    """Key each raw table as [dataset, table], the key dagster-dbt gives the matching dbt source."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        dataset = data.pipeline.dataset_name if data.pipeline else "raw"
        return spec.replace_attributes(key=AssetKey([dataset, data.resource.name]), deps=[])


def _os2bos_pipeline():
    s = settings()
    return raw_pipeline("os2bos", "os2bos", s.raw_path, s.dlt_dir)


def _finance_pipeline():
    s = settings()
    return raw_pipeline("finance", "finance", s.raw_path, s.dlt_dir)


@dlt_assets(
    dlt_source=os2bos_source(settings().os2bos_url, pseudonym_key),
    dlt_pipeline=_os2bos_pipeline(),
    name="os2bos_raw",
    group_name="raw_case_system",
    dagster_dlt_translator=RawLayerTranslator(),
)
def os2bos_raw(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator:
    """Case and grant tables from OS2bos, CPR numbers pseudonymised before they land."""
    yield from dlt.run(
        context=context,
        dlt_source=os2bos_source(settings().os2bos_url, pseudonym_key),
        dlt_pipeline=_os2bos_pipeline(),
    )


@dlt_assets(
    dlt_source=finance_source(settings().finance_drop),
    dlt_pipeline=_finance_pipeline(),
    name="finance_raw",
    group_name="raw_finance",
    dagster_dlt_translator=RawLayerTranslator(),
)
def finance_raw(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator:
    """Ledger postings from the finance system's export files."""
    yield from dlt.run(
        context=context,
        dlt_source=finance_source(settings().finance_drop),
        dlt_pipeline=_finance_pipeline(),
    )
