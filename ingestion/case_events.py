"""dlt source for case-process events from a child-case system's REST API (`docs/case_events_api.md`).

One resource, `events`, reads `GET /api/v1/events` page by page (the `next` link) from the
`updated_at` the previous successful load reached (dlt incremental, passed as the inclusive
`updated_since`). Rows are merged on the event `id`, so re-delivered and corrected events replace
their earlier version, and tombstones (`deleted: true`) delete the row (dlt's `hard_delete`).
Each page becomes an Arrow table built column by column, which dlt writes to parquet as it is.

National ids never land: the CPR number or personnummer becomes `person_id` (keyed HMAC), with
birth date, sex and the key's version derived first. Retries with exponential backoff cover 429
(honouring Retry-After), 5xx, timeouts and dropped connections; a rejected token (401) fails at
once. dlt commits the incremental cursor only with a successful load, so a failed run moves
nothing and the next run starts where the last good one ended.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar
from urllib.parse import urljoin

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import requests
from dlt.common.json import json
from dlt.common.normalizers.utils import generate_dlt_ids
from dlt.common.schema.typing import TColumnSchema
from dlt.extract import DltResource
from dlt.extract.items_transform import MapItem
from dlt.sources.helpers.requests import Client

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
_ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(), "date": pa.date32(), "timestamp": pa.timestamp("us", tz="UTC"),
    "bool": pa.bool_(), "bigint": pa.int64(),
}
DETAILS_PREFIX = "details__"
CURSOR_COLUMN = "updated_at"
# Fields the contract knows, at the top of an event and inside its `details`.
KNOWN_FIELDS = {name for name in EVENT_COLUMNS if not name.startswith(DETAILS_PREFIX)} | {"details", "national_id"}
NOT_NULL = {name for name, column in EVENT_COLUMNS.items() if column.get("nullable") is False}
KNOWN_DETAILS = {name.removeprefix(DETAILS_PREFIX) for name in EVENT_COLUMNS if name.startswith(DETAILS_PREFIX)}
# Who a national id belongs to: (pseudonym, birth date, sex), from (jurisdiction, national id).
Derivation = Callable[[str, str], tuple[str, date | None, str | None]]


def person_derivation(key: PseudonymKey, cache_size: int = 500_000) -> Derivation:
    """Pseudonym, birth date and sex of a national id, each person derived once per load (a cache)."""

    @functools.lru_cache(maxsize=cache_size)
    def derive(jurisdiction: str, national_id: str) -> tuple[str, date | None, str | None]:
        birth_date, sex = _DERIVATIONS.get(jurisdiction, (_unknown, _unknown))
        return person_id(key, national_id), birth_date(national_id), sex(national_id)

    return derive


def _unknown(national_id: str) -> None:
    return None


def events_table(events: list[dict[str, Any]], derive: Derivation, key_version: str) -> pa.Table:
    """A page of events as it may land, column by column, typed as `EVENT_COLUMNS` says.

    The national id becomes `person_id`, `birth_date`, `sex` and `pseudonym_key_version`; names
    are dropped wherever they appear; `details` fields become `details__<name>` columns. Fields
    the contract does not know yet land as new columns of the type Arrow infers. `updated_at`
    stays the API's text until dlt's incremental step has compared it (`as_landed`).
    Tombstones carry no national id and get no derived values.
    """
    details = [_details(event) for event in events]
    columns: dict[str, pa.Array] = {}
    people = [
        derive(event.get("jurisdiction") or "", national_id) if (national_id := event.get("national_id")) else None
        for event in events
    ]
    derived = {
        "person_id": [person[0] if person else None for person in people],
        "birth_date": [person[1] if person else None for person in people],
        "sex": [person[2] if person else None for person in people],
        "pseudonym_key_version": [key_version if person else None for person in people],
    }
    for name, column in EVENT_COLUMNS.items():
        if name in derived:
            values = derived[name]
        elif name.startswith(DETAILS_PREFIX):
            field_name = name.removeprefix(DETAILS_PREFIX)
            values = [fields.get(field_name) for fields in details]
        else:
            values = [event.get(name) for event in events]
        kind = pa.string() if name == CURSOR_COLUMN else _ARROW_TYPES[column["data_type"]]
        columns[name] = _typed(name, values, kind)
    for name in _new_fields(events, KNOWN_FIELDS):
        columns[name] = _typed(name, [event.get(name) for event in events], None)
    for name in _new_fields(details, KNOWN_DETAILS):
        columns[DETAILS_PREFIX + name] = _typed(DETAILS_PREFIX + name, [fields.get(name) for fields in details], None)
    if columns["id"].null_count:
        raise CaseEventsApiError("the API sent an event without an id; the run fails and the cursor stays")
    schema = pa.schema([pa.field(name, array.type, nullable=name not in NOT_NULL) for name, array in columns.items()])
    return pa.table(list(columns.values()), schema=schema)


class _AfterIncremental(MapItem):
    """A map that runs after dlt's incremental step (dlt places plain maps before it)."""

    placement_affinity: ClassVar[float] = 1.05  # incremental 1, dlt's row limit 1.1


def as_landed(table: pa.Table) -> pa.Table:
    """The page as the raw table holds it: `updated_at` a timestamp, dlt's load and row ids added.

    Runs after dlt's incremental step, which compares `updated_at` as the API's text (the cursor
    in dlt's state stays that text). dlt adds its ids to rows it normalises itself, not to Arrow
    tables; the staging model orders versions by `_dlt_load_id`, and `_dlt_id` is NOT NULL in
    raw tables created before the loader sent Arrow.
    """
    position = table.schema.get_field_index(CURSOR_COLUMN)
    table = table.set_column(position, CURSOR_COLUMN, _typed(CURSOR_COLUMN, table[CURSOR_COLUMN], _ARROW_TYPES["timestamp"]))
    load_id = dlt.current.load_package_state()["load_id"]
    table = table.append_column(pa.field("_dlt_load_id", pa.string(), nullable=False), pa.array([load_id] * table.num_rows, pa.string()))
    return table.append_column(pa.field("_dlt_id", pa.string(), nullable=False), pa.array(generate_dlt_ids(table.num_rows), pa.string()))


def _details(event: dict[str, Any]) -> dict[str, Any]:
    details = event.get("details")
    if details is None:
        return {}
    if not isinstance(details, dict):
        raise CaseEventsApiError(
            f"event {event.get('id')!r} has `details` that is not a JSON object; the run fails and the cursor stays"
        )
    return details


def _new_fields(records: list[dict[str, Any]], known: set[str]) -> list[str]:
    """Fields neither `known` nor never landed, in the order they first appear."""
    seen = dict.fromkeys(name for record in records for name in record)
    return [name for name in seen if name not in known and name not in NEVER_LANDED]


def _typed(name: str, values: list[Any] | pa.ChunkedArray, kind: pa.DataType | None) -> pa.Array | pa.ChunkedArray:
    """`values` as an Arrow column of `kind` (inferred when None), or an error naming the field."""
    try:
        if isinstance(kind, pa.TimestampType):  # RFC 3339 text, parsed by Arrow (a zone is required)
            return pc.cast(values if isinstance(values, pa.ChunkedArray) else pa.array(values, pa.string()), kind)
        return pa.array(values, kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise CaseEventsApiError(
            f"field {name!r} of an event does not fit its type ({error}); the run fails and the cursor stays"
        ) from error


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
    page_size: int = 1000,
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
    ) -> Iterator[pa.Table]:
        key = key_loader()
        derive = person_derivation(key)
        for page in event_pages(base_url, token(), updated_at.start_value, page_size=page_size, http=http):
            yield events_table(page, derive, key.version)

    events.add_step(_AfterIncremental(as_landed))
    return events


def event_pages(
    base_url: str, token: str, updated_since: str, *, page_size: int = 1000, http: HttpSettings | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """The API's events as delivered (national ids included), page by page from `updated_since`.

    Only for code that pseudonymises before anything is stored: the loader above, and the key
    rotation (ingestion/key_rotation.py), which reads the national ids to pair old and new pseudonyms.
    Each page is decoded once, by orjson (dlt's JSON); dlt's REST client decoded every page twice,
    once for the data and once for the `next` link, a third of the loader's time at `large`.
    """
    session = _session(http)
    session.headers["Authorization"] = f"Bearer {token}"
    url: str | None = urljoin(base_url.rstrip("/") + "/", EVENTS_PATH)
    params: dict[str, Any] | None = {"updated_since": updated_since, "limit": page_size}
    while url:
        response = session.get(url, params=params, hooks={"response": [_raise_for_status]})
        try:
            page = json.loadb(response.content)
        except ValueError as error:
            raise CaseEventsApiError(
                f"a page from {EVENTS_PATH} is not valid JSON (truncated?); the run fails and the cursor stays"
            ) from error
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise CaseEventsApiError(f"a page from {EVENTS_PATH} has no `data` list; the run fails and the cursor stays")
        yield page["data"]
        following = page.get("next")
        url, params = (urljoin(response.url, following) if following else None), None
