"""Portability: the same dbt project builds, passes its tests and gives the same figures on PostgreSQL.

Runs against the PostgreSQL server on the machine (127.0.0.1:5432, or WAREHOUSE_PG_* settings),
in a database of its own that is dropped afterwards. A second, incremental run of the incremental
models checks their PostgreSQL path (md5 fingerprints, the delete hook).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg2
import pytest

from ingestion.postgres_mirror import mirror_raw_to_postgres
from tests.conftest import REPO_ROOT, Warehouse

DATABASE = "warehouse_portability_test"
PG_HOST = os.environ.get("WAREHOUSE_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("WAREHOUSE_PG_PORT", "5432")
PG_USER = os.environ.get("WAREHOUSE_PG_USER", "postgres")

# The same questions asked of both warehouses: (what, SQL with exact decimal sums).
FIGURES = {
    "cost per year": "SELECT cost_year, sum(cost_dkk), count(DISTINCT client_id) FROM marts.fct_client_cost "
                     "GROUP BY cost_year ORDER BY cost_year",
    "ledger reconciliation": "SELECT sum(ledger_total_dkk), sum(attributed_dkk), sum(unattributed_dkk) "
                             "FROM marts.fct_ledger_reconciliation",
    "budget forecast": "SELECT budget_year, sum(budget_dkk), sum(actual_dkk), sum(forecast_dkk) FROM marts.fct_budget "
                       "GROUP BY budget_year ORDER BY budget_year",
    "placements": "SELECT placement_type, count(*), sum(placement_days) FROM marts.fct_placements "
                  "GROUP BY placement_type ORDER BY placement_type",
    "caseworker load": "SELECT count(*), sum(open_cases) FROM marts.fct_caseworker_load",
    "case steps": "SELECT process_step, step_status, count(*), sum(CASE WHEN on_time THEN 1 ELSE 0 END) "
                  "FROM marts.fct_case_steps GROUP BY process_step, step_status ORDER BY process_step, step_status",
}


def _as_admin(*statements: str) -> None:
    """Run statements on the server's maintenance database, outside a transaction (CREATE/DROP DATABASE)."""
    connection = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh, empty database on the real server; its libpq DSN."""
    _as_admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", f"CREATE DATABASE {DATABASE}")
    try:
        yield f"host={PG_HOST} port={PG_PORT} dbname={DATABASE} user={PG_USER}"
    finally:
        _as_admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def _normalised(rows: list[tuple]) -> list[tuple]:
    return [tuple(Decimal(str(v)).quantize(Decimal("0.01")) if isinstance(v, (float, Decimal)) else v for v in row)
            for row in rows]


def test_dbt_project_builds_on_postgresql_with_the_same_figures(
    published_warehouse: Warehouse, postgres_database: str, tmp_path: Path,
) -> None:
    copied = mirror_raw_to_postgres(published_warehouse.home / "warehouse" / "raw.duckdb", postgres_database)
    assert copied["os2bos.core_payment"] > 0 and copied["finance.ledger_postings"] > 0

    env = {
        **published_warehouse.env,
        "WAREHOUSE_PG_HOST": PG_HOST, "WAREHOUSE_PG_PORT": PG_PORT, "WAREHOUSE_PG_USER": PG_USER,
        "WAREHOUSE_PG_DATABASE": DATABASE,
        "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt), "build", "--profiles-dir", ".", "--target", "postgres"],
        cwd=REPO_ROOT / "dbt_project", env=env, capture_output=True, text=True, timeout=1500,
    )
    assert result.returncode == 0, result.stdout[-8000:]
    assert " ERROR=0 " in result.stdout and "PASS=" in result.stdout
    # A second night on PostgreSQL: the incremental models compare md5 fingerprints and find nothing new.
    incremental_models = ["int_payments_attributed", "int_ledger_postings_classified"]
    night = subprocess.run(
        [str(dbt), "run", "--profiles-dir", ".", "--target", "postgres", "--select", *incremental_models],
        cwd=REPO_ROOT / "dbt_project", env=env, capture_output=True, text=True, timeout=600,
    )
    assert night.returncode == 0, night.stdout[-8000:]
    night_sql = {r["unique_id"].rsplit(".", 1)[-1]: r["compiled_code"]
                 for r in json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]}

    with duckdb.connect(str(published_warehouse.serving_path), read_only=True) as on_duckdb:
        from_duckdb = {name: _normalised(on_duckdb.sql(sql).fetchall()) for name, sql in FIGURES.items()}
    on_postgres = psycopg2.connect(postgres_database)
    try:
        with on_postgres.cursor() as cursor:
            for model in incremental_models:
                assert "stored.row_fingerprint" in night_sql[model], f"{model} was not built incrementally"
                cursor.execute(f"SELECT count(*) FROM ({night_sql[model]}) AS still_changed")
                assert cursor.fetchone() == (0,), f"{model}: a night with nothing new still finds changed rows"
            from_postgres = {}
            for name, sql in FIGURES.items():
                cursor.execute(sql)
                from_postgres[name] = _normalised(cursor.fetchall())
    finally:
        on_postgres.close()
    for name in FIGURES:
        assert from_postgres[name] == from_duckdb[name], name
        assert from_duckdb[name], f"{name}: no rows to compare"
