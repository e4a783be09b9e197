"""Column-wise building blocks: dates as numpy day numbers, segment expansion, typed Arrow tables."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.sample_data.schema import TABLES

EPOCH = np.datetime64("1970-01-01", "D")


def day_number(value: date) -> int:
    """Days since 1970-01-01 (numpy's datetime64[D] integer)."""
    return int((np.datetime64(value, "D") - EPOCH).astype(np.int64))


def to_dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("int32"), pa.int32()).cast(pa.date32())


def to_timestamps(days: np.ndarray, hour: int = 9) -> pa.Array:
    micros = (days.astype(np.int64) * 86_400 + hour * 3_600) * 1_000_000
    return pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def month_index(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each day number."""
    return (days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64))


def month_start(months: np.ndarray) -> np.ndarray:
    """Day number of the first day of each month index."""
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def years(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments of the given lengths: the segment index and the offset within it, per element."""
    counts = np.maximum(counts.astype(np.int64), 0)
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    offset = np.arange(counts.sum()) - np.repeat(starts, counts)
    return owner, offset


def money(amounts: np.ndarray, precision: int = 14) -> pa.Array:
    """Amounts rounded to øre as an exact decimal Arrow array (no float sums downstream)."""
    ore = np.round(np.asarray(amounts, dtype=np.float64) * 100).astype(np.int64)
    whole = pa.array(ore, pa.int64()).cast(pa.decimal128(19, 0))
    cents = pc.multiply(whole, pa.scalar(Decimal("0.01"), pa.decimal128(3, 2)))
    return cents.cast(pa.decimal128(precision, 2))


_ARROW_TYPES: tuple[tuple[str, pa.DataType], ...] = (
    (r"integer|smallint", pa.int64()),
    (r"varchar|text", pa.string()),
    (r"boolean", pa.bool_()),
    (r"timestamp", pa.timestamp("us", tz="UTC")),
    (r"date", pa.date32()),
)


def arrow_type(sql_type: str) -> pa.DataType:
    numeric = re.match(r"numeric\((\d+),\s*(\d+)\)", sql_type)
    if numeric:
        return pa.decimal128(int(numeric.group(1)), int(numeric.group(2)))
    for pattern, arrow in _ARROW_TYPES:
        if re.match(pattern, sql_type):
            return arrow
    raise ValueError(f"no Arrow type for SQL type {sql_type!r}")


def os2bos_table(name: str, columns: dict[str, object], rows: int | None = None) -> pa.Table:
    """An Arrow table with exactly the OS2bos columns of `name`; absent columns are null."""
    if rows is None:
        rows = len(next(iter(columns.values()))) if columns else 0
    unknown = set(columns) - {c for c, _ in TABLES[name]}
    if unknown:
        raise KeyError(f"{name} has no columns {sorted(unknown)}")
    arrays = []
    for column, sql_type in TABLES[name]:
        target = arrow_type(sql_type.replace(" primary key", ""))
        value = columns.get(column)
        if value is None:
            arrays.append(pa.nulls(rows, target))
        elif isinstance(value, (pa.Array, pa.ChunkedArray)):
            arrays.append(value.cast(target))
        else:
            arrays.append(pa.repeat(pa.scalar(value, target), rows) if isinstance(value, (str, bool, int, float))
                          else pa.array(value).cast(target))
    return pa.Table.from_arrays(arrays, names=[c for c, _ in TABLES[name]])
