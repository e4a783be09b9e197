"""dbt models as Dagster assets; dbt tests become asset checks. dbt sources map to the raw assets."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from orchestration.resources import settings

# The dbt of this environment, also when the venv is not on PATH (Dagster daemon, cron).
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))

dbt_project = DbtProject(project_dir=settings().dbt_project_dir, profiles_dir=settings().dbt_project_dir)
if not dbt_project.manifest_path.exists():  # a fresh checkout: write the manifest once
    subprocess.run([DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", "."], cwd=dbt_project.project_dir, check=True)


@dbt_assets(
    manifest=dbt_project.manifest_path, name="warehouse_models", required_resource_keys={"dbt", "warehouse_writer"},
)
def warehouse_models(context: AssetExecutionContext) -> Iterator:
    """Staging, intermediate and mart models built into the build file, tested as they go."""
    dbt: DbtCliResource = context.resources.dbt
    os.environ.update(settings().dbt_env())  # dbt's profile reads the run's file locations from here
    yield from dbt.cli(["build"], context=context).stream()
