"""Children, their parents, caseworkers and teams, and how each case changes over time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ingestion.sample_data import catalogue
from ingestion.sample_data.arrays import expand, os2bos_table, to_timestamps

ASSESSMENT_INTERVAL_DAYS = 182  # outcome assessments roughly every six months
MAX_ASSESSMENTS = 10


@dataclass
class Cases:
    """The generated cases as columns (one element per case), before they become tables."""

    case_id: np.ndarray
    municipality_id: np.ndarray
    created: np.ndarray  # day numbers
    birth: np.ndarray
    female: np.ndarray
    cpr: list[str]
    caseworker_id: np.ndarray  # the caseworker now
    district_id: np.ndarray
    target_group_id: np.ndarray
    effort_step: np.ndarray  # the step now
    scaling_step: np.ndarray  # the scaling step now


def _names(rng: np.random.Generator, female: np.ndarray) -> list[str]:
    first_f = np.array(catalogue.FIRST_NAMES_F)[rng.integers(0, len(catalogue.FIRST_NAMES_F), len(female))]
    first_m = np.array(catalogue.FIRST_NAMES_M)[rng.integers(0, len(catalogue.FIRST_NAMES_M), len(female))]
    last = np.array(catalogue.LAST_NAMES)[rng.integers(0, len(catalogue.LAST_NAMES), len(female))]
    first = np.where(female, first_f, first_m)
    return [f"{f} {l}" for f, l in zip(first.tolist(), last.tolist())]


def cpr_numbers(rng: np.random.Generator, birth: np.ndarray, female: np.ndarray, invalid_rate: float = 0.0) -> list[str]:
    """CPR numbers ddmmyy + 4 digits: 7th digit gives the century, last digit even for women.

    A share `invalid_rate` gets an impossible date (day 00 or month 13), as real registers
    occasionally hold (typing errors, substitute numbers).
    """
    dates = birth.astype("datetime64[D]").astype(str)  # yyyy-mm-dd
    year = np.array([d[:4] for d in dates]).astype(int)
    century_digit = np.where(year >= 2000, rng.choice([4, 9], len(birth)), rng.integers(0, 4, len(birth)))
    middle = rng.integers(0, 100, len(birth))
    last = rng.integers(0, 5, len(birth)) * 2 + np.where(female, 0, 1)
    invalid = rng.random(len(birth)) < invalid_rate
    numbers = []
    for d, c, m, l, bad in zip(dates, century_digit, middle, last, invalid):
        day, month = d[8:10], d[5:7]
        if bad:
            day, month = ("00", month) if l % 2 else (day, "13")
        numbers.append(f"{day}{month}{d[2:4]}{c}{m:02d}{l}")
    return numbers


def caseworker_tables(municipalities: int, per_municipality: int, history_start: int) -> tuple[dict[str, pa.Table], np.ndarray]:
    """Teams (four per municipality) and caseworkers; returns the tables and each user's municipality."""
    teams_per = len(catalogue.TEAMS)
    team_ids = np.arange(1, municipalities * teams_per + 1)
    team_municipality = (team_ids - 1) // teams_per + 1
    users = municipalities * per_municipality
    user_ids = np.arange(1, users + 1)
    user_municipality = (user_ids - 1) // per_municipality + 1
    user_team = (user_municipality - 1) * teams_per + (user_ids - 1) % teams_per + 1
    leaders = np.array([user_ids[user_team == t][0] for t in team_ids])
    tables = {
        "core_team": os2bos_table("core_team", {
            "id": team_ids, "active": True, "leader_id": leaders,
            "name": [f"{catalogue.TEAMS[(t - 1) % teams_per]} ({catalogue.MUNICIPALITIES[m - 1][1]})"
                     for t, m in zip(team_ids, team_municipality)],
        }),
        "core_user": os2bos_table("core_user", {
            "id": user_ids, "username": [f"sb{m:03d}{u:04d}" for m, u in zip(user_municipality, user_ids)],
            "first_name": "", "last_name": "", "email": [f"sb{u:04d}@kommune.example" for u in user_ids],
            "password": "!", "is_superuser": False, "is_staff": False, "is_active": True,
            "date_joined": to_timestamps(np.full(users, history_start - 3 * 365)), "team_id": user_team,
            "profile": "case_worker",
        }),
    }
    return tables, user_municipality


def generate_cases(
    rng: np.random.Generator, municipalities: int, children_per_municipality: int,
    caseworkers_per_municipality: int, first_created: int, last_created: int, initial_step: np.ndarray,
    invalid_cpr_rate: float,
) -> Cases:
    """Cases opened between two days, children aged 0-17 at opening, with a caseworker each."""
    n = municipalities * children_per_municipality
    municipality = np.repeat(np.arange(1, municipalities + 1), children_per_municipality)
    created = rng.integers(first_created, last_created + 1, n)
    age_days = rng.integers(30, 18 * 365 - 30, n)
    birth = created - age_days
    female = rng.random(n) < 0.42
    caseworker = (municipality - 1) * caseworkers_per_municipality + rng.integers(1, caseworkers_per_municipality + 1, n)
    district = (municipality - 1) * len(catalogue.DISTRICTS) + rng.integers(1, len(catalogue.DISTRICTS) + 1, n)
    handicap = rng.random(n) < 0.2
    return Cases(
        case_id=np.arange(1, n + 1), municipality_id=municipality, created=created, birth=birth, female=female,
        cpr=cpr_numbers(rng, birth, female, invalid_cpr_rate), caseworker_id=caseworker, district_id=district,
        target_group_id=np.where(handicap, 2, 1), effort_step=initial_step.copy(),
        scaling_step=rng.integers(2, 6, n),
    )


def case_history(rng: np.random.Generator, cases: Cases, as_of: int, caseworkers_per_municipality: int) -> pa.Table:
    """`core_historicalcase`: creation, then six-monthly assessments that move the staircase and
    scaling steps, and caseworker changes (turnover). Updates `cases` to the state as of today."""
    columns: dict[str, list[np.ndarray]] = {k: [] for k in (
        "id", "history_day", "history_type", "case_worker_id", "effort_step_id", "scaling_step", "municipality")}

    def record(mask: np.ndarray, days: np.ndarray, kind: str) -> None:
        columns["id"].append(cases.case_id[mask])
        columns["history_day"].append(days[mask])
        columns["history_type"].append(np.full(mask.sum(), kind))
        columns["case_worker_id"].append(cases.caseworker_id[mask].copy())
        columns["effort_step_id"].append(cases.effort_step[mask].copy())
        columns["scaling_step"].append(cases.scaling_step[mask].copy())
        columns["municipality"].append(cases.municipality_id[mask])

    everyone = np.ones(len(cases.case_id), bool)
    record(everyone, cases.created, "+")
    for assessment in range(1, MAX_ASSESSMENTS + 1):
        day = cases.created + assessment * ASSESSMENT_INTERVAL_DAYS + rng.integers(-20, 21, len(cases.case_id))
        due = day <= as_of
        if not due.any():
            break
        roll = rng.random(len(cases.case_id))
        down = due & (roll < 0.22) & (cases.effort_step > 2)
        up = due & (roll > 0.93) & (cases.effort_step < 6)
        cases.effort_step = cases.effort_step - down + up
        improve = rng.random(len(cases.case_id))
        delta = np.where(improve < 0.5, 1, np.where(improve > 0.85, -1, 0))
        cases.scaling_step = np.clip(cases.scaling_step + np.where(due, delta, 0), 1, 10)
        reassigned = due & (rng.random(len(cases.case_id)) < 0.12)  # the caseworker left or the case moved
        new_worker = (cases.municipality_id - 1) * caseworkers_per_municipality + rng.integers(
            1, caseworkers_per_municipality + 1, len(cases.case_id))
        cases.caseworker_id = np.where(reassigned, new_worker, cases.caseworker_id)
        record(due, day, "~")

    history_day = np.concatenate(columns["history_day"])
    order = np.lexsort((history_day, np.concatenate(columns["id"])))
    ids = np.concatenate(columns["id"])[order]
    days = history_day[order]
    return os2bos_table("core_historicalcase", {
        "id": ids, "created": to_timestamps(cases.created[ids - 1]), "modified": to_timestamps(days),
        "user_created": "os2bos", "user_modified": "os2bos",
        "case_worker_id": np.concatenate(columns["case_worker_id"])[order],
        "acting_municipality_id": np.concatenate(columns["municipality"])[order],
        "effort_step_id": np.concatenate(columns["effort_step_id"])[order],
        "scaling_step": np.concatenate(columns["scaling_step"])[order], "assessment_comment": "",
        "history_id": np.arange(1, len(ids) + 1), "history_date": to_timestamps(days, hour=14),
        "history_change_reason": None, "history_type": np.concatenate(columns["history_type"])[order],
        "history_user_id": np.concatenate(columns["case_worker_id"])[order],
    })


def case_table(cases: Cases, last_modified: np.ndarray) -> pa.Table:
    created = cases.created
    return os2bos_table("core_case", {
        "id": cases.case_id, "created": to_timestamps(created), "modified": to_timestamps(last_modified, hour=14),
        "user_created": "os2bos", "user_modified": "os2bos",
        "sbsys_id": [f"27.24.00-G01-{i}-{str(d.astype('datetime64[D]'))[2:4]}" for i, d in zip(cases.case_id, created)],
        "cpr_number": cases.cpr, "name": _names(np.random.default_rng(int(cases.case_id.sum())), cases.female),
        "case_worker_id": cases.caseworker_id, "district_id": cases.district_id,
        "paying_municipality_id": cases.municipality_id, "acting_municipality_id": cases.municipality_id,
        "residence_municipality_id": cases.municipality_id, "target_group_id": cases.target_group_id,
        "effort_step_id": cases.effort_step, "scaling_step": cases.scaling_step, "assessment_comment": "", "note": "",
    })


def related_persons(rng: np.random.Generator, cases: Cases) -> pa.Table:
    """Parents of each child (one or two), identified by CPR number and name, as OS2bos keeps them."""
    count = np.where(rng.random(len(cases.case_id)) < 0.7, 2, 1)
    owner, offset = expand(count)
    mother = offset == 0
    parent_age = rng.integers(20 * 365, 45 * 365, len(owner))
    birth = cases.birth[owner] - parent_age
    return os2bos_table("core_relatedperson", {
        "id": np.arange(1, len(owner) + 1), "created": to_timestamps(cases.created[owner]),
        "modified": to_timestamps(cases.created[owner]), "user_created": "os2bos", "user_modified": "os2bos",
        "relation_type": np.where(mother, catalogue.RELATION_TYPES[0], catalogue.RELATION_TYPES[1]),
        "cpr_number": cpr_numbers(rng, birth, mother), "name": _names(rng, mother), "related_case": "",
        "from_serviceplatformen": True, "main_case_id": cases.case_id[owner],
    })

