"""The finance system's side: ledger postings that match the paid payments, salaries of the
in-house unit, shared costs, budgets, and defects injected at known rates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.sample_data import catalogue
from ingestion.sample_data.arrays import money, month_index, month_start, years
from ingestion.sample_data.reference_tables import ALL_SERVICES


@dataclass(frozen=True)
class DefectRates:
    duplicate_postings: float = 0.002  # a payment posted twice...
    credit_notes: float = 0.5  # ...and this share of the duplicates reversed by a credit note later
    late_postings: float = 0.01  # posted 20-60 days after payment (some not yet posted at as-of)
    unknown_accounts: float = 0.001  # posted on an account outside the chart for this area
    mis_encoded_texts: float = 0.001  # posting text double-encoded upstream ("Ã¸" for "ø")


@dataclass
class Finance:
    ledger: pa.Table
    budgets: pa.Table
    defects: dict[str, int]


LEDGER_SCHEMA = pa.schema([
    ("posting_id", pa.int64()), ("voucher_number", pa.string()), ("posting_date", pa.date32()),
    ("account_string", pa.string()), ("activity_code", pa.string()), ("posting_text", pa.string()),
    ("amount", pa.decimal128(18, 2)), ("municipality_code", pa.string()),
])
BUDGET_SCHEMA = pa.schema([
    ("account_string", pa.string()), ("activity_code", pa.string()), ("budget_year", pa.int32()),
    ("budget_month", pa.int32()), ("amount", pa.decimal128(18, 2)), ("municipality_code", pa.string()),
])


def _strings(values: list[str], index: np.ndarray) -> pa.Array:
    """values[index] as an Arrow string array, without building millions of Python strings."""
    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), pa.array(values)).cast(pa.string())


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _postings(voucher: pa.Array, day: np.ndarray, account: pa.Array, activity: pa.Array, text: pa.Array,
              ore: np.ndarray, municipality: np.ndarray) -> pa.Table:
    return pa.table({
        "voucher_number": voucher, "posting_day": pa.array(day, pa.int64()), "account_string": account,
        "activity_code": activity, "posting_text": text, "ore": pa.array(ore, pa.int64()),
        "municipality": pa.array(municipality, pa.int64()),
    })


def generate_finance(
    rng: np.random.Generator, payments: pa.Table, payment_municipality: np.ndarray, payment_service: np.ndarray,
    in_house_hours: dict[tuple[int, int], float], municipalities: int, go_live: int, as_of: int,
    rates: DefectRates,
) -> Finance:
    paid = payments["paid"].to_numpy(zero_copy_only=False)
    index = np.flatnonzero(paid)
    payment_id = payments["id"].to_numpy()[index]
    paid_day = payments["paid_date"].cast(pa.int32()).to_numpy(zero_copy_only=False)[index].astype(np.int64)
    amount_ore = _ore(payments["paid_amount"].take(pa.array(index)))
    service = payment_service[index]
    municipality = payment_municipality[index]
    n = len(index)

    late = rng.random(n) < rates.late_postings
    posting_day = np.where(late, paid_day + rng.integers(20, 61, n), paid_day)
    unknown = rng.random(n) < rates.unknown_accounts
    account_values = [s.account_string for s in ALL_SERVICES] + [catalogue.UNKNOWN_ACCOUNT]
    account_index = np.where(unknown, len(ALL_SERVICES), service)
    posted = posting_day <= as_of  # a late posting may not have reached the ledger yet
    duplicate = posted & (rng.random(n) < rates.duplicate_postings)
    credited = duplicate & (rng.random(n) < rates.credit_notes)
    credit_day = posting_day + rng.integers(5, 31, n)
    credited &= credit_day <= as_of

    id_text = pc.cast(pa.array(payment_id), pa.string())
    activity_values = [s.activity_category_code for s in ALL_SERVICES]
    name_values = [s.service_name for s in ALL_SERVICES]

    def payment_postings(mask: np.ndarray, voucher_prefix: str, text_prefix: str, day: np.ndarray,
                         sign: int, with_name: bool) -> pa.Table:
        rows = pa.array(np.flatnonzero(mask))
        ids = id_text.take(rows)
        text = _join(text_prefix, ids, " ", _strings(name_values, service[mask])) if with_name else _join(text_prefix, ids)
        return _postings(_join(voucher_prefix, ids), day[mask], _strings(account_values, account_index[mask]),
                         _strings(activity_values, service[mask]), text, sign * amount_ore[mask], municipality[mask])

    ledger = pa.concat_tables([
        payment_postings(posted, "BOS", "OS2BOS udbetaling ", posting_day, 1, True),
        payment_postings(duplicate, "BOS", "OS2BOS udbetaling ", posting_day, 1, True),
        payment_postings(credited, "KRE", "Kreditnota dobbeltbetaling ", credit_day, -1, False),
        _salaries(rng, in_house_hours, as_of),
        _overhead(rng, municipalities, go_live, as_of),
    ]).sort_by("posting_day")
    texts, mis_encoded = _mis_encode(rng, ledger["posting_text"], rates.mis_encoded_texts)
    ledger = pa.table([
        pa.array(np.arange(1, len(ledger) + 1)), ledger["voucher_number"],
        pa.array(ledger["posting_day"].to_numpy().astype("int32")).cast(pa.date32()),
        ledger["account_string"], ledger["activity_code"], texts,
        money(ledger["ore"].to_numpy() / 100, precision=18),
        _strings([code for code, _ in catalogue.MUNICIPALITIES], ledger["municipality"].to_numpy() - 1),
    ], schema=LEDGER_SCHEMA)
    defects = {
        "duplicate_postings": int(duplicate.sum()), "credit_notes": int(credited.sum()),
        "late_postings": int(late.sum()), "late_postings_not_yet_posted": int((~posted).sum()),
        "unknown_accounts": int((unknown & posted).sum()),
        "mis_encoded_texts": mis_encoded,
    }
    return Finance(ledger, _budgets(rng, payments, payment_municipality, payment_service, ledger, go_live, as_of),
                   defects)


def _mis_encode(rng: np.random.Generator, texts: pa.ChunkedArray, rate: float) -> tuple[pa.Array, int]:
    """Garble a share of the texts with non-ASCII letters the way a UTF-8 text read as Windows-1252
    looks, as some upstream systems deliver it; returns the texts and how many were garbled."""
    chosen = np.flatnonzero(rng.random(len(texts)) < rate)
    values = texts.take(pa.array(chosen)).to_pylist()
    garbled = [(i, v.encode("utf-8").decode("cp1252", errors="ignore")) for i, v in zip(chosen, values)
               if not v.isascii()]
    if not garbled:
        return texts.combine_chunks(), 0
    mask = np.zeros(len(texts), bool)
    mask[[i for i, _ in garbled]] = True
    replacement = np.empty(len(texts), dtype=object)
    replacement[[i for i, _ in garbled]] = [g for _, g in garbled]
    return pc.if_else(pa.array(mask), pa.array(replacement, pa.string()), texts.combine_chunks()), len(garbled)


def _ore(amounts: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return pc.multiply(amounts.cast(pa.decimal128(18, 2)), 100).cast(pa.int64()).to_numpy(zero_copy_only=False)


def _salaries(rng: np.random.Generator, hours: dict[tuple[int, int], float], as_of: int) -> pa.Table:
    """Monthly salary postings of the in-house unit: hours produced × an hourly cost that varies."""
    keys = sorted(hours)
    municipality = np.array([k[0] for k in keys], dtype=np.int64)
    month = np.array([k[1] for k in keys], dtype=np.int64)
    cost = np.array([hours[k] for k in keys]) * rng.uniform(*catalogue.IN_HOUSE_HOURLY_COST, len(keys))
    day = np.minimum(month_start(month) + 24, as_of)  # salaries are posted on the 25th
    service = catalogue.IN_HOUSE_SERVICE
    return _postings(
        pa.array([f"LOEN{m}-{k}" for m, k in zip(month, municipality)], pa.string()), day,
        pa.array([service.account_string] * len(keys), pa.string()),
        pa.array([service.activity_category_code] * len(keys), pa.string()),
        pa.array(["Løn familiebehandlere, egen enhed"] * len(keys), pa.string()),
        np.round(cost * 100).astype(np.int64), municipality,
    )


def _overhead(rng: np.random.Generator, municipalities: int, go_live: int, as_of: int) -> pa.Table:
    """Shared costs no grant explains (supervision, consultants), monthly per municipality."""
    months = np.arange(month_index(np.array([go_live]))[0], month_index(np.array([as_of]))[0] + 1)
    rows = [(m, month, posting) for m in range(1, municipalities + 1) for month in months
            for posting in catalogue.OVERHEAD_POSTINGS]
    month = np.array([r[1] for r in rows], dtype=np.int64)
    low = np.array([r[2][3] for r in rows])
    high = np.array([r[2][4] for r in rows])
    return _postings(
        pa.array([f"FIN{r[1]}-{r[0]}-{r[2][1]}" for r in rows], pa.string()),
        np.minimum(month_start(month) + rng.integers(0, 28, len(rows)), as_of),
        pa.array([r[2][0] for r in rows], pa.string()), pa.array([r[2][1] for r in rows], pa.string()),
        pa.array([r[2][2] for r in rows], pa.string()),
        np.round((low + rng.random(len(rows)) * (high - low)) * 100).astype(np.int64),
        np.array([r[0] for r in rows], dtype=np.int64),
    )


def _budgets(
    rng: np.random.Generator, payments: pa.Table, payment_municipality: np.ndarray, payment_service: np.ndarray,
    ledger: pa.Table, go_live: int, as_of: int,
) -> pa.Table:
    """Budget per municipality, account and month: what the grants planned, give or take the
    political adjustment (±8 % per account and year), plus the shared costs of last year."""
    due = payments["date"].cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    amount = _ore(payments["amount"]) / 100
    in_range = (years(due) >= years(np.array([go_live]))[0]) & (years(due) <= years(np.array([as_of]))[0] + 1)
    planned = pa.table({
        "municipality_code": _strings([c for c, _ in catalogue.MUNICIPALITIES], payment_municipality[in_range] - 1),
        "account_string": _strings([s.account_string for s in ALL_SERVICES], payment_service[in_range]),
        "month": month_index(due[in_range]),
        "amount": amount[in_range],
    }).group_by(["municipality_code", "account_string", "month"]).aggregate([("amount", "sum")])
    other = ledger.filter(pc.invert(pc.starts_with(ledger["voucher_number"], "BOS")))
    other_by_month = pa.table({
        "municipality_code": other["municipality_code"], "account_string": other["account_string"],
        "month": month_index(other["posting_date"].cast(pa.int32()).to_numpy().astype(np.int64)),
        "amount": pc.cast(other["amount"], pa.float64()),
    }).group_by(["municipality_code", "account_string", "month"]).aggregate([("amount", "sum")])
    combined = pa.concat_tables([planned, other_by_month]).group_by(
        ["municipality_code", "account_string", "month"]).aggregate([("amount_sum", "sum")])
    month = combined["month"].to_numpy()
    year = (month // 12 + 1970).astype(np.int32)
    adjustment = 0.92 + rng.random(len(month)) * 0.16
    account = combined["account_string"].to_numpy(zero_copy_only=False)
    return pa.table([
        pa.array(account), pa.array([a.split("-")[1] for a in account]), pa.array(year),
        pa.array((month % 12 + 1).astype(np.int32)),
        money(np.round(combined["amount_sum_sum"].to_numpy() * adjustment, -2), precision=18),
        combined["municipality_code"],
    ], schema=BUDGET_SCHEMA)
