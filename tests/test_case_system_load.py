"""Small hand-written OS2bos source databases (SQLite or PostgreSQL) for the loader tests."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import sqlalchemy as sa

from ingestion.pseudonymise import PseudonymKey
from ingestion.sample_data.schema import COLUMNS, TABLES, create_table_sql

KEY = PseudonymKey(b"test-only-pseudonymisation-key-0123456789abcdef", "test-v1")
PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
CPR_RE = re.compile(r"\b\d{6}-?\d{4}\b")
PERSONNUMMER_RE = re.compile(r"\b\d{8}-?\d{4}\b")
NAMES = ("Astrid Testesen", "Bo Prøvesen", "Carla Eksempel", "Dorthe Plejemor", "Erik Farsen", "Frida Ny")
T0 = datetime(2025, 1, 10, 9, 0, 0)
T1 = datetime(2025, 3, 1, 12, 30, 0)


def _row(table: str, **values: object) -> dict[str, object]:
    unknown = set(values) - set(COLUMNS[table])
    assert not unknown, (table, unknown)
    return {c: values.get(c) for c in COLUMNS[table]}


def initial_rows() -> dict[str, list[dict[str, object]]]:
    r = _row
    audit = {"created": T0, "modified": T0, "user_created": "cw1", "user_modified": "cw1"}
    rows: dict[str, list[dict[str, object]]] = {t: [] for t in TABLES}
    rows["core_municipality"] = [r("core_municipality", id=i, active=True, name=n) for i, n in ((1, "Aarhus"), (2, "Odense"))]
    rows["core_schooldistrict"] = [r("core_schooldistrict", id=1, active=True, name="Nord")]
    rows["core_effortstep"] = [r("core_effortstep", id=1, active=True, name="Trin 1", number=1)]
    rows["core_targetgroup"] = [r("core_targetgroup", id=1, active=True, name="Familie", required_fields_for_case="")]
    rows["core_internalpaymentrecipient"] = [r("core_internalpaymentrecipient", id=1, active=True, name="Intern")]
    rows["core_effort"] = [r("core_effort", id=1, active=True, name="Indsats", description="d")]
    rows["core_paymentmethoddetails"] = [r("core_paymentmethoddetails", id=1, active=True, tax_card="MAIN_CARD")]
    rows["core_approvallevel"] = [r("core_approvallevel", id=1, active=True, name="Team")]
    rows["core_team"] = [r("core_team", id=1, active=True, name="Team A", leader_id=1)]
    rows["core_user"] = [r(
        "core_user", id=1, username="cw1", first_name="Gitte", last_name="Sagsbehandler", email="g@kommune.dk",
        password="pbkdf2$secret", last_login=T0, is_superuser=False, is_staff=True, is_active=True,
        date_joined=T0, team_id=1, profile="grant",
    )]
    rows["core_section"] = [r("core_section", id=1, active=True, paragraph="SEL §52", text="t", law_text_name="SEL",
                              dst_code="1", dst_preventative_measures=False, dst_handicap=False)]
    rows["core_activitycategory"] = [r("core_activitycategory", id=1, active=True, category_id="001", name="Pleje")]
    rows["core_activitydetails"] = [r("core_activitydetails", id=1, active=True, name="Plejefamilie", description="x",
                                      activity_id="010001", max_tolerance_in_percent=10, max_tolerance_in_dkk=5000)]
    rows["core_sectioninfo"] = [r("core_sectioninfo", id=1, active=True, activity_details_id=1, section_id=1,
                                  activity_category_id=1, kle_number="27.20.12", sbsys_template_id="t",
                                  main_activity_main_account_number="5.28.20", supplementary_activity_main_account_number="5.28.21")]
    rows["core_accountaliasmapping"] = [r("core_accountaliasmapping", id=1, main_account_number="5.28.20",
                                          activity_number="010001", alias="BOS0000001")]
    rows["core_serviceprovider"] = [r("core_serviceprovider", id=1, active=True, cvr_number="12345678", name="Opholdsstedet ApS",
                                      business_code="1", business_code_text="b", street="Vej", street_number="1",
                                      zip_code="8000", post_district="Aarhus C", status="Normal", vat_factor=Decimal("100.00"))]
    rows["core_paymentdateexclusion"] = [r("core_paymentdateexclusion", id=1, date=date(2025, 12, 24))]
    rows["core_variablerate"] = [r("core_variablerate", id=i) for i in (1, 2)]
    rows["core_rate"] = [r("core_rate", variablerate_ptr_id=1, active=True, name="Takst", description="d", needs_recalculation=False)]
    rows["core_price"] = [r("core_price", variablerate_ptr_id=2, payment_schedule_id=1)]
    rows["core_rateperdate"] = [r("core_rateperdate", id=1, rate=Decimal("1234.50"), start_date=date(2025, 1, 1),
                                  end_date=None, main_rate_id=1, changed_date=T0, changed_by_id=1)]
    rows["core_historicalrateperdate"] = [r("core_historicalrateperdate", id=1, rate=Decimal("1234.50"), start_date=date(2025, 1, 1),
                                            main_rate_id=1, changed_date=T0, changed_by_id=1, history_id=1,
                                            history_date=T0, history_type="+", history_user_id=1)]
    cprs = ("0101124234", "0202135456", "0303146890")
    rows["core_case"] = [r(
        "core_case", id=i + 1, **audit, sbsys_id=f"27.20.12-G01-{i}-25", cpr_number=cpr, name=NAMES[i],
        case_worker_id=1, district_id=1, paying_municipality_id=1, acting_municipality_id=1,
        residence_municipality_id=1, target_group_id=1, effort_step_id=1, scaling_step=3,
        assessment_comment="ok", note="mor har cpr 111111-1118" if i == 0 else "n",
    ) for i, cpr in enumerate(cprs)]
    rows["core_historicalcase"] = [r(
        "core_historicalcase", id=i + 1, **audit, case_worker_id=1, acting_municipality_id=1, effort_step_id=1,
        scaling_step=3, assessment_comment="ok", history_id=i + 1, history_date=T0, history_type="+", history_user_id=1,
    ) for i in range(3)]
    rows["core_case_efforts"] = [r("core_case_efforts", id=1, case_id=1, effort_id=1)]
    rows["core_relatedperson"] = [
        r("core_relatedperson", id=1, **audit, relation_type="mor", cpr_number="1212801234", name=NAMES[3],
          related_case="", from_serviceplatformen=True, main_case_id=1),
        r("core_relatedperson", id=2, **audit, relation_type="far", cpr_number="1111791111", name=NAMES[4],
          related_case="", from_serviceplatformen=False, main_case_id=1),
    ]
    rows["core_appropriation"] = [r("core_appropriation", id=i, **audit, sbsys_id=f"A{i}", section_id=1, case_id=i, note="")
                                  for i in (1, 2, 3)]
    rows["core_activity"] = [r(
        "core_activity", id=i, **audit, details_id=1, status="GRANTED", approval_level_id=1, approval_note="",
        approval_user_id=1, appropriation_date=date(2025, 1, 1), start_date=date(2025, 1, 1), end_date=None,
        activity_type="MAIN_ACTIVITY", modifies_id=None, appropriation_id=i, service_provider_id=1, note=None,
    ) for i in (1, 2, 3)]
    rows["core_paymentschedule"] = [
        r("core_paymentschedule", id=1, recipient_type="PERSON", recipient_id="1212801234", recipient_name=NAMES[3],
          payment_method="SD", payment_method_details_id=1, activity_id=1, payment_frequency="MONTHLY",
          payment_date=None, payment_day_of_month=1, payment_type="RUNNING_PAYMENT", payment_units=Decimal("1.00"),
          payment_amount=Decimal("10000.00"), fictive=False, payment_id=None, payment_cost_type="FIXED", payment_rate_id=None),
        r("core_paymentschedule", id=2, recipient_type="COMPANY", recipient_id="12345678", recipient_name="Opholdsstedet ApS",
          payment_method="INVOICE", payment_method_details_id=None, activity_id=2, payment_frequency="MONTHLY",
          payment_date=None, payment_day_of_month=1, payment_type="RUNNING_PAYMENT", payment_units=None,
          payment_amount=Decimal("45000.00"), fictive=False, payment_id=None, payment_cost_type="FIXED", payment_rate_id=None),
    ]
    rows["core_payment"] = []
    rows["core_historicalpayment"] = []
    for pid in range(1, 7):
        schedule = rows["core_paymentschedule"][(pid - 1) % 2]
        paid = pid <= 2
        rows["core_payment"].append(r(
            "core_payment", id=pid, date=date(2025, pid, 1), recipient_type=schedule["recipient_type"],
            recipient_id=schedule["recipient_id"], recipient_name=schedule["recipient_name"],
            payment_method=schedule["payment_method"], amount=schedule["payment_amount"],
            paid_amount=schedule["payment_amount"] if paid else None, paid=paid,
            paid_date=date(2025, pid, 1) if paid else None, note="", saved_account_string="5.28.20-010001",
            saved_account_alias="BOS0000001", payment_schedule_id=schedule["id"],
        ))
        rows["core_historicalpayment"].append(r(
            "core_historicalpayment", id=pid, paid_amount=None, paid=False, paid_date=None,
            saved_account_alias="BOS0000001", history_id=pid, history_date=T0, history_type="+", history_user_id=1,
        ))
    return rows


def _sqlite_value(value: object) -> object:
    """As the sample writer stores values in SQLite: text decimals and ISO dates."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


class SourceDb:
    """A throw-away OS2bos database with the sample DDL."""

    def __init__(self, dialect: str, url: str) -> None:
        self.dialect, self.url = dialect, url
        self.engine = sa.create_engine(url)

    def create(self, rows: dict[str, list[dict[str, object]]]) -> None:
        with self.engine.begin() as conn:
            for table in TABLES:
                conn.exec_driver_sql(create_table_sql(table, self.dialect))
            for table, table_rows in rows.items():
                if table_rows:
                    self.insert(table, *table_rows, conn=conn)

    def insert(self, table: str, *rows: dict[str, object], conn: sa.Connection | None = None) -> None:
        columns = list(rows[0])
        if self.dialect == "sqlite":
            rows = tuple({k: _sqlite_value(v) for k, v in r.items()} for r in rows)
        sql = sa.text(f'INSERT INTO "{table}" ({", ".join(chr(34) + c + chr(34) for c in columns)}) '
                      f'VALUES ({", ".join(":" + c for c in columns)})')
        if conn is None:
            with self.engine.begin() as c:
                c.execute(sql, list(rows))
        else:
            conn.execute(sql, list(rows))

    def execute(self, sql: str, **params: object) -> None:
        if self.dialect == "sqlite":
            params = {k: _sqlite_value(v) for k, v in params.items()}
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql), params)

    def rows(self, table: str) -> list[dict[str, object]]:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=self.engine)
        with self.engine.connect() as conn:
            return [dict(m) for m in conn.execute(sa.select(reflected)).mappings()]

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def source_db(dialect: str, tmp_path: Path) -> Iterator[SourceDb]:
    if dialect == "sqlite":
        db = SourceDb("sqlite", f"sqlite:///{tmp_path / 'os2bos.sqlite'}")
        try:
            yield db
        finally:
            db.dispose()
        return
    name = f"os2bos_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment
        admin.dispose()
        import pytest
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    db = SourceDb("postgresql", f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}")
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def normalise(value: object) -> object:
    """Compare values across SQLite, PostgreSQL and DuckDB."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal, float)) and not isinstance(value, bool):
        return f"{Decimal(str(value)):.2f}"
    if isinstance(value, str) and value.isdigit() is False:
        return value
    return value


def raw_rows(raw: Path, table: str) -> list[dict[str, object]]:
    with duckdb.connect(str(raw), read_only=True) as con:
        cur = con.execute(f'SELECT * FROM os2bos."{table}"')
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def raw_tables(raw: Path) -> set[str]:
    with duckdb.connect(str(raw), read_only=True) as con:
        return {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'os2bos'").fetchall()}


def personal_data_found(raw: Path, names: tuple[str, ...]) -> list[str]:
    """Every VARCHAR column of every table in the raw file holding a CPR, personnummer or a name."""
    findings = []
    with duckdb.connect(str(raw), read_only=True) as con:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns").fetchall()
        for schema, table, column, data_type in columns:
            if column in ("cpr_number",):
                findings.append(f"{schema}.{table}.{column}: column exists")
            if data_type != "VARCHAR" or column in ("load_id", "_dlt_load_id"):  # dlt's unix-time load ids
                continue
            values = con.execute(f'SELECT "{column}" FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL').fetchall()
            for (value,) in values:
                if CPR_RE.search(value) or PERSONNUMMER_RE.search(value) or any(n in value for n in names):
                    findings.append(f"{schema}.{table}.{column}: {value[:40]!r}")
    return findings


# ---------------------------------------------------------------------------------------------
# tests

import dlt  # noqa: E402
import pytest  # noqa: E402

from ingestion.case_system import DELETED_COLUMN, OS2BOS_TABLES, TABLE_SPECS, load_summary, os2bos_source  # noqa: E402
from ingestion.case_system.sqlite_reader import DuckDBSQLiteTableLoader  # noqa: E402
from ingestion.pseudonymise import person_id  # noqa: E402

DIALECTS = ("sqlite", "postgresql")
PERSONAL = {"core_case": {"cpr_number", "name"}, "core_relatedperson": {"cpr_number", "name"},
            "core_user": {"first_name", "last_name", "email", "password"}}
SCRUBBED = {"core_case": ("note", "assessment_comment")}
RECIPIENT_TABLES = ("core_payment", "core_paymentschedule")


def _pipeline(tmp_path: Path) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=f"os2bos_{uuid.uuid4().hex[:8]}",
        destination=dlt.destinations.duckdb(credentials=str(tmp_path / "raw.duckdb")),
        dataset_name="os2bos",
        pipelines_dir=str(tmp_path / "dlt"),
    )


def _run(db: SourceDb, pipeline: dlt.Pipeline, tables: tuple[str, ...] | None = None) -> dict[str, dict[str, object]]:
    pipeline.run(os2bos_source(db.url, lambda: KEY, tables=tables))
    return load_summary(pipeline)


def _expected(table: str, row: dict[str, object]) -> dict[str, object]:
    row = {k: v for k, v in row.items() if k not in PERSONAL.get(table, ())}
    for column in SCRUBBED.get(table, ()):
        if isinstance(row.get(column), str):
            row[column] = CPR_RE.sub("[personnummer]", row[column])
    if table in RECIPIENT_TABLES and row["recipient_type"] == "PERSON":
        row["recipient_id"], row["recipient_name"] = person_id(KEY, row["recipient_id"]), None
    return {k: normalise(v) for k, v in row.items()}


def _assert_raw_equals_source(db: SourceDb, raw: Path) -> None:
    for table in OS2BOS_TABLES:
        source = sorted((_expected(table, r) for r in db.rows(table)), key=lambda r: str(sorted(r.items())))
        landed = raw_rows(raw, table)
        columns = set(source[0]) if source else set()
        got = sorted(({k: normalise(r[k]) for k in columns} for r in landed), key=lambda r: str(sorted(r.items())))
        assert got == source, table
        if landed:
            extra = set(landed[0]) - columns - {"_dlt_load_id", "_dlt_id", DELETED_COLUMN,
                                                 "person_id", "birth_date", "sex", "pseudonym_key_version"}
            assert not extra, (table, extra)


def _change_source(db: SourceDb) -> None:
    """A night's worth of changes: 2 case rows, 1 related person, 1 activity, 3 payments, deletes."""
    db.execute("UPDATE core_case SET scaling_step = 5, modified = :t WHERE id = 2", t=T1)
    db.insert("core_case", _row("core_case", id=4, created=T1, modified=T1, cpr_number="0404159999", name=NAMES[5],
                                case_worker_id=1, paying_municipality_id=2, acting_municipality_id=2,
                                residence_municipality_id=2, note="ny sag"))
    db.execute("DELETE FROM core_case WHERE id = 3")
    db.insert("core_historicalcase", _row("core_historicalcase", id=2, created=T0, modified=T1, scaling_step=5,
                                          history_id=4, history_date=T1, history_type="~"))
    db.execute("UPDATE core_relatedperson SET relation_type = 'plejemor', modified = :t WHERE id = 1", t=T1)
    db.execute("DELETE FROM core_relatedperson WHERE id = 2")
    db.insert("core_activity", _row("core_activity", id=4, created=T1, modified=T1, details_id=1, status="DRAFT",
                                    activity_type="SUPPL_ACTIVITY", appropriation_id=1, start_date=date(2025, 4, 1)))
    # payment 3 was made: only core_historicalpayment tells (no timestamp on core_payment)
    db.execute("UPDATE core_payment SET paid = :p, paid_amount = amount, paid_date = :d WHERE id = 3",
               p=True, d=date(2025, 3, 3))
    db.insert("core_historicalpayment", _row("core_historicalpayment", id=3, paid_amount=Decimal("10000.00"), paid=True,
                                             paid_date=date(2025, 3, 3), saved_account_alias="BOS0000001",
                                             history_id=7, history_date=T1, history_type="~"))
    db.insert("core_payment", _row("core_payment", id=7, date=date(2025, 7, 1), recipient_type="PERSON",
                                   recipient_id="1212801234", recipient_name=NAMES[3], payment_method="SD",
                                   amount=Decimal("10000.00"), paid=False, payment_schedule_id=1))
    db.insert("core_historicalpayment", _row("core_historicalpayment", id=7, paid=False, history_id=8,
                                             history_date=T1, history_type="+"))
    db.execute("DELETE FROM core_payment WHERE id = 6")
    db.insert("core_historicalpayment", _row("core_historicalpayment", id=6, paid=False, history_id=9,
                                             history_date=T1, history_type="-"))
    db.insert("core_municipality", _row("core_municipality", id=3, active=True, name="Vejle"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_incremental_load_moves_only_changes_and_detects_deletes(dialect: str, tmp_path: Path) -> None:
    raw = tmp_path / "raw.duckdb"
    with source_db(dialect, tmp_path) as db:
        db.create(initial_rows())
        pipeline = _pipeline(tmp_path)

        first = _run(db, pipeline)
        assert set(OS2BOS_TABLES) <= raw_tables(raw)
        assert first["core_payment"] == {"strategy": "payment", "rows": 6, "deleted": 0, "reread_missing": 0}
        assert first["core_case"]["rows"] == 3 and first["core_historicalpayment"]["rows"] == 6
        _assert_raw_equals_source(db, raw)

        _change_source(db)
        second = _run(db, pipeline)
        moved = {t: (s["rows"], s["deleted"]) for t, s in second.items() if s["strategy"] != "replace"}
        assert moved == {
            "core_case": (2, 1), "core_relatedperson": (1, 1), "core_appropriation": (0, 0),
            "core_activity": (1, 0), "core_payment": (2, 1), "core_historicalcase": (1, 0),
            "core_historicalpayment": (3, 0), "core_historicalrateperdate": (0, 0),
        }
        assert second["core_municipality"]["rows"] == 3  # classifications reload whole
        _assert_raw_equals_source(db, raw)
        paid = {r["id"]: r for r in raw_rows(raw, "core_payment")}[3]
        assert paid["paid"] is True and str(paid["paid_date"]) == "2025-03-03"

        incremental = tuple(t for t in OS2BOS_TABLES if TABLE_SPECS[t].incremental)
        third = _run(db, pipeline, incremental)  # nothing changed: nothing moves
        assert {t: (s["rows"], s["deleted"]) for t, s in third.items()} == {t: (0, 0) for t in incremental}
        _assert_raw_equals_source(db, raw)

        assert personal_data_found(raw, NAMES) == []
        cases = {r["id"]: r for r in raw_rows(raw, "core_case")}
        assert cases[1]["person_id"] == person_id(KEY, "0101124234")
        assert str(cases[1]["birth_date"]) == "2012-01-01" and cases[1]["pseudonym_key_version"] == "test-v1"
        related = {r["id"]: r for r in raw_rows(raw, "core_relatedperson")}
        assert related[1]["person_id"] == person_id(KEY, "1212801234") and related[1]["sex"] == "F"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_rows_missing_below_the_cursor_are_read_again(dialect: str, tmp_path: Path) -> None:
    """A payment committed late with a lower id than the cursor (PostgreSQL sequences) still lands."""
    raw = tmp_path / "raw.duckdb"
    with source_db(dialect, tmp_path) as db:
        rows = initial_rows()
        late = rows["core_payment"].pop(1)
        db.create(rows)
        pipeline = _pipeline(tmp_path)
        tables = ("core_payment", "core_historicalpayment")
        _run(db, pipeline, tables)
        db.insert("core_payment", late)
        second = _run(db, pipeline, tables)
        assert second["core_payment"] == {"strategy": "payment", "rows": 1, "deleted": 0, "reread_missing": 1}
        assert sorted(r["id"] for r in raw_rows(raw, "core_payment")) == [1, 2, 3, 4, 5, 6]


def _reconciled_by(pipeline: dlt.Pipeline) -> dict[str, str]:
    resources = pipeline.state["sources"]["os2bos"]["resources"]
    return {t: r["last_run"]["reconciled_by"] for t, r in resources.items() if "last_run" in r}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_keys_are_compared_only_when_their_digests_differ(dialect: str, tmp_path: Path) -> None:
    """A night with no deletes and no late commits compares digests of the keys, not the keys;
    keys that changed with the same count and the same sum are still found."""
    raw = tmp_path / "raw.duckdb"
    with source_db(dialect, tmp_path) as db:
        rows = initial_rows()
        late = [p for p in rows["core_payment"] if p["id"] in (3, 4)]
        rows["core_payment"] = [p for p in rows["core_payment"] if p["id"] not in (3, 4)]
        db.create(rows)
        pipeline = _pipeline(tmp_path)
        tables = ("core_case", "core_payment", "core_historicalpayment")
        _run(db, pipeline, tables)
        assert _reconciled_by(pipeline) == {"core_case": "first load", "core_payment": "first load"}

        _run(db, pipeline, tables)
        assert _reconciled_by(pipeline) == {"core_case": "digest", "core_payment": "digest"}

        # 2 and 5 deleted, 3 and 4 committed late below the cursor: 4 keys, sum 14, on both sides
        db.execute("DELETE FROM core_payment WHERE id IN (2, 5)")
        for payment in late:
            db.insert("core_payment", payment)
        moved = _run(db, pipeline, tables)
        assert _reconciled_by(pipeline)["core_payment"] == "keys"
        assert moved["core_payment"] == {"strategy": "payment", "rows": 2, "deleted": 2, "reread_missing": 2}
        assert sorted(r["id"] for r in raw_rows(raw, "core_payment")) == [1, 3, 4, 6]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_refuses_to_run_without_a_key(dialect: str, tmp_path: Path) -> None:
    raw = tmp_path / "raw.duckdb"
    with source_db(dialect, tmp_path) as db:
        db.create(initial_rows())

        def no_key() -> PseudonymKey:
            raise RuntimeError("pseudonymisation key missing")

        with pytest.raises(Exception, match="pseudonymisation key missing"):
            _pipeline(tmp_path).run(os2bos_source(db.url, no_key))
        if raw.exists():
            assert not raw_tables(raw) & {"core_case", "core_relatedperson", "core_payment", "core_paymentschedule"}


def test_source_is_built_without_connecting_or_the_key() -> None:
    def no_key() -> PseudonymKey:
        raise AssertionError("key loaded at definition time")

    source = os2bos_source("postgresql+psycopg2://nobody@127.0.0.1:1/nowhere", no_key)
    assert list(source.resources) == list(OS2BOS_TABLES)
    assert source.resources["core_payment"].write_disposition == "merge"
    assert source.resources["core_municipality"].write_disposition == "replace"
    assert source.resources["core_historicalpayment"].write_disposition == {"disposition": "merge", "strategy": "delete-insert"}


def _described(raw: Path, table: str) -> list[tuple[str, str]]:
    with duckdb.connect(str(raw), read_only=True) as con:
        return [(r[0], r[1]) for r in con.execute(f'DESCRIBE os2bos."{table}"').fetchall()]


def test_duckdb_reader_lands_what_the_sqlalchemy_reader_lands(tmp_path: Path) -> None:
    """SQLite is read by DuckDB; a raw layer first written by dlt's SQLAlchemy (pyarrow) reader
    must get the same columns, types and values, so that either can merge into the other's tables."""
    with source_db("sqlite", tmp_path) as db:
        db.create(initial_rows())
        landed = {}
        for backend in ("pyarrow", "duckdb"):
            pipeline = dlt.pipeline(
                pipeline_name=f"os2bos_{backend}", destination=dlt.destinations.duckdb(credentials=str(tmp_path / f"{backend}.duckdb")),
                dataset_name="os2bos", pipelines_dir=str(tmp_path / "dlt"),
            )
            pipeline.run(os2bos_source(db.url, lambda: KEY, backend=backend))
            landed[backend] = tmp_path / f"{backend}.duckdb"
        for table in OS2BOS_TABLES:
            assert _described(landed["duckdb"], table) == _described(landed["pyarrow"], table), table
            values = {b: sorted(str({k: v for k, v in r.items() if not k.startswith("_dlt")}) for r in raw_rows(raw, table))
                      for b, raw in landed.items()}
            assert values["duckdb"] == values["pyarrow"], table

        # the pyarrow-made raw layer takes the DuckDB reader's changes without a type change
        _change_source(db)
        pipeline = dlt.pipeline(pipeline_name="os2bos_pyarrow", destination=dlt.destinations.duckdb(credentials=str(landed["pyarrow"])),
                                dataset_name="os2bos", pipelines_dir=str(tmp_path / "dlt"))
        before = {t: _described(landed["pyarrow"], t) for t in OS2BOS_TABLES}
        pipeline.run(os2bos_source(db.url, lambda: KEY, backend="duckdb"))
        assert {t: _described(landed["pyarrow"], t) for t in OS2BOS_TABLES} == before
        _assert_raw_equals_source(db, landed["pyarrow"])


def test_filtered_reads_are_run_by_sqlite_and_land_the_scanners_types(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DuckDB's scanner filters nothing in SQLite, so a nightly read past a cursor would read the
    whole table. A filtered read of a table whose column types dlt knows is run by SQLite itself;
    the rows it lands must have the scanner's types and the source's values."""
    decisions: list[tuple[str, bool, bool]] = []
    decide = DuckDBSQLiteTableLoader.read_by_sqlite

    def recorded(self: DuckDBSQLiteTableLoader, query: sa.Select) -> bool:
        by_sqlite = decide(self, query)
        decisions.append((self.table.name, query.whereclause is not None, by_sqlite))
        return by_sqlite

    monkeypatch.setattr(DuckDBSQLiteTableLoader, "read_by_sqlite", recorded)
    raw = tmp_path / "raw.duckdb"
    with source_db("sqlite", tmp_path) as db:
        db.create(initial_rows())
        pipeline = _pipeline(tmp_path)
        _run(db, pipeline)
        assert decisions and not any(by_sqlite for _, _, by_sqlite in decisions)  # first load: no filter
        scanned = {t: _described(raw, t) for t in OS2BOS_TABLES}

        decisions.clear()
        _change_source(db)
        _run(db, pipeline)
        by_sqlite = {table for table, _, sqlite in decisions if sqlite}
        assert {"core_payment", "core_historicalpayment", "core_appropriation", "core_activity"} <= by_sqlite
        # cases and related persons are reflected without types (their CPR column must not land)
        assert not by_sqlite & {"core_case", "core_relatedperson"}
        assert all(filtered for table, filtered, sqlite in decisions if sqlite)
        assert {t: _described(raw, t) for t in OS2BOS_TABLES} == scanned
        _assert_raw_equals_source(db, raw)


def test_duckdb_reader_is_for_sqlite_only() -> None:
    with pytest.raises(ValueError, match="SQLite files only"):
        os2bos_source("postgresql+psycopg2://nobody@127.0.0.1:1/nowhere", lambda: KEY, backend="duckdb")
