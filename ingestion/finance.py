"""dlt source for finance ledger exports: `;`-separated, decimal comma, Windows-1252, dd-mm-yyyy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

LEDGER_COLUMNS: dict[str, str] = {
    "Posteringsnr": "posting_id",
    "Bilagsnr": "voucher_number",
    "Bogføringsdato": "posting_date",
    "Kontostreng": "account_string",
    "Aktivitet": "activity_code",
    "Tekst": "posting_text",
    "Beløb": "amount",
}
AMOUNT_TYPE = pa.decimal128(18, 2)


def read_ledger_file(path: Path, encoding: str = "cp1252") -> pa.Table:
    """Read one ledger export into typed columns with English names."""
    table = csv.read_csv(
        path,
        read_options=csv.ReadOptions(encoding=encoding),
        parse_options=csv.ParseOptions(delimiter=";"),
        convert_options=csv.ConvertOptions(
            column_types={name: pa.string() for name in LEDGER_COLUMNS}, strings_can_be_null=False,
        ),
    )
    missing = set(LEDGER_COLUMNS) - set(table.column_names)
    if missing:
        raise ValueError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
    table = table.select(list(LEDGER_COLUMNS)).rename_columns(list(LEDGER_COLUMNS.values()))
    danish_amount = pc.replace_substring(pc.replace_substring(table["amount"], ".", ""), ",", ".")
    columns = {
        "posting_id": pc.cast(table["posting_id"], pa.int64()),
        "voucher_number": table["voucher_number"],
        "posting_date": pc.cast(pc.strptime(table["posting_date"], "%d-%m-%Y", "s"), pa.date32()),
        "account_string": table["account_string"],
        "activity_code": table["activity_code"],
        "posting_text": table["posting_text"],
        "amount": pc.cast(danish_amount, AMOUNT_TYPE),
        "source_file": pa.array([path.name] * table.num_rows, pa.string()),
    }
    return pa.table(columns)


@dlt.source(name="finance")
def finance_source(drop_folder: Path) -> dlt.sources.DltResource:
    @dlt.resource(name="ledger_postings", write_disposition="replace", primary_key="posting_id")
    def ledger_postings() -> Iterator[pa.Table]:
        files = sorted(Path(drop_folder).glob("*.csv"))
        if not files:
            raise FileNotFoundError(f"no ledger exports (*.csv) in {drop_folder}")
        for path in files:
            yield read_ledger_file(path)

    return ledger_postings
