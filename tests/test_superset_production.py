"""The production profile against the real services on this machine: Superset's metadata in
PostgreSQL, its caches in Redis, served by gunicorn (the embedded default stays SQLite + files).

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379; skipped
with the reason if either is not running.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from tests.conftest import Warehouse
from tests.superset_helpers import (
    DASHBOARD_SLUGS,
    SupersetServer,
    api_session,
    chart_data,
    dataset_ids,
    run_manage,
    serving,
    superset_env,
    write_access_file,
)

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_URL = "redis://127.0.0.1:6379/0"


def reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def redis_keys(pattern: str) -> list[str]:
    result = subprocess.run(
        ["redis-cli", "-u", REDIS_URL, "--scan", "--pattern", pattern],
        capture_output=True, text=True, check=True, timeout=30,
    )
    return [line for line in result.stdout.splitlines() if line]


def postgres(sql: str, database: str = "postgres") -> list[tuple]:
    connection = psycopg2.connect(dbname=database, **POSTGRES)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


@pytest.fixture
def metadata_database() -> Iterator[str]:
    """A fresh PostgreSQL database for Superset's metadata, dropped afterwards."""
    if not (reachable(5432) and reachable(6379)):
        pytest.skip("PostgreSQL on 5432 and Redis on 6379 are needed for the production profile")
    name = f"superset_test_{secrets.token_hex(4)}"
    postgres(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        postgres(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_production_profile_postgres_redis_gunicorn(
    published_warehouse: Warehouse, metadata_database: str, tmp_path: Path
) -> None:
    prefix = f"test_{secrets.token_hex(4)}"
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    access_file, users = write_access_file(secrets_dir)
    env = superset_env(published_warehouse.home, published_warehouse.serving_path, secrets_dir, access_file)
    env.update(
        SUPERSET_METADATA_URI=f"postgresql+psycopg2://postgres@127.0.0.1:5432/{metadata_database}",
        SUPERSET_CACHE_REDIS_URL=REDIS_URL,
        SUPERSET_CACHE_KEY_PREFIX=prefix,
    )
    try:
        run_manage(["setup"], env, tmp_path / "setup.log")
        # The metadata (users from the access file, the imported dashboard) is in PostgreSQL.
        usernames = {row[0] for row in postgres("SELECT username FROM ab_user", metadata_database)}
        assert usernames >= {"admin", *(credentials.username for credentials in users.values())}
        slugs = {row[0] for row in postgres("SELECT slug FROM dashboards", metadata_database)}
        assert slugs == DASHBOARD_SLUGS and len(DASHBOARD_SLUGS) == 6
        assert not (secrets_dir / "superset.db").exists()

        with serving(env, tmp_path) as (base_url, process):
            command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
            assert any(part.endswith(b"gunicorn") for part in command_line), command_line

            server = SupersetServer(base_url, env["SUPERSET_ADMIN_USERNAME"],
                                    Path(env["SUPERSET_ADMIN_PASSWORD_FILE"]).read_text(), published_warehouse.serving_path,
                                    env, users)
            session = api_session(server, "leader")
            dataset_id = dataset_ids(server)["marts.fct_client_cost"]

            def query() -> dict:
                response = chart_data(session, server, dataset_id, ["cost_per_client"], {"year": "year(cost_month)"})
                assert response.status_code == 200, response.text[:500]
                return response.json()["result"][0]

            first = query()
            assert first["data"] and not first["is_cached"]
            # Served from Redis the second time, under this instance's key prefix.
            assert redis_keys(f"{prefix}_data_*"), "no chart data cached in Redis"
            second = query()
            assert second["is_cached"] is True
            assert second["data"] == first["data"]

            # A publish re-imports and clears this instance's cached chart data (and nobody else's).
            run_manage(["import-dashboards"], env, tmp_path / "import.log")
            assert redis_keys(f"{prefix}_data_*") == []
            assert not query()["is_cached"]  # None: computed afresh
    finally:
        keys = redis_keys(f"{prefix}_*")
        if keys:
            subprocess.run(["redis-cli", "-u", REDIS_URL, "DEL", *keys], capture_output=True, check=False)
