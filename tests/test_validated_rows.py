"""GX validates only the rows it has not passed before, and the results stay exactly those of a
validation of every row: after rows are added, changed, fixed and deleted, and after the suite
itself changes."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import duckdb

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from expectations.suites import WARN, Layer, SuiteSpec, between, in_set, not_null, unique  # noqa: E402

TODAY = dt.date(2026, 11, 20)
CONFIG = {"memory_limit": "256MB", "threads": 1}
BATCH_ROWS = 250  # 3,000 rows: twelve record batches, each with a failing row


def _suite(max_amount: float = 100) -> SuiteSpec:
    # No expectation reads `id`: many rows share their values, so reuse must count rows, not values.
    return SuiteSpec(
        name="test_validated_rows", layer=Layer.RAW, schema="s", table="t",
        columns_present=("id", "amount", "kind", "deleted"),
        expectations=(
            *not_null("amount", live_only="deleted"),
            between("amount", 0, max_amount),
            in_set("kind", ["A", "B"], severity=WARN),
            unique("id"),
        ),
    )


def _table(path: Path) -> Path:
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA s")
        connection.execute("""
            CREATE TABLE s.t AS SELECT
                i AS id,
                CASE WHEN i % 97 = 0 THEN NULL ELSE (i % 90)::DECIMAL(14, 2) END AS amount,
                CASE WHEN i % 31 = 0 THEN NULL WHEN i % 2 = 0 THEN 'A' ELSE 'B' END AS kind,
                i % 194 = 0 AS deleted   -- half the NULL amounts are tombstones, exempt
            FROM range(3000) r(i)""")
        connection.execute("UPDATE s.t SET amount = 150 WHERE id = 5")  # too large: an error
        connection.execute("UPDATE s.t SET kind = 'C' WHERE id = 2707")  # unknown kind: a warning
    return path


def _night(path: Path) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute("UPDATE s.t SET amount = 5 WHERE id = 5")  # fixed
        connection.execute("UPDATE s.t SET amount = 500 WHERE id = 1000")  # a passed row turns bad
        connection.execute("DELETE FROM s.t WHERE id BETWEEN 1600 AND 1699")
        connection.execute("""INSERT INTO s.t SELECT i, (i % 90)::DECIMAL(14, 2),
                              CASE WHEN i = 3050 THEN 'Z' ELSE 'A' END, false FROM range(3000, 3100) r(i)""")


def _validate(database: Path, quality_dir: Path, spec: SuiteSpec):
    from expectations.validate import run_suite

    return run_suite(spec, database, CONFIG, quality_dir=quality_dir, today=TODAY, batch_rows=BATCH_ROWS,
                     build_docs=False)


def _latest_counts(quality_dir: Path) -> list[tuple]:
    """Per expectation of the newest stored result: type, column and its counts."""
    stored = sorted((quality_dir / "gx" / "uncommitted" / "validations").rglob("*.json"),
                    key=lambda file: file.stat().st_mtime_ns)
    result = json.loads(stored[-1].read_text())
    return [(r["expectation_config"]["type"], r["expectation_config"]["kwargs"].get("column"), r["success"],
             *((r["result"] or {}).get(key) for key in ("element_count", "missing_count", "unexpected_count")))
            for r in result["results"]]


def _same_as_validating_every_row(database: Path, remembered: Path, fresh: Path, spec: SuiteSpec):
    outcome = _validate(database, remembered, spec)
    everything = _validate(database, fresh, spec)
    assert everything.rows_reused == 0
    assert outcome.rows == everything.rows
    assert sorted(map(str, outcome.failures)) == sorted(map(str, everything.failures))
    assert _latest_counts(remembered) == _latest_counts(fresh)
    return outcome


def test_only_unseen_rows_are_validated_and_the_counts_stay_exact(tmp_path: Path) -> None:
    database = _table(tmp_path / "raw.duckdb")
    remembered = tmp_path / "quality"

    first = _validate(database, remembered, _suite())
    assert first.rows == 3000 and first.rows_reused == 0
    assert {(f.column, f.unexpected_count) for f in first.failures} == {
        ("amount", 1),  # id 5: 150 > 100
        ("amount", 15),  # NULL amounts that are not tombstones: i % 97 == 0 and i % 194 != 0
        ("kind", 1),  # id 2707: 'C'
    }

    # Nothing new: only the 17 failing rows are validated again (they are spread over every batch).
    quiet = _same_as_validating_every_row(database, remembered, tmp_path / "fresh_quiet", _suite())
    assert quiet.rows - quiet.rows_reused == 17

    _night(database)
    night = _same_as_validating_every_row(database, remembered, tmp_path / "fresh_night", _suite())
    assert night.rows == 3000
    assert {(f.column, f.unexpected_count) for f in night.failures} == {
        ("amount", 1),  # id 1000 turned bad; id 5 was fixed
        ("amount", 14),  # id 1649 (a NULL amount, not a tombstone) was deleted
        ("kind", 2),  # id 2707 and the new id 3050
    }
    # Validated again: the failing rows, the changed row, the 100 new rows (fewer distinct values).
    assert night.rows - night.rows_reused <= 17 + 1 + 100


def test_a_changed_suite_validates_every_row_again(tmp_path: Path) -> None:
    database = _table(tmp_path / "raw.duckdb")
    remembered = tmp_path / "quality"
    _validate(database, remembered, _suite(max_amount=100))

    stricter = _same_as_validating_every_row(database, remembered, tmp_path / "fresh", _suite(max_amount=50))
    assert stricter.rows_reused == 0
    assert ("amount", 1278) in {(f.column, f.unexpected_count) for f in stricter.failures}  # 51..89 and id 5


def test_recording_passed_rows_never_fails_a_validation_and_cleans_up_after_killed_writers(tmp_path: Path) -> None:
    database = _table(tmp_path / "raw.duckdb")
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "validated_rows").write_text("a file where the folder should be")
    outcome = _validate(database, blocked, _suite())
    assert outcome.rows == 3000 and len(outcome.failures) == 3

    remembered = tmp_path / "quality"
    state = remembered / "validated_rows"
    state.mkdir(parents=True)
    dead_pid = 2**22 + 1  # beyond Linux's largest pid_max: no such process
    left_behind = state / f"test_validated_rows.duckdb.{dead_pid}.tmp"
    left_behind.write_bytes(b"half a file")
    _validate(database, remembered, _suite())
    assert not left_behind.exists()
    assert sorted(p.name for p in state.iterdir()) == ["test_validated_rows.duckdb"]
