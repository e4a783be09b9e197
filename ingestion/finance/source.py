"""The dlt source "finance": ledger and budget exports from the drop folder, with quarantine and file log.

One hidden resource walks the drop folder and routes its output to four tables (transformers of
it), so that every file is read once per run. Which file contents were loaded is kept in the
source's dlt state, which dlt stores in the destination together with the data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import dlt
import pyarrow as pa
from dlt.extract import DltResource

from ingestion.finance.drop_folder import (
    PROCESSED, delivered_files, describe, move_aside, plan_loads, reject, sha256_of,
)
from ingestion.finance.formats import FORMATS, NAMING_RULE, ExportFile, identify
from ingestion.finance.reading import LINE_COLUMN, Rejection, UnreadableFile, open_export
from ingestion.finance.safety import safe_record, safe_text
from ingestion.finance.validation import SeenKeys, validate

log = logging.getLogger(__name__)

RAW_TABLES = ("ledger_postings", "budgets", "quarantine", "file_log")
# The tables merged by a period alone and the columns that identify their rows: dlt does not
# deduplicate them when a resumed load runs a job again (see ingestion/resumed_loads.py).
ROW_KEYS: dict[str, tuple[str, ...]] = {export_format.table: ("source_sha256", LINE_COLUMN) for export_format in FORMATS}
PROGRESS_EVERY_ROWS = 1_000_000
STATE_KEY = "files"  # sha256 -> {"file", "status", "period", "handled_at"}
QUARANTINE_SCHEMA = pa.schema([
    ("kind", pa.string()), ("source_file", pa.string()), ("source_sha256", pa.string()),
    (LINE_COLUMN, pa.int64()), ("reason", pa.string()), ("record", pa.string()),
])
FILE_LOG_SCHEMA = pa.schema([
    ("source_file", pa.string()), ("source_sha256", pa.string()), ("kind", pa.string()),
    ("period", pa.string()), ("status", pa.string()), ("reason", pa.string()), ("encoding", pa.string()),
    ("size_bytes", pa.int64()), ("delivered_at", pa.timestamp("us", "UTC")),
    ("handled_at", pa.timestamp("us", "UTC")), ("rows_read", pa.int64()), ("rows_loaded", pa.int64()),
    ("rows_quarantined", pa.int64()),
])


class Routed(NamedTuple):
    table: str
    data: pa.Table


def _file_log(path: Path, sha256: str, status: str, **fields: Any) -> Routed:
    stat_time = datetime.fromtimestamp(path.stat().st_mtime, UTC) if path.exists() else None
    row = {
        "source_file": safe_text(path.name), "source_sha256": sha256, "status": status, "delivered_at": stat_time,
        "handled_at": datetime.now(UTC), **fields,
    }
    row["reason"] = safe_text(row.get("reason"))
    return Routed("file_log", pa.Table.from_pylist([row], schema=FILE_LOG_SCHEMA))


def _quarantine(export: ExportFile, rejections: list[Rejection]) -> Routed:
    return Routed("quarantine", pa.table({
        "kind": [export.format.kind] * len(rejections),
        "source_file": [export.path.name] * len(rejections),
        "source_sha256": [export.sha256] * len(rejections),
        LINE_COLUMN: [rejection.line for rejection in rejections],
        "reason": [safe_text(rejection.reason) for rejection in rejections],
        "record": [safe_record(rejection.record) for rejection in rejections],
    }, schema=QUARANTINE_SCHEMA))


def _load_file(export: ExportFile, seen: dict[str, dict[str, str]]) -> Iterator[Routed]:
    started = time.monotonic()
    described = {"kind": export.format.kind, "period": export.period, "size_bytes": export.size_bytes}
    try:
        content = open_export(export)
    except UnreadableFile as error:
        log_row = _file_log(export.path, export.sha256, "rejected", reason=str(error), **described)
        target = reject(export.path, export.sha256, str(error))
        log.warning("%s rejected, moved to %s: %s", export.path.name, target, error)
        yield log_row
        return
    read = loaded = quarantined = 0
    seen_keys = SeenKeys()
    for chunk in content.chunks:
        validated = validate(chunk.records, export, seen_keys)
        rejections = chunk.rejections + validated.rejections
        read_before = read
        read += validated.rows_read + len(chunk.rejections)
        loaded += validated.rows.num_rows
        quarantined += len(rejections)
        if validated.rows.num_rows:
            yield Routed(export.format.table, validated.rows)
        if rejections:
            yield _quarantine(export, sorted(rejections))
        if read // PROGRESS_EVERY_ROWS > read_before // PROGRESS_EVERY_ROWS:
            log.info("%s: %d rows read so far", export.path.name, read)
    seen[export.sha256] = {
        "file": export.path.name, "status": "loaded", "period": export.period,
        "handled_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    log.info(
        "%s (%s, %s): %d rows read, %d loaded, %d quarantined in %.1f s",
        export.path.name, export.format.kind, content.encoding, read, loaded, quarantined,
        time.monotonic() - started,
    )
    yield _file_log(
        export.path, export.sha256, "loaded", encoding=content.encoding, rows_read=read, rows_loaded=loaded,
        rows_quarantined=quarantined, **described,
    )


def handle_drop_folder(drop_folder: Path, seen: dict[str, dict[str, str]]) -> Iterator[Routed]:
    """Load every new file of the drop folder; `seen` (the dlt state) records handled contents.

    Files whose content the state (as it was when the run started) records are moved to
    `processed/`: their load is committed. Files loaded in this run stay until the next run (or
    `archive_loaded_files`) so that a failed load never leaves data only in `processed/`.
    """
    committed = dict(seen)
    paths = delivered_files(drop_folder)
    log.info("finance drop folder %s: %d files", drop_folder, len(paths))
    new: dict[str, ExportFile] = {}
    for path in paths:
        sha256 = sha256_of(path)
        earlier = committed.get(sha256, {}).get("file") or (new[sha256].path.name if sha256 in new else None)
        if earlier is not None:
            if earlier != path.name or sha256 in new:
                yield _file_log(path, sha256, "duplicate", reason=f"same content as {earlier}, already handled")
                log.info("%s: same content as %s, adds nothing", path.name, earlier)
            move_aside(path, PROCESSED, sha256)
            continue
        identified = identify(path.name)
        if identified is None:
            reason = f"file name does not follow {NAMING_RULE}"
            yield _file_log(path, sha256, "rejected", reason=reason)
            log.warning("%s rejected, moved to %s: %s", path.name, reject(path, sha256, reason), reason)
            continue
        new[sha256] = describe(path, *identified, sha256)
    plan = plan_loads(list(new.values()))
    for export, older in plan.deferred:
        log.info("%s deferred to the next run: it overlaps %s, delivered earlier", export.path.name, older.path.name)
    for export, newer in plan.superseded:
        seen[export.sha256] = {"file": export.path.name, "status": "superseded", "period": export.period}
        log.info("%s superseded by %s, delivered later for the same period", export.path.name, newer.path.name)
        yield _file_log(
            export.path, export.sha256, "superseded", kind=export.format.kind, period=export.period,
            size_bytes=export.size_bytes, reason=f"replaced by {newer.path.name}, delivered later in the same run",
        )
    for export in plan.load:
        yield from _load_file(export, seen)


def loaded_contents(pipeline: dlt.Pipeline) -> set[str]:
    """SHA-256 of every file content the finance source has handled in a committed load."""
    return set(pipeline.state.get("sources", {}).get("finance", {}).get(STATE_KEY, {}))


def archive_loaded_files(drop_folder: Path, pipeline: dlt.Pipeline) -> list[Path]:
    """Move files whose load `pipeline` has committed to `<drop>/processed/` (call after a good run)."""
    handled = loaded_contents(pipeline)
    moved = []
    for path in delivered_files(drop_folder):
        sha256 = sha256_of(path)
        if sha256 in handled:
            moved.append(move_aside(path, PROCESSED, sha256))
    return moved


def _route(table: str):
    def only(item: Routed) -> Iterator[pa.Table]:
        if item.table == table:
            yield item.data
    return only


def _require_all_tables_selected() -> None:
    """Loading a subset would record files as handled whose rows went nowhere."""
    selected = dlt.current.source().selected_resources
    missing = [table for table in RAW_TABLES if table not in selected]
    if missing:
        raise ValueError(f"the finance tables load together; not selected: {', '.join(missing)}")


@dlt.source(name="finance")
def finance_source(drop_folder: Path) -> list[DltResource]:
    """Ledger postings and budgets from the finance drop folder (see docs/finance_files.md).

    Defining the source touches no file; the folder is read when the pipeline runs.
    """

    @dlt.resource(name="finance_files", selected=False)
    def finance_files() -> Iterator[Routed]:
        _require_all_tables_selected()
        yield from handle_drop_folder(Path(drop_folder), dlt.current.source_state().setdefault(STATE_KEY, {}))

    # Every table is merged on a key, never appended. Ledger and budget rows are keyed by their period
    # alone (merge key): a re-exported period replaces the rows loaded before. They must have no primary
    # key besides it, because dlt then deletes rows matching either key (`... OR d.period = s.period`),
    # a join DuckDB can only run as a nested loop: re-exporting a month of 185,000 postings into 10
    # million ran out of disk after five minutes. Without a primary key dlt does not deduplicate a job
    # that a resumed load runs again; ROW_KEYS names their rows' identity for that clean-up instead.
    # `primary_key: False` also clears the key that raw layers loaded before kept.
    delete_insert = {"disposition": "merge", "strategy": "delete-insert"}
    no_row_key = {name: {"name": name, "primary_key": False} for name in ("source_sha256", LINE_COLUMN)}
    return [
        *(
            dlt.transformer(_route(export_format.table), data_from=finance_files, name=export_format.table,
                            write_disposition=delete_insert, merge_key=export_format.merge_key,
                            columns=no_row_key)
            for export_format in FORMATS
        ),
        dlt.transformer(_route("quarantine"), data_from=finance_files, name="quarantine",
                        write_disposition=delete_insert, primary_key=("source_sha256", LINE_COLUMN)),
        dlt.transformer(_route("file_log"), data_from=finance_files, name="file_log",
                        write_disposition=delete_insert, primary_key=("source_sha256", "handled_at")),
    ]
