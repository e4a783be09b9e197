"""One day of work written into existing sample sources (`ingestion.sample_data.next_day`), as the
loaders will meet it: read back with the sources' own formats and the finance loader's reader."""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ingestion.finance.drop_folder import PROCESSED, describe, sha256_of
from ingestion.finance.formats import identify
from ingestion.finance.reading import open_export
from ingestion.finance.validation import validate
from ingestion.sample_data.__main__ import write_sources
from ingestion.sample_data.generator import generate
from ingestion.sample_data.next_day import advance_one_day

AS_OF = date(2026, 11, 20)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("next_day") / "sources"
    write_sources(generate("small", 42, AS_OF), folder)
    return folder


def _ledger_rows(path: Path) -> pa.Table:
    """The file as the finance loader reads it: every row must pass its checks."""
    export = describe(path, *identify(path.name), sha256_of(path))
    checked = [validate(chunk.records, export) for chunk in open_export(export).chunks]
    assert [r for v in checked for r in v.rejections] == []
    return pa.concat_tables(v.rows for v in checked)


def _query(database: Path, sql: str, *parameters: object) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(sql, parameters).fetchall()
    connection.close()
    return rows


def test_a_day_pays_what_falls_due_posts_it_and_adds_events(sources: Path) -> None:
    os2bos, events = sources / "os2bos.sqlite", sources / "case_events.sqlite"
    due = {row[0]: Decimal(str(row[1])) for row in _query(
        os2bos, "SELECT p.id, p.amount FROM core_payment p JOIN core_paymentschedule s ON s.id = p.payment_schedule_id "
        "JOIN core_activity a ON a.id = s.activity_id WHERE p.paid = 0 AND p.date <= '2026-11-21' AND a.status = 'GRANTED'")}
    november_before = _ledger_rows(sources / "finance_drop" / "ledger_postings_2026.csv")
    november_before = november_before.filter(pc.equal(pc.month(november_before["posting_date"]), 11))
    events_before = _query(events, "SELECT count(*), max(id) FROM events")[0]
    # the yearly file has been loaded: the loader moved it aside, the re-export must still find it
    (sources / "finance_drop" / PROCESSED).mkdir()
    (sources / "finance_drop" / "ledger_postings_2026.csv").rename(
        sources / "finance_drop" / PROCESSED / "ledger_postings_2026.csv")

    day = advance_one_day(sources, date(2026, 11, 21))

    assert due and day.payments_paid == len(due) == day.postings_added
    paid = _query(os2bos, "SELECT id, paid_amount, paid_date FROM core_payment WHERE paid_date = '2026-11-21'")
    assert {row[0] for row in paid} == set(due)
    history = _query(os2bos, "SELECT id, paid_date FROM core_historicalpayment WHERE history_date = '2026-11-21 16:00:00'")
    assert sorted(history) == sorted((payment_id, "2026-11-21") for payment_id in due)
    assert _query(os2bos, "SELECT count(*) = count(DISTINCT history_id) FROM core_historicalpayment")[0][0] == 1

    month = _ledger_rows(day.ledger_file)
    assert day.ledger_file.name == "ledger_postings_2026-11.csv"
    new = month.filter(pc.equal(month["posting_date"], pa.scalar(date(2026, 11, 21))))
    assert month.num_rows == november_before.num_rows + len(due)
    assert set(new["voucher_number"].to_pylist()) == {f"BOS{payment_id}" for payment_id in due}
    assert sum(new["amount"].to_pylist()) == sum(due.values())
    assert pc.min(new["posting_id"]).as_py() > pc.max(november_before["posting_id"]).as_py()

    added = _query(events, "SELECT id, type, related_event_id, follow_up_number, case_reference FROM events "
                           "WHERE updated_at = '2026-11-21T23:59:59.000000Z' AND id > ?", events_before[1])
    assert len(added) == day.events_added == _query(events, "SELECT count(*) FROM events")[0][0] - events_before[0]
    assert added, "the sample has notifications or follow-ups a week before the day"
    for event_id, event_type, related, follow_up, case in added:
        if event_type == "follow_up_held":
            earlier = _query(events, "SELECT max(follow_up_number) FROM events WHERE case_reference = ? AND id < ?",
                             case, event_id)[0][0]
            assert follow_up == (earlier or 0) + 1
        if event_type in ("notification_assessed", "outcome_assessed"):
            assert related in {e[0] for e in added}, "an assessment follows the repeated event, not the old one"


def test_the_next_day_re_exports_the_month_with_the_day_before(sources: Path) -> None:
    first = _ledger_rows(sources / "finance_drop" / "ledger_postings_2026-11.csv")

    day = advance_one_day(sources, date(2026, 11, 24))

    month = _ledger_rows(day.ledger_file)
    assert month.num_rows == first.num_rows + day.postings_added
    assert pc.count_distinct(month["posting_id"]).as_py() == month.num_rows


def test_a_day_without_an_export_of_its_month_is_refused_before_anything_changes(sources: Path) -> None:
    unpaid = "SELECT count(*) FROM core_payment WHERE paid = 0"
    before = _query(sources / "os2bos.sqlite", unpaid)

    with pytest.raises(ValueError, match="no ledger export .* holds 2031-01"):
        advance_one_day(sources, date(2031, 1, 2))

    assert _query(sources / "os2bos.sqlite", unpaid) == before
