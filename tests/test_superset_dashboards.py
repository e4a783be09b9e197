"""Browser tests of the leader dashboards 1-6 (superset_config/assets/dashboards/): log in as a
leader, open each dashboard, wait for every chart's data, assert that no chart shows an error or
no data, and that the dashboard's key numbers equal the warehouse computed by SQL on the serving
file (from the row-level marts, not from the aggregates the charts read). Each dashboard is saved
as a screenshot under docs/screenshots/ (referenced from README.md).

Shares the session's Superset server and its one Chromium (both tests/superset_helpers.py);
waits on chart data, never sleeps.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Browser, Locator, Page

from tests.superset_helpers import (
    CHART_ERROR_SELECTOR,
    CHARTS_SETTLED_JS,
    LEADER_DISTRICT,
    REPO_ROOT,
    SupersetServer,
    api_session,
    chart_data,
    dataset_ids,
    latest_year_cost_per_client,
    log_in,
)

pytest_plugins = ["tests.superset_helpers"]

SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
CHART_TIMEOUT_MS = 180_000


def sql_one(serving: Path, sql: str) -> tuple:
    with duckdb.connect(str(serving), read_only=True) as connection:
        row = connection.execute(sql).fetchone()
    assert row is not None and row[0] is not None, sql
    return row


def number(text: str) -> float:
    """A number as Superset shows it: '1,234 DKK', '57%', '12.5', '-3'."""
    match = re.search(r"-?[\d,]+(?:\.\d+)?", text.replace("\u2212", "-"))
    assert match, f"no number in {text!r}"
    return float(match.group(0).replace(",", ""))


def chart(page: Page, title: str) -> Locator:
    """The chart whose header is exactly ``title``."""
    located = page.locator('[data-test="chart-grid-component"]').filter(
        has=page.locator('[data-test="slice-header"]').get_by_text(title, exact=True)
    )
    assert located.count() == 1, f"chart {title!r}: {located.count()} matches"
    return located


def big_number(page: Page, title: str) -> str:
    return chart(page, title).locator(".header-line").first.inner_text().strip()


def table_rows(page: Page, title: str) -> list[list[str]]:
    rows = chart(page, title).locator("table tbody tr")
    return [[cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())]


def row_with(rows: list[list[str]], *cells: str) -> list[str]:
    found = [row for row in rows if all(cell in row for cell in cells)]
    assert len(found) == 1, f"rows with {cells}: {found} (of {rows})"
    return found[0]


# ---------------------------------------------------------------- the key numbers per dashboard


def check_cost_per_client(page: Page, serving: Path) -> str:
    headline_year, per_client = latest_year_cost_per_client(serving)
    headline = chart(page, "Cost per client, latest year (DKK)")
    shown = big_number(page, "Cost per client, latest year (DKK)")
    assert shown.endswith("DKK") and number(shown) == pytest.approx(per_client, abs=0.5), f"{shown} != {per_client:.2f}"
    assert str(headline_year) in headline.inner_text()
    year, per_inhabitant, outliers = sql_one(serving, """
        WITH cost AS (SELECT cost_year, SUM(cost_dkk) AS cost FROM marts.fct_client_cost GROUP BY 1),
             pop AS (SELECT population_year, SUM(population_0_17) AS p FROM marts.fct_population GROUP BY 1),
             per_child AS (SELECT cost_year, client_id, SUM(cost_dkk) AS c FROM marts.fct_client_cost GROUP BY 1, 2)
        SELECT cost.cost_year, cost.cost / pop.p,
               (SELECT COUNT(*) FROM per_child WHERE per_child.cost_year = cost.cost_year AND c >= 1000000)
        FROM cost JOIN pop ON cost.cost_year = pop.population_year ORDER BY 1 DESC LIMIT 1""")
    row = row_with(table_rows(page, "Cost per inhabitant by district and year (DKK)"), str(year), "All")
    assert number(row[3]) == pytest.approx(float(per_inhabitant), abs=0.5), row
    outlier_row = row_with(table_rows(page, "Outliers: children costing 1 million DKK or more a year"), str(year), "All")
    assert outlier_row[2] == (str(outliers) if outliers >= 5 else "<5"), outlier_row
    return f"{year}: cost per client {shown}, per inhabitant 0-17 {row[3]}, outliers {outlier_row[2]}"


def check_placements(page: Page, serving: Path) -> str:
    share, month_end = sql_one(serving, """
        SELECT AVG(CASE WHEN is_private_provider THEN 1.0 ELSE 0 END), month_end FROM marts.fct_placement_month_ends
        WHERE month_end = (SELECT MAX(month_end) FROM marts.fct_placement_month_ends) GROUP BY month_end""")
    shown = big_number(page, "External share: placements with private providers")
    assert number(shown) == round(float(share) * 100), f"{shown} != {share:.3f} at {month_end}"
    year, children = sql_one(serving, """
        SELECT stock_year, COUNT(DISTINCT client_id) FROM marts.fct_placement_month_ends
        WHERE month_end = (SELECT MAX(month_end) FROM marts.fct_placement_month_ends) GROUP BY 1""")
    row = row_with(table_rows(page, "Children placed at year end"), str(year), "All")
    assert number(row[-1]) == children, row
    return f"external share {shown}, {children} children placed at {month_end}"


def check_case_processing(page: Page, serving: Path) -> str:
    year, on_time, with_outcome = sql_one(serving, """
        SELECT year(due_date), SUM(CASE WHEN step_status = 'done_on_time' THEN 1 ELSE 0 END),
               SUM(CASE WHEN step_status <> 'open_within_deadline' THEN 1 ELSE 0 END)
        FROM marts.fct_case_steps WHERE year(due_date) = year(reference_date) GROUP BY 1""")
    row = row_with(table_rows(page, "Deadline compliance, all steps"), str(year))
    assert number(row[3]) == with_outcome and number(row[4]) == on_time, row
    assert number(row[-1]) == round(100 * on_time / with_outcome), row
    (due_soon,) = sql_one(serving, """
        SELECT COUNT(*) FROM marts.fct_case_steps WHERE is_open_near_deadline""")
    open_rows = table_rows(page, "Open steps due within 14 days or overdue")
    shown = row_with(open_rows, "due soon", "All steps")[2]
    assert shown == (str(due_soon) if number_of_children_due_soon(serving) >= 5 else "<5"), open_rows
    return f"{year}: {row[-1]} on time ({on_time}/{with_outcome}); due soon {shown}"


def number_of_children_due_soon(serving: Path) -> int:
    return int(sql_one(serving, "SELECT COUNT(DISTINCT client_id) FROM marts.fct_case_steps WHERE is_open_near_deadline")[0])


def check_caseworker_load(page: Page, serving: Path) -> str:
    (load,) = sql_one(serving, """
        SELECT SUM(open_cases) / SUM(CASE WHEN open_cases > 0 THEN 1 ELSE 0 END) FROM marts.fct_caseworker_load
        WHERE load_date = (SELECT MAX(load_date) FROM marts.fct_caseworker_load)""")
    shown = big_number(page, "Open cases per caseworker")
    assert number(shown) == pytest.approx(float(load), abs=0.05), f"{shown} != {load}"
    return f"caseload {shown}"


def check_budget(page: Page, serving: Path) -> str:
    # The Year filter defaults to the current year: the latest with a month that is not in the future.
    year, budget, forecast = sql_one(serving, """
        SELECT budget_year, SUM(budget_dkk), SUM(forecast_dkk) FROM marts.fct_budget
        WHERE budget_year = (SELECT MAX(budget_year) FROM marts.fct_budget WHERE NOT is_future_month)
        GROUP BY 1""")
    shown_budget, shown_forecast = big_number(page, "Budget"), big_number(page, "Year-end forecast")
    assert shown_forecast.endswith("DKK"), shown_forecast
    assert number(shown_budget) == pytest.approx(float(budget), abs=0.5), f"{shown_budget} != {budget} ({year})"
    assert number(shown_forecast) == pytest.approx(float(forecast), abs=0.5), f"{shown_forecast} != {forecast}"
    return f"{year}: budget {shown_budget}, forecast {shown_forecast}"


def check_effect(page: Page, serving: Path) -> str:
    year, moved_down, cases = sql_one(serving, """
        SELECT year(assessed_date), SUM(CASE WHEN staircase_change_vs_baseline < 0 THEN 1 ELSE 0 END), COUNT(*)
        FROM marts.fct_outcomes WHERE is_latest_assessment AND NOT is_baseline
        GROUP BY 1 ORDER BY 1 DESC LIMIT 1""")
    shown = big_number(page, "Cases moved down the staircase")
    assert number(shown) == round(100 * moved_down / cases), f"{shown} != {moved_down}/{cases} ({year})"
    row = row_with(table_rows(page, "Effect by intervention category"), "All")
    assert number(row[1]) == cases, row
    return f"{year}: {shown} of {cases} cases moved down"


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    charts: int
    check: Callable[[Page, Path], str]

    @property
    def screenshot(self) -> Path:
        return SCREENSHOTS / f"{self.slug.replace('-', '_')}.png"


DASHBOARDS = [
    Dashboard("cost-per-client", "Cost per client", 9, check_cost_per_client),
    Dashboard("placements", "Placements", 8, check_placements),
    Dashboard("case-processing", "Case processing", 5, check_case_processing),
    Dashboard("caseworker-load", "Caseworker load", 5, check_caseworker_load),
    Dashboard("budget-forecast", "Budget and forecast", 7, check_budget),
    Dashboard("effect", "Effect", 5, check_effect),
]


@pytest.fixture(scope="module")
def leader_page(superset_server: SupersetServer, browser: Browser) -> Iterator[Page]:
    """One logged-in leader (a head of department: dashboards only) for all dashboards."""
    context = browser.new_context(viewport={"width": 1600, "height": 2200})
    page = context.new_page()
    log_in(page, superset_server, "leader")
    yield page
    context.close()


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=[d.slug for d in DASHBOARDS])
def test_dashboard_for_a_leader(superset_server: SupersetServer, leader_page: Page, dashboard: Dashboard) -> None:
    started = time.monotonic()
    page = leader_page
    page.goto(f"{superset_server.base_url}/superset/dashboard/{dashboard.slug}/")
    page.wait_for_selector('[data-test="dashboard-header-container"], .dashboard-header')
    assert page.get_by_text(dashboard.title).count() > 0
    page.wait_for_function(CHARTS_SETTLED_JS, arg=dashboard.charts, timeout=CHART_TIMEOUT_MS)
    charts = page.locator('[data-test="chart-grid-component"]')
    assert charts.count() == dashboard.charts
    errors = [charts.nth(i).inner_text()[:300] for i in range(charts.count())
              if charts.nth(i).locator(CHART_ERROR_SELECTOR).count() > 0]
    assert not errors, f"charts with errors or no data: {errors}"
    # The native filters (defaults such as District 'All' or the latest year) are applied.
    assert page.locator('[data-test="filter-bar"], [data-test="dashboard-filters-panel"]').count() > 0
    summary = dashboard.check(page, superset_server.serving_path)
    page.wait_for_function("() => !document.querySelector('.echarts-for-react canvas') || "
                           "[...document.querySelectorAll('.echarts-for-react')].every(e => e.offsetHeight > 0)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(dashboard.screenshot), full_page=True, animations="disabled")
    print(f"\n[superset] {dashboard.slug}: {summary} ({time.monotonic() - started:.1f}s)")


LEADER_AGGREGATES = (
    "agg_cost_by_age_group_leader",
    "agg_cost_distribution_leader",
    "agg_cost_per_inhabitant_leader",
    "agg_placements_leader",
    "agg_case_steps_leader",
    "agg_open_case_steps_leader",
    "agg_outcomes_leader",
)


@pytest.mark.parametrize("table", LEADER_AGGREGATES)
def test_district_leader_sees_only_own_district_in_leader_aggregates(superset_server: SupersetServer, table: str) -> None:
    """The dashboards' suppressed aggregates carry school_district_name: row-level security (access.py)
    restricts a district leader to their district's cells (not the 'All' margins, not other districts)."""
    dataset_id = dataset_ids(superset_server)[f"marts.{table}"]
    rows = {"district": "school_district_name"}
    cells = {"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "cells"}

    def districts(role: str) -> set[str]:
        response = chart_data(api_session(superset_server, role), superset_server, dataset_id, [cells], rows)
        assert response.status_code == 200, response.text[:300]
        return {row["district"] for row in response.json()["result"][0]["data"]}

    with duckdb.connect(str(superset_server.serving_path), read_only=True) as connection:
        expected = {d for (d,) in connection.execute(f"SELECT DISTINCT school_district_name FROM marts.{table}").fetchall()}
    assert {"All", LEADER_DISTRICT} <= expected
    assert districts("leader") == expected
    assert districts("district_leader") == {LEADER_DISTRICT}
