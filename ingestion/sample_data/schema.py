"""The OS2bos 3.8 tables and column types; mirrors shared/reference/os2bos/SCHEMA.md (keep in sync)."""

from __future__ import annotations

_PK = "integer primary key"
_AUDIT = (
    ("created", "timestamp"), ("modified", "timestamp"),
    ("user_created", "varchar(128)"), ("user_modified", "varchar(128)"),
)
# django-simple-history bookkeeping columns; in a history table `id` is the tracked row's id
# (not unique) and `history_id` is the primary key.
_HISTORY = (
    ("history_id", _PK), ("history_date", "timestamp"), ("history_change_reason", "varchar(100)"),
    ("history_type", "varchar(1)"), ("history_user_id", "integer"),
)
_RATEPERDATE = (
    ("rate", "numeric(14,2)"), ("start_date", "date"), ("end_date", "date"),
    ("main_rate_id", "integer"), ("changed_date", "timestamp"), ("changed_by_id", "integer"),
)

TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "core_municipality": (("id", _PK), ("active", "boolean"), ("name", "varchar(128)")),
    "core_schooldistrict": (("id", _PK), ("active", "boolean"), ("name", "varchar(128)")),
    "core_effortstep": (("id", _PK), ("active", "boolean"), ("name", "varchar(128)"), ("number", "integer")),
    "core_targetgroup": (
        ("id", _PK), ("active", "boolean"), ("name", "varchar(128)"),
        ("required_fields_for_case", "varchar(1024)"),
    ),
    "core_internalpaymentrecipient": (("id", _PK), ("active", "boolean"), ("name", "varchar(128)")),
    "core_effort": (
        ("id", _PK), ("active", "boolean"), ("name", "varchar(128)"), ("description", "varchar(128)"),
    ),
    "core_paymentmethoddetails": (("id", _PK), ("active", "boolean"), ("tax_card", "varchar(128)")),
    "core_approvallevel": (("id", _PK), ("active", "boolean"), ("name", "varchar(128)")),
    "core_team": (("id", _PK), ("active", "boolean"), ("name", "varchar(128)"), ("leader_id", "integer")),
    "core_user": (
        ("id", _PK), ("username", "varchar(150)"), ("first_name", "varchar(150)"),
        ("last_name", "varchar(150)"), ("email", "varchar(254)"), ("password", "varchar(128)"),
        ("last_login", "timestamp"), ("is_superuser", "boolean"), ("is_staff", "boolean"),
        ("is_active", "boolean"), ("date_joined", "timestamp"), ("team_id", "integer"),
        ("profile", "varchar(128)"),
    ),
    "core_section": (
        ("id", _PK), ("active", "boolean"), ("paragraph", "varchar(128)"), ("text", "text"),
        ("law_text_name", "varchar(128)"), ("dst_code", "varchar(128)"),
        ("dst_preventative_measures", "boolean"), ("dst_handicap", "boolean"),
    ),
    "core_activitycategory": (
        ("id", _PK), ("active", "boolean"), ("category_id", "varchar(6)"), ("name", "varchar(128)"),
    ),
    "core_activitydetails": (
        ("id", _PK), ("active", "boolean"), ("name", "varchar(128)"), ("description", "text"),
        ("activity_id", "varchar(128)"), ("max_tolerance_in_percent", "smallint"),
        ("max_tolerance_in_dkk", "integer"),
    ),
    "core_sectioninfo": (
        ("id", _PK), ("active", "boolean"), ("activity_details_id", "integer"), ("section_id", "integer"),
        ("activity_category_id", "integer"), ("kle_number", "varchar(128)"),
        ("sbsys_template_id", "varchar(128)"), ("main_activity_main_account_number", "varchar(128)"),
        ("supplementary_activity_main_account_number", "varchar(128)"),
    ),
    "core_accountaliasmapping": (
        ("id", _PK), ("main_account_number", "varchar(128)"), ("activity_number", "varchar(128)"),
        ("alias", "varchar(128)"),
    ),
    "core_serviceprovider": (
        ("id", _PK), ("active", "boolean"), ("cvr_number", "varchar(8)"), ("name", "varchar(128)"),
        ("business_code", "varchar(128)"), ("business_code_text", "varchar(128)"),
        ("street", "varchar(128)"), ("street_number", "varchar(128)"), ("zip_code", "varchar(128)"),
        ("post_district", "varchar(128)"), ("status", "varchar(128)"), ("vat_factor", "numeric(5,2)"),
    ),
    "core_paymentdateexclusion": (("id", _PK), ("date", "date")),
    # Price and Rate inherit from VariableRate (multi-table inheritance: own key variablerate_ptr_id).
    "core_variablerate": (("id", _PK),),
    "core_rate": (
        ("variablerate_ptr_id", _PK), ("active", "boolean"), ("name", "varchar(128)"),
        ("description", "text"), ("needs_recalculation", "boolean"),
    ),
    "core_price": (("variablerate_ptr_id", _PK), ("payment_schedule_id", "integer")),
    "core_rateperdate": (("id", _PK), *_RATEPERDATE),
    "core_historicalrateperdate": (("id", "integer"), *_RATEPERDATE, *_HISTORY),
    "core_case": (
        ("id", _PK), *_AUDIT, ("sbsys_id", "varchar(128)"), ("cpr_number", "varchar(10)"),
        ("name", "varchar(128)"), ("case_worker_id", "integer"), ("district_id", "integer"),
        ("paying_municipality_id", "integer"), ("acting_municipality_id", "integer"),
        ("residence_municipality_id", "integer"), ("target_group_id", "integer"),
        ("effort_step_id", "integer"), ("scaling_step", "smallint"), ("assessment_comment", "text"),
        ("note", "text"),
    ),
    # Only these case columns are tracked (no cpr_number, name, sbsys_id, note, district_id,
    # target_group_id, paying/residence municipality).
    "core_historicalcase": (
        ("id", "integer"), *_AUDIT, ("case_worker_id", "integer"), ("acting_municipality_id", "integer"),
        ("effort_step_id", "integer"), ("scaling_step", "smallint"), ("assessment_comment", "text"),
        *_HISTORY,
    ),
    # m2m Case.efforts
    "core_case_efforts": (("id", _PK), ("case_id", "integer"), ("effort_id", "integer")),
    "core_relatedperson": (
        ("id", _PK), *_AUDIT, ("relation_type", "varchar(128)"), ("cpr_number", "varchar(10)"),
        ("name", "varchar(128)"), ("related_case", "varchar(128)"), ("from_serviceplatformen", "boolean"),
        ("main_case_id", "integer"),
    ),
    "core_appropriation": (
        ("id", _PK), *_AUDIT, ("sbsys_id", "varchar(128)"), ("section_id", "integer"),
        ("case_id", "integer"), ("note", "text"),
    ),
    "core_activity": (
        ("id", _PK), *_AUDIT, ("details_id", "integer"), ("status", "varchar(128)"),
        ("approval_level_id", "integer"), ("approval_note", "text"), ("approval_user_id", "integer"),
        ("appropriation_date", "date"), ("start_date", "date"), ("end_date", "date"),
        ("activity_type", "varchar(128)"), ("modifies_id", "integer"), ("appropriation_id", "integer"),
        ("service_provider_id", "integer"), ("note", "text"),
    ),
    "core_paymentschedule": (
        ("id", _PK), ("recipient_type", "varchar(128)"), ("recipient_id", "varchar(128)"),
        ("recipient_name", "varchar(128)"), ("payment_method", "varchar(128)"),
        ("payment_method_details_id", "integer"), ("activity_id", "integer"),
        ("payment_frequency", "varchar(128)"), ("payment_date", "date"),
        ("payment_day_of_month", "integer"), ("payment_type", "varchar(128)"),
        ("payment_units", "numeric(14,2)"), ("payment_amount", "numeric(14,2)"), ("fictive", "boolean"),
        ("payment_id", "integer"), ("payment_cost_type", "varchar(128)"), ("payment_rate_id", "integer"),
    ),
    "core_payment": (
        ("id", _PK), ("date", "date"), ("recipient_type", "varchar(128)"), ("recipient_id", "varchar(128)"),
        ("recipient_name", "varchar(128)"), ("payment_method", "varchar(128)"), ("amount", "numeric(14,2)"),
        ("paid_amount", "numeric(14,2)"), ("paid", "boolean"), ("paid_date", "date"), ("note", "text"),
        ("saved_account_string", "varchar(128)"), ("saved_account_alias", "varchar(128)"),
        ("payment_schedule_id", "integer"),
    ),
    "core_historicalpayment": (
        ("id", "integer"), ("paid_amount", "numeric(14,2)"), ("paid", "boolean"), ("paid_date", "date"),
        ("saved_account_alias", "varchar(128)"), *_HISTORY,
    ),
}

COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(name for name, _ in columns) for table, columns in TABLES.items()
}

# Primary key column of each table (`variablerate_ptr_id` for Price/Rate, `history_id` for history).
PRIMARY_KEYS: dict[str, str] = {
    table: next(name for name, sql_type in columns if sql_type == _PK) for table, columns in TABLES.items()
}

# PostgreSQL spelling as Django creates it: serial keys and timestamptz.
_POSTGRESQL_TYPES = {_PK: "serial primary key", "timestamp": "timestamptz"}


def create_table_sql(table: str, dialect: str = "sqlite") -> str:
    """`CREATE TABLE` for `table`; `dialect` is "sqlite" (default) or "postgresql"."""
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported dialect {dialect!r}")
    types = _POSTGRESQL_TYPES if dialect == "postgresql" else {}
    columns = ", ".join(f'"{name}" {types.get(sql_type, sql_type)}' for name, sql_type in TABLES[table])
    return f'CREATE TABLE "{table}" ({columns})'
