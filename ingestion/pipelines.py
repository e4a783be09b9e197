"""The dlt pipelines that land both sources in the raw DuckDB file."""

from __future__ import annotations

from pathlib import Path

import dlt

RAW_DATASETS = ("os2bos", "finance", "case_events")


def raw_pipeline(name: str, dataset: str, raw_path: Path, pipelines_dir: Path) -> dlt.Pipeline:
    """A pipeline writing `dataset` into the raw DuckDB file."""
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(credentials=str(raw_path)),
        dataset_name=dataset,
        pipelines_dir=str(pipelines_dir),
        progress="log",
    )
