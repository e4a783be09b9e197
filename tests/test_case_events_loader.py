"""The case-events loader against the real local API server: incremental merge, faults, pseudonymisation."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pyarrow as pa
import pytest
import requests
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.case_events import (
    CaseEventsApiError,
    HttpSettings,
    birth_date_from_personnummer,
    case_events_source,
    events_table,
    person_derivation,
    sex_from_personnummer,
)
from ingestion.pipelines import raw_pipeline
from ingestion.pseudonymise import PseudonymKey, birth_date_from_cpr, person_id
from ingestion.sample_data.case_events import generate_case_events, write_case_events
from ingestion.sample_data.case_events_api import CaseEventsServer
from tests.test_case_events_generator import AS_OF, synthetic_os2bos

TOKEN = "test-case-events-token-0123456789"
KEY = PseudonymKey(b"test-only-case-events-key-0123456789abcdef", "test-v1")
FAST = HttpSettings(timeout=0.5, max_attempts=6, backoff_factor=0.01, max_retry_delay=2.0)
PAGE_SIZE = 200
# The raw table as docs/case_events_api.md lists it.
LANDED_TYPES = {
    "id": "VARCHAR", "type": "VARCHAR", "person_id": "VARCHAR", "birth_date": "DATE", "sex": "VARCHAR",
    "pseudonym_key_version": "VARCHAR", "case_reference": "VARCHAR", "jurisdiction": "VARCHAR",
    "municipality_code": "VARCHAR", "caseworker": "VARCHAR", "team": "VARCHAR",
    "occurred_at": "TIMESTAMP WITH TIME ZONE", "updated_at": "TIMESTAMP WITH TIME ZONE", "deleted": "BOOLEAN",
    "details__reporter": "VARCHAR", "details__urgent": "BOOLEAN", "details__outcome": "VARCHAR",
    "details__related_event_id": "VARCHAR", "details__staircase_step": "BIGINT", "details__scaling_step": "BIGINT",
    "details__goal_reached": "VARCHAR", "details__plan_type": "VARCHAR", "details__follow_up_number": "BIGINT",
    "details__reason": "VARCHAR", "_dlt_load_id": "VARCHAR", "_dlt_id": "VARCHAR",
}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One stored sample per jurisdiction (~2,000 events each), copied per test."""
    folder = tmp_path_factory.mktemp("case_events")
    cases, caseworkers = synthetic_os2bos(150)
    paths = {}
    for jurisdiction in ("DK", "SE"):
        paths[jurisdiction] = folder / f"{jurisdiction}.sqlite"
        write_case_events(generate_case_events(cases, caseworkers, AS_OF, 11, jurisdiction), paths[jurisdiction])
    return paths


@pytest.fixture
def store(stores: dict[str, Path], tmp_path: Path) -> Path:
    path = tmp_path / "case_events.sqlite"
    shutil.copy(stores["DK"], path)
    return path


@pytest.fixture
def server(store: Path) -> Iterator[CaseEventsServer]:
    api = CaseEventsServer(store, TOKEN)
    api.serve_in_background()
    yield api
    api.shutdown()
    api.server_close()


@pytest.fixture
def pipeline(tmp_path: Path) -> dlt.Pipeline:
    return raw_pipeline("case_events_test", "case_events", tmp_path / "raw.duckdb", tmp_path / "pipelines")


def source(server: CaseEventsServer, token: str = TOKEN) -> Any:
    return case_events_source(server.url, lambda: token, lambda: KEY, page_size=PAGE_SIZE, http=FAST)


def stored(store: Path, sql: str, *parameters: Any) -> list[tuple]:
    with sqlite3.connect(store) as connection:
        rows = connection.execute(sql, parameters).fetchall()
    connection.close()
    return rows


def landed(pipeline: dlt.Pipeline, sql: str) -> list[tuple]:
    with duckdb.connect(pipeline.destination.config_params["credentials"], read_only=True) as connection:
        return connection.sql(sql).fetchall()


def cursor(pipeline: dlt.Pipeline) -> str | None:
    """The incremental cursor as committed on disk (a fresh attach, not the in-memory state)."""
    state = dlt.attach(pipeline.pipeline_name, pipelines_dir=pipeline.pipelines_dir).state
    resource = state.get("sources", {}).get("case_events", {}).get("resources", {}).get("events", {})
    return resource.get("incremental", {}).get("updated_at", {}).get("last_value")


def live_ids(store: Path) -> set[str]:
    return {row[0] for row in stored(store, "select id from events where not deleted")}


def landed_ids(pipeline: dlt.Pipeline) -> list[str]:
    return [row[0] for row in landed(pipeline, "select id from case_events.events")]


def test_source_is_built_without_network_or_secrets() -> None:
    def refuse() -> Any:
        raise AssertionError("called at definition time")

    built = case_events_source("http://127.0.0.1:9", refuse, refuse)
    assert built.name == "case_events"
    assert list(built.resources) == ["events"]


@pytest.mark.parametrize("jurisdiction", ["DK", "SE"])
def test_full_load_lands_every_live_event_once_and_pseudonymised(
    jurisdiction: str, stores: dict[str, Path], tmp_path: Path, pipeline: dlt.Pipeline,
) -> None:
    store = tmp_path / "case_events.sqlite"
    shutil.copy(stores[jurisdiction], store)
    # 150 events sharing one updated_at span pages: paging by (updated_at, id) must neither skip nor repeat
    with sqlite3.connect(store) as connection:
        connection.execute("update events set updated_at = '2026-06-01T10:00:00.000000Z' where rowid % 13 = 0")
    connection.close()
    api = CaseEventsServer(store, TOKEN)
    api.serve_in_background()
    try:
        pipeline.run(source(api))
    finally:
        api.shutdown()
        api.server_close()

    ids = landed_ids(pipeline)
    assert len(ids) == len(set(ids)) and set(ids) == live_ids(store)
    assert pipeline.last_trace.last_normalize_info.row_counts["events"] == stored(store, "select count(*) from events")[0][0]
    national_id, birth_check = stored(store, "select national_id, id from events where not deleted limit 1")[0]
    person, birth_date, sex, version = landed(
        pipeline, f"select person_id, birth_date, sex, pseudonym_key_version from case_events.events where id = '{birth_check}'")[0]
    assert person == person_id(KEY, national_id) and version == KEY.version and sex in ("F", "M")
    expected_birth = birth_date_from_cpr(national_id) if jurisdiction == "DK" else birth_date_from_personnummer(national_id)
    assert birth_date == expected_birth is not None

    assert_no_national_ids(pipeline, {row[0] for row in stored(store, "select distinct national_id from events")})
    types = dict(landed(pipeline, "select column_name, data_type from information_schema.columns "
                                  "where table_schema = 'case_events' and table_name = 'events'"))
    assert types == LANDED_TYPES


def assert_no_national_ids(pipeline: dlt.Pipeline, national_ids: set[str]) -> None:
    """No national id pattern in a landed text column; no national id in the raw file or dlt's working folder.

    dlt's own columns and tables (load ids are epoch seconds, state is base64) are left to the byte scan.
    """
    pattern = r"(^|[^0-9a-f])(\d{6}-?\d{4}|\d{8}-?\d{4})($|[^0-9a-f])"
    columns = landed(pipeline, "select table_schema, table_name, column_name from information_schema.columns "
                               "where data_type = 'VARCHAR' and table_name not like '\\_dlt%' escape '\\' "
                               "and column_name not like '\\_dlt%' escape '\\'")
    for schema, table, column in columns:
        hits = landed(pipeline, f'select count(*) from "{schema}"."{table}" '
                                f"where regexp_matches(\"{column}\", '{pattern}')")[0][0]
        assert hits == 0, f"{schema}.{table}.{column} holds a national id pattern"
    files = [Path(pipeline.destination.config_params["credentials"])]
    files += [p for p in Path(pipeline.working_dir).rglob("*") if p.is_file()]
    needles = [n.encode() for n in national_ids]
    for file in files:
        content = file.read_bytes()
        assert not any(n in content for n in needles), f"a national id in {file}"


def test_incremental_run_moves_only_changed_and_new_events(
    store: Path, server: CaseEventsServer, pipeline: dlt.Pipeline,
) -> None:
    pipeline.run(source(server))
    first_load = landed(pipeline, "select max(_dlt_load_id), count(*) from case_events.events")[0]
    later = "2026-11-22T08:00:00.000000Z"  # after every generated update
    updated = [r[0] for r in stored(store, "select id from events where not deleted and type = 'follow_up_held' limit 3")]
    removed = [r[0] for r in stored(store, "select id from events where not deleted and type = 'outcome_assessed' limit 2")]
    with sqlite3.connect(store) as connection:
        connection.execute(f"update events set caseworker = 'sb999', updated_at = ? where id in ({','.join('?' * 3)})",
                           (later, *updated))
        connection.execute(f"update events set deleted = 1, updated_at = ? where id in ({','.join('?' * 2)})",
                           (later, *removed))
        connection.execute("""insert into events select 'ev-new-' || id, type, national_id, case_reference,
                                jurisdiction, municipality_code, caseworker, team, occurred_at, ?, 0, reporter,
                                urgent, outcome, related_event_id, staircase_step, scaling_step, goal_reached,
                                plan_type, follow_up_number, reason
                              from events where type = 'notification_received' and not deleted limit 4""", (later,))
    connection.close()

    requests_before = sum(server.status_counts.values())
    pipeline.run(source(server))
    assert pipeline.last_trace.last_normalize_info.row_counts["events"] == 3 + 2 + 4
    assert sum(server.status_counts.values()) - requests_before == 1  # one page: only the changes
    second_load = landed(pipeline, "select max(_dlt_load_id) from case_events.events")[0][0]
    assert second_load > first_load[0]
    in_second = landed(pipeline, f"select id, caseworker from case_events.events where _dlt_load_id = '{second_load}'")
    assert sorted(i for i, _ in in_second) == sorted(updated + [i for i in live_ids(store) if i.startswith("ev-new-")])
    assert all(caseworker == "sb999" for i, caseworker in in_second if i in updated)
    assert landed(pipeline, "select count(*) from case_events.events")[0][0] == first_load[1] + 4 - 2
    assert not set(removed) & set(landed_ids(pipeline))
    assert cursor(pipeline) == later

    pipeline.run(source(server))
    assert pipeline.last_trace.last_normalize_info.row_counts.get("events", 0) == 0


@pytest.mark.parametrize("error_status", [500, 503])
def test_rate_limits_and_server_error_bursts_are_retried(
    error_status: int, store: Path, server: CaseEventsServer, pipeline: dlt.Pipeline,
) -> None:
    server.faults.set(pass_first=1, rate_limited=2, retry_after=1, server_errors=3, error_status=error_status)
    started = time.perf_counter()
    pipeline.run(source(server))
    assert time.perf_counter() - started >= 2  # Retry-After: 1 honoured twice (the backoff alone is ~0.01 s)
    assert server.status_counts[429] == 2 and server.status_counts[error_status] == 3
    assert sorted(landed_ids(pipeline)) == sorted(live_ids(store))


def test_timeouts_and_dropped_connections_are_retried(
    store: Path, server: CaseEventsServer, pipeline: dlt.Pipeline,
) -> None:
    server.faults.set(pass_first=2, slow=2, delay=1.0, dropped=2)
    pipeline.run(source(server))
    ids = landed_ids(pipeline)
    assert len(ids) == len(set(ids)) and set(ids) == live_ids(store)


def test_rejected_token_fails_clearly_at_once_without_state(server: CaseEventsServer, pipeline: dlt.Pipeline) -> None:
    with pytest.raises(PipelineStepFailed) as failure:
        pipeline.run(source(server, token="not-the-token"))
    assert "rejected the bearer token" in str(failure.value)
    assert "not-the-token" not in str(failure.value)
    assert dict(server.status_counts) == {401: 1}
    assert cursor(pipeline) is None
    assert not Path(pipeline.destination.config_params["credentials"]).exists() or not landed(
        pipeline, "select * from information_schema.tables where table_schema = 'case_events' and table_name = 'events'")


def test_failure_mid_run_moves_nothing_and_the_next_run_loads_each_event_once(
    store: Path, server: CaseEventsServer, pipeline: dlt.Pipeline,
) -> None:
    pages = -(-stored(store, "select count(*) from events")[0][0] // PAGE_SIZE)
    assert pages >= 8
    server.faults.set(pass_first=4, server_errors=FAST.max_attempts)  # page 5 fails after every retry
    with pytest.raises(PipelineStepFailed):
        pipeline.run(source(server))
    assert server.status_counts[503] == FAST.max_attempts
    assert cursor(pipeline) is None

    pipeline.run(source(server))
    ids = landed_ids(pipeline)
    assert len(ids) == len(set(ids)) and set(ids) == live_ids(store)
    assert cursor(pipeline) == stored(store, "select max(updated_at) from events")[0][0]


def test_truncated_page_fails_cleanly_and_keeps_the_cursor(
    store: Path, server: CaseEventsServer, pipeline: dlt.Pipeline,
) -> None:
    pipeline.run(source(server))
    before = cursor(pipeline)
    later = "2026-11-22T09:00:00.000000Z"
    changed = [r[0] for r in stored(store, "select id from events where not deleted limit 450")]
    with sqlite3.connect(store) as connection:
        connection.execute(f"update events set team = 'T9', updated_at = ? where id in ({','.join('?' * len(changed))})",
                           (later, *changed))
    connection.close()

    server.faults.set(pass_first=1, truncated=1)  # the second of three pages is cut
    with pytest.raises(PipelineStepFailed) as failure:
        pipeline.run(source(server))
    assert "not valid JSON" in str(failure.value)
    assert cursor(pipeline) == before
    assert landed(pipeline, "select count(*) from case_events.events where team = 'T9'")[0][0] == 0

    pipeline.run(source(server))
    assert landed(pipeline, "select count(*) from case_events.events where team = 'T9'")[0][0] == len(changed)
    ids = landed_ids(pipeline)
    assert len(ids) == len(set(ids)) and set(ids) == live_ids(store)


def test_api_contract_errors_and_filters(store: Path, server: CaseEventsServer) -> None:
    events_url = f"{server.url}/api/v1/events"
    missing = requests.get(events_url, timeout=5)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    bad = requests.get(events_url, params={"updated_since": "yesterday"}, headers=headers, timeout=5)
    assert bad.status_code == 400 and "updated_since" in bad.json()["error"]["message"]

    boundary = stored(store, "select updated_at from events where not deleted order by updated_at desc limit 1 offset 5")[0][0]
    page = requests.get(events_url, params={"updated_since": boundary, "type": "decision_made,plan_created"},
                        headers=headers, timeout=5).json()
    expected = stored(store, "select count(*) from events where updated_at >= ? "
                             "and type in ('decision_made', 'plan_created')", boundary)[0][0]
    assert len(page["data"]) == expected and page["next"] is None  # inclusive, filtered, one page
    assert all(e["type"] in ("decision_made", "plan_created") and e["updated_at"] >= boundary for e in page["data"])
    tombstone = requests.get(events_url, params={"limit": 1000}, headers=headers, timeout=5).json()
    assert tombstone["next"] is not None and "cursor=" in tombstone["next"]

    reset = requests.post(f"{server.url}/_admin/faults", json={"rate_limited": 1}, headers=headers, timeout=5)
    assert reset.json()["rate_limited"] == 1
    limited = requests.get(events_url, headers=headers, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"


def test_events_table_drops_identifiers_and_names_and_keeps_new_fields() -> None:
    events = [
        {"id": "ev-1", "type": "decision_made", "jurisdiction": "SE", "national_id": "20120304-5678", "name": "Anna",
         "occurred_at": "2026-01-01T09:00:00+01:00", "updated_at": "2026-01-01T08:00:00.000000Z",
         "details": {"first_name": "Anna", "outcome": "granted", "staircase_step": 3, "room": "B2"},
         "channel": "phone"},
        {"id": "ev-2", "type": "follow_up_held", "updated_at": "2026-01-01T00:00:00.000000Z", "deleted": True},
    ]
    table = events_table(events, person_derivation(KEY), KEY.version)
    assert not {"national_id", "name", "first_name", "details", "details__first_name"} & set(table.column_names)
    decision, tombstone = table.to_pylist()
    assert decision["person_id"] == person_id(KEY, "201203045678") and decision["sex"] == "M"
    assert str(decision["birth_date"]) == "2012-03-04" and decision["pseudonym_key_version"] == KEY.version
    assert decision["details__outcome"] == "granted" and decision["details__staircase_step"] == 3
    assert decision["details__room"] == "B2" and decision["channel"] == "phone"  # new fields land, not lost
    assert decision["occurred_at"].isoformat() == "2026-01-01T08:00:00+00:00"
    assert tombstone["deleted"] is True and tombstone["person_id"] is None and tombstone["channel"] is None
    assert table.schema.field("occurred_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("updated_at").type == pa.string()  # dlt's incremental compares the API's text


@pytest.mark.parametrize(("event", "message"), [
    ({"id": "ev-1", "details": ["not", "an", "object"]}, "not a JSON object"),
    ({"id": "ev-1", "occurred_at": "2026-01-01T09:00:00"}, "'occurred_at'"),  # no zone
    ({"id": "ev-1", "details": {"staircase_step": "three"}}, "'details__staircase_step'"),
    ({"type": "decision_made"}, "without an id"),
])
def test_events_table_names_what_does_not_fit(event: dict[str, Any], message: str) -> None:
    with pytest.raises(CaseEventsApiError, match=message):
        events_table([event], person_derivation(KEY), KEY.version)


def test_personnummer_helpers() -> None:
    assert str(birth_date_from_personnummer("20120304-5678")) == "2012-03-04"
    assert str(birth_date_from_personnummer("201203645678")) == "2012-03-04"  # samordningsnummer
    assert birth_date_from_personnummer("120304-5678") is None
    assert birth_date_from_personnummer("201302305678") is None
    assert sex_from_personnummer("201203045668") == "F"
    assert sex_from_personnummer("12") is None
