"""What the loader benchmarks share: a benchmark-only pseudonym key and a scratch folder with sources."""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path

from ingestion.pseudonymise import PseudonymKey
from ingestion.sample_data.__main__ import write_sources
from ingestion.sample_data.generator import generate

KEY = PseudonymKey(b"benchmark-only-key-0123456789abcdef", "bench")
AS_OF = date(2026, 11, 20)


def add_source_arguments(parser: argparse.ArgumentParser, holding: str) -> None:
    """--scale to generate a sample, or --sources for an existing folder holding `holding`."""
    parser.add_argument("--scale", default="large", help="generate this scale (unless --sources is given)")
    parser.add_argument("--sources", type=Path, help=f"an existing sources folder holding {holding}")


def scratch_with_sources(prefix: str, args: argparse.Namespace) -> tuple[Path, Path]:
    """A new scratch folder, and the sources folder: `args.sources`, or the sample generated into it."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if args.sources is not None:
        return folder, args.sources
    write_sources(generate(args.scale, 42, AS_OF), folder / "sources")
    return folder, folder / "sources"
