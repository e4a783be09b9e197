"""Single-writer guarantee: one refresh at a time writes the warehouse files.

An exclusive `flock` on `<warehouse>/.writer.lock`, held for a whole run by a run-scoped
Dagster resource, so it covers runs from the schedule, the sensor, the UI and the CLI alike.
A second run waits for the first (up to a timeout) instead of interleaving with it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WarehouseBusyError(RuntimeError):
    """Another refresh held the warehouse for longer than we were willing to wait."""


_held_in_this_process: dict[Path, int] = {}


@contextmanager
def writer_lock(lock_path: Path, timeout_seconds: float, holder: str) -> Iterator[None]:
    """Hold the lock; re-entrant within one process (several run resources take it)."""
    if _held_in_this_process.get(lock_path):
        _held_in_this_process[lock_path] += 1
        try:
            yield
        finally:
            _held_in_this_process[lock_path] -= 1
        return
    with _exclusive(lock_path, timeout_seconds, holder):
        _held_in_this_process[lock_path] = 1
        try:
            yield
        finally:
            _held_in_this_process[lock_path] = 0


@contextmanager
def _exclusive(lock_path: Path, timeout_seconds: float, holder: str) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    owner = lock_path.read_text(encoding="utf-8").strip() or "another process"
                    raise WarehouseBusyError(
                        f"the warehouse is being written by {owner}; gave up after {timeout_seconds:.0f} s"
                    ) from None
                time.sleep(0.5)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{holder} (pid {os.getpid()})\n".encode())
        yield
    finally:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)
