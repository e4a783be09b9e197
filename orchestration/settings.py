"""All configuration in one place, read from the environment (see docs/configuration.md)."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from ingestion.pseudonymise import PseudonymKey

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """The platform cannot run with the configuration it was given."""


def _date(value: str | None) -> dt.date | None:
    if not value or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as error:
        raise ConfigurationError(f"WAREHOUSE_REFERENCE_DATE is not an ISO date (YYYY-MM-DD): {value!r}") from error


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
    case_events_url: str
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
    keep_versions: int
    writer_lock_timeout_seconds: float
    drop_stable_seconds: float
    # "as of" day of the marts (dbt's reference_date); None: today in `timezone`
    reference_date: dt.date | None = None
    # Dagster instance storage (run history, schedules, sensors): None = SQLite files in DAGSTER_HOME;
    # a postgresql:// URL = the production profile (docs/operations.md)
    dagster_storage_url: str | None = None
    dagster_home: Path | None = None
    # freshness policy of every asset: materialised by nightly start + this many hours
    freshness_grace_hours: int = 4

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
            case_events_url=env.get("WAREHOUSE_CASE_EVENTS_URL", "http://127.0.0.1:8765"),
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
            keep_versions=int(env.get("WAREHOUSE_KEEP_VERSIONS", "7")),
            writer_lock_timeout_seconds=float(env.get("WAREHOUSE_WRITER_LOCK_TIMEOUT", "3600")),
            drop_stable_seconds=float(env.get("WAREHOUSE_DROP_STABLE_SECONDS", "30")),
            reference_date=_date(env.get("WAREHOUSE_REFERENCE_DATE")),
            dagster_storage_url=env.get("WAREHOUSE_DAGSTER_STORAGE_URL") or None,
            dagster_home=Path(env.get("DAGSTER_HOME", home / "dagster")).resolve(),
            freshness_grace_hours=int(env.get("WAREHOUSE_FRESHNESS_GRACE_HOURS", "4")),
        )

    def run_date(self) -> dt.date:
        """The day the quality checks judge dates against: the reference date, else today (local)."""
        return self.reference_date or dt.datetime.now(ZoneInfo(self.timezone)).date()

    @property
    def quality_dir(self) -> Path:
        """The GX context (gx/), Data Docs (data_docs/) and volume history."""
        return self.home / "quality"

    @property
    def writer_lock_path(self) -> Path:
        return self.serving_path.parent / ".writer.lock"

    def dbt_env(self) -> dict[str, str]:
        """The environment dbt and MetricFlow need to find the same files and reference date as the pipeline.

        The reference date is the run's (today in `timezone` unless configured): dbt's `current_date`
        is DuckDB's, in the machine's time zone, and between midnight in `timezone` and midnight
        there the marts and the quality checks would disagree on the day.
        """
        return {
            "WAREHOUSE_REFERENCE_DATE": self.run_date().isoformat(),
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

    def _secret(self, name: str, demo_file: str) -> str | None:
        """A secret from the variable NAME, or the file named by NAME_FILE; in demo mode from (or
        generated once into) the runtime folder's secrets/, never from the repository."""
        value = os.environ.get(name)
        key_file = os.environ.get(f"{name}_FILE")
        if value is None and key_file:
            value = Path(key_file).read_text(encoding="utf-8").strip()
        if value is None and self.demo_mode:
            path = self.home / "secrets" / demo_file
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch(mode=0o600)
                path.write_text(secrets.token_hex(32), encoding="utf-8")
            value = path.read_text(encoding="utf-8").strip()
        return value or None

    def case_events_token(self) -> str:
        """Bearer token for the child-case system's event API (WAREHOUSE_CASE_EVENTS_TOKEN[_FILE])."""
        token = self._secret("WAREHOUSE_CASE_EVENTS_TOKEN", "case_events_token")
        if not token:
            raise ConfigurationError(
                "no token for the case events API: set WAREHOUSE_CASE_EVENTS_TOKEN or WAREHOUSE_CASE_EVENTS_TOKEN_FILE"
            )
        return token

    def pseudonym_key(self) -> PseudonymKey:
        """The HMAC key: WAREHOUSE_PSEUDONYM_KEY, or the file WAREHOUSE_PSEUDONYM_KEY_FILE.

        In demo mode (sample data only) a random key is generated once into the runtime
        folder; otherwise a missing key stops the run before any personal data is read.
        """
        value = self._secret("WAREHOUSE_PSEUDONYM_KEY", "pseudonym_key")
        if not value:
            raise ConfigurationError(
                "no pseudonymisation key: set WAREHOUSE_PSEUDONYM_KEY or WAREHOUSE_PSEUDONYM_KEY_FILE "
                "(or WAREHOUSE_DEMO_MODE=1 for sample data only)"
            )
        try:
            return PseudonymKey(value.encode("utf-8"), self.pseudonym_key_version)
        except ValueError as error:
            raise ConfigurationError(str(error)) from error
