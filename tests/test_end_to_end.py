"""The nightly job on the sample data: the mart's cost per client equals the generator's records."""

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


def test_mart_cost_per_client_equals_generator_records(published_warehouse: Warehouse) -> None:
    expected = expected_cost_per_client_year_intervention(published_warehouse)
    with duckdb.connect(str(published_warehouse.serving_path), read_only=True) as connection:
        rows = connection.sql(
            "SELECT client_id, cost_year, intervention_category, sum(cost_dkk) "
            "FROM marts.fct_client_cost GROUP BY ALL"
        ).fetchall()
    actual = {(client, year, intervention): cost for client, year, intervention, cost in rows}
    assert len(expected) > 100
    assert actual.keys() == expected.keys()
    mismatches = {k: (actual[k], v) for k, v in expected.items() if round(actual[k]) != round(v)}
    assert not mismatches, f"{len(mismatches)} cells differ, e.g. {list(mismatches.items())[:3]}"
    assert sum(actual.values()) == sum(expected.values())


def test_cost_per_client_by_year_equals_generator_records(published_warehouse: Warehouse) -> None:
    expected = expected_cost_per_client_year_intervention(published_warehouse)
    cost_by_year: dict[int, Decimal] = defaultdict(Decimal)
    clients_by_year: dict[int, set[str]] = defaultdict(set)
    for (client, year, _), cost in expected.items():
        cost_by_year[year] += cost
        clients_by_year[year].add(client)
    with duckdb.connect(str(published_warehouse.serving_path), read_only=True) as connection:
        rows = connection.sql(
            "SELECT cost_year, sum(cost_dkk) / count(DISTINCT client_id) "
            "FROM marts.fct_client_cost GROUP BY cost_year ORDER BY cost_year"
        ).fetchall()
    assert [year for year, _ in rows] == sorted(cost_by_year)
    for year, cost_per_client in rows:
        assert round(cost_per_client) == round(cost_by_year[year] / len(clients_by_year[year])), year
