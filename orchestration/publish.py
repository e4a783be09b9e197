"""Publish the validated marts to the serving file by an atomic rename.

Readers open the serving file read-only. The new version is written to a temporary file in
the same folder, flushed to disk, and renamed over the old one: a reader sees either the old
file or the new one, never a partial warehouse.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

PUBLISHED_SCHEMAS: tuple[str, ...] = ("marts",)


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    table: str
    rows: int


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def publish(build_path: Path, serving_path: Path, duckdb_config: dict[str, str | int]) -> list[PublishedTable]:
    """Copy the published schemas of the build file into a new serving file and swap it in."""
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    scratch = serving_path.with_name(f".{serving_path.name}.{uuid.uuid4().hex}.tmp")
    published: list[PublishedTable] = []
    try:
        with duckdb.connect(str(scratch), config=duckdb_config) as connection:
            quoted_build_path = str(build_path).replace("'", "''")
            connection.execute(f"ATTACH '{quoted_build_path}' AS build (READ_ONLY)")
            for schema in PUBLISHED_SCHEMAS:
                tables = connection.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_catalog = 'build' AND table_schema = ? ORDER BY table_name",
                    [schema],
                ).fetchall()
                if not tables:
                    raise RuntimeError(f"the build file has no tables in schema {schema!r}: nothing to publish")
                connection.execute(f'CREATE SCHEMA "{schema}"')
                for (table,) in tables:
                    connection.execute(
                        f'CREATE TABLE "{schema}"."{table}" AS SELECT * FROM build."{schema}"."{table}"'
                    )
                    (rows,) = connection.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
                    published.append(PublishedTable(schema, table, rows))
            connection.execute("DETACH build")
            connection.execute("CHECKPOINT")
        _fsync(scratch)
        os.replace(scratch, serving_path)
        _fsync(serving_path.parent)
    finally:
        scratch.unlink(missing_ok=True)
        scratch.with_name(scratch.name + ".wal").unlink(missing_ok=True)
    return published
