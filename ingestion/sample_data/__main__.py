"""Command line: `python -m ingestion.sample_data --scale small --seed 42 --out var/sources`."""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from ingestion.sample_data.generator import SCALES, generate
from ingestion.sample_data.writers import write_ledger_exports, write_os2bos_sqlite


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
    write_os2bos_sqlite(sample, args.out / "os2bos.sqlite")
    files = write_ledger_exports(sample.ledger, args.out / "finance_drop")
    payments = len(sample.tables["core_payment"].rows)
    print(
        f"[sample] {args.scale} municipality as of {sample.as_of}: "
        f"{len(sample.tables['core_case'].rows)} cases, {payments} payments, "
        f"{len(sample.ledger)} ledger postings in {len(files)} files "
        f"({time.perf_counter() - started:.1f} s) -> {args.out}"
    )


if __name__ == "__main__":
    main()
