"""Loader throughput per source at a given scale, with DuckDB reading the same source natively.

    .venv/bin/python benchmarks/ingest_throughput.py --scale large

Generates the sample into a scratch folder, serves its case events, then times each dlt load
(first run, then an incremental run with nothing new) and DuckDB's own scan of the same
source (sqlite_scanner for OS2bos, read_csv for the ledger). Prints a Markdown table to paste
into docs/benchmarks.md. Wall times on a shared machine vary: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import platform
import resource
import secrets
import tempfile
import time
from datetime import date
from pathlib import Path

import dlt
import duckdb
from sample_sources import KEY

from ingestion.case_events import case_events_source
from ingestion.case_system import os2bos_source
from ingestion.duckdb_extensions import load_extension
from ingestion.finance import finance_source
from ingestion.pipelines import raw_pipeline
from ingestion.sample_data.__main__ import write_sources
from ingestion.sample_data.case_events_api import CaseEventsServer
from ingestion.sample_data.generator import generate

TOKEN = secrets.token_urlsafe(16)  # the scratch API server and its client share it


def _timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _rows(info: dlt.common.pipeline.LoadInfo | None, pipeline: dlt.Pipeline) -> int:
    counts = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace else {}
    return sum(n for table, n in counts.items() if not table.startswith("_dlt"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 20))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix=f"ingest-{args.scale}-"))
    print(f"scratch folder {folder}")
    seconds, sample = _timed(lambda: generate(args.scale, 42, args.as_of))
    print(f"generated {args.scale} in {seconds:.1f} s")
    seconds, _ = _timed(lambda: write_sources(sample, folder / "sources"))
    print(f"wrote sources in {seconds:.1f} s")
    events_api = CaseEventsServer(folder / "sources" / "case_events.sqlite", token=TOKEN)
    events_api.serve_in_background()
    raw = folder / "raw.duckdb"
    sources = {
        "os2bos (SQLite)": (lambda: os2bos_source(f"sqlite:///{folder / 'sources' / 'os2bos.sqlite'}", lambda: KEY),
                            "os2bos"),
        "case events (REST)": (lambda: case_events_source(events_api.url, lambda: TOKEN, lambda: KEY, page_size=1000),
                               "case_events"),
        "finance files": (lambda: finance_source(folder / "sources" / "finance_drop"), "finance"),
    }
    results = []
    for label, (make_source, dataset) in sources.items():
        pipeline = raw_pipeline(dataset, dataset, raw, folder / "dlt")
        first, _ = _timed(lambda: pipeline.run(make_source()))
        rows = _rows(None, pipeline)
        again, _ = _timed(lambda: pipeline.run(make_source()))
        results.append((label, rows, first, again))
        print(f"{label}: {rows} rows in {first:.1f} s; incremental run {again:.1f} s")
    events_api.shutdown()

    with duckdb.connect(config={"threads": 2, "memory_limit": "4GB"}) as connection:
        load_extension(connection, "sqlite_scanner")
        connection.execute(f"ATTACH '{folder / 'sources' / 'os2bos.sqlite'}' AS s (TYPE sqlite, READ_ONLY)")
        native_os2bos, _ = _timed(lambda: connection.execute(
            "CREATE TABLE p AS SELECT * FROM s.core_payment").fetchall())
        ledger_files = sorted((folder / "sources" / "finance_drop").rglob("ledger_postings_*.csv"))  # loaded ones moved to processed/
        utf8 = folder / "ledger_utf8.csv"
        with utf8.open("w", encoding="utf-8") as target:
            for index, path in enumerate(ledger_files):
                lines = path.read_text(encoding="cp1252").splitlines(keepends=True)
                target.writelines(lines if index == 0 else lines[1:])
        native_finance, _ = _timed(lambda: connection.execute(
            f"CREATE TABLE l AS SELECT * FROM read_csv('{utf8}', delim=';', decimal_separator=',', header=true)"
        ).fetchall())
    payments = len(sample.tables["core_payment"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"\nmachine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores; "
          f"duckdb {duckdb.__version__}, dlt {dlt.__version__}; peak RSS {peak:.1f} GiB\n")
    print("| source | rows | first load | rows/s | incremental run (nothing new) |")
    print("|---|---|---|---|---|")
    for label, rows, first, again in results:
        print(f"| {label} | {rows:,} | {first:.1f} s | {rows / first:,.0f} | {again:.1f} s |")
    print(f"| DuckDB native: core_payment from SQLite | {payments:,} | {native_os2bos:.1f} s | "
          f"{payments / native_os2bos:,.0f} | |")
    print(f"| DuckDB native: ledger CSV (UTF-8 copy) | {len(sample.ledger):,} | {native_finance:.1f} s | "
          f"{len(sample.ledger) / native_finance:,.0f} | |")


if __name__ == "__main__":
    main()
