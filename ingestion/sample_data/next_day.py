"""One working day in the sample's source systems, written into sources that already exist.

A nightly refresh does not meet a freshly generated sample: it meets yesterday's sources plus one
day of work. Generating the sample again as of the next day does not give that (the generator
draws every row anew, so almost every payment would change). This module changes the sources in
place as the day would:

- OS2bos: the payments falling due that day on granted activities are paid (each gets its
  `core_historicalpayment` row, as OS2bos' payment run writes it); a share of the open cases get
  another caseworker (`modified` and a `core_historicalcase` row); a share of the expected
  activities are granted.
- The child-case system: the notifications and follow-ups of the same weekday a week earlier
  happen again for the same children, as new events (a child is often notified about more than
  once; a repeated follow-up is the case's next one), each with its assessment when that was made
  the same day; closed cases get none.
- Finance: the month's ledger is re-exported (`ledger_postings_<YYYY>-<MM>.csv`, which replaces
  that month, see docs/finance_files.md) with a posting for every payment made that day.

Command line (the sources of `python -m ingestion.sample_data`):
`python -m ingestion.sample_data.next_day --sources var/sources --day <the day after the sample's as-of day>`.
"""

from __future__ import annotations

import argparse
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

from ingestion.finance.drop_folder import REJECTED
from ingestion.finance.formats import LEDGER
from ingestion.sample_data.catalogue import MUNICIPALITIES
from ingestion.sample_data.finance_exports import export_columns, write_csv
from ingestion.sample_data.reference_tables import ALL_SERVICES

# Daily shares: of open cases that get another caseworker, of expected activities that are granted.
CASEWORKER_CHANGE_SHARE = 0.002
GRANT_SHARE = 0.05
WORKDAY_START, PAYMENT_RUN = 9, 16  # hours: caseworkers' changes, OS2bos' payment run
EVENTS_REPEATED_FROM_DAYS_BEFORE = 7
# Case events that happen again, each with the event type assessing it the same day.
REPEATED_EVENTS = {"notification_received": "notification_assessed", "follow_up_held": "outcome_assessed"}
LEDGER_ENCODING = "cp1252"
_SERVICE_NAMES = {service.activity_category_code: service.service_name for service in ALL_SERVICES}


@dataclass(frozen=True)
class DayOfWork:
    day: date
    payments_paid: int
    cases_reassigned: int
    activities_granted: int
    events_added: int
    ledger_file: Path
    postings_added: int

    def __str__(self) -> str:
        return (f"{self.day}: {self.payments_paid:,} payments paid, {self.cases_reassigned:,} cases reassigned, "
                f"{self.activities_granted:,} activities granted, {self.events_added:,} case events, "
                f"{self.postings_added:,} postings in {self.ledger_file.name}")


def _stamp(day: date, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour).strftime("%Y-%m-%d %H:%M:%S")


def _pay_due_payments(os2bos: sqlite3.Connection, day: date) -> list[tuple]:
    """Pays what falls due by `day` on granted activities; returns (id, paid amount, account, municipality)."""
    due = os2bos.execute(
        "SELECT p.id, p.amount, p.saved_account_string, c.paying_municipality_id "
        "FROM core_payment p JOIN core_paymentschedule s ON s.id = p.payment_schedule_id "
        "JOIN core_activity a ON a.id = s.activity_id JOIN core_appropriation ap ON ap.id = a.appropriation_id "
        "JOIN core_case c ON c.id = ap.case_id "
        "WHERE p.paid = 0 AND p.date <= ? AND a.status = 'GRANTED' ORDER BY p.id",
        (day.isoformat(),),
    ).fetchall()
    os2bos.executemany(
        "UPDATE core_payment SET paid = 1, paid_amount = amount, paid_date = ? WHERE id = ?",
        [(day.isoformat(), payment_id) for payment_id, *_ in due],
    )
    history_id = os2bos.execute("SELECT coalesce(max(history_id), 0) FROM core_historicalpayment").fetchone()[0]
    os2bos.executemany(
        "INSERT INTO core_historicalpayment (id, paid_amount, paid, paid_date, saved_account_alias, history_id, "
        "history_date, history_type) VALUES (?, ?, 1, ?, '', ?, ?, '~')",
        [(payment_id, amount, day.isoformat(), history_id + n, _stamp(day, PAYMENT_RUN))
         for n, (payment_id, amount, *_) in enumerate(due, start=1)],
    )
    return due


def _reassign_cases(os2bos: sqlite3.Connection, day: date) -> int:
    """A share of the cases (every `1/share`-th, by id and day) get the next case's caseworker."""
    step = round(1 / CASEWORKER_CHANGE_SHARE)
    changed = os2bos.execute(
        "SELECT c.id, o.case_worker_id FROM core_case c "
        "JOIN core_case o ON o.id = c.id % (SELECT max(id) FROM core_case) + 1 "
        "WHERE (c.id + ?) % ? = 0 AND o.case_worker_id IS NOT c.case_worker_id AND o.case_worker_id IS NOT NULL",
        (day.toordinal(), step),
    ).fetchall()
    stamp = _stamp(day, WORKDAY_START)
    os2bos.executemany(
        "UPDATE core_case SET case_worker_id = ?, modified = ?, user_modified = 'os2bos' WHERE id = ?",
        [(worker, stamp, case_id) for case_id, worker in changed],
    )
    history_id = os2bos.execute("SELECT coalesce(max(history_id), 0) FROM core_historicalcase").fetchone()[0]
    os2bos.execute(
        "INSERT INTO core_historicalcase (id, created, modified, user_created, user_modified, case_worker_id, "
        "acting_municipality_id, effort_step_id, scaling_step, assessment_comment, history_id, history_date, "
        "history_type, history_user_id) "
        "SELECT id, created, modified, user_created, user_modified, case_worker_id, acting_municipality_id, "
        "effort_step_id, scaling_step, assessment_comment, ? + row_number() OVER (ORDER BY id), modified, '~', "
        "case_worker_id FROM core_case WHERE modified = ?",
        (history_id, stamp),
    )
    return len(changed)


def _grant_expected_activities(os2bos: sqlite3.Connection, day: date) -> int:
    step = round(1 / GRANT_SHARE)
    return os2bos.execute(
        "UPDATE core_activity SET status = 'GRANTED', appropriation_date = ?, modified = ?, user_modified = 'os2bos' "
        "WHERE status = 'EXPECTED' AND (id + ?) % ? = 0",
        (day.isoformat(), _stamp(day, WORKDAY_START), day.toordinal(), step),
    ).rowcount


def _repeat_week_old_events(events: sqlite3.Connection, day: date) -> int:
    """The notifications and follow-ups of a week earlier (with their same-day assessments) happen
    again on the same open cases, as new events; a repeated follow-up is the case's next one."""
    earlier = (day - timedelta(days=EVENTS_REPEATED_FROM_DAYS_BEFORE)).isoformat()
    next_number = events.execute("SELECT max(CAST(substr(id, 4) AS INTEGER)) FROM events").fetchone()[0] or 0
    columns = [row[1] for row in events.execute("PRAGMA table_info(events)")]
    copied = [c for c in columns if c not in ("id", "occurred_at", "updated_at", "deleted", "related_event_id",
                                              "follow_up_number")]
    firsts = ", ".join(f"'{t}'" for t in REPEATED_EVENTS)
    seconds = ", ".join(f"'{t}'" for t in REPEATED_EVENTS.values())
    for table in ("repeated", "closed", "follow_ups"):
        events.execute(f"DROP TABLE IF EXISTS temp.{table}")
    events.execute("CREATE TEMP TABLE closed AS SELECT DISTINCT case_reference FROM events WHERE type = 'case_closed'")
    events.execute("CREATE TEMP TABLE follow_ups AS SELECT case_reference, max(follow_up_number) AS last "
                   "FROM events GROUP BY case_reference")
    events.execute(
        "CREATE TEMP TABLE repeated AS SELECT e.id AS old_id, "
        "printf('ev-%09d', ? + row_number() OVER (ORDER BY e.occurred_at, e.id)) AS id, "
        "CASE WHEN e.type = 'follow_up_held' THEN coalesce(f.last, 0) + row_number() OVER ("
        "  PARTITION BY e.case_reference, e.type = 'follow_up_held' ORDER BY e.occurred_at, e.id) END AS follow_up_number "
        "FROM events e LEFT JOIN temp.follow_ups f ON f.case_reference = e.case_reference "
        f"WHERE e.deleted = 0 AND substr(e.occurred_at, 1, 10) = ? AND (e.type IN ({firsts}) OR (e.type IN ({seconds}) "
        f"  AND e.related_event_id IN (SELECT r.id FROM events r WHERE r.type IN ({firsts}) "
        "  AND r.deleted = 0 AND substr(r.occurred_at, 1, 10) = ?))) "
        "AND e.case_reference NOT IN (SELECT case_reference FROM temp.closed)",
        (next_number, earlier, earlier),
    )
    events.execute(
        f"INSERT INTO events (id, occurred_at, updated_at, deleted, related_event_id, follow_up_number, {', '.join(copied)}) "
        "SELECT r.id, strftime('%Y-%m-%dT%H:%M:%S.000000Z', e.occurred_at, ?), ?, 0, "
        "coalesce(related.id, e.related_event_id), r.follow_up_number, "
        f"{', '.join('e.' + c for c in copied)} "
        "FROM temp.repeated r JOIN events e ON e.id = r.old_id "
        "LEFT JOIN temp.repeated related ON related.old_id = e.related_event_id",
        (f"+{EVENTS_REPEATED_FROM_DAYS_BEFORE} days", f"{day.isoformat()}T23:59:59.000000Z"),
    )
    return events.execute("SELECT count(*) FROM temp.repeated").fetchone()[0]


def _ledger_files(drop_folder: Path) -> list[Path]:
    """Every ledger export delivered so far (loaded ones lie in subfolders), oldest first."""
    files = [p for p in drop_folder.rglob(f"{LEDGER.file_stem}_*.csv") if REJECTED not in p.relative_to(drop_folder).parts]
    return sorted(files, key=lambda path: (path.stat().st_mtime_ns, path.name))


def _read_ledger(path: Path) -> pa.Table:
    header = list(LEDGER.columns)
    with path.open(encoding=LEDGER_ENCODING) as handle:
        present = handle.readline().strip().split(";")
    return csv.read_csv(
        path,
        read_options=csv.ReadOptions(encoding=LEDGER_ENCODING),
        parse_options=csv.ParseOptions(delimiter=";"),
        convert_options=csv.ConvertOptions(
            column_types={name: pa.int64() if name == "Posteringsnr" else pa.string() for name in present},
            include_columns=[name for name in present if name in header or name in LEDGER.optional_columns],
        ),
    )


def _month_so_far(drop_folder: Path, day: date) -> tuple[pa.Table, int]:
    """The month's postings as the newest export holding them carries them, and the last posting number."""
    month_suffix = f"-{day.month:02d}-{day.year}"
    month_rows, last_posting = None, 0
    for path in _ledger_files(drop_folder):
        table = _read_ledger(path)
        last_posting = max(last_posting, pc.max(table["Posteringsnr"]).as_py() or 0)
        in_month = table.filter(pc.ends_with(table["Bogføringsdato"], month_suffix))
        if in_month.num_rows:
            month_rows = in_month
    if month_rows is None:
        raise ValueError(f"no ledger export in {drop_folder} holds {day:%Y-%m}: generate the sample first")
    return month_rows, last_posting


def _reexport_month(drop_folder: Path, day: date, month_rows: pa.Table, last_posting: int, paid: list[tuple]) -> Path:
    """The month's ledger re-exported with a posting for every payment made on `day`."""
    codes = [account.rsplit("-", 1)[-1] for _, _, account, _ in paid]
    postings = pa.table({
        "posting_id": pa.array(range(last_posting + 1, last_posting + 1 + len(paid)), pa.int64()),
        "voucher_number": [f"BOS{payment_id}" for payment_id, *_ in paid],
        "posting_date": pa.array([day] * len(paid), pa.date32()),
        "account_string": [account for _, _, account, _ in paid],
        "activity_code": codes,
        "posting_text": [f"OS2BOS udbetaling {payment_id} {_SERVICE_NAMES.get(code, '')}".rstrip()
                         for (payment_id, *_), code in zip(paid, codes)],
        "amount": pa.array([Decimal(str(amount)) for _, amount, _, _ in paid], pa.decimal128(18, 2)),
        "municipality_code": [MUNICIPALITIES[municipality - 1][0] for *_, municipality in paid],
    })
    exported = export_columns(postings, LEDGER, "danish").select(month_rows.column_names)
    month = pa.concat_tables([month_rows, exported.cast(month_rows.schema)])
    target = drop_folder / f"{LEDGER.file_stem}_{day.year}-{day.month:02d}.csv"
    scratch = target.with_name(f".{target.name}.part")  # delivered whole: never a half-written file
    write_csv(month, scratch, LEDGER_ENCODING)
    scratch.replace(target)
    return target


def advance_one_day(sources: Path, day: date) -> DayOfWork:
    """Writes `day`'s work into the sources folder of `python -m ingestion.sample_data`.

    The ledger is read first: a day whose month no export holds changes nothing."""
    drop_folder = sources / "finance_drop"
    month_rows, last_posting = _month_so_far(drop_folder, day)
    with sqlite3.connect(sources / "os2bos.sqlite") as os2bos:
        paid = _pay_due_payments(os2bos, day)
        reassigned = _reassign_cases(os2bos, day)
        granted = _grant_expected_activities(os2bos, day)
    os2bos.close()
    with sqlite3.connect(sources / "case_events.sqlite") as events:
        added = _repeat_week_old_events(events, day)
    events.close()
    ledger_file = _reexport_month(drop_folder, day, month_rows, last_posting, paid)
    return DayOfWork(day, len(paid), reassigned, granted, added, ledger_file, len(paid))


def main() -> None:
    parser = argparse.ArgumentParser(description="Write one day of work into the sample's sources.")
    parser.add_argument("--sources", type=Path, required=True, help="the folder `python -m ingestion.sample_data` wrote")
    parser.add_argument("--day", type=date.fromisoformat, required=True, help="the day of work, after the sample's as-of day")
    args = parser.parse_args()
    print(f"[sample] one day of work: {advance_one_day(args.sources, args.day)}")


if __name__ == "__main__":
    main()
