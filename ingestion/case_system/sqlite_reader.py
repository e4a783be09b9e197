"""OS2bos tables read from a SQLite file by DuckDB's sqlite_scanner, in Arrow batches.

dlt's `pyarrow` backend reads SQLite through SQLAlchemy, which hands every row to Python before
it becomes Arrow: at `national` scale 79 % of the OS2bos load was spent in SQLAlchemy's
`fetchmany` (docs/benchmarks.md). This loader keeps everything dlt does around the read (table
reflection, column hints, incremental cursors, the query adapters in `source.py`) and swaps only
the execution: the query dlt built is compiled to SQL and run by DuckDB against the SQLite file,
attached read-only, and comes back as Arrow record batches.

The batches are cast to the Arrow types the `pyarrow` backend gives for the same columns, so a raw
table first loaded one way can be merged into the other way without a type change
(tests/test_case_system_load.py compares the two).

DuckDB's scanner pushes no filter down to SQLite: it reads every row and filters afterwards. A
nightly read of the rows past a cursor (a few thousand of 13.7 million payments at `national`) then
costs as much as reading the whole table, 5 to 10 s per large table. A filtered query whose columns
all carry dlt type hints is therefore run by SQLite itself, through the `pyarrow` backend, where it
uses its indexes (0.1 s) and gives the very types this loader casts to.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlalchemy as sa
from dlt.common.destination import DestinationCapabilitiesContext
from dlt.common.libs.pyarrow import get_py_arrow_datatype
from dlt.common.configuration.container import Container
from dlt.sources.sql_database.helpers import TableLoader

from ingestion.duckdb_extensions import load_extension

SOURCE_ALIAS = "os2bos_sqlite"

# One reader per table runs at a time in each of dlt's extract threads: a small, explicit budget.
DEFAULT_DUCKDB_CONFIG: dict[str, str | int] = {"memory_limit": "1GB", "threads": 1}


def _duckdb_type(column: sa.Column) -> str | None:
    """The DuckDB type SQLAlchemy's reflection gives the column, where the scanner's own differs.

    sqlite_scanner reads declared NUMERIC(p, s) as DOUBLE and BOOLEAN as BIGINT (SQLite has neither);
    SQLAlchemy turns them into Decimal and bool, and so must this loader.
    """
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return "BOOLEAN"
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float) and kind.precision is not None:
        return f"DECIMAL({kind.precision}, {kind.scale or 0})"
    return None


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckDBSQLiteTableLoader(TableLoader):
    """A dlt table loader for SQLite sources that executes dlt's query in DuckDB (see module doc)."""

    duckdb_config: dict[str, str | int] = DEFAULT_DUCKDB_CONFIG

    @classmethod
    def configured(cls, duckdb_config: dict[str, str | int]) -> type[DuckDBSQLiteTableLoader]:
        """This loader with its own DuckDB resource limits (memory, threads, temp directory)."""
        return type(cls.__name__, (cls,), {"duckdb_config": dict(duckdb_config)})

    def _arrow_schema(self, names: list[str], read: pa.Schema) -> pa.Schema:
        """Per column: the type the pyarrow backend would give it, or what DuckDB read when dlt
        has no type hint for it (minimal reflection)."""
        caps = Container().get(DestinationCapabilitiesContext) or DestinationCapabilitiesContext.generic_capabilities()
        fields = []
        for name in names:
            hint = self.columns.get(name, {})
            if hint.get("data_type"):
                kind = get_py_arrow_datatype(hint, caps, "UTC")
            else:
                kind = read.field(name).type
            fields.append(pa.field(name, kind, nullable=True))
        return pa.schema(fields)

    def read_by_sqlite(self, query: Any) -> bool:
        """Whether SQLite itself should run `query` (see module doc): it filters rows, and dlt knows
        the type of every column it selects, so the `pyarrow` backend's types are the same."""
        return query.whereclause is not None and all(
            self.columns.get(column.name, {}).get("data_type") for column in query.selected_columns
        )

    def _load_rows(self, query: Any, backend_kwargs: dict[str, Any]) -> Iterator[pa.Table]:
        database = self.engine.url.database
        if not database or not Path(database).is_file():
            raise FileNotFoundError(f"OS2bos SQLite file not found: {database!r}")
        if self.read_by_sqlite(query):
            yield from super()._load_rows(query, backend_kwargs)
            return
        names = [column.name for column in query.selected_columns]
        casts = {column.name: _duckdb_type(column) for column in self.table.columns}
        projection = ", ".join(
            f"CAST({_quoted(name)} AS {casts[name]}) AS {_quoted(name)}" if casts.get(name) else _quoted(name)
            for name in names
        )
        sql = f"SELECT {projection} FROM ({self.compile_query(query)})"
        with duckdb.connect(config=self.duckdb_config) as connection:
            load_extension(connection, "sqlite_scanner")
            connection.execute(f"ATTACH {_literal(database)} AS {SOURCE_ALIAS} (TYPE sqlite, READ_ONLY)")
            connection.execute(f"USE {SOURCE_ALIAS}")
            reader = connection.execute(sql).to_arrow_reader(self.chunk_size)
            schema = self._arrow_schema(names, reader.schema)
            for batch in reader:
                if batch.num_rows:
                    yield pa.Table.from_batches([batch]).cast(schema)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
