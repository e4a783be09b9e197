"""Mart suites: every mart has one (derived from its dbt YAML), they pass on the published sample
warehouse, and a ledger that no longer reconciles blocks publishing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from expectations.marts import MART_CHECKS, MARTS_DIR, MART_PREFIXES, mart_suites  # noqa: E402
from expectations.suites import ERROR, WARN, Expect, Layer, Metric  # noqa: E402
from tests.conftest import AS_OF, REPO_ROOT, Warehouse  # noqa: E402


# Warnings the sample data really earns (reported, publishing goes on): none at present.
KNOWN_SAMPLE_WARNINGS: dict[str, set[str]] = {}


def _mart_models_on_disk() -> set[str]:
    return {p.stem for p in MARTS_DIR.rglob("*.sql") if p.stem.startswith(MART_PREFIXES)}


def test_every_mart_has_a_suite_and_a_blocking_check() -> None:
    from orchestration.checks import GX_CHECKS

    suites = {s.table: s for s in mart_suites()}
    assert set(suites) == _mart_models_on_disk(), "a mart without YAML, or YAML without a model"
    assert set(MART_CHECKS) <= set(suites), "checks written for a mart that does not exist"
    checks = {c.check_key.name: c for c in GX_CHECKS}
    for table, spec in suites.items():
        assert spec.layer is Layer.BUILD and spec.schema == "marts" and spec.volume is not None
        assert spec.columns_present, f"{table}: no documented columns"
        check = checks[f"gx_marts_{table}"]
        assert check.check_key.asset_key.path == ["marts", table]
        assert all(c.blocking for c in check.check_specs)
    ledger = {e.name for e in suites["fct_ledger_reconciliation"].metrics}
    assert {"ledger_equals_attributed_plus_unattributed", "reconciles_to_raw_ledger_by_cell",
            "reconciles_to_raw_ledger_total"} <= ledger


def test_a_new_marts_yaml_is_turned_into_a_suite(tmp_path: Path) -> None:
    """A mart in a sub-folder is picked up from its YAML alone, each dbt test mirrored with its severity."""
    folder = tmp_path / "marts" / "case_processing"
    folder.mkdir(parents=True)
    (folder / "_case_processing.yml").write_text("""
models:
  - name: fct_example_steps
    data_tests:
      - unique_combination_of_columns:
          arguments: {combination_of_columns: [case_id, step]}
    columns:
      - name: case_id
        data_tests: [not_null]
      - name: step
        data_tests:
          - accepted_values: {arguments: {values: [notification, investigation]}}
      - name: days_taken
        data_tests:
          - accepted_range: {arguments: {min_value: 0}, config: {severity: warn}}
      - name: client_id
        data_tests:
          - relationships:
              arguments: {to: "ref('dim_client')", field: client_id}
              config: {where: "step <> 'notification'"}
      - name: deadline_met
        data_tests:
          - not_null: {config: {where: "days_taken is not null"}}
  - name: int_not_a_mart
    columns: [{name: x}]
""", encoding="utf-8")
    (spec,) = mart_suites(tmp_path / "marts")
    assert (spec.name, spec.table, spec.columns_present) == (
        "marts_fct_example_steps", "fct_example_steps", ("case_id", "step", "days_taken", "client_id", "deadline_met"))
    row_level = {(e.name, e.kwargs.get("column"), e.severity) for e in spec.expectations if isinstance(e, Expect)}
    assert row_level == {
        ("ExpectColumnValuesToNotBeNull", "case_id", ERROR),
        ("ExpectColumnValuesToBeInSet", "step", ERROR),
        ("ExpectColumnValuesToBeBetween", "days_taken", WARN),
    }
    metrics = {e.name: e for e in spec.expectations if isinstance(e, Metric)}
    assert set(metrics) == {"row_count", "duplicates__case_id__step", "orphans__client_id", "null__deadline_met"}
    assert 'FROM "marts"."dim_client"' in metrics["orphans__client_id"].sql
    assert "step <> 'notification'" in metrics["orphans__client_id"].sql


def _copy(source: Path, target: Path) -> Path:
    target.write_bytes(source.read_bytes())
    return target


def test_mart_suites_pass_on_the_published_warehouse_and_catch_a_broken_row(
    published_warehouse: Warehouse, tmp_path: Path
) -> None:
    from dagster import AssetCheckKey, AssetKey, DagsterInstance

    from expectations.validate import run_suite

    warehouse = published_warehouse
    raw = warehouse.home / "warehouse" / "raw.duckdb"
    build = warehouse.home / "warehouse" / "build.duckdb"
    config = {"memory_limit": "512MB", "threads": 1}
    for spec in mart_suites():
        outcome = run_suite(spec, build, config, today=AS_OF, attach={"raw": raw})
        assert outcome.rows > 0 and not outcome.errors, (spec.name, [f.describe() for f in outcome.failures])
        unexpected = {f.expectation for f in outcome.warnings} - KNOWN_SAMPLE_WARNINGS.get(spec.name, set())
        assert not unexpected, (spec.name, [f.describe() for f in outcome.warnings])

    # The nightly run evaluated the same suites as blocking checks, and they passed.
    instance = DagsterInstance.from_config(str(warehouse.home / "dagster"))
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [AssetCheckKey(AssetKey(["marts", s.table]), f"gx_{s.name}") for s in mart_suites()])
    assert len(latest) == len(mart_suites())
    assert {record.status.value for record in latest.values()} == {"SUCCEEDED"}

    # One reconciliation cell that does not add up (on a copy of the build file) is an error.
    broken = _copy(build, tmp_path / "build.duckdb")
    with duckdb.connect(str(broken)) as connection:
        connection.execute("UPDATE marts.fct_ledger_reconciliation SET attributed_dkk = attributed_dkk + 0.01 "
                           "WHERE reconciliation_key = (SELECT min(reconciliation_key) FROM marts.fct_ledger_reconciliation)")
    (ledger,) = [s for s in mart_suites() if s.table == "fct_ledger_reconciliation"]
    outcome = run_suite(ledger, broken, config, today=AS_OF, attach={"raw": raw})
    assert {f.expectation for f in outcome.errors} == {
        "ledger_equals_attributed_plus_unattributed", "attributed_equals_its_parts", "client_cost_difference"}
    assert "ledger_total_dkk = attributed_dkk + unattributed_dkk: 1 unexpected rows" in [
        f.describe() for f in outcome.errors]


def _give_a_posting_the_id_of_another(sources: Path) -> tuple[int, str]:
    """In the second ledger export, re-use the first export's first posting id for another posting:
    two different postings share an id, the loader keeps both (different files), staging one."""
    first, second = sorted((sources / "finance_drop").glob("ledger_postings_*.csv"))[:2]
    taken_id = first.read_bytes().split(b"\n")[1].split(b";")[0]
    lines = second.read_bytes().split(b"\n")
    victim = lines[1].split(b";")
    lines[1] = b";".join([taken_id, *victim[1:]])
    second.write_bytes(b"\n".join(lines))
    return int(taken_id), second.name


def test_a_ledger_that_does_not_reconcile_blocks_publishing(
    new_warehouse: Warehouse, alert_webhook: tuple[str, list[dict]]
) -> None:
    warehouse = new_warehouse
    url, alerts = alert_webhook
    warehouse.env["WAREHOUSE_ALERT_WEBHOOK_URL"] = url
    posting_id, _ = _give_a_posting_the_id_of_another(warehouse.sources)

    result = warehouse.refresh()
    assert result.returncode != 0, result.stdout[-5000:]
    assert "gx_marts_fct_ledger_reconciliation FAILED (ERROR)" in result.stdout, result.stdout[-5000:]
    assert "= Σ raw ledger postings: 1 totals differing by more than 0.005" in result.stdout
    # Only the raw suite's warning saw the shared id; dbt's tests (mart vs staging) cannot see it.
    assert "(posting_id) is unique: 1 unexpected rows" in result.stdout
    assert "NOT published" in result.stdout
    assert not warehouse.serving_path.exists()
    assert any("gx_marts_fct_ledger_reconciliation" in a["step"] for a in alerts), alerts

    # The failed run is in the instance's history, as status shows it.
    status = subprocess.run([sys.executable, "-m", "orchestration", "status"], cwd=REPO_ROOT, env=warehouse.env,
                            capture_output=True, text=True, timeout=300)
    assert status.returncode == 0, status.stderr
    assert "not published yet" in status.stdout
    runs = [line for line in status.stdout.splitlines() if "nightly_refresh" in line]
    assert len(runs) == 1 and "FAILURE" in runs[0], status.stdout
    with duckdb.connect(str(warehouse.home / "warehouse" / "raw.duckdb"), read_only=True) as connection:
        (copies,) = connection.execute("SELECT count(*) FROM finance.ledger_postings WHERE posting_id = ?",
                                       [posting_id]).fetchone()
    assert copies == 2


def test_every_blocking_mart_check_says_why() -> None:
    """A hand-written mart check that blocks publishing gives its reason (Data Docs, alerts)."""
    for table, checks in MART_CHECKS.items():
        for check in checks:
            if check.severity == ERROR:
                assert check.why, f"{table}: {check.name} blocks publishing without a reason"


def test_the_data_quality_doc_shows_every_suite_as_declared() -> None:
    from expectations.docs import suite_markdown
    from expectations.suites import RAW_SUITES

    text = (REPO_ROOT / "docs" / "data_quality.md").read_text(encoding="utf-8")
    for layer, suites in (("marts", mart_suites()), ("raw", RAW_SUITES)):
        stale = [spec.name for spec in suites if suite_markdown(spec).strip("\n") not in text]
        assert not stale, f"regenerate with `python -m expectations.docs {layer} --write`: {stale}"
