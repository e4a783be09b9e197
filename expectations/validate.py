"""Run a suite against a table in a DuckDB file, summarise the outcome by severity, keep the
result for Data Docs.

How a suite runs (memory stays bounded by `batch_rows`, not by the table):
1. schema: `SELECT * ... LIMIT 0` → GX `ExpectTableColumnsToMatchSet` (exact_match=False);
2. row-level expectations: the needed columns are streamed with `fetch_record_batch`; GX
   validates every batch and the unexpected counts are added up. With a quality_dir, only rows
   whose values GX has not passed before are streamed; the rows it passed in an earlier run are
   counted in DuckDB and added to the results (`validated_rows`);
3. metrics (uniqueness, references, date order and windows, freshness, row counts, volume,
   reconciliations): one SQL query each, run by DuckDB, one number each; GX evaluates
   `ExpectColumnValuesToBeBetween` on the one-row frame of all of them.
The per-expectation results are merged into one GX suite validation result per suite run,
stored in a file-backed GX context under `<quality_dir>/gx/` and rendered into the Data Docs
site `<quality_dir>/data_docs/` (history included), when a quality_dir is given.

GX's SQL data source fails on DuckDB (results are read after the connection closes), so
batches are pandas DataFrames read from DuckDB. The DuckDB file is opened read-only and closed
before this module returns (single writer).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import fcntl
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import duckdb  # noqa: E402
import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
from great_expectations.core.expectation_validation_result import (  # noqa: E402
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.data_context.types.resource_identifiers import (  # noqa: E402
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from expectations import validated_rows  # noqa: E402
from expectations.suites import ERROR, Expect, Layer, Metric, SuiteSpec, Volume  # noqa: E402

BATCH_ROWS = 500_000  # rows per streamed record batch: ~tens of MB for a handful of columns
VALIDATION_MEMORY_LIMIT = "1GB"  # DuckDB's share while validating (GROUP BY / joins spill beyond it)
KEEP_RESULTS_PER_SUITE = 60  # validation results (and Data Docs pages) kept per suite
VOLUME_HISTORY_FILE = "volume_history.json"
SITE_NAME = "warehouse_quality"


# ---------------------------------------------------------------------------------------------
# Outcome


@dataclass(frozen=True)
class Failure:
    expectation: str  # GX expectation type (snake case) or, for a metric, its name
    column: str | None
    severity: str
    unexpected_count: int | None
    error: str | None
    detail: str | None = None  # a metric's description: set for pushed-down checks
    observed: float | None = None
    unit: str = "unexpected rows"
    bounds: tuple[float | None, float | None] | None = None

    def describe(self) -> str:
        if self.detail is not None:
            if self.error:
                return f"{self.detail}: {self.error}"
            allowed = ""
            if self.bounds and self.bounds != (0, 0):
                low, high = self.bounds
                allowed = f" (allowed {_number(low) if low is not None else '…'}..{_number(high) if high is not None else '…'})"
            return f"{self.detail}: {_number(self.observed)} {self.unit}{allowed}"
        where = f" on {self.column}" if self.column else ""
        what = f"{self.unexpected_count} unexpected rows" if self.unexpected_count else (self.error or "failed")
        return f"{self.expectation}{where}: {what}"


def _number(value: float | None) -> str:
    if value is None:
        return "NULL"
    return f"{int(value)}" if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    table: str
    rows: int
    evaluated: int
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    data_docs: Path | None = None  # this result's Data Docs page, when Data Docs were built
    rows_reused: int = 0  # of `rows`, those GX passed in an earlier run (not streamed again)

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == ERROR]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity != ERROR]

    @property
    def passed(self) -> bool:
        """True when no error-severity expectation failed (warnings do not block)."""
        return not self.errors


# ---------------------------------------------------------------------------------------------
# Volume history: <quality_dir>/volume_history.json, {"schema.table": [{"at": ..., "rows": n}, ...]}


def volume_history_path(quality_dir: Path) -> Path:
    return Path(quality_dir) / VOLUME_HISTORY_FILE


def load_volume_history(quality_dir: Path) -> dict[str, list[dict[str, Any]]]:
    path = volume_history_path(quality_dir)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return {}  # a damaged file only loses the baseline; the next run starts a new one


def previous_row_count(quality_dir: Path, table: str) -> int | None:
    entries = load_volume_history(quality_dir).get(table) or []
    return int(entries[-1]["rows"]) if entries else None


def record_row_count(quality_dir: Path, table: str, rows: int, at: dt.datetime | None = None, keep: int = 30) -> None:
    """Append a validated row count (atomic replace of the JSON file)."""
    path = volume_history_path(quality_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    history = load_volume_history(quality_dir)
    at = at or dt.datetime.now(dt.timezone.utc)
    history[table] = [*history.get(table, []), {"at": at.isoformat(timespec="seconds"), "rows": int(rows)}][-keep:]
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(history, indent=1, sort_keys=True), encoding="utf-8")
    temporary.replace(path)


def volume_bounds(previous: int | None, volume: Volume) -> tuple[float, float | None]:
    if previous is None:
        return 0, None
    return (int(previous * (1 - volume.max_drop)), int(previous * volume.max_growth) + volume.growth_slack)


# ---------------------------------------------------------------------------------------------
# GX contexts: one per process and folder (file-backed), or one ephemeral


_CONTEXTS: dict[str, Any] = {}


def _context(quality_dir: Path | None) -> Any:
    key = str(Path(quality_dir).resolve()) if quality_dir else ""
    if key in _CONTEXTS:
        return _CONTEXTS[key]
    if quality_dir is None:
        context = gx.get_context(mode="ephemeral")
    else:
        quality_dir = Path(quality_dir)
        quality_dir.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(quality_dir))
        site_dir = (quality_dir / "data_docs").resolve()
        site_config = {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
        sites = context.list_data_docs_sites()
        if SITE_NAME not in sites:
            for name in list(sites):  # the default local_site inside gx/uncommitted is not used
                context.delete_data_docs_site(name)
            context.add_data_docs_site(SITE_NAME, site_config)
        elif sites[SITE_NAME].get("store_backend", {}).get("base_directory") != str(site_dir):
            context.update_data_docs_site(SITE_NAME, site_config)
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    _CONTEXTS[key] = context
    return context


def _batch_definition(context: Any, spec: SuiteSpec, part: str) -> Any:
    source_name = f"{spec.layer.value}_frames"
    try:
        source = context.data_sources.get(source_name)
    except Exception:  # noqa: BLE001 (GX raises different errors for a missing source)
        source = context.data_sources.add_pandas(source_name)
    asset_name = f"{spec.schema}.{spec.table}.{part}"
    try:
        asset = source.get_asset(asset_name)
    except Exception:  # noqa: BLE001
        asset = source.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition("whole_frame")
    except Exception:  # noqa: BLE001
        return asset.add_batch_definition_whole_dataframe("whole_frame")


@contextlib.contextmanager
def _locked(quality_dir: Path | None) -> Iterator[None]:
    """One writer of the GX store and the site at a time (a refresh and a manual validate)."""
    if quality_dir is None:
        yield
        return
    Path(quality_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(quality_dir) / ".gx.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------------------------
# Turning declarations into GX expectations


def _gx_row_expectation(expectation: Expect) -> Any:
    kwargs = dict(expectation.kwargs)
    if expectation.why:
        kwargs.setdefault("notes", expectation.why)
    return getattr(gxe, expectation.name)(**kwargs, severity=expectation.severity)


def _gx_metric_expectation(metric: Metric, bounds: tuple[float | None, float | None]) -> Any:
    low, high = bounds
    return gxe.ExpectColumnValuesToBeBetween(
        column=metric.name, min_value=low, max_value=high, severity=metric.severity,
        description=f"{metric.description} ({metric.unit}; pushed down to DuckDB)",
        notes=metric.why or None,
    )


def _gx_schema_expectation(spec: SuiteSpec) -> Any:
    return gxe.ExpectTableColumnsToMatchSet(
        column_set=list(spec.columns_present), exact_match=False, severity=ERROR,
        notes="a missing column breaks the dbt staging models that read it",
    )


def _validate(context: Any, spec: SuiteSpec, part: str, frame: pd.DataFrame, expectations: list[Any]) -> list[Any]:
    if not expectations:
        return []
    suite = gx.ExpectationSuite(name=f"{spec.name}.{part}", expectations=expectations)
    batch = _batch_definition(context, spec, part).get_batch(batch_parameters={"dataframe": frame})
    return list(batch.validate(suite).results)


def _validate_rows(
    connection: duckdb.DuckDBPyConnection, context: Any, spec: SuiteSpec, row_level: list[Expect], columns: list[str],
    types: dict[str, str], batch_rows: int, remembered: validated_rows.ValidatedRows | None,
) -> tuple[list[Any], int, int]:
    """Stream the rows GX has not passed before (all of them without `remembered`) in record
    batches, validate each, and merge the results with the counts of the rows passed before.
    Returns the merged results, the table's rows and, of those, the rows passed before."""
    selected = ", ".join(_select(c, types) for c in columns)
    hashed_rows = (f"SELECT {selected}, {validated_rows.row_hash(columns, types)} AS {validated_rows.HASH_COLUMN} "
                   f"FROM {spec.qualified_table}")
    query = remembered.unseen(hashed_rows) if remembered else hashed_rows
    per_batch: list[list[Any]] = []
    passed_now: list[pa.Array] = []  # hashes of the streamed rows every expectation passed
    rows = 0
    for record_batch in connection.sql(query).fetch_record_batch(batch_rows):
        frame = record_batch.select(columns).to_pandas()
        rows += len(frame)
        batch_results = _validate(context, spec, "rows", frame, [_gx_row_expectation(e) for e in row_level])
        per_batch.append(batch_results)
        if remembered is not None:
            passed_now.append(_passed_hashes(context, spec, frame, row_level, batch_results,
                                             record_batch.column(validated_rows.HASH_COLUMN)))
        del frame
    if not per_batch:  # no row streamed (an empty table, or nothing new): GX still evaluates each expectation
        per_batch.append(_validate(context, spec, "rows", pd.DataFrame({c: [] for c in columns}),
                                   [_gx_row_expectation(e) for e in row_level]))
    rows_reused, reused = 0, [validated_rows.Reused(0, 0)] * len(row_level)
    if remembered is not None:
        rows_reused, reused = remembered.reused(connection, hashed_rows, row_level)
        remembered.replace(connection, hashed_rows, passed_now)
    return _merge_row_results(per_batch, reused), rows + rows_reused, rows_reused


def _passed_hashes(context: Any, spec: SuiteSpec, frame: pd.DataFrame, row_level: list[Expect],
                   batch_results: list[Any], hashes: pa.Array) -> pa.Array:
    """The hashes of the batch's rows that passed every expectation. Where an expectation failed,
    GX is asked again, on this batch and for the failed expectations only, which rows it rejected."""
    failed = [e for e, r in zip(row_level, batch_results, strict=True) if not r.success]
    if not failed:
        return hashes
    if any(_exception(r) for r in batch_results):
        return hashes.slice(0, 0)  # no row-level verdict: none of the batch's rows is kept
    suite = gx.ExpectationSuite(name=f"{spec.name}.rows.failed", expectations=[_gx_row_expectation(e) for e in failed])
    batch = _batch_definition(context, spec, "rows").get_batch(batch_parameters={"dataframe": frame})
    rejected: set[int] = set()
    for result in batch.validate(suite, result_format="COMPLETE").results:
        rejected.update((result.result or {}).get("unexpected_index_list") or [])
    keep = pa.array([position not in rejected for position in range(len(frame))], type=pa.bool_())
    return hashes.filter(keep)


def _merge_row_results(per_batch: list[list[Any]], reused: list[validated_rows.Reused]) -> list[Any]:
    """Add up the counts of one expectation over all batches (results in suite order) and the rows
    that passed it in an earlier run (`reused`, see validated_rows)."""
    merged = []
    for results, earlier in zip(zip(*per_batch, strict=True), reused, strict=True):
        failed_with_exception = next((r for r in results if r.exception_info and
                                      r.exception_info.get("raised_exception")), None)
        if failed_with_exception is not None:
            merged.append(failed_with_exception)
            continue
        combined = copy.deepcopy(results[-1])
        summary = dict(combined.result or {})
        element = earlier.element_count + sum((r.result or {}).get("element_count", 0) or 0 for r in results)
        missing = earlier.missing_count + sum((r.result or {}).get("missing_count", 0) or 0 for r in results)
        unexpected = sum((r.result or {}).get("unexpected_count", 0) or 0 for r in results)
        partial: list[Any] = []
        for r in results:
            partial.extend((r.result or {}).get("partial_unexpected_list", []) or [])
        partial = partial[:20]
        if "element_count" in summary:
            nonmissing = element - missing
            summary.update({
                "element_count": element, "missing_count": missing, "unexpected_count": unexpected,
                "missing_percent": 100.0 * missing / element if element else None,
                "unexpected_percent": 100.0 * unexpected / nonmissing if nonmissing else None,
                "unexpected_percent_total": 100.0 * unexpected / element if element else None,
                "unexpected_percent_nonmissing": 100.0 * unexpected / nonmissing if nonmissing else None,
                "partial_unexpected_list": partial,
                "partial_unexpected_counts": [
                    {"value": value, "count": count}
                    for value, count in Counter(map(_hashable, partial)).most_common(20)
                ],
            })
            summary.pop("partial_unexpected_index_list", None)
        combined.result = summary
        combined.success = all(r.success for r in results)
        merged.append(combined)
    return merged


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _severity(result: Any, fallback: str) -> str:
    severity = getattr(result.expectation_config, "severity", None)
    if severity is None:
        return fallback
    return str(getattr(severity, "value", severity)).lower()


def _exception(result: Any) -> str | None:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return info.get("exception_message")
    return None


def _failed_result(expectation: Any, message: str) -> ExpectationValidationResult:
    return ExpectationValidationResult(
        success=False, expectation_config=expectation.configuration,
        exception_info={"raised_exception": True, "exception_message": message, "exception_traceback": None},
    )


# ---------------------------------------------------------------------------------------------
# Running a suite


def run_suite(
    spec: SuiteSpec,
    database: Path,
    duckdb_config: dict[str, str | int] | None = None,
    *,
    quality_dir: Path | None = None,
    today: dt.date | None = None,
    run_name: str | None = None,
    attach: dict[str, Path] | None = None,
    batch_rows: int = BATCH_ROWS,
    build_docs: bool = True,
    every_row: bool = False,
) -> SuiteOutcome:
    """Validate `spec` against its table in `database`, opened read-only and closed on return.

    quality_dir: `<WAREHOUSE_HOME>/quality`; when given, the volume history is read and (if no
    error failed) updated there, and the result is stored and rendered into Data Docs.
    attach: further DuckDB files to attach read-only under a catalog name (e.g. {"raw": raw_path}
    for a mart suite that reconciles against the raw layer).
    every_row: stream every row to GX, even those it passed in an earlier run (the record of
    passed rows is written afresh).
    """
    started = time.perf_counter()
    today = today or dt.date.today()
    config = {**(duckdb_config or {}), "memory_limit": _smaller_memory(duckdb_config)}
    context = _context(quality_dir)
    results: list[Any] = []  # in declaration order: schema, row-level, metrics
    severities: list[str] = []
    failures: list[Failure] = []
    metric_values: dict[str, float | None] = {}
    metric_bounds: dict[str, tuple[float | None, float | None]] = {}
    rows = 0
    rows_reused = 0

    with duckdb.connect(str(database), read_only=True, config=config) as connection:
        for catalog, path in (attach or {}).items():
            connection.execute(f"ATTACH '{Path(path)}' AS \"{catalog}\" (READ_ONLY)")
        try:
            relation = connection.sql(f"SELECT * FROM {spec.qualified_table} LIMIT 0")
            types = {name: str(kind) for name, kind in zip(relation.columns, relation.types, strict=True)}
            empty = relation.df()
        except duckdb.Error as error:
            message = f"table {spec.schema}.{spec.table} cannot be read: {str(error).splitlines()[0]}"
            return SuiteOutcome(spec.name, f"{spec.schema}.{spec.table}", 0, 1,
                                [Failure("table_exists", None, ERROR, None, message)],
                                time.perf_counter() - started)

        # 1. schema
        if spec.columns_present:
            results += _validate(context, spec, "schema", empty, [_gx_schema_expectation(spec)])
            severities.append(ERROR)

        # 2. row-level expectations, streamed
        readable = set(empty.columns) | set(spec.optional_columns)
        row_level = [e for e in spec.row_level if all(c in readable for c in e.columns())]
        missing = [e for e in spec.row_level if e not in row_level]
        columns = [c for c in spec.columns() if c in readable]
        if row_level:
            remembered = None
            if quality_dir is not None and validated_rows.reusable(row_level):
                remembered = validated_rows.ValidatedRows(
                    quality_dir, spec, validated_rows.fingerprint(row_level, columns, types))
                if not every_row:
                    remembered.attach(connection)
            row_results, rows, rows_reused = _validate_rows(connection, context, spec, row_level, columns, types,
                                                            batch_rows, remembered)
            results += row_results
            severities += [e.severity for e in row_level]
        for expectation in missing:
            gx_expectation = _gx_row_expectation(expectation)
            absent = [c for c in expectation.columns() if c not in empty.columns]
            results.append(_failed_result(gx_expectation, f"column {', '.join(absent)} is missing"))
            severities.append(expectation.severity)

        # 3. metrics, pushed down to DuckDB
        metrics = list(spec.metrics)
        if spec.volume is not None:
            metrics.append(Metric("volume_row_count", "SELECT count(*) FROM {table}", spec.volume.severity,
                                  description="row count against the previous validated run", unit="rows",
                                  why="a load that lost or multiplied rows; a warning, the cause may be real"))
        if not row_level or metrics:
            rows = rows or connection.sql(f"SELECT count(*) FROM {spec.qualified_table}").fetchone()[0]
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for metric in metrics:
            sql = metric.sql.format(table=spec.qualified_table, today=f"DATE '{today.isoformat()}'")
            try:
                (value,) = connection.sql(sql).fetchone()
                values[metric.name] = None if value is None else float(value)
            except duckdb.Error as error:
                errors[metric.name] = f"query failed: {str(error).splitlines()[0]}"
    # the DuckDB file is closed here

    previous = None
    if spec.volume is not None:
        previous = previous_row_count(quality_dir, spec_key(spec)) if quality_dir else None
    for metric in metrics:
        if metric.name == "volume_row_count":
            metric_bounds[metric.name] = volume_bounds(previous, spec.volume)
            if previous is not None:
                metric = Metric(metric.name, metric.sql, metric.severity,
                                description=f"row count against the previous validated run ({previous})",
                                unit="rows", why=metric.why)
        else:
            metric_bounds[metric.name] = (metric.min_value, metric.max_value)
        metric_values[metric.name] = values.get(metric.name)
    evaluated = [m for m in metrics if m.name not in errors]
    if evaluated:
        frame = pd.DataFrame({m.name: [values[m.name]] for m in evaluated})
        gx_metric_expectations = []
        for m in evaluated:
            described = m if m.name != "volume_row_count" or previous is None else Metric(
                m.name, m.sql, m.severity, description=f"row count against the previous validated run ({previous})",
                unit="rows", why=m.why)
            gx_metric_expectations.append(_gx_metric_expectation(described, metric_bounds[m.name]))
        metric_results = dict(zip([m.name for m in evaluated],
                                  _validate(context, spec, "metrics", frame, gx_metric_expectations), strict=True))
    else:
        metric_results = {}
    for metric in metrics:
        if metric.name in errors:
            result = _failed_result(_gx_metric_expectation(metric, metric_bounds[metric.name]), errors[metric.name])
        else:
            result = metric_results[metric.name]
            if values[metric.name] is None and result.success:  # NULL is not a pass for a metric
                result = _failed_result(_gx_metric_expectation(metric, metric_bounds[metric.name]),
                                        "the query returned NULL")
        results.append(result)
        severities.append(metric.severity)

    # summarise
    metric_by_position = {len(results) - len(metrics) + i: m for i, m in enumerate(metrics)}
    for position, result in enumerate(results):
        if result.success:
            continue
        config_ = result.expectation_config
        severity = _severity(result, severities[position])
        metric = metric_by_position.get(position)
        if metric is not None:
            description = metric.description
            if metric.name == "volume_row_count" and previous is not None:
                description = f"row count against the previous validated run ({previous})"
            failures.append(Failure(
                expectation=metric.name, column=None, severity=severity, unexpected_count=None,
                error=_exception(result), detail=description, observed=metric_values.get(metric.name),
                unit=metric.unit, bounds=metric_bounds[metric.name],
            ))
            continue
        failures.append(Failure(
            expectation=config_.type,
            column=config_.kwargs.get("column") or ", ".join(config_.kwargs.get("column_list", [])) or None,
            severity=severity,
            unexpected_count=(result.result or {}).get("unexpected_count"),
            error=_exception(result),
        ))

    if quality_dir is not None and spec.volume is not None and not any(f.severity == ERROR for f in failures):
        rows_now = values.get("volume_row_count")
        if rows_now is not None:
            record_row_count(quality_dir, spec_key(spec), int(rows_now))

    page = None
    if quality_dir is not None:
        page = _store_and_render(context, Path(quality_dir), spec, results, rows, rows_reused, run_name,
                                 build_docs, today)
    return SuiteOutcome(spec.name, f"{spec.schema}.{spec.table}", int(rows), len(results), failures,
                        time.perf_counter() - started, page, rows_reused)


def run_warehouse_suite(
    spec: SuiteSpec, raw_path: Path, build_path: Path, duckdb_config: dict[str, str | int], **options: Any,
) -> SuiteOutcome:
    """`run_suite` on the file the suite's layer lives in: a raw suite on the raw file, a mart suite on
    the build file with the raw file attached as `raw` (its reconciliations read both)."""
    if spec.layer is Layer.RAW:
        return run_suite(spec, raw_path, duckdb_config, **options)
    return run_suite(spec, build_path, duckdb_config, attach={"raw": raw_path}, **options)


def _select(column: str, types: dict[str, str]) -> str:
    """Decimals as DOUBLE (GX compares floats fast, Decimal objects slowly); absent optional columns as NULL."""
    if column not in types:
        return f'NULL AS "{column}"'
    if types[column].startswith("DECIMAL"):
        return f'CAST("{column}" AS DOUBLE) AS "{column}"'
    return f'"{column}"'


def spec_key(spec: SuiteSpec) -> str:
    prefix = "build." if spec.layer.value == "build" else ""
    return f"{prefix}{spec.schema}.{spec.table}"


def _smaller_memory(duckdb_config: dict[str, str | int] | None) -> str:
    """The configured memory limit, capped at VALIDATION_MEMORY_LIMIT (validation is a reader)."""
    configured = str((duckdb_config or {}).get("memory_limit") or VALIDATION_MEMORY_LIMIT)
    return min(configured, VALIDATION_MEMORY_LIMIT, key=_bytes)


def _bytes(size: str) -> float:
    units = {"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "B": 1}
    text = size.strip().upper().replace(" ", "")
    for unit, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


# ---------------------------------------------------------------------------------------------
# Storing results and Data Docs


def _full_suite(spec: SuiteSpec) -> gx.ExpectationSuite:
    """The suite as Data Docs shows it: schema, row-level and metric expectations."""
    expectations = []
    if spec.columns_present:
        expectations.append(_gx_schema_expectation(spec))
    expectations += [_gx_row_expectation(e) for e in spec.row_level]
    expectations += [_gx_metric_expectation(m, (m.min_value, m.max_value)) for m in spec.metrics]
    if spec.volume is not None:
        expectations.append(_gx_metric_expectation(
            Metric("volume_row_count", "", spec.volume.severity, description=(
                f"row count within −{spec.volume.max_drop:.0%} and ×{spec.volume.max_growth:g} "
                f"(+{spec.volume.growth_slack}) of the previous validated run"), unit="rows"), (0, None)))
    return gx.ExpectationSuite(name=spec.name, expectations=expectations,
                               meta={"table": f"{spec.schema}.{spec.table}", "layer": spec.layer.value})


def _store_and_render(context: Any, quality_dir: Path, spec: SuiteSpec, results: list[Any], rows: int,
                      rows_reused: int, run_name: str | None, build_docs: bool, today: dt.date) -> Path | None:
    with _locked(quality_dir):
        context.suites.add_or_update(_full_suite(spec))
        run_time = dt.datetime.now(dt.timezone.utc)
        run_id = RunIdentifier(run_name=run_name or "validate", run_time=run_time)
        batch_identifier = f"{spec.schema}.{spec.table}"
        statistics = {
            "evaluated_expectations": len(results),
            "successful_expectations": sum(1 for r in results if r.success),
            "unsuccessful_expectations": sum(1 for r in results if not r.success),
        }
        statistics["success_percent"] = (100.0 * statistics["successful_expectations"] / len(results)
                                         if results else None)
        suite_result = ExpectationSuiteValidationResult(
            success=all(r.success or _severity(r, ERROR) != ERROR for r in results),
            results=results, suite_name=spec.name, statistics=statistics,
            meta={
                "great_expectations_version": gx.__version__,
                "run_id": run_id,
                "validation_time": run_time,
                "batch_spec": {"table": batch_identifier, "rows": int(rows), "run_date": today.isoformat(),
                               "rows_passed_in_earlier_runs": int(rows_reused)},
                "active_batch_definition": {"datasource_name": f"{spec.layer.value}.duckdb",
                                            "data_connector_name": "pushed_down_and_streamed",
                                            "data_asset_name": batch_identifier,
                                            "batch_definition_name": "whole_table"},
            },
            batch_id=batch_identifier,
        )
        suite_identifier = ExpectationSuiteIdentifier(name=spec.name)
        result_identifier = ValidationResultIdentifier(suite_identifier, run_id, batch_identifier)
        context.validation_results_store.set(result_identifier, suite_result)
        _prune(context, quality_dir, spec.name)
        if not build_docs:
            return None
        # This result's page and its suite's page only: the index reads every stored result (60 per
        # suite), so it is built once per run (build_data_docs_index), not once per suite.
        context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=[suite_identifier, result_identifier],
                                build_index=False)
        (site,) = context.get_docs_sites_urls(resource_identifier=result_identifier, site_name=SITE_NAME,
                                              only_if_exists=False)
        return Path(url2pathname(urlparse(site["site_url"]).path))


def _prune(context: Any, quality_dir: Path, suite_name: str, keep: int = KEEP_RESULTS_PER_SUITE) -> None:
    """Keep the newest `keep` results of a suite (and their pages): the site's history stays bounded."""
    store = context.validation_results_store
    keys = [k for k in store.list_keys()
            if getattr(k, "expectation_suite_identifier", None) is not None
            and k.expectation_suite_identifier.name == suite_name]
    keys.sort(key=lambda k: str(k.run_id.run_time))
    for key in keys[:-keep] if len(keys) > keep else []:
        store.remove_key(key)
        page = quality_dir / "data_docs" / "validations" / suite_name / key.run_id.run_name
        page = page / key.run_id.to_tuple()[1]
        shutil.rmtree(page, ignore_errors=True)


def build_data_docs(quality_dir: Path) -> Path:
    """Rebuild the whole Data Docs site from the stored results; returns its index.html."""
    quality_dir = Path(quality_dir)
    context = _context(quality_dir)
    with _locked(quality_dir):
        context.build_data_docs(site_names=[SITE_NAME])
    return quality_dir / "data_docs" / "index.html"


def build_data_docs_index(quality_dir: Path) -> Path:
    """Rebuild only the site's index (links to every stored result) and its static assets.

    Suite runs render their own pages; a run calls this once when its checks are done. Uses the
    context's site builder (GX 1.x, pinned in uv.lock): the public build_data_docs would also
    re-render every page when given no resources.
    """
    quality_dir = Path(quality_dir)
    context = _context(quality_dir)
    with _locked(quality_dir):
        site_config = context.variables.data_docs_sites[SITE_NAME]
        builder = context._init_site_builder_for_data_docs_site_creation(SITE_NAME, site_config)  # noqa: SLF001
        builder.target_store.copy_static_assets()
        builder.site_index_builder.build(build_index=True)
    return data_docs_index(quality_dir)


def data_docs_index(quality_dir: Path) -> Path:
    return Path(quality_dir) / "data_docs" / "index.html"
