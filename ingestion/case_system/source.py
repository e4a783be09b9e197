"""The `os2bos` dlt source: every table read column-wise, pseudonymised in flight, kept in step.

Strategies (see docs/case_system_loading.md):
- replace: classifications, users, payment schedules: reloaded whole every run.
- modified: core_case, core_appropriation, core_activity, core_relatedperson: rows with
  `modified >= cursor` (rows exactly at the cursor already loaded are skipped), merged on `id`.
- payment: core_payment: new ids (`id > cursor`) plus payments that got a new
  core_historicalpayment row since the last run (paid, re-saved), merged on `id`.
- history: history tables read by `history_id` (dlt incremental), merged on it so that a resumed
  load never doubles them.
Merged tables are reconciled each run: keys gone from the source become hard-delete tombstones,
keys missing from the raw table (a late commit below the cursor, a back-dated `modified`) are read
again. A digest of the keys up to the raw table's largest (count, sum, and the sum of the keys
scattered by multipliers drawn afresh each run) is compared first; only when source and raw differ
are both key sets read and compared, which at `national` scale costs 10 s for the payments alone.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import dlt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from dlt.extract import DltResource
from dlt.sources.sql_database import sql_table

from ingestion.case_system.sqlite_reader import DEFAULT_DUCKDB_CONFIG, DuckDBSQLiteTableLoader
from ingestion.case_system.tables import OS2BOS_TABLES, TABLE_SPECS, TableSpec
from ingestion.pseudonymise import PseudonymKey, pseudonymise_cases, pseudonymise_recipients

log = logging.getLogger(__name__)

Backend = Literal["auto", "duckdb", "pyarrow", "connectorx"]

# hard-delete marker: a row carrying True removes the key from the raw table (dlt `hard_delete`)
DELETED_COLUMN = "_source_deleted"
# CPR number (ddmmyy-xxxx) or Swedish personnummer (yyyymmdd-xxxx), with or without the dash
NATIONAL_ID_PATTERN = r"\b(?:\d{6}|\d{8})-?\d{4}\b"
NATIONAL_ID_MASK = "[personnummer]"
# More keys than this missing from the raw table: read the table whole instead of by key list.
MAX_REREAD_KEYS = 20_000
# The key digest scatters each key by ((key * m1) % P1) * ((key * m2) % P2) % P3, multipliers drawn
# afresh each run, and sums that next to count and sum. The primes are below 2**31 and keys below
# DIGEST_MAX_KEY, so no product leaves 64-bit integers, in SQLite, PostgreSQL or DuckDB.
DIGEST_PRIMES = (2_147_483_647, 2_147_483_629, 2_147_483_587)
DIGEST_MAX_KEY = 2**32
# Tables that are big enough for the backend choice to matter.
LARGE_TABLES = frozenset({"core_payment", "core_historicalpayment", "core_paymentschedule"})
_CASE_DERIVED_COLUMNS = {
    "person_id": {"data_type": "text"},
    "birth_date": {"data_type": "date"},
    "sex": {"data_type": "text"},
    "pseudonym_key_version": {"data_type": "text"},
}
_PERSONAL_SOURCE_COLUMNS = frozenset({"cpr_number", "name"})


def dialect_of(credentials: str) -> str:
    """"sqlite" or "postgresql" from a SQLAlchemy URL, without connecting."""
    return sa.engine.make_url(credentials).get_backend_name()


def choose_backend(table: str, dialect: str, backend: Backend = "auto") -> str:
    """The table backend for `table`: DuckDB for SQLite, connectorx for big PostgreSQL tables,
    pyarrow otherwise.

    connectorx cannot read SQLite columns whose first rows are NULL ("Cannot infer type from
    null"); DuckDB's sqlite_scanner reads SQLite columnar (ingestion/case_system/sqlite_reader.py).
    See docs/case_system_loading.md for the measurements.
    """
    if backend != "auto":
        return backend
    if dialect == "sqlite":
        return "duckdb"
    return "connectorx" if table in LARGE_TABLES else "pyarrow"


class _KeyHolder:
    """Calls the key loader once per source instance, when the first personal table is read."""

    def __init__(self, loader: Callable[[], PseudonymKey]) -> None:
        self._loader = loader
        self._key: PseudonymKey | None = None

    def __call__(self) -> PseudonymKey:
        if self._key is None:
            key = self._loader()
            if not isinstance(key, PseudonymKey):
                raise TypeError("the key loader must return a PseudonymKey")
            self._key = key
        return self._key


@dataclass(frozen=True)
class _Context:
    credentials: str
    schema: str | None
    backend: Backend
    chunk_size: int
    dialect: str
    duckdb_config: dict[str, str | int]


def _scrub(table: pa.Table, columns: tuple[str, ...]) -> pa.Table:
    for name in columns:
        if name in table.column_names:
            i = table.schema.get_field_index(name)
            column = table.column(i).cast(pa.string())
            table = table.set_column(i, name, pc.replace_substring_regex(column, NATIONAL_ID_PATTERN, NATIONAL_ID_MASK))
    return table


def _land(table: pa.Table, spec: TableSpec, key: _KeyHolder) -> pa.Table:
    """What is done to every batch before it is written: pseudonymise, scrub free text."""
    if spec.personal == "cases":
        table = pseudonymise_cases(table, key())
    elif spec.personal == "recipients":
        table = pseudonymise_recipients(table, key())
    return _scrub(table, spec.free_text)


def _sql_table(ctx: _Context, spec: TableSpec, **kwargs: Any) -> DltResource:
    # A typed hint for cpr_number would create an (empty) column in the raw table: tables with
    # a CPR are reflected with column names only.
    reflection = "minimal" if spec.personal == "cases" else "full_with_precision"
    backend = choose_backend(spec.name, ctx.dialect, ctx.backend)
    backend_kwargs = {"return_type": "arrow_stream", "batch_size": ctx.chunk_size} if backend == "connectorx" else None
    loader = DuckDBSQLiteTableLoader.configured(ctx.duckdb_config) if backend == "duckdb" else None
    return sql_table(
        credentials=ctx.credentials,
        table=spec.name,
        schema=ctx.schema,
        backend="pyarrow" if backend == "duckdb" else backend,
        table_loader_class=loader,
        backend_kwargs=backend_kwargs,
        chunk_size=ctx.chunk_size,
        reflection_level=kwargs.pop("reflection_level", reflection),
        defer_table_reflect=True,
        excluded_columns=list(spec.never_read) or None,
        **kwargs,
    )


def _source_keys(ctx: _Context, spec: TableSpec) -> pa.Array:
    """Key-only scan of the source table (connectorx unless forced: a key column is never NULL)."""
    key_ctx = ctx if ctx.backend != "auto" else replace(ctx, backend="connectorx")
    inner = _sql_table(key_ctx, spec, included_columns=[spec.primary_key], reflection_level="minimal")
    chunks = [t.column(spec.primary_key).cast(pa.int64()) for t in inner if t.num_rows]
    return pa.chunked_array(chunks, pa.int64()).combine_chunks() if chunks else pa.array([], pa.int64())


def _query_raw_table(spec: TableSpec, select: str) -> list[pa.RecordBatch] | None:
    """`select` (with `{key}` and `{table}` placeholders) on the raw table, or None when the table
    does not exist yet (a first load)."""
    pipeline = dlt.current.pipeline()
    try:
        with pipeline.sql_client() as client:
            sql = select.format(key=client.escape_column_name(spec.primary_key),
                                table=client.make_qualified_table_name(spec.name))
            with client.execute_query(sql) as cursor:
                return list(cursor.iter_arrow(chunk_size=1_000_000))
    except Exception as exc:  # noqa: BLE001 - no destination, no dataset, no table: a first load
        if pipeline.default_schema_name and spec.name in pipeline.default_schema.tables and \
                "does not exist" not in str(exc).lower() and "not found" not in str(exc).lower():
            raise
        return None


def _loaded_keys(spec: TableSpec) -> pa.Array | None:
    """Keys already in the raw table, or None when it does not exist yet (first load)."""
    batches = _query_raw_table(spec, "SELECT {key} FROM {table}")
    if batches is None:
        return None
    chunks = [t.column(0).cast(pa.int64()) for t in batches]
    return pa.chunked_array(chunks, pa.int64()).combine_chunks() if chunks else pa.array([], pa.int64())


@dataclass(frozen=True)
class _KeyDigest:
    """What two sets of keys have in common when they are equal. Two different sets agree on the
    scattered sum by chance about once in two billion runs; the multipliers are drawn afresh each
    run, so a chance agreement does not last to the next night."""

    count: int
    total: int
    scattered: int


def _scattered(key: Any, multipliers: tuple[int, int]) -> Any:
    """A key scattered over [0, P3) (see DIGEST_PRIMES): a SQLAlchemy expression for a SQLAlchemy
    column, SQL text for a quoted column name."""
    p1, p2, p3 = DIGEST_PRIMES
    m1, m2 = multipliers
    if isinstance(key, str):
        wide = f"CAST({key} AS BIGINT)"
        return f"((({wide} * {m1}) % {p1}) * (({wide} * {m2}) % {p2})) % {p3}"
    wide = sa.cast(key, sa.BigInteger)
    return (((wide * m1) % p1) * ((wide * m2) % p2)) % p3


def _loaded_digest(spec: TableSpec, multipliers: tuple[int, int]) -> tuple[int | None, _KeyDigest] | None:
    """The raw table's largest key and the digest of its keys; None when it does not exist yet."""
    batches = _query_raw_table(
        spec, f"SELECT max({{key}}), count(*), sum({{key}}), sum({_scattered('{key}', multipliers)}) FROM {{table}}")
    if batches is None:
        return None
    top, count, total, scattered = (batches[0].column(i)[0].as_py() for i in range(4))
    return top, _KeyDigest(int(count), int(total or 0), int(scattered or 0))


def _source_digest(ctx: _Context, spec: TableSpec, top: int, multipliers: tuple[int, int]) -> tuple[_KeyDigest, pa.Array]:
    """The digest of the source's keys up to `top`, and the keys above it."""
    engine = sa.create_engine(ctx.credentials)
    try:
        with engine.connect() as conn:
            key = sa.table(spec.name, sa.column(spec.primary_key), schema=ctx.schema).c[spec.primary_key]
            count, total, scattered = conn.execute(
                sa.select(sa.func.count(), sa.func.sum(key), sa.func.sum(_scattered(key, multipliers)))
                .where(key <= top)
            ).one()
            above = [row[0] for row in conn.execute(sa.select(key).where(key > top))]
    finally:
        engine.dispose()
    return _KeyDigest(int(count), int(total or 0), int(scattered or 0)), pa.array(above, pa.int64())


def _reconcile(ctx: _Context, spec: TableSpec) -> tuple[pa.Array, pa.Array, str] | None:
    """The source's keys missing from the raw table, the raw table's keys gone from the source, and
    how they were found ("digest" or "keys"); None when the raw table does not exist yet."""
    multipliers = (secrets.randbelow(DIGEST_PRIMES[0] - 2**20) + 2**20,
                   secrets.randbelow(DIGEST_PRIMES[1] - 2**20) + 2**20)
    loaded = _loaded_digest(spec, multipliers)
    if loaded is None:
        return None
    top, digest = loaded
    if top is not None and top < DIGEST_MAX_KEY:
        source_digest, above = _source_digest(ctx, spec, top, multipliers)
        if source_digest == digest:
            return above, pa.array([], pa.int64()), "digest"
    loaded_keys = _loaded_keys(spec)
    if loaded_keys is None:
        return None
    source_keys = _source_keys(ctx, spec)
    return _setdiff(source_keys, loaded_keys), _setdiff(loaded_keys, source_keys), "keys"


def _setdiff(left: pa.Array, right: pa.Array) -> pa.Array:
    """The keys of `left` not in `right`. numpy's isin (a bitmap over the key range, or a sort) takes
    0.7 s for both directions over 13.7 M payment keys, pyarrow's hash set 4.6 s."""
    keys = left.to_numpy(zero_copy_only=False)
    return pa.array(keys[np.isin(keys, right.to_numpy(zero_copy_only=False), invert=True)], pa.int64())


def _hints_marker(inner: DltResource, spec: TableSpec) -> Any:
    columns = {
        name: hint for name, hint in (inner.columns or {}).items()  # type: ignore[union-attr]
        if not (spec.personal == "cases" and name in _PERSONAL_SOURCE_COLUMNS)
    }
    if spec.personal == "cases":
        columns.update({n: {"name": n, **h} for n, h in _CASE_DERIVED_COLUMNS.items()})
    columns[DELETED_COLUMN] = {"name": DELETED_COLUMN, "data_type": "bool", "hard_delete": True, "nullable": True}
    return dlt.mark.with_hints([], dlt.mark.make_hints(columns=columns))


def _max_value(ctx: _Context, table: str, column: str) -> Any:
    engine = sa.create_engine(ctx.credentials)
    try:
        with engine.connect() as conn:
            t = sa.table(table, sa.column(column), schema=ctx.schema)
            return conn.execute(sa.select(sa.func.max(t.c[column]))).scalar()
    finally:
        engine.dispose()


def _merge_resource(ctx: _Context, spec: TableSpec, key: _KeyHolder) -> DltResource:
    cursor_column = "modified" if spec.strategy == "modified" else spec.primary_key
    pk = spec.primary_key

    def rows() -> Iterator[Any]:
        started = time.monotonic()
        if spec.personal:
            key()  # no key, no run: fail before anything is read
        state = dlt.current.resource_state()
        reconciled = _reconcile(ctx, spec)
        if reconciled is None:
            state.clear()  # raw table absent: start over with a full load
            missing, deleted, how = pa.array([], pa.int64()), pa.array([], pa.int64()), "first load"
        else:
            missing, deleted, how = reconciled

        cursor = state.get("cursor")
        if spec.strategy == "modified" and cursor is not None:
            cursor = datetime.fromisoformat(cursor)
        history_to = _max_value(ctx, "core_historicalpayment", "history_id") if spec.strategy == "payment" else None
        history_from = state.get("history_cursor")
        if spec.strategy == "payment" and cursor is not None:
            # new payments above the cursor are read by it: only keys below it count as missing, so
            # a night after an outage with many new payments does not read the whole table again
            missing = missing.filter(pc.less_equal(missing, cursor))
        full = cursor is None or len(missing) > MAX_REREAD_KEYS

        def adapter(query: Any, table: Any, *_: Any) -> Any:
            if full:
                return query
            c = table.c
            conditions = [c[cursor_column] >= cursor if spec.strategy == "modified" else c[pk] > cursor]
            if spec.strategy == "payment" and history_to is not None and history_to != history_from:
                hist = sa.table("core_historicalpayment", sa.column("id"), sa.column("history_id"), schema=ctx.schema)
                changed = sa.select(hist.c.id).where(hist.c.history_id <= history_to)
                if history_from is not None:
                    changed = changed.where(hist.c.history_id > history_from)
                conditions.append(c[pk].in_(changed))
            if len(missing):
                conditions.append(c[pk].in_(missing.to_pylist()))
            return query.where(sa.or_(*conditions))

        inner = _sql_table(ctx, spec, query_adapter_callback=adapter)
        boundary = set(state.get("boundary_ids", [])) if spec.strategy == "modified" and not full else set()
        new_cursor, new_boundary, moved, marked = cursor, set(boundary), 0, False
        for batch in inner:
            if not marked:
                yield _hints_marker(inner, spec)
                marked = True
            if not batch.num_rows:
                continue
            if boundary:  # rows at the cursor that were loaded last time are not moved again
                at_cursor = pc.equal(batch.column(cursor_column), pa.scalar(cursor, batch.schema.field(cursor_column).type))
                seen = pc.and_(pc.fill_null(at_cursor, False), pc.is_in(batch.column(pk), value_set=pa.array(list(boundary), batch.schema.field(pk).type)))
                batch = batch.filter(pc.invert(seen))
            if not batch.num_rows:
                continue
            top = pc.max(batch.column(cursor_column)).as_py()
            if top is not None and (new_cursor is None or top > new_cursor):
                new_cursor, new_boundary = top, set()
            if spec.strategy == "modified" and new_cursor is not None:
                at_top = pc.fill_null(pc.equal(batch.column(cursor_column), pa.scalar(new_cursor, batch.schema.field(cursor_column).type)), False)
                new_boundary.update(batch.filter(at_top).column(pk).to_pylist())
            moved += batch.num_rows
            yield _land(batch, spec, key)
        if not marked:
            yield _hints_marker(inner, spec)
        if len(deleted):
            yield pa.table({pk: deleted, DELETED_COLUMN: pa.array([True] * len(deleted), pa.bool_())})
        if new_cursor is not None:
            state["cursor"] = new_cursor.isoformat() if isinstance(new_cursor, datetime) else new_cursor
        if spec.strategy == "modified":
            state["boundary_ids"] = sorted(new_boundary)
        if spec.strategy == "payment":
            state["history_cursor"] = history_to
        state["last_run"] = {
            "rows": moved, "deleted": len(deleted), "reread_missing": 0 if full else len(missing),
            "full": full, "reconciled_by": how, "seconds": round(time.monotonic() - started, 3),
        }
        log.info("os2bos %s: %s", spec.name, state["last_run"])

    return dlt.resource(
        rows, name=spec.name, write_disposition="merge", primary_key=pk,
        columns={DELETED_COLUMN: {"data_type": "bool", "hard_delete": True, "nullable": True}},
    )


def _replace_resource(ctx: _Context, spec: TableSpec, key: _KeyHolder) -> DltResource:
    resource = _sql_table(ctx, spec, write_disposition="replace", primary_key=spec.primary_key)
    return resource.add_map(lambda t: _land(t, spec, key))


def _history_resource(ctx: _Context, spec: TableSpec, key: _KeyHolder) -> DltResource:
    # Merged on history_id rather than appended: a run killed after DuckDB committed a load job but
    # before dlt recorded it loads that job again on resume, and the key keeps its rows from doubling.
    resource = _sql_table(
        ctx, spec, write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=spec.primary_key,
        incremental=dlt.sources.incremental(spec.primary_key),
    )
    return resource.add_map(lambda t: _land(t, spec, key))


_FACTORIES = {"replace": _replace_resource, "modified": _merge_resource, "payment": _merge_resource,
              "history": _history_resource}


@dlt.source(name="os2bos")
def os2bos_source(
    credentials: str,
    key_loader: Callable[[], PseudonymKey],
    *,
    tables: tuple[str, ...] | None = None,
    backend: Backend = "auto",
    schema: str | None = None,
    chunk_size: int = 100_000,
    duckdb_config: dict[str, str | int] | None = None,
) -> list[DltResource]:
    """All OS2bos tables from a SQLAlchemy URL (`sqlite:///…` or `postgresql+psycopg2://…`).

    Nothing connects and `key_loader` is not called until data flows, so the asset graph can be
    built without the database or the secret. `tables` limits the load to some tables; `backend`
    forces "duckdb" (SQLite only), "pyarrow" or "connectorx" (default: per table and dialect);
    `schema` is the source schema (PostgreSQL `public` by default); `duckdb_config` gives the
    DuckDB client that reads SQLite its memory limit, threads and temp directory.
    """
    ctx = _Context(credentials, schema, backend, chunk_size, dialect_of(credentials),
                   duckdb_config or DEFAULT_DUCKDB_CONFIG)
    if backend == "duckdb" and ctx.dialect != "sqlite":
        raise ValueError(f"the duckdb backend reads SQLite files only, not {ctx.dialect}")
    key = _KeyHolder(key_loader)
    selected = OS2BOS_TABLES if tables is None else tables
    unknown = set(selected) - set(TABLE_SPECS)
    if unknown:
        raise ValueError(f"unknown OS2bos tables: {sorted(unknown)}")
    resources = []
    for t in selected:
        resource = _FACTORIES[TABLE_SPECS[t].strategy](ctx, TABLE_SPECS[t], key)
        # plain sql_table resources are read in parallel threads; the merged ones iterate an
        # inner sql_table and run in the main thread (dlt's context is not thread-safe there)
        resources.append(resource if TABLE_SPECS[t].strategy in ("modified", "payment") else resource.parallelize())
    return resources


def load_summary(pipeline: dlt.Pipeline) -> dict[str, dict[str, Any]]:
    """What moved per raw table in the pipeline's last run: rows written and keys deleted.

    `rows` counts rows inserted or updated (for replace tables: the whole table), `deleted` the
    keys removed because they disappeared from the source.
    """
    trace = pipeline.last_trace
    normalize = trace.last_normalize_info if trace else None
    counts = dict(normalize.row_counts) if normalize else {}
    resources = pipeline.state.get("sources", {}).get("os2bos", {}).get("resources", {})
    summary: dict[str, dict[str, Any]] = {}
    for table, spec in TABLE_SPECS.items():
        if table not in counts and table not in resources:
            continue
        run = resources.get(table, {}).get("last_run", {}) if spec.strategy in ("modified", "payment") else {}
        deleted = run.get("deleted", 0)
        summary[table] = {
            "strategy": spec.strategy,
            "rows": counts.get(table, 0) - deleted,
            "deleted": deleted,
            **({"reread_missing": run.get("reread_missing", 0)} if run else {}),
        }
    return summary
