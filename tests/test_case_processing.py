"""Case-processing deadlines and effect, checked by an independent path.

The deadlines of every step instance are recomputed here in plain Python from the generator's own
events (`sources/case_events.sqlite`, before the API, dlt, pseudonymisation and dbt) with the Danish
rules written out from DOMAIN.md, and compared with `fct_case_steps` in the published serving file:
the counts per step and status, and every instance's due date, status and days late, are equal. The
outcome movements in `fct_outcomes` are recomputed from the generator's assessments and checked
against the generator's trajectories (the last assessment is the case's current OS2bos state; the
generator's goal_reached follows the movement since the previous assessment). Swedish rules are
covered by the dbt unit tests in `dbt_project/models/intermediate/_intermediate.yml`.
"""

from __future__ import annotations

import calendar
import math
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.conftest import AS_OF, Warehouse

AS_OF_AT = datetime.combine(AS_OF + timedelta(days=1), time())  # end of the reference date, UTC
ENDED_BY_CLOSURE = {"investigation_finished", "plan_after_decision", "follow_up"}


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    case_reference: str
    national_id: str
    occurred_at: datetime
    related: str | None
    outcome: str | None
    staircase_step: int | None
    scaling_step: int | None
    goal_reached: str | None


@dataclass(frozen=True)
class Step:
    key: str
    process_step: str
    case_reference: str
    started_at: datetime
    due_date: date
    due_at: datetime
    done_at: datetime | None


def read_events(path: Path) -> list[Event]:
    """The generator's live events (deleted ones are tombstones in the API) up to the end of AS_OF."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT id, type, case_reference, national_id, occurred_at, related_event_id, outcome, staircase_step, "
            "scaling_step, goal_reached FROM events WHERE NOT deleted").fetchall()
    connection.close()
    events = [Event(*r[:4], datetime.strptime(r[4], "%Y-%m-%dT%H:%M:%S.%fZ"), *r[5:]) for r in rows]
    return sorted((e for e in events if e.occurred_at < AS_OF_AT), key=lambda e: (e.occurred_at, e.id))


def add_months(day: date, months: int) -> date:
    """Calendar months, the day clamped to the end of a shorter month (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def calendar_deadline(due: date) -> tuple[date, datetime]:
    """A deadline in days, weeks or months: on time until the end (24:00) of the due date."""
    return due, datetime.combine(due + timedelta(days=1), time())


def danish_steps(events: list[Event]) -> list[Step]:
    """Every required DK step instance, with the rules of DOMAIN.md written out."""
    first_link: dict[tuple[str, str], Event] = {}
    for event in events:  # time order: the first linked event of each type wins
        if event.related is not None:
            first_link.setdefault((event.type, event.related), event)
    steps: list[Step] = []

    def step(name: str, start: Event, due: tuple[date, datetime], done: Event | None) -> None:
        steps.append(Step(f"{name}|{start.id}", name, start.case_reference, start.occurred_at, *due,
                          done.occurred_at if done else None))

    for event in events:
        if event.type == "notification_received":
            due_at = event.occurred_at + timedelta(hours=24)
            step("notification_assessed", event, (due_at.date(), due_at),
                 first_link.get(("notification_assessed", event.id)))
        elif event.type == "investigation_started":
            step("investigation_finished", event,
                 calendar_deadline(add_months(event.occurred_at.date(), 4)),
                 first_link.get(("investigation_finished", event.id)))
        elif event.type == "decision_made" and event.outcome == "granted":
            step("plan_after_decision", event,
                 calendar_deadline(add_months(event.occurred_at.date(), 3)),
                 first_link.get(("plan_created", event.id)))
            held = [e for e in events if e.type == "follow_up_held" and e.related == event.id]
            previous = event  # the first follow-up within 3 months of the decision, then at most 6 months apart
            for number in range(len(held) + 1):
                months = 3 if number == 0 else 6
                step("follow_up", previous,
                     calendar_deadline(add_months(previous.occurred_at.date(), months)),
                     held[number] if number < len(held) else None)
                previous = held[number] if number < len(held) else previous
        elif event.type == "immediate_effort_started":
            closures = [e for e in events if e.type == "case_closed" and e.case_reference == event.case_reference
                        and e.occurred_at >= event.occurred_at]
            step("immediate_effort_closed", event,
                 calendar_deadline(event.occurred_at.date() + timedelta(weeks=12)),
                 closures[0] if closures else None)
    return steps


def status_of(step: Step, closures: dict[str, list[datetime]]) -> tuple[str, int] | None:
    """(status, days late) as of the end of AS_OF; None when the case closed before the step was due."""
    closed_at = None
    if step.process_step in ENDED_BY_CLOSURE:
        closed_at = next((c for c in closures.get(step.case_reference, []) if c >= step.started_at), None)
    if step.done_at is not None:
        status, measured = ("done_on_time" if step.done_at <= step.due_at else "done_late"), step.done_at
    elif closed_at is not None:
        if closed_at <= step.due_at:
            return None
        status, measured = "not_done_case_closed", closed_at
    else:
        status = "open_overdue" if step.due_at < AS_OF_AT else "open_within_deadline"
        measured = AS_OF_AT
    late = measured - step.due_at
    return status, math.ceil(late.total_seconds() / 86400) if late > timedelta(0) else 0


@pytest.fixture(scope="module")
def generated_events(published_warehouse: Warehouse) -> list[Event]:
    return read_events(published_warehouse.sources / "case_events.sqlite")


def serving(warehouse: Warehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse.serving_path), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def test_deadline_compliance_per_step_equals_an_independent_computation(
    published_warehouse: Warehouse, generated_events: list[Event],
) -> None:
    closures: dict[str, list[datetime]] = defaultdict(list)
    for event in generated_events:
        if event.type == "case_closed":
            closures[event.case_reference].append(event.occurred_at)
    expected: dict[str, tuple[str, date, str, int]] = {}
    for step in danish_steps(generated_events):
        outcome = status_of(step, closures)
        if outcome is not None:
            expected[step.key] = (step.process_step, step.due_date, *outcome)

    rows = serving(published_warehouse, "SELECT step_instance_key, process_step, due_date, step_status, days_late "
                                        "FROM marts.fct_case_steps")
    actual = {key: (process_step, due_date, status, days_late) for key, process_step, due_date, status, days_late in rows}

    per_step = Counter((v[0], v[2]) for v in expected.values())
    assert Counter((v[0], v[2]) for v in actual.values()) == per_step
    assert actual == expected
    # the sample exercises every Danish step and both sides of the deadline
    assert {s for s, _ in per_step} == {"notification_assessed", "investigation_finished", "plan_after_decision",
                                        "follow_up", "immediate_effort_closed"}
    assert {"done_on_time", "done_late", "open_overdue", "open_within_deadline"} <= {status for _, status in per_step}


def test_open_investigations_near_their_deadline_are_answerable(published_warehouse: Warehouse) -> None:
    rows = serving(published_warehouse, """
        SELECT process_step, step_status, days_to_deadline, is_open_near_deadline, due_date, reference_date
        FROM marts.fct_case_steps WHERE step_status LIKE 'open%'""")
    assert rows
    for process_step, status, days_to_deadline, near, due_date, reference_date in rows:
        assert reference_date == AS_OF
        assert days_to_deadline == (due_date - AS_OF).days
        assert near == (status == "open_within_deadline" and days_to_deadline <= 14)
        if days_to_deadline < 0:
            assert status == "open_overdue"
        if status == "open_overdue":  # an hour rule can run out during the reference date itself
            assert days_to_deadline < 0 or (days_to_deadline == 0 and process_step == "notification_assessed")


def test_outcome_movement_follows_the_generators_trajectories(
    published_warehouse: Warehouse, generated_events: list[Event],
) -> None:
    assessments: dict[str, list[Event]] = defaultdict(list)
    for event in generated_events:
        if event.type == "outcome_assessed":
            assessments[event.case_reference].append(event)
    expected = {}
    for series in assessments.values():
        base = series[0]
        for number, event in enumerate(series):
            previous = series[number - 1] if number else None
            expected[event.id] = (
                number, number == len(series) - 1,
                event.staircase_step - base.staircase_step, event.scaling_step - base.scaling_step,
                None if previous is None else event.staircase_step - previous.staircase_step,
                None if previous is None else event.scaling_step - previous.scaling_step,
            )
    rows = serving(published_warehouse, """
        SELECT outcome_assessment_id, assessment_sequence, is_latest_assessment, staircase_change_vs_baseline,
               scaling_change_vs_baseline, staircase_change_vs_previous, scaling_change_vs_previous
        FROM marts.fct_outcomes""")
    assert {row[0]: tuple(row[1:]) for row in rows} == expected

    # The generator ends every case's trajectory at its current OS2bos staircase and scaling step.
    cases = published_warehouse.sample.tables["core_case"].to_pylist()
    current = {c["sbsys_id"]: (c["effort_step_id"] or 3, c["scaling_step"] or 5) for c in cases}
    latest = serving(published_warehouse, "SELECT case_reference, staircase_step, scaling_step FROM marts.fct_outcomes "
                                          "WHERE is_latest_assessment")
    assert latest and all(current[reference] == (step, scaling) for reference, step, scaling in latest)

    # Its goal_reached follows the movement since the previous assessment (cases without deleted assessments).
    with sqlite3.connect(published_warehouse.sources / "case_events.sqlite") as connection:
        damaged = {ref for (ref,) in connection.execute(
            "SELECT DISTINCT case_reference FROM events WHERE deleted AND type = 'outcome_assessed'")}
    connection.close()
    complete = set(assessments) - damaged
    checked = serving(published_warehouse, """
        SELECT case_reference, goal_reached, moved_down_vs_previous, scaling_change_vs_previous
        FROM marts.fct_outcomes WHERE NOT is_baseline""")
    judged = [(goal, "yes" if down or gain >= 2 else "partly" if gain == 1 else "no")
              for ref, goal, down, gain in checked if ref in complete]
    assert len(judged) > 1000 and all(goal == rule for goal, rule in judged)
    # and the generator moves children mostly down the staircase
    moved = serving(published_warehouse, "SELECT count(*) FILTER (WHERE moved_down_vs_baseline), "
                                         "count(*) FILTER (WHERE moved_up_vs_baseline) FROM marts.fct_outcomes "
                                         "WHERE is_latest_assessment")[0]
    assert moved[0] > 2 * moved[1] > 0


def test_return_to_services_within_12_months(published_warehouse: Warehouse, generated_events: list[Event]) -> None:
    closed: dict[str, datetime] = {}
    for event in generated_events:
        if event.type == "case_closed":
            closed.setdefault(event.case_reference, event.occurred_at)
    child = {e.case_reference: e.national_id for e in generated_events}
    starts_help = [e for e in generated_events
                   if (e.type == "notification_assessed" and e.outcome == "investigate")
                   or (e.type == "decision_made" and e.outcome == "granted") or e.type == "immediate_effort_started"]
    expected = {}
    for reference, closed_at in closed.items():
        returned = any(child.get(e.case_reference) == child.get(reference)
                       and closed_at < e.occurred_at <= closed_at + timedelta(days=365) for e in starts_help)
        window_over = closed_at + timedelta(days=365) < AS_OF_AT
        expected[reference] = True if returned else (False if window_over else None)
    rows = dict(serving(published_warehouse, "SELECT case_reference, returned_within_12_months FROM marts.fct_outcomes "
                                             "WHERE is_latest_assessment AND case_closed_at IS NOT NULL"))
    assert rows and rows == {ref: value for ref, value in expected.items() if ref in rows}
    assert any(rows.values()) and False in rows.values()
