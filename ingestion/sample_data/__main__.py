"""Command line: `python -m ingestion.sample_data --scale small --seed 42 --out var/sources`."""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from ingestion.sample_data.case_events import generate_case_events, write_case_events
from ingestion.sample_data.finance_exports import write_budget_exports, write_ledger_exports
from ingestion.sample_data.generator import SCALES, SampleMunicipality, generate
from ingestion.sample_data.writers import write_os2bos_sqlite


def write_sources(sample: SampleMunicipality, folder: Path) -> None:
    """The sample as its source systems deliver it: OS2bos in SQLite, the child-case system's
    events for its API server, finance files in a drop folder."""
    write_os2bos_sqlite(sample, folder / "os2bos.sqlite")
    events = generate_case_events(sample.tables["core_case"], sample.tables["core_user"], sample.as_of, sample.seed)
    write_case_events(events, folder / "case_events.sqlite")
    write_ledger_exports(sample.ledger, folder / "finance_drop")
    # Budgets come from another system than the ledger, as UTF-8 with BOM and ISO dates.
    write_budget_exports(sample.budgets, folder / "finance_drop", encoding="utf-8-sig")


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate the sample municipality's source data.")
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="the day the data is as of (default: today)")
    parser.add_argument("--out", type=Path, required=True, help="folder for os2bos.sqlite and finance_drop/")
    args = parser.parse_args()

    started = time.perf_counter()
    sample = generate(args.scale, args.seed, args.as_of)
    print(f"[sample] generated {args.scale} sample as of {sample.as_of} in {time.perf_counter() - started:.1f} s")
    write_sources(sample, args.out)
    print(
        f"[sample] {len(sample.tables['core_case'])} cases, {len(sample.tables['core_payment'])} payments, "
        f"{len(sample.ledger)} ledger postings, {len(sample.budgets)} budget lines "
        f"({time.perf_counter() - started:.1f} s) -> {args.out}"
    )


if __name__ == "__main__":
    main()
