"""Command line for data engineers: refresh, status, rollback, prune, validate, key rotation.

    python -m orchestration refresh            run the nightly job once, publish if every check passes
    python -m orchestration status             the serving version, its tables, kept versions, last runs
    python -m orchestration rollback [--to V]  serve the previous (or a named) published version again
    python -m orchestration prune --keep N     delete all but the newest N published versions
    python -m orchestration validate           run the Great Expectations suites on the current files
    python -m orchestration rotate-pseudonym-key --new-key-file F --new-version V
                                               re-key every pseudonym in the raw layer (docs/operations.md)
    python -m orchestration instance           render DAGSTER_HOME/dagster.yaml (SQLite, or PostgreSQL)

Runs use the Dagster instance in DAGSTER_HOME, so they appear in the Dagster UI's history.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb
from dagster import DagsterInstance, ExecuteInProcessResult, RunsFilter

from orchestration.instance import get_instance, render_instance_config
from orchestration.publish import list_versions, prune, rollback
from orchestration.resources import settings


_INSTANCE: list[DagsterInstance] = []


def _instance() -> DagsterInstance:
    """The Dagster instance of DAGSTER_HOME (SQLite, or PostgreSQL in the production profile)."""
    if not _INSTANCE:
        _INSTANCE.append(get_instance(settings()))
    return _INSTANCE[0]


def _published(result: ExecuteInProcessResult) -> bool:
    return any(
        event.asset_key is not None and event.asset_key.to_user_string() == "serving_warehouse"
        for event in result.get_asset_materialization_events()
    )


def refresh(job_name: str) -> int:
    from orchestration.definitions import defs

    started = time.perf_counter()
    print(f"[refresh] warehouse home {settings().home}")
    result = defs.resolve_job_def(job_name).execute_in_process(
        instance=_instance(),
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )
    for event in result.all_events:
        if event.is_step_failure:
            print(f"[refresh] step {event.step_key} failed: {event.event_specific_data.error.message.strip()}")
    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed]
    print(f"[refresh] checks: {len(evaluations) - len(failed)} passed, {len(failed)} failed")
    for evaluation in failed:
        print(
            f"[refresh] check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} "
            f"FAILED ({evaluation.severity.value}): {evaluation.description or ''}"
        )
    elapsed = time.perf_counter() - started
    if result.success and _published(result):
        print(f"[refresh] published {settings().serving_path} in {elapsed:.0f} s (run {result.run_id})")
        return 0
    print(f"[refresh] NOT published: the serving file keeps its previous version (run {result.run_id}, {elapsed:.0f} s)")
    return 1


def status(limit: int = 5) -> int:
    s = settings()
    versions = list_versions(s.serving_path)
    current = next((v for v in versions if v.is_current), None)
    print(f"serving file: {s.serving_path}")
    if current is None:
        print("  not published yet")
    else:
        print(f"  version {current.name}")
        with duckdb.connect(str(s.serving_path), read_only=True, config=s.duckdb_config()) as connection:
            for schema, table, rows in connection.sql(
                "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() ORDER BY ALL"
            ).fetchall():
                print(f"  {schema}.{table}: ~{rows} rows")
    print(f"kept versions ({len(versions)}, newest first; keep {s.keep_versions}):")
    for version in versions:
        print(f"  {'*' if version.is_current else ' '} {version.name}")
    instance = _instance()
    print(f"last runs (Dagster instance {_storage_name(instance)}):")
    runs = instance.get_runs(RunsFilter(), limit=limit)
    if not runs:
        print("  none yet")
    for run in runs:
        stats = instance.get_run_stats(run.run_id)
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(stats.start_time)) if stats.start_time else "-"
        trigger = run.tags.get("dagster/schedule_name") or run.tags.get("dagster/sensor_name") or "manual"
        print(f"  {started}  {run.job_name:16} {run.status.value:10} {trigger:24} {run.run_id}")
    return 0


def _storage_name(instance: DagsterInstance) -> str:
    """Where run history lives, without credentials: 'PostgreSQL db@host' or 'SQLite <folder>'."""
    storage = type(instance.run_storage).__name__
    if "Postgres" in storage:
        from urllib.parse import urlsplit

        url = urlsplit(settings().dagster_storage_url or "")
        return f"PostgreSQL {url.path.lstrip('/')}@{url.hostname}:{url.port or 5432}"
    return f"SQLite {settings().dagster_home}"


def rollback_command(to: str | None) -> int:
    try:
        version = rollback(settings().serving_path, to)
    except ValueError as error:
        print(f"[rollback] {error}", file=sys.stderr)
        return 1
    print(f"[rollback] serving version {version.name} again ({settings().serving_path})")
    return 0


def validate(every_row: bool = False) -> int:
    from expectations.suites import SUITES
    from expectations.validate import build_data_docs_index, run_warehouse_suite

    s = settings()
    errors = 0
    for spec in SUITES:
        outcome = run_warehouse_suite(
            spec, s.raw_path, s.build_path, s.duckdb_config(), quality_dir=s.quality_dir, today=s.run_date(),
            every_row=every_row,
        )
        verdict = "passed" if not outcome.failures else ("FAILED" if outcome.errors else "passed with warnings")
        print(f"[validate] {spec.name} on {outcome.table} ({outcome.rows} rows, {outcome.rows_reused} passed "
              f"before): {verdict}")
        for failure in outcome.failures:
            print(f"[validate]     {failure.severity}: {failure.describe()}")
        errors += len(outcome.errors)
    print(f"[validate] Data Docs: {build_data_docs_index(s.quality_dir)}")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("refresh", help="run a job once and publish if every check passes")
    run.add_argument("--job", default="nightly_refresh", choices=["nightly_refresh", "finance_refresh"])
    state = commands.add_parser("status", help="show the serving version, kept versions and last runs")
    state.add_argument("--runs", type=int, default=5, help="how many recent runs to list (default 5)")
    back = commands.add_parser("rollback", help="serve an earlier published version again")
    back.add_argument("--to", help="version name (see status); default: the one before the current")
    trim = commands.add_parser("prune", help="delete all but the newest published versions (never the served one)")
    trim.add_argument("--keep", type=int, required=True, help="how many versions to keep (at least 1)")
    rotate = commands.add_parser("rotate-pseudonym-key", help="re-key the raw layer's pseudonyms with a new key")
    rotate.add_argument("--new-key-file", type=Path, required=True, help="file holding the new key (>= 32 bytes)")
    rotate.add_argument("--new-version", required=True, help="the new key's version label, e.g. 2027-01")
    check = commands.add_parser("validate", help="run the Great Expectations suites on the current raw and build files")
    check.add_argument("--every-row", action="store_true",
                       help="stream every row to GX, also rows it passed in an earlier run")
    commands.add_parser("instance", help="render DAGSTER_HOME/dagster.yaml from the settings (run before the "
                                         "webserver and daemon start)")
    args = parser.parse_args(argv)
    if args.command == "refresh":
        return refresh(args.job)
    if args.command == "status":
        return status(args.runs)
    if args.command == "instance":
        path = render_instance_config(settings())
        print(f"[instance] {path}: {'PostgreSQL' if settings().dagster_storage_url else 'SQLite'} storage")
        return 0
    if args.command == "rollback":
        return rollback_command(args.to)
    if args.command == "prune":
        removed = prune(settings().serving_path, args.keep)
        print(f"[prune] deleted {len(removed)} versions: {', '.join(path.name for path in removed) or 'none'}")
        return 0
    if args.command == "rotate-pseudonym-key":
        from orchestration.rotation import rotate_pseudonym_key

        return rotate_pseudonym_key(args.new_key_file, args.new_version)
    return validate(args.every_row)


if __name__ == "__main__":
    sys.exit(main())
