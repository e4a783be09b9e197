"""The suites: which table each one validates, and its expectations with their severity.

Severity follows GX: `critical` (an error) blocks publishing, `warning` is reported only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation

ERROR = "critical"
WARN = "warning"


class Layer(str, Enum):
    RAW = "raw"      # the raw DuckDB file written by dlt
    BUILD = "build"  # the build DuckDB file written by dbt


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    layer: Layer
    schema: str
    table: str
    expectations: tuple[Expectation, ...]

    @property
    def qualified_table(self) -> str:
        return f'"{self.schema}"."{self.table}"'

    def columns(self) -> list[str]:
        """The columns the expectations read: only these are loaded into the batch."""
        names: list[str] = []
        for expectation in self.expectations:
            config = expectation.configuration.kwargs
            for name in [config.get("column"), *config.get("column_list", []),
                         config.get("column_A"), config.get("column_B")]:
                if name and name not in names:
                    names.append(name)
        return names


RAW_PAYMENTS = SuiteSpec(
    name="raw_os2bos_core_payment",
    layer=Layer.RAW,
    schema="os2bos",
    table="core_payment",
    expectations=(
        gxe.ExpectColumnValuesToNotBeNull(column="id", severity=ERROR),
        gxe.ExpectColumnValuesToBeUnique(column="id", severity=ERROR),
        gxe.ExpectColumnValuesToNotBeNull(column="payment_schedule_id", severity=ERROR),
        gxe.ExpectColumnValuesToNotBeNull(column="date", severity=ERROR),
        gxe.ExpectColumnValuesToNotBeNull(column="amount", severity=ERROR),
        gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=-5_000_000, max_value=5_000_000, severity=ERROR),
        gxe.ExpectColumnValuesToBeInSet(column="recipient_type", value_set=["INTERNAL", "PERSON", "COMPANY"], severity=ERROR),
        gxe.ExpectColumnValuesToBeBetween(column="paid_amount", min_value=0, max_value=1_000_000, severity=WARN),
    ),
)

MART_CLIENT_COST = SuiteSpec(
    name="marts_fct_client_cost",
    layer=Layer.BUILD,
    schema="marts",
    table="fct_client_cost",
    expectations=(
        gxe.ExpectTableRowCountToBeBetween(min_value=1, severity=ERROR),
        gxe.ExpectColumnValuesToNotBeNull(column="client_id", severity=ERROR),
        gxe.ExpectColumnValuesToNotBeNull(column="cost_month", severity=ERROR),
        gxe.ExpectColumnValuesToNotBeNull(column="intervention_category", severity=ERROR),
        gxe.ExpectColumnValuesToNotBeNull(column="cost_dkk", severity=ERROR),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["client_id", "intervention_category", "cost_month"], severity=ERROR),
        gxe.ExpectColumnValuesToBeBetween(column="staircase_step", min_value=1, max_value=6, severity=ERROR),
        gxe.ExpectColumnValuesToBeBetween(column="cost_year", min_value=2000, max_value=2100, severity=ERROR),
        gxe.ExpectColumnValuesToBeBetween(column="payment_count", min_value=1, severity=ERROR),
        gxe.ExpectColumnValuesToBeBetween(column="cost_dkk", min_value=-1_000_000, max_value=1_000_000, severity=WARN),
    ),
)

SUITES: tuple[SuiteSpec, ...] = (RAW_PAYMENTS, MART_CLIENT_COST)
