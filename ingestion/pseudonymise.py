"""Replace personal identifiers before data lands: keyed HMAC-SHA256, with age and sex derived first.

An unkeyed hash of a CPR number can be reversed by enumerating all ~4 billion candidates, so
the pseudonym is an HMAC with a secret key kept outside the warehouse. The key's version is
stored beside every pseudonym so that a rotated key can be told apart.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class PseudonymKey:
    secret: bytes
    version: str

    def __post_init__(self) -> None:
        if len(self.secret) < 32:
            raise ValueError("the pseudonymisation key must be at least 32 bytes")


def person_id(key: PseudonymKey, national_id: str) -> str:
    """The pseudonym of a CPR number or personnummer (digits only, any separators dropped)."""
    digits = "".join(ch for ch in national_id if ch.isdigit())
    return hmac.new(key.secret, digits.encode("ascii"), hashlib.sha256).hexdigest()


def birth_date_from_cpr(cpr: str) -> date | None:
    """Birth date from a Danish CPR number (ddmmyy + serial; the 7th digit gives the century)."""
    digits = "".join(ch for ch in cpr if ch.isdigit())
    if len(digits) != 10:
        return None
    day, month, year2, century_digit = int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6])
    if century_digit in (0, 1, 2, 3):
        century = 1900
    elif century_digit in (4, 9):
        century = 2000 if year2 <= 36 else 1900
    elif century_digit in (5, 6, 7, 8):
        century = 2000 if year2 <= 57 else 1800
    else:
        return None
    try:
        return date(century + year2, month, day)
    except ValueError:
        return None


def sex_from_cpr(cpr: str) -> str | None:
    """'F' for an even last digit, 'M' for an odd one (the CPR convention)."""
    digits = "".join(ch for ch in cpr if ch.isdigit())
    if len(digits) != 10:
        return None
    return "F" if int(digits[-1]) % 2 == 0 else "M"


def _digits(national_id: str) -> str:
    return "".join(ch for ch in national_id if ch.isdigit())


def birth_date_from_personnummer(personnummer: str) -> date | None:
    """Birth date from a Swedish personnummer `yyyymmddnnnc` (a samordningsnummer adds 60 to the day)."""
    digits = _digits(personnummer)
    if len(digits) != 12:
        return None
    year, month, day = int(digits[0:4]), int(digits[4:6]), int(digits[6:8])
    try:
        return date(year, month, day - 60 if day > 60 else day)
    except ValueError:
        return None


def sex_from_personnummer(personnummer: str) -> str | None:
    """'F' for an even second-to-last digit, 'M' for an odd one (the personnummer convention)."""
    digits = _digits(personnummer)
    if len(digits) != 12:
        return None
    return "F" if int(digits[10]) % 2 == 0 else "M"


def pseudonymise_cases(table: pa.Table, key: PseudonymKey) -> pa.Table:
    """`core_case`: derive birth date and sex, replace the CPR by its pseudonym, drop the name."""
    cprs = table.column("cpr_number").to_pylist()
    derived = {
        "person_id": pa.array([person_id(key, c) if c else None for c in cprs], pa.string()),
        "birth_date": pa.array([birth_date_from_cpr(c) if c else None for c in cprs], pa.date32()),
        "sex": pa.array([sex_from_cpr(c) if c else None for c in cprs], pa.string()),
        "pseudonym_key_version": pa.array([key.version] * len(cprs), pa.string()),
    }
    table = table.drop_columns([c for c in ("cpr_number", "name") if c in table.column_names])
    for name, column in derived.items():
        table = table.append_column(name, column)
    return table


def _pseudonymise_column(column: pa.ChunkedArray, key: PseudonymKey) -> pa.Array:
    """HMAC every distinct value once (payments repeat the same few recipients millions of times)."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    pseudonyms = pa.array([person_id(key, v) for v in encoded.dictionary.to_pylist()], pa.string())
    return pa.DictionaryArray.from_arrays(encoded.indices, pseudonyms).cast(pa.string())


def pseudonymise_recipients(table: pa.Table, key: PseudonymKey) -> pa.Table:
    """Payments and schedules: a PERSON recipient (a foster parent) is identified by CPR.

    The CPR becomes its pseudonym and the person's name is dropped; companies (CVR) stay.
    """
    is_person = pc.fill_null(pc.equal(table.column("recipient_type"), "PERSON"), False)
    ids = table.column("recipient_id").cast(pa.string())
    names = table.column("recipient_name").cast(pa.string())
    new_ids = pc.if_else(is_person, _pseudonymise_column(ids, key), ids)
    new_names = pc.if_else(is_person, pa.scalar(None, pa.string()), names)
    table = table.set_column(table.schema.get_field_index("recipient_id"), "recipient_id", new_ids)
    return table.set_column(table.schema.get_field_index("recipient_name"), "recipient_name", new_names)
