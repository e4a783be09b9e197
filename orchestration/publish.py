"""Publish validated marts as a new version of the serving file; list versions; roll back.

Every publish writes a complete, read-only version file `versions/serving-<UTC time>.duckdb`
and then points the serving path at it by an atomic rename of a hard link. Readers open the
serving path read-only and see the old or the new version, never a partial warehouse. The
last N versions are kept, so an earlier one can be put back exactly (same bytes).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

PUBLISHED_SCHEMAS: tuple[str, ...] = ("marts",)
VERSION_PREFIX = "serving-"


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    table: str
    rows: int


@dataclass(frozen=True)
class Version:
    path: Path
    is_current: bool

    @property
    def name(self) -> str:
        return self.path.stem.removeprefix(VERSION_PREFIX)


def versions_dir(serving_path: Path) -> Path:
    return serving_path.parent / "versions"


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _point_serving_at(version: Path, serving_path: Path) -> None:
    """Atomically make the serving path a hard link to `version`."""
    link = serving_path.with_name(f".{serving_path.name}.{uuid.uuid4().hex}.link")
    os.link(version, link)
    os.replace(link, serving_path)
    _fsync(serving_path.parent)


def _copy_marts(build_path: Path, target: Path, duckdb_config: dict[str, str | int]) -> list[PublishedTable]:
    published: list[PublishedTable] = []
    with duckdb.connect(str(target), config=duckdb_config) as connection:
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
                connection.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT * FROM build."{schema}"."{table}"')
                (rows,) = connection.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
                published.append(PublishedTable(schema, table, rows))
        connection.execute("DETACH build")
        connection.execute("CHECKPOINT")
    return published


def publish(
    build_path: Path, serving_path: Path, duckdb_config: dict[str, str | int], keep: int,
) -> tuple[Version, list[PublishedTable]]:
    """Write a new version from the build file's published schemas, swap it in, prune old versions."""
    folder = versions_dir(serving_path)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    version = folder / f"{VERSION_PREFIX}{stamp}.duckdb"
    scratch = folder / f".{version.name}.tmp"
    try:
        published = _copy_marts(build_path, scratch, duckdb_config)
        scratch.chmod(0o444)  # a published version never changes
        _fsync(scratch)
        os.replace(scratch, version)
        _point_serving_at(version, serving_path)
    finally:
        scratch.unlink(missing_ok=True)
        scratch.with_name(scratch.name + ".wal").unlink(missing_ok=True)
    prune(serving_path, keep)
    return Version(version, True), published


def list_versions(serving_path: Path) -> list[Version]:
    """Published versions, newest first; `is_current` marks the one readers see."""
    folder = versions_dir(serving_path)
    paths = sorted(folder.glob(f"{VERSION_PREFIX}*.duckdb"), reverse=True) if folder.exists() else []
    current = serving_path if serving_path.exists() else None
    return [Version(p, current is not None and os.path.samefile(p, current)) for p in paths]


def prune(serving_path: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` versions (never the current one)."""
    removed = []
    for version in list_versions(serving_path)[max(keep, 1):]:
        if not version.is_current:
            version.path.unlink()
            removed.append(version.path)
    return removed


def rollback(serving_path: Path, to: str | None = None) -> Version:
    """Serve an earlier version again: the one named `to`, or the one before the current."""
    versions = list_versions(serving_path)
    if to is not None:
        chosen = next((v for v in versions if v.name == to or v.path.name == to), None)
        if chosen is None:
            raise ValueError(f"no published version {to!r}; available: {', '.join(v.name for v in versions)}")
    else:
        current = next((i for i, v in enumerate(versions) if v.is_current), None)
        if current is None or current + 1 >= len(versions):
            raise ValueError("there is no earlier version to roll back to")
        chosen = versions[current + 1]
    _point_serving_at(chosen.path, serving_path)
    return Version(chosen.path, True)
