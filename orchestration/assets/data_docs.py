"""The Great Expectations Data Docs index, rebuilt once per run after the suites have run."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.resources import settings


def rebuild_data_docs_index() -> str:
    """The index links every stored result (60 per suite), so reading them all once per run, not
    once per suite, keeps a nightly refresh from slowing down as the history grows."""
    from expectations.validate import build_data_docs_index  # GX is slow to import: only when needed

    return str(build_data_docs_index(settings().quality_dir))


@asset(
    key=AssetKey(["data_docs"]),
    deps=[AssetKey(["serving_warehouse"])],
    group_name="serving",
    description="The Data Docs index of every validation result (each suite's page is written by its check). "
                "A run that fails rebuilds it from its failure hook instead.",
)
def data_docs(context: AssetExecutionContext) -> MaterializeResult:
    index = rebuild_data_docs_index()
    context.log.info(f"Data Docs index rebuilt: {index}")
    return MaterializeResult(metadata={"index": MetadataValue.path(index)})
