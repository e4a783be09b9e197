"""The sample generator's export writers and the line-numbered reading of export files (no pipeline)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from ingestion.finance import reading
from ingestion.finance.formats import LEDGER, ExportFile
from ingestion.finance.reading import NumberedLines, open_export
from ingestion.finance.validation import validate
from ingestion.sample_data.finance_exports import write_budget_exports, write_ledger_exports

LEDGER_TABLE = pa.table({
    "posting_id": pa.array([2, 1, 3], pa.int64()),
    "voucher_number": ["B2", "B1", "B3"],
    "posting_date": pa.array([date(2024, 3, 1), date(2024, 1, 5), date(2025, 2, 2)], pa.date32()),
    "account_string": ["528201003-015190"] * 3,
    "activity_code": ["015190"] * 3,
    "posting_text": ["Plejefamilie Ærø €", 'Kursus; "Børn"', "Løn"],
    "amount": pa.array([Decimal("-1234.50"), Decimal("0.05"), Decimal("7")], pa.decimal128(18, 2)),
})


def export_file(path: Path) -> ExportFile:
    return ExportFile(path, LEDGER, "2024", "0" * 64, path.stat().st_size, datetime.now(UTC))


def test_ledger_exports_are_danish_cp1252_csv_per_year(tmp_path: Path) -> None:
    paths = write_ledger_exports(LEDGER_TABLE, tmp_path)

    assert [path.name for path in paths] == ["ledger_postings_2024.csv", "ledger_postings_2025.csv"]
    assert paths[0].read_bytes().decode("cp1252").split("\r\n") == [
        "Posteringsnr;Bilagsnr;Bogføringsdato;Kontostreng;Aktivitet;Tekst;Beløb",
        '1;"B1";"05-01-2024";"528201003-015190";"015190";"Kursus; ""Børn""";"0,05"',
        '2;"B2";"01-03-2024";"528201003-015190";"015190";"Plejefamilie Ærø €";"-1234,50"',
        "",
    ]
    assert b"\x80" in paths[0].read_bytes(), "the euro sign is byte 0x80 in Windows-1252"


def test_ledger_exports_in_utf8_with_bom_and_iso_dates_read_back(tmp_path: Path) -> None:
    path = write_ledger_exports(LEDGER_TABLE, tmp_path, encoding="utf-8-sig", date_style="iso")[0]
    assert path.read_bytes().startswith(b"\xef\xbb\xbfPosteringsnr;")

    content = open_export(export_file(path))
    rows = pa.concat_tables(validate(chunk.records, export_file(path)).rows for chunk in content.chunks)
    assert content.encoding == "utf-8"
    assert rows.select(["posting_id", "posting_date", "posting_text", "amount"]).to_pylist() == [
        {"posting_id": 1, "posting_date": date(2024, 1, 5), "posting_text": 'Kursus; "Børn"', "amount": Decimal("0.05")},
        {"posting_id": 2, "posting_date": date(2024, 3, 1), "posting_text": "Plejefamilie Ærø €",
         "amount": Decimal("-1234.50")},
    ]


def test_budget_exports_per_year(tmp_path: Path) -> None:
    budgets = pa.table({
        "account_string": ["528201003-015190"] * 2, "activity_code": ["015190"] * 2,
        "budget_year": pa.array([2026, 2025], pa.int32()), "budget_month": pa.array([12, 1], pa.int32()),
        "amount": pa.array([Decimal("1500000.00"), Decimal("-2.5")], pa.decimal128(18, 2)),
    })
    paths = write_budget_exports(budgets, tmp_path)

    assert [path.name for path in paths] == ["budget_2025.csv", "budget_2026.csv"]
    assert paths[0].read_text(encoding="cp1252").splitlines() == [
        "Kontostreng;Aktivitet;År;Måned;Budget", '"528201003-015190";"015190";2025;1;"-2,50"',
    ]


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8"])
def test_line_numbers_survive_chunk_boundaries(monkeypatch: pytest.MonkeyPatch, encoding: str) -> None:
    monkeypatch.setattr(reading, "DECODE_CHUNK_BYTES", 5)
    text = "Æble;1\r\nøre;2\r\n\r\nlast line without newline €"
    stream = NumberedLines(io.BytesIO(text.encode(encoding)), encoding)

    # line ends come out as LF whatever the file used (CRLF here), so line numbers stay in step
    assert io.BufferedReader(stream).read().decode("utf-8").split("\n") == [
        "0000000001;Æble;1", "0000000002;øre;2", "0000000003;", "0000000004;last line without newline €",
    ]
