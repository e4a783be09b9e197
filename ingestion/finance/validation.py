"""Vectorised parsing and validation of export rows; only rejected rows get per-row reasons.

Every column first tries a fast path: one strict Arrow cast of the whole chunk, guarded by a check
of the bytes it may contain. Only when that fails (a chunk holds a bad value) are per-row masks
computed to find which rows fail and why.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.finance.formats import BUDGET, ExportFile
from ingestion.finance.reading import LINE_COLUMN, Rejection

AMOUNT_TYPE = pa.decimal128(18, 2)
# Decimal comma, optional '.' thousands separators, at most two decimals and 16 integer digits.
AMOUNT_PATTERN = r"^-?(\d{1,3}(\.\d{3}){1,4}|\d{1,16})(,\d{1,2})?$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
DIGITS = b"0123456789"


class Check(NamedTuple):
    failed: pa.ChunkedArray  # boolean, no nulls
    column: str
    message: str  # formatted with the offending `value`


class Validated(NamedTuple):
    rows: pa.Table
    rejections: list[Rejection]
    rows_read: int


def _null(type_: pa.DataType) -> pa.Scalar:
    return pa.scalar(None, type_)


def _blank(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.equal(values, "")


def _and_not(mask: pa.ChunkedArray, excluded: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.and_(mask, pc.invert(excluded))


def _optional(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.if_else(_blank(values), _null(pa.string()), values)


def _required(values: pa.ChunkedArray, column: str, what: str) -> Check:
    return Check(_blank(values), column, f"missing {what}")


def _uses_only(values: pa.ChunkedArray, allowed: bytes) -> bool:
    """Whether the UTF-8 bytes of all values come from `allowed` (one pass over the data buffers)."""
    permitted = np.zeros(256, dtype=bool)
    permitted[list(allowed)] = True
    for chunk in values.chunks:
        if len(chunk) == 0:
            continue
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
        data = chunk.buffers()[2]
        if data is not None and not permitted[np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]]].all():
            return False
    return True


def _strict_cast(values: pa.ChunkedArray, type_: pa.DataType) -> pa.ChunkedArray | None:
    try:
        return pc.cast(values, type_)
    except pa.ArrowInvalid:
        return None


def _integers(values: pa.ChunkedArray, column: str, pattern: str, what: str, type_: pa.DataType,
              ) -> tuple[pa.ChunkedArray, list[Check]]:
    fast = _strict_cast(values, type_) if _uses_only(values, DIGITS) else None
    if fast is not None:
        return fast, []
    shaped = pc.match_substring_regex(values, pattern)
    return pc.cast(pc.if_else(shaped, values, _null(pa.string())), type_), [
        _required(values, column, what),
        Check(_and_not(pc.invert(shaped), _blank(values)), column, f"unparseable {what} {{value!r}}"),
    ]


def _amounts(values: pa.ChunkedArray, column: str) -> tuple[pa.ChunkedArray, list[Check]]:
    if _uses_only(values, DIGITS + b",-"):
        fast = _strict_cast(pc.replace_substring(values, ",", "."), AMOUNT_TYPE)
        if fast is not None:
            return fast, []
    shaped = pc.match_substring_regex(values, AMOUNT_PATTERN)
    decimal_text = pc.replace_substring(pc.replace_substring(values, ".", ""), ",", ".")
    return pc.cast(pc.if_else(shaped, decimal_text, _null(pa.string())), AMOUNT_TYPE), [
        _required(values, column, "amount"),
        Check(_and_not(pc.invert(shaped), _blank(values)), column, "unparseable amount {value!r}"),
    ]


def _iso_order(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Danish dd-mm-yyyy rewritten as yyyy-mm-dd; anything else unchanged."""
    def part(start: int, stop: int) -> pa.ChunkedArray:
        return pc.utf8_slice_codeunits(values, start, stop)
    danish = pc.equal(part(2, 3), "-")
    return pc.if_else(danish, pc.binary_join_element_wise(part(6, 10), part(3, 5), part(0, 2), "-"), values)


def _dates(values: pa.ChunkedArray, column: str) -> tuple[pa.ChunkedArray, pa.ChunkedArray, list[Check]]:
    """Dates and their ISO text; a date that does not exist (31-02-2024) is rejected as impossible."""
    iso_text = _iso_order(values)
    fast = _strict_cast(iso_text, pa.date32())
    if fast is not None:
        return fast, iso_text, []
    shaped = pc.match_substring_regex(iso_text, ISO_DATE)
    parsed = pc.strptime(pc.if_else(shaped, iso_text, _null(pa.string())), "%Y-%m-%d", "s", error_is_null=True)
    day_in_text = pc.cast(pc.utf8_slice_codeunits(pc.if_else(shaped, iso_text, "00-00-00-00"), 8, 10), pa.int64())
    exists = pc.fill_null(pc.equal(pc.day(parsed), day_in_text), False)  # strptime rolls 31-02 over to 02-03
    dates = pc.cast(pc.if_else(exists, parsed, _null(parsed.type)), pa.date32())
    return dates, iso_text, [
        _required(values, column, "date"),
        Check(_and_not(pc.invert(shaped), _blank(values)), column, "unparseable date {value!r}"),
        Check(_and_not(shaped, exists), column, "impossible date {value!r}"),
    ]


def _municipality(text: dict[str, pa.ChunkedArray]) -> pa.ChunkedArray | pa.Array:
    if "municipality_code" in text:
        return _optional(text["municipality_code"])
    return pa.nulls(len(next(iter(text.values()))), pa.string())


def _ledger(text: dict[str, pa.ChunkedArray], export: ExportFile) -> tuple[dict[str, pa.ChunkedArray], list[Check]]:
    posting_ids, id_checks = _integers(text["posting_id"], "posting_id", r"^\d{1,18}$", "posting id", pa.int64())
    dates, iso_text, date_checks = _dates(text["posting_date"], "posting_date")
    amounts, amount_checks = _amounts(text["amount"], "amount")
    months = pc.utf8_slice_codeunits(iso_text, 0, 7)
    outside = _and_not(pc.invert(pc.starts_with(months, export.period)), pc.is_null(dates))
    columns = {
        "posting_id": posting_ids,
        "voucher_number": _optional(text["voucher_number"]),
        "posting_date": dates,
        "account_string": text["account_string"],
        "activity_code": _optional(text["activity_code"]),
        "posting_text": _optional(text["posting_text"]),
        "amount": amounts,
        "municipality_code": _municipality(text),
        "period": months,
    }
    checks = [
        *id_checks,
        *date_checks,
        Check(outside, "posting_date", f"posting date {{value!r}} outside the file's period {export.period}"),
        _required(text["account_string"], "account_string", "account"),
        *amount_checks,
    ]
    return columns, checks


def _budget(text: dict[str, pa.ChunkedArray], export: ExportFile) -> tuple[dict[str, pa.ChunkedArray], list[Check]]:
    years, year_checks = _integers(text["budget_year"], "budget_year", r"^\d{4}$", "year", pa.int32())
    months, month_checks = _integers(text["budget_month"], "budget_month", r"^\d{1,2}$", "month", pa.int32())
    amounts, amount_checks = _amounts(text["amount"], "amount")
    month_exists = pc.and_(pc.greater_equal(months, 1), pc.less_equal(months, 12))
    columns = {
        "account_string": text["account_string"],
        "activity_code": _optional(text["activity_code"]),
        "budget_year": years,
        "budget_month": months,
        "amount": amounts,
        "municipality_code": _municipality(text),
    }
    checks = [
        _required(text["account_string"], "account_string", "account"),
        *year_checks,
        Check(pc.fill_null(pc.not_equal(years, export.year), False), "budget_year",
              f"budget year {{value!r}} is not the file's year {export.year}"),
        *month_checks,
        Check(pc.invert(pc.fill_null(month_exists, True)), "budget_month", "impossible month {value!r}"),
        *amount_checks,
    ]
    return columns, checks


def _reasons(checks: list[Check], text: dict[str, pa.ChunkedArray], rows: pa.Array) -> list[str]:
    failing = [(check, check.failed.take(rows).to_numpy(zero_copy_only=False)) for check in checks]
    values = {name: column.take(rows).to_pylist() for name, column in text.items()}
    return [
        "; ".join(check.message.format(value=values[check.column][i]) for check, failed in failing if failed[i])
        for i in range(len(rows))
    ]


def validate(records: pa.Table, export: ExportFile) -> Validated:
    """Typed rows that pass every check, and a rejection with reasons for every row that does not.

    Rows whose fields are all empty are blank lines, not rows: they are neither loaded nor rejected.
    """
    raw_names = [name for name in records.column_names if name != LINE_COLUMN]
    trimmed = {name: pc.ascii_trim_whitespace(records[name]) for name in raw_names}
    blank_row = np.ones(records.num_rows, dtype=bool)
    for values in trimmed.values():
        blank_row &= _blank(values).to_numpy(zero_copy_only=False)
    present = pa.array(~blank_row)
    lines = records[LINE_COLUMN].filter(present)
    text = {name: values.filter(present) for name, values in trimmed.items()}
    columns, checks = (_budget if export.format is BUDGET else _ledger)(text, export)
    failed = np.zeros(len(lines), dtype=bool)
    for check in checks:
        failed |= check.failed.to_numpy(zero_copy_only=False)
    good = pa.array(~failed)
    loaded = len(lines) - int(np.count_nonzero(failed))
    rows = pa.table({
        **{name: values.filter(good) for name, values in columns.items()},
        "source_file": pa.repeat(pa.scalar(export.path.name), loaded),
        "source_sha256": pa.repeat(pa.scalar(export.sha256), loaded),
        LINE_COLUMN: lines.filter(good),
    })
    key = rows.schema.get_field_index(export.format.merge_key)  # dlt keeps merge keys NOT NULL
    rows = rows.cast(rows.schema.set(key, rows.schema.field(key).with_nullable(False)))
    bad = pa.array(np.flatnonzero(failed))
    records_text = pc.binary_join_element_wise(*(text[name].take(bad) for name in raw_names), ";").to_pylist()
    rejections = [
        Rejection(line, reason, record)
        for line, reason, record in zip(lines.take(bad).to_pylist(), _reasons(checks, text, bad), records_text)
    ]
    return Validated(rows, rejections, len(lines))
