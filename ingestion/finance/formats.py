"""The finance system's export formats: file names, Danish headers and the raw tables they land in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


# Exports from a shared (inter-municipal or national) finance system carry the municipality.
MUNICIPALITY_COLUMN = {"Kommunekode": "municipality_code"}


@dataclass(frozen=True)
class ExportFormat:
    kind: str
    file_stem: str  # file names are <file_stem>_<period>.csv|xlsx
    table: str
    columns: dict[str, str]  # Danish header -> raw column name, required in every file
    name_pattern: re.Pattern[str]
    merge_key: str
    optional_columns: dict[str, str] = field(default_factory=lambda: dict(MUNICIPALITY_COLUMN))

    def present_columns(self, header: list[str]) -> dict[str, str]:
        """The export's columns this header carries: all required ones and the optional ones present."""
        return {**self.columns, **{name: raw for name, raw in self.optional_columns.items() if name in header}}


LEDGER = ExportFormat(
    kind="ledger",
    file_stem="ledger_postings",
    table="ledger_postings",
    columns={
        "Posteringsnr": "posting_id",
        "Bilagsnr": "voucher_number",
        "Bogføringsdato": "posting_date",
        "Kontostreng": "account_string",
        "Aktivitet": "activity_code",
        "Tekst": "posting_text",
        "Beløb": "amount",
    },
    name_pattern=re.compile(
        r"ledger_postings_(?P<year>(?:19|20)\d{2})(?:-(?P<month>0[1-9]|1[0-2]))?\.(?:csv|xlsx)", re.I | re.ASCII,
    ),
    merge_key="period",
)
BUDGET = ExportFormat(
    kind="budget",
    file_stem="budget",
    table="budgets",
    columns={
        "Kontostreng": "account_string",
        "Aktivitet": "activity_code",
        "År": "budget_year",
        "Måned": "budget_month",
        "Budget": "amount",
    },
    name_pattern=re.compile(r"budget_(?P<year>(?:19|20)\d{2})\.(?:csv|xlsx)", re.I | re.ASCII),
    merge_key="budget_year",
)
FORMATS = (LEDGER, BUDGET)
FILE_SUFFIXES = (".csv", ".xlsx")
NAMING_RULE = "ledger_postings_<YYYY>[-<MM>].csv|xlsx or budget_<YYYY>.csv|xlsx (YYYY 1900-2099, ASCII digits)"


@dataclass(frozen=True)
class ExportFile:
    """One delivered export file, identified by its content."""

    path: Path
    format: ExportFormat
    period: str  # the period the file name declares: "2024" or "2024-03"
    sha256: str
    size_bytes: int
    delivered_at: datetime

    @property
    def year(self) -> int:
        return int(self.period[:4])

    @property
    def coverage(self) -> frozenset[str]:
        """The replacement keys this file covers: posting months for ledgers, the year for budgets."""
        if self.format is BUDGET:
            return frozenset({self.period})
        if len(self.period) == 7:
            return frozenset({self.period})
        return frozenset(f"{self.period}-{month:02d}" for month in range(1, 13))


def identify(name: str) -> tuple[ExportFormat, str] | None:
    """The export format and declared period of a file name, or None if the name follows no format."""
    for export_format in FORMATS:
        match = export_format.name_pattern.fullmatch(name)
        if match:
            month = match.groupdict().get("month")
            return export_format, f"{match['year']}-{month}" if month else match["year"]
    return None
