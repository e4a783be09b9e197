"""Shared run-time objects built once from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from contextlib import contextmanager

from dagster import InitResourceContext, resource
from dagster_dlt import DagsterDltResource

from ingestion.pseudonymise import PseudonymKey
from orchestration.settings import Settings
from orchestration.writer_lock import writer_lock


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def pseudonym_key() -> PseudonymKey:
    """Loaded on first use by a run, so that the graph loads without the secret."""
    return settings().pseudonym_key()


@contextmanager
def _holding_writer_lock(context: InitResourceContext) -> Iterator[None]:
    s = settings()
    run = context.dagster_run.run_id if context.dagster_run else "a run"
    with writer_lock(s.writer_lock_path, s.writer_lock_timeout_seconds, holder=f"Dagster run {run}"):
        yield


@resource(description="Holds the warehouse's single-writer lock while dbt builds and the serving file is published.")
def warehouse_writer(context: InitResourceContext) -> Iterator[None]:
    with _holding_writer_lock(context):
        yield None


class WarehouseDltResource(DagsterDltResource):
    """dlt, holding the warehouse's single-writer lock for the run (dlt assets take no other resource)."""

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator["WarehouseDltResource"]:
        with _holding_writer_lock(context):
            yield self
