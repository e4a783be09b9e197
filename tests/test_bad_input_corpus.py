"""The bad-input corpus (tests/corpus/): malformed and hostile finance drops through the real loader.

Each case of `tests/corpus/manifest.toml` delivers one or more files into a fresh drop folder, runs
the real dlt pipeline into a raw DuckDB file under tmp_path (as tests/test_finance_loading.py does)
and checks what the manifest declares for every file: loaded (row counts), quarantined (count and
reasons) or rejected/duplicate (whole file, reason). Every case also checks the guarantees of
docs/reliability.md: rows read = loaded + quarantined and equal to the rows the file holds (nothing
lost), no text value that lands starts like a spreadsheet formula, no CPR-shaped text lands.

Small fixtures are committed in tests/corpus/files/; binary and large inputs are generated here.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest

from ingestion.finance import archive_loaded_files
from ingestion.finance.reading import XLSX_MAX_EXPANDED_BYTES
from ingestion.finance.safety import MAX_FIELD_CHARS, safe_text
from tests.test_finance_loading import ACCOUNT, LEDGER_HEADER, RawLayer

CORPUS = Path(__file__).parent / "corpus"
MANIFEST = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))
FIXTURES = CORPUS / "files"
# The scan of tests/test_personal_data.py, plus the broader shape the loader masks (any date digits).
CPR_SHAPES = (r"\b[0-3]\d[01]\d\d{2}-?\d{4}\b", r"\b(19|20)\d{2}[01]\d[0-3]\d-?\d{4}\b", r"\b(\d{6}|\d{8})[- ]?\d{4}\b")
FORMULA_START = re.compile(r"^[=+\-@\t\r]")
LEDGER_COLUMNS = LEDGER_HEADER.split(";")


def _ledger_row(posting_id: int, text: str = "Familiepleje", amount: str = "100,00") -> str:
    return f"{posting_id};BOS{posting_id};05-01-2024;{ACCOUNT};015190;{text};{amount}"


def _csv(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def _workbook_bytes(build: Callable[[openpyxl.Workbook], None]) -> bytes:
    workbook = openpyxl.Workbook()
    build(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _ledger_sheet(sheet: Any, rows: int, first_id: int = 1) -> None:
    sheet.append(LEDGER_COLUMNS)
    for posting_id in range(first_id, first_id + rows):
        sheet.append([posting_id, f"B{posting_id}", "05-01-2024", ACCOUNT, "015190", "Familiepleje", 100.5])


def _xlsx_merged_cells(workbook: openpyxl.Workbook) -> None:
    """A title block merged across the columns above the header, and an account merged down three rows."""
    sheet = workbook.active
    sheet.append(["Finansrapport 2024"])
    sheet.merge_cells("A1:G1")
    sheet.append([])
    _ledger_sheet(sheet, 4)
    sheet.merge_cells("D4:D6")  # rows 4-6 hold postings 1-3: only the first keeps the account


def _xlsx_notes_sheet_first(workbook: openpyxl.Workbook) -> None:
    notes = workbook.active
    notes.title = "Noter"
    notes.append(["Udtrukket af økonomisystemet", "2025-01-03"])
    _ledger_sheet(workbook.create_sheet("Posteringer"), 3)
    workbook.create_sheet("Tom")


def _xlsx_two_data_sheets(workbook: openpyxl.Workbook) -> None:
    _ledger_sheet(workbook.active, 2)
    _ledger_sheet(workbook.create_sheet("Posteringer 2. halvår"), 2, first_id=3)


def _xlsx_formula_and_error_cells(workbook: openpyxl.Workbook) -> None:
    sheet = workbook.active
    _ledger_sheet(sheet, 3)
    sheet["F2"] = "=cmd|' /C calc'!A0"
    sheet["F2"].data_type = "s"  # a text cell that looks like a formula (what a hostile export carries)
    sheet["G3"] = "#DIV/0!"
    sheet["G3"].data_type = "e"
    sheet["F4"] = "=1+1"  # a real formula without a cached value: the cell reads as empty


def _zip_bomb() -> bytes:
    """A zip whose one member expands to just over the XLSX limit (zeros: it compresses ~1000:1)."""
    buffer = io.BytesIO()
    block = bytes(64 << 20)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(XLSX_MAX_EXPANDED_BYTES // len(block) + 1):
                member.write(block)
    return buffer.getvalue()


GENERATED: dict[str, Callable[[], bytes]] = {
    "huge_field": lambda: _csv([LEDGER_HEADER, _ledger_row(1), _ledger_row(2, "x" * (1 << 20)), _ledger_row(3)]),
    "huge_line_over_block": lambda: _csv([LEDGER_HEADER, _ledger_row(1), _ledger_row(2, "y" * (20 << 20))]),
    "many_rows": lambda: _csv([LEDGER_HEADER, *(_ledger_row(i, amount=f"{i % 1000},{i % 100:02d}") for i in range(1, 200_001))]),
    "xlsx_merged_cells": lambda: _workbook_bytes(_xlsx_merged_cells),
    "xlsx_notes_sheet_first": lambda: _workbook_bytes(_xlsx_notes_sheet_first),
    "xlsx_two_data_sheets": lambda: _workbook_bytes(_xlsx_two_data_sheets),
    "xlsx_formula_and_error_cells": lambda: _workbook_bytes(_xlsx_formula_and_error_cells),
    "xlsx_renamed_csv": lambda: _workbook_bytes(lambda workbook: _ledger_sheet(workbook.active, 2)),
    "xlsx_zip_bomb": _zip_bomb,
}
TABLES = {"ledger": "ledger_postings", "budget": "budgets"}


@dataclass(frozen=True)
class Delivery:
    spec: dict[str, Any]
    content: bytes

    @property
    def name(self) -> str:
        return self.spec["deliver_as"]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _content(spec: dict[str, Any]) -> bytes:
    if "fixture" in spec:
        return (FIXTURES / spec["fixture"]).read_bytes()
    return GENERATED[spec["generate"]]()


def _table_exists(raw: RawLayer, table: str) -> bool:
    return bool(raw.rows(f"select count(*) from information_schema.tables "
                         f"where table_schema = 'finance' and table_name = '{table}'")[0][0])


def _log_rows(raw: RawLayer) -> list[dict[str, Any]]:
    columns = ("source_file", "source_sha256", "kind", "status", "reason", "rows_read", "rows_loaded",
               "rows_quarantined")
    return [dict(zip(columns, row)) for row in
            raw.rows(f"select {', '.join(columns)} from finance.file_log order by handled_at")]


def _check_file(raw: RawLayer, delivery: Delivery, entry: dict[str, Any]) -> None:
    spec, expect = delivery.spec, delivery.spec["expect"]
    assert entry["source_sha256"] == delivery.sha256
    if expect in ("rejected", "duplicate"):
        assert entry["status"] == expect
        assert spec["reason"] in entry["reason"], entry["reason"]
        if expect == "rejected":  # nothing of it lands (a duplicate's content landed once, from the first file)
            reason_files = list((raw.drop / "rejected").glob("*.reason.txt"))
            assert any(spec["reason"] in path.read_text(encoding="utf-8") for path in reason_files)
            for table in (*TABLES.values(), "quarantine"):
                if _table_exists(raw, table):
                    assert raw.rows(f"select count(*) from finance.{table} "
                                    f"where source_sha256 = '{delivery.sha256}'")[0] == (0,)
        return
    assert expect in ("loaded", "quarantined")
    assert entry["status"] == "loaded", entry
    read, loaded, quarantined = entry["rows_read"], entry["rows_loaded"], entry["rows_quarantined"]
    assert read == loaded + quarantined, "every row read is loaded or quarantined"
    assert (read, loaded, quarantined) == (spec["rows"], spec["loaded"], spec.get("quarantined", 0))
    assert (quarantined > 0) == (expect == "quarantined")
    table = TABLES[entry["kind"]]
    landed = raw.rows(f"select count(*) from finance.{table} where source_sha256 = '{delivery.sha256}'")[0][0] \
        if _table_exists(raw, table) else 0
    assert landed == loaded
    reasons = [reason for (reason,) in raw.rows(
        f"select reason from finance.quarantine where source_sha256 = '{delivery.sha256}' order by source_line"
    )] if _table_exists(raw, "quarantine") else []
    assert len(reasons) == quarantined
    expected_reasons = spec.get("reasons", [])
    for expected in expected_reasons:
        assert any(expected in reason for reason in reasons), (expected, reasons)
    for reason in reasons:
        assert any(expected in reason for expected in expected_reasons), f"undeclared reason {reason!r}"
    if "texts" in spec:
        assert [text for (text,) in raw.rows(
            f"select coalesce(posting_text, '') from finance.ledger_postings where source_sha256 = '{delivery.sha256}' "
            "order by source_line")] == spec["texts"]
    if "lines" in spec:
        assert [line for (line,) in raw.rows(
            f"select source_line from finance.{table} where source_sha256 = '{delivery.sha256}' order by 1"
        )] == spec["lines"]
    if "amount_total" in spec:
        assert str(raw.rows(f"select sum(amount) from finance.{table} "
                            f"where source_sha256 = '{delivery.sha256}'")[0][0]) == spec["amount_total"]


def _text_values(raw: RawLayer) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text value in the finance dataset, quarantine records split in fields."""
    with duckdb.connect(str(raw.root / "raw.duckdb"), read_only=True) as connection:
        columns = connection.sql(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'finance' and data_type = 'VARCHAR' and table_name not like '\\_dlt%' escape '\\'"
        ).fetchall()
        values = []
        for table, column in columns:
            for (value,) in connection.execute(f'select "{column}" from finance."{table}" where "{column}" is not null').fetchall():
                parts = value.split(";") if (table, column) == ("quarantine", "record") else [value]
                values.extend((table, column, part) for part in parts)
    return values


def _check_guarantees(raw: RawLayer) -> None:
    for table, column, value in _text_values(raw):
        assert not FORMULA_START.match(value), f"finance.{table}.{column} stores an executable cell {value[:40]!r}"
        for shape in CPR_SHAPES:
            assert not re.search(shape, value), f"finance.{table}.{column} holds a CPR-shaped number: {value[:80]!r}"
    left = sorted(path.name for path in raw.drop.iterdir() if path.is_file())
    assert not left, f"files left in the drop folder: {left}"


CASES = MANIFEST["case"]


def test_the_corpus_is_large_and_small() -> None:
    """At least 30 kinds of bad input; the committed fixtures stay under 200 KB."""
    assert len(CASES) >= 30
    assert len({case["name"] for case in CASES}) == len(CASES)
    fixtures = {spec["fixture"] for case in CASES for spec in case["file"] if "fixture" in spec}
    assert fixtures == {path.name for path in FIXTURES.iterdir()}, "every fixture is used, every used one exists"
    assert sum(path.stat().st_size for path in FIXTURES.iterdir()) < 200_000
    assert all(spec["expect"] in ("loaded", "quarantined", "rejected", "duplicate")
               for case in CASES for spec in case["file"])


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_corpus_case(tmp_path: Path, case: dict[str, Any]) -> None:
    raw = RawLayer(tmp_path)
    runs = sorted({spec.get("run", 1) for spec in case["file"]})
    logged = 0
    for run in runs:
        deliveries = [Delivery(spec, _content(spec)) for spec in case["file"] if spec.get("run", 1) == run]
        for order, delivery in enumerate(deliveries):
            path = raw.drop / delivery.name
            path.write_bytes(delivery.content)
            os.utime(path, (1_000 * run + order, 1_000 * run + order))
        raw.load()
        archive_loaded_files(raw.drop, raw.pipeline())  # committed: loaded files move to processed/
        entries = _log_rows(raw)[logged:]
        logged += len(entries)
        by_name = {entry["source_file"]: entry for entry in entries}
        for delivery in deliveries:
            assert safe_text(delivery.name) in by_name, f"{delivery.name} not in the file log: {list(by_name)}"
            _check_file(raw, delivery, by_name[safe_text(delivery.name)])
    _check_guarantees(raw)


def test_a_quarantined_huge_field_keeps_a_short_record(tmp_path: Path) -> None:
    raw = RawLayer(tmp_path)
    (raw.drop / "ledger_postings_2024.csv").write_bytes(GENERATED["huge_field"]())
    raw.load()
    ((record, reason),) = raw.rows("select record, reason from finance.quarantine")
    assert reason == f"posting_text too long: {1 << 20:,} characters, at most {MAX_FIELD_CHARS:,}"
    assert len(record) < 2 * MAX_FIELD_CHARS and record.startswith("2;BOS2;05-01-2024;")
