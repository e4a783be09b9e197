"""Unit costs, the year-end forecast and budget vs actual, computed in plain Python from the generator's
own records (never the warehouse's) and compared with the serving marts to the øre and to the day.

The definitions followed here are DOMAIN.md's, not the SQL's:
- unit cost p_k = C_k / V_k per intervention, delivering unit and month: purchased services carry their
  paid amounts on the paid date, volume = care days (daily schedules), else the number of payments;
  the in-house unit's cost is its salaries, its volume the hours it produced;
- year-end forecast = actual to date (ledger) + remaining planned payments of granted activities +
  expected adjustments, where "expected" = granted, overridden from the start of any EXPECTED adjustment;
- budget vs actual per account and month = the budget export's lines and the ledger's postings.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

import duckdb
import pytest

from ingestion.sample_data import catalogue
from ingestion.sample_data.generator import SampleMunicipality
from tests.conftest import AS_OF, REPO_ROOT, TEST_PSEUDONYM_KEY, Warehouse

INTERVENTIONS_SEED = REPO_ROOT / "dbt_project" / "seeds" / "activity_category_interventions.csv"
REFERENCE_DATE = AS_OF  # WAREHOUSE_REFERENCE_DATE of the test warehouse
IN_HOUSE_ACCOUNT = catalogue.IN_HOUSE_SERVICE.account_string
CENT = Decimal("0.01")
VOLUME_UNITS = {"DAILY": "care day", "WEEKLY": "week", "BIWEEKLY": "week", "MONTHLY": "month"}

Cell = tuple[str, str, date]  # municipality code, account string, first day of the month


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


@dataclass(frozen=True)
class Activity:
    """An OS2bos activity with what the marts attribute its payments to."""

    activity_id: int
    status: str
    start: date
    end: date | None
    modifies: int | None
    intervention: str
    provider_key: str
    volume_unit: str
    units: Decimal | None  # the schedule's payment_units (hours per month for in-house activities)
    client: str
    municipality_code: str


@dataclass
class Records:
    """The generator's records, joined once in Python."""

    sample: SampleMunicipality

    @cached_property
    def activities(self) -> dict[int, Activity]:
        sample = self.sample
        with INTERVENTIONS_SEED.open(encoding="utf-8") as handle:
            intervention_of = {r["activity_category_code"]: r["intervention_category"] for r in csv.DictReader(handle)}
        categories = {r["id"]: r["category_id"] for r in sample.rows("core_activitycategory")}
        category_of = {(r["activity_details_id"], r["section_id"]): categories[r["activity_category_id"]]
                       for r in sample.rows("core_sectioninfo")}
        schedules = {r["activity_id"]: r for r in sample.rows("core_paymentschedule")}
        appropriations = {r["id"]: r for r in sample.rows("core_appropriation")}
        cases = {r["id"]: r for r in sample.rows("core_case")}
        code_of_name = {name: code for code, name in catalogue.MUNICIPALITIES}
        municipality_code = {r["id"]: code_of_name[r["name"]] for r in sample.rows("core_municipality")}
        activities = {}
        for row in sample.rows("core_activity"):
            schedule = schedules[row["id"]]
            appropriation = appropriations[row["appropriation_id"]]
            case = cases[appropriation["case_id"]]
            category = category_of.get((row["details_id"], appropriation["section_id"]))
            activities[row["id"]] = Activity(
                activity_id=row["id"], status=row["status"], start=row["start_date"], end=row["end_date"],
                modifies=row["modifies_id"],
                intervention=intervention_of.get(category, "Unclassified"),
                provider_key=_delivering_unit(schedule, row["service_provider_id"]),
                volume_unit=("hour" if schedule["recipient_type"] == "INTERNAL"
                             else VOLUME_UNITS.get(schedule["payment_frequency"], "one-off")),
                units=schedule["payment_units"],
                client=hmac.new(TEST_PSEUDONYM_KEY.encode(), case["cpr_number"].encode(), hashlib.sha256).hexdigest(),
                municipality_code=municipality_code[case["paying_municipality_id"]],
            )
        return activities

    @cached_property
    def payments(self) -> list[tuple[dict, Activity]]:
        schedule_activity = {r["id"]: r["activity_id"] for r in self.sample.rows("core_paymentschedule")}
        return [(p, self.activities[schedule_activity[p["payment_schedule_id"]]])
                for p in self.sample.rows("core_payment")]

    @cached_property
    def ledger(self) -> list[dict]:
        return self.sample.ledger.to_pylist()


def _delivering_unit(schedule: dict, service_provider_id: int | None) -> str:
    """The unit that delivers an activity: the in-house unit, the OS2bos provider, the foster families
    (paid as persons) or an unknown provider."""
    if schedule["recipient_type"] == "INTERNAL":
        return f"internal-{schedule['recipient_id'] or '?'}"
    if service_provider_id is not None:
        return f"provider-{service_provider_id}"
    return "foster-families" if schedule["recipient_type"] == "PERSON" else "unknown-provider"


@pytest.fixture(scope="module")
def records(published_warehouse: Warehouse) -> Records:
    return Records(published_warehouse.sample)


def _mart(warehouse: Warehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse.serving_path), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def _assert_equal(actual: dict, expected: dict, tolerance: Decimal, what: str) -> None:
    assert expected, f"no expected {what}"
    assert actual.keys() == expected.keys(), (
        f"{what}: only in the mart {sorted(actual.keys() - expected.keys())[:5]}, "
        f"only in the records {sorted(expected.keys() - actual.keys())[:5]}")
    differences = {k: (actual[k], v) for k, v in expected.items() if abs(actual[k] - v) > tolerance}
    assert not differences, (
        f"{what}: {len(differences)} cells differ (mart, records), e.g. {list(differences.items())[:3]}")


# --- a) unit cost ---------------------------------------------------------------------------------------

@dataclass
class UnitCell:
    cost: Decimal = Decimal(0)
    volume: Decimal = Decimal(0)
    clients: set[str] = field(default_factory=set)


def in_house_hours(records: Records) -> dict[tuple[str, date], list[tuple[Activity, Decimal]]]:
    """Hours the in-house unit gave each child per municipality and month: a GRANTED in-house activity
    receives its monthly hours in every calendar month it runs, up to the reference month."""
    hours: dict[tuple[str, date], list[tuple[Activity, Decimal]]] = defaultdict(list)
    for activity in records.activities.values():
        if activity.volume_unit != "hour" or activity.status != "GRANTED" or activity.units is None:
            continue
        month, last = month_of(activity.start), month_of(min(activity.end or REFERENCE_DATE, REFERENCE_DATE))
        while month <= last:
            hours[(activity.municipality_code, month)].append((activity, activity.units))
            month = next_month(month)
    return hours


def expected_unit_costs(records: Records) -> dict[tuple[str, str, date, str], UnitCell]:
    cells: dict[tuple[str, str, date, str], UnitCell] = defaultdict(UnitCell)
    for payment, activity in records.payments:
        if not payment["paid"]:
            continue
        month = month_of(payment["paid_date"])
        cell = cells[(activity.intervention, activity.provider_key, month, activity.volume_unit)]
        cell.cost += payment["paid_amount"]
        cell.volume += (activity.units or Decimal(1)) if activity.volume_unit == "care day" else Decimal(1)
        cell.clients.add(activity.client)
    salaries: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for posting in records.ledger:
        if posting["voucher_number"].startswith("LOEN") and posting["account_string"] == IN_HOUSE_ACCOUNT:
            salaries[(posting["municipality_code"], month_of(posting["posting_date"]))] += posting["amount"]
    for (municipality, month), volumes in in_house_hours(records).items():
        if (municipality, month) not in salaries:
            continue  # no salaries that month (before go-live): nothing to allocate
        total_hours = sum(hours for _, hours in volumes)
        for activity, hours in volumes:  # the month's salaries, allocated by hours
            cell = cells[(activity.intervention, activity.provider_key, month, "hour")]
            cell.cost += salaries[(municipality, month)] * hours / total_hours
            cell.volume += hours
            cell.clients.add(activity.client)
    return dict(cells)


def test_unit_costs_equal_the_generator_records(published_warehouse: Warehouse, records: Records) -> None:
    expected = expected_unit_costs(records)
    rows = _mart(published_warehouse,
                 "SELECT intervention_category, provider_key, cost_month, volume_unit, cost_dkk, volume, "
                 "unit_cost_dkk, clients FROM marts.fct_unit_cost")
    marts = {(i, p, m, u): (cost, volume, unit_cost, clients) for i, p, m, u, cost, volume, unit_cost, clients in rows}
    assert {"care day", "hour", "week", "month", "one-off"} <= {key[3] for key in expected}
    _assert_equal({k: v[0] for k, v in marts.items()}, {k: c.cost for k, c in expected.items()}, CENT, "cost")
    _assert_equal({k: v[1] for k, v in marts.items()}, {k: c.volume for k, c in expected.items()}, Decimal(0), "volume")
    _assert_equal({k: v[2] for k, v in marts.items()},
                  {k: (c.cost / c.volume).quantize(CENT) for k, c in expected.items()}, CENT, "unit cost")
    _assert_equal({k: Decimal(v[3]) for k, v in marts.items()},
                  {k: Decimal(len(c.clients)) for k, c in expected.items()}, Decimal(0), "clients")


def test_cost_per_care_day_by_provider_and_year_equals_the_records(published_warehouse: Warehouse,
                                                                   records: Records) -> None:
    """The leaders' figure (Kolada N33100 style): paid amounts of daily placements ÷ care days."""
    cost: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    days: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for payment, activity in records.payments:
        if payment["paid"] and activity.volume_unit == "care day":
            key = (activity.provider_key, payment["paid_date"].year)
            cost[key] += payment["paid_amount"]
            days[key] += activity.units or Decimal(1)
    rows = _mart(published_warehouse,
                 "SELECT provider_key, cost_year, sum(cost_dkk) / sum(volume) FROM marts.fct_unit_cost "
                 "WHERE volume_unit = 'care day' GROUP BY ALL")
    assert len(rows) > 5
    _assert_equal({(p, y): Decimal(str(v)) for p, y, v in rows}, {k: cost[k] / days[k] for k in cost},
                  CENT, "cost per care day")


# --- b) year-end forecast -------------------------------------------------------------------------------

@dataclass
class ForecastCell:
    actual: Decimal = Decimal(0)
    remaining_granted: Decimal = Decimal(0)
    expected_plan: Decimal = Decimal(0)  # remaining payments once expected adjustments take over

    @property
    def forecast(self) -> Decimal:
        return self.actual + self.expected_plan

    @property
    def expected_adjustment(self) -> Decimal:
        return self.expected_plan - self.remaining_granted


def expected_forecast(records: Records) -> dict[Cell, ForecastCell]:
    cells: dict[Cell, ForecastCell] = defaultdict(ForecastCell)
    for posting in records.ledger:
        if posting["posting_date"] <= REFERENCE_DATE:  # actual to date
            cells[(posting["municipality_code"], posting["account_string"], month_of(posting["posting_date"]))
                  ].actual += posting["amount"]
    # Each granted activity's plan is overridden from the first day of its EXPECTED adjustment.
    taken_over_from = {a.modifies: a.start for a in records.activities.values()
                       if a.status == "EXPECTED" and a.modifies is not None}
    for payment, activity in records.payments:
        if payment["paid"]:
            continue  # paid: it is in the actuals (once posted), no longer remaining
        cell = cells[(activity.municipality_code, payment["saved_account_string"], month_of(payment["date"]))]
        if activity.status == "GRANTED":
            cell.remaining_granted += payment["amount"]
            if activity.activity_id not in taken_over_from or payment["date"] < taken_over_from[activity.activity_id]:
                cell.expected_plan += payment["amount"]
        elif activity.status == "EXPECTED" and activity.modifies is not None:
            cell.expected_plan += payment["amount"]
    return dict(cells)


def test_remaining_payments_are_all_after_the_reference_date(records: Records) -> None:
    """The pinned reference date splits the sample: granted payments up to it are paid, later ones planned."""
    unpaid = [p["date"] for p, a in records.payments if a.status == "GRANTED" and not p["paid"]]
    paid = [p["paid_date"] for p, _ in records.payments if p["paid"]]
    assert unpaid and min(unpaid) > REFERENCE_DATE
    assert paid and max(paid) <= REFERENCE_DATE
    assert sum(1 for a in records.activities.values() if a.status == "EXPECTED" and a.modifies) >= 3


def test_forecast_per_account_and_month_equals_the_documented_definition(published_warehouse: Warehouse,
                                                                         records: Records) -> None:
    expected = {k: c for k, c in expected_forecast(records).items()
                if c.actual or c.remaining_granted or c.expected_plan}
    rows = _mart(published_warehouse,
                 "SELECT municipality_code, account_string, budget_month, actual_dkk, remaining_granted_dkk, "
                 "expected_adjustment_dkk, forecast_dkk, is_future_month FROM marts.fct_budget")
    marts = {(m, a, month): values for m, a, month, *values in rows if any(values[:4])}
    assert any(c.expected_adjustment for c in expected.values())
    for index, (what, value) in enumerate([
        ("actual", lambda c: c.actual), ("remaining granted", lambda c: c.remaining_granted),
        ("expected adjustment", lambda c: c.expected_adjustment), ("forecast", lambda c: c.forecast),
    ]):
        _assert_equal({k: v[index] for k, v in marts.items()}, {k: value(c) for k, c in expected.items()},
                      Decimal(0), what)
    wrong_future = [k for k, v in marts.items() if v[4] != (k[2] > REFERENCE_DATE)]
    assert not wrong_future, f"is_future_month wrong for {wrong_future[:3]}"


def test_year_end_forecast_equals_the_documented_definition(published_warehouse: Warehouse,
                                                            records: Records) -> None:
    year = REFERENCE_DATE.year
    cells = expected_forecast(records)
    actual_to_date = sum((p["amount"] for p in records.ledger
                          if p["posting_date"].year == year and p["posting_date"] <= REFERENCE_DATE), Decimal(0))
    rest_of_year = sum((c.expected_plan for (_, _, month), c in cells.items() if month.year == year), Decimal(0))
    (forecast, actual), = _mart(published_warehouse, "SELECT sum(forecast_dkk), sum(actual_dkk) "
                                f"FROM marts.fct_budget WHERE budget_year = {year}")
    assert actual == actual_to_date
    assert rest_of_year > 0
    assert forecast == actual_to_date + rest_of_year  # to the øre


# --- c) budget vs actual --------------------------------------------------------------------------------

def test_budget_and_actual_per_account_and_month_equal_the_finance_records(published_warehouse: Warehouse,
                                                                           records: Records) -> None:
    budget: dict[Cell, Decimal] = defaultdict(Decimal)
    for line in published_warehouse.sample.budgets.to_pylist():
        budget[(line["municipality_code"], line["account_string"],
                date(line["budget_year"], line["budget_month"], 1))] += line["amount"]
    actual: dict[Cell, Decimal] = defaultdict(Decimal)
    for posting in records.ledger:
        actual[(posting["municipality_code"], posting["account_string"], month_of(posting["posting_date"]))] += (
            posting["amount"])
    rows = _mart(published_warehouse,
                 "SELECT municipality_code, account_string, budget_month, budget_dkk, actual_dkk FROM marts.fct_budget")
    assert {month.year for _, _, month in budget} > {REFERENCE_DATE.year}  # next year's budget is there too
    _assert_equal({(m, a, month): b for m, a, month, b, _ in rows if b}, {k: v for k, v in budget.items() if v},
                  Decimal(0), "budget")
    _assert_equal({(m, a, month): x for m, a, month, _, x in rows if x}, {k: v for k, v in actual.items() if v},
                  Decimal(0), "actual")
    variance = {(m, a, month): x - b for m, a, month, b, x in rows}
    assert sum(variance.values()) == sum(actual.values()) - sum(budget.values())
