"""What the loader benchmarks share: a benchmark-only pseudonym key and a scratch folder with sources."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import requests

from ingestion.pseudonymise import PseudonymKey
from ingestion.sample_data.__main__ import write_sources
from ingestion.sample_data.generator import generate

REPO_ROOT = Path(__file__).resolve().parent.parent
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


@contextmanager
def events_api(store: Path, port: int, token_file: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The sample case-events API over `store`, in a process of its own (as the source system is); its URL."""
    url = f"http://127.0.0.1:{port}"
    api = subprocess.Popen([sys.executable, "-m", "ingestion.sample_data.case_events_api", "--data", str(store),
                            "--port", str(port), "--token-file", str(token_file)],
                           cwd=REPO_ROOT, env=env or dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while True:  # up when it turns away a request without a token
            try:
                if requests.get(f"{url}/api/v1/events", timeout=2).status_code == 401:
                    break
            except requests.ConnectionError:
                pass
            if api.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sample case-events API did not start on port {port}")
            time.sleep(0.2)
        yield url
    finally:
        api.terminate()
        api.wait()
