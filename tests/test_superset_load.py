"""Twenty leaders use the dashboards while the pipeline publishes new versions: no request fails.

Each simulated user has its own login and asks Superset (gunicorn, on loopback) for chart data
with the cache bypassed, so every request opens the serving DuckDB file. Meanwhile the real publish
step writes new versions and swaps them in three times, and `manage.py import-dashboards` clears
the chart cache as the pipeline does after a publish. Readers open the published file read-only
and a publish replaces it by an atomic rename, so there must be no error and no lock conflict.
Latencies are printed for information; performance figures live in docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from orchestration.publish import list_versions, publish
from orchestration.writer_lock import writer_lock
from tests.conftest import Warehouse
from tests.superset_helpers import SupersetServer, api_session, chart_data, dataset_ids, run_manage

pytest_plugins = ["tests.superset_helpers"]

USERS = 20
PUBLISHES = 3


@dataclass(frozen=True)
class Answer:
    user: int
    status: int
    seconds: float
    error: str | None


def dashboard_queries(server: SupersetServer) -> list[tuple[int, list[str]]]:
    """(dataset id, two of its metrics) for every dataset the dashboards read."""
    session = api_session(server)
    queries = []
    for dataset_id in dataset_ids(server).values():
        detail = session.get(f"{server.base_url}/api/v1/dataset/{dataset_id}", timeout=60)
        detail.raise_for_status()
        metrics = [metric["metric_name"] for metric in detail.json()["result"]["metrics"]][:2]
        if metrics:
            queries.append((dataset_id, metrics))
    return queries


def ask(session: requests.Session, server: SupersetServer, user: int, dataset_id: int, metrics: list[str]) -> Answer:
    started = time.monotonic()
    try:
        response = chart_data(session, server, dataset_id, metrics, {}, force=True)
    except requests.RequestException as error:
        return Answer(user, 0, time.monotonic() - started, f"{type(error).__name__}: {error}")
    seconds = time.monotonic() - started
    if response.status_code != 200:
        return Answer(user, response.status_code, seconds, response.text[:300])
    error = response.json()["result"][0].get("error")
    return Answer(user, 200, seconds, str(error)[:300] if error else None)


def test_twenty_users_while_the_pipeline_publishes(published_warehouse: Warehouse,
                                                   superset_server: SupersetServer, tmp_path: Path) -> None:
    queries = dashboard_queries(superset_server)
    assert len(queries) >= 10
    sessions = [api_session(superset_server, "leader") for _ in range(USERS)]
    answers: list[Answer] = []
    stop = threading.Event()

    def user(number: int) -> None:
        step = number
        while not stop.is_set():
            dataset_id, metrics = queries[step % len(queries)]
            answers.append(ask(sessions[number], superset_server, number, dataset_id, metrics))
            step += 1

    def wait_for_answers(count: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while len(answers) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(answers) >= count, f"only {len(answers)} answers within {timeout:.0f} s"

    users = [threading.Thread(target=user, args=(number,), daemon=True) for number in range(USERS)]
    for thread in users:
        thread.start()
    try:
        wait_for_answers(USERS)  # every user is in the middle of its queries
        home = published_warehouse.home
        warehouse = home / "warehouse"
        duckdb_config = {"memory_limit": "2GB", "threads": 1, "temp_directory": str(home / "tmp" / "duckdb")}
        before = {version.path.name for version in list_versions(published_warehouse.serving_path)}
        during_publish = len(answers)
        with writer_lock(warehouse / ".writer.lock", 600, holder="the load test"):
            for _ in range(PUBLISHES):
                publish(warehouse / "build.duckdb", published_warehouse.serving_path, duckdb_config, keep=7)
        run_manage(["import-dashboards"], superset_server.env, tmp_path / "import.log")
        answered_while_publishing = len(answers) - during_publish
        wait_for_answers(len(answers) + 2 * USERS)  # and everyone keeps reading the new version
    finally:
        stop.set()
        for thread in users:
            thread.join(timeout=300)

    after = {version.path.name for version in list_versions(published_warehouse.serving_path)}
    assert len(after - before) == PUBLISHES
    failures = [answer for answer in answers if answer.error or answer.status != 200]
    assert not failures, failures[:10]
    assert {answer.user for answer in answers} == set(range(USERS))
    assert answered_while_publishing > 0
    seconds = sorted(answer.seconds for answer in answers)
    p95 = seconds[int(0.95 * (len(seconds) - 1))]
    print(f"\n[load] {len(answers)} chart queries by {USERS} users, {answered_while_publishing} during "
          f"{PUBLISHES} publishes and the cache clear; median {statistics.median(seconds):.2f} s, p95 {p95:.2f} s")
