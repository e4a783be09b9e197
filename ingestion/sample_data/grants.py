"""Grants (appropriations and activities), payment schedules, prices and the payments they generate.

OS2bos generates a payment for every due date of a schedule: once, daily, weekly or on the
first of each month, up to the activity's end or, if it is open-ended, to 31 December next
year. A payment is planned (`amount`, `date`) until it is paid (`paid_amount`, `paid_date`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.sample_data import catalogue
from ingestion.sample_data.arrays import (
    day_number,
    expand,
    money,
    month_index,
    month_start,
    os2bos_table,
    to_dates,
    to_timestamps,
    years,
)
from ingestion.sample_data.population import Cases, cpr_numbers
from ingestion.sample_data.reference_tables import ALL_SERVICES, DETAILS_IDS, SECTION_IDS

IN_HOUSE = len(ALL_SERVICES) - 1  # index of the in-house service in ALL_SERVICES
YEARLY_PRICE_INCREASE = 0.025  # daily prices are indexed every 1 January
FREQUENCY_DAYS = {"DAILY": 1, "WEEKLY": 7}


@dataclass
class Grants:
    tables: dict[str, pa.Table]
    payments: pa.Table  # core_payment
    payment_municipality: np.ndarray  # per payment
    payment_service: np.ndarray  # per payment: index into ALL_SERVICES
    in_house_hours: dict[tuple[int, int], float]  # (municipality, month index) -> hours produced


def _service_attribute(services: np.ndarray, attribute: str) -> np.ndarray:
    values = np.array([getattr(s, attribute) for s in ALL_SERVICES], dtype=object)
    return values[services]


def generate_grants(
    rng: np.random.Generator, cases: Cases, grant_case: np.ndarray, grant_service: np.ndarray,
    as_of: int, go_live: int, plan_end: int, first_variablerate_id: int, unknown_provider_rate: float,
) -> Grants:
    n = len(grant_case)
    case_created = cases.created[grant_case]
    granted = np.minimum(case_created + rng.integers(0, 61, n), as_of)
    start = granted + rng.integers(0, 31, n)
    low = np.array([ALL_SERVICES[s].typical_days[0] for s in grant_service])
    high = np.array([ALL_SERVICES[s].typical_days[1] for s in grant_service])
    duration = (low + rng.random(n) * (high - low)).astype(np.int64)
    frequency = _service_attribute(grant_service, "frequency")
    one_time = frequency == "ONE_TIME"
    open_ended = (rng.random(n) < 0.35) & ~one_time
    end = np.where(one_time, start, start + duration - 1)
    recipient_type = _service_attribute(grant_service, "recipient_type")
    company, internal = recipient_type == "COMPANY", recipient_type == "INTERNAL"
    status = np.where(rng.random(n) < 0.03, "DRAFT", "GRANTED")

    provider = np.where(company, rng.integers(1, len(catalogue.PROVIDERS) + 1, n), 0)
    unknown_provider = company & (rng.random(n) < unknown_provider_rate)
    provider = np.where(unknown_provider, 0, provider)
    vat = np.array([100.0] + [p[4] for p in catalogue.PROVIDERS])[provider]
    low_price = np.array([ALL_SERVICES[s].price_range[0] for s in grant_service])
    high_price = np.array([ALL_SERVICES[s].price_range[1] for s in grant_service])
    price = np.round(low_price + rng.random(n) * (high_price - low_price))

    # Expected adjustments: a new price from a future date for some running grants (modifies_id).
    running = (status == "GRANTED") & ~one_time & ~internal & (start < as_of) & (open_ended | (end > as_of + 30))
    adjusted = np.flatnonzero(running & (rng.random(n) < 0.05))
    adj_start = as_of + rng.integers(15, 121, len(adjusted))
    keep = adj_start <= np.where(open_ended[adjusted], plan_end, end[adjusted])
    adjusted, adj_start = adjusted[keep], adj_start[keep]

    activity_source = np.concatenate([np.arange(n), adjusted])  # row -> grant index
    m = len(activity_source)
    is_adjustment = np.arange(m) >= n
    a_start = np.concatenate([start, adj_start])
    a_end = end[activity_source]
    a_open = open_ended[activity_source]
    a_status = np.concatenate([status, np.full(len(adjusted), "EXPECTED")])
    a_price = np.concatenate([price, np.round(price[adjusted] * (1.05 + rng.random(len(adjusted)) * 0.2))])
    a_service = grant_service[activity_source]
    activity_ids = np.arange(1, m + 1)
    modifies = np.where(is_adjustment, activity_source + 1, 0)

    caseworker = cases.caseworker_id[grant_case]
    tables: dict[str, pa.Table] = {}
    tables["core_appropriation"] = os2bos_table("core_appropriation", {
        "id": np.arange(1, n + 1), "created": to_timestamps(granted), "modified": to_timestamps(granted),
        "user_created": "os2bos", "user_modified": "os2bos",
        "sbsys_id": [f"27.24.00-G01-{c + 1}-{i}" for i, c in enumerate(grant_case, start=1)],
        "section_id": [SECTION_IDS[ALL_SERVICES[s].paragraph] for s in grant_service],
        "case_id": cases.case_id[grant_case], "note": "",
    })
    tables["core_activity"] = os2bos_table("core_activity", {
        "id": activity_ids,
        "created": to_timestamps(np.concatenate([granted, np.full(len(adjusted), as_of - 1)])),
        "modified": to_timestamps(np.concatenate([granted, np.full(len(adjusted), as_of - 1)])),
        "user_created": "os2bos", "user_modified": "os2bos",
        "details_id": [DETAILS_IDS[ALL_SERVICES[s].service_code] for s in a_service], "status": a_status,
        "approval_level_id": rng.integers(1, len(catalogue.APPROVAL_LEVELS) + 1, m), "approval_note": "",
        "approval_user_id": pa.array(caseworker[activity_source], mask=a_status == "DRAFT"),
        "appropriation_date": to_dates(granted[activity_source]), "start_date": to_dates(a_start),
        "end_date": pa.array(np.where(a_open, 0, a_end), pa.int32(), mask=a_open).cast(pa.date32()),
        "activity_type": "MAIN_ACTIVITY", "modifies_id": pa.array(modifies, mask=modifies == 0),
        "appropriation_id": activity_source + 1,
        "service_provider_id": pa.array(provider[activity_source], mask=provider[activity_source] == 0),
        "note": None,
    })

    # Schedules: one per activity. Foster families and in-house units are recipients too.
    a_recipient = recipient_type[activity_source]
    foster_families = max(1, int((a_recipient == "PERSON").sum() // 3))
    foster_birth = as_of - rng.integers(28 * 365, 65 * 365, foster_families)
    foster_female = rng.random(foster_families) < 0.6
    foster_cpr = np.array(cpr_numbers(rng, foster_birth, foster_female))
    foster_name = np.array([f"Plejefamilie {i:05d}" for i in range(1, foster_families + 1)])
    family = rng.integers(0, foster_families, m)
    provider_cvr = np.array(["00000000"] + [p[0] for p in catalogue.PROVIDERS])
    provider_name = np.array(["Ukendt leverandør"] + [p[1] for p in catalogue.PROVIDERS])
    unknown_cvr = np.char.zfill(rng.integers(10_000_000, 99_999_999, m).astype(str), 8)
    a_provider = provider[activity_source]
    recipient_id = np.where(a_recipient == "PERSON", foster_cpr[family],
                            np.where(a_recipient == "INTERNAL", "1",
                                     np.where(a_provider == 0, unknown_cvr, provider_cvr[a_provider])))
    recipient_name = np.where(a_recipient == "PERSON", foster_name[family],
                              np.where(a_recipient == "INTERNAL", catalogue.IN_HOUSE_UNIT,
                                       np.where(a_provider == 0, "Ukendt leverandør", provider_name[a_provider])))
    method = np.select([a_recipient == "PERSON", a_recipient == "INTERNAL"], ["SD", "INTERNAL"], "INVOICE")
    a_frequency = frequency[activity_source]
    per_unit = (a_frequency == "DAILY") | (a_recipient == "INTERNAL")
    price_ids = np.where(a_frequency == "DAILY", first_variablerate_id + np.cumsum(a_frequency == "DAILY") - 1, 0)
    units = np.where(a_recipient == "INTERNAL", a_price, np.where(a_frequency == "DAILY", 1.0, 0.0))
    tables["core_paymentschedule"] = os2bos_table("core_paymentschedule", {
        "id": activity_ids, "recipient_type": a_recipient, "recipient_id": recipient_id,
        "recipient_name": recipient_name, "payment_method": method, "activity_id": activity_ids,
        "payment_frequency": pa.array(np.where(a_frequency == "ONE_TIME", "", a_frequency),
                                      mask=a_frequency == "ONE_TIME"),
        "payment_date": pa.array(a_start.astype("int32"), mask=a_frequency != "ONE_TIME").cast(pa.date32()),
        "payment_day_of_month": pa.array(np.ones(m, np.int64), mask=a_frequency != "MONTHLY"),
        "payment_type": np.where(a_frequency == "ONE_TIME", "ONE_TIME_PAYMENT", "RUNNING_PAYMENT"),
        "payment_units": _masked_money(units, ~per_unit),
        "payment_amount": money(np.where(per_unit, 0, a_price)),
        "fictive": a_recipient == "INTERNAL",
        "payment_cost_type": np.where(per_unit, "PER_UNIT", "FIXED"),
    })
    daily = np.flatnonzero(a_frequency == "DAILY")
    price_tables = _daily_prices(daily, price_ids, a_start, a_end, a_open, a_price, plan_end)
    tables.update(price_tables)

    payments, payment_activity = _payments(
        rng, a_start, a_end, a_open, a_frequency, a_status, a_recipient, go_live, plan_end,
    )
    amount = np.where(
        a_frequency[payment_activity] == "DAILY",
        a_price[payment_activity] * (1 + YEARLY_PRICE_INCREASE) ** (years(payments) - years(a_start[payment_activity])),
        a_price[payment_activity],
    ) * vat[activity_source[payment_activity]] / 100
    amount = np.round(amount, 2)
    paid = (a_status[payment_activity] == "GRANTED") & (payments <= as_of)
    paid_day = np.minimum(payments + rng.integers(0, 4, len(payments)), as_of)
    corrected = paid & (rng.random(len(payments)) < 0.01)
    paid_amount = np.where(corrected, np.round(amount * (0.9 + rng.random(len(payments)) * 0.15), 2), amount)
    payment_ids = np.arange(1, len(payments) + 1)
    service_of_payment = a_service[payment_activity]
    per_payment = pa.array(payment_activity)

    def schedule_value(values: np.ndarray) -> pa.Array:  # the schedule's value on each of its payments
        return pa.array(values.tolist(), pa.string()).take(per_payment)

    accounts = pa.DictionaryArray.from_arrays(
        pa.array(service_of_payment, pa.int32()), pa.array([s.account_string for s in ALL_SERVICES]),
    ).cast(pa.string())
    core_payment = os2bos_table("core_payment", {
        "id": payment_ids, "date": to_dates(payments), "recipient_type": schedule_value(a_recipient),
        "recipient_id": schedule_value(recipient_id), "recipient_name": schedule_value(recipient_name),
        "payment_method": schedule_value(method), "amount": money(amount),
        "paid_amount": _masked_money(paid_amount, ~paid),
        "paid": paid, "paid_date": pa.array(paid_day.astype("int32"), mask=~paid).cast(pa.date32()),
        "note": "", "saved_account_string": accounts, "saved_account_alias": "",
        "payment_schedule_id": payment_activity + 1,
    })
    paid_index = np.flatnonzero(paid)
    tables["core_historicalpayment"] = os2bos_table("core_historicalpayment", {
        "id": payment_ids[paid_index], "paid_amount": money(paid_amount[paid_index]), "paid": True,
        "paid_date": to_dates(paid_day[paid_index]), "saved_account_alias": "",
        "history_id": np.arange(1, len(paid_index) + 1), "history_date": to_timestamps(paid_day[paid_index], hour=16),
        "history_type": "~",
    })
    in_house = _in_house_hours(a_start, a_end, a_open, a_status, a_recipient, units,
                               cases.municipality_id[grant_case[activity_source]], go_live, as_of)
    return Grants(tables, core_payment, cases.municipality_id[grant_case[activity_source[payment_activity]]],
                  service_of_payment, in_house)


def _masked_money(amounts: np.ndarray, mask: np.ndarray) -> pa.Array:
    """Money with nulls where `mask` is true."""
    values = money(np.where(mask, 0, amounts))
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def _payments(
    rng: np.random.Generator, start: np.ndarray, end: np.ndarray, open_ended: np.ndarray, frequency: np.ndarray,
    status: np.ndarray, recipient: np.ndarray, go_live: int, plan_end: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Due dates of every schedule that generates payments; returns (due day, activity row) sorted."""
    last = np.minimum(np.where(open_ended, plan_end, end), plan_end)
    generates = (status != "DRAFT") & (recipient != "INTERNAL") & (last >= go_live)
    due_parts, owner_parts = [], []
    for kind in ("ONE_TIME", "DAILY", "WEEKLY", "MONTHLY"):
        rows = np.flatnonzero(generates & (frequency == kind))
        if kind == "ONE_TIME":
            rows = rows[(start[rows] >= go_live) & (start[rows] <= plan_end)]
            due_parts.append(start[rows])
            owner_parts.append(rows)
            continue
        if kind == "MONTHLY":  # on the first of each month from the first one on or after the start
            first_month = month_index(start[rows]) + (month_start(month_index(start[rows])) < start[rows])
            first_month = np.maximum(first_month, month_index(np.full(len(rows), go_live)))
            counts = month_index(last[rows]) - first_month + 1
            owner, offset = expand(counts)
            due_parts.append(month_start(first_month[owner] + offset))
        else:
            step = FREQUENCY_DAYS[kind]
            skip = np.maximum(0, -((start[rows] - go_live) // step))  # periods before go-live
            first = start[rows] + skip * step
            counts = (last[rows] - first) // step + 1
            owner, offset = expand(counts)
            due_parts.append(first[owner] + offset * step)
        owner_parts.append(rows[owner])
    due = np.concatenate(due_parts)
    owner = np.concatenate(owner_parts)
    order = np.lexsort((due, owner))
    return due[order], owner[order]


def _daily_prices(
    daily: np.ndarray, price_ids: np.ndarray, start: np.ndarray, end: np.ndarray, open_ended: np.ndarray,
    price: np.ndarray, plan_end: int,
) -> dict[str, pa.Table]:
    """A Price per daily schedule with one rate interval per calendar year (indexed 1 January)."""
    last = np.minimum(np.where(open_ended, plan_end, end), plan_end)
    first_year, last_year = years(start[daily]), years(np.maximum(last[daily], start[daily]))
    owner, offset = expand(last_year - first_year + 1)
    year = first_year[owner] + offset
    year_start = np.array([day_number(np.datetime64(f"{y}-01-01").astype(object)) for y in range(1990, 2060)])
    interval_start = np.maximum(year_start[year - 1990], start[daily][owner])
    interval_end = year_start[year + 1 - 1990] - 1
    is_last = offset == (last_year - first_year)[owner]
    rows = daily[owner]
    return {
        "core_price": os2bos_table("core_price", {
            "variablerate_ptr_id": price_ids[daily], "payment_schedule_id": daily + 1,
        }),
        "core_rateperdate": os2bos_table("core_rateperdate", {
            "rate": money(price[rows] * (1 + YEARLY_PRICE_INCREASE) ** (year - first_year[owner])),
            "start_date": to_dates(interval_start),
            "end_date": pa.array(interval_end.astype("int32"), mask=is_last & open_ended[rows]).cast(pa.date32()),
            "main_rate_id": price_ids[rows], "changed_date": to_timestamps(interval_start),
        }),
    }


def _in_house_hours(
    start: np.ndarray, end: np.ndarray, open_ended: np.ndarray, status: np.ndarray, recipient: np.ndarray,
    units: np.ndarray, municipality: np.ndarray, go_live: int, as_of: int,
) -> dict[tuple[int, int], float]:
    """Hours the in-house unit produced per municipality and month (its granted volume)."""
    rows = np.flatnonzero((recipient == "INTERNAL") & (status == "GRANTED"))
    first = np.maximum(month_index(start[rows]), month_index(np.array([go_live])))
    last = np.minimum(month_index(np.where(open_ended[rows], as_of, np.minimum(end[rows], as_of))),
                      month_index(np.array([as_of])))
    owner, offset = expand(last - first + 1)
    hours: dict[tuple[int, int], float] = {}
    for m, month, volume in zip(municipality[rows][owner], first[owner] + offset, units[rows][owner]):
        hours[(int(m), int(month))] = hours.get((int(m), int(month)), 0.0) + float(volume)
    return hours
