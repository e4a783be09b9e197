"""No CPR number, personnummer or name from the sample reaches the raw or the serving warehouse."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from tests.conftest import Warehouse

CPR = r"\b[0-3]\d[01]\d\d{2}-?\d{4}\b"
PERSONNUMMER = r"\b(19|20)\d{2}[01]\d[0-3]\d-?\d{4}\b"


def _text_columns(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return connection.sql(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE data_type = 'VARCHAR' AND table_catalog = current_database() ORDER BY ALL"
    ).fetchall()


def _names(warehouse: Warehouse) -> list[str]:
    names = {row["name"] for table in ("core_case", "core_relatedperson") for row in warehouse.sample.rows(table)}
    return sorted(names)


def _findings(path: Path, names: list[str]) -> list[str]:
    names_pattern = "|".join(re.escape(name) for name in names)
    found = []
    with duckdb.connect(str(path), read_only=True) as connection:
        for schema, table, column in _text_columns(connection):
            for label, pattern in (("CPR", CPR), ("personnummer", PERSONNUMMER), ("name", names_pattern)):
                (hits,) = connection.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" WHERE regexp_matches("{column}", ?)', [pattern]
                ).fetchone()
                if hits:
                    found.append(f"{path.name}: {schema}.{table}.{column}: {hits} values look like a {label}")
    return found


@pytest.mark.parametrize("file_name", ["raw.duckdb", "serving.duckdb"])
def test_no_personal_identifiers_in_the_warehouse(published_warehouse: Warehouse, file_name: str) -> None:
    names = _names(published_warehouse)
    assert len(names) > 50
    path = published_warehouse.home / "warehouse" / file_name
    assert not _findings(path, names)


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The scanner itself must catch a clear-text CPR, personnummer and name."""
    path = tmp_path / "leaky.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE TABLE leak (note VARCHAR, other VARCHAR)")
        connection.execute("INSERT INTO leak VALUES ('barn 0103264757', 'x'), ('20120304-1234', 'Freja Nielsen')")
    findings = _findings(path, ["Freja Nielsen"])
    assert any("CPR" in f for f in findings)
    assert any("personnummer" in f for f in findings)
    assert any("name" in f for f in findings)
