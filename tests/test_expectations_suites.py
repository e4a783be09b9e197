"""The Great Expectations suites on tiny DuckDB files: every kind of check passes on a clean
table and fails on a violating one; volume history, reconciliation, Data Docs, asset checks."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from expectations.suites import (  # noqa: E402
    ERROR,
    RAW_EVENTS,
    RAW_PAYMENTS,
    WARN,
    Layer,
    SuiteSpec,
    Volume,
    between,
    date_order,
    date_window,
    freshness,
    in_set,
    not_null,
    references,
    row_count_at_least,
    sums_equal,
    unique,
)

TODAY = dt.date(2026, 11, 20)
CONFIG = {"memory_limit": "256MB", "threads": 1}


def _database(path: Path, *statements: str) -> Path:
    with duckdb.connect(str(path)) as connection:
        for statement in statements:
            connection.execute(statement)
    return path


def _run(spec: SuiteSpec, database: Path, **kwargs):
    from expectations.validate import run_suite

    return run_suite(spec, database, CONFIG, today=kwargs.pop("today", TODAY), **kwargs)


# A suite with one expectation of every kind, on a table `s.t` that refers to `s.parent`.
KINDS = SuiteSpec(
    name="test_kinds", layer=Layer.RAW, schema="s", table="t",
    columns_present=("id", "parent_id", "amount", "kind", "start_date", "end_date"),
    expectations=(
        row_count_at_least(1),
        *not_null("id"),
        unique("id"),
        between("amount", 0, 100),
        in_set("kind", ["A", "B"]),
        references("parent_id", "s.parent"),
        date_order("start_date", "end_date"),
        date_window("start_date", "2000-01-01", 10, severity=ERROR),
        freshness("end_date", 30, severity=ERROR),
        sums_equal("amount reconciles to the parent's budget", "SELECT sum(amount) AS total FROM {table}",
                   "SELECT sum(budget) AS total FROM s.parent", name="reconciles"),
    ),
)

CLEAN = (
    "CREATE SCHEMA s",
    "CREATE TABLE s.parent AS SELECT * FROM (VALUES (1, 30.0), (2, 30.5)) v(id, budget)",
    "CREATE TABLE s.t AS SELECT * FROM (VALUES "
    "(1, 1, 10.0::DECIMAL(14,2), 'A', DATE '2026-01-01', DATE '2026-11-01'), "
    "(2, 2, 50.5, 'B', DATE '2026-02-01', DATE '2026-03-01')) "
    "v(id, parent_id, amount, kind, start_date, end_date)",
)


def test_every_kind_of_check_passes_on_a_clean_table(tmp_path: Path) -> None:
    outcome = _run(KINDS, _database(tmp_path / "clean.duckdb", *CLEAN))
    assert outcome.failures == [], [f.describe() for f in outcome.failures]
    assert outcome.rows == 2 and outcome.evaluated == 1 + len(KINDS.expectations)


def test_every_kind_of_check_fails_on_a_violating_table(tmp_path: Path) -> None:
    database = _database(
        tmp_path / "bad.duckdb", *CLEAN,
        "ALTER TABLE s.t DROP COLUMN kind",  # schema: a missing column (and its in-set check)
        "INSERT INTO s.t VALUES (NULL, 1, 1, DATE '2026-01-01', DATE '2026-01-02')",  # not null
        "INSERT INTO s.t VALUES (2, 1, 0, DATE '2026-01-01', DATE '2026-01-02')",  # duplicate id
        "INSERT INTO s.t VALUES (3, 1, 500, DATE '2026-01-01', DATE '2026-01-02')",  # amount > 100
        "INSERT INTO s.t VALUES (4, 9, 0, DATE '2026-01-01', DATE '2026-01-02')",  # orphan parent
        "INSERT INTO s.t VALUES (5, 1, 0, DATE '2026-05-01', DATE '2026-04-01')",  # end before start
        "INSERT INTO s.t VALUES (6, 1, 0, DATE '1999-12-31', DATE '2000-01-02')",  # start too early
        "UPDATE s.t SET end_date = DATE '2026-09-01' WHERE end_date > DATE '2026-09-01'",  # stale
    )
    outcome = _run(KINDS, database)
    described = {f.expectation: f.describe() for f in outcome.failures}
    assert set(described) == {
        "expect_table_columns_to_match_set", "expect_column_values_to_not_be_null",
        "duplicates__id", "expect_column_values_to_be_between", "expect_column_values_to_be_in_set",
        "orphans__parent_id", "order__start_date__end_date", "window__start_date", "age_days__end_date",
        "reconciles",
    }, described
    assert described["expect_column_values_to_not_be_null"] == "expect_column_values_to_not_be_null on id: 1 unexpected rows"
    assert described["expect_column_values_to_be_between"] == "expect_column_values_to_be_between on amount: 1 unexpected rows"
    assert described["duplicates__id"] == "(id) is unique: 1 unexpected rows"
    assert described["orphans__parent_id"] == "parent_id → s.parent.id: 1 unexpected rows"
    assert described["order__start_date__end_date"] == "start_date ≤ end_date: 1 unexpected rows"
    assert described["window__start_date"].endswith(": 1 unexpected rows")
    assert described["age_days__end_date"].endswith("80 days old (allowed …..30)")
    assert "kind is missing" in described["expect_column_values_to_be_in_set"]
    assert not outcome.passed and all(f.severity == ERROR for f in outcome.failures)


def test_a_reconciliation_by_key_names_the_groups_that_differ(tmp_path: Path) -> None:
    database = _database(
        tmp_path / "ledger.duckdb",
        "CREATE SCHEMA m",
        "CREATE TABLE m.cost AS SELECT * FROM (VALUES ('2026-01', 100.00), ('2026-02', 50.00), ('2026-03', 7.00)) v(month, cost)",
        "CREATE TABLE m.ledger AS SELECT * FROM (VALUES ('2026-01', 60.00), ('2026-01', 40.00), ('2026-02', 49.00)) v(month, amount)",
    )
    spec = SuiteSpec("test_reconciliation", Layer.BUILD, "m", "cost", (
        sums_equal("monthly cost = ledger", "SELECT month, sum(cost) AS total FROM {table} GROUP BY month",
                   "SELECT month, sum(amount) AS total FROM m.ledger GROUP BY month", keys=("month",),
                   tolerance=0.5, severity=WARN),
    ))
    outcome = _run(spec, database)
    # 2026-01 balances (100 = 60 + 40); 2026-02 differs by 1; 2026-03 has no ledger postings
    assert [f.describe() for f in outcome.failures] == ["monthly cost = ledger: 2 groups differing by more than 0.5"]
    assert outcome.passed  # a warning does not block


def _raw(path: Path) -> Path:
    """A tiny raw file: two paid payments on a complete payment → schedule chain, two events."""
    return _database(
        path,
        "CREATE SCHEMA os2bos", "CREATE SCHEMA case_events",
        "CREATE TABLE os2bos.core_paymentschedule AS SELECT 1::BIGINT AS id",
        "CREATE TABLE os2bos.core_user AS SELECT * FROM (VALUES (1, 'sb001')) v(id, username)",
        "CREATE TABLE os2bos.core_payment AS SELECT * FROM (VALUES "
        "(1, DATE '2026-11-01', 'COMPANY', 'x', NULL, 'INVOICE', 1000.00::DECIMAL(14,2), 1000.00::DECIMAL(14,2), "
        " true, DATE '2026-11-01', '', '1-2', '', 1, NULL::BOOLEAN), "
        "(2, DATE '2026-11-15', 'PERSON', 'p', NULL, 'SD', 500.00, 500.00, true, DATE '2026-11-14', '', '1-2', '', 1, NULL)) "
        "v(id, date, recipient_type, recipient_id, recipient_name, payment_method, amount, paid_amount, paid, "
        "paid_date, note, saved_account_string, saved_account_alias, payment_schedule_id, _source_deleted)",
        "CREATE TABLE case_events.events AS SELECT * FROM (VALUES "
        "('ev-1', 'decision_made', 'p1', DATE '2015-01-01', 'F', 'v1', 'c1', 'DK', '751', 'sb001', '1', "
        " TIMESTAMPTZ '2026-11-18 10:00:00+00', TIMESTAMPTZ '2026-11-18 10:05:00+00', false, 3, NULL::BIGINT), "
        "('ev-2', 'follow_up_held', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
        " TIMESTAMPTZ '2026-11-19 10:00:00+00', true, NULL, NULL)) "
        "v(id, type, person_id, birth_date, sex, pseudonym_key_version, case_reference, jurisdiction, "
        "municipality_code, caseworker, team, occurred_at, updated_at, deleted, details__staircase_step, "
        "details__scaling_step)",
    )


def test_raw_payments_pass_then_block_on_amount_and_warn_on_paid_amount(tmp_path: Path) -> None:
    database = _raw(tmp_path / "raw.duckdb")
    assert _run(RAW_PAYMENTS, database).failures == []

    with duckdb.connect(str(database)) as connection:
        connection.execute("INSERT INTO os2bos.core_payment SELECT * REPLACE (3 AS id, 99000000 AS amount, "
                           "2000000 AS paid_amount) FROM os2bos.core_payment WHERE id = 1")
        connection.execute("INSERT INTO os2bos.core_payment SELECT * REPLACE (4 AS id, 9 AS payment_schedule_id) "
                           "FROM os2bos.core_payment WHERE id = 1")
    outcome = _run(RAW_PAYMENTS, database)
    assert {f.describe() for f in outcome.errors} == {
        "expect_column_values_to_be_between on amount: 1 unexpected rows",
        "payment_schedule_id → os2bos.core_paymentschedule.id: 1 unexpected rows",
    }
    assert [f.describe() for f in outcome.warnings] == ["expect_column_values_to_be_between on paid_amount: 1 unexpected rows"]
    assert not outcome.passed
    duckdb.connect(str(database)).close()  # run_suite left no connection open: a writer can open the file


def test_events_tombstones_are_exempt_and_caseworkers_must_exist(tmp_path: Path) -> None:
    database = _raw(tmp_path / "raw.duckdb")
    assert _run(RAW_EVENTS, database).failures == []  # the tombstone ev-2 has no person, type only
    with duckdb.connect(str(database)) as connection:
        connection.execute("UPDATE case_events.events SET person_id = NULL, caseworker = 'ghost', "
                           "details__staircase_step = 7, occurred_at = updated_at + INTERVAL 1 HOUR WHERE id = 'ev-1'")
    outcome = _run(RAW_EVENTS, database, today=TODAY + dt.timedelta(days=30))
    assert {f.describe() for f in outcome.errors} == {
        "expect_column_values_to_not_be_null on person_id: 1 unexpected rows",
        "expect_column_values_to_be_between on details__staircase_step: 1 unexpected rows",
    }
    assert {f.expectation for f in outcome.warnings} == {
        "orphans__caseworker", "order__occurred_at__updated_at", "age_days__updated_at",
    }


def test_row_level_results_add_up_over_streamed_batches(tmp_path: Path) -> None:
    database = _database(tmp_path / "big.duckdb", "CREATE SCHEMA s",
                         "CREATE TABLE s.t AS SELECT range AS id, (range % 10)::DECIMAL(14,2) AS amount FROM range(1000)")
    spec = SuiteSpec("test_batches", Layer.RAW, "s", "t", (between("amount", 0, 7), *not_null("id")))
    outcome = _run(spec, database, batch_rows=128)  # 8 batches; amounts 8 and 9 are unexpected
    assert outcome.rows == 1000
    assert [f.describe() for f in outcome.failures] == ["expect_column_values_to_be_between on amount: 200 unexpected rows"]


def test_volume_history_round_trips_and_flags_a_drop(tmp_path: Path) -> None:
    from expectations.validate import load_volume_history, previous_row_count, record_row_count, volume_bounds

    quality = tmp_path / "quality"
    record_row_count(quality, "s.t", 1000, at=dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc))
    assert previous_row_count(quality, "s.t") == 1000
    assert load_volume_history(quality) == {"s.t": [{"at": "2026-11-01T00:00:00+00:00", "rows": 1000}]}
    assert volume_bounds(1000, Volume(max_drop=0.2, max_growth=3, growth_slack=10)) == (800, 3010)
    assert volume_bounds(None, Volume()) == (0, None)

    database = _database(tmp_path / "v.duckdb", "CREATE SCHEMA s", "CREATE TABLE s.t AS SELECT range AS id FROM range(500)")
    spec = SuiteSpec("test_volume", Layer.RAW, "s", "t", (*not_null("id"),), volume=Volume())
    outcome = _run(spec, database, quality_dir=quality, build_docs=False)
    assert [(f.severity, f.describe()) for f in outcome.failures] == [
        (WARN, "row count against the previous validated run (1000): 500 rows (allowed 800..4000)")]
    assert outcome.passed  # a warning: publishing goes on, and 500 becomes the new baseline
    assert previous_row_count(quality, "s.t") == 500
    assert _run(spec, database, quality_dir=quality, build_docs=False).failures == []


def test_data_docs_site_is_built_with_history(tmp_path: Path) -> None:
    from expectations.validate import build_data_docs, build_data_docs_index

    quality = tmp_path / "quality"
    site = quality / "data_docs"
    database = _database(tmp_path / "clean.duckdb", *CLEAN)
    first = _run(KINDS, database, quality_dir=quality, run_name="run-1")
    second = _run(KINDS, database, quality_dir=quality, run_name="run-2")
    assert (quality / "gx" / "great_expectations.yml").exists()
    # Each run writes its own result page (the check links to it) and the suite's page, not the index.
    for outcome, run in ((first, "run-1"), (second, "run-2")):
        assert outcome.data_docs is not None and outcome.data_docs.exists(), outcome.data_docs
        assert outcome.data_docs.relative_to(site / "validations" / "test_kinds").parts[0] == run
    assert (site / "expectations" / "test_kinds.html").exists()
    assert not (site / "index.html").exists()

    index = build_data_docs_index(quality).read_text(encoding="utf-8")
    for outcome in (first, second):
        assert str(outcome.data_docs.relative_to(site)) in index  # the index links both runs' pages
    assert (site / "static").is_dir()
    shutil.rmtree(site)  # a full rebuild from the stored results gives the same pages again
    assert "test_kinds" in build_data_docs(quality).read_text(encoding="utf-8")
    assert first.data_docs.exists() and second.data_docs.exists()


def test_asset_check_reports_error_and_warning_severity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster import AssetCheckSeverity, build_asset_check_context

    from orchestration import checks
    from orchestration.resources import settings

    home = tmp_path / "home"
    raw = _raw(tmp_path / "raw.duckdb")
    monkeypatch.setenv("WAREHOUSE_HOME", str(home))
    monkeypatch.setenv("WAREHOUSE_RAW_PATH", str(raw))
    settings.cache_clear()
    try:
        check = next(c for c in checks.GX_CHECKS if c.check_key.name == "gx_raw_os2bos_core_payment")
        assert check.check_key.asset_key.path == ["os2bos", "core_payment"]
        with duckdb.connect(str(raw)) as connection:
            connection.execute("UPDATE os2bos.core_payment SET paid_amount = 2000000 WHERE id = 1")
        result = check(build_asset_check_context())
        assert (result.passed, result.severity) == (False, AssetCheckSeverity.WARN)
        assert "expect_column_values_to_be_between on paid_amount: 1 unexpected rows" in result.description
        with duckdb.connect(str(raw)) as connection:  # the check closed the file: a writer can open it
            connection.execute("UPDATE os2bos.core_payment SET amount = 99000000 WHERE id = 1")
        result = check(build_asset_check_context())
        assert (result.passed, result.severity) == (False, AssetCheckSeverity.ERROR)
        assert "expect_column_values_to_be_between on amount: 1 unexpected rows" in result.description
        page = Path(result.metadata["data_docs"].value)  # the failing result's own Data Docs page
        assert page.exists() and page.is_relative_to(home / "quality" / "data_docs" / "validations")
    finally:
        settings.cache_clear()
