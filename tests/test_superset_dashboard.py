"""End-to-end test of the "Cost per client" Superset dashboard on the published serving file.

Needs the session fixture `published_warehouse` (tests/conftest.py): an object with `home`
(WAREHOUSE_HOME) and `serving_path` after the full pipeline ran. Superset runs in its own
environment (superset_config/.venv) and is driven through subprocesses, HTTP and Chromium.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from tests.superset_helpers import (
    DASHBOARD_SLUG,
    REPO_ROOT,
    SupersetServer,
    latest_year_cost_per_client,
    running_superset,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "cost_per_client.png"
DASHBOARD_TITLE = "Cost per client"
EXPECTED_CHARTS = 5
CHART_TIMEOUT_MS = 120_000

# A chart is done when it shows a visualisation or an error, and no loading indicator.
CHARTS_SETTLED_JS = """
(expected) => {
  const charts = [...document.querySelectorAll('[data-test="chart-grid-component"]')];
  if (charts.length < expected) return false;
  return charts.every((chart) => {
    if (chart.querySelector('.loading, [data-test="loading-indicator"], [aria-label="Loading"]')) {
      return false;
    }
    return chart.querySelector(
      'canvas, svg, table, .header-line, [role="alert"], .ant-alert, .ant-empty'
    ) !== null;
  });
}
"""
CHART_ERROR_SELECTOR = (
    '[role="alert"], .ant-alert-error, [data-test="error-tooltip"], .ant-empty'
)


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


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def log_in(page: Page, server: SupersetServer) -> None:
    page.goto(f"{server.base_url}/login/")
    page.fill("input#username", server.username)
    page.fill("input#password", server.password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)


def api_session(server: SupersetServer) -> requests.Session:
    """A requests session logged in to Superset's API, with a CSRF token."""
    session = requests.Session()
    response = session.post(
        f"{server.base_url}/api/v1/security/login",
        json={"username": server.username, "password": server.password, "provider": "db"},
        timeout=30,
    )
    response.raise_for_status()
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    csrf = session.get(f"{server.base_url}/api/v1/security/csrf_token/", timeout=30)
    csrf.raise_for_status()
    session.headers["X-CSRFToken"] = csrf.json()["result"]
    session.headers["Referer"] = server.base_url
    return session


def warehouse_database(session: requests.Session, server: SupersetServer) -> dict[str, Any]:
    response = session.get(f"{server.base_url}/api/v1/database/", timeout=30)
    response.raise_for_status()
    databases = {db["database_name"]: db for db in response.json()["result"]}
    assert "Warehouse (serving)" in databases, f"registered databases: {sorted(databases)}"
    return databases["Warehouse (serving)"]


def run_sql(session: requests.Session, server: SupersetServer, database_id: int, sql: str) -> requests.Response:
    return session.post(
        f"{server.base_url}/api/v1/sqllab/execute/",
        json={"database_id": database_id, "sql": sql, "runAsync": False, "schema": "marts"},
        timeout=60,
    )


def test_cost_per_client_dashboard(superset_server: SupersetServer, browser: Browser) -> None:
    started = time.monotonic()
    latest_year, expected = latest_year_cost_per_client(superset_server.serving_path)
    context = browser.new_context(viewport={"width": 1600, "height": 1500})
    try:
        page = context.new_page()
        log_in(page, superset_server)
        page.goto(f"{superset_server.base_url}/superset/dashboard/{DASHBOARD_SLUG}/")
        page.wait_for_selector('[data-test="dashboard-header-container"], .dashboard-header')
        assert DASHBOARD_TITLE in page.title() or page.get_by_text(DASHBOARD_TITLE).count() > 0

        page.wait_for_function(CHARTS_SETTLED_JS, arg=EXPECTED_CHARTS, timeout=CHART_TIMEOUT_MS)
        charts = page.locator('[data-test="chart-grid-component"]')
        assert charts.count() == EXPECTED_CHARTS
        errors = [
            charts.nth(index).inner_text()
            for index in range(charts.count())
            if charts.nth(index).locator(CHART_ERROR_SELECTOR).count() > 0
        ]
        assert not errors, f"charts with errors or no data: {errors}"

        headline = page.locator(
            '[data-test="chart-grid-component"]:has-text("Cost per client, latest year")'
        )
        shown_text = headline.locator(".header-line").inner_text().strip()
        assert shown_text.endswith("DKK"), shown_text
        shown = int(re.sub(r"[^\d-]", "", shown_text))
        assert abs(shown - expected) <= 0.5, (
            f"headline {shown_text!r} != {expected:.2f} DKK ({latest_year}, from the serving file)"
        )
        assert str(latest_year) in headline.inner_text()

        page.wait_for_timeout(1_000)  # let chart animations finish before the screenshot
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    finally:
        context.close()
    print(f"\n[superset] dashboard test took {time.monotonic() - started:.1f}s; headline {shown_text}")


def test_sql_lab_cannot_read_server_files(superset_server: SupersetServer) -> None:
    session = api_session(superset_server)
    database = warehouse_database(session, superset_server)
    details = session.get(f"{superset_server.base_url}/api/v1/database/{database['id']}", timeout=30)
    details.raise_for_status()
    settings = details.json()["result"]
    assert settings["expose_in_sqllab"] is True
    assert settings["allow_dml"] is False
    assert settings["allow_file_upload"] is False

    # The connection works for the serving file ...
    allowed = run_sql(session, superset_server, database["id"], "SELECT COUNT(*) AS n FROM marts.fct_client_cost")
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["data"][0]["n"] > 0

    # ... but not for anything else on the server's file system.
    for sql in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "ATTACH '/etc/passwd' AS other",
        "SET enable_external_access = true",
    ):
        response = run_sql(session, superset_server, database["id"], sql)
        body = response.json()
        assert response.status_code != 200 and "data" not in body, f"{sql}: {response.text[:300]}"
        assert "root:" not in response.text
