"""Great Expectations on every row against GX on the rows it has not passed before, in one run.

    .venv/bin/python benchmarks/validation_reuse.py --home /work/bench/large

Runs every suite (raw and marts) on a refreshed warehouse home's raw and build files three times,
into a scratch quality folder: every row streamed to GX (as each run did before
expectations/validated_rows.py), then the first run that keeps the passed rows, then a run with
nothing new. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import duckdb  # noqa: E402
import great_expectations as gx  # noqa: E402

from expectations.suites import SUITES  # noqa: E402
from expectations.validate import SuiteOutcome, run_warehouse_suite  # noqa: E402
from expectations.validated_rows import STATE_DIR  # noqa: E402


@dataclass(frozen=True)
class Pass:
    label: str
    seconds: float
    outcomes: list[SuiteOutcome]

    @property
    def rows(self) -> int:
        return sum(o.rows for o in self.outcomes)

    @property
    def streamed(self) -> int:
        return sum(o.rows - o.rows_reused for o in self.outcomes)

    def verdicts(self) -> list[tuple[str, list[str]]]:
        return [(o.suite, sorted(map(str, o.failures))) for o in self.outcomes]


def validate_all(label: str, raw: Path, build: Path, quality_dir: Path, config: dict, today: dt.date,
                 every_row: bool) -> Pass:
    started = time.perf_counter()
    outcomes = [run_warehouse_suite(spec, raw, build, config, quality_dir=quality_dir, today=today,
                                    build_docs=False, every_row=every_row) for spec in SUITES]
    seconds = time.perf_counter() - started
    print(f"[benchmark] {label}: {seconds:.1f} s", flush=True)
    return Pass(label, seconds, outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a warehouse home after a refresh")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2026, 11, 20))
    args = parser.parse_args()
    raw, build = args.home / "warehouse" / "raw.duckdb", args.home / "warehouse" / "build.duckdb"
    quality_dir = Path(tempfile.mkdtemp(prefix="validation-reuse-"))
    config = {"memory_limit": "4GB", "threads": 2, "temp_directory": str(quality_dir / "tmp")}

    # GX's first expectation in a process pays its imports and registries: not part of any pass.
    run_warehouse_suite(SUITES[0], raw, build, config, quality_dir=quality_dir / "warm_up", today=args.today,
                        build_docs=False)
    every_row = validate_all("every row", raw, build, quality_dir / "every_row", config, args.today, True)
    first = validate_all("first run, passed rows kept", raw, build, quality_dir / "kept", config, args.today, False)
    quiet = validate_all("nothing new", raw, build, quality_dir / "kept", config, args.today, False)
    assert quiet.verdicts() == every_row.verdicts(), "the reused run must reach the same verdicts"
    state_bytes = sum(f.stat().st_size for f in (quality_dir / "kept" / STATE_DIR).iterdir())

    print(f"\n{len(SUITES)} suites on {args.home}; machine {platform.machine()}, {os.cpu_count()} cores; "
          f"duckdb {duckdb.__version__}, great-expectations {gx.__version__}; kept hashes {state_bytes / 2**20:.0f} MiB\n")
    print("| pass | rows | rows streamed to GX | time | ratio to every row |")
    print("|---|---|---|---|---|")
    for run in (every_row, first, quiet):
        print(f"| {run.label} | {run.rows:,} | {run.streamed:,} | {run.seconds:.1f} s | "
              f"{run.seconds / every_row.seconds:.2f}× |")
    slowest = sorted(range(len(SUITES)), key=lambda i: -every_row.outcomes[i].seconds)[:5]
    print("\nslowest suites (every row → nothing new):")
    for i in slowest:
        print(f"- {SUITES[i].name}: {every_row.outcomes[i].seconds:.1f} s → {quiet.outcomes[i].seconds:.1f} s "
              f"({every_row.outcomes[i].rows:,} rows)")


if __name__ == "__main__":
    main()
