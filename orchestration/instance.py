"""The Dagster instance (run history, schedule and sensor state): SQLite by default, PostgreSQL in production.

`DAGSTER_HOME/dagster.yaml` is rendered from the settings, so the storage is configured in one
place (WAREHOUSE_DAGSTER_STORAGE_URL) for the CLI, the webserver and the daemon alike:

- unset (default): SQLite files in DAGSTER_HOME (`history/`, `schedules/`, `storage/`);
- `postgresql://user[:password]@host:port/database`: the production profile, all of run, event
  log and schedule storage in that PostgreSQL database (dagster-postgres creates its tables).

A dagster.yaml written by hand (without the marker line) is left alone while no URL is set.
Render it before starting the webserver or daemon: `python -m orchestration instance`.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import yaml
from dagster import DagsterInstance

from orchestration.settings import ConfigurationError, Settings

MARKER = "# rendered by orchestration/instance.py from the warehouse settings; edits are overwritten"


def instance_config(s: Settings) -> dict:
    """dagster.yaml's content for these settings."""
    config: dict = {"telemetry": {"enabled": False}}
    if s.dagster_storage_url:
        config["storage"] = {"postgres": {"postgres_url": sqlalchemy_url(s.dagster_storage_url)}}
    else:
        config["storage"] = {"sqlite": {"base_dir": str(dagster_home(s))}}
    return config


def sqlalchemy_url(url: str) -> str:
    """The URL with the driver Dagster's storage needs: SQLAlchemy 2.1 maps a bare postgresql:// to
    psycopg 3, while dagster-postgres installs psycopg2; name it explicitly."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme not in ("postgresql", "postgres", "postgresql+psycopg2"):
        raise ConfigurationError(
            "WAREHOUSE_DAGSTER_STORAGE_URL must be a postgresql:// URL (unset for SQLite in DAGSTER_HOME)"
        )
    return f"postgresql+psycopg2://{rest}"


def dagster_home(s: Settings) -> Path:
    return s.dagster_home or s.home / "dagster"


def render_instance_config(s: Settings) -> Path:
    """Write DAGSTER_HOME/dagster.yaml (only when it changes); returns its path."""
    home = dagster_home(s)
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    hand_written = existing is not None and MARKER not in existing
    if hand_written and not s.dagster_storage_url and "storage" in (yaml.safe_load(existing) or {}):
        return path  # an operator's own storage configuration
    text = f"{MARKER}\n" + yaml.safe_dump(instance_config(s), sort_keys=False)
    if existing != text:
        temporary = path.with_suffix(".yaml.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    return path


def get_instance(s: Settings) -> DagsterInstance:
    """The instance in DAGSTER_HOME, its dagster.yaml rendered from the settings first.

    Opening a new SQLite instance creates its tables; two processes doing that at once (two
    refreshes started together on a fresh home) collide with "table runs already exists", so the
    opening (and the rendering of dagster.yaml before it) is serialised by a lock file in DAGSTER_HOME.
    """
    home = dagster_home(s)
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".instance.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        render_instance_config(s)
        os.environ["DAGSTER_HOME"] = str(home)
        return DagsterInstance.get()
