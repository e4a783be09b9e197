"""Open Superset's dashboards in headless Chromium as a user does (Playwright, no Superset import).

Used by ``manage.py warm-cache`` and by the tests. The chart-data requests a dashboard sends are
built by Superset's frontend from each chart's form data and the dashboard's native filters (whose
defaults depend on the data, e.g. the latest year), so only a browser asks exactly what a leader's
browser asks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM = "/usr/bin/chromium"  # Debian's (scripts/setup.sh); Playwright's own download does not work offline
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHART_DATA = "/api/v1/chart/data"
CHART_SELECTOR = '[data-test="chart-grid-component"]'
# How long a dashboard must show no chart at all, the network idle, before it counts as drawing nothing.
NOTHING_DRAWN_SECONDS = 3.0
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


class SignInError(RuntimeError):
    """Superset's login form did not sign the user in."""


@dataclass(frozen=True)
class ChartAnswer:
    """One chart-data request a dashboard sent, and how Superset answered it."""

    slice_id: int | None  # None: the value list of a native filter
    status: int
    cached: bool  # every query of the answer came from Superset's cache
    error: str | None
    rows: int  # rows answered, all queries together


@dataclass(frozen=True)
class DashboardOpened:
    slug: str
    answers: list[ChartAnswer]
    # False: no chart was drawn because a native filter offers no values to this user (a required
    # filter without values keeps Superset waiting for a choice), e.g. the budget for a district leader.
    drawn: bool


def log_in(page: Page, base_url: str, username: str, password: str, attempts: int = 3) -> None:
    """Sign in through Superset's React login form.

    The form is part of the single-page app: on a busy machine it can render (so the inputs are
    found and filled) and then mount again while the app boots, which empties it, and the click
    submits nothing. So each attempt waits for the app to settle, checks the filled values, and
    counts only the form's POST as a submission; the error says what the page showed.
    """
    seen: list[str] = []
    for _ in range(attempts):
        page.goto(f"{base_url}/login/")
        page.wait_for_selector("input#username", timeout=60_000)
        try:
            page.wait_for_load_state("networkidle", timeout=20_000)
        except PlaywrightTimeoutError:
            pass  # still busy: the value check below catches an emptied form
        page.fill("input#username", username)
        page.fill("input#password", password)
        if page.input_value("input#username") != username:
            seen.append("the form was emptied after filling")
            continue
        try:
            with page.expect_response(
                lambda response: "/login/" in response.url and response.request.method == "POST", timeout=30_000
            ) as posted:
                page.click("button[type=submit]")
        except PlaywrightTimeoutError:
            seen.append("the click sent no login request")
            continue
        if posted.value.status >= 400:
            seen.append(f"the login request answered HTTP {posted.value.status}")
            continue
        try:
            page.wait_for_url(lambda url: "/login" not in url, timeout=60_000, wait_until="commit")
            return
        except PlaywrightTimeoutError:
            seen.append(f"still on the login page: {page.inner_text('body')[:300]!r}")
    raise SignInError(f"{username} could not sign in after {attempts} attempts: {seen}")


def dashboard_slugs(page: Page, base_url: str) -> list[str]:
    """The slugs of the dashboards the signed-in user may open."""
    response = page.request.get(f"{base_url}/api/v1/dashboard/", params={"q": "(page_size:100)"})
    if not response.ok:
        raise RuntimeError(f"listing dashboards answered HTTP {response.status}: {response.text()[:300]}")
    return sorted(row["slug"] for row in response.json()["result"])


def _answer(response: Response) -> ChartAnswer:
    body: dict[str, Any] = response.request.post_data_json or {}
    slice_id = (body.get("form_data") or {}).get("slice_id")
    if response.status != 200:
        return ChartAnswer(slice_id, response.status, False, response.text()[:300], 0)
    results = response.json().get("result") or []
    errors = [str(result["error"]) for result in results if result.get("error")]
    cached = bool(results) and all(result.get("is_cached") for result in results)
    rows = sum(int(result.get("rowcount") or 0) for result in results)
    return ChartAnswer(slice_id, response.status, cached, "; ".join(errors) or None, rows)


def open_dashboard(page: Page, base_url: str, slug: str, timeout_ms: int = 120_000) -> DashboardOpened:
    """Open one dashboard and wait until every chart has drawn, or until it is clear that none will
    (no chart shown for NOTHING_DRAWN_SECONDS while a native filter's value list came back empty)."""
    responses: list[Response] = []
    answers: list[ChartAnswer] = []  # responses[:len(answers)], each read once

    def record(response: Response) -> None:
        if CHART_DATA in response.url and response.request.method == "POST":
            responses.append(response)

    def answered() -> list[ChartAnswer]:
        answers.extend(_answer(response) for response in responses[len(answers):])
        return answers

    page.on("response", record)
    try:
        page.goto(f"{base_url}/superset/dashboard/{slug}/")
        deadline = time.monotonic() + timeout_ms / 1000
        page.wait_for_load_state("networkidle", timeout=timeout_ms)
        nothing_drawn_since: float | None = None
        while not page.evaluate(CHARTS_SETTLED_JS, 1):
            now = time.monotonic()
            empty_filter = any(a.slice_id is None and a.rows == 0 for a in answered())
            if page.locator(CHART_SELECTOR).count() == 0 and empty_filter:
                nothing_drawn_since = nothing_drawn_since or now
                if now - nothing_drawn_since >= NOTHING_DRAWN_SECONDS:
                    return DashboardOpened(slug, list(answered()), drawn=False)
            else:
                nothing_drawn_since = None
            if now > deadline:
                raise TimeoutError(f"dashboard {slug}: charts not drawn within {timeout_ms / 1000:.0f} s")
            page.wait_for_timeout(250)
    finally:
        page.remove_listener("response", record)
    return DashboardOpened(slug, list(answered()), drawn=True)
