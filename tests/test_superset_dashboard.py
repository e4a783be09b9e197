"""End-to-end tests of Superset on the published serving file: what each role (leader, district
leader, analyst) may and may not do, SQL Lab in a browser, the read-only database, the chart cache
and the server's settings (the dashboards themselves: tests/test_superset_dashboards.py).

Needs the session fixture `published_warehouse` (tests/conftest.py); the Superset server is the
session fixture `superset_server` from tests/superset_helpers.py. Superset runs in its own
environment (superset_config/.venv) and is driven through subprocesses, HTTP and Chromium.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Browser

from tests.superset_helpers import (
    LEADER_DISTRICT,
    MANAGE_PY,
    SUPERSET_PYTHON,
    SupersetServer,
    api_session,
    chart_data,
    dashboard_browser,
    dataset_ids,
    log_in,
    run_manage,
    run_sql,
    superset_env,
    warehouse_database_id,
)

pytest_plugins = ["tests.superset_helpers"]

SQL_EDITOR_SELECTOR = '[data-test="sql-editor-tabs"], #ace-editor, .ace_editor'


def test_sql_lab_in_the_browser_for_analysts_only(superset_server: SupersetServer, browser: Browser) -> None:
    seen: dict[str, bool] = {}
    for role in ("analyst", "leader"):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            page = context.new_page()
            log_in(page, superset_server, role)
            page.goto(f"{superset_server.base_url}/sqllab/")
            try:
                page.wait_for_selector(SQL_EDITOR_SELECTOR, timeout=30_000 if role == "analyst" else 8_000)
                seen[role] = True
            except Exception:  # noqa: BLE001 (playwright's TimeoutError: no editor)
                seen[role] = False
        finally:
            context.close()
    assert seen == {"analyst": True, "leader": False}


def test_database_is_read_only_with_external_access_disabled(superset_server: SupersetServer) -> None:
    session = api_session(superset_server)
    database_id = warehouse_database_id(superset_server)
    details = session.get(f"{superset_server.base_url}/api/v1/database/{database_id}", timeout=30)
    details.raise_for_status()
    settings = details.json()["result"]
    assert settings["expose_in_sqllab"] is True
    assert settings["allow_dml"] is False
    assert settings["allow_file_upload"] is False


FORBIDDEN_SQL = (
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
    "ATTACH '/etc/passwd' AS other",
    "ATTACH ':memory:' AS scratch",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "COPY marts.dim_client TO '{leak}'",
    "CREATE TABLE marts.scratch AS SELECT 1 AS x",
    "INSERT INTO marts.dim_team (team_id) VALUES (999999)",
    "DROP TABLE marts.dim_team",
)


def test_analyst_queries_marts_read_only(superset_server: SupersetServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    session = api_session(superset_server, "analyst")
    database_id = warehouse_database_id(superset_server)
    allowed = run_sql(session, superset_server, database_id, "SELECT COUNT(*) AS n FROM marts.fct_client_cost")
    assert allowed.status_code == 200, allowed.text
    with duckdb.connect(str(superset_server.serving_path), read_only=True) as connection:
        expected = connection.sql("SELECT COUNT(*) FROM marts.fct_client_cost").fetchone()[0]
        teams = connection.sql("SELECT COUNT(*) FROM marts.dim_team").fetchone()[0]
    assert allowed.json()["data"][0]["n"] == expected > 0

    leak = tmp_path_factory.mktemp("leak") / "clients.csv"
    for sql in FORBIDDEN_SQL:
        response = run_sql(session, superset_server, database_id, sql.format(leak=leak))
        body = response.json()
        assert response.status_code != 200 and "data" not in body, f"{sql}: {response.text[:300]}"
        assert "root:" not in response.text
    assert not leak.exists()
    with duckdb.connect(str(superset_server.serving_path), read_only=True) as connection:
        assert connection.sql("SELECT COUNT(*) FROM marts.dim_team").fetchone()[0] == teams
        assert connection.sql(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'scratch'"
        ).fetchone()[0] == 0


@pytest.mark.parametrize("role", ["leader", "district_leader"])
def test_leader_has_no_sql_lab_and_no_row_level_export(superset_server: SupersetServer, role: str) -> None:
    database_id = warehouse_database_id(superset_server)
    dataset_id = dataset_ids(superset_server)["marts.fct_client_cost"]
    leader = api_session(superset_server, role)
    analyst = api_session(superset_server, "analyst")

    refused = run_sql(leader, superset_server, database_id, "SELECT 1 AS one")
    assert refused.status_code in (401, 403), refused.text[:300]
    assert run_sql(analyst, superset_server, database_id, "SELECT 1 AS one").status_code == 200

    rows = {"client": "client_id", "month": "cost_month"}
    for result_format in ("csv", "xlsx"):
        export = chart_data(leader, superset_server, dataset_id, ["total_cost"], rows, result_format)
        assert export.status_code == 403, f"{result_format}: {export.status_code} {export.text[:200]}"
    # The same export is allowed to an analyst: the refusal above is the role, not the request.
    assert chart_data(analyst, superset_server, dataset_id, ["total_cost"], rows, "csv").status_code == 200

    samples = leader.post(
        f"{superset_server.base_url}/datasource/samples",
        params={"datasource_id": dataset_id, "datasource_type": "table"},
        json={},
        timeout=60,
    )
    assert samples.status_code in (401, 403), samples.text[:300]
    # Aggregated chart data (what the dashboards show) is allowed.
    shown = chart_data(leader, superset_server, dataset_id, ["total_cost"], {"year": "year(cost_month)"})
    assert shown.status_code == 200, shown.text[:300]


def _by_district(server: SupersetServer, role: str, table: str, metric: str, district_sql: str) -> dict[str, float]:
    dataset_id = dataset_ids(server)[table]
    response = chart_data(api_session(server, role), server, dataset_id, [metric], {"district": district_sql})
    assert response.status_code == 200, response.text[:500]
    return {row["district"]: float(row[metric]) for row in response.json()["result"][0]["data"]}


def test_district_leader_sees_only_own_district(superset_server: SupersetServer) -> None:
    with duckdb.connect(str(superset_server.serving_path), read_only=True) as connection:
        cost = dict(connection.sql(
            "SELECT school_district_name, SUM(cost_dkk)::DOUBLE FROM marts.fct_client_cost GROUP BY 1"
        ).fetchall())
        placements = dict(connection.sql(
            "SELECT c.school_district_name, COUNT(p.placement_id)::DOUBLE FROM marts.fct_placements p "
            "JOIN marts.dim_client c USING (client_id) GROUP BY 1"
        ).fetchall())
    assert len(cost) > 1 and LEADER_DISTRICT in cost

    # A dataset with the district column: only the own district, with the warehouse's figure.
    own = _by_district(superset_server, "district_leader", "marts.fct_client_cost", "total_cost", "school_district_name")
    assert set(own) == {LEADER_DISTRICT}
    assert own[LEADER_DISTRICT] == pytest.approx(cost[LEADER_DISTRICT], abs=0.01)
    everyone = _by_district(superset_server, "leader", "marts.fct_client_cost", "total_cost", "school_district_name")
    assert everyone == pytest.approx(cost, abs=0.01)

    # A dataset with client_id only: restricted through dim_client (Superset refuses sub-queries in
    # ad-hoc SQL, so compare the district leader's total with the warehouse's figure).
    own = _by_district(superset_server, "district_leader", "marts.fct_placements", "placements_started", "'own'")
    assert own == {"own": placements[LEADER_DISTRICT]}
    assert placements[LEADER_DISTRICT] < sum(placements.values())

    # Organisation-wide figures without a district (the budget): nothing for a district leader.
    assert _by_district(superset_server, "district_leader", "marts.fct_budget", "budget", "'all'") == {}
    assert _by_district(superset_server, "leader", "marts.fct_budget", "budget", "'all'") != {}

    # The values a native filter offers come from the same API: only the own district.
    values = _by_district(superset_server, "district_leader", "marts.fct_client_cost", "clients",
                          "school_district_name")
    assert list(values) == [LEADER_DISTRICT]


def test_chart_cache_is_cleared_after_publish(superset_server: SupersetServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The pipeline's superset_dashboards asset runs `manage.py import-dashboards` after a publish."""
    session = api_session(superset_server, "leader")
    dataset_id = dataset_ids(superset_server)["marts.fct_client_cost"]
    grouping = {"year": "year(cost_month)", "category": "intervention_category"}

    def is_cached() -> bool:
        response = chart_data(session, superset_server, dataset_id, ["cost_per_client"], grouping)
        assert response.status_code == 200, response.text[:300]
        return bool(response.json()["result"][0]["is_cached"])

    is_cached()
    assert is_cached() is True
    log = tmp_path_factory.mktemp("publish") / "import.log"
    run_manage(["import-dashboards"], superset_server.env, log)
    assert "chart data cache cleared" in log.read_text()
    assert is_cached() is False


def test_warm_cache_answers_every_scope_from_the_cache(
    superset_server: SupersetServer, browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """After a publish the pipeline runs `manage.py warm-cache`: every chart of every dashboard, for a
    municipality-wide leader and for a district leader (row-level security keys the cache), is then
    answered from the cache when the leaders open the dashboards."""
    logs = tmp_path_factory.mktemp("warm_cache")
    run_manage(["clear-cache"], superset_server.env, logs / "clear.log")
    run_manage(["warm-cache"], superset_server.env, logs / "warm.log")
    warm_log = (logs / "warm.log").read_text()
    assert "cache warmed for all districts (as head_of_department)" in warm_log, warm_log
    assert f"cache warmed for {LEADER_DISTRICT} (as leader_nord)" in warm_log, warm_log

    for role in ("leader", "district_leader"):
        context = browser.new_context(viewport={"width": 1600, "height": 2200})
        try:
            page = context.new_page()
            log_in(page, superset_server, role)
            slugs = dashboard_browser.dashboard_slugs(page, superset_server.base_url)
            assert slugs, f"{role} sees no dashboards"
            drawn = set()
            for slug in slugs:
                opened = dashboard_browser.open_dashboard(page, superset_server.base_url, slug)
                assert opened.answers, f"{role}: {slug} sent no chart requests"
                not_cached = [a for a in opened.answers if not a.cached or a.error]
                assert not not_cached, f"{role}: {slug}: {len(not_cached)} of {len(opened.answers)} not from the cache: {not_cached}"
                if opened.drawn:
                    drawn.add(slug)
            # The budget is organisation-wide: a district leader's year filter offers no values.
            expected = set(slugs) - ({"budget-forecast"} if role == "district_leader" else set())
            assert drawn == expected, role
        finally:
            context.close()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SUPERSET_SECRET_KEY", "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET", "published default"),
        ("SUPERSET_SECRET_KEY", "too-short", "shorter than"),
    ],
)
def test_setup_refuses_an_unsafe_secret_key(tmp_path: Path, variable: str, value: str, message: str) -> None:
    env = superset_env(tmp_path, tmp_path / "serving.duckdb", tmp_path / "secrets")
    env.pop("SUPERSET_SECRET_KEY_FILE")
    env[variable] = value
    result = subprocess.run([str(SUPERSET_PYTHON), str(MANAGE_PY), "setup"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "secrets" / "superset.db").exists()


def test_setup_refuses_passwords_in_the_access_file(tmp_path: Path) -> None:
    access_file = tmp_path / "access.yaml"
    access_file.write_text("users:\n  - {username: leader, role: leader, password: admin}\n")
    env = superset_env(tmp_path, tmp_path / "serving.duckdb", tmp_path / "secrets", access_file)
    result = subprocess.run([str(SUPERSET_PYTHON), str(MANAGE_PY), "setup"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "password_file or password_env" in result.stderr
    assert not (tmp_path / "secrets" / "superset.db").exists()


@pytest.mark.parametrize("https", ["", "1"])
def test_session_cookie_is_secure_behind_https(tmp_path: Path, https: str) -> None:
    env = {**superset_env(tmp_path, tmp_path / "serving.duckdb", tmp_path / "secrets"), "SUPERSET_HTTPS": https}
    read_settings = (
        "import importlib.util, json, sys; spec = importlib.util.spec_from_file_location('c', sys.argv[1]); "
        "c = importlib.util.module_from_spec(spec); spec.loader.exec_module(c); print(json.dumps([c.WTF_CSRF_ENABLED, "
        "c.SESSION_COOKIE_HTTPONLY, c.SESSION_COOKIE_SAMESITE, c.SESSION_COOKIE_SECURE, "
        "c.TALISMAN_CONFIG['force_https'], c.TALISMAN_CONFIG['session_cookie_secure'], c.ENABLE_PROXY_FIX]))"
    )
    result = subprocess.run([str(SUPERSET_PYTHON), "-c", read_settings, str(MANAGE_PY.with_name("superset_config.py"))],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    behind_https = https == "1"
    assert json.loads(result.stdout.splitlines()[-1]) == [True, True, "Lax", *[behind_https] * 4]
