"""Helpers for the Superset tests: run `superset_config/manage.py` in Superset's own environment.

The tests run in the pipeline environment and drive Superset only through subprocesses and HTTP.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
SUPERSET_DIR = REPO_ROOT / "superset_config"
SUPERSET_PYTHON = SUPERSET_DIR / ".venv" / "bin" / "python"
MANAGE_PY = SUPERSET_DIR / "manage.py"
DASHBOARD_SLUG = "cost-per-client"


@dataclass(frozen=True)
class SupersetServer:
    base_url: str
    username: str
    password: str
    serving_path: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_secret(path: Path, value: str) -> Path:
    path.touch(mode=0o600)
    path.write_text(value, encoding="utf-8")
    return path


def superset_env(warehouse_home: Path, serving_path: Path, secrets_dir: Path) -> dict[str, str]:
    """Environment for manage.py with freshly generated secrets (files with mode 0600)."""
    secrets_dir.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SUPERSET_", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    env.update(
        WAREHOUSE_HOME=str(warehouse_home),
        WAREHOUSE_SERVING_PATH=str(serving_path),
        SUPERSET_SECRET_KEY_FILE=str(
            write_secret(secrets_dir / "superset_secret_key", secrets.token_urlsafe(48))
        ),
        SUPERSET_ADMIN_USERNAME="admin",
        SUPERSET_ADMIN_PASSWORD_FILE=str(
            write_secret(secrets_dir / "superset_admin_password", secrets.token_urlsafe(24))
        ),
        # Keep the test's metadata apart from any instance already using WAREHOUSE_HOME.
        SUPERSET_METADATA_URI=f"sqlite:///{secrets_dir / 'superset.db'}",
    )
    return env


def run_manage(command: list[str], env: dict[str, str], log_path: Path) -> float:
    """Run `manage.py <command>` to completion; return its duration in seconds."""
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log_file:
        result = subprocess.run(
            [str(SUPERSET_PYTHON), str(MANAGE_PY), *command],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=900,
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(command)} failed ({result.returncode}):\n{log_path.read_text()}"
        )
    return time.monotonic() - started


def wait_for_health(base_url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Superset exited with code {process.returncode} while starting")
        try:
            if requests.get(f"{base_url}/health", timeout=5).text.strip() == "OK":
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise TimeoutError(f"Superset did not become healthy at {base_url} within {timeout}s")


@contextmanager
def running_superset(
    warehouse_home: Path, serving_path: Path, work_dir: Path
) -> Iterator[SupersetServer]:
    """Set up Superset for the given warehouse, serve it on a free port, stop it afterwards."""
    env = superset_env(warehouse_home, serving_path, work_dir / "secrets")
    setup_seconds = run_manage(["setup"], env, work_dir / "setup.log")
    print(f"\n[superset] setup took {setup_seconds:.1f}s", file=sys.stderr)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with (work_dir / "serve.log").open("w", encoding="utf-8") as serve_log:
        process = subprocess.Popen(
            [str(SUPERSET_PYTHON), str(MANAGE_PY), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=serve_log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_health(base_url, process)
            yield SupersetServer(
                base_url=base_url,
                username=env["SUPERSET_ADMIN_USERNAME"],
                password=Path(env["SUPERSET_ADMIN_PASSWORD_FILE"]).read_text(encoding="utf-8"),
                serving_path=serving_path,
            )
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def latest_year_cost_per_client(serving_path: Path) -> tuple[int, float]:
    """The headline, computed directly from the serving file."""
    with duckdb.connect(str(serving_path), read_only=True) as con:
        row = con.execute(
            """
            SELECT year(cost_month) AS cost_year, SUM(cost_dkk) / COUNT(DISTINCT client_id)
            FROM marts.fct_client_cost
            GROUP BY ALL
            ORDER BY cost_year DESC
            LIMIT 1
            """
        ).fetchone()
    assert row is not None, "marts.fct_client_cost is empty"
    return int(row[0]), float(row[1])
