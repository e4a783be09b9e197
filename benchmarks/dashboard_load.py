"""Every chart of every dashboard, asked by 20 concurrent leaders, against a published warehouse.

    .venv/bin/python benchmarks/dashboard_load.py --home /work/bench/national

Sets Superset up for the warehouse home's published (serving) file and serves it as the product
does (`manage.py serve`, gunicorn on loopback). A headless Chromium signs in as a leader, opens
each dashboard and records the chart-data requests the dashboard itself sends (its charts and
the value lists of its native filters), so the load is exactly what the leaders' browsers ask for. Then `--users` threads, each its own signed-in
session, replay all of them `--rounds` times in a staggered order with Superset's cache bypassed
(`force`), so every request runs its query on DuckDB; with `--cache warm`, one user asks each once
first and the users are then answered from the cache; with `--cache pipeline`, the pipeline's own
warm-up after a publish (`manage.py warm-cache`, timed) fills the cache instead, and the report
says how many answers came from it. `--metadata-uri` and `--redis-url` serve
the production profile (PostgreSQL metadata, Redis cache). Prints latency per dashboard and the
slowest charts as Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import requests
from playwright.sync_api import Request, sync_playwright

from tests.superset_helpers import (
    CHARTS_SETTLED_JS,
    CHROMIUM,
    CHROMIUM_ARGS,
    SupersetServer,
    api_session,
    listed,
    log_in,
    run_manage,
    running_superset,
)

CHART_DATA = "/api/v1/chart/data"


@dataclass(frozen=True)
class ChartRequest:
    dashboard: str
    chart: str
    body: dict


@dataclass(frozen=True)
class Answer:
    request: ChartRequest
    seconds: float
    failure: str | None
    cached: bool


def recorded_requests(server: SupersetServer, role: str) -> list[ChartRequest]:
    """The chart-data requests each dashboard sends when `role` opens it in a browser."""
    names = {row["id"]: row["slice_name"] for row in listed(server, "chart")}
    recorded: list[ChartRequest] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1600, "height": 2200}).new_page()
        log_in(page, server, role)
        for slug in sorted(row["slug"] for row in listed(server, "dashboard")):
            bodies: list[dict] = []

            def record(request: Request, into: list[dict] = bodies) -> None:
                if CHART_DATA in request.url and request.method == "POST":
                    into.append(request.post_data_json)

            page.on("request", record)
            page.goto(f"{server.base_url}/superset/dashboard/{slug}/")
            page.wait_for_load_state("networkidle", timeout=300_000)
            page.wait_for_function(CHARTS_SETTLED_JS, arg=1, timeout=300_000)
            page.remove_listener("request", record)
            for body in bodies:
                chart_id = body.get("form_data", {}).get("slice_id")
                name = names.get(chart_id, f"chart {chart_id}") if chart_id else "native filter: its values"
                recorded.append(ChartRequest(slug, name, body))
        browser.close()
    return recorded


def replay(
    server: SupersetServer, role: str, requests_: list[ChartRequest], users: int, rounds: int, force: bool = True
) -> list[Answer]:
    """`users` threads, each its own session, asking every request `rounds` times (`force`: cache bypassed)."""
    sessions = [api_session(server, role) for _ in range(users)]
    answers: list[Answer] = []
    lock = threading.Lock()
    total = users * rounds * len(requests_)

    def user(number: int) -> None:
        for step in range(rounds * len(requests_)):
            request = requests_[(number + step) % len(requests_)]  # staggered: users ask different charts
            body = dict(request.body, force=force)
            started = time.monotonic()
            cached = False
            try:
                response = sessions[number].post(f"{server.base_url}{CHART_DATA}", json=body, timeout=300)
                failure = None if response.status_code == 200 else f"HTTP {response.status_code}: {response.text[:200]}"
                if failure is None:
                    results = response.json()["result"]
                    failure = "query error" if any(result.get("error") for result in results) else None
                    cached = all(result.get("is_cached") for result in results)
            except requests.RequestException as error:
                failure = f"{type(error).__name__}: {error}"
            with lock:
                answers.append(Answer(request, time.monotonic() - started, failure, cached))
                if len(answers) % 100 == 0:
                    print(f"  {len(answers)} of {total} answered", file=sys.stderr, flush=True)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def report(answers: list[Answer], users: int, wall: float, serving_path: Path) -> None:
    failures = [a for a in answers if a.failure]
    ok = [a for a in answers if not a.failure]
    print(f"\n{len(answers)} requests by {users} users in {wall:.1f} s; {len(failures)} failed; "
          f"{sum(a.cached for a in answers)} answered from Superset's cache; "
          f"serving file {serving_path.stat().st_size / 2**30:.2f} GiB; machine {platform.machine()}, "
          f"{os.cpu_count()} cores; duckdb {duckdb.__version__}")
    for failure in failures[:5]:
        print(f"  failed: {failure.request.dashboard} / {failure.request.chart}: {failure.failure}")
    print("\n| dashboard | charts asked | requests | p50 | p95 | max |")
    print("|---|---|---|---|---|---|")
    for dashboard in sorted({a.request.dashboard for a in ok}):
        seconds = [a.seconds for a in ok if a.request.dashboard == dashboard]
        charts = len({a.request.chart for a in ok if a.request.dashboard == dashboard})
        print(f"| {dashboard} | {charts} | {len(seconds)} | {statistics.median(seconds):.2f} s | "
              f"{p95(seconds):.2f} s | {max(seconds):.2f} s |")
    everything = [a.seconds for a in ok]
    print(f"| **all** | | {len(everything)} | {statistics.median(everything):.2f} s | "
          f"**{p95(everything):.2f} s** | {max(everything):.2f} s |")
    by_chart: dict[tuple[str, str], list[float]] = {}
    for answer in ok:
        by_chart.setdefault((answer.request.dashboard, answer.request.chart), []).append(answer.seconds)
    print("\nslowest charts (p95):")
    for (dashboard, chart), seconds in sorted(by_chart.items(), key=lambda item: -p95(item[1]))[:8]:
        print(f"- {dashboard} / {chart}: p95 {p95(seconds):.2f} s, p50 {statistics.median(seconds):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a warehouse home with a published serving file")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="times each user asks every recorded request")
    parser.add_argument("--role", default="leader")
    parser.add_argument("--cache", choices=["bypass", "warm", "pipeline"], default="bypass",
                        help="bypass: every request runs its query; warm: one user asks every request once, "
                             "then the users are answered from Superset's cache (what it costs Superset itself); "
                             "pipeline: the pipeline's warm-up after a publish (manage.py warm-cache) fills it")
    parser.add_argument("--metadata-uri", help="Superset's metadata database (the production profile: PostgreSQL)")
    parser.add_argument("--redis-url", help="Superset's cache in Redis (the production profile)")
    args = parser.parse_args()
    serving_path = args.home / "warehouse" / "serving.duckdb"
    if not serving_path.exists():
        sys.exit(f"no published warehouse at {serving_path}: run a refresh for that home first")
    work_dir = Path(tempfile.mkdtemp(prefix="dashboard-load-"))
    overrides: dict[str, str] = {}
    if args.metadata_uri:
        overrides["SUPERSET_METADATA_URI"] = args.metadata_uri
    if args.redis_url:
        overrides["SUPERSET_CACHE_REDIS_URL"] = args.redis_url
        overrides["SUPERSET_CACHE_KEY_PREFIX"] = f"bench_{os.getpid()}"
    with running_superset(args.home, serving_path, work_dir, overrides) as server:
        recorded = recorded_requests(server, args.role)
        print(f"recorded {len(recorded)} chart requests on {len({r.dashboard for r in recorded})} dashboards",
              file=sys.stderr)
        (work_dir / "requests.json").write_text(json.dumps([r.__dict__ for r in recorded], indent=1))
        if args.cache == "warm":
            replay(server, args.role, recorded, users=1, rounds=1, force=False)
        elif args.cache == "pipeline":
            run_manage(["clear-cache"], server.env, work_dir / "clear.log")
            seconds = run_manage(["warm-cache"], server.env, work_dir / "warm.log")
            print(f"manage.py warm-cache took {seconds:.1f} s:", file=sys.stderr)
            print((work_dir / "warm.log").read_text(), file=sys.stderr)
        started = time.monotonic()
        answers = replay(server, args.role, recorded, args.users, args.rounds, force=args.cache == "bypass")
        report(answers, args.users, time.monotonic() - started, serving_path)


if __name__ == "__main__":
    main()
