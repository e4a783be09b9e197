"""Run a suite against a table in a DuckDB file and summarise the outcome by severity."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import duckdb  # noqa: E402
import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from expectations.suites import ERROR, SuiteSpec  # noqa: E402


@dataclass(frozen=True)
class Failure:
    expectation: str
    column: str | None
    severity: str
    unexpected_count: int | None
    error: str | None

    def describe(self) -> str:
        where = f" on {self.column}" if self.column else ""
        what = f"{self.unexpected_count} unexpected rows" if self.unexpected_count else (self.error or "failed")
        return f"{self.expectation}{where}: {what}"


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    table: str
    rows: int
    evaluated: int
    failures: list[Failure] = field(default_factory=list)

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == ERROR]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity != ERROR]

    @property
    def passed(self) -> bool:
        """True when no error-severity expectation failed (warnings do not block)."""
        return not self.errors


def run_suite(spec: SuiteSpec, database: Path, duckdb_config: dict[str, str | int]) -> SuiteOutcome:
    """Validate `spec` against its table in `database`, opened read-only."""
    columns = ", ".join(f'"{c}"' for c in spec.columns())
    with duckdb.connect(str(database), read_only=True, config=duckdb_config) as connection:
        frame = connection.sql(f"SELECT {columns} FROM {spec.qualified_table}").df()

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas(spec.layer.value)
        .add_dataframe_asset(spec.table)
        .add_batch_definition_whole_dataframe("whole_table")
    )
    expectations = [getattr(gxe, e.name)(**e.kwargs, severity=e.severity) for e in spec.expectations]
    suite = context.suites.add(gx.ExpectationSuite(name=spec.name, expectations=expectations))
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)

    failures = []
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        raised = item.exception_info.get("raised_exception") if item.exception_info else False
        failures.append(Failure(
            expectation=config.type,
            column=config.kwargs.get("column") or ", ".join(config.kwargs.get("column_list", [])) or None,
            severity=str(config.severity.value if hasattr(config.severity, "value") else config.severity).lower(),
            unexpected_count=(item.result or {}).get("unexpected_count"),
            error=item.exception_info.get("exception_message") if raised else None,
        ))
    return SuiteOutcome(spec.name, f"{spec.schema}.{spec.table}", len(frame), len(result.results), failures)
