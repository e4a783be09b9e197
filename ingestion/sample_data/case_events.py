"""Case-process events for the sample municipality, as a child-case system (DUBU, Nexus; Treserva) records them.

Every OS2bos case gets a realistic flow: notification -> assessment -> investigation started and
finished -> decision -> plan -> follow-ups with outcome assessments -> (sometimes) closure, plus
extra notifications, late registrations, corrections and a few events deleted as registered in
error. Swedish data also records whether a decision was executed (and reports to IVO when not). Danish
data has a few immediate efforts (*straksindsats*, help started at once on application without an
investigation), each registered on its own short case (the main case's number with `-S`) that is
mostly closed within 12 weeks.
Delays are drawn so that most steps meet their deadline and a realistic share does not (see
`../shared/DOMAIN.md`). The generation is vectorised with numpy: national scale (~300k cases)
takes seconds. The result is deterministic for the inputs and the seed.

`write_case_events` stores the events in the SQLite file the sample API server
(`case_events_api`) serves. Command line:
`python -m ingestion.sample_data.case_events --os2bos var/sources/os2bos.sqlite --out var/sources/case_events.sqlite`.
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.duckdb_extensions import load_extension
from ingestion.sample_data import catalogue

# Used when the cases carry no municipality: fictional codes no real municipality has.
MUNICIPALITY_CODES = {"DK": "999", "SE": "9999"}
PLAN_TYPES = {"DK": "handleplan", "SE": "vardplan"}
REPORTERS = ("school", "daycare", "health", "police", "social_services", "parent", "relative", "anonymous")
REPORTER_WEIGHTS = (0.24, 0.10, 0.16, 0.18, 0.08, 0.10, 0.06, 0.08)
CLOSURE_REASONS = ("goal_reached", "moved_away", "aged_out", "transferred", "other")
IMMEDIATE_EFFORT_SHARE = 0.04  # of DK cases; a local rule closes their own case within 12 weeks
IMMEDIATE_EFFORT_CASE_SUFFIX = "-S"

DETAIL_COLUMNS: dict[str, pa.DataType] = {
    "reporter": pa.string(),
    "urgent": pa.bool_(),
    "outcome": pa.string(),
    "related_event_id": pa.string(),
    "staircase_step": pa.int8(),
    "scaling_step": pa.int8(),
    "goal_reached": pa.string(),
    "plan_type": pa.string(),
    "follow_up_number": pa.int16(),
    "reason": pa.string(),
}
_TIMESTAMP = pa.timestamp("us", tz="UTC")
EVENT_SCHEMA = pa.schema([
    ("id", pa.string()), ("type", pa.string()), ("national_id", pa.string()),
    ("case_reference", pa.string()), ("jurisdiction", pa.string()), ("municipality_code", pa.string()),
    ("caseworker", pa.string()), ("team", pa.string()), ("occurred_at", _TIMESTAMP),
    ("updated_at", _TIMESTAMP), ("deleted", pa.bool_()),
    *DETAIL_COLUMNS.items(),
])
WIRE_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # DuckDB strftime; text in this form sorts in time order

_SECONDS_PER_DAY = 86_400


class _EventBlocks:
    """Collects events block by block (one event type, many cases); ids are positions until `_assemble`."""

    def __init__(self) -> None:
        self._blocks: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray], str]] = []
        self._size = 0

    def add(
        self, event_type: str, case_index: np.ndarray, occurred: np.ndarray,
        related: np.ndarray | None = None, case_suffix: str = "", **details: np.ndarray,
    ) -> np.ndarray:
        """One event per case index at `occurred` (days since 1970); returns their provisional ids.

        `related` holds the provisional ids of the events these refer to (`related_event_id`);
        `case_suffix` is appended to the case reference (a separate case of the same child).
        """
        unknown = set(details) - set(DETAIL_COLUMNS)
        if unknown:
            raise ValueError(f"unknown detail columns {sorted(unknown)}")
        ids = np.arange(self._size, self._size + len(case_index))
        references = np.full(len(case_index), -1) if related is None else related
        self._blocks.append((event_type, case_index, occurred, references, details, case_suffix))
        self._size += len(case_index)
        return ids

    def columns(self) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray, dict[str, pa.Array], pa.Array]:
        """Types, case indexes, times, related provisional ids (-1: none), the other details and case suffixes."""
        names = sorted({b[0] for b in self._blocks})
        codes = np.concatenate([np.full(len(b[1]), names.index(b[0])) for b in self._blocks])
        types = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(names)).cast(pa.string())
        case_index, occurred, related = (np.concatenate([b[i] for b in self._blocks]) for i in (1, 2, 3))
        details = {
            name: pa.concat_arrays([
                pa.array(b[4][name], dtype) if name in b[4] else pa.nulls(len(b[1]), dtype)
                for b in self._blocks
            ])
            for name, dtype in DETAIL_COLUMNS.items() if name != "related_event_id"
        }
        suffix_names = sorted({b[5] for b in self._blocks})
        suffix_codes = np.concatenate([np.full(len(b[1]), suffix_names.index(b[5])) for b in self._blocks])
        suffixes = pa.DictionaryArray.from_arrays(
            pa.array(suffix_codes, pa.int32()), pa.array(suffix_names, pa.string())).cast(pa.string())
        return types, case_index, occurred, related, details, suffixes


def _days(timestamps: pa.ChunkedArray) -> np.ndarray:
    micros = pc.cast(pc.cast(timestamps, pa.timestamp("us")), pa.int64()).to_numpy(zero_copy_only=False)
    return micros / (_SECONDS_PER_DAY * 1e6)


def _office_hours(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """The same days at a time between 07:30 and 15:30 UTC."""
    return np.floor(days) + rng.uniform(7.5, 15.5, len(days)) / 24


def _personnummers(cprs: pa.ChunkedArray) -> pa.Array:
    """The Swedish personnummer (yyyymmdd + 3 serial digits + Luhn check digit) of the same children.

    The century follows the CPR's 7th digit; the sex carried by the CPR's last digit moves to
    the serial's last digit (odd: male).
    """
    digits = np.frombuffer(np.asarray(cprs.to_pylist(), dtype="S10").tobytes(), np.uint8).reshape(-1, 10) - 48
    year2 = digits[:, 4] * 10 + digits[:, 5]
    century_digit = digits[:, 6]
    century = np.where(century_digit <= 3, 19, np.where(np.isin(century_digit, (4, 9)),
                                                        np.where(year2 <= 36, 20, 19), np.where(year2 <= 57, 20, 18)))
    body = np.column_stack([digits[:, 4:6], digits[:, 2:4], digits[:, 0:2], digits[:, 7:9], digits[:, 9]])
    doubled = body * np.where(np.arange(9) % 2 == 0, 2, 1)
    check = (10 - (doubled // 10 + doubled % 10).sum(axis=1) % 10) % 10
    full = np.column_stack([century // 10, century % 10, body, check]).astype(np.uint8) + 48
    return pa.array(full.view("S12").ravel()).cast(pa.string())


def generate_case_events(
    cases: pa.Table, caseworkers: pa.Table, as_of: date, seed: int, jurisdiction: str = "DK",
) -> pa.Table:
    """The case-process events of `cases` up to the end of `as_of`, in `EVENT_SCHEMA`.

    `cases` has the OS2bos `core_case` columns `id`, `sbsys_id` (the case reference),
    `cpr_number`, `created`, `case_worker_id`, `effort_step_id` (read as the staircase step
    1-6), `scaling_step` and optionally `paying_municipality_id` (giving the events' municipality code); `caseworkers` has `id`, `username` and `team_id`. The decision is
    dated at the case's creation, the steps before it are dated backwards from there, and the
    last outcome assessment of a case equals its current staircase and scaling step.
    """
    if jurisdiction not in MUNICIPALITY_CODES:
        raise ValueError(f"unknown jurisdiction {jurisdiction!r}; choose DK or SE")
    rng = np.random.default_rng(seed)
    n = cases.num_rows
    horizon = (as_of + timedelta(days=1) - date(1970, 1, 1)).days  # midnight after as_of, in days
    every = np.arange(n)
    created = _days(cases["created"])

    blocks = _EventBlocks()
    # Before the decision, dated backwards: an investigation of 4 months at most in ~80 % of cases.
    decision = _office_hours(rng, created + rng.uniform(0, 3, n))
    finished = _office_hours(rng, decision - rng.uniform(1, 14, n))
    duration = np.where(rng.random(n) < 0.2, rng.uniform(123, 200, n), np.clip(rng.gamma(4, 20, n), 14, 121))
    started = _office_hours(rng, finished - duration)
    assessed = started - rng.uniform(0, 5, n)
    assessment_hours = np.where(rng.random(n) < 0.12, rng.uniform(25, 240, n), rng.uniform(0.5, 23.5, n))
    notified = assessed - assessment_hours / 24

    notification = blocks.add(
        "notification_received", every, notified,
        reporter=rng.choice(REPORTERS, n, p=REPORTER_WEIGHTS), urgent=rng.random(n) < 0.1,
    )
    assessment = blocks.add(
        "notification_assessed", every, assessed,
        related=notification, outcome=np.full(n, "investigate"),
    )
    investigation = blocks.add("investigation_started", every, started, related=assessment)
    investigation_end = blocks.add(
        "investigation_finished", every, finished,
        related=investigation, outcome=np.full(n, "measures_needed"),
    )

    # Later notifications about the same child, mostly assessed within 24 hours.
    extra = np.repeat(every, rng.poisson(0.4, n))
    extra_at = rng.uniform(notified[extra] + 1, horizon)
    extra_notification = blocks.add(
        "notification_received", extra, extra_at,
        reporter=rng.choice(REPORTERS, len(extra), p=REPORTER_WEIGHTS), urgent=rng.random(len(extra)) < 0.1,
    )
    late = rng.random(len(extra)) < 0.12
    blocks.add(
        "notification_assessed", extra, extra_at + np.where(late, rng.uniform(25, 240, len(extra)),
                                                            rng.uniform(0.5, 23.5, len(extra))) / 24,
        related=extra_notification,
        outcome=np.where(rng.random(len(extra)) < 0.85, "added_to_case", "no_action"),
    )

    # Follow-ups: the first within 3 months of the help starting (~85 %), then at most every 6 months (~88 %).
    help_starts = decision + rng.uniform(0, 30, n)
    columns = int(np.ceil(max(horizon - help_starts.min(), 0) / 90)) + 2
    gaps = np.where(rng.random((n, columns)) < 0.12, rng.uniform(183, 260, (n, columns)),
                    rng.uniform(90, 182, (n, columns)))
    gaps[:, 0] = np.where(rng.random(n) < 0.15, rng.uniform(92, 150, n), rng.uniform(30, 90, n))
    follow_up_at = _office_hours(rng, (help_starts[:, None] + np.cumsum(gaps, axis=1)).ravel()).reshape(n, columns)
    held = (follow_up_at < horizon).sum(axis=1)

    # About a third of the cases close some weeks after one of their follow-ups.
    last_held = np.floor(rng.random(n) * held).astype(int)
    closed_at = follow_up_at[every, np.minimum(last_held, columns - 1)] + rng.uniform(1, 45, n)
    closed = (rng.random(n) < 0.35) & (held > 0) & (closed_at < horizon)
    held = np.where(closed, last_held + 1, held)
    kept = np.arange(columns)[None, :] < held[:, None]

    # Outcome assessments: a baseline at the decision and one at every follow-up. Steps move
    # mostly down the staircase and up the scaling; the last assessment is the case's current state.
    staircase_moves = rng.choice((-1, 0, 1), (n, columns), p=(0.18, 0.75, 0.07)) * kept
    scaling_moves = rng.choice((2, 1, 0, -1, -2), (n, columns), p=(0.08, 0.35, 0.37, 0.15, 0.05)) * kept
    current_step = pc.fill_null(cases["effort_step_id"], 3).to_numpy().astype(int)
    current_scaling = pc.fill_null(cases["scaling_step"], 5).to_numpy().astype(int)

    def trajectory(current: np.ndarray, moves: np.ndarray, low: int, high: int) -> np.ndarray:
        """Values at the baseline (column 0) and after each follow-up, ending at `current`."""
        still_to_come = np.cumsum(moves[:, ::-1], axis=1)[:, ::-1]  # moves at and after each follow-up
        before = current[:, None] - still_to_come
        return np.clip(np.concatenate([before, current[:, None]], axis=1), low, high)

    staircase = trajectory(current_step, staircase_moves, 1, 6)
    scaling = trajectory(current_scaling, scaling_moves, 1, 10)

    decided = blocks.add(
        "decision_made", every, decision, related=investigation_end,
        outcome=np.full(n, "granted"), staircase_step=staircase[:, 0],
    )
    blocks.add(
        "outcome_assessed", every, decision + 1 / 24, related=decided,
        staircase_step=staircase[:, 0], scaling_step=scaling[:, 0],
    )
    plan_days = np.where(rng.random(n) < 0.15, rng.uniform(92, 180, n), rng.uniform(5, 90, n))
    blocks.add(
        "plan_created", every, _office_hours(rng, decision + plan_days), related=decided,
        plan_type=np.full(n, PLAN_TYPES[jurisdiction]),
    )

    case_of, number = np.nonzero(kept)
    follow_up = blocks.add(
        "follow_up_held", case_of, follow_up_at[case_of, number],
        related=decided[case_of], follow_up_number=number + 1,
    )
    step_then, scaling_then = staircase[case_of, number + 1], scaling[case_of, number + 1]
    scaling_gain = scaling_then - scaling[case_of, number]
    moved_down = step_then < staircase[case_of, number]
    blocks.add(
        "outcome_assessed", case_of, follow_up_at[case_of, number] + rng.uniform(0, 2, len(case_of)) / 24,
        related=follow_up, staircase_step=step_then, scaling_step=scaling_then,
        goal_reached=np.where(moved_down | (scaling_gain >= 2), "yes", np.where(scaling_gain == 1, "partly", "no")),
    )
    improved = (staircase[every, held] < staircase[:, 0]) | (scaling[every, held] >= 7)
    reason = np.where(improved & (rng.random(n) < 0.7), "goal_reached",
                      rng.choice(CLOSURE_REASONS[1:], n, p=(0.35, 0.3, 0.2, 0.15)))
    closing = every[closed]
    blocks.add("case_closed", closing, _office_hours(rng, closed_at[closed]), reason=reason[closed])

    if jurisdiction == "DK":
        # Immediate efforts (straksindsats, local rule: closed within 12 weeks), on a separate case of
        # a few children. Drawn from their own stream so that the other events keep their draws.
        extra_rng = np.random.default_rng([seed, 30])
        immediate = every[extra_rng.random(n) < IMMEDIATE_EFFORT_SHARE]
        size = len(immediate)
        # Some come back for short help after their case closed (a return to services); the others any time.
        after_closure = closed[immediate] & (extra_rng.random(size) < 0.6)
        effort_start = _office_hours(extra_rng, np.where(
            after_closure, closed_at[immediate] + extra_rng.uniform(20, 540, size),
            extra_rng.uniform(notified[immediate] - 400, horizon - 1)))
        effort_days = np.where(extra_rng.random(size) < 0.85, extra_rng.uniform(10, 84, size),
                               extra_rng.uniform(85, 150, size))
        blocks.add("immediate_effort_started", immediate, effort_start, case_suffix=IMMEDIATE_EFFORT_CASE_SUFFIX)
        blocks.add("case_closed", immediate, _office_hours(extra_rng, effort_start + effort_days),
                   case_suffix=IMMEDIATE_EFFORT_CASE_SUFFIX,
                   reason=np.where(extra_rng.random(size) < 0.8, "goal_reached", "other"))

    if jurisdiction == "SE":
        # SoL: a decision not executed within 3 months is reported to IVO (quarterly).
        chance = rng.random(n)
        executed_days = np.where(chance < 0.8, rng.uniform(1, 90, n), rng.uniform(91, 200, n))
        executed = chance < 0.94
        blocks.add("decision_executed", every[executed], _office_hours(rng, decision + executed_days)[executed],
                   related=decided[executed])
        reported = every[(executed_days > 90) & (decision + 91 < horizon)]
        blocks.add("non_execution_reported", reported,
                   _office_hours(rng, decision[reported] + rng.uniform(91, 181, len(reported))),
                   related=decided[reported])

    return _assemble(blocks, cases, caseworkers, jurisdiction, horizon, rng)


def _assemble(
    blocks: _EventBlocks, cases: pa.Table, caseworkers: pa.Table, jurisdiction: str, horizon: int,
    rng: np.random.Generator,
) -> pa.Table:
    """Events up to the horizon with registration times, corrections, deletions and final ids."""
    types, case_index, occurred, related, details, suffixes = blocks.columns()
    occurred = np.round(occurred * _SECONDS_PER_DAY) / _SECONDS_PER_DAY  # whole seconds, as case systems store
    size = len(types)
    late = rng.random(size) < 0.05
    updated = occurred + np.where(late, rng.uniform(1, 20, size), rng.exponential(0.15, size))
    updated += np.where(rng.random(size) < 0.03, rng.uniform(1, 60, size), 0)  # corrected later
    deletable = pc.is_in(types, pa.array(["follow_up_held", "outcome_assessed", "notification_received"]))
    deleted = deletable.to_numpy(zero_copy_only=False) & (rng.random(size) < 0.004)
    updated += np.where(deleted, rng.uniform(0, 30, size), 0)
    updated = np.clip(np.round(updated * _SECONDS_PER_DAY), occurred * _SECONDS_PER_DAY,
                      horizon * _SECONDS_PER_DAY - 1) / _SECONDS_PER_DAY

    order = np.argsort(occurred, kind="stable")
    order = order[occurred[order] < horizon]
    rank = np.full(size, -1)
    rank[order] = np.arange(1, len(order) + 1)  # ids follow the time the events happened, as a sequence would

    def event_ids(positions: np.ndarray) -> pa.Array:
        numbers = pc.cast(pa.array(rank[positions]), pa.string())
        return pc.binary_join_element_wise("ev-", pc.utf8_lpad(numbers, 9, "0"), "")

    def timestamps(days: np.ndarray) -> pa.Array:
        return pa.array(np.round(days[order] * _SECONDS_PER_DAY * 1e6).astype(np.int64)).cast(_TIMESTAMP)

    ordered_related = related[order]
    case_rows = pa.array(case_index[order])
    worker_rows = pc.index_in(cases["case_worker_id"].take(case_rows), value_set=caseworkers["id"].combine_chunks())
    national_ids = cases["cpr_number"] if jurisdiction == "DK" else _personnummers(cases["cpr_number"])
    columns = {
        "id": event_ids(order),
        "type": types.take(pa.array(order)),
        "national_id": national_ids.take(case_rows),
        "case_reference": pc.binary_join_element_wise(
            pc.cast(cases["sbsys_id"], pa.string()).take(case_rows), suffixes.take(pa.array(order)), ""),
        "jurisdiction": pa.array([jurisdiction] * len(order)),
        "municipality_code": _municipality_codes(cases, jurisdiction).take(case_rows),
        "caseworker": caseworkers["username"].take(worker_rows),
        "team": pc.cast(caseworkers["team_id"].take(worker_rows), pa.string()),
        "occurred_at": timestamps(occurred),
        "updated_at": timestamps(updated),
        "deleted": pa.array(deleted[order]),
        "related_event_id": pc.if_else(pa.array(ordered_related < 0), pa.scalar(None, pa.string()),
                                       event_ids(np.maximum(ordered_related, 0))),
        **{name: column.take(pa.array(order)) for name, column in details.items()},
    }
    return pa.table({field.name: columns[field.name] for field in EVENT_SCHEMA}, schema=EVENT_SCHEMA)


def _municipality_codes(cases: pa.Table, jurisdiction: str) -> pa.Array:
    """Each case's municipality code: the sample's kommunekode of its paying municipality (DK).

    The sample numbers its OS2bos municipalities in the order of `catalogue.MUNICIPALITIES`.
    """
    if jurisdiction == "DK" and "paying_municipality_id" in cases.column_names:
        codes = pa.array([code for code, _ in catalogue.MUNICIPALITIES])
        positions = pc.subtract(pc.cast(cases["paying_municipality_id"], pa.int64()), 1)
        return pc.fill_null(codes.take(positions.combine_chunks()), MUNICIPALITY_CODES[jurisdiction])
    return pa.array([MUNICIPALITY_CODES[jurisdiction]] * cases.num_rows)


def write_case_events(events: pa.Table, path: Path) -> None:
    """Store events in a fresh SQLite file (replacing an older one) for the sample API server.

    Timestamps are stored in the API's wire format (UTC, microseconds, `Z`), which sorts as text
    in time order; the index serves the API's `(updated_at, id)` paging. DuckDB formats and
    writes the rows (national scale in under a minute).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.unlink(missing_ok=True)
    table = events.select(EVENT_SCHEMA.names)
    columns = ", ".join(
        f"strftime(timezone('UTC', {name}), '{WIRE_TIMESTAMP}') AS {name}" if name in ("occurred_at", "updated_at")
        else f'"{name}"'
        for name in table.column_names
    )
    connection = duckdb.connect()
    try:
        load_extension(connection, "sqlite_scanner")
        connection.execute(f"ATTACH '{scratch}' AS target (TYPE sqlite)")
        connection.register("generated", table)
        connection.execute(f"CREATE TABLE target.events AS SELECT {columns} FROM generated")
        connection.execute("DETACH target")
    finally:
        connection.close()
    with sqlite3.connect(scratch) as sqlite:
        sqlite.execute("CREATE UNIQUE INDEX events_id ON events (id)")
        sqlite.execute("CREATE INDEX events_updated ON events (updated_at, id)")
    sqlite.close()
    scratch.replace(path)


def read_os2bos_inputs(path: Path) -> tuple[pa.Table, pa.Table]:
    """`core_case` and `core_user` from an OS2bos SQLite file, in the form `generate_case_events` takes."""
    with sqlite3.connect(path) as connection:
        case_rows = connection.execute(
            "SELECT id, sbsys_id, cpr_number, created, case_worker_id, effort_step_id, scaling_step, "
            "paying_municipality_id FROM core_case"
        ).fetchall()
        user_rows = connection.execute("SELECT id, username, team_id FROM core_user").fetchall()
    connection.close()
    ids, references, cprs, created, workers, steps, scaling, municipalities = zip(*case_rows) if case_rows else ((),) * 8
    cases = pa.table({
        "id": pa.array(ids, pa.int64()),
        "sbsys_id": pa.array(references, pa.string()),
        "cpr_number": pa.array(cprs, pa.string()),
        "created": pa.array([datetime.fromisoformat(c) for c in created], _TIMESTAMP),
        "case_worker_id": pa.array(workers, pa.int64()),
        "effort_step_id": pa.array(steps, pa.int64()),
        "scaling_step": pa.array(scaling, pa.int64()),
        "paying_municipality_id": pa.array(municipalities, pa.int64()),
    })
    user_ids, usernames, teams = zip(*user_rows) if user_rows else ((),) * 3
    caseworkers = pa.table({
        "id": pa.array(user_ids, pa.int64()),
        "username": pa.array(usernames, pa.string()),
        "team_id": pa.array(teams, pa.int64()),
    })
    return cases, caseworkers


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate the sample municipality's case-process events.")
    parser.add_argument("--os2bos", type=Path, required=True, help="the sample's os2bos.sqlite")
    parser.add_argument("--out", type=Path, required=True, help="the SQLite file the API server reads")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="default: today")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--jurisdiction", choices=sorted(MUNICIPALITY_CODES), default="DK")
    args = parser.parse_args()

    started = time.perf_counter()
    cases, caseworkers = read_os2bos_inputs(args.os2bos)
    events = generate_case_events(cases, caseworkers, args.as_of or date.today(), args.seed, args.jurisdiction)
    write_case_events(events, args.out)
    print(f"[sample] {events.num_rows} case events for {cases.num_rows} cases "
          f"({time.perf_counter() - started:.1f} s) -> {args.out}")


if __name__ == "__main__":
    main()
