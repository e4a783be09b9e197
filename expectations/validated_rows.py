"""Rows GX has already passed: a suite's row-level expectations run only on rows it has not seen.

Every row-level expectation of the suites is a predicate on one row's values (not null, between,
in a set), so a row whose values passed a suite once passes it again. For each suite, the hashes
of the passing rows' values (only the columns its row-level expectations read) are kept in
`<quality_dir>/validated_rows/<suite>.duckdb`. The next run streams to GX only the rows whose hash
is not there; rows that failed are never kept, so they are validated (and counted) on every run
and the unexpected counts stay exact.

The file is keyed by a fingerprint of the expectations, the columns, their types and the DuckDB
and GX versions: when any of them changes, every row is validated again. A missing or unreadable
file means the same. In a record batch where an expectation failed, GX is asked once more, for
that expectation on that batch, which rows it rejected; those are left out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import great_expectations as gx
import pyarrow as pa

from expectations.suites import Expect, SuiteSpec

STATE_DIR = "validated_rows"
CATALOG = "validated_rows"  # the previous state, attached read-only
NEXT_CATALOG = "validated_rows_next"  # the new state, written beside it and swapped in
HASH_COLUMN = "_row_hash"
LOGGER = logging.getLogger(__name__)
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Reused:
    """What the rows that passed an earlier run add to one expectation's result: the rows it
    considers (its row condition applied) and, for expectations that skip NULLs, how many are NULL."""

    element_count: int
    missing_count: int


NOT_NULL = "ExpectColumnValuesToNotBeNull"  # counts NULLs as unexpected, not as missing
# Expectations that judge each row on its own values (one column, optionally a row condition).
PER_ROW = frozenset({NOT_NULL, "ExpectColumnValuesToBeInSet", "ExpectColumnValuesToBeBetween"})
_CONDITION = re.compile(r"^\s*(\w+)\s*==\s*(True|False)\s*$")  # the row conditions the suites use


def condition_sql(expectation: Expect) -> str | None:
    """A row-level expectation's row condition as SQL ("TRUE" without one); None if not translatable."""
    condition = expectation.kwargs.get("row_condition")
    if condition is None:
        return "TRUE"
    match = _CONDITION.match(condition)
    if expectation.kwargs.get("condition_parser") != "pandas" or match is None:
        return None
    return f'"{match.group(1)}" = {match.group(2).lower()}'


def reusable(row_level: Sequence[Expect]) -> bool:
    """Earlier results can stand in for rows only if every expectation judges a row by its own
    values and its counts can be computed in SQL; otherwise every row is validated."""
    return all(e.name in PER_ROW and "column" in e.kwargs and condition_sql(e) is not None for e in row_level)


def fingerprint(row_level: Sequence[Expect], columns: Sequence[str], types: dict[str, str]) -> str:
    described = {
        "format": FORMAT_VERSION,
        "duckdb": duckdb.__version__,  # its hash() may differ between versions
        "great_expectations": gx.__version__,  # what an expectation accepts may differ too
        "expectations": [[e.name, e.kwargs] for e in row_level],
        "columns": [[c, types.get(c, "absent")] for c in columns],
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def row_hash(columns: Sequence[str], types: dict[str, str]) -> str:
    """SQL for the hash of a row's values in `columns` (absent optional columns are NULL)."""
    values = [f'"{c}"' if c in types else "NULL" for c in columns]
    return f"hash({', '.join(values)})"


class ValidatedRows:
    """The passing-row hashes of one suite, read and replaced inside the suite's DuckDB connection."""

    def __init__(self, quality_dir: Path, spec: SuiteSpec, fingerprint_: str) -> None:
        self.path = Path(quality_dir) / STATE_DIR / f"{spec.name}.duckdb"
        self.fingerprint = fingerprint_
        self.known = False  # the previous state is attached and matches the fingerprint

    def attach(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Attach the previous state read-only if it was made for the same expectations."""
        if not self.path.exists():
            return
        try:
            connection.execute(f"ATTACH '{self.path}' AS {CATALOG} (READ_ONLY)")
        except duckdb.Error:
            return  # unreadable: validate every row, the state is rewritten afterwards
        try:
            (stored,) = connection.execute(f"SELECT fingerprint FROM {CATALOG}.meta").fetchone()
        except (duckdb.Error, TypeError):
            stored = None
        if stored == self.fingerprint:
            self.known = True
        else:
            connection.execute(f"DETACH {CATALOG}")

    def unseen(self, hashed_rows: str) -> str:
        """`hashed_rows` (a query with a HASH_COLUMN) restricted to rows not passed before."""
        if not self.known:
            return hashed_rows
        return (f"SELECT * FROM ({hashed_rows}) WHERE {HASH_COLUMN} NOT IN "
                f"(SELECT {HASH_COLUMN} FROM {CATALOG}.passed)")

    def reused(self, connection: duckdb.DuckDBPyConnection, hashed_rows: str,
               row_level: Sequence[Expect]) -> tuple[int, list[Reused]]:
        """The rows passed before, and per expectation the counts they add to its result."""
        if not self.known:
            return 0, [Reused(0, 0) for _ in row_level]
        counts: list[str] = []
        for expectation in row_level:
            condition = condition_sql(expectation)
            column = expectation.kwargs["column"]
            counts.append(f"count(*) FILTER (WHERE {condition})")
            counts.append("0" if expectation.name == NOT_NULL else
                          f'count(*) FILTER (WHERE {condition} AND "{column}" IS NULL)')
        counts.append("count(*)")
        values = connection.execute(
            f"SELECT {', '.join(counts)} FROM ({hashed_rows}) WHERE {HASH_COLUMN} IN "
            f"(SELECT {HASH_COLUMN} FROM {CATALOG}.passed)"
        ).fetchone()
        per_expectation = [Reused(int(values[2 * i] or 0), int(values[2 * i + 1] or 0)) for i in range(len(row_level))]
        return int(values[-1] or 0), per_expectation

    def replace(self, connection: duckdb.DuckDBPyConnection, hashed_rows: str, passed_now: list[pa.Array]) -> None:
        """Keep the hashes of the rows present now that passed, this run or an earlier one.

        Written beside the previous file and swapped in. A failure only costs the next run the
        streaming of rows it could have skipped: it is logged, never raised.
        """
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        connection.register("rows_passed_now", pa.table({HASH_COLUMN: pa.chunked_array(passed_now, type=pa.uint64())}))
        earlier = ""
        if self.known:
            earlier = (f"SELECT {HASH_COLUMN} FROM ({hashed_rows}) WHERE {HASH_COLUMN} IN "
                       f"(SELECT {HASH_COLUMN} FROM {CATALOG}.passed) UNION ALL ")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._remove_files_of_dead_writers()
            temporary.unlink(missing_ok=True)
            connection.execute(f"ATTACH '{temporary}' AS {NEXT_CATALOG} (READ_WRITE)")
            connection.execute(f"CREATE TABLE {NEXT_CATALOG}.meta AS SELECT '{self.fingerprint}' AS fingerprint")
            connection.execute(f"CREATE TABLE {NEXT_CATALOG}.passed AS SELECT DISTINCT {HASH_COLUMN} FROM "
                               f"({earlier}SELECT {HASH_COLUMN} FROM rows_passed_now)")
            connection.execute(f"DETACH {NEXT_CATALOG}")
            if self.known:
                connection.execute(f"DETACH {CATALOG}")
                self.known = False
            os.replace(temporary, self.path)
        except (duckdb.Error, OSError) as error:
            LOGGER.warning("could not record the rows %s passed in %s: %s", self.path.stem, self.path, error)
        finally:
            connection.unregister("rows_passed_now")
            with contextlib.suppress(duckdb.Error):
                connection.execute(f"DETACH {NEXT_CATALOG}")
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)

    def _remove_files_of_dead_writers(self) -> None:
        """Temporary files left by a process that was killed while writing (`<file>.<pid>.tmp`)."""
        for stale in self.path.parent.glob(f"{self.path.name}.*.tmp"):
            pid = stale.name.removeprefix(f"{self.path.name}.").removesuffix(".tmp")
            if pid.isdigit() and not _running(int(pid)):
                stale.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
