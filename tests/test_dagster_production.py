"""Dagster in production: the drop-folder sensor through Dagster's own evaluation, instance storage
rendered from the settings (SQLite by default, PostgreSQL in production) and run history on the
real PostgreSQL server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, Warehouse, assert_refreshed

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}


@pytest.fixture
def drop_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from orchestration.resources import settings

    folder = tmp_path / "finance_drop"
    folder.mkdir()
    monkeypatch.setenv("WAREHOUSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WAREHOUSE_FINANCE_DROP", str(folder))
    monkeypatch.setenv("WAREHOUSE_DROP_STABLE_SECONDS", "30")
    settings.cache_clear()
    try:
        yield folder
    finally:
        settings.cache_clear()


def _write(path: Path, text: str, age_seconds: float) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))


def test_sensor_starts_a_finance_load_for_a_new_complete_file_only(drop_folder: Path) -> None:
    from dagster import DagsterInstance, RunRequest, build_sensor_context

    from orchestration.definitions import defs

    sensor = defs.resolve_sensor_def("finance_drop_sensor")
    assert sensor.job_name == "finance_refresh"
    instance = DagsterInstance.ephemeral()
    cursor: str | None = None

    def tick() -> list[RunRequest]:
        nonlocal cursor
        result = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor, sensor_name=sensor.name))
        cursor = result.cursor
        return list(result.run_requests or [])

    assert tick() == []  # empty folder
    header = "Posteringsnr;Bilagsnr;Bogføringsdato;Kontostreng;Aktivitet;Tekst;Beløb;Kommunekode\n"
    _write(drop_folder / "ledger_postings_2027.csv", header + '1;"B1";"01-01-2027";"528201003-015195";"015195";"x";"1,00";"901"\n', 120)
    assert tick() == []  # first sight: not yet known to have stopped growing
    (request,) = tick()  # unchanged since the last tick and older than 30 s: complete
    assert request.run_key and request.tags["warehouse/trigger"] == "finance-drop"
    assert tick() == []  # requested once only

    # A file still being written: it grows between ticks, so it does not fire until it stops.
    growing = drop_folder / "budget_2027.csv"
    _write(growing, "Kontostreng;", 120)
    assert tick() == []
    _write(growing, "Kontostreng;Aktivitet;År;Måned;Beløb;Kommunekode\n", 120)
    assert tick() == []  # changed since the last look
    _write(drop_folder / "fresh.csv", "just landed", 0)
    (request,) = tick()  # budget_2027.csv stopped growing; fresh.csv is younger than 30 s
    assert tick() == [] and tick() == []
    requested = json.loads(request.run_key.removeprefix("finance:"))["requested"]
    assert set(requested) == {"ledger_postings_2027.csv", "budget_2027.csv"}
    # Files in processed/ and hidden files are never candidates.
    (drop_folder / "processed").mkdir()
    _write(drop_folder / "processed" / "old.csv", "x", 600)
    _write(drop_folder / ".partial.csv", "x", 600)
    assert tick() == []
    _write(drop_folder / "fresh.csv", "just landed", 120)  # now old enough (unchanged size, older mtime)
    assert tick() == []  # its mtime changed: seen once more first
    assert len(tick()) == 1


def test_instance_storage_is_rendered_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.instance import render_instance_config
    from orchestration.settings import ConfigurationError, Settings

    home = tmp_path / "dagster"
    monkeypatch.setenv("WAREHOUSE_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("WAREHOUSE_DAGSTER_STORAGE_URL", raising=False)
    path = render_instance_config(Settings.from_env())
    assert yaml.safe_load(path.read_text())["storage"] == {"sqlite": {"base_dir": str(home)}}

    monkeypatch.setenv("WAREHOUSE_DAGSTER_STORAGE_URL", "postgresql://postgres@127.0.0.1:5432/warehouse_dagster")
    config = yaml.safe_load(render_instance_config(Settings.from_env()).read_text())
    assert config == {"telemetry": {"enabled": False}, "storage": {
        "postgres": {"postgres_url": "postgresql+psycopg2://postgres@127.0.0.1:5432/warehouse_dagster"}}}

    monkeypatch.setenv("WAREHOUSE_DAGSTER_STORAGE_URL", "mysql://x@y/z")
    with pytest.raises(ConfigurationError):
        render_instance_config(Settings.from_env())

    # An operator's own dagster.yaml with storage is kept while no URL is configured.
    monkeypatch.delenv("WAREHOUSE_DAGSTER_STORAGE_URL")
    own = "storage:\n  sqlite:\n    base_dir: /srv/dagster\n"
    path.write_text(own)
    render_instance_config(Settings.from_env())
    assert path.read_text() == own


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A new database on the local PostgreSQL server for one test; its URL."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        admin = psycopg2.connect(**POSTGRES, connect_timeout=5)
    except psycopg2.OperationalError as error:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432: {error}")
    admin.autocommit = True
    name = f"warehouse_dagster_test_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_refresh_on_the_postgres_instance_is_kept_in_run_history(new_warehouse: Warehouse, postgres_database: str) -> None:
    import psycopg2
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    warehouse = new_warehouse
    warehouse.env["WAREHOUSE_DAGSTER_STORAGE_URL"] = postgres_database
    assert_refreshed(warehouse.refresh())

    status = subprocess.run([sys.executable, "-m", "orchestration", "status"], cwd=REPO_ROOT, env=warehouse.env,
                            capture_output=True, text=True, timeout=300)
    assert status.returncode == 0, status.stderr
    database = postgres_database.rsplit("/", 1)[1]
    assert f"Dagster instance PostgreSQL {database}@127.0.0.1:5432" in status.stdout
    (line,) = [line for line in status.stdout.splitlines() if "nightly_refresh" in line]
    assert "SUCCESS" in line and "manual" in line

    # Read back from the database itself: the run, its checks, and nothing in SQLite files.
    dagster_home = warehouse.home / "dagster"
    assert "postgres_url" in (dagster_home / "dagster.yaml").read_text()
    instance = DagsterInstance.from_config(str(dagster_home))
    try:
        (run,) = instance.get_runs(RunsFilter(job_name="nightly_refresh"))
        assert run.status == DagsterRunStatus.SUCCESS and run.run_id in line
    finally:
        instance.dispose()
    # no SQLite run, event or schedule storage (storage/ only holds the steps' compute logs)
    assert not (dagster_home / "history").exists() and not list(dagster_home.rglob("*.db"))
    with psycopg2.connect(postgres_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT status FROM runs WHERE run_id = %s", [run.run_id])
        assert cursor.fetchone() == ("SUCCESS",)
        cursor.execute("SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = "
                       "'ASSET_CHECK_EVALUATION'", [run.run_id])
        (evaluations,) = cursor.fetchone()
    assert evaluations >= 40  # every raw and mart suite (and the dbt tests) judged in this run
