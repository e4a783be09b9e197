"""Command line for data engineers: `python -m orchestration refresh`.

Runs the nightly job once in this process against the Dagster instance in DAGSTER_HOME (so
the run shows up in the Dagster UI's history) and prints what happened to each step.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from dagster import DagsterInstance, ExecuteInProcessResult

from orchestration.resources import settings


def _instance() -> DagsterInstance:
    home = settings().home / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DAGSTER_HOME", str(home))
    return DagsterInstance.get()


def refresh() -> int:
    from orchestration.definitions import defs

    started = time.perf_counter()
    print(f"[refresh] warehouse home {settings().home}")
    job = defs.resolve_job_def("nightly_refresh")
    result = job.execute_in_process(
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
    published = _published(result)
    elapsed = time.perf_counter() - started
    if result.success and published:
        print(f"[refresh] published {settings().serving_path} in {elapsed:.0f} s (run {result.run_id})")
        return 0
    print(f"[refresh] NOT published: the serving file keeps its previous version (run {result.run_id}, {elapsed:.0f} s)")
    return 1


def _published(result: ExecuteInProcessResult) -> bool:
    return any(
        event.asset_key is not None and event.asset_key.to_user_string() == "serving_warehouse"
        for event in result.get_asset_materialization_events()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("refresh", help="run the nightly refresh once and publish if every check passes")
    args = parser.parse_args(argv)
    if args.command == "refresh":
        return refresh()
    return 2


if __name__ == "__main__":
    sys.exit(main())
