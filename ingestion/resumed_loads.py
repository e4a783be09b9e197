"""A load a killed run left unfinished: completed first, and the rows it wrote twice removed.

dlt's `run` finds such a load pending, loads it, and returns without extracting anything new, so
the night after a crash would publish the night before's data. `finish_interrupted_load` loads the
pending packages first, so that the run which follows extracts today's data.

dlt runs a load job (one `INSERT` into DuckDB) and records it as done afterwards. A load killed
between the two leaves the job "started", and finishing the load runs the job again: its rows land
twice. dlt removes such copies only where it merges by a primary key. Tables it replaces, or merges
by a merge key alone, keep both copies: OS2bos' reference tables and the finance ledger and
budgets. Each of those tables therefore names the columns that identify a row, and the copies are
deleted once the load is finished.

A mark file records that an interrupted load was (or is being) finished, so that a run killed
before the clean-up cleans up next time. Runs that find nothing pending cost nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import dlt

log = logging.getLogger(__name__)

RowKeys = Mapping[str, Sequence[str]]  # table -> the columns that identify one of its rows


def finish_interrupted_load(pipeline: dlt.Pipeline, row_keys: RowKeys) -> None:
    """Load what a killed run of `pipeline` left pending, then keep one row per key in `row_keys`' tables."""
    mark = Path(pipeline.pipelines_dir) / f"{pipeline.pipeline_name}.resumed-load"
    if pipeline.has_pending_data:
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.touch()
        log.warning("%s: finishing the load an interrupted run left", pipeline.pipeline_name)
        pipeline.run()  # without data: normalises and loads only what is pending
    if mark.exists():
        for table, count in remove_rows_loaded_twice(pipeline, row_keys).items():
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
