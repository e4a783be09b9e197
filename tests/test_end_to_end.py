"""The nightly job on the sample data: KPB and the ledger reconciliation equal an independent
computation in plain Python over the generator's own records (never the warehouse's)."""

from __future__ import annotations

import csv
import hashlib
import hmac
from collections import defaultdict
from decimal import Decimal

import duckdb

from tests.conftest import REPO_ROOT, TEST_PSEUDONYM_KEY, Warehouse

SEED_FILE = REPO_ROOT / "dbt_project" / "seeds" / "activity_category_interventions.csv"


def expected_cost_per_client_year_intervention(warehouse: Warehouse) -> dict[tuple[str, int, str], Decimal]:
    """Cost from the generator's own rows, joined in Python: paid payments on their paid date."""
    used = ("core_payment", "core_paymentschedule", "core_activity", "core_appropriation", "core_case",
            "core_sectioninfo", "core_activitycategory")
    tables = {name: warehouse.sample.rows(name) for name in used}
    by_id = {name: {r["id"]: r for r in rows} for name, rows in tables.items()}
    with SEED_FILE.open(encoding="utf-8") as handle:
        intervention_of = {r["activity_category_code"]: r["intervention_category"] for r in csv.DictReader(handle)}
    category_of = {
        (info["activity_details_id"], info["section_id"]):
            by_id["core_activitycategory"][info["activity_category_id"]]["category_id"]
        for info in tables["core_sectioninfo"]
    }
    expected: dict[tuple[str, int, str], Decimal] = defaultdict(Decimal)
    for payment in tables["core_payment"]:
        if not payment["paid"]:
            continue
        activity = by_id["core_activity"][by_id["core_paymentschedule"][payment["payment_schedule_id"]]["activity_id"]]
        appropriation = by_id["core_appropriation"][activity["appropriation_id"]]
        cpr = by_id["core_case"][appropriation["case_id"]]["cpr_number"]
        client = hmac.new(TEST_PSEUDONYM_KEY.encode(), cpr.encode(), hashlib.sha256).hexdigest()
        intervention = intervention_of[category_of[(activity["details_id"], appropriation["section_id"])]]
        expected[(client, payment["paid_date"].year, intervention)] += payment["paid_amount"]
    return dict(expected)


def expected_in_house_cost(warehouse: Warehouse) -> dict[tuple[str, int, str], Decimal]:
    """KPB for the in-house unit: each month's salaries (ledger LOEN postings) ÷ hours produced that
    month, times each child's hours (granted in-house activities, counted in every month they run)."""
    sample = warehouse.sample
    as_of_month = (sample.as_of.year, sample.as_of.month)
    go_live = min(p["posting_date"] for p in sample.ledger.to_pylist())
    salaries: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for posting in sample.ledger.to_pylist():
        if posting["voucher_number"].startswith("LOEN"):
            salaries[(posting["posting_date"].year, posting["posting_date"].month)] += posting["amount"]
    schedules = {r["activity_id"]: r for r in sample.rows("core_paymentschedule")}
    appropriations = {r["id"]: r for r in sample.rows("core_appropriation")}
    cprs = {r["id"]: r["cpr_number"] for r in sample.rows("core_case")}
    hours: dict[tuple[int, int], list[tuple[str, Decimal]]] = defaultdict(list)
    for activity in sample.rows("core_activity"):
        schedule = schedules[activity["id"]]
        if schedule["recipient_type"] != "INTERNAL" or activity["status"] != "GRANTED":
            continue
        cpr = cprs[appropriations[activity["appropriation_id"]]["case_id"]]
        client = hmac.new(TEST_PSEUDONYM_KEY.encode(), cpr.encode(), hashlib.sha256).hexdigest()
        month = (activity["start_date"].year, activity["start_date"].month)
        last = (activity["end_date"].year, activity["end_date"].month) if activity["end_date"] else as_of_month
        while month <= min(last, as_of_month):
            if month >= (go_live.year, go_live.month):
                hours[month].append((client, schedule["payment_units"]))
            month = (month[0] + month[1] // 12, month[1] % 12 + 1)
    expected: dict[tuple[str, int, str], Decimal] = defaultdict(Decimal)
    for month, volumes in hours.items():
        total_hours = sum(h for _, h in volumes)
        for client, client_hours in volumes:
            expected[(client, month[0], "Family treatment")] += salaries.get(month, Decimal(0)) * client_hours / total_hours
    return dict(expected)


def _mart(warehouse: Warehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse.serving_path), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def _assert_equal_to_the_krone(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    mismatches = {k: (actual[k], v) for k, v in expected.items() if abs(actual[k] - v) >= 1}
    assert not mismatches, f"{len(mismatches)} cells differ, e.g. {list(mismatches.items())[:3]}"


def test_purchased_cost_per_client_equals_generator_records(published_warehouse: Warehouse) -> None:
    expected = expected_cost_per_client_year_intervention(published_warehouse)
    rows = _mart(published_warehouse,
                 "SELECT client_id, cost_year, intervention_category, sum(purchased_cost_dkk) "
                 "FROM marts.fct_client_cost WHERE purchased_cost_dkk <> 0 GROUP BY ALL")
    actual = {(client, year, intervention): cost for client, year, intervention, cost in rows}
    assert len(expected) > 100
    _assert_equal_to_the_krone(actual, expected)
    assert sum(actual.values()) == sum(expected.values())  # to the øre


def test_in_house_cost_per_client_equals_salaries_allocated_by_hours(published_warehouse: Warehouse) -> None:
    expected = {k: v for k, v in expected_in_house_cost(published_warehouse).items() if v}
    rows = _mart(published_warehouse,
                 "SELECT client_id, cost_year, intervention_category, sum(in_house_cost_dkk) "
                 "FROM marts.fct_client_cost WHERE in_house_cost_dkk <> 0 GROUP BY ALL")
    actual = {(client, year, intervention): cost for client, year, intervention, cost in rows}
    assert len(expected) > 10
    _assert_equal_to_the_krone(actual, expected)
    salaries = sum(p["amount"] for p in published_warehouse.sample.ledger.to_pylist()
                   if p["voucher_number"].startswith("LOEN"))
    assert sum(actual.values()) == salaries  # every krone of salary is attributed


def test_cost_per_client_by_year_equals_generator_records(published_warehouse: Warehouse) -> None:
    expected = expected_cost_per_client_year_intervention(published_warehouse)
    for key, cost in expected_in_house_cost(published_warehouse).items():
        expected[key] = expected.get(key, Decimal(0)) + cost
    cost_by_year: dict[int, Decimal] = defaultdict(Decimal)
    clients_by_year: dict[int, set[str]] = defaultdict(set)
    for (client, year, _), cost in expected.items():
        if cost:
            cost_by_year[year] += cost
            clients_by_year[year].add(client)
    rows = _mart(published_warehouse,
                 "SELECT cost_year, sum(cost_dkk) / count(DISTINCT client_id) "
                 "FROM marts.fct_client_cost WHERE cost_dkk <> 0 GROUP BY cost_year ORDER BY cost_year")
    assert [year for year, _ in rows] == sorted(cost_by_year)
    for year, cost_per_client in rows:
        assert abs(Decimal(str(cost_per_client)) - cost_by_year[year] / len(clients_by_year[year])) < 1, year


def test_ledger_reconciles_attributed_plus_unattributed_to_the_total(published_warehouse: Warehouse) -> None:
    ledger = published_warehouse.sample.ledger.to_pylist()
    (ledger_total, attributed, unattributed), = _mart(
        published_warehouse,
        "SELECT sum(ledger_total_dkk), sum(attributed_dkk), sum(unattributed_dkk) FROM marts.fct_ledger_reconciliation",
    )
    assert ledger_total == sum(p["amount"] for p in ledger)  # to the øre
    assert attributed + unattributed == ledger_total
    defects = published_warehouse.sample.defects
    assert unattributed > 0 and defects["duplicate_postings"] > 0  # reported, never dropped
