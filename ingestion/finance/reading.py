"""Read an export file into string columns with their line numbers, streaming large CSV files.

CSV files are decoded (Windows-1252 or UTF-8, with or without BOM) and re-encoded as UTF-8 in
chunks, each line prefixed with its physical line number, and parsed by pyarrow's streaming CSV
reader. Rows with the wrong number of columns come back as rejections with their line number.
Everything that makes a whole file unreadable is raised as `UnreadableFile` before the first
chunk, so that a file is either read completely or not at all.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO, NamedTuple

import numpy as np
import openpyxl
import pyarrow as pa
from pyarrow import csv

from ingestion.finance.formats import ExportFile, ExportFormat

LINE_COLUMN = "source_line"
LINE_DIGITS = 10
DECODE_CHUNK_BYTES = 8 << 20
CSV_BLOCK_BYTES = 16 << 20
HEADER_PROBE_BYTES = 64 << 10
XLSX_CHUNK_ROWS = 50_000


class UnreadableFile(Exception):
    """The file as a whole cannot be read as the export its name declares."""


class Rejection(NamedTuple):
    line: int
    reason: str
    record: str


class RawChunk(NamedTuple):
    records: pa.Table  # one string column per raw column, plus `source_line`
    rejections: list[Rejection]


@dataclass(frozen=True)
class ExportContent:
    encoding: str  # "cp1252", "utf-8" or "xlsx"
    chunks: Iterator[RawChunk]


def open_export(export: ExportFile) -> ExportContent:
    """Check the file's header and return its chunks; raises UnreadableFile."""
    if export.size_bytes == 0:
        raise UnreadableFile("empty file (0 bytes)")
    if export.path.suffix.lower() == ".xlsx":
        return _open_xlsx(export)
    return _open_csv(export)


def _missing_columns_reason(export_format: ExportFormat, found: list[str]) -> str:
    missing = [name for name in export_format.columns if name not in found]
    expected = ";".join(export_format.columns)
    return f"no {export_format.kind} header: missing {', '.join(missing)}; expected '{expected}', found {found[:10]!r}"


# --- CSV -------------------------------------------------------------------------------------------

def _csv_header(export: ExportFile) -> tuple[str, list[str]]:
    with export.path.open("rb") as handle:
        probe = handle.read(HEADER_PROBE_BYTES)
    if b"\0" in probe:
        raise UnreadableFile("binary content, not a ';'-separated text export")
    first_line = probe.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text, encoding = first_line.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = first_line.decode("cp1252", errors="replace"), "cp1252"
    fields = [field.strip().strip('"').strip() for field in text.split(";")]
    if any(name not in fields for name in export.format.columns):
        raise UnreadableFile(_missing_columns_reason(export.format, fields))
    return encoding, fields


def _open_csv(export: ExportFile) -> ExportContent:
    encoding, header = _csv_header(export)
    return ExportContent(encoding, _csv_chunks(export, encoding, header))


def _csv_chunks(export: ExportFile, encoding: str, header: list[str]) -> Iterator[RawChunk]:
    columns = export.format.present_columns(header)
    wanted = list(columns)
    rejections: list[Rejection] = []

    def on_invalid_row(row: csv.InvalidRow) -> str:
        line, _, record = row.text.partition(";")
        if record.strip():  # a blank line is no row
            reason = f"wrong column count: expected {len(header)}, found {row.actual_columns - 1}"
            rejections.append(Rejection(int(line), reason, record.rstrip("\r")))
        return "skip"

    raw_names = [LINE_COLUMN, *columns.values()]
    with export.path.open("rb") as handle:
        reader = csv.open_csv(
            io.BufferedReader(NumberedLines(handle, encoding), buffer_size=DECODE_CHUNK_BYTES),
            read_options=csv.ReadOptions(
                column_names=[LINE_COLUMN, *header], skip_rows=1, block_size=CSV_BLOCK_BYTES,
            ),
            parse_options=csv.ParseOptions(
                delimiter=";", ignore_empty_lines=False, invalid_row_handler=on_invalid_row,
            ),
            convert_options=csv.ConvertOptions(
                include_columns=[LINE_COLUMN, *wanted],
                column_types={LINE_COLUMN: pa.int64(), **{name: pa.string() for name in wanted}},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in reader:
            yield RawChunk(pa.Table.from_batches([batch]).rename_columns(raw_names), rejections.copy())
            rejections.clear()
        if rejections:
            yield RawChunk(reader.schema.empty_table().rename_columns(raw_names), rejections)


class NumberedLines(io.RawIOBase):
    """UTF-8 bytes of a text file with every line prefixed by its 10-digit line number and ';'.

    Decoding uses errors="replace", so a stray byte becomes U+FFFD in its field (and fails that
    field's validation) instead of stopping the file halfway.
    """

    def __init__(self, binary: BinaryIO, encoding: str) -> None:
        super().__init__()
        self._binary = binary
        self._decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)("replace")
        self._next_line = 1
        self._at_line_start = True
        self._pending = memoryview(b"")
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._eof:
            data = self._binary.read(DECODE_CHUNK_BYTES)
            self._eof = not data
            text = self._decoder.decode(data, final=self._eof)
            self._pending = memoryview(self._numbered(text.encode("utf-8")))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _numbered(self, data: bytes) -> bytes:
        if not data:
            return data
        content = np.frombuffer(data, dtype=np.uint8)
        starts = np.flatnonzero(content == ord("\n")) + 1
        starts = starts[starts < len(content)]
        if self._at_line_start:
            starts = np.concatenate(([0], starts))
        self._at_line_start = data.endswith(b"\n")
        numbers = np.arange(self._next_line, self._next_line + len(starts), dtype=np.int64)
        self._next_line += len(starts)
        width = LINE_DIGITS + 1
        powers = 10 ** np.arange(LINE_DIGITS - 1, -1, -1, dtype=np.int64)
        prefixes = np.empty((len(starts), width), dtype=np.uint8)
        prefixes[:, :LINE_DIGITS] = numbers[:, None] // powers % 10 + ord("0")
        prefixes[:, LINE_DIGITS] = ord(";")
        is_prefix = np.zeros(len(content) + width * len(starts), dtype=bool)
        is_prefix[((starts + width * np.arange(len(starts)))[:, None] + np.arange(width)).ravel()] = True
        numbered = np.empty(len(is_prefix), dtype=np.uint8)
        numbered[is_prefix] = prefixes.ravel()
        numbered[~is_prefix] = content
        return numbered.tobytes()


# --- XLSX ------------------------------------------------------------------------------------------

def _cell_text(value: object) -> str:
    """A cell as the text a CSV export would carry (dates ISO, amounts with decimal comma)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value).replace(".", ",")
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        if abs(value * 100 - round(value * 100)) < 1e-6:
            return f"{value:.2f}".replace(".", ",")
        return repr(value)
    return str(value).strip()


def _open_xlsx(export: ExportFile) -> ExportContent:
    try:
        workbook = openpyxl.load_workbook(export.path, read_only=True, data_only=True)
        try:
            rows = [
                (line, [_cell_text(value) for value in values])
                for line, values in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1)
                if any(value is not None for value in values)
            ]
        finally:
            workbook.close()
    except Exception as error:  # any failure to parse an untrusted workbook makes it unreadable
        raise UnreadableFile(f"cannot open as an XLSX workbook: {type(error).__name__}: {error}") from error
    header = rows[0][1] if rows else []
    if any(name not in header for name in export.format.columns):
        raise UnreadableFile(_missing_columns_reason(export.format, header))
    return ExportContent("xlsx", _xlsx_chunks(export.format, header, rows[1:]))


def _xlsx_chunks(export_format: ExportFormat, header: list[str], rows: list[tuple[int, list[str]]]) -> Iterator[RawChunk]:
    positions = {raw: header.index(name) for name, raw in export_format.present_columns(header).items()}
    for start in range(0, max(len(rows), 1), XLSX_CHUNK_ROWS):
        chunk = rows[start:start + XLSX_CHUNK_ROWS]
        columns = {LINE_COLUMN: pa.array([line for line, _ in chunk], pa.int64())}
        for raw, position in positions.items():
            columns[raw] = pa.array(
                [values[position] if position < len(values) else "" for _, values in chunk], pa.string(),
            )
        yield RawChunk(pa.table(columns), [])
