"""Finance system exports (ledger postings and budgets) from a drop folder into the raw layer."""

from ingestion.finance.source import archive_loaded_files, finance_source

__all__ = ["archive_loaded_files", "finance_source"]
