"""dbt models as Dagster assets; dbt tests become asset checks. dbt sources map to the raw assets."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from orchestration.resources import settings

# dbt reads its file locations from the same settings as the rest of the pipeline.
for _name, _value in settings().dbt_env().items():
    os.environ.setdefault(_name, _value)

# The dbt of this environment, also when the venv is not on PATH (Dagster daemon, cron).
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))

dbt_project = DbtProject(project_dir=settings().dbt_project_dir, profiles_dir=settings().dbt_project_dir)
if not dbt_project.manifest_path.exists():  # a fresh checkout: write the manifest once
    subprocess.run([DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", "."], cwd=dbt_project.project_dir, check=True)


@dbt_assets(manifest=dbt_project.manifest_path, name="warehouse_models")
def warehouse_models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
    """Staging, intermediate and mart models built into the build file, tested as they go."""
    yield from dbt.cli(["build"], context=context).stream()
