"""dlt source for case-process events from a child-case system's REST API (`docs/case_events_api.md`).

One resource, `events`, reads `GET /api/v1/events` page by page (the `next` link) from the
`updated_at` the previous successful load reached (dlt incremental, passed as the inclusive
`updated_since`). Rows are merged on the event `id`, so re-delivered and corrected events replace
their earlier version, and tombstones (`deleted: true`) delete the row (dlt's `hard_delete`).

National ids never land: the CPR number or personnummer becomes `person_id` (keyed HMAC), with
birth date, sex and the key's version derived first. Retries with exponential backoff cover 429
(honouring Retry-After), 5xx, timeouts and dropped connections; a rejected token (401) fails at
once. dlt commits the incremental cursor only with a successful load, so a failed run moves
nothing and the next run starts where the last good one ended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import dlt
import requests
from dlt.common.schema.typing import TColumnSchema
from dlt.extract import DltResource
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

from ingestion.pseudonymise import (
    PseudonymKey,
    birth_date_from_cpr,
    birth_date_from_personnummer,
    person_id,
    sex_from_cpr,
    sex_from_personnummer,
)

EVENTS_PATH = "api/v1/events"
# Never landed, even if a system sends them: the national id (replaced by its pseudonym) and names.
NEVER_LANDED = frozenset({"national_id", "name", "first_name", "last_name"})

EVENT_COLUMNS: dict[str, TColumnSchema] = {
    "id": {"data_type": "text", "nullable": False},
    "type": {"data_type": "text"},
    "person_id": {"data_type": "text"},
    "birth_date": {"data_type": "date"},
    "sex": {"data_type": "text"},
    "pseudonym_key_version": {"data_type": "text"},
    "case_reference": {"data_type": "text"},
    "jurisdiction": {"data_type": "text"},
    "municipality_code": {"data_type": "text"},
    "caseworker": {"data_type": "text"},
    "team": {"data_type": "text"},
    "occurred_at": {"data_type": "timestamp"},
    "updated_at": {"data_type": "timestamp", "dedup_sort": "desc"},
    "deleted": {"data_type": "bool", "hard_delete": True},
    "details__reporter": {"data_type": "text"},
    "details__urgent": {"data_type": "bool"},
    "details__outcome": {"data_type": "text"},
    "details__related_event_id": {"data_type": "text"},
    "details__staircase_step": {"data_type": "bigint"},
    "details__scaling_step": {"data_type": "bigint"},
    "details__goal_reached": {"data_type": "text"},
    "details__plan_type": {"data_type": "text"},
    "details__follow_up_number": {"data_type": "bigint"},
    "details__reason": {"data_type": "text"},
}


class CaseEventsApiError(RuntimeError):
    """The case-events API answered in a way the loader cannot use."""


class TokenRejectedError(CaseEventsApiError):
    """HTTP 401: the bearer token is missing, wrong or expired."""


@dataclass(frozen=True)
class HttpSettings:
    """Timeout and retries; without them dlt's runtime settings apply (RUNTIME__REQUEST_TIMEOUT etc.)."""

    timeout: float = 60.0
    max_attempts: int = 5
    backoff_factor: float = 1.0
    max_retry_delay: float = 300.0


_DERIVATIONS: dict[str, tuple[Callable[[str], date | None], Callable[[str], str | None]]] = {
    "DK": (birth_date_from_cpr, sex_from_cpr),
    "SE": (birth_date_from_personnummer, sex_from_personnummer),
}


def pseudonymise_event(event: dict[str, Any], key: PseudonymKey) -> dict[str, Any]:
    """The event as it may land: the national id replaced by `person_id`, birth date, sex and key version.

    Names are dropped wherever they appear. Tombstones carry no national id and stay as they are.
    """
    row = {name: value for name, value in event.items() if name not in NEVER_LANDED}
    if isinstance(row.get("details"), dict):
        row["details"] = {name: value for name, value in row["details"].items() if name not in NEVER_LANDED}
    national_id = event.get("national_id")
    if national_id:
        derive = _DERIVATIONS.get(event.get("jurisdiction", ""))
        row |= {
            "person_id": person_id(key, national_id),
            "birth_date": derive[0](national_id) if derive else None,
            "sex": derive[1](national_id) if derive else None,
            "pseudonym_key_version": key.version,
        }
    return row


def _raise_for_status(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A clear, unretried error for 401; an HTTPError (retried for 429 and 5xx) for other errors."""
    if response.status_code == 401:
        raise TokenRejectedError(
            f"the case-events API rejected the bearer token (HTTP 401 from {response.url.split('?')[0]}); "
            "check or renew the token - the load was not retried and nothing was committed"
        )
    response.raise_for_status()


def _session(http: HttpSettings | None) -> requests.Session:
    """A session retrying 429 (Retry-After), 5xx, timeouts and dropped connections with exponential backoff."""
    overrides = {} if http is None else {
        "request_timeout": http.timeout,
        "request_max_attempts": http.max_attempts,
        "request_backoff_factor": http.backoff_factor,
        "request_max_retry_delay": http.max_retry_delay,
    }
    return Client(raise_for_status=False, respect_retry_after_header=True, **overrides).session


@dlt.source(name="case_events")
def case_events_source(
    base_url: str,
    token: Callable[[], str],
    key_loader: Callable[[], PseudonymKey],
    *,
    initial_updated_since: str = "2000-01-01T00:00:00Z",
    page_size: int = 500,
    http: HttpSettings | None = None,
) -> DltResource:
    """Case-process events from the API at `base_url` (e.g. `https://bu.example.dk`), as resource `events`.

    `token` and `key_loader` are called when data flows, not when the source is defined, so the
    source can be built without network access or secrets (Dagster enumerates its resources).
    """

    @dlt.resource(
        name="events",
        primary_key="id",
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        columns=EVENT_COLUMNS,
        # Normalised into parquet, which DuckDB loads column-wise. dlt's default for DuckDB, INSERT
        # statements, spent 1,180 of the 1,434 s this loader took on the national sample.
        file_format="parquet",
    )
    def events(
        updated_at: dlt.sources.incremental[str] = dlt.sources.incremental(
            "updated_at", initial_value=initial_updated_since,
        ),
    ) -> Iterator[list[dict[str, Any]]]:
        key = key_loader()
        for page in event_pages(base_url, token(), updated_at.start_value, page_size=page_size, http=http):
            yield [pseudonymise_event(event, key) for event in page]

    return events


def event_pages(
    base_url: str, token: str, updated_since: str, *, page_size: int = 500, http: HttpSettings | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """The API's events as delivered (national ids included), page by page from `updated_since`.

    Only for code that pseudonymises before anything is stored: the loader above, and the key
    rotation (ingestion/key_rotation.py), which reads the national ids to pair old and new pseudonyms.
    """
    client = RESTClient(
        base_url=base_url,
        auth=BearerTokenAuth(token),
        paginator=JSONLinkPaginator(next_url_path="next"),
        data_selector="data",
        session=_session(http),
    )
    pages = client.paginate(
        EVENTS_PATH,
        params={"updated_since": updated_since, "limit": page_size},
        hooks={"response": [_raise_for_status]},
    )
    try:
        yield from pages
    except requests.JSONDecodeError as error:
        raise CaseEventsApiError(
            f"a page from {EVENTS_PATH} is not valid JSON (truncated?); the run fails and the cursor stays"
        ) from error
