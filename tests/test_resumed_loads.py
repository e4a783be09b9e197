"""A load killed after DuckDB committed a job but before dlt recorded it runs that job again on resume.

The replay is reproduced by letting every DuckDB load job of a pending package insert its file
twice, which is what the database holds after the commit, the kill and the resumed run. Merged by
a period alone, the ledger and budget tables keep both copies unless the resumed run removes them.
The run after a crash also finishes the interrupted load before it extracts anything, else dlt
would load only that and leave the new files for the night after.
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
from ingestion import resumed_loads
from ingestion.resumed_loads import finish_interrupted_load
from tests.test_finance_loading import ACCOUNT, BUDGET_HEADER, ledger_lines, write_export

COUNTS = "select (select count(*) from finance.ledger_postings), (select count(*) from finance.budgets)"


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    return tmp_path / "drop"


@pytest.fixture
def pipeline(tmp_path: Path, drop: Path) -> dlt.Pipeline:
    """A finance pipeline with one load done (a posting of 2023) and one left pending, as a killed
    load leaves it: three postings of 2024 and the budget of 2024, extracted and normalised."""
    finance = raw_pipeline("finance", "finance", tmp_path / "raw.duckdb", tmp_path / "dlt")
    write_export(drop / "ledger_postings_2023.csv", ledger_lines((1, "05-01-2023", "10,00")))
    finance.run(finance_source(drop)).raise_on_failed_jobs()
    write_export(drop / "ledger_postings_2024.csv",
                 ledger_lines((2, "05-01-2024", "100,00"), (3, "06-02-2024", "250,50"), (4, "07-03-2024", "-20,00")))
    write_export(drop / "budget_2024.csv",
                 [BUDGET_HEADER, *(f"{ACCOUNT};015190;2024;{month};1000,00" for month in range(1, 13))])
    finance.extract(finance_source(drop))
    finance.normalize()
    assert finance.has_pending_data
    return finance


@pytest.fixture
def jobs_replayed(pipeline: dlt.Pipeline, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """From the pending load on (`pipeline` has loaded its first file normally), every DuckDB load
    job inserts its file twice: committed once before the kill, once on resume."""
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
    assert counts(tmp_path) == (1 + 6, 24)


def test_finishing_the_interrupted_load_keeps_one_copy_of_each_row(
        pipeline: dlt.Pipeline, jobs_replayed: None, tmp_path: Path) -> None:
    finish_interrupted_load(pipeline, ROW_KEYS)
    assert not pipeline.has_pending_data
    assert counts(tmp_path) == (1 + 3, 12)
    assert not list((tmp_path / "dlt").glob("*.resumed-load")), "the mark outlived the clean-up"


def test_a_run_killed_before_the_clean_up_leaves_it_to_the_next_run(
        pipeline: dlt.Pipeline, jobs_replayed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def killed(*_: object) -> dict[str, int]:
        raise KeyboardInterrupt  # stands for the kill between the load and the clean-up

    with monkeypatch.context() as patched:
        patched.setattr(resumed_loads, "remove_rows_loaded_twice", killed)
        with pytest.raises(KeyboardInterrupt):
            finish_interrupted_load(pipeline, ROW_KEYS)
    assert counts(tmp_path) == (1 + 6, 24)

    assert not pipeline.has_pending_data  # the next run finds nothing to load, only the mark
    finish_interrupted_load(pipeline, ROW_KEYS)
    assert counts(tmp_path) == (1 + 3, 12)


def test_dlt_alone_loads_only_the_interrupted_load_and_leaves_new_files_for_another_run(
        pipeline: dlt.Pipeline, drop: Path, tmp_path: Path) -> None:
    """Why the interrupted load is finished first: dlt's `run` loads it and returns."""
    write_export(drop / "ledger_postings_2025.csv", ledger_lines((5, "05-01-2025", "75,00")))
    pipeline.run(finance_source(drop)).raise_on_failed_jobs()
    assert counts(tmp_path) == (1 + 3, 12)


def test_the_run_after_an_interrupted_load_also_loads_the_new_files(
        pipeline: dlt.Pipeline, drop: Path, tmp_path: Path) -> None:
    write_export(drop / "ledger_postings_2025.csv", ledger_lines((5, "05-01-2025", "75,00")))
    finish_interrupted_load(pipeline, ROW_KEYS)
    pipeline.run(finance_source(drop)).raise_on_failed_jobs()
    assert counts(tmp_path) == (1 + 3 + 1, 12)
