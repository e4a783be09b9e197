"""What is done to every text value before it lands: CPR-shaped numbers masked, formulas neutralised.

Finance exports are typed by people: a posting text may carry a child's CPR number or a Swedish
personnummer, and a cell may start like a spreadsheet formula (`=cmd|' /C calc'!A0`, `+`, `-`, `@`)
that a spreadsheet would execute when a CSV download of the warehouse is opened. Both are fixed in
every text column that lands (loaded rows, quarantine records and reasons, the file log), so that
neither ever reaches the raw layer:

- a CPR/personnummer-shaped number (`ddmmyy-nnnn`, `yyyymmdd-nnnn`, with or without dash or blank,
  whatever the date digits say, so `311325-1234` too) becomes `[personnummer]`, the mask the case-system
  loader uses;
- a value starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, which
  spreadsheets show as text (OWASP "CSV injection"). Amounts are numbers and never text, so a
  negative amount is not touched.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

NATIONAL_ID_PATTERN = r"\b(?:\d{6}|\d{8})[- ]?\d{4}\b"
NATIONAL_ID_MASK = "[personnummer]"
FORMULA_START = r"^[=+\-@\t\r]"
FORMULA_GUARD = "'"
# A field longer than this is no finance value: the row is quarantined, and its record shortened.
MAX_FIELD_CHARS = 2_000
MAX_RECORD_CHARS = 10_000

_NATIONAL_ID = re.compile(NATIONAL_ID_PATTERN)
_FORMULA = re.compile(FORMULA_START)


def safe_column(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A text column with CPR-shaped numbers masked and formula-like values neutralised."""
    masked = pc.replace_substring_regex(values, NATIONAL_ID_PATTERN, NATIONAL_ID_MASK)
    formula = pc.fill_null(pc.match_substring_regex(masked, FORMULA_START), False)
    if not pc.any(formula).as_py():
        return masked
    return pc.if_else(formula, pc.binary_join_element_wise(FORMULA_GUARD, masked, ""), masked)


def safe_text(value: str | None) -> str | None:
    """One text value made safe the same way as `safe_column`."""
    if value is None:
        return None
    masked = _NATIONAL_ID.sub(NATIONAL_ID_MASK, value)
    return FORMULA_GUARD + masked if _FORMULA.match(masked) else masked


def safe_record(record: str) -> str:
    """A quarantined row's fields joined by ';': each field made safe, the whole kept readable in size."""
    fields = [safe_text(field.strip()) or "" for field in record.split(";")]
    shortened = [
        f"{field[:MAX_FIELD_CHARS]}… ({len(field):,} characters)" if len(field) > MAX_FIELD_CHARS else field
        for field in fields
    ]
    joined = ";".join(shortened)
    return joined if len(joined) <= MAX_RECORD_CHARS else f"{joined[:MAX_RECORD_CHARS]}… ({len(joined):,} characters)"
