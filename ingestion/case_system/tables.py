"""Which OS2bos tables are loaded, and how each one is kept in step with the source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ingestion.sample_data.schema import PRIMARY_KEYS

Strategy = Literal["replace", "modified", "payment", "history"]
Personal = Literal["cases", "recipients"]


@dataclass(frozen=True)
class TableSpec:
    name: str
    strategy: Strategy
    primary_key: str = "id"
    # "cases": cpr_number -> person_id/birth_date/sex/key version; "recipients": PERSON recipients
    personal: Personal | None = None
    # columns never selected from the source
    never_read: tuple[str, ...] = ()
    # free-text columns scrubbed of CPR/personnummer-shaped numbers before landing
    free_text: tuple[str, ...] = ()

    @property
    def incremental(self) -> bool:
        return self.strategy != "replace"


_CLASSIFICATIONS = (
    "core_municipality", "core_schooldistrict", "core_effortstep", "core_targetgroup",
    "core_internalpaymentrecipient", "core_effort", "core_paymentmethoddetails", "core_approvallevel",
    "core_team", "core_section", "core_activitycategory", "core_activitydetails", "core_sectioninfo",
    "core_accountaliasmapping", "core_serviceprovider", "core_paymentdateexclusion",
    "core_variablerate", "core_rate", "core_price", "core_rateperdate", "core_case_efforts",
)

TABLE_SPECS: dict[str, TableSpec] = {
    **{t: TableSpec(t, "replace", PRIMARY_KEYS[t]) for t in _CLASSIFICATIONS},
    # staff: user names stay (case worker identity is needed), personal details never read
    "core_user": TableSpec("core_user", "replace", never_read=("first_name", "last_name", "email", "password")),
    # no timestamp and no history table, one row per activity: reloaded whole
    "core_paymentschedule": TableSpec("core_paymentschedule", "replace", personal="recipients"),
    "core_case": TableSpec(
        "core_case", "modified", personal="cases", never_read=("name",),
        free_text=("note", "assessment_comment"),
    ),
    "core_relatedperson": TableSpec("core_relatedperson", "modified", personal="cases", never_read=("name",)),
    "core_appropriation": TableSpec("core_appropriation", "modified", free_text=("note",)),
    "core_activity": TableSpec("core_activity", "modified", free_text=("note", "approval_note")),
    "core_payment": TableSpec("core_payment", "payment", personal="recipients", free_text=("note",)),
    "core_historicalcase": TableSpec(
        "core_historicalcase", "history", "history_id",
        free_text=("assessment_comment", "history_change_reason"),
    ),
    "core_historicalpayment": TableSpec(
        "core_historicalpayment", "history", "history_id", free_text=("history_change_reason",)
    ),
    "core_historicalrateperdate": TableSpec(
        "core_historicalrateperdate", "history", "history_id", free_text=("history_change_reason",)
    ),
}

OS2BOS_TABLES: tuple[str, ...] = tuple(TABLE_SPECS)

# The replaced tables and the column that identifies their rows: dlt does not deduplicate them when
# a resumed load runs a job again (see ingestion/resumed_loads.py); merged tables it deduplicates.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    t: (s.primary_key,) for t, s in TABLE_SPECS.items() if s.strategy == "replace"
}

# Columns that are never selected from the source: names of children and related persons,
# staff e-mail and passwords.
NEVER_READ: dict[str, tuple[str, ...]] = {t: s.never_read for t, s in TABLE_SPECS.items() if s.never_read}
