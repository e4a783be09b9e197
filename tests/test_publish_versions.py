"""Publishing keeps versions; readers never see a partial file; rollback restores a version exactly."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from orchestration.publish import list_versions, publish, rollback

CONFIG = {"threads": 1, "memory_limit": "512MB"}


def _build(path: Path, total: int) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS marts")
        connection.execute("CREATE OR REPLACE TABLE marts.fct_example AS SELECT range AS id, ? AS total FROM range(100)",
                           [total])
        connection.execute("CREATE SCHEMA IF NOT EXISTS staging")
        connection.execute("CREATE OR REPLACE TABLE staging.not_published AS SELECT 1 AS x")


def _total(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.sql("SELECT max(total) FROM marts.fct_example").fetchone()[0]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_swaps_in_complete_versions_and_rollback_restores_the_previous(tmp_path: Path) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "warehouse" / "serving.duckdb"
    _build(build, 1)
    first, tables = publish(build, serving, CONFIG, keep=3)
    assert [(t.schema, t.table, t.rows) for t in tables] == [("marts", "fct_example", 100)]
    first_bytes = _sha(first.path)

    reader = duckdb.connect(str(serving), read_only=True)  # a dashboard query in flight
    _build(build, 2)
    second, _ = publish(build, serving, CONFIG, keep=3)
    assert reader.sql("SELECT max(total) FROM marts.fct_example").fetchone()[0] == 1  # still the old version
    reader.close()
    assert _total(serving) == 2
    with duckdb.connect(str(serving), read_only=True) as connection:
        schemas = {row[0] for row in connection.sql("SELECT schema_name FROM duckdb_tables()").fetchall()}
    assert schemas == {"marts"}  # staging never reaches readers

    assert [v.name for v in list_versions(serving)] == [second.name, first.name]
    restored = rollback(serving)
    assert restored.name == first.name
    assert _sha(serving) == first_bytes
    assert _total(serving) == 1
    assert rollback(serving, to=second.name).name == second.name
    assert _total(serving) == 2


def test_only_the_newest_versions_are_kept(tmp_path: Path) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    for total in range(5):
        _build(build, total)
        publish(build, serving, CONFIG, keep=2)
    versions = list_versions(serving)
    assert len(versions) == 2 and versions[0].is_current
    assert _total(serving) == 4


def test_a_failed_publish_leaves_the_serving_file_alone(tmp_path: Path) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    _build(build, 7)
    publish(build, serving, CONFIG, keep=3)
    before = _sha(serving)
    with duckdb.connect(str(build)) as connection:
        connection.execute("DROP SCHEMA marts CASCADE")
    with pytest.raises(RuntimeError, match="nothing to publish"):
        publish(build, serving, CONFIG, keep=3)
    assert _sha(serving) == before
    assert not list(serving.parent.glob("versions/.*.tmp"))


def test_rollback_without_an_earlier_version_says_so(tmp_path: Path) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    _build(build, 1)
    publish(build, serving, CONFIG, keep=3)
    with pytest.raises(ValueError, match="no earlier version"):
        rollback(serving)
    with pytest.raises(ValueError, match="no published version"):
        rollback(serving, to="19700101T000000000000Z")
