"""Generate a coherent sample municipality: OS2bos case/grant tables and matching ledger postings.

The generator is deterministic for a given scale, seed and as-of date. It returns the tables
as plain Python rows (the generator's own records), which tests use as ground truth, and
`writers` turns them into the source formats the loaders read.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from ingestion.sample_data import catalogue
from ingestion.sample_data.catalogue import Service

MUNICIPALITY_NAME = "Nordby Kommune"


@dataclass(frozen=True)
class Scale:
    children: int
    caseworkers: int
    history_years: int


SCALES: dict[str, Scale] = {
    "small": Scale(children=300, caseworkers=12, history_years=3),
}


@dataclass
class Table:
    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)

    def add(self, *values: object) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"expected {len(self.columns)} values, got {len(values)}")
        self.rows.append(values)


@dataclass
class LedgerPosting:
    posting_id: int
    voucher_number: str
    posting_date: date
    account_string: str
    activity_code: str
    posting_text: str
    amount: Decimal


@dataclass
class SampleMunicipality:
    as_of: date
    tables: dict[str, Table]
    ledger: list[LedgerPosting]


def _month_starts(first: date, last: date) -> list[date]:
    months = []
    current = date(first.year, first.month, 1)
    if current < first:
        current = _add_months(current, 1)
    while current <= last:
        months.append(current)
        current = _add_months(current, 1)
    return months


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _money(amount: float) -> Decimal:
    return Decimal(str(round(amount, 2))).quantize(Decimal("0.01"))


def _timestamp(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=timezone.utc)


def _cpr(rng: random.Random, birth_date: date, female: bool) -> str:
    """A CPR number: ddmmyy + 4 digits whose last digit is even for women, odd for men.

    The 7th digit encodes the century together with the year (0-3 for 1900-1999; 4 and 9 for
    2000-2036; 5-8 for 2000-2057), so a reader can derive the full birth date.
    """
    century_digit = rng.choice((4, 9)) if birth_date.year < 2037 else 5
    middle = rng.randint(0, 99)
    last = rng.choice((0, 2, 4, 6, 8)) if female else rng.choice((1, 3, 5, 7, 9))
    return f"{birth_date:%d%m%y}{century_digit}{middle:02d}{last}"


def generate(scale: str = "small", seed: int = 42, as_of: date | None = None) -> SampleMunicipality:
    """Build the sample municipality in memory."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    as_of = as_of or date.today()
    size = SCALES[scale]
    rng = random.Random(seed)
    history_start = date(as_of.year - size.history_years + 1, 1, 1)
    plan_end = date(as_of.year + 1, 12, 31)  # OS2bos generates open-ended schedules to this date

    tables = _reference_tables(size)
    vat_by_provider = {index + 1: p[4] for index, p in enumerate(catalogue.PROVIDERS)}
    service_weights = [s.weight for s in catalogue.SERVICES]

    case_t, appropriation_t, activity_t = tables["core_case"], tables["core_appropriation"], tables["core_activity"]
    schedule_t, payment_t = tables["core_paymentschedule"], tables["core_payment"]
    ledger: list[LedgerPosting] = []

    appropriation_id = activity_id = payment_id = 0
    for case_id in range(1, size.children + 1):
        female = rng.random() < 0.45
        birth_date = as_of - timedelta(days=rng.randint(60, 18 * 365 - 30))
        first = rng.choice(catalogue.FIRST_NAMES_F if female else catalogue.FIRST_NAMES_M)
        name = f"{first} {rng.choice(catalogue.LAST_NAMES)}"
        created = history_start + timedelta(days=rng.randint(0, (as_of - history_start).days - 14))
        created = max(created, birth_date)
        services = rng.choices(catalogue.SERVICES, weights=service_weights, k=rng.choice((1, 1, 1, 2, 2, 3)))
        step = max(max(s.allowed_steps[0] for s in services), 1)
        case_t.add(
            case_id, _timestamp(created), _timestamp(created), "sagsbehandler", "sagsbehandler",
            f"27.24.00-G01-{case_id}-{created:%y}", _cpr(rng, birth_date, female), name,
            rng.randint(1, size.caseworkers), rng.randint(1, len(catalogue.DISTRICTS)), 1, 1, 1,
            1 if step < 5 or rng.random() < 0.7 else 2, step, rng.randint(2, 9), "", "",
        )
        for service in services:
            appropriation_id += 1
            granted = created + timedelta(days=rng.randint(0, 60))
            if granted >= as_of:
                granted = created
            appropriation_t.add(
                appropriation_id, _timestamp(granted), _timestamp(granted), "sagsbehandler",
                "sagsbehandler", f"27.24.00-G01-{case_id}-{appropriation_id}",
                _section_id(service), case_id, "",
            )
            start = granted + timedelta(days=rng.randint(0, 30))
            end = start + timedelta(days=rng.randint(20, 720)) if rng.random() < 0.6 else None
            provider_id = rng.randint(1, len(catalogue.PROVIDERS)) if service.recipient_type == "COMPANY" else None
            activity_id += 1
            activity_t.add(
                activity_id, _timestamp(granted), _timestamp(granted), "sagsbehandler", "sagsbehandler",
                _details_id(service), "GRANTED", rng.randint(1, len(catalogue.APPROVAL_LEVELS)), "",
                rng.randint(1, size.caseworkers), granted, start, end, "MAIN_ACTIVITY", None,
                appropriation_id, provider_id, None,
            )
            vat_factor = vat_by_provider[provider_id] if provider_id else 100.0
            monthly = rng.randint(*service.monthly_price_range)
            if service.recipient_type == "COMPANY":
                cvr, provider_name = catalogue.PROVIDERS[provider_id - 1][:2]
                recipient = ("COMPANY", cvr, provider_name, "INVOICE")
            else:
                foster_parent_female = rng.random() < 0.6
                foster_birth = date(rng.randint(1960, 1995), rng.randint(1, 12), rng.randint(1, 28))
                recipient = (
                    "PERSON", _cpr(rng, foster_birth, foster_parent_female),
                    f"{rng.choice(catalogue.FIRST_NAMES_F if foster_parent_female else catalogue.FIRST_NAMES_M)} "
                    f"{rng.choice(catalogue.LAST_NAMES)}", "SD",
                )
            one_time = service.payment_type == "ONE_TIME_PAYMENT"
            schedule_id = activity_id
            schedule_t.add(
                schedule_id, recipient[0], recipient[1], recipient[2], recipient[3], None, activity_id,
                None if one_time else "MONTHLY", start if one_time else None, None if one_time else 1,
                service.payment_type, None, _money(monthly), False, None, "FIXED", None,
            )
            due_dates = [start] if one_time else _month_starts(start, min(end or plan_end, plan_end))
            amount = _money(monthly * vat_factor / 100)
            for due in due_dates:
                payment_id += 1
                paid = due <= as_of
                paid_date = min(due + timedelta(days=rng.randint(0, 3)), as_of) if paid else None
                payment_t.add(
                    payment_id, due, recipient[0], recipient[1], recipient[2], recipient[3], amount,
                    amount if paid else None, paid, paid_date, "", service.account_string,
                    "", schedule_id,
                )
                if paid:
                    ledger.append(LedgerPosting(
                        len(ledger) + 1, f"BOS{payment_id}", paid_date, service.account_string,
                        service.activity_category_code,
                        f"OS2BOS udbetaling {payment_id} {service.service_name}", amount,
                    ))
    ledger.extend(_overhead_postings(rng, history_start, as_of, start_id=len(ledger) + 1))
    return SampleMunicipality(as_of=as_of, tables=tables, ledger=ledger)


def _overhead_postings(rng: random.Random, first: date, as_of: date, start_id: int) -> list[LedgerPosting]:
    """Ledger postings no grant explains: in-house staff, consultants, shared costs."""
    postings = []
    for month in _month_starts(first, as_of):
        for account, activity, text, low, high in (
            ("528211003-015209", "015209", "Løn familiebehandlere, egen enhed", 180_000, 240_000),
            ("528201003-015195", "015195", "Supervision og kurser, anbringelser", 8_000, 30_000),
        ):
            posting_day = min(month + timedelta(days=rng.randint(0, 27)), as_of)
            postings.append(LedgerPosting(
                start_id + len(postings), f"FIN{month:%Y%m}{activity}", posting_day, account,
                activity, text, _money(rng.randint(low, high)),
            ))
    return postings


def _section_id(service: Service) -> int:
    return 1 + sorted({s.paragraph for s in catalogue.SERVICES}).index(service.paragraph)


def _details_id(service: Service) -> int:
    return 1 + sorted({s.service_code for s in catalogue.SERVICES}).index(service.service_code)


def _category_id(code: str) -> int:
    return 1 + sorted({s.activity_category_code for s in catalogue.SERVICES}).index(code)


def _reference_tables(size: Scale) -> dict[str, Table]:
    from ingestion.sample_data.schema import COLUMNS

    tables = {name: Table(columns) for name, columns in COLUMNS.items()}
    tables["core_municipality"].add(1, True, MUNICIPALITY_NAME)
    for index, district in enumerate(catalogue.DISTRICTS, start=1):
        tables["core_schooldistrict"].add(index, True, district)
    for number, step_name in catalogue.STEP_NAMES.items():
        tables["core_effortstep"].add(number, True, step_name, number)
    for index, group in enumerate(catalogue.TARGET_GROUPS, start=1):
        tables["core_targetgroup"].add(index, True, group, "district,effort_step,scaling_step")
    for index, level in enumerate(catalogue.APPROVAL_LEVELS, start=1):
        tables["core_approvallevel"].add(index, True, level)
    for team_id, team in enumerate(catalogue.TEAMS, start=1):
        # the first caseworkers lead the teams
        tables["core_team"].add(team_id, True, team, team_id)
    joined = datetime(2015, 1, 1, tzinfo=timezone.utc)
    for user_id in range(1, size.caseworkers + 1):
        team_id = 1 + (user_id - 1) % len(catalogue.TEAMS)
        tables["core_user"].add(
            user_id, f"sb{user_id:03d}", "", "", f"sb{user_id:03d}@nordby.example", "!", None,
            False, False, True, joined, team_id, "case_worker",
        )
    for paragraph in sorted({s.paragraph for s in catalogue.SERVICES}):
        service = next(s for s in catalogue.SERVICES if s.paragraph == paragraph)
        tables["core_section"].add(
            _section_id(service), True, paragraph, service.paragraph_text, "Serviceloven", "", False, False,
        )
    for code in sorted({s.activity_category_code for s in catalogue.SERVICES}):
        service = next(s for s in catalogue.SERVICES if s.activity_category_code == code)
        tables["core_activitycategory"].add(_category_id(code), True, code, service.activity_category_name)
    for code in sorted({s.service_code for s in catalogue.SERVICES}):
        service = next(s for s in catalogue.SERVICES if s.service_code == code)
        tables["core_activitydetails"].add(_details_id(service), True, service.service_name, "", code, 10, 5000)
    for index, service in enumerate(catalogue.SERVICES, start=1):
        tables["core_sectioninfo"].add(
            index, True, _details_id(service), _section_id(service), _category_id(service.activity_category_code),
            "27.24.00", "", service.main_account, "",
        )
    for index, (cvr, name, business, zip_code, vat_factor) in enumerate(catalogue.PROVIDERS, start=1):
        tables["core_serviceprovider"].add(
            index, True, cvr, name, "", business, "", "", zip_code, "", "Aktiv", _money(vat_factor),
        )
    return tables
