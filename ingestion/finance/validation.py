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
from ingestion.finance.safety import MAX_FIELD_CHARS, safe_column

AMOUNT_TYPE = pa.decimal128(18, 2)
# Decimal comma, optional '.' thousands separators, at most two decimals and 16 integer digits.
AMOUNT_PATTERN = r"^-?(\d{1,3}(\.\d{3}){1,4}|\d{1,16})(,\d{1,2})?$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
DIGITS = b"0123456789"
# Bytes that never belong in a finance value: C0 controls except tab and newline (NUL included), DEL.
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
CONTROL_PATTERN = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
# Columns that land as text: made safe (CPR masked, formulas neutralised) before landing.
TEXT_COLUMNS = ("voucher_number", "account_string", "activity_code", "posting_text", "municipality_code")
SHOWN_VALUE_CHARS = 60


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


def _uses_any(values: pa.ChunkedArray, forbidden: bytes) -> bool:
    """Whether the UTF-8 bytes of any value come from `forbidden` (one pass over the data buffers)."""
    return not _uses_only(values, bytes(sorted(set(range(256)) - set(forbidden))))


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


def _field_checks(text: dict[str, pa.ChunkedArray]) -> list[Check]:
    """Every field: no control characters (a NUL byte, …), not longer than a finance value can be."""
    checks = []
    for name, values in text.items():
        if _uses_any(values, CONTROL_BYTES):
            checks.append(Check(pc.match_substring_regex(values, CONTROL_PATTERN), name,
                                f"control character in {name} {{value!r}}"))
        checks.append(Check(pc.greater(pc.utf8_length(values), MAX_FIELD_CHARS), name,
                            f"{name} too long: {{length:,}} characters, at most {MAX_FIELD_CHARS:,}"))
    return checks


def _repeated_header(text: dict[str, pa.ChunkedArray], export: ExportFile) -> np.ndarray:
    """Rows that repeat the header (two exports pasted together): quarantined as such."""
    headers = {raw: name for name, raw in {**export.format.columns, **export.format.optional_columns}.items()}
    repeated = np.ones(len(next(iter(text.values()))), dtype=bool)
    for raw, values in text.items():
        repeated &= pc.equal(values, headers[raw]).to_numpy(zero_copy_only=False)
    return repeated


def _shown(value: object) -> object:
    if isinstance(value, str) and len(value) > SHOWN_VALUE_CHARS:
        return f"{value[:SHOWN_VALUE_CHARS]}…"
    return value


def _reasons(checks: list[Check], text: dict[str, pa.ChunkedArray], rows: pa.Array) -> list[str]:
    failing = [(check, check.failed.take(rows).to_numpy(zero_copy_only=False)) for check in checks]
    values = {name: column.take(rows).to_pylist() for name, column in text.items()}
    return [
        "; ".join(
            check.message.format(value=_shown(values[check.column][i]), length=len(values[check.column][i]))
            for check, failed in failing if failed[i]
        )
        for i in range(len(rows))
    ]


class SeenKeys:
    """The keys of the rows loaded so far from one file, with their lines, across its chunks.

    A ledger posting is identified by its posting number; a budget line by municipality, account,
    year and month (the keys staging deduplicates on). A repeated key is quarantined instead of
    being left for staging to drop silently; the first row with the key loads.
    """

    def __init__(self) -> None:
        self._keys: np.ndarray | None = None  # sorted; int64 posting ids or object (str) budget keys
        self._lines = np.empty(0, dtype=np.int64)

    def first_lines(self, keys: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """For each row the line of an earlier row with the same key, or 0; registers the new keys."""
        earlier = np.zeros(len(keys), dtype=np.int64)
        if not len(keys):
            return earlier
        if self._keys is None:
            self._keys = np.empty(0, dtype=keys.dtype)
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        starts_run = np.r_[True, ordered[1:] != ordered[:-1]]
        run_start = np.maximum.accumulate(np.where(starts_run, np.arange(len(keys)), 0))
        earlier[order] = np.where(starts_run, 0, lines[order][run_start])
        if len(self._keys):
            position = np.searchsorted(self._keys, keys).clip(max=len(self._keys) - 1)
            known = self._keys[position] == keys
            earlier = np.where(known, self._lines[position], earlier)
        new = earlier == 0
        all_keys = np.concatenate([self._keys, keys[new]])
        all_lines = np.concatenate([self._lines, lines[new]])
        merged = np.argsort(all_keys, kind="stable")
        self._keys, self._lines = all_keys[merged], all_lines[merged]
        return earlier


def _keys(columns: dict[str, pa.ChunkedArray], export: ExportFile) -> np.ndarray:
    if export.format is BUDGET:
        parts = [pc.fill_null(pc.cast(columns[name], pa.string()), "") for name in
                 ("municipality_code", "account_string", "budget_year", "budget_month")]
        return np.asarray(pc.binary_join_element_wise(*parts, "|").to_pylist(), dtype=object)
    return pc.fill_null(columns["posting_id"], -1).to_numpy(zero_copy_only=False)


def _key_message(export: ExportFile, key: object, line: int) -> str:
    if export.format is BUDGET:
        return f"budget line repeated: same municipality, account, year and month as line {line}"
    return f"posting id {key} repeated: already loaded from line {line}"


def validate(records: pa.Table, export: ExportFile, seen: SeenKeys | None = None) -> Validated:
    """Typed rows that pass every check, and a rejection with reasons for every row that does not.

    Rows whose fields are all empty are blank lines, not rows: they are neither loaded nor rejected.
    A row that repeats the header is rejected as such. `seen` carries the keys of earlier chunks of
    the same file, so that a repeated posting id (or budget line) is rejected.
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
    checks = [*_field_checks(text), *checks]
    failed = np.zeros(len(lines), dtype=bool)
    for check in checks:
        failed |= check.failed.to_numpy(zero_copy_only=False)
    header_again = _repeated_header(text, export) if len(lines) else np.zeros(0, dtype=bool)
    failed |= header_again
    line_numbers = lines.to_numpy()
    earlier = np.zeros(len(lines), dtype=np.int64)
    if seen is not None:
        passing = np.flatnonzero(~failed)
        keys = _keys({name: values.take(pa.array(passing)) for name, values in columns.items()}, export)
        earlier[passing] = seen.first_lines(keys, line_numbers[passing])
        failed |= earlier > 0
    good = pa.array(~failed)
    loaded = len(lines) - int(np.count_nonzero(failed))
    safe = {name: safe_column(values) if name in TEXT_COLUMNS else values for name, values in columns.items()}
    rows = pa.table({
        **{name: values.filter(good) for name, values in safe.items()},
        "source_file": pa.repeat(pa.scalar(export.path.name), loaded),
        "source_sha256": pa.repeat(pa.scalar(export.sha256), loaded),
        LINE_COLUMN: lines.filter(good),
    })
    key = rows.schema.get_field_index(export.format.merge_key)  # dlt keeps merge keys NOT NULL
    rows = rows.cast(rows.schema.set(key, rows.schema.field(key).with_nullable(False)))
    bad_rows = np.flatnonzero(failed)
    bad = pa.array(bad_rows, pa.int64())
    records_text = pc.binary_join_element_wise(*(text[name].take(bad) for name in raw_names), ";").to_pylist()
    reasons = _reasons(checks, text, bad)
    bad_keys = _keys({name: values.take(bad) for name, values in columns.items()}, export) if len(bad_rows) else []
    for i, row in enumerate(bad_rows):
        if header_again[row]:
            reasons[i] = "repeated header line"
        elif earlier[row]:
            reasons[i] = _key_message(export, bad_keys[i], int(earlier[row]))
    rejections = [
        Rejection(line, reason, record)
        for line, reason, record in zip(lines.take(bad).to_pylist(), reasons, records_text)
    ]
    return Validated(rows, rejections, len(lines))
