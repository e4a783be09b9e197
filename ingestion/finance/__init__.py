"""Finance system exports (ledger postings and budgets) from a drop folder into the raw layer."""

from ingestion.finance.source import ROW_KEYS, archive_loaded_files, finance_source

__all__ = ["ROW_KEYS", "archive_loaded_files", "finance_source"]
