"""The OS2bos loader reading SQLite through SQLAlchemy (dlt's pyarrow backend) and through DuckDB.

    .venv/bin/python benchmarks/os2bos_load.py --scale large
    .venv/bin/python benchmarks/os2bos_load.py --sources /tmp/bench-national/sources

Loads every OS2bos table with the product's source (`ingestion.case_system`) once per reader,
each into a new raw file, then runs the same load again with nothing new (what a quiet night
costs), and times DuckDB copying the same tables natively. Prints a Markdown table for
docs/benchmarks.md; compare the ratios measured in one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import dlt
import duckdb

from sample_sources import KEY, add_source_arguments, scratch_with_sources
from scale import Settings, copy_sqlite, raw_connection
from ingestion.case_system import os2bos_source
from ingestion.pipelines import raw_pipeline

READER_CONFIG: dict[str, str | int] = {"memory_limit": "2GB", "threads": 1}


def load_with(backend: str, sqlite_file: Path, folder: Path) -> tuple[float, int, float]:
    """Seconds and rows of a full load with `backend` into a new raw file, then seconds of a rerun."""
    pipeline = raw_pipeline(f"os2bos_{backend}", "os2bos", folder / f"raw_{backend}.duckdb", folder / "dlt")

    def run() -> float:
        started = time.perf_counter()
        pipeline.run(os2bos_source(f"sqlite:///{sqlite_file}", lambda: KEY, backend=backend,
                                   duckdb_config={**READER_CONFIG, "temp_directory": str(folder / "tmp")}))
        return time.perf_counter() - started

    first = run()
    rows = sum(n for table, n in pipeline.last_trace.last_normalize_info.row_counts.items() if not table.startswith("_dlt"))
    return first, rows, run()


def duckdb_copy(sqlite_file: Path, folder: Path) -> tuple[float, int]:
    with raw_connection(folder / "native.duckdb", Settings("4GB", 2), folder / "tmp") as connection:
        started = time.perf_counter()
        rows = copy_sqlite(connection, sqlite_file)
        return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_source_arguments(parser, "os2bos.sqlite")
    parser.add_argument("--backends", nargs="+", default=["pyarrow", "duckdb"])
    args = parser.parse_args()
    folder, sources = scratch_with_sources("os2bos-load-", args)
    sqlite_file = sources / "os2bos.sqlite"
    loads = {backend: load_with(backend, sqlite_file, folder) for backend in args.backends}
    native_seconds, native_rows = duckdb_copy(sqlite_file, folder)
    print(f"\nscratch folder {folder}; machine {platform.machine()}, {os.cpu_count()} cores; "
          f"duckdb {duckdb.__version__}, dlt {dlt.__version__}")
    print("| load | rows | first load | rows/s | share of DuckDB's rate | rerun, nothing new |")
    print("|---|---|---|---|---|---|")
    native_rate = native_rows / native_seconds
    for backend, (seconds, rows, rerun) in loads.items():
        print(f"| OS2bos loader, `{backend}` reader | {rows:,} | {seconds:.1f} s | {rows / seconds:,.0f} | "
              f"{100 * rows / seconds / native_rate:.1f} % | {rerun:.1f} s |")
    print(f"| DuckDB copying every table (sqlite_scanner) | {native_rows:,} | {native_seconds:.1f} s | "
          f"{native_rate:,.0f} | 100 % | |")


if __name__ == "__main__":
    main()
