"""All configuration in one place, read from the environment (see docs/configuration.md)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ingestion.pseudonymise import PseudonymKey

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """The platform cannot run with the configuration it was given."""


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    home: Path
    os2bos_url: str
    finance_drop: Path
    raw_path: Path
    build_path: Path
    serving_path: Path
    dlt_dir: Path
    dbt_project_dir: Path
    duckdb_memory_limit: str
    duckdb_threads: int
    duckdb_temp_dir: Path
    timezone: str
    nightly_cron: str
    demo_mode: bool
    pseudonym_key_version: str

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        home = Path(env.get("WAREHOUSE_HOME", REPO_ROOT / "var")).resolve()
        sources = home / "sources"
        warehouse = home / "warehouse"
        return cls(
            home=home,
            os2bos_url=env.get("WAREHOUSE_OS2BOS_URL", f"sqlite:///{sources / 'os2bos.sqlite'}"),
            finance_drop=Path(env.get("WAREHOUSE_FINANCE_DROP", sources / "finance_drop")),
            raw_path=Path(env.get("WAREHOUSE_RAW_PATH", warehouse / "raw.duckdb")),
            build_path=Path(env.get("WAREHOUSE_BUILD_PATH", warehouse / "build.duckdb")),
            serving_path=Path(env.get("WAREHOUSE_SERVING_PATH", warehouse / "serving.duckdb")),
            dlt_dir=home / "dlt",
            dbt_project_dir=REPO_ROOT / "dbt_project",
            duckdb_memory_limit=env.get("WAREHOUSE_DUCKDB_MEMORY_LIMIT", "4GB"),
            duckdb_threads=int(env.get("WAREHOUSE_DUCKDB_THREADS", "2")),
            duckdb_temp_dir=Path(env.get("WAREHOUSE_DUCKDB_TEMP_DIR", home / "tmp" / "duckdb")),
            timezone=env.get("WAREHOUSE_TIMEZONE", "Europe/Copenhagen"),
            nightly_cron=env.get("WAREHOUSE_NIGHTLY_CRON", "0 2 * * *"),
            demo_mode=_flag("WAREHOUSE_DEMO_MODE"),
            pseudonym_key_version=env.get("WAREHOUSE_PSEUDONYM_KEY_VERSION", "v1"),
        )

    def dbt_env(self) -> dict[str, str]:
        """The environment dbt and MetricFlow need to find the same files as the pipeline."""
        return {
            "WAREHOUSE_RAW_PATH": str(self.raw_path),
            "WAREHOUSE_BUILD_PATH": str(self.build_path),
            "WAREHOUSE_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            "WAREHOUSE_DUCKDB_THREADS": str(self.duckdb_threads),
            "WAREHOUSE_DUCKDB_TEMP_DIR": str(self.duckdb_temp_dir),
            "DBT_PROFILES_DIR": str(self.dbt_project_dir),
        }

    def duckdb_config(self) -> dict[str, str | int]:
        """Explicit resource limits for every DuckDB client the pipeline opens."""
        self.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)
        return {
            "memory_limit": self.duckdb_memory_limit,
            "threads": self.duckdb_threads,
            "temp_directory": str(self.duckdb_temp_dir),
        }

    def pseudonym_key(self) -> PseudonymKey:
        """The HMAC key: WAREHOUSE_PSEUDONYM_KEY, or the file WAREHOUSE_PSEUDONYM_KEY_FILE.

        In demo mode (sample data only) a random key is generated once into the runtime
        folder; otherwise a missing key stops the run before any personal data is read.
        """
        value = os.environ.get("WAREHOUSE_PSEUDONYM_KEY")
        key_file = os.environ.get("WAREHOUSE_PSEUDONYM_KEY_FILE")
        if value is None and key_file:
            value = Path(key_file).read_text(encoding="utf-8").strip()
        if value is None and self.demo_mode:
            demo_file = self.home / "secrets" / "pseudonym_key"
            if not demo_file.exists():
                demo_file.parent.mkdir(parents=True, exist_ok=True)
                demo_file.touch(mode=0o600)
                demo_file.write_text(secrets.token_hex(32), encoding="utf-8")
            value = demo_file.read_text(encoding="utf-8").strip()
        if not value:
            raise ConfigurationError(
                "no pseudonymisation key: set WAREHOUSE_PSEUDONYM_KEY or WAREHOUSE_PSEUDONYM_KEY_FILE "
                "(or WAREHOUSE_DEMO_MODE=1 for sample data only)"
            )
        try:
            return PseudonymKey(value.encode("utf-8"), self.pseudonym_key_version)
        except ValueError as error:
            raise ConfigurationError(str(error)) from error
