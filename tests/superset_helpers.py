"""Helpers and shared fixtures for the Superset tests (a pytest plugin: the test modules list it in
``pytest_plugins``, so the session's Superset server is set up once for all of them).

The tests run in the pipeline environment and drive Superset only through subprocesses and HTTP:
`superset_config/manage.py` runs in Superset's own environment.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest
import requests
import yaml
from playwright.sync_api import Browser, Page, sync_playwright

REPO_ROOT = Path(__file__).resolve().parent.parent
SUPERSET_DIR = REPO_ROOT / "superset_config"
SUPERSET_PYTHON = SUPERSET_DIR / ".venv" / "bin" / "python"
MANAGE_PY = SUPERSET_DIR / "manage.py"
DASHBOARD_SLUGS = frozenset(
    yaml.safe_load(path.read_text(encoding="utf-8"))["slug"]
    for path in (SUPERSET_DIR / "assets" / "dashboards").glob("*.yaml")
)
DATABASE_NAME = "Warehouse (serving)"
# The sample municipality's school districts (dim_client.school_district_name).
LEADER_DISTRICT = "Nordby Nord"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True)
class SupersetServer:
    base_url: str
    username: str  # the administrator
    password: str
    serving_path: Path
    env: dict[str, str] = field(default_factory=dict)
    users: dict[str, Credentials] = field(default_factory=dict)  # by role: leader, district_leader, analyst

    def as_user(self, role: str) -> Credentials:
        if role == "admin":
            return Credentials(self.username, self.password)
        return self.users[role]


def write_secret(path: Path, value: str) -> Path:
    path.touch(mode=0o600)
    path.write_text(value, encoding="utf-8")
    return path


def write_access_file(secrets_dir: Path) -> tuple[Path, dict[str, Credentials]]:
    """An access configuration with a municipality-wide leader, a district leader and an analyst,
    each with a freshly generated password in its own 0600 file."""
    users = {
        "leader": ("head_of_department", "leader", None),
        "district_leader": ("leader_nord", "leader", LEADER_DISTRICT),
        "analyst": ("analyst", "analyst", None),
    }
    entries, credentials = [], {}
    for key, (username, role, district) in users.items():
        password = secrets.token_urlsafe(18)
        password_file = write_secret(secrets_dir / f"password_{username}", password)
        entry: dict[str, Any] = {"username": username, "role": role, "password_file": str(password_file)}
        if district:
            entry["district"] = district
        entries.append(entry)
        credentials[key] = Credentials(username, password)
    path = secrets_dir / "access.yaml"
    path.write_text(yaml.safe_dump({"users": entries}, sort_keys=False), encoding="utf-8")
    return path, credentials


def superset_env(
    warehouse_home: Path, serving_path: Path, secrets_dir: Path, access_file: Path | None = None
) -> dict[str, str]:
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
        SUPERSET_CACHE_DIR=str(secrets_dir / "cache"),
    )
    if access_file is not None:
        env["SUPERSET_ACCESS_FILE"] = str(access_file)
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


@contextmanager
def serving(env: dict[str, str], work_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`manage.py serve` (gunicorn) on a free port until the block ends: (base URL, process)."""
    with load_superset_module("local_server").served(MANAGE_PY, work_dir / "serve.log", python=SUPERSET_PYTHON,
                                                     env=env) as server:
        yield server


@contextmanager
def running_superset(
    warehouse_home: Path, serving_path: Path, work_dir: Path, env_overrides: dict[str, str] | None = None
) -> Iterator[SupersetServer]:
    """Set up Superset (with configured users) for the warehouse, serve it, stop it afterwards."""
    secrets_dir = work_dir / "secrets"
    secrets_dir.mkdir(parents=True, exist_ok=True)
    access_file, users = write_access_file(secrets_dir)
    env = superset_env(warehouse_home, serving_path, secrets_dir, access_file)
    env.update(env_overrides or {})
    # The semantic layer Superset's metrics are generated from, frozen for the session: other
    # processes may re-parse dbt_project/ meanwhile, the metric tests compare against this copy.
    if "WAREHOUSE_SEMANTIC_MANIFEST" not in env:
        manifest = secrets_dir / "target" / "semantic_manifest.json"
        manifest.parent.mkdir(exist_ok=True)
        shutil.copyfile(load_semantic_metrics().semantic_manifest_path(), manifest)
        env["WAREHOUSE_SEMANTIC_MANIFEST"] = str(manifest)
    setup_seconds = run_manage(["setup"], env, work_dir / "setup.log")
    print(f"\n[superset] setup took {setup_seconds:.1f}s", file=sys.stderr)
    with serving(env, work_dir) as (base_url, _):
        yield SupersetServer(
            base_url=base_url,
            username=env["SUPERSET_ADMIN_USERNAME"],
            password=Path(env["SUPERSET_ADMIN_PASSWORD_FILE"]).read_text(encoding="utf-8"),
            serving_path=serving_path,
            env=env,
            users=users,
        )


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def superset_server(
    published_warehouse: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SupersetServer]:
    """Superset set up for the published warehouse, served on a free port for the session."""
    work_dir = tmp_path_factory.mktemp("superset")
    with running_superset(
        Path(published_warehouse.home), Path(published_warehouse.serving_path), work_dir
    ) as server:
        yield server


# ---------------------------------------------------------------- browser


def load_superset_module(name: str) -> ModuleType:
    """A module of superset_config/ that does not import Superset (semantic_metrics, dashboard_browser)."""
    spec = importlib.util.spec_from_file_location(name, SUPERSET_DIR / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def load_semantic_metrics() -> ModuleType:
    return load_superset_module("semantic_metrics")


dashboard_browser = load_superset_module("dashboard_browser")
CHROMIUM: str = dashboard_browser.CHROMIUM
CHROMIUM_ARGS: list[str] = dashboard_browser.CHROMIUM_ARGS
CHARTS_SETTLED_JS: str = dashboard_browser.CHARTS_SETTLED_JS


CHART_ERROR_SELECTOR = '[role="alert"], .ant-alert-error, [data-test="error-tooltip"], .ant-empty'


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session: Playwright's sync API allows one at a time."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def log_in(page: Page, server: SupersetServer, role: str) -> None:
    """Sign in as ``role`` through Superset's login form (the product's own sign-in, see dashboard_browser)."""
    credentials = server.as_user(role)
    dashboard_browser.log_in(page, server.base_url, credentials.username, credentials.password)


# ---------------------------------------------------------------- HTTP API


def api_session(server: SupersetServer, role: str = "admin") -> requests.Session:
    """A requests session logged in to Superset's API as ``role``, with a CSRF token."""
    credentials = server.as_user(role)
    session = requests.Session()
    response = session.post(
        f"{server.base_url}/api/v1/security/login",
        json={"username": credentials.username, "password": credentials.password, "provider": "db"},
        timeout=30,
    )
    response.raise_for_status()
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    csrf = session.get(f"{server.base_url}/api/v1/security/csrf_token/", timeout=30)
    csrf.raise_for_status()
    session.headers["X-CSRFToken"] = csrf.json()["result"]
    session.headers["Referer"] = server.base_url
    return session


def warehouse_database_id(server: SupersetServer) -> int:
    response = api_session(server).get(f"{server.base_url}/api/v1/database/", timeout=30)
    response.raise_for_status()
    databases = {db["database_name"]: db for db in response.json()["result"]}
    assert DATABASE_NAME in databases, f"registered databases: {sorted(databases)}"
    return int(databases[DATABASE_NAME]["id"])


def listed(server: SupersetServer, resource: str) -> list[dict[str, Any]]:
    """The first 100 rows of ``GET /api/v1/<resource>/`` (dataset, chart, dashboard), as the admin."""
    response = api_session(server).get(
        f"{server.base_url}/api/v1/{resource}/", params={"q": "(page_size:100)"}, timeout=60
    )
    response.raise_for_status()
    return response.json()["result"]


def dataset_ids(server: SupersetServer) -> dict[str, int]:
    """Superset dataset id by ``schema.table``."""
    return {f"{d['schema']}.{d['table_name']}": int(d["id"]) for d in listed(server, "dataset")}


def run_sql(session: requests.Session, server: SupersetServer, database_id: int, sql: str) -> requests.Response:
    return session.post(
        f"{server.base_url}/api/v1/sqllab/execute/",
        json={"database_id": database_id, "sql": sql, "runAsync": False, "schema": "marts"},
        timeout=60,
    )


def chart_data(
    session: requests.Session,
    server: SupersetServer,
    dataset_id: int,
    metrics: list[str],
    groupby_sql: dict[str, str],
    result_format: str = "json",
    force: bool = False,
) -> requests.Response:
    """POST /api/v1/chart/data: ``metrics`` (saved metric names) grouped by SQL expressions."""
    query = {
        "columns": [
            {"label": label, "sqlExpression": sql, "expressionType": "SQL"} for label, sql in groupby_sql.items()
        ],
        "metrics": metrics,
        "orderby": [],
        "row_limit": 100_000,
    }
    return session.post(
        f"{server.base_url}/api/v1/chart/data",
        json={
            "datasource": {"id": dataset_id, "type": "table"},
            "force": force,
            "queries": [query],
            "result_format": result_format,
            "result_type": "full",
        },
        timeout=120,
    )


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
