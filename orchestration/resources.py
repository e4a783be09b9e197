"""Shared run-time objects built once from the settings."""

from __future__ import annotations

from functools import cache

from ingestion.pseudonymise import PseudonymKey
from orchestration.settings import Settings


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def pseudonym_key() -> PseudonymKey:
    """Loaded on first use by a run, so that the graph loads without the secret."""
    return settings().pseudonym_key()
