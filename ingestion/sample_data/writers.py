"""Write a generated municipality in the source formats: an OS2bos SQLite database and ledger CSVs."""

from __future__ import annotations

import csv
import sqlite3
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from ingestion.sample_data.generator import LedgerPosting, SampleMunicipality
from ingestion.sample_data.schema import create_table_sql

LEDGER_HEADER = ("Posteringsnr", "Bilagsnr", "Bogføringsdato", "Kontostreng", "Aktivitet", "Tekst", "Beløb")
LEDGER_ENCODING = "cp1252"


def _sqlite_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_os2bos_sqlite(sample: SampleMunicipality, path: Path) -> None:
    """Write every table into a fresh SQLite file (replacing an older one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".sqlite.tmp")
    scratch.unlink(missing_ok=True)
    with sqlite3.connect(scratch) as connection:
        for name, table in sample.tables.items():
            connection.execute(create_table_sql(name))
            placeholders = ", ".join("?" for _ in table.columns)
            connection.executemany(
                f'INSERT INTO "{name}" VALUES ({placeholders})',
                ([_sqlite_value(v) for v in row] for row in table.rows),
            )
    connection.close()
    scratch.replace(path)


def _danish_amount(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")


def write_ledger_exports(postings: list[LedgerPosting], folder: Path) -> list[Path]:
    """Write one ledger export per year, as Danish finance systems deliver them."""
    folder.mkdir(parents=True, exist_ok=True)
    by_year: dict[int, list[LedgerPosting]] = {}
    for posting in postings:
        by_year.setdefault(posting.posting_date.year, []).append(posting)
    written = []
    for year, rows in sorted(by_year.items()):
        path = folder / f"ledger_postings_{year}.csv"
        with path.open("w", encoding=LEDGER_ENCODING, newline="") as handle:
            writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
            writer.writerow(LEDGER_HEADER)
            for p in sorted(rows, key=lambda r: r.posting_id):
                writer.writerow((
                    p.posting_id, p.voucher_number, f"{p.posting_date:%d-%m-%Y}", p.account_string,
                    p.activity_code, p.posting_text, _danish_amount(p.amount),
                ))
        written.append(path)
    return written
