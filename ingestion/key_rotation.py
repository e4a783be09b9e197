"""Rotate the pseudonymisation key without breaking the links between a child's records.

A pseudonym is HMAC(key, national id), and the warehouse never stores the national id, so the new
pseudonym of a stored row cannot be computed from the warehouse alone. The rotation therefore
reads the national ids once more from the sources that deliver them (OS2bos: children, related
persons and person recipients of payments; the case-events API: the children of its events),
pairs each id's old pseudonym with its new one in memory, and rewrites every pseudonym column of
the raw layer in one DuckDB transaction. The pairs are never written anywhere. Every stored
pseudonym must be paired: one that is not (a person the sources no longer deliver) stops the
rotation before anything changes, because rewriting the others would split that person's history.

The marts are rebuilt from raw by the next refresh, which must run with the new key; the whole
procedure is in docs/operations.md ("Rotating the pseudonymisation key").
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from ingestion.case_events import HttpSettings, event_pages
from ingestion.case_system.tables import TABLE_SPECS
from ingestion.pseudonymise import PseudonymKey, person_id

EVERY_EVENT_SINCE = "2000-01-01T00:00:00Z"
CROSSWALK = "pseudonym_crosswalk"  # a temporary table of the rotation's connection only


@dataclass(frozen=True)
class PseudonymColumn:
    """A raw column holding pseudonyms, the column holding their key version, the rows concerned."""

    table: str
    column: str
    version_column: str | None = None
    rows: str = "true"


# How the OS2bos loader pseudonymises each kind of personal table (TableSpec.personal): the
# national id's column and rows in the source, and the pseudonym's column, key-version column and
# rows in raw. The tables come from the loader's own list, so a new personal table is rotated too.
_PERSONAL_KINDS: dict[str, tuple[tuple[str, str], tuple[str, str | None, str]]] = {
    "cases": (("cpr_number", "cpr_number IS NOT NULL"), ("person_id", "pseudonym_key_version", "true")),
    "recipients": (("recipient_id", "recipient_type = 'PERSON'"), ("recipient_id", None, "recipient_type = 'PERSON'")),
}
_PERSONAL_TABLES = [(name, _PERSONAL_KINDS[spec.personal]) for name, spec in TABLE_SPECS.items() if spec.personal]

PSEUDONYM_COLUMNS = (
    *(PseudonymColumn(f"os2bos.{table}", *in_raw) for table, (_, in_raw) in _PERSONAL_TABLES),
    PseudonymColumn("case_events.events", "person_id", "pseudonym_key_version"),
)
# dlt's merge staging copies of the last load: emptied, dlt refills them on the next merge.
STAGING_SCHEMAS = ("os2bos_staging", "case_events_staging")
# Where national ids come from in OS2bos, as (table, column, rows).
OS2BOS_NATIONAL_IDS = tuple((table, *in_source) for table, (in_source, _) in _PERSONAL_TABLES)


class RotationError(RuntimeError):
    """The rotation cannot proceed; nothing was changed."""


@dataclass(frozen=True)
class RotationReport:
    national_ids: int
    rewritten: dict[str, int]  # rows per table.column
    staging_rows_dropped: int


def os2bos_national_ids(url: str) -> Iterator[str]:
    """Every national id OS2bos holds, from its SQLAlchemy URL (SQLite or PostgreSQL)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            for table, column, rows in OS2BOS_NATIONAL_IDS:
                if table in tables:
                    query = sa.text(f"SELECT DISTINCT {column} FROM {table} WHERE {rows}")
                    yield from (row[0] for row in connection.execute(query))
    finally:
        engine.dispose()


def case_event_national_ids(base_url: str, token: str, http: HttpSettings | None = None) -> Iterator[str]:
    """Every national id in the case-events API, read from its first event on."""
    for page in event_pages(base_url, token, EVERY_EVENT_SINCE, page_size=1000, http=http):
        yield from (event["national_id"] for event in page if event.get("national_id"))


def crosswalk(old: PseudonymKey, new: PseudonymKey, national_ids: Iterable[str]) -> pa.Table:
    """Old pseudonym → new pseudonym for each distinct national id (kept in memory only)."""
    if old.version == new.version:
        raise RotationError(f"the new key must have a new version, not {new.version!r} again")
    if old.secret == new.secret:
        raise RotationError("the new key is the old key")
    pairs = {person_id(old, national_id): person_id(new, national_id) for national_id in set(national_ids)}
    return pa.table({"old_id": list(pairs), "new_id": list(pairs.values())})


def _existing(connection: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    (count,) = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchone()
    return count > 0


def _check(connection: duckdb.DuckDBPyConnection, target: PseudonymColumn, old_version: str) -> None:
    (unpaired,) = connection.execute(
        f"SELECT count(DISTINCT t.{target.column}) FROM {target.table} t "
        f"WHERE t.{target.column} IS NOT NULL AND ({target.rows}) "
        f"AND t.{target.column} NOT IN (SELECT old_id FROM {CROSSWALK})"
    ).fetchone()
    if unpaired:
        raise RotationError(
            f"{unpaired} pseudonyms in {target.table}.{target.column} belong to no national id the sources "
            "deliver now (or were made with another key); rewriting the others would split their history"
        )
    if target.version_column:
        versions = [row[0] for row in connection.execute(
            f"SELECT DISTINCT {target.version_column} FROM {target.table} WHERE {target.column} IS NOT NULL"
        ).fetchall()]
        if versions not in ([], [old_version]):
            raise RotationError(
                f"{target.table} holds pseudonyms of key versions {sorted(map(str, versions))}, expected only "
                f"{old_version!r}: is the configured key the one the raw layer was written with?"
            )


def rewrite_raw(raw_path: Path, pairs: pa.Table, old_version: str, new_version: str,
                duckdb_config: dict[str, str | int]) -> RotationReport:
    """Replace every old pseudonym in the raw file by its new one, all or nothing."""
    rewritten: dict[str, int] = {}
    dropped = 0
    with duckdb.connect(str(raw_path), config=duckdb_config) as connection:
        connection.register("crosswalk_pairs", pairs)
        connection.execute(f"CREATE TEMP TABLE {CROSSWALK} AS SELECT * FROM crosswalk_pairs")
        connection.execute("BEGIN TRANSACTION")
        try:
            targets = [target for target in PSEUDONYM_COLUMNS if _existing(connection, target.table)]
            for target in targets:
                _check(connection, target, old_version)
            for target in targets:
                version = f", {target.version_column} = $version" if target.version_column else ""
                (count,) = connection.execute(  # DuckDB answers an UPDATE with its row count
                    f"UPDATE {target.table} t SET {target.column} = c.new_id{version} FROM {CROSSWALK} c "
                    f"WHERE t.{target.column} = c.old_id AND ({target.rows})",
                    {"version": new_version} if version else {},
                ).fetchone()
                rewritten[f"{target.table}.{target.column}"] = count
            for schema in STAGING_SCHEMAS:
                for (table,) in connection.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]
                ).fetchall():
                    (rows,) = connection.execute(f'SELECT count(*) FROM {schema}."{table}"').fetchone()
                    connection.execute(f'DELETE FROM {schema}."{table}"')
                    dropped += rows
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    return RotationReport(national_ids=pairs.num_rows, rewritten=rewritten, staging_rows_dropped=dropped)


def drop_copies_with_old_pseudonyms(dlt_dir: Path, quality_dir: Path) -> int:
    """Delete the files outside the raw layer that may carry old pseudonyms: dlt's archives of loaded
    packages, and the validation results and Data Docs (unexpected-value samples), which the next
    validation writes again. Returns the number of files deleted."""
    folders = [*dlt_dir.glob("*/load/loaded/*"), quality_dir / "data_docs", quality_dir / "gx" / "uncommitted"]
    removed = 0
    for folder in folders:
        if folder.is_dir():
            removed += sum(1 for path in folder.rglob("*") if path.is_file())
            shutil.rmtree(folder)
    return removed
