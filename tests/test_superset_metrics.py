"""One definition per metric: every Superset dataset metric is generated from the dbt semantic layer
and gives the same numbers as MetricFlow (`mf query`), as SQL on the mart and as Superset's chart
data API, grouped by year of the metric's own time dimension (MetricFlow's metric_time__year).
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from tests.conftest import Warehouse
from tests.superset_helpers import (
    REPO_ROOT,
    SupersetServer,
    api_session,
    chart_data,
    dataset_ids,
    load_semantic_metrics,
)

pytest_plugins = ["tests.superset_helpers"]

Values = dict[str, dict[int, float]]  # metric -> year -> value


def translation_of(server: SupersetServer) -> Any:
    """The metrics generated from the semantic manifest this Superset was set up with."""
    module = load_semantic_metrics()
    return module.translate(module.load_manifest(Path(server.env["WAREHOUSE_SEMANTIC_MANIFEST"])))


def mf_query_by_year(warehouse: Warehouse, metrics: list[str], output: Path) -> Values:
    """All metrics in ONE `mf query` (its start-up is slow), grouped by metric_time__year.

    `mf` reads dbt_project/target/semantic_manifest.json (it ignores DBT_TARGET_PATH)."""
    env = {
        **warehouse.env,
        "WAREHOUSE_RAW_PATH": str(warehouse.home / "warehouse" / "raw.duckdb"),
        "WAREHOUSE_BUILD_PATH": str(warehouse.home / "warehouse" / "build.duckdb"),
        "WAREHOUSE_DUCKDB_TEMP_DIR": str(warehouse.home / "tmp" / "duckdb"),
    }
    executable = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv")) / "bin" / "mf"
    result = subprocess.run(
        [str(executable), "query", "--metrics", ",".join(metrics), "--group-by", "metric_time__year",
         "--decimals", "6", "--csv", str(output)],
        cwd=REPO_ROOT / "dbt_project", env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    values: Values = defaultdict(dict)
    with output.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["metric_time__year"]:
                continue  # rows without a time (e.g. placements not ended): no year to compare
            year = int(row["metric_time__year"][:4])
            for metric in metrics:
                if row[metric] not in ("", "None", "nan", "NaN"):
                    values[metric][year] = float(row[metric])
    return values


def mart_sql_by_year(serving_path: Path, metrics: list[Any]) -> Values:
    """Each metric's SQL run directly on the published mart, grouped by year of its time column."""
    values: Values = defaultdict(dict)
    with duckdb.connect(str(serving_path), read_only=True) as connection:
        for metric in metrics:
            rows = connection.execute(
                f"SELECT year({metric.time_dimension}) AS y, {metric.expression} AS v "
                f"FROM {metric.dataset} GROUP BY 1"
            ).fetchall()
            values[metric.name] = {int(y): float(v) for y, v in rows if y is not None and v is not None}
    return values


def superset_by_year(server: SupersetServer, metrics: list[Any]) -> Values:
    """Superset's chart data API: one request per dataset and time column, all its metrics."""
    session = api_session(server)
    ids = dataset_ids(server)
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for metric in metrics:
        groups[(metric.dataset, metric.time_dimension)].append(metric.name)
    values: Values = defaultdict(dict)
    for (dataset, time_column), names in groups.items():
        response = chart_data(session, server, ids[dataset], names, {"year": f"year({time_column})"}, force=True)
        assert response.status_code == 200, response.text[:1000]
        result = response.json()["result"][0]
        assert not result.get("error"), result["error"]
        for row in result["data"]:
            for name in names:
                if row["year"] is not None and row[name] is not None:
                    values[name][int(row["year"])] = float(row[name])
    return values


class _Metric:
    def __init__(self, dataset: str, spec: Any) -> None:
        self.dataset = dataset
        self.name = spec.name
        self.expression = spec.expression
        self.time_dimension = spec.time_dimension


def test_superset_datasets_carry_exactly_the_generated_metrics(superset_server: SupersetServer) -> None:
    translation = translation_of(superset_server)
    session = api_session(superset_server)
    ids = dataset_ids(superset_server)
    for dataset in translation.datasets:
        key = f"{dataset.schema}.{dataset.table}"
        assert key in ids, f"dataset {key} is not in Superset"
        response = session.get(f"{superset_server.base_url}/api/v1/dataset/{ids[key]}", timeout=30)
        response.raise_for_status()
        in_superset = {m["metric_name"]: m for m in response.json()["result"]["metrics"]}
        generated = {metric.name: metric for metric in dataset.metrics}
        assert set(in_superset) == set(generated), key
        for name, metric in generated.items():
            assert in_superset[name]["expression"] == metric.expression, name
            assert in_superset[name]["verbose_name"] == metric.verbose_name, name
            assert in_superset[name]["description"] == metric.description, name


def test_every_generated_metric_equals_metricflow_mart_sql_and_superset(
    published_warehouse: Warehouse, superset_server: SupersetServer, tmp_path: Path
) -> None:
    translation = translation_of(superset_server)
    metrics = [
        _Metric(f"{dataset.schema}.{dataset.table}", spec)
        for dataset in translation.datasets
        for spec in dataset.metrics
    ]
    assert len(metrics) >= 20, [m.name for m in metrics]
    names = [metric.name for metric in metrics]

    from_metricflow = mf_query_by_year(published_warehouse, names, tmp_path / "metrics.csv")
    from_mart = mart_sql_by_year(published_warehouse.serving_path, metrics)
    from_superset = superset_by_year(superset_server, metrics)

    mismatches = []
    for name in names:
        mf, sql, superset = from_metricflow.get(name, {}), from_mart.get(name, {}), from_superset.get(name, {})
        if not mf:
            mismatches.append(f"{name}: no value from MetricFlow")
            continue
        if not (mf.keys() == sql.keys() == superset.keys()):
            mismatches.append(f"{name}: years differ mf={sorted(mf)} sql={sorted(sql)} superset={sorted(superset)}")
            continue
        for year, expected in mf.items():
            for source, value in (("mart SQL", sql[year]), ("Superset", superset[year])):
                if not math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-5):
                    mismatches.append(f"{name} {year}: MetricFlow {expected} != {source} {value}")
    assert not mismatches, "\n".join(mismatches)
    print(f"\n[superset] {len(names)} metrics equal in MetricFlow, mart SQL and Superset; "
          f"not generated: {[item.name for item in translation.skipped]}")
