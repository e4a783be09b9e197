"""dlt source for the case/grant system (OS2bos layout), read column-wise, pseudonymised in flight."""

from ingestion.case_system.source import (
    DELETED_COLUMN,
    choose_backend,
    load_summary,
    os2bos_source,
)
from ingestion.case_system.tables import NEVER_READ, OS2BOS_TABLES, ROW_KEYS, TABLE_SPECS, TableSpec

__all__ = [
    "DELETED_COLUMN", "NEVER_READ", "OS2BOS_TABLES", "ROW_KEYS", "TABLE_SPECS", "TableSpec", "choose_backend",
    "load_summary", "os2bos_source",
]
