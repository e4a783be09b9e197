"""Load DuckDB extensions from the PyPI packages that ship them (no download at run time).

DuckDB normally downloads extensions on first use; many municipal networks (and this
project's build machines) forbid that. The `duckdb-extension-*` packages pinned beside
duckdb carry the binaries, which are loaded here by file path.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

PACKAGES: dict[str, str] = {
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "excel": "duckdb_extension_excel",
    "encodings": "duckdb_extension_encodings",
}


def extension_path(name: str) -> Path:
    """The extension binary for this DuckDB version, from its installed package."""
    if name not in PACKAGES:
        raise ValueError(f"no packaged DuckDB extension {name!r}; known: {', '.join(PACKAGES)}")
    spec = importlib.util.find_spec(PACKAGES[name])
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {PACKAGES[name]} is not installed (see pyproject.toml)")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    binary = package_dir / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not binary.exists():
        raise RuntimeError(f"{PACKAGES[name]} has no build for duckdb {duckdb.__version__}: {binary}")
    return binary


def load_extension(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    connection.execute(f"LOAD '{extension_path(name)}'")
