"""Rows a resumed dlt load wrote twice, found and removed.

dlt runs a load job (one `INSERT` into DuckDB) and records it as done afterwards. A load killed
between the two leaves the job "started"; the next run loads the pending package first and runs the
job again, so its rows land twice. dlt removes such copies only where it merges by a primary key.
Tables it replaces, or merges by a merge key alone, keep both copies: OS2bos' reference tables and
the finance ledger and budgets. Each of those tables therefore names the columns that identify a
row, and after a run that resumed a package the copies are deleted.

A mark file records that a resumed package was (or is being) loaded, so that a run killed after the
package but before the clean-up cleans up next time. Runs that resume nothing cost nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import dlt

log = logging.getLogger(__name__)

RowKeys = Mapping[str, Sequence[str]]  # table -> the columns that identify one of its rows


def _mark(pipeline: dlt.Pipeline) -> Path:
    return Path(pipeline.pipelines_dir) / f"{pipeline.pipeline_name}.resumed-load"


@contextmanager
def removing_rows_loaded_twice(pipeline: dlt.Pipeline, row_keys: RowKeys) -> Iterator[None]:
    """Run a load of `pipeline` in this block; if it resumed a package, delete the rows it repeated.

    The clean-up runs only when the block completes: a failed run keeps the mark for the next one.
    """
    mark = _mark(pipeline)
    if pipeline.list_normalized_load_packages():
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.touch()
        log.info("%s: resuming an interrupted load; rows it repeats will be removed", pipeline.pipeline_name)
    yield
    if mark.exists():
        removed = remove_rows_loaded_twice(pipeline, row_keys)
        for table, count in removed.items():
            log.warning("%s.%s: removed %d rows an interrupted load job had written again",
                        pipeline.dataset_name, table, count)
        mark.unlink()


def remove_rows_loaded_twice(pipeline: dlt.Pipeline, row_keys: RowKeys) -> dict[str, int]:
    """Keep one row per key in each table of `row_keys` that exists; return the rows removed per table."""
    removed: dict[str, int] = {}
    with pipeline.sql_client() as client:
        existing = {row[0] for row in client.execute_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", client.dataset_name)}
        for table, key in row_keys.items():
            if table not in existing:
                continue
            name = client.make_qualified_table_name(table)
            columns = ", ".join(client.escape_column_name(column) for column in key)
            # Counting first keeps the common case (nothing repeated) to one aggregation.
            repeated = client.execute_sql(
                f"SELECT count(*) FROM (SELECT 1 FROM {name} GROUP BY {columns} HAVING count(*) > 1)")[0][0]
            if not repeated:
                continue
            deleted = client.execute_sql(
                f"DELETE FROM {name} WHERE rowid IN (SELECT rowid FROM ("
                f"SELECT rowid, row_number() OVER (PARTITION BY {columns}) AS copy FROM {name}) WHERE copy > 1)")
            removed[table] = int(deleted[0][0])
    return removed
