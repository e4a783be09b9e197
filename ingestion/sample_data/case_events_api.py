"""A local HTTP server implementing the case-events API (`docs/case_events_api.md`) over the sample's SQLite file.

It stands in for a child-case system (DUBU, Nexus; Treserva) in tests and demos, and can inject
faults: rate limiting (429 with Retry-After), 5xx bursts, slow responses, truncated JSON pages
and dropped connections. Faults are set at start (`--faults '{"rate_limited": 2}'`), in process
through `CaseEventsServer.faults`, or at run time with `POST /_admin/faults` (same bearer token).

    python -m ingestion.sample_data.case_events_api --data var/sources/case_events.sqlite \\
        --port 8765 --token-file var/secrets/case_events_token
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import json
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

EVENTS_PATH = "/api/v1/events"
FAULTS_PATH = "/_admin/faults"
DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 1000
ENVELOPE = ("id", "type", "national_id", "case_reference", "jurisdiction", "municipality_code",
            "caseworker", "team", "occurred_at", "updated_at", "deleted")
DETAILS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "notification_received": ("reporter", "urgent"),
    "notification_assessed": ("related_event_id", "outcome"),
    "investigation_started": ("related_event_id",),
    "investigation_finished": ("related_event_id", "outcome"),
    "decision_made": ("related_event_id", "outcome", "staircase_step"),
    "decision_executed": ("related_event_id",),
    "non_execution_reported": ("related_event_id",),
    "plan_created": ("related_event_id", "plan_type"),
    "follow_up_held": ("related_event_id", "follow_up_number"),
    "outcome_assessed": ("related_event_id", "staircase_step", "scaling_step", "goal_reached"),
    "case_closed": ("reason",),
}
BOOLEAN_DETAILS = ("urgent",)


@dataclass
class Faults:
    """Faults for the coming `GET /api/v1/events` requests.

    The first `pass_first` requests are served normally; after that each request takes the
    first fault with a count left (in the order of the fields) and uses it up.
    """

    pass_first: int = 0
    rate_limited: int = 0
    retry_after: int = 1
    server_errors: int = 0
    error_status: int = 503
    slow: int = 0
    delay: float = 0.0
    truncated: int = 0
    dropped: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def set(self, **values: Any) -> None:
        """Replace the whole plan (fields not given are reset to their defaults)."""
        defaults = Faults()
        with self._lock:
            for item in fields(self):
                if item.name != "_lock":
                    setattr(self, item.name, values.pop(item.name, getattr(defaults, item.name)))
        if values:
            raise ValueError(f"unknown faults: {', '.join(sorted(values))}")

    def take(self) -> str | None:
        """The fault for this request, if any."""
        with self._lock:
            if self.pass_first > 0:
                self.pass_first -= 1
                return None
            for name in ("rate_limited", "server_errors", "slow", "truncated", "dropped"):
                if getattr(self, name) > 0:
                    setattr(self, name, getattr(self, name) - 1)
                    return name
        return None

    def as_dict(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(self) if item.name != "_lock"}


class BadRequest(ValueError):
    pass


def _timestamp(value: str, name: str) -> str:
    """An RFC 3339 time as the stored wire format (UTC, microseconds, Z)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be an RFC 3339 date-time, e.g. 2024-01-31T00:00:00Z") from None
    if parsed.tzinfo is None:
        raise BadRequest(f"{name} must carry a time zone (Z or an offset)")
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _encode_cursor(updated_at: str, event_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([updated_at, event_id]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        updated_at, event_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(updated_at), str(event_id)
    except (ValueError, TypeError, binascii.Error):
        raise BadRequest("cursor is not one this server issued") from None


def _event(row: sqlite3.Row) -> dict[str, Any]:
    """One stored row as the API's JSON event (a tombstone when deleted)."""
    if row["deleted"]:
        return {"id": row["id"], "type": row["type"], "updated_at": row["updated_at"], "deleted": True}
    event = {name: row[name] for name in ENVELOPE}
    event["deleted"] = False
    event["details"] = {
        name: bool(row[name]) if name in BOOLEAN_DETAILS else row[name]
        for name in DETAILS_BY_TYPE.get(row["type"], ()) if row[name] is not None
    }
    return event


class CaseEventsServer(ThreadingHTTPServer):
    """The API over one SQLite file; `url` is its base address, `status_counts` counts responses."""

    daemon_threads = True

    def __init__(self, data: Path, token: str, port: int = 0, faults: Faults | None = None) -> None:
        if not data.exists():
            raise FileNotFoundError(f"no case events at {data}")
        super().__init__(("127.0.0.1", port), _Handler)
        self.data = data
        self.token = token
        self.faults = faults or Faults()
        self.status_counts: Counter[int] = Counter()
        self._count_lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def count(self, status: int) -> None:
        with self._count_lock:
            self.status_counts[status] += 1

    def serve_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="case-events-api", daemon=True)
        thread.start()
        return thread

    def page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """One page of events for the query string of `GET /api/v1/events`."""
        unknown = set(query) - {"updated_since", "type", "limit", "cursor"}
        if unknown:
            raise BadRequest(f"unknown parameters: {', '.join(sorted(unknown))}")
        since = _timestamp(query["updated_since"][0], "updated_since") if "updated_since" in query else ""
        types = [t for value in query.get("type", []) for t in value.split(",") if t]
        try:
            limit = int(query.get("limit", [DEFAULT_PAGE_SIZE])[0])
        except ValueError:
            raise BadRequest("limit must be an integer") from None
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        after = _decode_cursor(query["cursor"][0]) if "cursor" in query else ("", "")

        # The index range starts at the later of `updated_since` and the cursor: with `updated_since`
        # alone, SQLite walked every earlier page again for each page (quadratic in the feed).
        sql = "SELECT * FROM events WHERE updated_at >= ? AND (updated_at > ? OR (updated_at = ? AND id > ?))"
        parameters: list[Any] = [max(since, after[0]), after[0], after[0], after[1]]
        if types:
            sql += f" AND type IN ({', '.join('?' for _ in types)})"
            parameters += types
        sql += " ORDER BY updated_at, id LIMIT ?"
        parameters.append(limit + 1)
        with sqlite3.connect(f"file:{self.data}?mode=ro", uri=True) as connection:
            connection.row_factory = sqlite3.Row
            rows = connection.execute(sql, parameters).fetchall()
        connection.close()

        following = None
        if len(rows) > limit:
            rows = rows[:limit]
            filters = {k: v[0] for k, v in query.items() if k != "cursor"} | {"limit": str(limit)}
            cursor = _encode_cursor(rows[-1]["updated_at"], rows[-1]["id"])
            following = f"{self.url}{EVENTS_PATH}?{urlencode(filters | {'cursor': cursor})}"
        return {"data": [_event(row) for row in rows], "next": following}


class _Handler(BaseHTTPRequestHandler):
    server: CaseEventsServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        """Quiet: a test server should not flood the output (the request line holds no secret)."""

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.server.count(status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout); nothing to tell it

    def _error(self, status: HTTPStatus, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps({"error": {"code": code, "message": message}}).encode(), headers)

    def _authorised(self) -> bool:
        supplied = self.headers.get("Authorization", "")
        scheme, _, token = supplied.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.server.token.encode()):
            return True
        self._error(HTTPStatus.UNAUTHORIZED, "unauthorized", "missing or invalid bearer token",
                    {"WWW-Authenticate": 'Bearer realm="case-events"'})
        return False

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        address = urlsplit(self.path)
        if address.path != EVENTS_PATH:
            self._error(HTTPStatus.NOT_FOUND, "not_found", f"no resource at {address.path}")
            return
        if not self._authorised():
            return
        fault = self.server.faults.take()
        if fault == "rate_limited":
            self._error(HTTPStatus.TOO_MANY_REQUESTS, "rate_limited", "too many requests",
                        {"Retry-After": str(self.server.faults.retry_after)})
            return
        if fault == "server_errors":
            status = HTTPStatus(self.server.faults.error_status)
            self._error(status, "server_error", status.phrase)
            return
        if fault == "dropped":
            self.close_connection = True
            return
        if fault == "slow":
            time.sleep(self.server.faults.delay)
        try:
            body = json.dumps(self.server.page(parse_qs(address.query))).encode()
        except BadRequest as error:
            self._error(HTTPStatus.BAD_REQUEST, "bad_request", str(error))
            return
        self._send(HTTPStatus.OK, body[: len(body) // 2] if fault == "truncated" else body)

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        if urlsplit(self.path).path != FAULTS_PATH:
            self._error(HTTPStatus.NOT_FOUND, "not_found", f"no resource at {self.path}")
            return
        if not self._authorised():
            return
        try:
            self.server.faults.set(**json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}"))
        except (ValueError, TypeError) as error:
            self._error(HTTPStatus.BAD_REQUEST, "bad_request", str(error))
            return
        self._send(HTTPStatus.OK, json.dumps(self.server.faults.as_dict()).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the sample case events over the case-events API.")
    parser.add_argument("--data", type=Path, required=True, help="SQLite file from ingestion.sample_data.case_events")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token-file", type=Path, required=True, help="file holding the bearer token")
    parser.add_argument("--faults", type=json.loads, default={},
                        help='JSON, e.g. {"rate_limited": 2, "retry_after": 1}')
    args = parser.parse_args()

    faults = Faults()
    faults.set(**args.faults)
    server = CaseEventsServer(args.data, args.token_file.read_text().strip(), args.port, faults)
    print(f"[case-events-api] serving {args.data} at {server.url}{EVENTS_PATH}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
