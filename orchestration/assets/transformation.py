"""dbt models as Dagster assets; dbt tests become asset checks. dbt sources map to the raw assets."""

import fcntl
import logging
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

log = logging.getLogger(__name__)
PROJECT_SOURCES = ("models", "tests", "macros", "seeds", "snapshots", "analyses")


def _newest_project_file(project_dir: Path) -> float:
    """The newest modification time among the files dbt parses."""
    files = [project_dir / "dbt_project.yml", *(
        path for folder in PROJECT_SOURCES if (project_dir / folder).exists()
        for path in (project_dir / folder).rglob("*") if path.is_file()
    )]
    return max(path.stat().st_mtime for path in files if path.exists())


def ensure_manifest(project: DbtProject) -> Path:
    """Write dbt's manifest when it is missing or older than the project's files (a fresh checkout,
    or a deployment that changed models): a stale manifest makes the graph miss new models and the
    dbt step fail on tests it does not know. One process parses at a time (a lock beside it)."""
    manifest = Path(project.manifest_path)
    if manifest.exists() and manifest.stat().st_mtime >= _newest_project_file(Path(project.project_dir)):
        return manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".parse.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.exists() and manifest.stat().st_mtime >= _newest_project_file(Path(project.project_dir)):
            return manifest  # another process parsed meanwhile
        result = subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", "."], cwd=project.project_dir,
            env={**os.environ, "DBT_TARGET_PATH": str(manifest.parent)}, capture_output=True, text=True,
        )
        if result.returncode != 0:
            if not manifest.exists():
                raise RuntimeError(f"dbt parse failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
            log.warning("dbt parse failed; the asset graph uses the previous manifest:\n%s", result.stdout[-3000:])
    return manifest


dbt_project = DbtProject(project_dir=settings().dbt_project_dir, profiles_dir=settings().dbt_project_dir)
ensure_manifest(dbt_project)


@dbt_assets(
    manifest=dbt_project.manifest_path, name="warehouse_models", required_resource_keys={"dbt", "warehouse_writer"},
)
def warehouse_models(context: AssetExecutionContext) -> Iterator:
    """Staging, intermediate and mart models built into the build file, tested as they go."""
    dbt: DbtCliResource = context.resources.dbt
    os.environ.update(settings().dbt_env())  # dbt's profile reads the run's file locations from here
    yield from dbt.cli(["build"], context=context).stream()
