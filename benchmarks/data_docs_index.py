"""Validating every suite with the Data Docs index rebuilt after each suite, or once per run.

    .venv/bin/python benchmarks/data_docs_index.py --home var --rounds 3

Runs every raw and mart suite against the home's raw and build files (read-only), into two
scratch quality folders: one rebuilds the index after every suite (what each check did before),
the other once at the end of the round (what a run does now). The rounds alternate between the
two, so both see the same machine load, and their history grows as a nightly one does. Prints a
Markdown table to paste into docs/benchmarks.md; compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from expectations.suites import SUITES  # noqa: E402
from expectations.validate import build_data_docs_index, run_warehouse_suite  # noqa: E402
from orchestration.settings import Settings  # noqa: E402


def validate_all(home: Path, quality_dir: Path, run_name: str, index_per_suite: bool) -> float:
    os.environ["WAREHOUSE_HOME"] = str(home)
    settings = Settings.from_env()
    started = time.perf_counter()
    for spec in SUITES:
        run_warehouse_suite(spec, settings.raw_path, settings.build_path, settings.duckdb_config(),
                            quality_dir=quality_dir, today=settings.run_date(), run_name=run_name)
        if index_per_suite:
            build_data_docs_index(quality_dir)
    if not index_per_suite:
        build_data_docs_index(quality_dir)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True, help="a refreshed WAREHOUSE_HOME (raw and build files)")
    parser.add_argument("--rounds", type=int, default=3, help="validation rounds per mode (the history grows)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="data-docs-bench-") as scratch:
        per_suite, once = Path(scratch) / "per_suite", Path(scratch) / "once"
        rows = []
        for round_number in range(1, args.rounds + 1):
            run_name = f"bench-{round_number}"
            seconds_per_suite = validate_all(args.home, per_suite, run_name, index_per_suite=True)
            seconds_once = validate_all(args.home, once, run_name, index_per_suite=False)
            rows.append((round_number, seconds_per_suite, seconds_once))
            print(f"round {round_number}: index per suite {seconds_per_suite:.1f} s, once {seconds_once:.1f} s",
                  flush=True)
    print(f"\n{len(SUITES)} suites, {platform.machine()}, {os.cpu_count()} cores\n")
    print("| round (results per suite) | index after every suite | index once per run | ratio |")
    print("|---|---|---|---|")
    for round_number, seconds_per_suite, seconds_once in rows:
        print(f"| {round_number} | {seconds_per_suite:.1f} s | {seconds_once:.1f} s | "
              f"{seconds_per_suite / seconds_once:.1f}× |")


if __name__ == "__main__":
    main()
