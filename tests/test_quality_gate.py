"""A failing error-severity expectation keeps the previous good data in the serving file."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import REPO_ROOT, Warehouse, assert_refreshed


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _copy_a_paid_payment_with_amount(warehouse: Warehouse, amount: int) -> None:
    with sqlite3.connect(warehouse.sources / "os2bos.sqlite") as source:
        source.execute(
            "INSERT INTO core_payment (date, recipient_type, recipient_id, recipient_name, payment_method, "
            "amount, paid_amount, paid, paid_date, note, saved_account_string, saved_account_alias, "
            "payment_schedule_id) SELECT date, recipient_type, recipient_id, recipient_name, payment_method, "
            "?, ?, 1, paid_date, '', saved_account_string, '', payment_schedule_id "
            "FROM core_payment WHERE paid AND recipient_type = 'COMPANY' LIMIT 1",
            [amount, amount],
        )
    source.close()


def test_bad_row_blocks_publishing_and_alerts(new_warehouse: Warehouse, alert_webhook: tuple[str, list[dict]]) -> None:
    warehouse = new_warehouse
    url, alerts = alert_webhook
    warehouse.env["WAREHOUSE_ALERT_WEBHOOK_URL"] = url
    assert_refreshed(warehouse.refresh())
    published = _sha256(warehouse.serving_path)
    with duckdb.connect(str(warehouse.serving_path), read_only=True) as connection:
        (good_total,) = connection.sql("SELECT sum(cost_dkk) FROM marts.fct_client_cost").fetchone()

    # A payment of 99 million kroner: far outside the raw suite's amount range (error severity).
    _copy_a_paid_payment_with_amount(warehouse, 99_000_000)

    result = warehouse.refresh()
    assert result.returncode != 0, result.stdout
    assert "gx_raw_os2bos_core_payment FAILED" in result.stdout
    assert "expect_column_values_to_be_between on amount" in result.stdout
    assert "NOT published" in result.stdout
    assert _sha256(warehouse.serving_path) == published
    # The failure hook rebuilt the Data Docs index: it links the failed result's page (named by the run).
    (failed_run,) = re.findall(r"NOT published: .*\(run ([0-9a-f-]+),", result.stdout)
    index = (warehouse.home / "quality" / "data_docs" / "index.html").read_text(encoding="utf-8")
    assert f"validations/raw_os2bos_core_payment/{failed_run}/" in index
    with duckdb.connect(str(warehouse.serving_path), read_only=True) as connection:
        (total,) = connection.sql("SELECT sum(cost_dkk) FROM marts.fct_client_cost").fetchone()
    assert total == good_total
    assert len(alerts) == 1, alerts
    assert "gx_raw_os2bos_core_payment" in alerts[0]["step"]
    assert alerts[0]["job"] == "nightly_refresh" and alerts[0]["reason"]


def test_a_failed_warning_publishes_and_is_reported(new_warehouse: Warehouse) -> None:
    warehouse = new_warehouse
    # 2 million kroner in one payment: above the warning threshold (1 M), below the error (5 M).
    _copy_a_paid_payment_with_amount(warehouse, 2_000_000)
    result = warehouse.refresh()
    assert result.returncode == 0, result.stdout[-5000:]
    assert "gx_raw_os2bos_core_payment FAILED (WARN)" in result.stdout
    assert "expect_column_values_to_be_between on paid_amount" in result.stdout
    with duckdb.connect(str(warehouse.serving_path), read_only=True) as connection:
        (largest,) = connection.sql("SELECT max(cost_dkk) FROM marts.fct_client_cost").fetchone()
    assert largest >= 2_000_000


def test_two_refreshes_started_together_publish_a_consistent_warehouse(new_warehouse: Warehouse) -> None:
    warehouse = new_warehouse
    first, second = (
        subprocess.Popen([sys.executable, "-m", "orchestration", "refresh"], cwd=REPO_ROOT, env=warehouse.env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    )
    outputs = [process.communicate(timeout=900)[0] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    paid = sum(p["paid_amount"] for p in warehouse.sample.rows("core_payment") if p["paid"])
    with duckdb.connect(str(warehouse.serving_path), read_only=True) as connection:
        (total,) = connection.sql("SELECT sum(purchased_cost_dkk) FROM marts.fct_client_cost").fetchone()
    assert total == paid  # no duplicates from interleaved loads
    assert len(list((warehouse.home / "warehouse" / "versions").glob("serving-*.duckdb"))) == 2


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
