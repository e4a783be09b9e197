"""Write a generated sample as the sources the loaders read: an OS2bos database and ledger files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pyarrow as pa

from ingestion.duckdb_extensions import load_extension
from ingestion.sample_data.generator import SampleMunicipality
from ingestion.sample_data.schema import TABLES, create_table_sql


def write_os2bos_sqlite(sample: SampleMunicipality, path: Path) -> None:
    """Write every OS2bos table into a fresh SQLite file, column-wise through DuckDB's sqlite extension.

    The tables are created with OS2bos' own DDL first, so SQLite holds the declared types a
    loader would find in a real installation; the file is swapped in only when complete.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".tmp")
    scratch.unlink(missing_ok=True)
    with sqlite3.connect(scratch) as connection:
        for name in TABLES:
            connection.execute(create_table_sql(name))
    connection.close()
    with duckdb.connect(config={"threads": 2, "memory_limit": "4GB"}) as duck:
        load_extension(duck, "sqlite_scanner")
        duck.execute(f"ATTACH '{scratch}' AS os2bos (TYPE sqlite)")
        for name, table in sample.tables.items():
            if len(table):
                duck.register("incoming", _sqlite_friendly(table))
                duck.execute(f'INSERT INTO os2bos."{name}" SELECT * FROM incoming')
                duck.unregister("incoming")
        duck.execute("DETACH os2bos")
    scratch.replace(path)


def _sqlite_friendly(table: pa.Table) -> pa.Table:
    """Dates and timestamps as ISO text, as Django stores them in SQLite."""
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("us")).cast(pa.string())
        elif pa.types.is_date(column.type):
            column = column.cast(pa.string())
        columns.append(column)
    return pa.table(columns, names=table.column_names)
