"""The incremental models end a night exactly as a rebuild from scratch would, writing only changes.

`int_payments_attributed` and `int_ledger_postings_classified` write only new and changed rows
(macros/incremental_by_fingerprint.sql). Here a published sample warehouse gets a night of source
changes of every kind that can move a row: a payment paid, one deleted and one new; a payment
schedule moved to another activity and an activity whose status changed (the payment rows do not
change, their attribution does); a ledger posting deleted and one posted again earlier under the
same voucher (the earlier posting becomes the duplicate). One copy of the build is then updated
incrementally and another rebuilt with `--full-refresh`; the two must hold the same rows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import AS_OF, REPO_ROOT, Warehouse

INCREMENTAL_MODELS = ("int_payments_attributed", "int_ledger_postings_classified")

A_NIGHT_OF_CHANGES = """
-- a planned payment is paid
update os2bos.core_payment set paid = true, paid_date = date, paid_amount = amount
where id = (select min(id) from os2bos.core_payment where not paid);
-- a paid payment (with ledger postings under its voucher) is deleted in the case system
delete from os2bos.core_payment
where id = (select max(id) from os2bos.core_payment where paid
            and 'BOS' || id in (select voucher_number from finance.ledger_postings));
-- a new payment
insert into os2bos.core_payment
select * replace ((select max(id) + 1 from os2bos.core_payment) as id)
from os2bos.core_payment where id = (select min(id) from os2bos.core_payment);
-- a payment schedule moves to another activity; another activity's status changes
update os2bos.core_paymentschedule set activity_id = (select max(activity_id) from os2bos.core_paymentschedule)
where id = (select min(id) from os2bos.core_paymentschedule);
update os2bos.core_activity set status = 'DRAFT'
where id = (select max(id) from os2bos.core_activity where status = 'GRANTED');
-- a posting disappears from a re-delivered export
delete from finance.ledger_postings where posting_id = (select min(posting_id) from finance.ledger_postings);
-- a payment is posted again, a day before its first posting
insert into finance.ledger_postings
select * replace ((select max(posting_id) + 1 from finance.ledger_postings) as posting_id,
                  posting_date - 1 as posting_date)
from finance.ledger_postings
where posting_id = (select max(posting_id) from finance.ledger_postings where voucher_number like 'BOS%');
"""


def _dbt(build: Path, raw: Path, target: Path, *args: str) -> dict:
    env = {
        **os.environ,
        "WAREHOUSE_RAW_PATH": str(raw),
        "WAREHOUSE_BUILD_PATH": str(build),
        "WAREHOUSE_DUCKDB_TEMP_DIR": str(target / "duckdb_tmp"),
        "WAREHOUSE_REFERENCE_DATE": AS_OF.isoformat(),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
    }
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), *args, "--profiles-dir", "."],
        cwd=REPO_ROOT / "dbt_project", env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    return json.loads((target / "run_results.json").read_text())


def _rows(build: Path, model: str) -> set[tuple]:
    with duckdb.connect(str(build), read_only=True) as connection:
        return set(connection.execute(f"select * from intermediate.{model}").fetchall())


def test_an_incremental_night_equals_a_rebuild_and_rewrites_only_changes(
    published_warehouse: Warehouse, tmp_path: Path
) -> None:
    warehouse_dir = published_warehouse.home / "warehouse"
    raw, incremental, rebuilt = tmp_path / "raw.duckdb", tmp_path / "incremental.duckdb", tmp_path / "rebuilt.duckdb"
    shutil.copy(warehouse_dir / "raw.duckdb", raw)
    shutil.copy(warehouse_dir / "build.duckdb", incremental)
    shutil.copy(warehouse_dir / "build.duckdb", rebuilt)
    before = {model: _rows(incremental, model) for model in INCREMENTAL_MODELS}
    with duckdb.connect(str(raw)) as connection:
        connection.execute(A_NIGHT_OF_CHANGES)

    selection = ["--select", *(f"+{model}" for model in INCREMENTAL_MODELS)]
    night = _dbt(incremental, raw, tmp_path / "night", "run", *selection)
    _dbt(rebuilt, raw, tmp_path / "rebuild", "run", "--full-refresh", *selection)

    compiled = {r["unique_id"].rsplit(".", 1)[-1]: r["compiled_code"] for r in night["results"]}
    after = {model: _rows(incremental, model) for model in INCREMENTAL_MODELS}
    for model in INCREMENTAL_MODELS:
        assert "stored.row_fingerprint" in compiled[model], f"{model} was not built incrementally"
        expected = _rows(rebuilt, model)
        assert after[model] == expected, \
            f"{model}: {len(after[model] - expected)} rows not in the rebuild, {len(expected - after[model])} missing"
        assert after[model] != before[model], f"{model}: the night's changes did not reach it"

    changed = {model: len(after[model] - before[model]) for model in INCREMENTAL_MODELS}
    assert changed["int_payments_attributed"] >= 3  # paid, new, moved schedule / changed activity
    assert changed["int_ledger_postings_classified"] >= 2  # the new posting and the one it made a duplicate

    # The fingerprints are stable across processes: a second night with nothing new changes nothing.
    with duckdb.connect(str(incremental), read_only=True) as connection:
        connection.execute(f"attach '{raw}' as raw (read_only)")
        for model in INCREMENTAL_MODELS:
            with_nothing_new = connection.execute(f"select count(*) from ({compiled[model]})").fetchone()
            assert with_nothing_new == (0,), f"{model} would rewrite {with_nothing_new[0]} unchanged rows"
