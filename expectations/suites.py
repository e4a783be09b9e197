"""The suites: which table each one validates, and its expectations with their severity.

Expectations are declared as data (GX class name and arguments) and turned into Great
Expectations objects only when a suite runs: importing GX takes ~10 s, which the Dagster
webserver, daemon and every run would otherwise pay just to load the asset graph.
Severity follows GX: `critical` (an error) blocks publishing, `warning` is reported only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

ERROR = "critical"
WARN = "warning"


class Layer(str, Enum):
    RAW = "raw"      # the raw DuckDB file written by dlt
    BUILD = "build"  # the build DuckDB file written by dbt


@dataclass(frozen=True)
class Expect:
    """One expectation: a GX expectation class name (e.g. ExpectColumnValuesToBeUnique) and its arguments."""

    name: str
    severity: str = ERROR
    kwargs: dict[str, Any] = field(default_factory=dict)

    def columns(self) -> list[str]:
        names = [self.kwargs.get("column"), *self.kwargs.get("column_list", []),
                 self.kwargs.get("column_A"), self.kwargs.get("column_B")]
        return [n for n in names if n]


def expect(name: str, severity: str = ERROR, **kwargs: Any) -> Expect:
    return Expect(name, severity, kwargs)


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    layer: Layer
    schema: str
    table: str
    expectations: tuple[Expect, ...]

    @property
    def qualified_table(self) -> str:
        return f'"{self.schema}"."{self.table}"'

    def columns(self) -> list[str]:
        """The columns the expectations read: only these are loaded into the batch."""
        names: list[str] = []
        for expectation in self.expectations:
            names.extend(c for c in expectation.columns() if c not in names)
        return names


RAW_PAYMENTS = SuiteSpec(
    name="raw_os2bos_core_payment",
    layer=Layer.RAW,
    schema="os2bos",
    table="core_payment",
    expectations=(
        expect("ExpectColumnValuesToNotBeNull", column="id"),
        expect("ExpectColumnValuesToBeUnique", column="id"),
        expect("ExpectColumnValuesToNotBeNull", column="payment_schedule_id"),
        expect("ExpectColumnValuesToNotBeNull", column="date"),
        expect("ExpectColumnValuesToNotBeNull", column="amount"),
        expect("ExpectColumnValuesToBeBetween", column="amount", min_value=-5_000_000, max_value=5_000_000),
        expect("ExpectColumnValuesToBeInSet", column="recipient_type", value_set=["INTERNAL", "PERSON", "COMPANY"]),
        expect("ExpectColumnValuesToBeBetween", WARN, column="paid_amount", min_value=0, max_value=1_000_000),
    ),
)

MART_CLIENT_COST = SuiteSpec(
    name="marts_fct_client_cost",
    layer=Layer.BUILD,
    schema="marts",
    table="fct_client_cost",
    expectations=(
        expect("ExpectTableRowCountToBeBetween", min_value=1),
        expect("ExpectColumnValuesToNotBeNull", column="client_id"),
        expect("ExpectColumnValuesToNotBeNull", column="cost_month"),
        expect("ExpectColumnValuesToNotBeNull", column="intervention_category"),
        expect("ExpectColumnValuesToNotBeNull", column="cost_dkk"),
        expect("ExpectCompoundColumnsToBeUnique", column_list=["client_id", "intervention_category", "cost_month"]),
        expect("ExpectColumnValuesToBeBetween", column="staircase_step", min_value=1, max_value=6),
        expect("ExpectColumnValuesToBeBetween", column="cost_year", min_value=2000, max_value=2100),
        expect("ExpectColumnValuesToBeBetween", column="payment_count", min_value=1),
        expect("ExpectColumnValuesToBeBetween", WARN, column="cost_dkk", min_value=-1_000_000, max_value=1_000_000),
    ),
)

SUITES: tuple[SuiteSpec, ...] = (RAW_PAYMENTS, MART_CLIENT_COST)
