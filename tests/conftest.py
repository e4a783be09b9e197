"""Shared fixtures: a sample municipality run through the real pipeline into a temporary home."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from ingestion.sample_data.generator import SampleMunicipality, generate
from ingestion.sample_data.writers import write_ledger_exports, write_os2bos_sqlite

REPO_ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 20)
SEED = 42
TEST_PSEUDONYM_KEY = "test-only-pseudonymisation-key-0123456789abcdef"


@dataclass(frozen=True)
class Warehouse:
    home: Path
    env: dict[str, str]
    sample: SampleMunicipality

    @property
    def serving_path(self) -> Path:
        return self.home / "warehouse" / "serving.duckdb"

    @property
    def sources(self) -> Path:
        return self.home / "sources"

    def refresh(self) -> subprocess.CompletedProcess[str]:
        """Run the nightly job once, as `python -m orchestration refresh` does for users."""
        return subprocess.run(
            [sys.executable, "-m", "orchestration", "refresh"],
            cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, timeout=900,
        )


def make_warehouse(home: Path) -> Warehouse:
    """Generate the sample municipality's sources into `home` (nothing is loaded yet)."""
    sample = generate("small", SEED, AS_OF)
    write_os2bos_sqlite(sample, home / "sources" / "os2bos.sqlite")
    write_ledger_exports(sample.ledger, home / "sources" / "finance_drop")
    env = {
        **os.environ,
        "WAREHOUSE_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "WAREHOUSE_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
        "GX_ANALYTICS_ENABLED": "false",
        "DAGSTER_DISABLE_TELEMETRY": "true",
    }
    env.pop("WAREHOUSE_DEMO_MODE", None)
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return Warehouse(home=home, env=env, sample=sample)


def assert_refreshed(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"refresh failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"


@pytest.fixture(scope="session")
def published_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The sample municipality after one successful nightly refresh."""
    warehouse = make_warehouse(tmp_path_factory.mktemp("warehouse"))
    assert_refreshed(warehouse.refresh())
    return warehouse
