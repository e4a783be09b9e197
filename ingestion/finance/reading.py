"""Read an export file into string columns with their line numbers, streaming large CSV files.

CSV files are decoded (Windows-1252, UTF-8 with or without BOM, or UTF-16 with BOM) and re-encoded
as UTF-8 in chunks, each line prefixed with its physical line number, and parsed by pyarrow's
streaming CSV reader. Rows with the wrong number of columns come back as rejections with their line number.
Everything that makes a whole file unreadable is raised as `UnreadableFile` before the first
chunk, so that a file is either read completely or not at all.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO, NamedTuple

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

from ingestion.finance.formats import ExportFile, ExportFormat

LINE_COLUMN = "source_line"
LINE_DIGITS = 10
DECODE_CHUNK_BYTES = 8 << 20
CSV_BLOCK_BYTES = 16 << 20
HEADER_PROBE_BYTES = 64 << 10
XLSX_CHUNK_ROWS = 50_000
# An XLSX is a zip; one that expands beyond this is refused before it is parsed (a zip bomb).
# A full sheet of 1,048,576 rows of a ledger expands to roughly 200 MB.
XLSX_MAX_EXPANDED_BYTES = 1 << 30
# An XLSX may carry a title block above the header: the header is looked for in this many non-empty rows.
XLSX_HEADER_SEARCH_ROWS = 10
# More than this share of NUL bytes in the first 64 KB (or any in the header line): binary, not text.
BINARY_NUL_SHARE = 0.01
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# The line-number prefix NumberedLines puts after every newline, also inside a quoted value.
_LINE_PREFIX = re.compile(rf"\n\d{{{LINE_DIGITS}}};")


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
    if probe.startswith(UTF16_BOMS):
        encoding = "utf-16"
        text = codecs.getincrementaldecoder("utf-16")("replace").decode(probe)
        first_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    else:
        first_line_bytes = re.split(rb"\r\n|\r|\n", probe, maxsplit=1)[0]
        if b"\0" in first_line_bytes or probe.count(b"\0") > BINARY_NUL_SHARE * len(probe):
            hint = " (it looks like UTF-16 without a byte order mark)" if probe[1:40:2].count(b"\0") > 15 else ""
            raise UnreadableFile(f"binary content, not a ';'-separated text export{hint}")
        try:
            first_line, encoding = first_line_bytes.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            first_line, encoding = first_line_bytes.decode("cp1252", errors="replace"), "cp1252"
    fields = _header_fields(first_line, ";")
    if any(name not in fields for name in export.format.columns):
        raise UnreadableFile(_missing_columns_reason(export.format, fields) + _header_hint(export.format, first_line))
    _refuse_repeated_columns(export.format, fields)
    return encoding, fields


def _header_fields(line: str, separator: str) -> list[str]:
    return [field.strip().strip('"').strip() for field in line.split(separator)]


def _header_hint(export_format: ExportFormat, line: str) -> str:
    """Why a header line does not match, where a common cause can be recognised."""
    for separator, name in ((",", "','"), ("\t", "a tab"), ("|", "'|'")):
        if all(column in _header_fields(line, separator) for column in export_format.columns):
            return f"; the header is separated by {name}, not ';'"
    try:
        repaired = line.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return ""
    if all(column in _header_fields(repaired, ";") for column in export_format.columns):
        return "; the file is double-encoded (UTF-8 read as Windows-1252 and saved as UTF-8 again)"
    return ""


def _refuse_repeated_columns(export_format: ExportFormat, header: list[str]) -> None:
    repeated = sorted({name for name in export_format.present_columns(header) if header.count(name) > 1})
    if repeated:
        raise UnreadableFile(f"column {', '.join(repeated)} appears more than once in the header")


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
            record, joined = _LINE_PREFIX.subn("\n", record)
            reason = f"wrong column count: expected {len(header)}, found {row.actual_columns - 1}"
            if joined:  # a quote left open joins the following lines into this row
                reason += f" (a quoted field spans lines {line.lstrip('0')}-{int(line) + joined})"
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
                delimiter=";", ignore_empty_lines=False, newlines_in_values=True,
                invalid_row_handler=on_invalid_row,
            ),
            convert_options=csv.ConvertOptions(
                include_columns=[LINE_COLUMN, *wanted],
                column_types={LINE_COLUMN: pa.int64(), **{name: pa.string() for name in wanted}},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in reader:
            records = _without_line_prefixes(pa.Table.from_batches([batch]).rename_columns(raw_names))
            yield RawChunk(records, rejections.copy())
            rejections.clear()
        if rejections:
            yield RawChunk(reader.schema.empty_table().rename_columns(raw_names), rejections)


def _without_line_prefixes(records: pa.Table) -> pa.Table:
    """A quoted value that spans lines got line-number prefixes after its newlines: take them out."""
    for index, name in enumerate(records.column_names):
        values = records.column(index)
        if name != LINE_COLUMN and pc.any(pc.match_substring(values, "\n")).as_py():
            records = records.set_column(index, name, pc.replace_substring_regex(values, _LINE_PREFIX.pattern, "\n"))
    return records


class NumberedLines(io.RawIOBase):
    """UTF-8 bytes of a text file with every line prefixed by its 10-digit line number and ';'.

    Decoding uses errors="replace", so a stray byte becomes U+FFFD in its field (and fails that
    field's validation) instead of stopping the file halfway. Line ends are CRLF, LF or a lone CR
    (old Mac exports, or mixed in one file): all become LF, so that pyarrow and the line numbers
    agree on what a line is.
    """

    def __init__(self, binary: BinaryIO, encoding: str) -> None:
        super().__init__()
        self._binary = binary
        self._decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)("replace")
        self._held_cr = ""  # a CR at the end of a decoded piece may be the first half of a CRLF
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
            text = self._held_cr + self._decoder.decode(data, final=self._eof)
            self._held_cr = ""
            if text.endswith("\r") and not self._eof:
                text, self._held_cr = text[:-1], "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
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


def _expanded_size(export: ExportFile) -> int:
    try:
        with zipfile.ZipFile(export.path) as archive:
            return sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as error:
        raise UnreadableFile(f"cannot open as an XLSX workbook: {type(error).__name__}: {error}") from error


def _header_position(export_format: ExportFormat, rows: list[tuple[int, list[str]]]) -> int | None:
    """Index of the header among a sheet's first non-empty rows (a title block may sit above it)."""
    for position, (_, values) in enumerate(rows[:XLSX_HEADER_SEARCH_ROWS]):
        if all(name in values for name in export_format.columns):
            return position
    return None


def _open_xlsx(export: ExportFile) -> ExportContent:
    """The one sheet that carries the export's header; other sheets (notes, a cover) are ignored."""
    expanded = _expanded_size(export)
    if expanded > XLSX_MAX_EXPANDED_BYTES:
        raise UnreadableFile(
            f"XLSX workbook expands to {expanded:,} bytes, more than the limit of {XLSX_MAX_EXPANDED_BYTES:,}"
        )
    try:
        workbook = openpyxl.load_workbook(export.path, read_only=True, data_only=True)
        try:
            sheets = {
                sheet.title: [
                    (line, [_cell_text(value) for value in values])
                    for line, values in enumerate(sheet.iter_rows(values_only=True), start=1)
                    if any(value is not None for value in values)
                ]
                for sheet in workbook.worksheets
            }
        finally:
            workbook.close()
    except Exception as error:  # any failure to parse an untrusted workbook makes it unreadable
        raise UnreadableFile(f"cannot open as an XLSX workbook: {type(error).__name__}: {error}") from error
    found = {title: position for title, rows in sheets.items()
             if (position := _header_position(export.format, rows)) is not None}
    if not found:
        first = next(iter(sheets.values()), [])
        raise UnreadableFile(_missing_columns_reason(export.format, first[0][1] if first else []))
    if len(found) > 1:
        raise UnreadableFile(f"several sheets carry a {export.format.kind} header: {', '.join(found)}; deliver one")
    (title, position), = found.items()
    rows = sheets[title]
    header = rows[position][1]
    _refuse_repeated_columns(export.format, header)
    return ExportContent("xlsx", _xlsx_chunks(export.format, header, rows[position + 1:]))


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
