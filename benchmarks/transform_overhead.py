"""dbt's overhead: `dbt build` against DuckDB running the same compiled SQL in one connection.

    .venv/bin/python benchmarks/transform_overhead.py --raw var/warehouse/raw.duckdb

Runs `dbt build` (seeds, snapshots, models and every data test; unit tests, which have no
counterpart in plain SQL, are left out) into a scratch build file, then
takes the SQL dbt compiled in that run and executes it, in dbt's order, in a single DuckDB
connection with the same settings (memory limit, threads, temp directory) into a second
scratch file: models as `CREATE TABLE`/`VIEW ... AS`, seeds by `read_csv`, snapshots as their
first version, tests as `SELECT count(*)`; seeds are copied from dbt's file as dbt typed them. Prints both wall times and their ratio as a Markdown
row for docs/benchmarks.md. Compare the ratio, not the absolute times, on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT = REPO_ROOT / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")


@dataclass(frozen=True)
class Settings:
    memory_limit: str
    threads: int

    def apply(self, connection: duckdb.DuckDBPyConnection, temp_directory: Path) -> None:
        connection.execute(f"SET memory_limit = '{self.memory_limit}'")
        connection.execute(f"SET threads = {self.threads}")
        connection.execute(f"SET temp_directory = '{temp_directory}'")


def run_dbt_build(
    raw: Path, build: Path, scratch: Path, settings: Settings, exclude: list[str],
) -> tuple[float, Path]:
    """Wall time of `dbt build` and the target folder holding its manifest and run results."""
    target = scratch / "dbt_target"
    env = {
        **os.environ,
        "WAREHOUSE_RAW_PATH": str(raw),
        "WAREHOUSE_BUILD_PATH": str(build),
        "WAREHOUSE_DUCKDB_TEMP_DIR": str(scratch / "tmp_dbt"),
        "WAREHOUSE_DUCKDB_MEMORY_LIMIT": settings.memory_limit,
        "WAREHOUSE_DUCKDB_THREADS": str(settings.threads),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(scratch / "dbt_logs"),
    }
    started = time.perf_counter()
    command = [str(DBT), "build", "--profiles-dir", ".", "--quiet", "--exclude-resource-type", "unit_test"]
    if exclude:
        command += ["--exclude", *exclude]
    subprocess.run(command, cwd=DBT_PROJECT, env=env, check=True)
    return time.perf_counter() - started, target


def _relation(node: dict) -> str:
    return f'"{node["schema"]}"."{node["alias"]}"'


def statements_in_dbt_order(target: Path) -> list[tuple[str, str]]:
    """(node id, SQL) for every node dbt executed, in the order dbt started them."""
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]

    def started_at(result: dict) -> str:
        return next((t["started_at"] for t in result["timing"] if t["name"] == "execute"), "")

    statements: list[tuple[str, str]] = []
    for result in sorted(results, key=started_at):
        if result["unique_id"] not in manifest["nodes"]:
            continue  # a unit test (manifest["unit_tests"]): no counterpart in plain SQL
        node = manifest["nodes"][result["unique_id"]]
        kind, relation = node["resource_type"], _relation(node)
        if kind == "seed":
            # Seeds are copied as dbt typed them (column_types, agate inference): a few small tables.
            sql = f"CREATE OR REPLACE TABLE {relation} AS SELECT * FROM dbt_run.{relation}"
        elif kind == "model":
            materialized = "VIEW" if node["config"]["materialized"] == "view" else "TABLE"
            sql = f"CREATE OR REPLACE {materialized} {relation} AS {result['compiled_code']}"
        elif kind == "snapshot":
            sql = (f"CREATE OR REPLACE TABLE {relation} AS SELECT *, current_timestamp AS dbt_valid_from, "
                   f"CAST(NULL AS TIMESTAMP) AS dbt_valid_to FROM ({result['compiled_code']})")
        elif kind == "test":
            sql = f"SELECT count(*) FROM ({result['compiled_code']}) AS failures"
        else:
            continue
        schema = node["schema"]
        statements.append((result["unique_id"], f'CREATE SCHEMA IF NOT EXISTS "{schema}"; {sql}'))
    return statements


def run_directly(
    raw: Path, dbt_build: Path, build: Path, scratch: Path, statements: list[tuple[str, str]], settings: Settings,
) -> float:
    """Wall time of the same SQL in one DuckDB connection (raw attached read-only, as dbt does)."""
    (scratch / "tmp_direct").mkdir(exist_ok=True)
    started = time.perf_counter()
    connection = duckdb.connect(str(build))
    try:
        settings.apply(connection, scratch / "tmp_direct")
        connection.execute(f"ATTACH '{raw}' AS raw (READ_ONLY)")
        connection.execute(f"ATTACH '{dbt_build}' AS dbt_run (READ_ONLY)")
        for node_id, sql in statements:
            try:
                connection.execute(sql)
            except duckdb.Error as error:
                raise RuntimeError(f"{node_id} failed when run directly: {error}") from error
    finally:
        connection.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True, help="a raw.duckdb written by the loaders")
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reference-date", default="2026-11-20", help="WAREHOUSE_REFERENCE_DATE for both runs")
    parser.add_argument("--exclude", nargs="*", default=[], help="dbt selectors to leave out of both runs")
    args = parser.parse_args()
    os.environ["WAREHOUSE_REFERENCE_DATE"] = args.reference_date
    settings = Settings(args.memory_limit, args.threads)
    scratch = Path(tempfile.mkdtemp(prefix="transform-overhead-"))
    raw = args.raw.resolve()

    dbt_seconds, target = run_dbt_build(raw, scratch / "dbt_build.duckdb", scratch, settings, args.exclude)
    statements = statements_in_dbt_order(target)
    # The compiled SQL names its catalog after the build file: the direct run's file has the same name.
    (scratch / "direct").mkdir()
    direct_seconds = run_directly(raw, scratch / "dbt_build.duckdb", scratch / "direct" / "dbt_build.duckdb", scratch, statements, settings)
    counts: dict[str, int] = {}
    for node_id, _ in statements:
        kind = node_id.split(".")[0]
        counts[kind] = counts.get(kind, 0) + 1
    print(f"scratch folder {scratch}; nodes {counts}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"duckdb {duckdb.__version__}")
    print("| stage | nodes | dbt build | DuckDB alone, same SQL | ratio |")
    print("|---|---|---|---|---|")
    print(f"| transform (`dbt build`) | {len(statements)} | {dbt_seconds:.1f} s | {direct_seconds:.1f} s "
          f"| {dbt_seconds / direct_seconds:.2f}× |")


if __name__ == "__main__":
    main()
