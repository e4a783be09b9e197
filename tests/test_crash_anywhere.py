"""Crash anywhere: kill -9 (the whole process group) during ingest, dbt, validation and publish.

For every stage the harness (tests/fault_harness.py) runs the stage's real command and kills it
at five or more points chosen from the outside (dlt load packages, dbt node completions, suite
results, version scratch files, the publish step's file operations). After every kill the
serving file is byte-identical and opens read-only with its marts readable; the next run
completes; afterwards the raw tables and the marts equal a clean run's (row counts and the sum of
every numeric column: no duplicates, no gaps).

The kills of one stage are chained on one warehouse home (the run after a kill is itself killed
at the next point, the last run completes), which keeps the suite to a few minutes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from expectations.suites import SUITES
from tests.conftest import REPO_ROOT, Warehouse
from tests.fault_harness import (
    KillPoint,
    StageRun,
    after_file,
    after_lines,
    after_seconds,
    after_share_of_nodes,
    command,
    copy_home,
    differences,
    fingerprint,
    publish_operations,
    readable_marts,
    run_stage,
    sha256,
    stopped_before,
)

pytestmark = pytest.mark.faults  # the long fault suite: `bash scripts/test.sh -m faults`

RAW_SCHEMAS = ("os2bos", "finance", "case_events")
DBT = str(Path(sys.executable).with_name("dbt"))


class Home:
    """A private copy of the published sample warehouse, with the serving file's state recorded."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = {**env, "WAREHOUSE_HOME": str(root), "DAGSTER_HOME": str(root / "dagster")}
        self.serving = root / "warehouse" / "serving.duckdb"
        self.raw = root / "warehouse" / "raw.duckdb"
        self.build = root / "warehouse" / "build.duckdb"
        self.published = sha256(self.serving)
        self.published_marts = readable_marts(self.serving)
        self.logs = root / "harness_logs"
        self.runs = 0

    def run(self, argv: list[str], point: KillPoint | None = None, *, cwd: Path = REPO_ROOT,
            env: dict[str, str] | None = None) -> StageRun:
        self.runs += 1
        return run_stage(argv, cwd=cwd, env=env or self.env, point=point,
                         log=self.logs / f"{self.runs:02d}-{point.name if point else 'complete'}.log")

    def assert_serving_unchanged(self, after: str) -> None:
        assert sha256(self.serving) == self.published, f"the serving file changed: {after}"
        assert readable_marts(self.serving) == self.published_marts, after

    def killed(self, argv: list[str], point: KillPoint, **kwargs: object) -> StageRun:
        run = self.run(argv, point, **kwargs)  # type: ignore[arg-type]
        assert run.killed, f"never reached kill point {point.name}: {run.describe()}"
        self.assert_serving_unchanged(f"after kill -9 at {point.name}")
        return run


@pytest.fixture(scope="module")
def clean(published_warehouse: Warehouse) -> Iterator[Warehouse]:
    """The clean run every crashed-and-resumed run must equal."""
    yield published_warehouse


@pytest.fixture
def home(clean: Warehouse, tmp_path: Path) -> Home:
    return Home(copy_home(clean.home, tmp_path / "home"), clean.env)


def _dbt_env(home: Home, tmp_path: Path) -> dict[str, str]:
    warehouse = home.root / "warehouse"
    return {
        **home.env,
        "WAREHOUSE_RAW_PATH": str(warehouse / "raw.duckdb"),
        "WAREHOUSE_BUILD_PATH": str(warehouse / "build.duckdb"),
        "WAREHOUSE_DUCKDB_TEMP_DIR": str(home.root / "tmp" / "duckdb"),
        "DBT_PROFILES_DIR": str(REPO_ROOT / "dbt_project"),
        "DBT_TARGET_PATH": str(tmp_path / "dbt_target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt_logs"),
    }


def test_kill_during_ingest(home: Home, clean: Warehouse) -> None:
    """Eight kills inside the dlt loads (extract, mid-load with some tables committed, moving aside
    and archiving finance files, paging the events API), then a load that completes: raw equals the
    clean run."""
    # Start from nothing loaded: no raw file, no dlt state, every finance file back in the drop folder.
    home.raw.unlink()
    shutil.rmtree(home.root / "dlt")
    drop = home.root / "sources" / "finance_drop"
    delivered = sorted(p.name for p in (drop / "processed").iterdir())
    for path in (drop / "processed").iterdir():
        path.rename(drop / path.name)
    dlt = home.root / "dlt"
    ingest = command("ingest")
    points = [
        # dlt's progress log counts the rows extracted so far; extracted packages are renamed into
        # normalize/extracted/ when complete; normalised packages wait in load/normalized/ and their
        # jobs move new_jobs -> started_jobs -> completed_jobs as each table is written into raw.
        KillPoint("os2bos mid-extract", after_lines(r"^core_payment: [1-9]\d*  \|")),
        KillPoint("os2bos extracted, not normalised", after_file(dlt, "os2bos/normalize/extracted/*/new_jobs/*")),
        KillPoint("os2bos mid-load, some tables committed",
                  after_file(dlt, "os2bos/load/normalized/*/completed_jobs/*", count=5)),
        KillPoint("finance mid-load", after_file(dlt, "finance/load/normalized/*/completed_jobs/*")),
    ]
    for point in points:
        home.killed(ingest, point)
    # The next run finishes the interrupted load, then moves the files it committed aside itself
    # (without loading them again) as it reads the drop folder: stop half-way.
    home.killed(command("ingest", "--stop-at", "move_aside#2"),
                KillPoint("committed files half moved aside", stopped_before("move_aside#2")))
    # The rest moved aside and loaded, not yet archived (stopped before the archiving step).
    home.killed(command("ingest", "--stop-at", "step:archive#1"), KillPoint("finance before archiving",
                                                                             stopped_before("step:archive#1")))
    for point in [
        KillPoint("case events paging", after_lines(r"^events: [1-9]\d*  \|")),
        KillPoint("case events mid-load", after_file(dlt, "case_events/load/normalized/*/started_jobs/*")),
    ]:
        home.killed(ingest, point)

    completed = home.run(ingest)
    assert completed.returncode == 0, completed.describe()
    assert not differences(fingerprint(home.raw, RAW_SCHEMAS), fingerprint(clean.home / "warehouse" / "raw.duckdb",
                                                                           RAW_SCHEMAS))
    assert sorted(p.name for p in (drop / "processed").iterdir()) == delivered
    assert not [p for p in drop.iterdir() if p.is_file()], "loaded finance files left in the drop folder"
    home.assert_serving_unchanged("after the completing load")


def test_kill_during_dbt_build(home: Home, clean: Warehouse, tmp_path: Path) -> None:
    """Five kills of `dbt build` into the build file at growing shares of its nodes (the first while
    the first models are created), then a build that completes: its marts equal the clean run's."""
    env = _dbt_env(home, tmp_path)
    build = [DBT, "build", "--profiles-dir", "."]
    for share in (0.01, 0.1, 0.3, 0.55, 0.85):
        home.killed(build, KillPoint(f"dbt after {share:.0%} of its nodes", after_share_of_nodes(share)),
                    cwd=REPO_ROOT / "dbt_project", env=env)
    completed = home.run(build, cwd=REPO_ROOT / "dbt_project", env=env)
    assert completed.returncode == 0, completed.describe()
    assert not differences(fingerprint(home.build, ("marts",)), fingerprint(clean.serving_path, ("marts",)))
    home.assert_serving_unchanged("after the completing build")


def test_kill_during_validation(home: Home) -> None:
    """Five kills of `python -m orchestration validate` (while GX starts, after 1, 2, 4 and 8 suites:
    between the Data Docs and volume-history writes of a suite), then a validation that passes; the
    raw and build files are untouched."""
    raw_before = fingerprint(home.raw, RAW_SCHEMAS)
    build_before = fingerprint(home.build, ("marts",))
    validate = [sys.executable, "-m", "orchestration", "validate"]
    suite = r"^\[validate\] \S+ on "
    home.killed(validate, KillPoint("starting up", after_seconds(4.0)))
    for count in (1, 2, 4, 8):
        home.killed(validate, KillPoint(f"after {count} suites", after_lines(suite, count)))
    completed = home.run(validate)
    assert completed.returncode == 0, completed.describe()
    assert len(re.findall(suite, completed.output, re.MULTILINE)) == len(SUITES), completed.output[-3000:]
    assert "FAILED" not in completed.output, completed.output[-3000:]
    assert fingerprint(home.raw, RAW_SCHEMAS) == raw_before
    assert fingerprint(home.build, ("marts",)) == build_before
    home.assert_serving_unchanged("after the completing validation")


def test_kill_between_every_publish_operation(home: Home, clean: Warehouse) -> None:
    """The publish step killed before each of its file operations and inside the copy of the marts:
    before the swap the serving file is the old version, after it the complete new one; the next
    publish completes and serves exactly the build file's marts."""
    (home.root / "warehouse" / "versions").mkdir(exist_ok=True)
    env = {**home.env, "WAREHOUSE_KEEP_VERSIONS": "1"}  # so that the publish prunes, too
    dry = home.run(command("publish"), env=env)
    assert dry.returncode == 0, dry.describe()
    operations = publish_operations(dry.output)
    home.published, home.published_marts = sha256(home.serving), readable_marts(home.serving)
    file_operations = [op for op in operations if op.startswith("os.")]
    tables = [op for op in operations if op.startswith("sql:CREATE_TABLE")]
    chosen = [tables[0], tables[len(tables) // 2], "sql:CHECKPOINT#1", *file_operations]
    assert len(chosen) >= 8, operations
    swap = operations.index("os.replace#2")  # the rename of the link over the serving path
    for operation in chosen:
        served = home.serving.stat().st_ino
        run = home.run(command("publish", "--stop-at", operation), KillPoint(operation, stopped_before(operation)),
                       env=env)
        assert run.killed, run.describe()
        if operations.index(operation) <= swap:
            home.assert_serving_unchanged(f"kill -9 before {operation}")
            assert home.serving.stat().st_ino == served
        else:  # the swap happened: readers see the complete new version
            assert home.serving.stat().st_ino != served
            assert readable_marts(home.serving) == home.published_marts
            home.published = sha256(home.serving)
    completed = home.run(command("publish"), env=env)
    assert completed.returncode == 0, completed.describe()
    assert not differences(fingerprint(home.serving, ("marts",)), fingerprint(clean.serving_path, ("marts",)))
    versions = home.root / "warehouse" / "versions"
    assert [v.name for v in versions.glob("serving-*.duckdb") if v.samefile(home.serving)], "no current version"


def test_refresh_killed_mid_dbt_and_mid_publish_then_completes(home: Home, clean: Warehouse) -> None:
    """End to end: `python -m orchestration refresh` killed while dbt writes the build file, then
    killed while it writes the new version; the next refresh publishes marts equal to a clean run."""
    refresh = [sys.executable, "-m", "orchestration", "refresh"]
    warehouse = home.root / "warehouse"
    served = home.serving.stat().st_ino
    home.killed(refresh, KillPoint("refresh mid-dbt", after_share_of_nodes(0.3)))
    # killed as soon as the new version's scratch file appears: the `small` marts are copied and
    # swapped in well under 0.2 s on a fast day, so a later kill can land after the swap
    home.killed(refresh, KillPoint("refresh mid-publish", after_file(warehouse, "versions/.serving-*.tmp")))
    completed = home.run(refresh)
    assert completed.returncode == 0, completed.describe()
    assert home.serving.stat().st_ino != served  # a new version was published
    assert not differences(fingerprint(home.serving, ("marts",)), fingerprint(clean.serving_path, ("marts",)))
    assert not differences(fingerprint(home.raw, RAW_SCHEMAS),
                           fingerprint(clean.home / "warehouse" / "raw.duckdb", RAW_SCHEMAS))
    status = subprocess.run([sys.executable, "-m", "orchestration", "status"], cwd=REPO_ROOT, env=home.env,
                            capture_output=True, text=True, timeout=300)
    assert status.returncode == 0, status.stderr
