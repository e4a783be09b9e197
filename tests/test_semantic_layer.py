"""Every MetricFlow metric answers through `mf query` on the refreshed warehouse, and a metric of each
type (simple, ratio, derived, semi-additive) agrees with the marts.

The metrics are read from the semantic manifest that `dbt parse` writes for the project as it is now,
so a metric added to the YAML later is queried here without changing this file.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.conftest import REPO_ROOT, Warehouse

DBT_PROJECT = REPO_ROOT / "dbt_project"
BIN = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv")) / "bin"
# Runtime folders of the dbt project that the private copy must not share with other runs.
PRIVATE = {"target", "logs", "dbt_packages", ".user.yml"}
TIME_GROUP = "metric_time__year"


@dataclass(frozen=True)
class MetricFlow:
    """A private copy of the dbt project with its own freshly parsed semantic manifest.

    `mf` always reads `<project>/target/semantic_manifest.json`; parsing into a copy (its sources are
    symlinks) keeps the test from reading a stale manifest or writing the shared `dbt_project/target`.
    """

    project: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=self.project, env=self.env, capture_output=True, text=True, timeout=600)

    def metrics(self) -> list[str]:
        manifest = json.loads((self.project / "target" / "semantic_manifest.json").read_text(encoding="utf-8"))
        return [metric["name"] for metric in manifest["metrics"]]

    def query(self, metrics: list[str], group_by: str, output: Path) -> list[dict[str, str]]:
        result = self.run(str(BIN / "mf"), "query", "--metrics", ",".join(metrics), "--group-by", group_by,
                          "--csv", str(output))
        if result.returncode != 0 or not output.exists():
            raise MetricQueryError(result.stdout[-4000:] + result.stderr[-4000:])
        with output.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))


class MetricQueryError(RuntimeError):
    """`mf query` did not answer."""


@pytest.fixture(scope="module")
def metricflow(published_warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> MetricFlow:
    project = tmp_path_factory.mktemp("dbt_project")
    for entry in DBT_PROJECT.iterdir():
        if entry.name not in PRIVATE:
            (project / entry.name).symlink_to(entry)
    env = {
        **published_warehouse.env,
        "WAREHOUSE_RAW_PATH": str(published_warehouse.home / "warehouse" / "raw.duckdb"),
        "WAREHOUSE_BUILD_PATH": str(published_warehouse.home / "warehouse" / "build.duckdb"),
        "WAREHOUSE_DUCKDB_TEMP_DIR": str(published_warehouse.home / "tmp" / "duckdb"),
        "DBT_PROFILES_DIR": str(project),
        "DBT_LOG_PATH": str(project / "logs"),
    }
    env.pop("DBT_TARGET_PATH", None)  # mf only looks in <project>/target
    flow = MetricFlow(project, env)
    parsed = flow.run(str(BIN / "dbt"), "parse", "--quiet", "--no-partial-parse", "--target-path", "target")
    assert parsed.returncode == 0, parsed.stdout[-4000:] + parsed.stderr[-4000:]
    return flow


@dataclass(frozen=True)
class MetricAnswers:
    metrics: list[str]
    rows: list[dict[str, str]]  # one per metric_time__year, a column per metric

    def by_year(self, metric: str) -> dict[str, Decimal]:
        """The metric's non-null values keyed by year ('2026')."""
        return {row[TIME_GROUP][:4]: Decimal(row[metric]) for row in self.rows if row[TIME_GROUP] and row[metric]}


@pytest.fixture(scope="module")
def answers(metricflow: MetricFlow, tmp_path_factory: pytest.TempPathFactory) -> MetricAnswers:
    """Every metric in one `mf query` (one ~10 s start-up): all metrics have metric_time, and a year is
    the grain every one of them can be grouped by (the population is yearly)."""
    metrics = metricflow.metrics()
    assert metrics, "the semantic manifest has no metrics"
    folder = tmp_path_factory.mktemp("mf")
    try:
        rows = metricflow.query(metrics, TIME_GROUP, folder / "all.csv")
    except MetricQueryError as batch_error:
        # Name the metrics that do not answer, one query each (only when the batch fails).
        failing = {}
        for metric in metrics:
            try:
                metricflow.query([metric], TIME_GROUP, folder / f"{metric}.csv")
            except MetricQueryError as error:
                failing[metric] = str(error)[-1500:]
        pytest.fail(f"mf query failed for {sorted(failing) or 'the batch only'}:\n"
                    f"{json.dumps(failing, indent=1) if failing else batch_error}")
    return MetricAnswers(metrics, rows)


def metrics_in_yaml() -> set[str]:
    """Metric names as written in the project's model YAML files."""
    names = set()
    for path in [*(DBT_PROJECT / "models").rglob("*.yml"), *(DBT_PROJECT / "models").rglob("*.yaml")]:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names |= {metric["name"] for metric in document.get("metrics") or []}
    return names


def test_every_metric_answers_with_a_number(answers: MetricAnswers) -> None:
    assert set(answers.metrics) == metrics_in_yaml()  # the manifest is the project's YAML as it is now
    assert answers.rows and set(answers.metrics) <= set(answers.rows[0])
    silent = []
    for metric in answers.metrics:
        values = [row[metric] for row in answers.rows if row[metric] not in ("", None)]
        if not values or not all(math.isfinite(float(value)) for value in values):
            silent.append(metric)
    assert not silent, f"metrics without a non-null numeric value: {silent}"


def _mart(warehouse: Warehouse, sql: str) -> dict[str, Decimal]:
    with duckdb.connect(str(warehouse.serving_path), read_only=True) as connection:
        return {str(year): Decimal(str(value)) for year, value in connection.sql(sql).fetchall() if value is not None}


def _assert_same(from_metricflow: dict[str, Decimal], from_mart: dict[str, Decimal], tolerance: Decimal) -> None:
    assert from_mart, "the mart query returned nothing"
    assert from_metricflow.keys() == from_mart.keys()
    differences = {year: (from_metricflow[year], value) for year, value in from_mart.items()
                   if abs(from_metricflow[year] - value) > tolerance}
    assert not differences, differences


# (metric, the mart's own answer per year, tolerance). Different metric types: simple (sum, count
# distinct), ratio within one semantic model and across two, derived, and semi-additive (stock at
# the last date of the period). The project has no cumulative metric; the check above covers any
# added later.
MART_CHECKS = {
    "total_cost": (  # simple
        "SELECT cost_year, sum(cost_dkk) FROM marts.fct_client_cost GROUP BY ALL", Decimal("0.01")),
    "clients": (  # simple, count distinct
        "SELECT cost_year, count(DISTINCT client_id) FROM marts.fct_client_cost GROUP BY ALL", Decimal(0)),
    "ledger_total": (  # simple
        "SELECT year(reconciliation_month), sum(ledger_total_dkk) FROM marts.fct_ledger_reconciliation GROUP BY ALL",
        Decimal("0.01")),
    "cost_per_client": (  # ratio
        "SELECT cost_year, sum(cost_dkk) / count(DISTINCT client_id) FROM marts.fct_client_cost GROUP BY ALL",
        Decimal("0.01")),
    "cost_per_care_day": (  # ratio of two filtered measures
        "SELECT cost_year, sum(cost_dkk) / sum(volume) FROM marts.fct_unit_cost "
        "WHERE volume_unit = 'care day' GROUP BY ALL", Decimal("0.01")),
    "cost_per_inhabitant_0_17": (  # ratio across two semantic models
        "SELECT cost.year, cost.total / population.inhabitants FROM "
        "(SELECT cost_year AS year, sum(cost_dkk) AS total FROM marts.fct_client_cost GROUP BY ALL) AS cost "
        "JOIN (SELECT population_year AS year, sum(population_0_17) AS inhabitants FROM marts.fct_population "
        "GROUP BY ALL) AS population USING (year)", Decimal("0.01")),
    "budget_variance": (  # derived
        "SELECT budget_year, sum(actual_dkk) - sum(budget_dkk) FROM marts.fct_budget GROUP BY ALL", Decimal("0.01")),
    "forecast_variance": (  # derived
        "SELECT budget_year, sum(forecast_dkk) - sum(budget_dkk) FROM marts.fct_budget GROUP BY ALL",
        Decimal("0.01")),
    "placement_stock": (  # semi-additive: placements active at the year's last month end
        "SELECT stock_year, count(*) FROM marts.fct_placement_month_ends "
        "WHERE month_end IN (SELECT max(month_end) FROM marts.fct_placement_month_ends GROUP BY stock_year) "
        "GROUP BY ALL", Decimal(0)),
    "open_cases": (  # semi-additive: open cases on the year's last day
        "SELECT year(load_date), sum(open_cases) FROM marts.fct_caseworker_load "
        "WHERE load_date IN (SELECT max(load_date) FROM marts.fct_caseworker_load GROUP BY year(load_date)) "
        "GROUP BY ALL", Decimal(0)),
}


@pytest.mark.parametrize("metric", sorted(MART_CHECKS))
def test_metric_from_metricflow_equals_the_mart(metric: str, answers: MetricAnswers,
                                                published_warehouse: Warehouse) -> None:
    sql, tolerance = MART_CHECKS[metric]
    _assert_same(answers.by_year(metric), _mart(published_warehouse, sql), tolerance)
