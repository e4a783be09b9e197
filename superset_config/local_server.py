"""This Superset instance served by gunicorn (`manage.py serve`) on a free loopback port, for a while.

Used by the cache warm-up and by the tests; it imports nothing of Superset, so it also runs from
the pipeline's environment with the Superset environment's python.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=5) as response:
            return response.read().decode().strip() == "OK"
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def served(manage_py: Path, log_path: Path, *, python: Path = Path(sys.executable),
           env: dict[str, str] | None = None, timeout: float = 180) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """(base URL, gunicorn process) of `manage.py serve` until the block ends, then stopped.

    `env` defaults to this process's environment; the server shares the configuration, metadata
    database and cache that environment names.
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            [str(python), str(manage_py), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + timeout
            while not _healthy(base_url):
                if process.poll() is not None:
                    raise RuntimeError(f"Superset exited with code {process.returncode} while starting: see {log_path}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Superset did not answer /health within {timeout:.0f} s: see {log_path}")
                time.sleep(0.5)
            yield base_url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
