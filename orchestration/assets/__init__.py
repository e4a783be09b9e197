"""The asset graph: raw sources (dlt) -> models (dbt) -> published serving file."""
