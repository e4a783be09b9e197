"""A load killed after DuckDB committed a job but before dlt recorded it runs that job again on resume.

The replay is reproduced by letting every DuckDB load job of a pending package insert its file
twice, which is what the database holds after the commit, the kill and the resumed run. Merged by
a period alone, the ledger and budget tables keep both copies unless the resumed run removes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dlt
import duckdb
import pytest
from dlt.destinations.impl.duckdb.duck import DuckDbCopyJob

from ingestion.finance import ROW_KEYS, finance_source
from ingestion.pipelines import raw_pipeline
from ingestion.resumed_loads import removing_rows_loaded_twice
from tests.test_finance_loading import ACCOUNT, BUDGET_HEADER, ledger_lines, write_export

COUNTS = "select (select count(*) from finance.ledger_postings), (select count(*) from finance.budgets)"


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    write_export(folder / "ledger_postings_2024.csv",
                 ledger_lines((1, "05-01-2024", "100,00"), (2, "06-02-2024", "250,50"), (3, "07-03-2024", "-20,00")))
    write_export(folder / "budget_2024.csv",
                 [BUDGET_HEADER, *(f"{ACCOUNT};015190;2024;{month};1000,00" for month in range(1, 13))])
    return folder


@pytest.fixture
def pipeline(tmp_path: Path, drop: Path) -> dlt.Pipeline:
    """A finance pipeline holding one extracted and normalised package, as a killed load leaves it."""
    finance = raw_pipeline("finance", "finance", tmp_path / "raw.duckdb", tmp_path / "dlt")
    finance.extract(finance_source(drop))
    finance.normalize()
    assert finance.list_normalized_load_packages()
    return finance


@pytest.fixture
def jobs_replayed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every DuckDB load job inserts its file twice: committed once before the kill, once on resume."""
    run_once = DuckDbCopyJob.run

    def run_twice(job: DuckDbCopyJob) -> None:
        run_once(job)
        run_once(job)

    monkeypatch.setattr(DuckDbCopyJob, "run", run_twice)
    yield
    monkeypatch.setattr(DuckDbCopyJob, "run", run_once)


def counts(tmp_path: Path) -> tuple[int, int]:
    with duckdb.connect(str(tmp_path / "raw.duckdb"), read_only=True) as connection:
        return connection.execute(COUNTS).fetchone()


def test_a_replayed_job_doubles_the_period_merged_tables_without_the_clean_up(
        pipeline: dlt.Pipeline, jobs_replayed: None, tmp_path: Path) -> None:
    """The situation the clean-up exists for: dlt keeps both copies."""
    pipeline.load().raise_on_failed_jobs()
    assert counts(tmp_path) == (6, 24)


def test_the_resumed_load_keeps_one_copy_of_each_row(
        pipeline: dlt.Pipeline, jobs_replayed: None, tmp_path: Path) -> None:
    with removing_rows_loaded_twice(pipeline, ROW_KEYS):
        pipeline.load().raise_on_failed_jobs()
    assert counts(tmp_path) == (3, 12)
    assert not list((tmp_path / "dlt").glob("*.resumed-load")), "the mark outlived the clean-up"


def test_a_run_killed_before_the_clean_up_leaves_it_to_the_next_run(
        pipeline: dlt.Pipeline, jobs_replayed: None, drop: Path, tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), removing_rows_loaded_twice(pipeline, ROW_KEYS):
        pipeline.load().raise_on_failed_jobs()
        raise KeyboardInterrupt  # stands for the kill between the load and the clean-up
    assert counts(tmp_path) == (6, 24)

    assert not pipeline.list_normalized_load_packages()  # the next run resumes nothing
    with removing_rows_loaded_twice(pipeline, ROW_KEYS):
        pipeline.run(finance_source(drop)).raise_on_failed_jobs()
    assert counts(tmp_path) == (3, 12)
