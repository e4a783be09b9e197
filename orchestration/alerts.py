"""Tell the data engineer when a refresh fails: e-mail over SMTP and a JSON webhook.

Configured in the environment (see docs/configuration.md); a channel without configuration
is skipped. Sending never raises: a broken alert channel must not hide the original failure.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.request
from dataclasses import asdict, dataclass
from email.message import EmailMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FailureAlert:
    job: str
    run_id: str
    step: str
    reason: str

    @property
    def subject(self) -> str:
        return f"[warehouse] {self.job} failed at {self.step}"

    @property
    def text(self) -> str:
        return (
            f"The warehouse refresh {self.job} (run {self.run_id}) failed at step {self.step}.\n\n"
            f"Reason:\n{self.reason}\n\n"
            "The serving warehouse was not changed: readers keep the last validated version."
        )


def _send_email(alert: FailureAlert) -> bool:
    host, recipients = os.environ.get("WAREHOUSE_ALERT_SMTP_HOST"), os.environ.get("WAREHOUSE_ALERT_EMAIL_TO")
    if not host or not recipients:
        return False
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = os.environ.get("WAREHOUSE_ALERT_EMAIL_FROM", "warehouse@localhost")
    message["To"] = recipients
    message.set_content(alert.text)
    port = int(os.environ.get("WAREHOUSE_ALERT_SMTP_PORT", "25"))
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        if os.environ.get("WAREHOUSE_ALERT_SMTP_STARTTLS", "").lower() in {"1", "true", "yes"}:
            smtp.starttls()
        user = os.environ.get("WAREHOUSE_ALERT_SMTP_USER")
        if user:
            smtp.login(user, os.environ.get("WAREHOUSE_ALERT_SMTP_PASSWORD", ""))
        smtp.send_message(message)
    return True


def _send_webhook(alert: FailureAlert) -> bool:
    url = os.environ.get("WAREHOUSE_ALERT_WEBHOOK_URL")
    if not url:
        return False
    body = json.dumps({"text": f"{alert.subject}: {alert.reason[:500]}", **asdict(alert)}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (configured URL)
        response.read()
    return True


def send_failure_alert(alert: FailureAlert) -> list[str]:
    """Send on every configured channel; returns the channels that accepted it."""
    sent = []
    for channel, send in (("email", _send_email), ("webhook", _send_webhook)):
        try:
            if send(alert):
                sent.append(channel)
        except Exception:  # noqa: BLE001 - an alert channel must never mask the failure itself
            log.exception("could not send the %s alert for run %s", channel, alert.run_id)
    return sent
