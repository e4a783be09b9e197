"""The sample case-process events: realistic deadlines and movement, deterministic, fast at national scale."""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from ingestion.case_events import birth_date_from_personnummer, sex_from_personnummer
from ingestion.pseudonymise import birth_date_from_cpr, sex_from_cpr
from ingestion.sample_data.case_events import generate_case_events, read_os2bos_inputs, write_case_events

AS_OF = date(2026, 11, 20)


def synthetic_os2bos(cases: int, seed: int = 1, caseworkers: int = 12) -> tuple[pa.Table, pa.Table]:
    """`core_case` and `core_user` columns the event generator reads, for `cases` children."""
    rng = np.random.default_rng(seed)
    born = [date(2008, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 6500, cases)]
    serials = rng.integers(0, 1000, cases)
    first = datetime(AS_OF.year - 2, 1, 1, 9, tzinfo=timezone.utc)
    created = [first + timedelta(days=int(d)) for d in rng.integers(0, (AS_OF - first.date()).days - 14, cases)]
    case_table = pa.table({
        "id": pa.array(np.arange(1, cases + 1)),
        "sbsys_id": pa.array([f"27.24.00-G01-{i}-{c:%y}" for i, c in enumerate(created, 1)]),
        "cpr_number": pa.array([f"{b:%d%m%y}4{s:03d}" for b, s in zip(born, serials)]),
        "created": pa.array(created, pa.timestamp("us", tz="UTC")),
        "case_worker_id": pa.array(rng.integers(1, caseworkers + 1, cases)),
        "effort_step_id": pa.array(rng.integers(1, 7, cases)),
        "scaling_step": pa.array(rng.integers(2, 10, cases)),
    })
    users = pa.table({
        "id": pa.array(np.arange(1, caseworkers + 1)),
        "username": pa.array([f"sb{i:03d}" for i in range(1, caseworkers + 1)]),
        "team_id": pa.array([1 + i % 4 for i in range(caseworkers)]),
    })
    return case_table, users


EVENTS_BY_SEED: dict[tuple[int, str], pa.Table] = {}


def events(seed: int = 7, jurisdiction: str = "DK", cases: int = 2000) -> pa.Table:
    if (seed, jurisdiction) not in EVENTS_BY_SEED or cases != 2000:
        table = generate_case_events(*synthetic_os2bos(cases), AS_OF, seed, jurisdiction)
        if cases != 2000:
            return table
        EVENTS_BY_SEED[seed, jurisdiction] = table
    return EVENTS_BY_SEED[seed, jurisdiction]


def share(table: pa.Table, sql: str) -> float:
    connection = duckdb.connect()
    connection.register("events", table)
    return connection.sql(sql).fetchone()[0]


def test_generation_is_deterministic_for_the_seed() -> None:
    assert events(7).equals(generate_case_events(*synthetic_os2bos(2000), AS_OF, 7))
    assert not events(7).equals(events(8))


def test_every_case_has_one_ordered_chain_up_to_the_decision() -> None:
    chain = share(events(), """
        with firsts as (
            select case_reference,
                   min(occurred_at) filter (where type = 'notification_received') as notified,
                   min(occurred_at) filter (where type = 'notification_assessed') as assessed,
                   min(occurred_at) filter (where type = 'investigation_started') as started,
                   min(occurred_at) filter (where type = 'investigation_finished') as finished,
                   min(occurred_at) filter (where type = 'decision_made') as decided,
                   min(occurred_at) filter (where type = 'plan_created') as planned,
                   count(*) filter (where type = 'decision_made') as decisions
            from events
            where case_reference not in (select case_reference from events where type = 'immediate_effort_started')
            group by case_reference)
        select count(*) filter (where decisions = 1 and notified <= assessed and assessed <= started
                                and started < finished and finished < decided and (planned is null or decided < planned))
               / count(*)::double
        from firsts""")
    assert chain == 1  # a plan can still be missing in recent cases


def test_deadline_shares_are_realistic() -> None:
    table = events()
    within_24h = share(table, """
        select avg(case when a.occurred_at - n.occurred_at <= interval 24 hours then 1 else 0 end)
        from events a join events n on a.related_event_id = n.id where a.type = 'notification_assessed'""")
    over_4_months = share(table, """
        select avg(case when f.occurred_at > s.occurred_at + interval 4 months then 1 else 0 end)
        from events f join events s on f.related_event_id = s.id where f.type = 'investigation_finished'""")
    plan_in_3_months = share(table, """
        select avg(case when p.occurred_at <= d.occurred_at + interval 3 months then 1 else 0 end)
        from events p join events d on p.related_event_id = d.id where p.type = 'plan_created'""")
    follow_up_gaps = share(table, """
        with f as (select case_reference, occurred_at,
                          lag(occurred_at) over (partition by case_reference order by occurred_at) as previous
                   from events where type = 'follow_up_held' and not deleted)
        select avg(case when occurred_at <= previous + interval 6 months then 1 else 0 end)
        from f where previous is not null""")
    assert 0.80 <= within_24h <= 0.95
    assert 0.15 <= over_4_months <= 0.25
    assert 0.75 <= plan_in_3_months <= 0.92
    assert 0.80 <= follow_up_gaps <= 0.95


def test_outcomes_end_at_the_current_step_and_mostly_improve() -> None:
    cases, _ = synthetic_os2bos(2000)
    connection = duckdb.connect()
    connection.register("events", events())
    connection.register("cases", cases)
    last_differs, improved, worsened = connection.sql("""
        with o as (select case_reference, occurred_at, details_step, scaling,
                          row_number() over (partition by case_reference order by occurred_at) as first_rank,
                          row_number() over (partition by case_reference order by occurred_at desc) as last_rank
                   from (select case_reference, occurred_at, staircase_step as details_step, scaling_step as scaling
                         from events where type = 'outcome_assessed'))
        select count(*) filter (where l.details_step <> c.effort_step_id or l.scaling <> c.scaling_step),
               count(*) filter (where l.details_step < f.details_step),
               count(*) filter (where l.details_step > f.details_step)
        from o f join o l using (case_reference) join cases c on c.sbsys_id = f.case_reference
        where f.first_rank = 1 and l.last_rank = 1""").fetchone()
    assert last_differs == 0
    assert improved > 2 * worsened > 0


def test_a_few_danish_children_get_an_immediate_effort_on_a_case_of_its_own() -> None:
    table = events()
    effort_share, closed_in_12_weeks, open_share = share(table, """
        with efforts as (
            select s.case_reference, s.occurred_at as started, c.occurred_at as closed
            from events s left join events c on c.case_reference = s.case_reference and c.type = 'case_closed'
            where s.type = 'immediate_effort_started')
        select struct_pack(a := count(*) / 2000.0,
                           b := avg(case when closed <= started + interval 12 weeks then 1 else 0 end),
                           c := avg(case when closed is null then 1 else 0 end))
        from efforts""").values()
    assert 0.02 <= effort_share <= 0.06
    assert 0.70 <= closed_in_12_weeks <= 0.95
    assert 0 < open_share < 0.15
    effort_cases = share(table, """
        select list(distinct type order by type) from events
        where case_reference in (select case_reference from events where type = 'immediate_effort_started')""")
    assert effort_cases == ["case_closed", "immediate_effort_started"]
    assert share(table, "select bool_and(case_reference like '%-S') from events "
                        "where type = 'immediate_effort_started'")
    assert "immediate_effort_started" not in set(events(jurisdiction="SE")["type"].to_pylist())


def test_times_are_within_the_data_and_references_resolve() -> None:
    table = events()
    horizon = datetime.combine(AS_OF + timedelta(days=1), datetime.min.time(), timezone.utc)
    assert share(table, "select max(occurred_at) from events") < horizon
    assert share(table, "select max(updated_at) from events") < horizon
    assert share(table, "select count(*) from events where updated_at < occurred_at") == 0
    assert share(table, """select count(*) from events e left join events r on e.related_event_id = r.id
                           where e.related_event_id is not null
                             and (r.id is null or r.occurred_at > e.occurred_at)""") == 0
    assert share(table, "select count(distinct id) = count(*) from events")
    assert 0 < share(table, "select count(*) from events where deleted") < 0.01 * table.num_rows


def test_swedish_events_carry_valid_personnummer_of_the_same_children() -> None:
    swedish, danish = events(jurisdiction="SE"), events(jurisdiction="DK")
    types = set(swedish["type"].to_pylist())
    assert {"decision_executed", "non_execution_reported"} <= types
    assert not {"decision_executed", "non_execution_reported"} & set(danish["type"].to_pylist())
    pairs = dict(zip(swedish["case_reference"].to_pylist(), swedish["national_id"].to_pylist()))
    cprs = dict(zip(danish["case_reference"].to_pylist(), danish["national_id"].to_pylist()))
    for reference, personnummer in pairs.items():
        assert len(personnummer) == 12 and _luhn_valid(personnummer[2:])
        assert birth_date_from_personnummer(personnummer) == birth_date_from_cpr(cprs[reference])
        assert sex_from_personnummer(personnummer) == sex_from_cpr(cprs[reference])


def _luhn_valid(ten_digits: str) -> bool:
    total = 0
    for position, digit in enumerate(int(ch) for ch in ten_digits):
        product = digit * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return total % 10 == 0


def test_thirty_thousand_cases_take_seconds() -> None:
    started = time.perf_counter()
    table = events(cases=30_000)
    assert table.num_rows > 350_000
    assert time.perf_counter() - started < 10


def test_storage_round_trip_through_os2bos_sqlite(tmp_path: Path) -> None:
    cases, caseworkers = synthetic_os2bos(50)
    cases = cases.append_column("paying_municipality_id", pa.array([1, 2] * 25, pa.int64()))
    os2bos = tmp_path / "os2bos.sqlite"
    with sqlite3.connect(os2bos) as connection:
        connection.execute("create table core_case (id integer primary key, created timestamp, sbsys_id text, "
                           "cpr_number text, name text, case_worker_id integer, effort_step_id integer, "
                           "scaling_step integer, paying_municipality_id integer)")
        connection.execute("create table core_user (id integer primary key, username text, team_id integer)")
        connection.executemany("insert into core_case values (?, ?, ?, ?, 'Navn', ?, ?, ?, ?)", [
            (c["id"], c["created"].isoformat(sep=" "), c["sbsys_id"], c["cpr_number"], c["case_worker_id"],
             c["effort_step_id"], c["scaling_step"], c["paying_municipality_id"]) for c in cases.to_pylist()])
        connection.executemany("insert into core_user values (?, ?, ?)",
                               [tuple(u.values()) for u in caseworkers.to_pylist()])
    connection.close()
    read_cases, read_caseworkers = read_os2bos_inputs(os2bos)
    generated = generate_case_events(read_cases, read_caseworkers, AS_OF, 3)
    assert generated.equals(generate_case_events(cases, caseworkers, AS_OF, 3))
    assert set(generated["municipality_code"].to_pylist()) == {"901", "902"}

    store = tmp_path / "case_events.sqlite"
    write_case_events(generated, store)
    with sqlite3.connect(store) as connection:
        count, first = connection.execute("select count(*), min(updated_at) from events").fetchone()
    connection.close()
    assert count == generated.num_rows
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", first)
