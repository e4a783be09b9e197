"""The case-events REST loader in each dlt load format, against DuckDB reading the API's own store.

    .venv/bin/python benchmarks/case_events_load.py --scale large
    .venv/bin/python benchmarks/case_events_load.py --sources /tmp/bench-national/sources --formats parquet

Serves the sample's events over the REST API in a process of its own (as the source system
does), then loads them all with the product's source (`ingestion.case_events`, production page
size) once per load format, each into a new raw file, and times DuckDB copying the same events
from the API's SQLite store. Prints a Markdown table for docs/benchmarks.md; compare the ratios
measured in one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import time
from pathlib import Path

import dlt
import duckdb
from sample_sources import KEY, add_source_arguments, events_api, scratch_with_sources

from ingestion.case_events import case_events_source
from ingestion.duckdb_extensions import load_extension
from ingestion.pipelines import raw_pipeline

PORT = 18766


def load_with(file_format: str, base_url: str, token: str, folder: Path) -> tuple[float, int]:
    """Seconds and rows for one full load in `file_format` into a new raw file."""
    pipeline = raw_pipeline(f"events_{file_format}", "case_events", folder / f"raw_{file_format}.duckdb", folder / "dlt")
    source = case_events_source(base_url, lambda: token, lambda: KEY)
    source.resources["events"].apply_hints(file_format=file_format)
    started = time.perf_counter()
    pipeline.run(source)
    seconds = time.perf_counter() - started
    return seconds, pipeline.last_trace.last_normalize_info.row_counts.get("events", 0)


def duckdb_copy(store: Path) -> tuple[float, int]:
    with duckdb.connect(config={"threads": 2, "memory_limit": "4GB"}) as connection:
        load_extension(connection, "sqlite_scanner")
        started = time.perf_counter()
        connection.execute(f"CREATE TABLE events AS SELECT * FROM sqlite_scan('{store}', 'events')")
        seconds = time.perf_counter() - started
        return seconds, connection.execute("SELECT count(*) FROM events").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_source_arguments(parser, "case_events.sqlite")
    parser.add_argument("--formats", nargs="+", default=["insert_values", "parquet"])
    args = parser.parse_args()
    folder, sources = scratch_with_sources("case-events-load-", args)
    store = sources / "case_events.sqlite"
    token = secrets.token_urlsafe(16)
    token_file = folder / "token"
    token_file.write_text(token)
    with events_api(store, PORT, token_file) as url:
        loads = {f: load_with(f, url, token, folder) for f in args.formats}
    native_seconds, native_rows = duckdb_copy(store)
    print(f"\nscratch folder {folder}; machine {platform.machine()}, {os.cpu_count()} cores; "
          f"duckdb {duckdb.__version__}, dlt {dlt.__version__}")
    print("| load | rows | time | rows/s | share of DuckDB's rate |")
    print("|---|---|---|---|---|")
    native_rate = native_rows / native_seconds
    for file_format, (seconds, rows) in loads.items():
        print(f"| REST loader, dlt `{file_format}` | {rows:,} | {seconds:.1f} s | {rows / seconds:,.0f} | "
              f"{100 * rows / seconds / native_rate:.1f} % |")
    print(f"| DuckDB copying the API's store (sqlite_scanner) | {native_rows:,} | {native_seconds:.1f} s | "
          f"{native_rate:,.0f} | 100 % |")


if __name__ == "__main__":
    main()
