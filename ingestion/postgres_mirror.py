"""Copy the raw layer from its DuckDB file into a PostgreSQL database, for dbt's `postgres` target.

The dbt project is portable SQL: it builds on DuckDB (the embedded default) and on PostgreSQL.
On PostgreSQL the raw schemas (`os2bos`, `finance`, `case_events`) must live in the target
database itself, because PostgreSQL cannot query across databases. This module copies them
there with DuckDB's `postgres_scanner` (loaded from its PyPI package), table by table in
PostgreSQL's binary COPY format: a few seconds for the `small` sample.

    .venv/bin/python -m ingestion.postgres_mirror --raw var/warehouse/raw.duckdb \
        --dsn "host=127.0.0.1 port=5432 dbname=warehouse user=postgres"

Existing raw schemas in the target are replaced and analysed. Only the pseudonymised raw layer is copied:
no personal identifier ever reaches PostgreSQL that did not already land in DuckDB.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

from ingestion.duckdb_extensions import load_extension
from ingestion.pipelines import RAW_DATASETS


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def mirror_raw_to_postgres(raw_path: Path, dsn: str, datasets: tuple[str, ...] = RAW_DATASETS) -> dict[str, int]:
    """Replace `datasets` in the PostgreSQL database `dsn` by the raw file's tables; rows per table."""
    if not raw_path.exists():
        raise FileNotFoundError(f"no raw layer at {raw_path}: run a refresh first")
    copied: dict[str, int] = {}
    connection = duckdb.connect()
    try:
        connection.execute("SET threads = 2")
        load_extension(connection, "postgres_scanner")
        connection.execute(f"ATTACH '{raw_path}' AS raw (READ_ONLY)")
        connection.execute(f"ATTACH {duckdb_string(dsn)} AS target (TYPE postgres)")
        for dataset in datasets:
            tables = [row[0] for row in connection.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'raw' AND schema_name = ? "
                "ORDER BY table_name", [dataset],
            ).fetchall()]
            if not tables:
                continue
            connection.execute(f"DROP SCHEMA IF EXISTS target.{_quoted(dataset)} CASCADE")
            connection.execute(f"CREATE SCHEMA target.{_quoted(dataset)}")
            for table in tables:
                name = f"{_quoted(dataset)}.{_quoted(table)}"
                connection.execute(f"CREATE TABLE target.{name} AS SELECT * FROM raw.{name}")
                copied[f"{dataset}.{table}"] = connection.execute(f"SELECT count(*) FROM raw.{name}").fetchone()[0]
                # Statistics now, not when autovacuum gets round to it: dbt runs next, and the planner
                # takes a table it has no statistics for as tiny (nested loops over thousands of rows).
                connection.execute(f"CALL postgres_execute('target', {duckdb_string(f'ANALYZE {name}')})")
    finally:
        connection.close()
    return copied


def duckdb_string(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True, help="the raw DuckDB file written by the loaders")
    parser.add_argument("--dsn", required=True, help="libpq connection string of the target database")
    args = parser.parse_args()
    started = time.perf_counter()
    copied = mirror_raw_to_postgres(args.raw, args.dsn)
    print(f"[mirror] {len(copied)} tables, {sum(copied.values()):,} rows copied in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
