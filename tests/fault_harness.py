"""Fault harness: run a pipeline stage's real command in its own process group and SIGKILL the
whole group at a chosen point; copy warehouse homes; fingerprint DuckDB files for comparison.

Kill points are chosen from the outside: lines the stage prints, files that appear (dlt load
packages, DuckDB WAL files, version scratch files) and deterministic delays. The publish step
is too quick for that, so `python -m tests.fault_harness publish --stop-at LABEL#N` runs the real
`orchestration.publish.publish` with the file-system calls it makes (os.replace, os.link,
os.fsync, os.chmod, os.unlink) and its DuckDB statements announced on stdout; at the chosen one
the process stops itself (SIGSTOP) *before* the call, and the harness kills it there.

`python -m tests.fault_harness ingest` runs the three dlt loads exactly as the Dagster assets in
orchestration/assets/ingestion.py do (same pipelines, sources and archiving), without Dagster;
`--stop-at` stops it before the archiving step or before a finance file is moved aside.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

REPO_ROOT = Path(__file__).resolve().parent.parent
HARNESS_PREFIX = "[harness]"


# ----------------------------------------------------------------------------------------------
# running a stage and killing it


@dataclass(frozen=True)
class Progress:
    """What the harness sees of a running stage: its output so far and its age."""

    output: str
    seconds: float


@dataclass(frozen=True)
class KillPoint:
    """Kill the stage's process group `delay` seconds after `reached` first holds."""

    name: str
    reached: Callable[[Progress], bool]
    delay: float = 0.0


@dataclass(frozen=True)
class StageRun:
    command: list[str]
    point: str | None
    killed: bool
    returncode: int | None
    output: str
    seconds: float

    def describe(self) -> str:
        return f"{' '.join(self.command[-3:])} (point {self.point}, rc {self.returncode}):\n{self.output[-4000:]}"


def run_stage(
    command: list[str], *, cwd: Path, env: dict[str, str], log: Path, point: KillPoint | None = None,
    timeout: float = 900, actions: list[tuple[Callable[[Progress], bool], Callable[[], None]]] | None = None,
) -> StageRun:
    """Run `command` in a new process group; with a `point`, SIGKILL the whole group there.

    Each of `actions` (condition, action) runs once, the first time its condition holds (e.g.
    bring a source back once the run reported it unreachable)."""
    pending = list(actions or [])
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            command, cwd=cwd, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: dbt and other children die with it
        )
        killed = False
        reached_at: float | None = None
        try:
            while process.poll() is None:
                now = time.monotonic()
                if now - started > timeout:
                    raise TimeoutError(f"{command} ran for over {timeout} s")
                progress = Progress(log.read_text(encoding="utf-8", errors="replace"), now - started)
                for condition, action in list(pending):
                    if condition(progress):
                        pending.remove((condition, action))
                        action()
                if point is not None and reached_at is None and point.reached(progress):
                    reached_at = now
                if reached_at is not None and now - reached_at >= point.delay:  # type: ignore[union-attr]
                    kill_group(process.pid)
                    killed = True
                    break
                time.sleep(0.02)
        finally:
            if process.poll() is None and not killed:
                kill_group(process.pid)
            process.wait()
    return StageRun(command, point.name if point else None, killed, process.returncode,
                    log.read_text(encoding="utf-8", errors="replace"), time.monotonic() - started)


def kill_group(group: int) -> None:
    """kill -9 every process of the group and wait until none is left (orphans included)."""
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not _group_members(group):
            return
        time.sleep(0.05)
    raise RuntimeError(f"process group {group} survived SIGKILL: {_group_members(group)}")


def _group_members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state != "Z":
            members.append(int(entry.name))
    return members


# ----------------------------------------------------------------------------------------------
# markers


def after_lines(pattern: str, count: int = 1) -> Callable[[Progress], bool]:
    """The output holds at least `count` lines matching `pattern`."""
    regex = re.compile(pattern, re.MULTILINE)
    return lambda progress: len(regex.findall(progress.output)) >= count


def after_share_of_nodes(share: float) -> Callable[[Progress], bool]:
    """dbt has finished at least `share` of its nodes ("12 of 340 OK created ..." lines)."""
    finished = re.compile(r"^(?:\S+\s+)?\d+ of (\d+) (?:OK|PASS|WARN|SKIP|ERROR|FAIL)", re.MULTILINE)

    def reached(progress: Progress) -> bool:
        found = finished.findall(progress.output)
        return bool(found) and len(found) >= max(1, round(share * int(found[0])))

    return reached


def after_file(folder: Path, pattern: str, count: int = 1) -> Callable[[Progress], bool]:
    """At least `count` files matching the glob `pattern` exist below `folder`."""
    return lambda progress: sum(1 for _ in folder.glob(pattern)) >= count


def after_seconds(seconds: float) -> Callable[[Progress], bool]:
    """A deterministic delay from the start of the stage."""
    return lambda progress: progress.seconds >= seconds


def all_of(*conditions: Callable[[Progress], bool]) -> Callable[[Progress], bool]:
    return lambda progress: all(condition(progress) for condition in conditions)


def stopped_before(operation: str) -> Callable[[Progress], bool]:
    """The publish driver announced it stopped itself before `operation` (LABEL#N)."""
    return lambda progress: f"{HARNESS_PREFIX} stopped before {operation}\n" in progress.output


# ----------------------------------------------------------------------------------------------
# homes and fingerprints


def copy_home(source: Path, target: Path) -> Path:
    """Copy a warehouse home, keeping hard links (the serving file is one to its version)."""
    inodes: dict[tuple[int, int], Path] = {}

    def copy(src: str, dst: str) -> None:
        stat = os.stat(src)
        key = (stat.st_dev, stat.st_ino)
        if stat.st_nlink > 1 and key in inodes:
            os.link(inodes[key], dst)
            return
        shutil.copy2(src, dst)
        inodes[key] = Path(dst)

    shutil.copytree(source, target, copy_function=copy, symlinks=True)
    return target


def sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
           "FLOAT", "DOUBLE")


def fingerprint(database: Path, schemas: tuple[str, ...]) -> dict[str, tuple[Any, ...]]:
    """Per table of `schemas`: the row count and the sum of every numeric column (dlt's bookkeeping
    tables and columns left out). Equal fingerprints mean no duplicates and no gaps."""
    result: dict[str, tuple[Any, ...]] = {}
    with duckdb.connect(str(database), read_only=True) as connection:
        columns = connection.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema IN (SELECT unnest(?)) AND table_name NOT LIKE '\\_dlt\\_%' ESCAPE '\\' "
            "ORDER BY table_schema, table_name, ordinal_position",
            [list(schemas)],
        ).fetchall()
        tables: dict[tuple[str, str], list[str]] = {}
        for schema, table, column, data_type in columns:
            numbers = tables.setdefault((schema, table), [])
            if not column.startswith("_dlt") and (data_type in NUMERIC or data_type.startswith("DECIMAL")):
                numbers.append(column)
        for (schema, table), numbers in tables.items():
            sums = "".join(f', round(sum("{c}")::DOUBLE, 4)' for c in numbers)
            row = connection.execute(f'SELECT count(*){sums} FROM "{schema}"."{table}"').fetchone()
            result[f"{schema}.{table}"] = tuple(row or ())
    return result


def differences(got: dict[str, tuple[Any, ...]], expected: dict[str, tuple[Any, ...]]) -> list[str]:
    """Tables whose fingerprint differs, readably."""
    return [
        f"{table}: got {got.get(table)}, clean run {expected.get(table)}"
        for table in sorted(set(got) | set(expected)) if got.get(table) != expected.get(table)
    ]


def readable_marts(serving: Path) -> dict[str, int]:
    """Open the serving file read-only and count every mart's rows (fails if it is unreadable)."""
    with duckdb.connect(str(serving), read_only=True) as connection:
        tables = [t for (t,) in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1").fetchall()]
        assert tables, f"{serving} has no marts"
        return {t: connection.execute(f'SELECT count(*) FROM marts."{t}"').fetchone()[0] for t in tables}


# ----------------------------------------------------------------------------------------------
# stage drivers run as `python -m tests.fault_harness STAGE`


def _ingest(stop_at: str | None) -> int:
    """The three dlt loads of orchestration/assets/ingestion.py, with a line before and after each."""
    from ingestion.case_events import case_events_source
    from ingestion.case_system import ROW_KEYS as OS2BOS_ROW_KEYS
    from ingestion.case_system import os2bos_source
    from ingestion.finance import ROW_KEYS as FINANCE_ROW_KEYS
    from ingestion.finance import archive_loaded_files, finance_source
    from ingestion.pipelines import raw_pipeline
    from ingestion.resumed_loads import finish_interrupted_load
    from orchestration.settings import Settings

    s = Settings.from_env()
    key = s.pseudonym_key()

    def pipeline(dataset: str):
        return raw_pipeline(dataset, dataset, s.raw_path, s.dlt_dir)

    print(f"{HARNESS_PREFIX} os2bos loading", flush=True)
    os2bos = pipeline("os2bos")
    finish_interrupted_load(os2bos, OS2BOS_ROW_KEYS)
    os2bos.run(os2bos_source(s.os2bos_url, lambda: key))
    print(f"{HARNESS_PREFIX} os2bos loaded", flush=True)
    # Every move of a finance file into processed/ is announced (label move_aside): the archiving
    # after a good load, and the next run's moving aside of files whose load was already committed.
    from ingestion.finance import source as finance_module

    announce = _Announcer(stop_at)
    finance_module.move_aside = announce.wrap(finance_module.move_aside, "move_aside")  # type: ignore[attr-defined]
    finance = pipeline("finance")
    print(f"{HARNESS_PREFIX} finance loading", flush=True)
    finish_interrupted_load(finance, FINANCE_ROW_KEYS)
    finance.run(finance_source(s.finance_drop))
    print(f"{HARNESS_PREFIX} finance loaded", flush=True)
    announce("step:archive", "")
    for archived in archive_loaded_files(s.finance_drop, finance):
        print(f"{HARNESS_PREFIX} finance archived {archived.name}", flush=True)
    print(f"{HARNESS_PREFIX} case_events loading", flush=True)
    case_events = pipeline("case_events")
    finish_interrupted_load(case_events, {})
    case_events.run(case_events_source(s.case_events_url, s.case_events_token, lambda: key))
    print(f"{HARNESS_PREFIX} case_events loaded", flush=True)
    return 0


class _Announcer:
    """Announces every hooked operation; stops this process before the one named `stop_at`."""

    def __init__(self, stop_at: str | None) -> None:
        self.stop_at = stop_at
        self.counts: dict[str, int] = {}

    def __call__(self, label: str, detail: str) -> None:
        self.counts[label] = self.counts.get(label, 0) + 1
        operation = f"{label}#{self.counts[label]}"
        print(f"{HARNESS_PREFIX} op {operation} {detail}", flush=True)
        if operation == self.stop_at:
            print(f"{HARNESS_PREFIX} stopped before {operation}", flush=True)
            os.kill(os.getpid(), signal.SIGSTOP)

    def wrap(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def announced(*args: Any, **kwargs: Any) -> Any:
            self(label, Path(str(args[0])).name if args and isinstance(args[0], (str, os.PathLike)) else "")
            return function(*args, **kwargs)

        return announced


class _AnnouncedConnection:
    """A DuckDB connection whose statements are announced (label `sql:<FIRST_TWO>` words)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, announce: _Announcer) -> None:
        self._connection, self._announce = connection, announce

    def execute(self, sql: str, *args: Any) -> Any:
        self._announce("sql:" + "_".join(sql.split()[:2]).upper(), "")
        self._connection.execute(sql, *args)
        return self

    def fetchall(self) -> list[Any]:
        return self._connection.fetchall()

    def fetchone(self) -> Any:
        return self._connection.fetchone()

    def __enter__(self) -> _AnnouncedConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._connection.close()


def _publish(stop_at: str | None) -> int:
    """orchestration.publish.publish on the home's build and serving files, operations announced."""
    import types

    from orchestration import publish as publishing
    from orchestration.settings import Settings

    s = Settings.from_env()
    announce = _Announcer(stop_at)
    for name in ("replace", "link", "fsync", "chmod", "unlink"):
        setattr(os, name, announce.wrap(getattr(os, name), f"os.{name}"))
    real_connect = duckdb.connect
    publishing.duckdb = types.SimpleNamespace(  # type: ignore[attr-defined]
        connect=lambda *a, **k: _AnnouncedConnection(real_connect(*a, **k), announce))
    version, tables = publishing.publish(s.build_path, s.serving_path, s.duckdb_config(), keep=s.keep_versions)
    print(f"{HARNESS_PREFIX} published {version.name}: {len(tables)} tables", flush=True)
    return 0


def publish_operations(output: str) -> list[str]:
    """The operations (LABEL#N) a publish driver announced, in order."""
    return re.findall(rf"^{re.escape(HARNESS_PREFIX)} op (\S+)", output, re.MULTILINE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fault_harness")
    stages = parser.add_subparsers(dest="stage", required=True)
    ingest = stages.add_parser("ingest", help="the dlt loads of the nightly refresh")
    ingest.add_argument("--stop-at", help="stop before this operation, e.g. step:archive#1 or move_aside#2")
    publish = stages.add_parser("publish", help="publish the build file's marts")
    publish.add_argument("--stop-at", help="stop before this operation, e.g. os.replace#2")
    args = parser.parse_args(argv)
    if args.stage == "ingest":
        return _ingest(args.stop_at)
    return _publish(args.stop_at)


def command(stage: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.fault_harness", stage, *args]


if __name__ == "__main__":
    sys.exit(main())
