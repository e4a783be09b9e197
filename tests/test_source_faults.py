"""Source faults at refresh level: the real `python -m orchestration refresh` on a copy of the
published sample warehouse, with its sources broken in the ways they break in production.

A fault either fails the refresh clearly (the failed step and the reason in the output and in
the alert; the serving file byte-identical; nothing landed) or is recovered by the retries
(dlt's HTTP retries, Dagster's step retry) with every row landed exactly once.
"""

from __future__ import annotations

import hashlib
import io
import socket
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingestion.sample_data.case_events_api import CaseEventsServer, Faults
from ingestion.sample_data.schema import TABLES, create_table_sql
from tests.conftest import REPO_ROOT, TEST_EVENTS_TOKEN, Warehouse
from tests.fault_harness import (
    StageRun,
    after_lines,
    command,
    copy_home,
    differences,
    fingerprint,
    readable_marts,
    run_stage,
    sha256,
)

pytestmark = pytest.mark.faults  # the long fault suite: `bash scripts/test.sh -m faults`

REFRESH = [sys.executable, "-m", "orchestration", "refresh"]
# dlt's HTTP client settings (its documented RUNTIME__* variables): short timeouts and backoff so
# that timeouts and 5xx bursts are retried within seconds.
FAST_HTTP = {
    "RUNTIME__REQUEST_TIMEOUT": "2",
    "RUNTIME__REQUEST_MAX_ATTEMPTS": "8",
    "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.2",
    "RUNTIME__REQUEST_MAX_RETRY_DELAY": "2",
}
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


class FaultHome:
    """A private copy of the published warehouse with its own case-events API server."""

    def __init__(self, root: Path, env: dict[str, str], webhook: str) -> None:
        self.root = root
        self.events_db = root / "sources" / "case_events.sqlite"
        self.env = {**env, **FAST_HTTP, "WAREHOUSE_HOME": str(root), "DAGSTER_HOME": str(root / "dagster"),
                    "WAREHOUSE_ALERT_WEBHOOK_URL": webhook}
        self.serving = root / "warehouse" / "serving.duckdb"
        self.raw = root / "warehouse" / "raw.duckdb"
        self.published = sha256(self.serving)
        self.marts = readable_marts(self.serving)
        self.servers: list[CaseEventsServer] = []
        self.runs = 0

    def serve_events(self, faults: Faults | None = None, port: int = 0) -> CaseEventsServer:
        server = CaseEventsServer(self.events_db, token=TEST_EVENTS_TOKEN, port=port, faults=faults)
        server.serve_in_background()
        self.servers.append(server)
        self.env["WAREHOUSE_CASE_EVENTS_URL"] = server.url
        return server

    def run(self, argv: list[str], **kwargs: object) -> StageRun:
        self.runs += 1
        return run_stage(argv, cwd=REPO_ROOT, env=self.env, log=self.root / "logs" / f"{self.runs:02d}.log",
                         **kwargs)  # type: ignore[arg-type]

    def assert_previous_served(self, run: StageRun) -> None:
        assert run.returncode == 1, run.describe()
        assert "NOT published: the serving file keeps its previous version" in run.output
        assert sha256(self.serving) == self.published
        assert readable_marts(self.serving) == self.marts

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def home(published_warehouse: Warehouse, tmp_path: Path, alert_webhook: tuple[str, list[dict]]) -> Iterator[FaultHome]:
    fault_home = FaultHome(copy_home(published_warehouse.home, tmp_path / "home"), published_warehouse.env,
                           alert_webhook[0])
    try:
        yield fault_home
    finally:
        fault_home.close()


def _touch_events(database: Path, count: int) -> list[str]:
    """Correct `count` live events at the source (a later updated_at): the next load re-delivers them."""
    with sqlite3.connect(database) as connection:
        (latest,) = connection.execute("SELECT max(updated_at) FROM events").fetchone()
        ids = [i for (i,) in connection.execute(
            "SELECT id FROM events WHERE NOT deleted ORDER BY id LIMIT ?", [count]).fetchall()]
        later = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(
            time.mktime(time.strptime(latest[:19], "%Y-%m-%dT%H:%M:%S")) + 3600))
        connection.executemany("UPDATE events SET updated_at = ? WHERE id = ?", [(later, i) for i in ids])
    connection.close()
    return ids


def _live_events(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        (count,) = connection.execute("SELECT count(*) FROM events WHERE NOT deleted").fetchone()
    connection.close()
    return count


def _raw(raw: Path, sql: str, parameters: list[object] | None = None) -> list[tuple]:
    with duckdb.connect(str(raw), read_only=True) as connection:
        return connection.execute(sql, parameters or []).fetchall()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alert_for(alerts: list[dict], step: str) -> dict:
    found = [a for a in alerts if a["step"] == step]
    assert len(found) == 1, f"expected one alert for {step}: {alerts}"
    assert found[0]["job"] == "nightly_refresh" and found[0]["run_id"]
    return found[0]


def test_rejected_token_and_vanished_case_database_fail_clearly(
    home: FaultHome, alert_webhook: tuple[str, list[dict]],
) -> None:
    """HTTP 401 from the events API and the OS2bos SQLite file gone: both steps fail at once (no
    retries), each is alerted with its step and reason, nothing lands, the old version is served."""
    _, alerts = alert_webhook
    home.serve_events()
    home.env["WAREHOUSE_CASE_EVENTS_TOKEN"] = "an-expired-token"
    os2bos = home.root / "sources" / "os2bos.sqlite"
    os2bos.rename(os2bos.with_suffix(".moved"))
    raw_before = fingerprint(home.raw, ("os2bos", "case_events"))
    loads_before = _raw(home.raw, "SELECT count(*) FROM case_events._dlt_loads")

    run = home.run(REFRESH)

    home.assert_previous_served(run)
    assert "[refresh] step case_events_raw failed" in run.output
    assert "[refresh] step os2bos_raw failed" in run.output
    assert "transient source failure" not in run.output  # a wrong token or a missing table is not retried
    token = _alert_for(alerts, "case_events_raw")
    assert "rejected the bearer token (HTTP 401" in token["reason"], token
    assert home.servers[0].status_counts[401] == 1
    database = _alert_for(alerts, "os2bos_raw")
    assert "core_" in database["reason"] and "NoSuchTableError" in database["reason"], database
    assert len(alerts) == 2, alerts
    assert fingerprint(home.raw, ("os2bos", "case_events")) == raw_before
    assert _raw(home.raw, "SELECT count(*) FROM case_events._dlt_loads") == loads_before


def test_truncated_events_page_fails_clearly_and_keeps_the_cursor(
    home: FaultHome, alert_webhook: tuple[str, list[dict]],
) -> None:
    _, alerts = alert_webhook
    _touch_events(home.events_db, 3)
    server = home.serve_events(Faults(truncated=1))
    raw_before = fingerprint(home.raw, ("case_events",))
    state_before = _raw(home.raw, "SELECT count(*) FROM case_events._dlt_pipeline_state")

    run = home.run(REFRESH)

    home.assert_previous_served(run)
    assert server.faults.truncated == 0, "the truncated page was never served"
    alert = _alert_for(alerts, "case_events_raw")
    assert "not valid JSON (truncated?)" in alert["reason"], alert
    assert len(alerts) == 1, alerts
    assert fingerprint(home.raw, ("case_events",)) == raw_before
    assert _raw(home.raw, "SELECT count(*) FROM case_events._dlt_pipeline_state") == state_before


def _copy_os2bos_to_postgres(sqlite_path: Path, database: str) -> None:
    """The sample's OS2bos tables, with their rows, in a new PostgreSQL database."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        admin = psycopg2.connect(**PG, dbname="postgres", connect_timeout=5)
    except psycopg2.OperationalError as error:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432: {error}")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}"')
    admin.close()
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    with psycopg2.connect(**PG, dbname=database) as target, target.cursor() as cursor:
        for table, columns in TABLES.items():
            cursor.execute(create_table_sql(table, "postgresql"))
            names = ", ".join(f'"{name}"' for name, _ in columns)
            buffer = io.StringIO(
                "".join(",".join(map(_csv_field, row)) + "\n" for row in source.execute(f'SELECT {names} FROM "{table}"')))
            cursor.copy_expert(f'COPY "{table}" ({names}) FROM STDIN WITH (FORMAT csv)', buffer)
    source.close()


def _csv_field(value: object) -> str:
    """A CSV field for PostgreSQL's COPY: NULL unquoted and empty, text always quoted."""
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return str(value)


def _drop_database(database: str) -> None:
    import psycopg2

    admin = psycopg2.connect(**PG, dbname="postgres", connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    admin.close()


class _LockedTable:
    """Holds an exclusive lock on a PostgreSQL table; kills the connection that waits for it."""

    def __init__(self, database: str, table: str) -> None:
        import psycopg2

        self.database = database
        self.holder = psycopg2.connect(**PG, dbname=database)
        self.holder.cursor().execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        self.killed: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._kill_the_waiting_loader, daemon=True)
        self.thread.start()

    def _kill_the_waiting_loader(self) -> None:
        import psycopg2

        watcher = psycopg2.connect(**PG, dbname=self.database)
        watcher.autocommit = True
        with watcher.cursor() as cursor:
            while not self.stop.is_set() and not self.killed:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' "
                    "AND pid <> pg_backend_pid()", [self.database])
                for (pid,) in cursor.fetchall():
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                    self.killed.append(pid)
                time.sleep(0.05)
        watcher.close()
        self.holder.rollback()  # the loader's retry finds the table free again

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.holder.close()


def test_sources_down_erroring_slow_and_cut_mid_load_recover_by_retries(
    home: FaultHome, published_warehouse: Warehouse, alert_webhook: tuple[str, list[dict]],
) -> None:
    """One refresh meets every transient fault and still publishes each row once: the events API is
    down when the run starts and comes back (Dagster's step retry), then answers three HTTP 500s
    and two responses slower than the timeout (dlt's retries); the OS2bos PostgreSQL connection is
    terminated (pg_terminate_backend) in the middle of the load (step retry)."""
    _, alerts = alert_webhook
    touched = _touch_events(home.events_db, 3)
    port = _free_port()
    home.env["WAREHOUSE_CASE_EVENTS_URL"] = f"http://127.0.0.1:{port}"  # nothing listens there yet
    database = f"os2bos_faults_{uuid.uuid4().hex[:8]}"
    _copy_os2bos_to_postgres(home.root / "sources" / "os2bos.sqlite", database)
    home.env["WAREHOUSE_OS2BOS_URL"] = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"
    lock = _LockedTable(database, "core_case")
    served = home.serving.stat().st_ino
    servers: list[CaseEventsServer] = []

    def events_api_back() -> None:
        servers.append(home.serve_events(Faults(server_errors=3, error_status=500, slow=2, delay=4), port=port))

    try:
        run = home.run(REFRESH, actions=[(after_lines(r"transient source failure \(.*Connection refused"),
                                          events_api_back)])
    finally:
        lock.close()
        _drop_database(database)

    assert run.returncode == 0, run.describe()
    assert lock.killed, "the OS2bos load never waited on the locked table"
    assert "case_events_raw - transient source failure" in run.output
    assert "os2bos_raw - transient source failure ((psycopg2.OperationalError)" in run.output
    (server,) = servers
    assert server.status_counts[500] == 3 and server.faults.slow == 0, server.status_counts
    assert alerts == [], "a recovered refresh sent a failure alert"
    assert home.serving.stat().st_ino != served  # published anew
    assert _raw(home.raw, "SELECT count(*), count(DISTINCT id) FROM case_events.events") == [
        (_live_events(home.events_db),) * 2]
    assert _raw(home.raw, "SELECT count(DISTINCT updated_at) FROM case_events.events WHERE list_contains(?, id)",
                [touched]) == [(1,)]  # the corrected versions replaced the old ones
    clean_raw = published_warehouse.home / "warehouse" / "raw.duckdb"
    assert not differences(fingerprint(home.raw, ("os2bos",)), fingerprint(clean_raw, ("os2bos",)))
    assert not differences(fingerprint(home.serving, ("marts",)), fingerprint(published_warehouse.serving_path,
                                                                              ("marts",)))


def _write_slowly(path: Path, content: bytes, pieces: int, pause: float) -> threading.Thread:
    """A delivery written in `pieces` with pauses, as a slow SFTP upload does."""

    def write() -> None:
        step = len(content) // pieces + 1
        with path.open("wb") as handle:
            for start in range(0, len(content), step):
                handle.write(content[start:start + step])
                handle.flush()
                time.sleep(pause)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_half_written_finance_file_waits_for_the_sensor_and_loads_whole(
    home: FaultHome, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ledger re-export still being written: the drop-folder sensor (Dagster's own evaluation)
    does not start a load while it grows, starts one once it is stable, and the load replaces the
    period with the complete file (one posting more, none quarantined, nothing doubled)."""
    from dagster import DagsterInstance, build_sensor_context

    from orchestration.resources import settings

    drop = home.root / "sources" / "finance_drop"
    original = (drop / "processed" / "ledger_postings_2024.csv").read_bytes()
    extra = '99999;"EFTER1";"31-12-2024";"528201003-015195";"015195";"Efterregistrering";"1234,56";"901"\r\n'
    newline = b"\r\n" if original.endswith(b"\r\n") else b"\n"
    complete = original + extra.rstrip("\r\n").encode("cp1252") + newline
    postings_2024 = "SELECT count(*), sum(amount) FROM finance.ledger_postings WHERE period LIKE '2024-%'"
    before = _raw(home.raw, postings_2024)

    monkeypatch.setenv("WAREHOUSE_HOME", str(home.root))
    monkeypatch.setenv("WAREHOUSE_DROP_STABLE_SECONDS", "2")
    settings.cache_clear()
    try:
        from orchestration.definitions import defs

        sensor = defs.resolve_sensor_def("finance_drop_sensor")
        instance = DagsterInstance.ephemeral()
        cursor: str | None = None
        writer = _write_slowly(drop / "ledger_postings_2024.csv", complete, pieces=8, pause=0.5)
        requests_while_writing = 0
        while writer.is_alive():
            result = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor,
                                                               sensor_name=sensor.name))
            cursor = result.cursor
            requests_while_writing += len(result.run_requests or [])
            time.sleep(0.3)
        assert requests_while_writing == 0, "a load was requested for a file still being written"
        requested = []
        deadline = time.monotonic() + 30
        while not requested and time.monotonic() < deadline:
            result = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor,
                                                               sensor_name=sensor.name))
            cursor, requested = result.cursor, list(result.run_requests or [])
            time.sleep(0.5)
        assert len(requested) == 1, "no load requested once the file was complete"
    finally:
        settings.cache_clear()

    home.serve_events()
    load = home.run(command("ingest"))
    assert load.returncode == 0, load.describe()
    ((rows, total),) = _raw(home.raw, postings_2024)
    assert (rows, total) == (before[0][0] + 1, before[0][1] + Decimal("1234.56"))
    logged = _raw(home.raw, "SELECT status, rows_read, rows_loaded, rows_quarantined FROM finance.file_log "
                            "WHERE source_sha256 = ?", [hashlib.sha256(complete).hexdigest()])
    assert logged == [("loaded", rows, rows, 0)]
