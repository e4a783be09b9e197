"""Write ledger and budget tables as the finance system exports them (see docs/finance_files.md).

CSV is written column-wise by pyarrow as UTF-8 and transcoded in chunks, so that ten million
postings take seconds; XLSX goes through openpyxl and is meant for small files.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

from ingestion.finance.formats import BUDGET, LEDGER, ExportFormat

DATE_STYLES = ("danish", "iso")
ENCODINGS = ("cp1252", "utf-8-sig")
TRANSCODE_CHUNK_BYTES = 16 << 20


def _danish_amounts(amounts: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.replace_substring(pc.cast(amounts, pa.string()), ".", ",")


def _date_text(dates: pa.ChunkedArray, date_style: str) -> pa.ChunkedArray:
    """dd-mm-yyyy or yyyy-mm-dd, by slicing the ISO text (much faster than strftime)."""
    if date_style not in DATE_STYLES:
        raise ValueError(f"date_style must be one of {', '.join(DATE_STYLES)}, not {date_style!r}")
    iso = pc.cast(dates, pa.string())
    if date_style == "iso":
        return iso
    return pc.binary_join_element_wise(*(pc.utf8_slice_codeunits(iso, a, b) for a, b in ((8, 10), (5, 7), (0, 4))), "-")


def export_columns(table: pa.Table, export_format: ExportFormat, date_style: str) -> pa.Table:
    """Columns with the export's Danish headers and order; dates and amounts as Danish text."""
    text = {
        name: _danish_amounts(column) if pa.types.is_decimal(column.type)
        else _date_text(column, date_style) if pa.types.is_date(column.type)
        else column
        for name, column in zip(table.column_names, table.columns)
    }
    return pa.table({danish: text[raw] for danish, raw in _columns_of(table, export_format).items()})


def _columns_of(table: pa.Table, export_format: ExportFormat) -> dict[str, str]:
    """Danish header -> column: the required ones, and `Kommunekode` if the table has municipality_code."""
    return export_format.present_columns([
        name for name, raw in export_format.optional_columns.items() if raw in table.column_names
    ])


def write_csv(table: pa.Table, path: Path, encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, not {encoding!r}")
    utf8_path = path.with_name(f"{path.name}.utf8.tmp")
    csv.write_csv(table, utf8_path, csv.WriteOptions(delimiter=";", eol="\r\n", quoting_header="none"))
    decoder = codecs.getincrementaldecoder("utf-8")()
    encoder = codecs.getincrementalencoder(encoding)()
    with utf8_path.open("rb") as source, path.open("wb") as target:
        while chunk := source.read(TRANSCODE_CHUNK_BYTES):
            target.write(encoder.encode(decoder.decode(chunk)))
        target.write(encoder.encode(decoder.decode(b"", final=True), final=True))
    utf8_path.unlink()


def _write_xlsx(table: pa.Table, export_format: ExportFormat, path: Path) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Eksport")
    header = _columns_of(table, export_format)
    sheet.append(list(header))
    columns = [table[raw].to_pylist() for raw in header.values()]
    for row in zip(*columns):
        sheet.append(list(row))
    workbook.save(path)


def _write_exports(
    table: pa.Table, export_format: ExportFormat, years: pa.ChunkedArray, folder: Path, *,
    encoding: str, date_style: str, file_format: str,
) -> list[Path]:
    if file_format not in ("csv", "xlsx"):
        raise ValueError(f"file_format must be 'csv' or 'xlsx', not {file_format!r}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for year in sorted(pc.unique(years).to_pylist()):
        rows = table.filter(pc.equal(years, year))
        path = folder / f"{export_format.file_stem}_{year}.{file_format}"
        if file_format == "xlsx":
            _write_xlsx(rows, export_format, path)
        else:
            write_csv(export_columns(rows, export_format, date_style), path, encoding)
        written.append(path)
    return written


def write_ledger_exports(
    ledger: pa.Table, folder: Path, *, encoding: str = "cp1252", date_style: str = "danish", file_format: str = "csv",
) -> list[Path]:
    """One ledger export per posting year, `ledger_postings_<YYYY>.csv|xlsx`, ordered by posting id."""
    ledger = ledger.sort_by("posting_id")
    return _write_exports(
        ledger, LEDGER, pc.year(ledger["posting_date"]), folder,
        encoding=encoding, date_style=date_style, file_format=file_format,
    )


def write_budget_exports(
    budgets: pa.Table, folder: Path, *, encoding: str = "cp1252", file_format: str = "csv",
) -> list[Path]:
    """One budget export per budget year, `budget_<YYYY>.csv|xlsx`."""
    budgets = budgets.sort_by([("budget_year", "ascending"), ("account_string", "ascending"),
                               ("activity_code", "ascending"), ("budget_month", "ascending")])
    return _write_exports(
        budgets, BUDGET, budgets["budget_year"], folder,
        encoding=encoding, date_style="iso", file_format=file_format,
    )
