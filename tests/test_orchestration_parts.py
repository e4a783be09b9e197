"""The writer lock, the Dagster instance opened by several processes at once, failure alerts (real SMTP
and HTTP servers) and the drop-folder sensor logic."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from orchestration.alerts import FailureAlert, send_failure_alert
from orchestration.sensors import stable_new_files
from orchestration.settings import Settings
from orchestration.writer_lock import WarehouseBusyError, writer_lock
from tests.conftest import REPO_ROOT

ALERT = FailureAlert(job="nightly_refresh", run_id="run-1", step="gx_raw_os2bos_core_payment",
                     reason="expect_column_values_to_be_between on amount: 1 unexpected rows")


def test_a_second_writer_waits_then_gives_up_with_the_holder_named(tmp_path: Path) -> None:
    lock = tmp_path / ".writer.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from orchestration.writer_lock import writer_lock\n"
         f"with writer_lock(Path({str(lock)!r}), 5, 'run A'):\n    print('held', flush=True); time.sleep(4)"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    with pytest.raises(WarehouseBusyError, match="run A"):
        with writer_lock(lock, 1, "run B"):
            pass
    assert time.monotonic() - started >= 1
    with writer_lock(lock, 10, "run B"):  # waits for A to finish, then holds it
        assert "run B" in lock.read_text()
    holder.wait(timeout=10)


def test_the_lock_is_reentrant_within_a_run(tmp_path: Path) -> None:
    lock = tmp_path / ".writer.lock"
    with writer_lock(lock, 1, "run"), writer_lock(lock, 1, "run"):
        pass


class _Recorder:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(envelope)
        return "250 OK"



def test_processes_opening_a_new_instance_together_all_succeed(tmp_path: Path) -> None:
    """Two refreshes started together on a fresh home both create Dagster's SQLite tables; without
    the lock in orchestration/instance.py two or more of four such processes fail with "table runs
    already exists" (seen on every try while writing this test)."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(WAREHOUSE_HOME=str(tmp_path), WAREHOUSE_DEMO_MODE="1")
    opening = ("from orchestration.instance import get_instance; from orchestration.settings import Settings\n"
               "print(len(get_instance(Settings.from_env()).get_runs()))")
    processes = [subprocess.Popen([sys.executable, "-c", opening], cwd=REPO_ROOT, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(4)]
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, "\n".join(o[-800:] for o in outputs)
    assert [output.strip().splitlines()[-1] for output in outputs] == ["0"] * 4

def test_failure_alert_reaches_smtp_and_webhook(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _Recorder()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    smtp = Controller(recorder, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    webhook = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("WAREHOUSE_ALERT_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("WAREHOUSE_ALERT_SMTP_PORT", str(smtp_port))
        monkeypatch.setenv("WAREHOUSE_ALERT_EMAIL_TO", "data-team@kommune.example")
        monkeypatch.setenv("WAREHOUSE_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{webhook.server_port}/hook")
        assert send_failure_alert(ALERT) == ["email", "webhook"]
    finally:
        smtp.stop()
        webhook.shutdown()
    mail = recorder.messages[0].content.decode()
    assert "gx_raw_os2bos_core_payment" in mail and "1 unexpected rows" in mail
    assert received[0]["step"] == ALERT.step and received[0]["reason"] == ALERT.reason


def test_a_broken_alert_channel_does_not_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/nothing-listens-here")
    monkeypatch.delenv("WAREHOUSE_ALERT_SMTP_HOST", raising=False)
    assert send_failure_alert(ALERT) == []


def test_sensor_waits_until_a_new_file_is_complete(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "processed").mkdir()
    file = drop / "ledger_postings_2026.csv"
    file.write_text("Posteringsnr;...\n")
    now = time.time()
    ready, cursor = stable_new_files(drop, None, stable_seconds=30, now=now)
    assert ready == []  # first sighting: may still be growing
    file.write_text("Posteringsnr;...\n1;...\n")  # it grew
    ready, cursor = stable_new_files(drop, cursor, stable_seconds=30, now=now + 60)
    assert ready == []
    old = now - 120
    os.utime(file, (old, old))
    ready, cursor = stable_new_files(drop, cursor, stable_seconds=30, now=now + 120)
    assert ready == []  # mtime changed since the last look
    ready, cursor = stable_new_files(drop, cursor, stable_seconds=30, now=now + 180)
    assert ready == ["ledger_postings_2026.csv"]
    ready, cursor = stable_new_files(drop, cursor, stable_seconds=30, now=now + 240)
    assert ready == []  # requested once only


@pytest.mark.parametrize("timezone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])  # UTC+14 and UTC-11
def test_dbt_judges_the_same_day_as_the_quality_checks_without_a_configured_date(
    monkeypatch: pytest.MonkeyPatch, timezone: str,
) -> None:
    """dbt's own `current_date` is the machine's (UTC): in the hours where the municipality's day is
    another, the marts and the GX date checks disagreed and nothing was published. dbt must get the
    run's day, today in the configured time zone; at any hour one of these zones is on another day
    than UTC."""
    monkeypatch.delenv("WAREHOUSE_REFERENCE_DATE", raising=False)
    monkeypatch.setenv("WAREHOUSE_TIMEZONE", timezone)
    settings = Settings.from_env()
    assert settings.reference_date is None
    today_there = dt.datetime.now(ZoneInfo(timezone)).date()
    assert settings.run_date() == today_there
    assert settings.dbt_env()["WAREHOUSE_REFERENCE_DATE"] == today_there.isoformat()
