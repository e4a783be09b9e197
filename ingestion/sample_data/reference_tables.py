"""Classification tables of the sample OS2bos installation (small; written whole)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

from ingestion.sample_data import catalogue
from ingestion.sample_data.arrays import day_number, money, os2bos_table, to_dates, to_timestamps

ALL_SERVICES = (*catalogue.SERVICES, catalogue.IN_HOUSE_SERVICE)


def _ids(values: list[str]) -> dict[str, int]:
    return {value: index for index, value in enumerate(sorted(set(values)), start=1)}


SECTION_IDS = _ids([s.paragraph for s in ALL_SERVICES])
DETAILS_IDS = _ids([s.service_code for s in ALL_SERVICES])
CATEGORY_IDS = _ids([s.activity_category_code for s in ALL_SERVICES])
# The classifications carry fixed ids, as in a real installation's fixtures.


def reference_tables(municipalities: int, history_start: date) -> dict[str, pa.Table]:
    """Municipalities, districts, steps, groups, sections, services, categories, providers, rates."""
    tables: dict[str, pa.Table] = {}
    chosen = catalogue.MUNICIPALITIES[:municipalities]
    tables["core_municipality"] = os2bos_table("core_municipality", {
        "id": np.arange(1, len(chosen) + 1), "active": True, "name": [name for _, name in chosen],
    })
    districts = [f"{name.removesuffix(' Kommune')} {district}" for _, name in chosen for district in catalogue.DISTRICTS]
    tables["core_schooldistrict"] = os2bos_table("core_schooldistrict", {
        "id": np.arange(1, len(districts) + 1), "active": True, "name": districts,
    })
    tables["core_effortstep"] = os2bos_table("core_effortstep", {
        "id": list(catalogue.STEP_NAMES), "active": True, "name": list(catalogue.STEP_NAMES.values()),
        "number": list(catalogue.STEP_NAMES),
    })
    tables["core_targetgroup"] = os2bos_table("core_targetgroup", {
        "id": [1, 2], "active": True, "name": list(catalogue.TARGET_GROUPS),
        "required_fields_for_case": ["district,effort_step,scaling_step", "effort_step,scaling_step"],
    })
    tables["core_approvallevel"] = os2bos_table("core_approvallevel", {
        "id": np.arange(1, len(catalogue.APPROVAL_LEVELS) + 1), "active": True,
        "name": list(catalogue.APPROVAL_LEVELS),
    })
    tables["core_internalpaymentrecipient"] = os2bos_table("core_internalpaymentrecipient", {
        "id": [1], "active": True, "name": [catalogue.IN_HOUSE_UNIT],
    })
    first_service = {p: next(s for s in ALL_SERVICES if s.paragraph == p) for p in SECTION_IDS}
    tables["core_section"] = os2bos_table("core_section", {
        "id": list(SECTION_IDS.values()), "active": True, "paragraph": list(SECTION_IDS),
        "text": [first_service[p].paragraph_text for p in SECTION_IDS], "law_text_name": "Serviceloven",
        "dst_code": "", "dst_preventative_measures": False, "dst_handicap": False,
    })
    category_name = {s.activity_category_code: s.activity_category_name for s in ALL_SERVICES}
    tables["core_activitycategory"] = os2bos_table("core_activitycategory", {
        "id": list(CATEGORY_IDS.values()), "active": True, "category_id": list(CATEGORY_IDS),
        "name": [category_name[c] for c in CATEGORY_IDS],
    })
    service_name = {s.service_code: s.service_name for s in ALL_SERVICES}
    tables["core_activitydetails"] = os2bos_table("core_activitydetails", {
        "id": list(DETAILS_IDS.values()), "active": True, "name": [service_name[c] for c in DETAILS_IDS],
        "description": "", "activity_id": list(DETAILS_IDS), "max_tolerance_in_percent": 10,
        "max_tolerance_in_dkk": 5000,
    })
    combos = sorted({(DETAILS_IDS[s.service_code], SECTION_IDS[s.paragraph], s) for s in catalogue.SERVICES},
                    key=lambda c: (c[0], c[1]))
    tables["core_sectioninfo"] = os2bos_table("core_sectioninfo", {
        "id": np.arange(1, len(combos) + 1), "active": True,
        "activity_details_id": [d for d, _, _ in combos], "section_id": [s for _, s, _ in combos],
        "activity_category_id": [CATEGORY_IDS[s.activity_category_code] for _, _, s in combos],
        "kle_number": "27.24.00", "sbsys_template_id": "",
        "main_activity_main_account_number": [s.main_account for _, _, s in combos],
        "supplementary_activity_main_account_number": "",
    })
    providers = catalogue.PROVIDERS
    tables["core_serviceprovider"] = os2bos_table("core_serviceprovider", {
        "id": np.arange(1, len(providers) + 1), "active": True, "cvr_number": [p[0] for p in providers],
        "name": [p[1] for p in providers], "business_code": "", "business_code_text": [p[2] for p in providers],
        "street": "", "street_number": "", "zip_code": [p[3] for p in providers], "post_district": "",
        "status": "Aktiv", "vat_factor": money(np.array([p[4] for p in providers]), precision=5),
    })
    rates = catalogue.RATES
    rate_ids = np.arange(1, len(rates) + 1)
    tables["core_rate"] = os2bos_table("core_rate", {
        "variablerate_ptr_id": rate_ids, "active": True, "name": [r[0] for r in rates], "description": "",
        "needs_recalculation": False,
    })
    tables["core_rateperdate"] = os2bos_table("core_rateperdate", {
        "id": rate_ids, "rate": money(np.array([r[2] for r in rates])),
        "start_date": to_dates(np.array([day_number(date.fromisoformat(r[1])) for r in rates])),
        "main_rate_id": rate_ids,
        "changed_date": to_timestamps(np.full(len(rates), day_number(history_start))),
    })
    return tables


EFFORTS: tuple[str, ...] = (
    "Tidlig forebyggende indsats", "Familieorienteret indsats", "Skole- og dagtilbudsindsats",
    "Ungeindsats", "Indsats ved nedsat funktionsevne",
)


def _easter(year: int) -> date:
    """Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * weekday) // 433
    month = (h + weekday - 7 * m + 90) // 25
    return date(year, month, (h + weekday - 7 * m + 33 * month + 19) % 32)


def danish_bank_holidays(first_year: int, last_year: int) -> list[date]:
    """Days OS2bos must not pay on: Danish bank holidays (fixed days and Easter-based ones)."""
    from datetime import timedelta

    days = []
    for year in range(first_year, last_year + 1):
        easter = _easter(year)
        days += [date(year, 1, 1), date(year, 6, 5), date(year, 12, 24), date(year, 12, 25), date(year, 12, 26),
                 date(year, 12, 31)]
        days += [easter + timedelta(days=offset) for offset in (-3, -2, 1, 39, 50)]
    return sorted(days)


def supplementary_tables(first_year: int, last_year: int) -> dict[str, pa.Table]:
    """Efforts, account aliases, payment-date exclusions and payment method details."""
    accounts = sorted({(s.main_account, s.activity_category_code) for s in ALL_SERVICES})
    holidays = danish_bank_holidays(first_year, last_year)
    return {
        "core_effort": os2bos_table("core_effort", {
            "id": np.arange(1, len(EFFORTS) + 1), "active": True, "name": list(EFFORTS), "description": "",
        }),
        "core_accountaliasmapping": os2bos_table("core_accountaliasmapping", {
            "id": np.arange(1, len(accounts) + 1), "main_account_number": [a for a, _ in accounts],
            "activity_number": [c for _, c in accounts],
            "alias": [f"BOS{index:04d}" for index in range(1, len(accounts) + 1)],
        }),
        "core_paymentdateexclusion": os2bos_table("core_paymentdateexclusion", {
            "id": np.arange(1, len(holidays) + 1), "date": to_dates(np.array([day_number(d) for d in holidays])),
        }),
        "core_paymentmethoddetails": os2bos_table("core_paymentmethoddetails", {
            "id": [1], "active": True, "tax_card": "main",
        }),
    }
