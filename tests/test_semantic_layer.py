"""The MetricFlow semantic layer answers on the refreshed warehouse and agrees with the mart."""

from __future__ import annotations

import csv
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb

from tests.conftest import REPO_ROOT, Warehouse


def mf_query(warehouse: Warehouse, metric: str, group_by: str, output: Path) -> list[dict[str, str]]:
    """Run `mf query` from the dbt project, against the pipeline's build file."""
    env = {
        **warehouse.env,
        "WAREHOUSE_RAW_PATH": str(warehouse.home / "warehouse" / "raw.duckdb"),
        "WAREHOUSE_BUILD_PATH": str(warehouse.home / "warehouse" / "build.duckdb"),
        "WAREHOUSE_DUCKDB_TEMP_DIR": str(warehouse.home / "tmp" / "duckdb"),
    }
    executable = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv")) / "bin" / "mf"
    result = subprocess.run(
        [str(executable), "query", "--metrics", metric, "--group-by", group_by, "--decimals", "2",
         "--csv", str(output)],
        cwd=REPO_ROOT / "dbt_project", env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with output.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_cost_per_client_per_year_from_metricflow_equals_the_mart(published_warehouse: Warehouse, tmp_path: Path) -> None:
    rows = mf_query(published_warehouse, "cost_per_client", "metric_time__year", tmp_path / "cpc.csv")
    from_metricflow = {row["metric_time__year"][:4]: Decimal(row["cost_per_client"]) for row in rows}
    with duckdb.connect(str(published_warehouse.serving_path), read_only=True) as connection:
        from_mart = dict(connection.sql(
            "SELECT cast(cost_year AS varchar), sum(cost_dkk) / count(DISTINCT client_id) "
            "FROM marts.fct_client_cost GROUP BY ALL"
        ).fetchall())
    assert from_metricflow.keys() == from_mart.keys()
    for year, value in from_mart.items():
        assert abs(from_metricflow[year] - Decimal(str(value))) < Decimal("0.01"), year
