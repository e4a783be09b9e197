"""dbt keeps working after DuckDB has spilled to its temp directory (found at national scale).

dbt-duckdb repeats a profile's `settings` on every new cursor, and DuckDB refuses to set
temp_directory again once a query has spilled there, so the profile must give it when the
database is opened. The sample data never spills; here a small memory limit and a large sort
force a spill, and a second dbt invocation in the same process (same database, new cursor) must
still work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import REPO_ROOT

TWO_INVOCATIONS = """
import json, os
from dbt.cli.main import dbtRunner
runner = dbtRunner()
args = ["--profiles-dir", ".", "--project-dir", ".", "--quiet"]
spill = ("select count(*) as n from (select md5(i::varchar) as s from range(3000000) r(i) order by s) as sorted")
first = runner.invoke(["show", "--inline", spill, *args])
spilled = os.path.isdir(os.environ["WAREHOUSE_DUCKDB_TEMP_DIR"])  # DuckDB creates it on the first spill
second = runner.invoke(["show", "--inline", "select 1 as one", *args])
print(json.dumps({"first": [first.success, str(first.exception)], "second": [second.success, str(second.exception)],
                  "spilled": spilled}))
"""


def test_dbt_keeps_working_after_duckdb_spilled_to_disk(tmp_path: Path) -> None:
    duckdb.connect(str(tmp_path / "raw.duckdb")).close()
    temp_directory = tmp_path / "duckdb_tmp"
    env = {
        **os.environ,
        "WAREHOUSE_RAW_PATH": str(tmp_path / "raw.duckdb"),
        "WAREHOUSE_BUILD_PATH": str(tmp_path / "build.duckdb"),
        "WAREHOUSE_DUCKDB_TEMP_DIR": str(temp_directory),
        "WAREHOUSE_DUCKDB_MEMORY_LIMIT": "40MB",
        "WAREHOUSE_DUCKDB_THREADS": "1",
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    result = subprocess.run(
        [sys.executable, "-c", TWO_INVOCATIONS], cwd=REPO_ROOT / "dbt_project", env=env,
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["spilled"], "the sort did not spill: the test no longer exercises the temp directory"
    assert outcome["first"][0], outcome["first"][1]
    assert outcome["second"][0], f"dbt failed after a spill: {outcome['second'][1]}"
