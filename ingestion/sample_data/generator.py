"""Generate a sample municipality (or several): OS2bos tables, ledger postings and budgets.

Deterministic for a scale, seed and as-of date, and column-wise (numpy and Arrow), so that
the `national` scale (> 10 million payments and ledger rows) generates in about a minute.
The returned tables are the generator's own records: tests use them as ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa

from ingestion.sample_data.arrays import day_number, os2bos_table
from ingestion.sample_data.finance_records import DefectRates, generate_finance
from ingestion.sample_data.grants import IN_HOUSE, generate_grants
from ingestion.sample_data.population import (
    case_history,
    case_table,
    caseworker_tables,
    generate_cases,
    related_persons,
)
from ingestion.sample_data.reference_tables import EFFORTS, ALL_SERVICES, reference_tables, supplementary_tables
from ingestion.sample_data.schema import TABLES


@dataclass(frozen=True)
class Scale:
    municipalities: int
    children_per_municipality: int
    caseworkers_per_municipality: int
    history_years: int  # the OS2bos installation went live on 1 January this many years ago


SCALES: dict[str, Scale] = {
    "small": Scale(municipalities=1, children_per_municipality=400, caseworkers_per_municipality=14, history_years=3),
    "large": Scale(municipalities=1, children_per_municipality=12_000, caseworkers_per_municipality=140,
                   history_years=5),
    "national": Scale(municipalities=8, children_per_municipality=9_500, caseworkers_per_municipality=110,
                      history_years=5),
}
INVALID_CPR_RATE = 0.002
UNKNOWN_PROVIDER_RATE = 0.005


@dataclass
class SampleMunicipality:
    scale: str
    seed: int
    as_of: date
    tables: dict[str, pa.Table]  # every OS2bos table of schema.TABLES (possibly empty)
    ledger: pa.Table  # finance_records.LEDGER_SCHEMA
    budgets: pa.Table  # finance_records.BUDGET_SCHEMA
    defects: dict[str, int] = field(default_factory=dict)

    def rows(self, table: str) -> list[dict]:
        """A table as Python rows (for tests on small samples)."""
        return self.tables[table].to_pylist()


def _choose_services(rng: np.random.Generator, cases: int) -> tuple[np.ndarray, np.ndarray]:
    """Each child gets one to three grants; returns (case index, service index) per grant."""
    per_case = rng.choice([1, 2, 3], size=cases, p=[0.55, 0.3, 0.15])
    grant_case = np.repeat(np.arange(cases), per_case)
    weights = np.array([s.weight for s in ALL_SERVICES], dtype=float)
    grant_service = rng.choice(len(ALL_SERVICES), size=len(grant_case), p=weights / weights.sum())
    return grant_case, grant_service


def _initial_steps(grant_case: np.ndarray, grant_service: np.ndarray, cases: int) -> np.ndarray:
    """The staircase step of a case: the highest step among its grants (placements are 4-6)."""
    from ingestion.sample_data.catalogue import SERVICES

    placement_step = {"015194": 4, "015190": 5, "015192": 5, "015189": 5, "015193": 5, "015195": 6, "015191": 6}
    step_of_service = np.array([
        placement_step.get(s.activity_category_code, 2 if s.paragraph.startswith("SEL-11") else 3)
        for s in (*SERVICES, ALL_SERVICES[IN_HOUSE])
    ])
    steps = np.full(cases, 2)
    np.maximum.at(steps, grant_case, step_of_service[grant_service])
    return steps


def generate(scale: str = "small", seed: int = 42, as_of: date | None = None) -> SampleMunicipality:
    """Build the sample in memory."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    as_of = as_of or date.today()
    size = SCALES[scale]
    rng = np.random.default_rng(seed)
    today = day_number(as_of)
    go_live = day_number(date(as_of.year - size.history_years + 1, 1, 1))
    plan_end = day_number(date(as_of.year + 1, 12, 31))

    tables = reference_tables(size.municipalities, date(as_of.year - size.history_years + 1, 1, 1))
    tables.update(supplementary_tables(as_of.year - size.history_years + 1, as_of.year + 1))
    staff, _ = caseworker_tables(size.municipalities, size.caseworkers_per_municipality, go_live)
    tables.update(staff)

    n_cases = size.municipalities * size.children_per_municipality
    grant_case, grant_service = _choose_services(rng, n_cases)
    cases = generate_cases(
        rng, size.municipalities, size.children_per_municipality, size.caseworkers_per_municipality,
        first_created=go_live - 2 * 365, last_created=today - 7,
        initial_step=_initial_steps(grant_case, grant_service, n_cases), invalid_cpr_rate=INVALID_CPR_RATE,
    )
    history = case_history(rng, cases, today, size.caseworkers_per_municipality)
    last_change = np.zeros(n_cases, dtype=np.int64)
    np.maximum.at(last_change, history["id"].to_numpy() - 1,
                  history["history_date"].cast(pa.int64()).to_numpy() // 86_400_000_000)
    tables["core_historicalcase"] = history
    tables["core_case"] = case_table(cases, last_change)
    tables["core_relatedperson"] = related_persons(rng, cases)
    tables["core_case_efforts"] = _case_efforts(rng, n_cases)

    rate_count = len(tables["core_rate"])
    grants = generate_grants(rng, cases, grant_case, grant_service, today, go_live, plan_end,
                             first_variablerate_id=rate_count + 1, unknown_provider_rate=UNKNOWN_PROVIDER_RATE)
    price_intervals = grants.tables.pop("core_rateperdate")
    tables.update(grants.tables)
    tables["core_payment"] = grants.payments
    tables["core_rateperdate"] = _with_ids(pa.concat_tables([tables["core_rateperdate"], price_intervals]))
    tables["core_historicalrateperdate"] = _rate_history(tables["core_rateperdate"])
    tables["core_variablerate"] = os2bos_table("core_variablerate", {
        "id": np.arange(1, rate_count + len(tables["core_price"]) + 1),
    })

    finance = generate_finance(
        rng, grants.payments, grants.payment_municipality, grants.payment_service, grants.in_house_hours,
        size.municipalities, go_live, today, DefectRates(),
    )
    for name in TABLES:  # every OS2bos table exists, if only empty
        tables.setdefault(name, os2bos_table(name, {}, rows=0))
    defects = {**finance.defects, "invalid_cpr_numbers": int(round(n_cases * INVALID_CPR_RATE))}
    return SampleMunicipality(scale, seed, as_of, tables, finance.ledger, finance.budgets, defects)


def _case_efforts(rng: np.random.Generator, cases: int) -> pa.Table:
    """Each case is tagged with one or two efforts (Case.efforts, a many-to-many link)."""
    count = rng.integers(1, 3, cases)
    case_index = np.repeat(np.arange(cases), count)
    effort = (rng.integers(0, len(EFFORTS), cases)[case_index] + (np.arange(len(case_index)) -
              np.repeat(np.cumsum(count) - count, count))) % len(EFFORTS) + 1
    return os2bos_table("core_case_efforts", {
        "id": np.arange(1, len(case_index) + 1), "case_id": case_index + 1, "effort_id": effort,
    })


def _rate_history(rates: pa.Table) -> pa.Table:
    """django-simple-history's record of every rate interval: created ('+') when it was set."""
    columns = {name: rates[name] for name in rates.column_names}
    return os2bos_table("core_historicalrateperdate", {
        **columns, "history_id": np.arange(1, len(rates) + 1), "history_date": rates["changed_date"],
        "history_type": "+",
    })


def _with_ids(table: pa.Table) -> pa.Table:
    return table.set_column(0, "id", pa.array(np.arange(1, len(table) + 1), pa.int64()))
