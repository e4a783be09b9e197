"""Fill Superset's chart cache after a publish, so the first leader of the morning is served from it.

A publish clears the cache (cached results are keyed on the query, not the data). Superset keys a
cached result on the query and on the row-level-security clauses of the user who asked, so the
cache is warm only for the scopes that opened a dashboard. ``warm`` therefore signs in once per
scope: a municipality-wide leader (the administrator if the access file has none) and one leader of
each configured district. As each, it opens every dashboard that user may see in headless Chromium
and waits until every chart has drawn (or, where a native filter offers that user no values, until
it is clear that none will): the browser sends exactly the requests a leader's browser sends,
native-filter defaults included, and each answer lands in the cache.

Every chart that answers with an error is reported: the warm-up is also the night's check that
every dashboard draws.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import sync_playwright

import access
from dashboard_browser import CHROMIUM, CHROMIUM_ARGS, ChartAnswer, DashboardOpened, dashboard_slugs, log_in, open_dashboard

ALL_DISTRICTS = "all districts"


@dataclass(frozen=True)
class Viewer:
    """A user whose sign-in stands for one row-level-security scope."""

    scope: str
    username: str
    password: str


@dataclass(frozen=True)
class ScopeWarmed:
    scope: str
    dashboards: list[DashboardOpened]
    seconds: float

    @property
    def answers(self) -> list[tuple[str, ChartAnswer]]:
        """(dashboard slug, answer) of every chart-data request the dashboards sent."""
        return [(dashboard.slug, answer) for dashboard in self.dashboards for answer in dashboard.answers]

    @property
    def failures(self) -> list[tuple[str, ChartAnswer]]:
        return [(slug, answer) for slug, answer in self.answers if answer.error or answer.status != 200]

    @property
    def queries_run(self) -> int:
        return sum(not answer.cached for _, answer in self.answers)


def viewers(config: access.AccessConfig, admin_username: str, admin_password: str) -> list[Viewer]:
    """One user per row-level-security scope of the configured users."""
    unscoped = next((u for u in config.users if u.role == "leader" and not u.district), None)
    chosen = [Viewer(ALL_DISTRICTS, unscoped.username, unscoped.password) if unscoped
              else Viewer(ALL_DISTRICTS, admin_username, admin_password)]
    for district in config.districts:
        leader = next(u for u in config.users if u.district == district)
        chosen.append(Viewer(district, leader.username, leader.password))
    return chosen


def warm(base_url: str, chosen: list[Viewer], log: Callable[[str], None]) -> list[ScopeWarmed]:
    """Open every dashboard as each viewer; what each chart asked lands in Superset's cache."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium is not installed at {CHROMIUM}: scripts/setup.sh installs it")
    warmed: list[ScopeWarmed] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for viewer in chosen:
                started = time.monotonic()
                context = browser.new_context(viewport={"width": 1600, "height": 2200})
                page = context.new_page()
                log_in(page, base_url, viewer.username, viewer.password)
                dashboards = [open_dashboard(page, base_url, slug) for slug in dashboard_slugs(page, base_url)]
                context.close()
                scope = ScopeWarmed(viewer.scope, dashboards, time.monotonic() - started)
                log(f"cache warmed for {scope.scope} (as {viewer.username}): {len(scope.answers)} chart requests on "
                    f"{len(dashboards)} dashboards, {scope.queries_run} queries run, in {scope.seconds:.1f} s")
                for dashboard in dashboards:
                    if not dashboard.drawn:
                        log(f"  {dashboard.slug}: no chart drawn for {scope.scope}: a native filter offers no values")
                warmed.append(scope)
        finally:
            browser.close()
    return warmed
