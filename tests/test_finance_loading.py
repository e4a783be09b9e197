"""The finance source end to end: drop folder -> real dlt pipeline -> raw DuckDB file in tmp_path."""

from __future__ import annotations

import os
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import dlt
import duckdb
import pyarrow as pa
import pytest

from ingestion.finance import archive_loaded_files, finance_source
from ingestion.pipelines import raw_pipeline
from ingestion.sample_data.finance_exports import write_budget_exports, write_ledger_exports

LEDGER_HEADER = "Posteringsnr;Bilagsnr;Bogføringsdato;Kontostreng;Aktivitet;Tekst;Beløb"
BUDGET_HEADER = "Kontostreng;Aktivitet;År;Måned;Budget"
ACCOUNT = "528201003-015190"


def write_export(path: Path, lines: list[str], encoding: str = "cp1252", delivered: int | None = None) -> Path:
    """A CSV export as the finance system writes it (CRLF); `delivered` sets its mtime (epoch seconds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    if delivered is not None:
        os.utime(path, (delivered, delivered))
    return path


def ledger_lines(*rows: tuple[int, str, str]) -> list[str]:
    """Header plus one line per (posting id, date text, amount text)."""
    return [LEDGER_HEADER, *(f"{pid};BOS{pid};{day};{ACCOUNT};015190;Familiepleje;{amount}" for pid, day, amount in rows)]


class RawLayer:
    """The finance dataset of a raw DuckDB file under tmp_path, loaded by the real pipeline."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.drop = root / "drop"
        self.drop.mkdir()

    def pipeline(self) -> dlt.Pipeline:
        return raw_pipeline("finance", "finance", self.root / "raw.duckdb", self.root / "dlt")

    def load(self) -> None:
        self.pipeline().run(finance_source(self.drop)).raise_on_failed_jobs()

    def rows(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.root / "raw.duckdb"), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def ledger_total(self) -> tuple[int, Decimal]:
        return self.rows("select count(*), sum(amount) from finance.ledger_postings")[0]

    def file_log(self) -> dict[str, tuple]:
        """Latest log entry per file name: (status, rows_read, rows_loaded, rows_quarantined, reason)."""
        return {
            name: tuple(rest) for name, *rest in self.rows(
                "select source_file, status, rows_read, rows_loaded, rows_quarantined, reason "
                "from finance.file_log order by handled_at"
            )
        }


@pytest.fixture
def raw(tmp_path: Path) -> RawLayer:
    return RawLayer(tmp_path)


def test_defining_the_source_touches_no_file(tmp_path: Path) -> None:
    source = finance_source(tmp_path / "does-not-exist")
    assert list(source.selected_resources) == ["ledger_postings", "budgets", "quarantine", "file_log"]


def test_a_redelivered_file_adds_nothing(raw: RawLayer) -> None:
    first = write_export(raw.drop / "ledger_postings_2024.csv", ledger_lines((1, "05-01-2024", "100,00")))
    raw.load()
    shutil.copy(first, raw.drop / "ledger_postings_2024 (kopi).csv")
    raw.load()

    assert raw.ledger_total() == (1, Decimal("100.00"))
    assert raw.file_log()["ledger_postings_2024 (kopi).csv"][0] == "duplicate"
    assert sorted(path.name for path in raw.drop.iterdir()) == ["processed"]
    assert sorted(path.name for path in (raw.drop / "processed").iterdir()) == [
        "ledger_postings_2024 (kopi).csv", "ledger_postings_2024.csv",
    ]


def test_a_reexport_replaces_its_period(raw: RawLayer) -> None:
    write_export(raw.drop / "ledger_postings_2024.csv",
                 ledger_lines((1, "05-01-2024", "100,00"), (2, "01-03-2024", "50,00")), delivered=1_000)
    write_export(raw.drop / "ledger_postings_2025.csv", ledger_lines((9, "02-01-2025", "7,00")), delivered=1_000)
    raw.load()
    archive_loaded_files(raw.drop, raw.pipeline())
    write_export(raw.drop / "ledger_postings_2024.csv",
                 ledger_lines((1, "05-01-2024", "100,00"), (2, "01-03-2024", "50,00"), (3, "09-12-2024", "25,00")))
    raw.load()
    assert raw.ledger_total() == (4, Decimal("182.00"))

    write_export(raw.drop / "ledger_postings_2024-03.csv", ledger_lines((2, "01-03-2024", "55,00")))
    raw.load()
    assert raw.rows("select period, sum(amount) from finance.ledger_postings group by period order by period") == [
        ("2024-01", Decimal("100.00")), ("2024-03", Decimal("55.00")), ("2024-12", Decimal("25.00")),
        ("2025-01", Decimal("7.00")),
    ]


def _key_hints(raw: RawLayer, table: str) -> dict[str, str]:
    columns = raw.pipeline().default_schema.tables[table]["columns"]
    return {name: "merge" if hints.get("merge_key") else "primary"
            for name, hints in columns.items() if hints.get("merge_key") or hints.get("primary_key")}


def test_a_reexport_deletes_by_its_period_alone_also_in_a_raw_layer_keyed_by_line(raw: RawLayer) -> None:
    """A second key besides the period makes dlt delete rows matching either (`... OR d.period =
    s.period`), which DuckDB can only join row by row: at national scale a month's re-export never
    finished. A raw layer loaded with the row key (as before) must lose it on the next load."""
    write_export(raw.drop / "ledger_postings_2024.csv",
                 ledger_lines((1, "05-01-2024", "100,00"), (2, "01-03-2024", "50,00")), delivered=1_000)
    write_export(raw.drop / "budget_2024.csv", [BUDGET_HEADER, f"{ACCOUNT};015190;2024;1;900,00"], delivered=1_000)
    keyed_by_line = finance_source(raw.drop)
    for table in ("ledger_postings", "budgets"):
        keyed_by_line.resources[table].apply_hints(primary_key=("source_sha256", "source_line"))
    raw.pipeline().run(keyed_by_line).raise_on_failed_jobs()
    assert _key_hints(raw, "ledger_postings") == {"period": "merge", "source_sha256": "primary", "source_line": "primary"}
    archive_loaded_files(raw.drop, raw.pipeline())

    write_export(raw.drop / "ledger_postings_2024-03.csv", ledger_lines((2, "01-03-2024", "55,00")))
    write_export(raw.drop / "budget_2024.csv", [BUDGET_HEADER, f"{ACCOUNT};015190;2024;1;950,00"])
    raw.load()

    assert _key_hints(raw, "ledger_postings") == {"period": "merge"}
    assert _key_hints(raw, "budgets") == {"budget_year": "merge"}
    assert raw.ledger_total() == (2, Decimal("155.00"))
    assert raw.rows("select sum(amount) from finance.budgets") == [(Decimal("950.00"),)]


def test_within_one_run_the_later_delivery_wins(raw: RawLayer) -> None:
    write_export(raw.drop / "ledger_postings_2024.csv", ledger_lines((1, "05-01-2024", "100,00")), delivered=1_000)
    later = pa.table({
        "posting_id": pa.array([1], pa.int64()), "voucher_number": ["BOS1"],
        "posting_date": pa.array([date(2024, 1, 5)], pa.date32()), "account_string": [ACCOUNT],
        "activity_code": ["015190"], "posting_text": ["Familiepleje"],
        "amount": pa.array([Decimal("120.00")], pa.decimal128(18, 2)),
    })
    write_ledger_exports(later, raw.drop, file_format="xlsx")
    os.utime(raw.drop / "ledger_postings_2024.xlsx", (2_000, 2_000))
    write_export(raw.drop / "ledger_postings_2024-01.csv", ledger_lines((1, "05-01-2024", "130,00")), delivered=3_000)
    raw.load()

    assert raw.ledger_total() == (1, Decimal("120.00"))
    assert raw.file_log()["ledger_postings_2024.csv"][0] == "superseded"
    assert (raw.drop / "ledger_postings_2024-01.csv").exists(), "a month of a yearly file loads in the next run"
    raw.load()
    assert raw.ledger_total() == (1, Decimal("130.00"))


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig"])
def test_encodings_date_styles_and_thousands_separators(raw: RawLayer, encoding: str) -> None:
    write_export(raw.drop / "ledger_postings_2024.csv", [
        LEDGER_HEADER,
        f'1;B1;05-01-2024;{ACCOUNT};015190;"Plejefamilie Ærø; €-kurs";1.234,56',
        f"2;B2;2024-02-29;{ACCOUNT};015190;Efterværn;-1.000.000,5",
        f"3;B3;31-12-2024;{ACCOUNT};;Løn;12",
    ], encoding=encoding)
    raw.load()

    assert raw.rows("select posting_id, posting_date, posting_text, amount, activity_code, source_line "
                    "from finance.ledger_postings order by posting_id") == [
        (1, date(2024, 1, 5), "Plejefamilie Ærø; €-kurs", Decimal("1234.56"), "015190", 2),
        (2, date(2024, 2, 29), "Efterværn", Decimal("-1000000.50"), "015190", 3),
        (3, date(2024, 12, 31), "Løn", Decimal("12.00"), None, 4),
    ]
    assert raw.file_log()["ledger_postings_2024.csv"][:4] == ("loaded", 3, 3, 0)


def test_bad_rows_are_quarantined_and_every_row_is_accounted_for(raw: RawLayer) -> None:
    write_export(raw.drop / "ledger_postings_2024.csv", [
        LEDGER_HEADER,
        f"1;B1;05-01-2024;{ACCOUNT};015190;Familiepleje;100,00",
        f"2;B2;05-01-2024;{ACCOUNT};015190;Familiepleje;12,3x",
        f"3;B3;31-02-2024;{ACCOUNT};015190;Familiepleje;1,00",
        f"4;B4;5/1/2024;{ACCOUNT};015190;Familiepleje;1,00",
        "5;B5;05-01-2024;;015190;Familiepleje;1,00",
        f"6;B6;05-01-2024;{ACCOUNT};015190",
        "",
        f"7;B7;31-12-2023;{ACCOUNT};015190;Familiepleje;1,00",
        f"x8;B8;05-01-2024;{ACCOUNT};015190;Familiepleje;",
        f"9;B9;05-01-2024;{ACCOUNT};015190;Familiepleje;2,50",
    ])
    raw.load()

    assert raw.rows("select source_line, reason from finance.quarantine order by source_line") == [
        (3, "unparseable amount '12,3x'"),
        (4, "impossible date '31-02-2024'"),
        (5, "unparseable date '5/1/2024'"),
        (6, "missing account"),
        (7, "wrong column count: expected 7, found 5"),
        (9, "posting date '31-12-2023' outside the file's period 2024"),
        (10, "unparseable posting id 'x8'; missing amount"),
    ]
    assert raw.rows("select distinct source_file from finance.quarantine") == [("ledger_postings_2024.csv",)]
    assert raw.ledger_total() == (2, Decimal("102.50"))
    status, rows_read, rows_loaded, rows_quarantined, _ = raw.file_log()["ledger_postings_2024.csv"]
    assert (status, rows_read, rows_loaded, rows_quarantined) == ("loaded", 9, 2, 7)


def test_unreadable_files_are_moved_aside_with_a_reason(raw: RawLayer) -> None:
    write_export(raw.drop / "ledger_postings_2023.csv", [LEDGER_HEADER.replace(";", ","), "1,B1,05-01-2023,a,b,c,1"])
    (raw.drop / "ledger_postings_2022.csv").write_bytes(b"")
    (raw.drop / "ledger_postings_2021.csv").write_bytes(bytes(range(256)) * 40)
    (raw.drop / "ledger_postings_2020.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    write_export(raw.drop / "kontoudtog.csv", ledger_lines((1, "05-01-2024", "1,00")))
    write_export(raw.drop / "ledger_postings_2024.csv", ledger_lines((1, "05-01-2024", "1,00")))
    raw.load()

    assert raw.ledger_total() == (1, Decimal("1.00"))
    rejected = raw.drop / "rejected"
    reasons = {
        name: (rejected / f"{name}.reason.txt").read_text(encoding="utf-8")
        for name in ("ledger_postings_2023.csv", "ledger_postings_2022.csv", "ledger_postings_2021.csv",
                     "ledger_postings_2020.xlsx", "kontoudtog.csv")
    }
    assert "no ledger header: missing Posteringsnr" in reasons["ledger_postings_2023.csv"]
    assert "empty file" in reasons["ledger_postings_2022.csv"]
    assert "binary content" in reasons["ledger_postings_2021.csv"]
    assert "cannot open as an XLSX workbook" in reasons["ledger_postings_2020.xlsx"]
    assert "file name does not follow" in reasons["kontoudtog.csv"]
    assert all((rejected / name).exists() for name in reasons)
    assert {name: entry[0] for name, entry in raw.file_log().items()} == {
        **dict.fromkeys(reasons, "rejected"), "ledger_postings_2024.csv": "loaded",
    }


def test_a_header_only_file_loads_no_rows(raw: RawLayer) -> None:
    write_export(raw.drop / "ledger_postings_2024.csv", [LEDGER_HEADER])
    raw.load()
    assert raw.file_log()["ledger_postings_2024.csv"][:4] == ("loaded", 0, 0, 0)


def test_xlsx_ledger_and_budgets_load(raw: RawLayer) -> None:
    ledger = pa.table({
        "posting_id": pa.array([1, 2], pa.int64()), "voucher_number": ["B1", "B2"],
        "posting_date": pa.array([date(2024, 1, 5), date(2024, 6, 30)], pa.date32()),
        "account_string": [ACCOUNT, ACCOUNT], "activity_code": ["015190", "015190"],
        "posting_text": ["Plejefamilie Ærø", "Kursus €"],
        "amount": pa.array([Decimal("1234.56"), Decimal("-0.10")], pa.decimal128(18, 2)),
    })
    write_ledger_exports(ledger, raw.drop, file_format="xlsx")
    budgets = pa.table({
        "account_string": [ACCOUNT] * 3, "activity_code": ["015190"] * 3,
        "budget_year": pa.array([2024, 2024, 2025], pa.int32()), "budget_month": pa.array([1, 2, 1], pa.int32()),
        "amount": pa.array([Decimal("1000.00"), Decimal("1.00"), Decimal("5.50")], pa.decimal128(18, 2)),
    })
    write_budget_exports(budgets, raw.drop)
    write_budget_exports(budgets.slice(2), raw.drop, file_format="xlsx")
    raw.load()

    assert raw.rows("select posting_id, posting_date, posting_text, amount, source_line "
                    "from finance.ledger_postings order by 1") == [
        (1, date(2024, 1, 5), "Plejefamilie Ærø", Decimal("1234.56"), 2),
        (2, date(2024, 6, 30), "Kursus €", Decimal("-0.10"), 3),
    ]
    assert raw.rows("select budget_year, budget_month, amount, source_file from finance.budgets order by 1, 2, 4") == [
        (2024, 1, Decimal("1000.00"), "budget_2024.csv"), (2024, 2, Decimal("1.00"), "budget_2024.csv"),
        (2025, 1, Decimal("5.50"), "budget_2025.xlsx"),
    ]
    assert raw.file_log()["budget_2025.csv"][0] == "superseded"


def test_a_budget_reexport_replaces_its_year(raw: RawLayer) -> None:
    write_export(raw.drop / "budget_2024.csv", [BUDGET_HEADER, f"{ACCOUNT};015190;2024;1;1.000,00",
                                                f"{ACCOUNT};015190;2024;2;1.000,00"])
    raw.load()
    write_export(raw.drop / "budget_2024.csv", [
        BUDGET_HEADER, f"{ACCOUNT};015190;2024;1;900,00", f"{ACCOUNT};015190;2023;2;900,00",
        f"{ACCOUNT};015190;2024;13;900,00",
    ])
    raw.load()

    assert raw.rows("select budget_month, amount from finance.budgets") == [(1, Decimal("900.00"))]
    assert raw.rows("select source_line, reason from finance.quarantine order by 1") == [
        (3, "budget year '2023' is not the file's year 2024"), (4, "impossible month '13'"),
    ]


def test_loading_only_some_finance_tables_is_refused(raw: RawLayer) -> None:
    write_export(raw.drop / "ledger_postings_2024.csv", ledger_lines((1, "05-01-2024", "1,00")))
    with pytest.raises(Exception, match="finance tables load together"):
        raw.pipeline().run(finance_source(raw.drop).with_resources("file_log"))
    assert (raw.drop / "ledger_postings_2024.csv").exists()


def test_municipality_code_is_loaded_when_the_export_carries_it(raw: RawLayer) -> None:
    ledger = pa.table({
        "posting_id": pa.array([1], pa.int64()), "voucher_number": ["B1"],
        "posting_date": pa.array([date(2024, 1, 5)], pa.date32()), "account_string": [ACCOUNT],
        "activity_code": ["015190"], "posting_text": ["Familiepleje"],
        "amount": pa.array([Decimal("10.00")], pa.decimal128(18, 2)), "municipality_code": ["0101"],
    })
    write_ledger_exports(ledger, raw.drop)
    write_export(raw.drop / "budget_2024.csv", [BUDGET_HEADER, f"{ACCOUNT};015190;2024;1;1,00"])
    raw.load()

    assert raw.rows("select municipality_code from finance.ledger_postings") == [("0101",)]
    assert raw.rows("select municipality_code from finance.budgets") == [(None,)]
