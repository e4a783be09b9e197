"""dlt source for the case/grant system (OS2bos layout), read column-wise, pseudonymised in flight."""

from __future__ import annotations

from collections.abc import Callable

import dlt
from dlt.extract import DltResource
from dlt.sources.sql_database import sql_table

from ingestion.pseudonymise import PseudonymKey, pseudonymise_cases, pseudonymise_recipients

OS2BOS_TABLES: tuple[str, ...] = (
    "core_municipality", "core_schooldistrict", "core_effortstep", "core_targetgroup",
    "core_approvallevel", "core_team", "core_user", "core_section", "core_activitycategory",
    "core_activitydetails", "core_sectioninfo", "core_serviceprovider", "core_case",
    "core_appropriation", "core_activity", "core_paymentschedule", "core_payment",
)

# Columns that are never selected from the source: names of children, staff e-mail and passwords.
NEVER_READ: dict[str, tuple[str, ...]] = {
    "core_case": ("name",),
    "core_user": ("first_name", "last_name", "email", "password"),
}


@dlt.source(name="os2bos")
def os2bos_source(credentials: str, key_loader: Callable[[], PseudonymKey]) -> list[DltResource]:
    """All OS2bos tables from a SQLAlchemy URL (SQLite or PostgreSQL), as Arrow tables.

    `key_loader` is called when data flows, not when the source is defined, so that the
    asset graph can be loaded without the secret. `core_case` is reflected with column names
    only: its CPR column is replaced in flight, and a typed hint would create it empty.
    """
    resources = []
    for table in OS2BOS_TABLES:
        resource = sql_table(
            credentials=credentials,
            table=table,
            backend="pyarrow",
            reflection_level="minimal" if table == "core_case" else "full_with_precision",
            defer_table_reflect=True,
            excluded_columns=list(NEVER_READ.get(table, ())),
            write_disposition="replace",
        )
        if table == "core_case":
            resource.add_map(lambda t: pseudonymise_cases(t, key_loader()))
        elif table in ("core_payment", "core_paymentschedule"):
            resource.add_map(lambda t: pseudonymise_recipients(t, key_loader()))
        resources.append(resource)
    return resources
