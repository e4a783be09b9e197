"""Shared fixtures: a sample municipality run through the real pipeline into a temporary home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from ingestion.sample_data.__main__ import write_sources
from ingestion.sample_data.case_events_api import CaseEventsServer
from ingestion.sample_data.generator import SampleMunicipality, generate

REPO_ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 20)
SEED = 42
TEST_PSEUDONYM_KEY = "test-only-pseudonymisation-key-0123456789abcdef"
TEST_EVENTS_TOKEN = "test-only-case-events-token"


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
            cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, timeout=1800,
        )


@contextmanager
def sample_warehouse(home: Path) -> Iterator[Warehouse]:
    """The sample municipality's sources in `home`, with its case-events API served (nothing loaded yet)."""
    sample = generate("small", SEED, AS_OF)
    write_sources(sample, home / "sources")
    events_api = CaseEventsServer(home / "sources" / "case_events.sqlite", token=TEST_EVENTS_TOKEN)
    events_api.serve_in_background()
    env = {
        **os.environ,
        "WAREHOUSE_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "WAREHOUSE_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
        "WAREHOUSE_CASE_EVENTS_URL": events_api.url,
        "WAREHOUSE_CASE_EVENTS_TOKEN": TEST_EVENTS_TOKEN,
        "WAREHOUSE_REFERENCE_DATE": AS_OF.isoformat(),
        "GX_ANALYTICS_ENABLED": "false",
        "DAGSTER_DISABLE_TELEMETRY": "true",
    }
    env.pop("WAREHOUSE_DEMO_MODE", None)
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    try:
        yield Warehouse(home=home, env=env, sample=sample)
    finally:
        events_api.shutdown()
        events_api.server_close()


@pytest.fixture
def new_warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    """A fresh sample warehouse home for one test (nothing loaded yet)."""
    with sample_warehouse(tmp_path) as warehouse:
        yield warehouse


def assert_refreshed(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"refresh failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"


class _WebhookHandler(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def alert_webhook() -> Iterator[tuple[str, list[dict]]]:
    """A local webhook receiver: (its URL, the alerts it received)."""
    received: list[dict] = []
    handler = type("Handler", (_WebhookHandler,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/alerts", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def published_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """The sample municipality after one successful nightly refresh."""
    with sample_warehouse(tmp_path_factory.mktemp("warehouse")) as warehouse:
        assert_refreshed(warehouse.refresh())
        yield warehouse
