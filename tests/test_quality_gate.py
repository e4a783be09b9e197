"""A failing error-severity expectation keeps the previous good data in the serving file."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import duckdb

from tests.conftest import Warehouse, assert_refreshed


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bad_row_blocks_publishing(new_warehouse: Warehouse) -> None:
    warehouse = new_warehouse
    assert_refreshed(warehouse.refresh())
    published = _sha256(warehouse.serving_path)
    with duckdb.connect(str(warehouse.serving_path), read_only=True) as connection:
        (good_total,) = connection.sql("SELECT sum(cost_dkk) FROM marts.fct_client_cost").fetchone()

    # A payment of 99 million kroner: far outside the raw suite's amount range (error severity).
    with sqlite3.connect(warehouse.sources / "os2bos.sqlite") as source:
        source.execute(
            "INSERT INTO core_payment (date, recipient_type, recipient_id, recipient_name, payment_method, "
            "amount, paid_amount, paid, paid_date, note, saved_account_string, saved_account_alias, "
            "payment_schedule_id) SELECT date, recipient_type, recipient_id, recipient_name, payment_method, "
            "99000000, 99000000, 1, paid_date, '', saved_account_string, '', payment_schedule_id "
            "FROM core_payment WHERE paid LIMIT 1"
        )

    result = warehouse.refresh()
    assert result.returncode != 0, result.stdout
    assert "gx_raw_os2bos_core_payment FAILED" in result.stdout
    assert "expect_column_values_to_be_between on amount" in result.stdout
    assert "NOT published" in result.stdout
    assert _sha256(warehouse.serving_path) == published
    with duckdb.connect(str(warehouse.serving_path), read_only=True) as connection:
        (total,) = connection.sql("SELECT sum(cost_dkk) FROM marts.fct_client_cost").fetchone()
    assert total == good_total


def test_refresh_refuses_to_start_without_a_pseudonymisation_key(new_warehouse: Warehouse) -> None:
    warehouse = new_warehouse
    del warehouse.env["WAREHOUSE_PSEUDONYM_KEY"]
    result = warehouse.refresh()
    assert result.returncode != 0
    assert "no pseudonymisation key" in result.stdout + result.stderr
    assert not warehouse.serving_path.exists()
    raw = warehouse.home / "warehouse" / "raw.duckdb"
    if raw.exists():
        with duckdb.connect(str(raw), read_only=True) as connection:
            tables = connection.sql(
                "SELECT table_name FROM information_schema.tables WHERE table_name = 'core_case'"
            ).fetchall()
        assert tables == [], "cases landed although no key was configured"
