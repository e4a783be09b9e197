"""The suites: which table each one validates, and its expectations with their severity.

Expectations are declared as data and turned into Great Expectations objects only when a suite
runs: importing GX takes ~10 s, which the Dagster webserver, daemon and every run would otherwise
pay just to load the asset graph. Severity follows GX: `critical` (an error) blocks publishing,
`warning` is reported only. An expectation is an error only when the data it catches would make
a mart wrong; everything else is a warning (see docs/data_quality.md for the reasoning per check).

Two kinds of expectation, chosen by how they scale (docs/data_quality.md, "Scaling"):

- `Expect`: a row-level GX expectation on the table's own columns (not null, between, in set).
  The runner streams the table in Arrow record batches and lets GX evaluate every batch, then
  adds up the unexpected counts: memory is bounded by the batch size, not the table.
- `Metric`: a set-based check pushed down to DuckDB (uniqueness, referential integrity, date
  order, date windows, freshness, row counts, reconciliations). The SQL returns one number; GX
  evaluates `ExpectColumnValuesToBeBetween` on the one-row frame of a suite's metrics, so GX
  still judges and reports every expectation and renders it in Data Docs.

Helpers build both from a few words (`not_null`, `unique`, `references`, `date_order`,
`date_window`, `freshness`, `sums_equal`, ...), so a new suite, e.g. for a mart, is a few lines::

    MART_X = SuiteSpec("marts_x", Layer.BUILD, "marts", "x", (
        *not_null("client_id", "month"), unique("client_id", "month"),
        sums_equal("x reconciles to the ledger", "SELECT sum(cost) AS total FROM {table}",
                   "SELECT sum(amount) AS total FROM raw.finance.ledger_postings"),
    ))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

ERROR = "critical"
WARN = "warning"


class Layer(str, Enum):
    RAW = "raw"      # the raw DuckDB file written by dlt
    BUILD = "build"  # the build DuckDB file written by dbt


@dataclass(frozen=True)
class Expect:
    """A row-level GX expectation (class name, e.g. ExpectColumnValuesToBeBetween, and arguments),
    evaluated by GX on every record batch of the table."""

    name: str
    severity: str = ERROR
    kwargs: dict[str, Any] = field(default_factory=dict)
    why: str = ""
    reads: tuple[str, ...] = ()  # further columns the expectation needs (e.g. for a row_condition)

    def columns(self) -> list[str]:
        names = [self.kwargs.get("column"), *self.kwargs.get("column_list", []),
                 self.kwargs.get("column_A"), self.kwargs.get("column_B"), *self.reads]
        return [n for n in names if n]

    @property
    def label(self) -> str:
        return self.name


def expect(name: str, severity: str = ERROR, why: str = "", reads: tuple[str, ...] = (), **kwargs: Any) -> Expect:
    return Expect(name, severity, kwargs, why, reads)


@dataclass(frozen=True)
class Metric:
    """A set-based check pushed down to DuckDB.

    `sql` returns one number; placeholders: `{table}` (the suite's table, quoted), `{today}` (the
    run date as a DATE literal). The check passes when min_value <= number <= max_value (None:
    unbounded). Most metrics count violating rows (unit "rows", bounds 0..0).
    """

    name: str  # the metrics frame's column; unique within a suite
    sql: str
    severity: str = ERROR
    min_value: float | None = 0
    max_value: float | None = 0
    description: str = ""  # what is checked, in words (shown in Data Docs and in failures)
    why: str = ""
    unit: str = "unexpected rows"


@dataclass(frozen=True)
class Volume:
    """Row count against the previous validated run (state in <home>/quality/volume_history.json)."""

    max_drop: float = 0.2     # fail if rows < previous × (1 − max_drop)
    max_growth: float = 3.0   # fail if rows > previous × max_growth + growth_slack
    growth_slack: int = 1000  # small tables may grow a lot in relative terms
    severity: str = WARN


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    layer: Layer
    schema: str
    table: str
    expectations: tuple[Expect | Metric, ...]
    columns_present: tuple[str, ...] = ()  # schema check: these columns must exist (extra ones are fine)
    volume: Volume | None = None
    # columns that may be absent (dlt adds a column only once a value arrives): read as NULL then
    optional_columns: tuple[str, ...] = ()

    @property
    def qualified_table(self) -> str:
        return f'"{self.schema}"."{self.table}"'

    @property
    def row_level(self) -> tuple[Expect, ...]:
        return tuple(e for e in self.expectations if isinstance(e, Expect))

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return tuple(e for e in self.expectations if isinstance(e, Metric))

    def columns(self) -> list[str]:
        """The columns the row-level expectations read: only these are streamed."""
        names: list[str] = []
        for expectation in self.row_level:
            names.extend(c for c in expectation.columns() if c not in names)
        return names


# ---------------------------------------------------------------------------------------------
# Helpers: each returns one expectation or a tuple of them.


def _q(column: str) -> str:
    return f'"{column}"'


def not_null(*columns: str, severity: str = ERROR, why: str = "", live_only: str | None = None) -> tuple[Expect, ...]:
    """Row-level not-null; `live_only` names a boolean column whose true rows are skipped (tombstones)."""
    extra: dict[str, Any] = {}
    reads: tuple[str, ...] = ()
    if live_only:
        extra = {"row_condition": f"{live_only} == False", "condition_parser": "pandas"}
        reads = (live_only,)
    return tuple(expect("ExpectColumnValuesToNotBeNull", severity, why, reads, column=c, **extra) for c in columns)


def between(column: str, min_value: float | None, max_value: float | None, severity: str = ERROR,
            why: str = "") -> Expect:
    return expect("ExpectColumnValuesToBeBetween", severity, why, column=column, min_value=min_value,
                  max_value=max_value)


def in_set(column: str, values: list[str], severity: str = ERROR, why: str = "") -> Expect:
    """Null is allowed (GX skips nulls); combine with not_null where a value is required."""
    return expect("ExpectColumnValuesToBeInSet", severity, why, column=column, value_set=list(values))


def row_count_at_least(minimum: int = 1, severity: str = ERROR, why: str = "") -> Metric:
    return Metric("row_count", "SELECT count(*) FROM {table}", severity, minimum, None,
                  f"the table has at least {minimum} row(s)", why, unit="rows")


def unique(*columns: str, severity: str = ERROR, why: str = "") -> Metric:
    """Extra rows beyond the first per key (NULL keys are left to not_null). GROUP BY spills to disk."""
    keys = ", ".join(_q(c) for c in columns)
    present = " AND ".join(f"{_q(c)} IS NOT NULL" for c in columns[:1])
    return Metric(
        f"duplicates__{'__'.join(columns)}",
        f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {{table}} WHERE {present} "
        f"GROUP BY {keys} HAVING count(*) > 1)",
        severity, description=f"({', '.join(columns)}) is unique", why=why,
    )


def references(column: str, target: str, target_column: str = "id", severity: str = ERROR, why: str = "",
               where: str | None = None) -> Metric:
    """Rows whose non-null `column` has no match in `target` ("schema.table"), an anti-join."""
    schema, table = target.split(".")
    condition = f" AND ({where})" if where else ""
    return Metric(
        f"orphans__{column}",
        f'SELECT count(*) FROM {{table}} AS c WHERE c.{_q(column)} IS NOT NULL{condition} AND NOT EXISTS '
        f'(SELECT 1 FROM "{schema}"."{table}" AS t WHERE t.{_q(target_column)} = c.{_q(column)})',
        severity, description=f"{column} → {target}.{target_column}", why=why,
    )


def date_order(earlier: str, later: str, slack_days: int = 0, severity: str = ERROR, why: str = "",
               where: str | None = None) -> Metric:
    """Rows where `later` < `earlier` − slack (rows with either NULL are not judged)."""
    condition = f" AND ({where})" if where else ""
    slack = f" - INTERVAL {int(slack_days)} DAY" if slack_days else ""
    words = f"{earlier}{f' − {slack_days} days' if slack_days else ''} ≤ {later}"
    return Metric(
        f"order__{earlier}__{later}",
        f"SELECT count(*) FROM {{table}} WHERE {_q(later)} < {_q(earlier)}{slack}{condition}",
        severity, description=words, why=why,
    )


def date_window(column: str, earliest: str = "2000-01-01", days_ahead: int = 366, severity: str = WARN,
                why: str = "", where: str | None = None) -> Metric:
    """Rows whose date lies before `earliest` or more than `days_ahead` after the run date."""
    condition = f" AND ({where})" if where else ""
    return Metric(
        f"window__{column}",
        f"SELECT count(*) FROM {{table}} WHERE ({_q(column)} < DATE '{earliest}' OR "
        f"CAST({_q(column)} AS DATE) > {{today}} + INTERVAL {int(days_ahead)} DAY){condition}",
        severity, description=f"{column} between {earliest} and the run date + {days_ahead} days", why=why,
    )


def freshness(column: str, max_age_days: int, severity: str = WARN, why: str = "", where: str | None = None) -> Metric:
    """Days from the newest `column` to the run date (an empty table counts as 99,999 days old)."""
    condition = f" WHERE {where}" if where else ""
    return Metric(
        f"age_days__{column}",
        f"SELECT coalesce(date_diff('day', CAST(max({_q(column)}) AS DATE), {{today}}), 99999) "
        f"FROM {{table}}{condition}",
        severity, None, max_age_days, f"newest {column} at most {max_age_days} days before the run", why,
        unit="days old",
    )


def count_where(name: str, condition: str, description: str, severity: str = ERROR, why: str = "") -> Metric:
    """Rows matching `condition` (a SQL predicate on the suite's table) must not exist."""
    return Metric(name, f"SELECT count(*) FROM {{table}} WHERE {condition}", severity,
                  description=description, why=why)


def sums_equal(description: str, left: str, right: str, keys: tuple[str, ...] = (), tolerance: float = 0.005,
               severity: str = ERROR, why: str = "", name: str = "reconciliation") -> Metric:
    """Reconciliation: two sums are equal. `left` and `right` are queries returning the columns
    `keys` and `total` (one row when there are no keys); the metric counts the keys whose totals
    differ by more than `tolerance` (a key missing on one side counts as 0 there)."""
    if keys:
        join = "FULL OUTER JOIN r USING (" + ", ".join(_q(k) for k in keys) + ")"
    else:
        join = "FULL OUTER JOIN r ON TRUE"
    return Metric(
        name,
        f"WITH l AS ({left}), r AS ({right}) SELECT count(*) FROM l {join} "
        f"WHERE abs(coalesce(l.total, 0) - coalesce(r.total, 0)) > {tolerance}",
        severity, description=description, why=why,
        unit=f"{'groups' if keys else 'totals'} differing by more than {tolerance}",
    )


def _ids(*extra: str) -> tuple[Expect | Metric, ...]:
    return (*not_null("id", why="the key every join uses"), unique("id", why="a duplicate key fans out joins"),
            *extra)


# ---------------------------------------------------------------------------------------------
# Raw layer: os2bos (one suite per table; columns per shared/reference/os2bos/SCHEMA.md, with
# personal data replaced as in docs/case_system_loading.md).

PAYMENT_FREQUENCIES = ["DAILY", "WEEKLY", "BIWEEKLY", "MONTHLY"]
PAYMENT_TYPES = ["ONE_TIME_PAYMENT", "RUNNING_PAYMENT", "INDIVIDUAL_PAYMENT"]
PAYMENT_METHODS = ["CASH", "SD", "INVOICE", "INTERNAL"]
PAYMENT_COST_TYPES = ["FIXED", "PER_UNIT", "GLOBAL_RATE"]
RECIPIENT_TYPES = ["INTERNAL", "PERSON", "COMPANY"]
MARTS_CHAIN = "the cost chain payment → schedule → activity → appropriation → case feeds every cost mart"

OS2BOS_COLUMNS: dict[str, tuple[str, ...]] = {
    "core_municipality": ("id", "active", "name"),
    "core_schooldistrict": ("id", "active", "name"),
    "core_effortstep": ("id", "active", "name", "number"),
    "core_targetgroup": ("id", "active", "name", "required_fields_for_case"),
    "core_internalpaymentrecipient": ("id", "active", "name"),
    "core_effort": ("id", "active", "name", "description"),
    "core_paymentmethoddetails": ("id", "active", "tax_card"),
    "core_user": ("id", "username", "last_login", "is_superuser", "is_staff", "is_active", "date_joined",
                  "team_id", "profile"),
    "core_team": ("id", "active", "name", "leader_id"),
    "core_rateperdate": ("id", "rate", "start_date", "end_date", "main_rate_id", "changed_date", "changed_by_id"),
    "core_variablerate": ("id",),
    "core_price": ("variablerate_ptr_id", "payment_schedule_id"),
    "core_rate": ("variablerate_ptr_id", "active", "name", "description", "needs_recalculation"),
    "core_paymentschedule": ("id", "recipient_type", "recipient_id", "recipient_name", "payment_method",
                             "payment_method_details_id", "activity_id", "payment_frequency", "payment_date",
                             "payment_day_of_month", "payment_type", "payment_units", "payment_amount", "fictive",
                             "payment_id", "payment_cost_type", "payment_rate_id"),
    "core_payment": ("id", "date", "recipient_type", "recipient_id", "recipient_name", "payment_method", "amount",
                     "paid_amount", "paid", "paid_date", "note", "saved_account_string", "saved_account_alias",
                     "payment_schedule_id"),
    "core_case": ("id", "created", "modified", "user_created", "user_modified", "sbsys_id", "person_id",
                  "birth_date", "sex", "pseudonym_key_version", "case_worker_id", "district_id",
                  "paying_municipality_id", "acting_municipality_id", "residence_municipality_id", "target_group_id",
                  "effort_step_id", "scaling_step", "assessment_comment", "note"),
    "core_approvallevel": ("id", "active", "name"),
    "core_section": ("id", "active", "paragraph", "text", "law_text_name", "dst_code", "dst_preventative_measures",
                     "dst_handicap"),
    "core_appropriation": ("id", "created", "modified", "user_created", "user_modified", "sbsys_id", "section_id",
                           "case_id", "note"),
    "core_serviceprovider": ("id", "active", "cvr_number", "name", "business_code", "business_code_text", "street",
                             "street_number", "zip_code", "post_district", "status", "vat_factor"),
    "core_activitydetails": ("id", "active", "name", "description", "activity_id", "max_tolerance_in_percent",
                             "max_tolerance_in_dkk"),
    "core_activitycategory": ("id", "active", "category_id", "name"),
    "core_sectioninfo": ("id", "active", "activity_details_id", "section_id", "activity_category_id", "kle_number",
                         "sbsys_template_id", "main_activity_main_account_number",
                         "supplementary_activity_main_account_number"),
    "core_accountaliasmapping": ("id", "main_account_number", "activity_number", "alias"),
    "core_activity": ("id", "created", "modified", "user_created", "user_modified", "details_id", "status",
                      "approval_level_id", "approval_note", "approval_user_id", "appropriation_date", "start_date",
                      "end_date", "activity_type", "modifies_id", "appropriation_id", "service_provider_id", "note"),
    "core_relatedperson": ("id", "created", "modified", "user_created", "user_modified", "relation_type",
                           "person_id", "birth_date", "sex", "pseudonym_key_version", "related_case",
                           "from_serviceplatformen", "main_case_id"),
    "core_paymentdateexclusion": ("id", "date"),
    "core_case_efforts": ("id", "case_id", "effort_id"),
    "core_historicalcase": ("id", "created", "modified", "user_created", "user_modified", "case_worker_id",
                            "acting_municipality_id", "effort_step_id", "scaling_step", "assessment_comment",
                            "history_id", "history_date", "history_change_reason", "history_type", "history_user_id"),
    "core_historicalpayment": ("id", "paid_amount", "paid", "paid_date", "saved_account_alias", "history_id",
                               "history_date", "history_change_reason", "history_type", "history_user_id"),
    "core_historicalrateperdate": ("id", "rate", "start_date", "end_date", "main_rate_id", "changed_date",
                                   "changed_by_id", "history_id", "history_date", "history_change_reason",
                                   "history_type", "history_user_id"),
}

_HISTORY = (
    *not_null("history_id", "id", "history_date", "history_type", why="history rows are replayed by snapshots"),
    unique("history_id", why="append-only history: a duplicate history_id means a load was appended twice"),
    in_set("history_type", ["+", "~", "-"], why="django-simple-history's only change types"),
)
_HISTORY_DATE = date_window("history_date", days_ahead=1, why="a recorded change in the future is a clock error")

# Mixed key versions split a child into two persons: blocks publishing (docs/operations.md,
# "Rotating the pseudonymisation key", re-keys the history in one step).
ONE_PSEUDONYM_KEY_VERSION = Metric(
    "pseudonym_key_versions", 'SELECT count(DISTINCT "pseudonym_key_version") FROM {table}', ERROR,
    0, 1, "one pseudonym key version", "two versions split a child into two persons: rotate the key with "
    "`python -m orchestration rotate-pseudonym-key`, never by changing the key alone", unit="versions")

OS2BOS_EXPECTATIONS: dict[str, tuple[Expect | Metric, ...]] = {
    "core_payment": (
        row_count_at_least(1, why="no payments means every cost mart would be empty"),
        *not_null("id", "payment_schedule_id", "date", "amount", "recipient_type"),
        unique("id", why="payments are merged on id; a duplicate is paid twice in the marts"),
        between("amount", -5_000_000, 5_000_000, why="one payment above 5 M kr. is a data error and "
                "would dominate cost per client"),
        in_set("recipient_type", RECIPIENT_TYPES, why="recipient type decides internal vs external cost"),
        between("paid_amount", 0, 1_000_000, WARN, why="above 1 M kr. is possible but rare: look at it"),
        in_set("payment_method", PAYMENT_METHODS, WARN, why="used for reporting only"),
        count_where("paid_without_amount_or_date", "paid AND (paid_amount IS NULL OR paid_date IS NULL)",
                    "a paid payment has paid_amount and paid_date",
                    why="cost is paid_amount in the month of paid_date: without them the payment is lost"),
        references("payment_schedule_id", "os2bos.core_paymentschedule", why=MARTS_CHAIN),
        date_window("date", days_ahead=3 * 366, why="planned payments run to 31 Dec next year"),
        date_window("paid_date", days_ahead=1, why="a payment cannot have been paid in the future"),
        date_order("date", "paid_date", slack_days=30, severity=WARN,
                   why="paid more than 30 days before its planned date: usually a wrong date"),
        freshness("paid_date", 45, why="payments are paid at least monthly: older means the load is stale"),
    ),
    "core_paymentschedule": _ids(
        row_count_at_least(1, why=MARTS_CHAIN),
        *not_null("activity_id", "payment_type", "recipient_type", "payment_method"),
        unique("activity_id", why="one schedule per activity (OS2bos unique key); two would double costs"),
        in_set("payment_frequency", PAYMENT_FREQUENCIES, why="expected cost is computed per frequency"),
        in_set("payment_type", PAYMENT_TYPES, why="expected cost is computed per payment type"),
        in_set("payment_cost_type", PAYMENT_COST_TYPES, why="per-unit and rate costs are computed differently"),
        in_set("recipient_type", RECIPIENT_TYPES),
        in_set("payment_method", PAYMENT_METHODS, WARN),
        between("payment_amount", 0, 5_000_000, WARN, why="a planned amount outside this is suspicious"),
        between("payment_units", 0, 100_000, WARN),
        between("payment_day_of_month", 1, 31, WARN),
        references("activity_id", "os2bos.core_activity", why=MARTS_CHAIN),
        references("payment_rate_id", "os2bos.core_rate", "variablerate_ptr_id", WARN),
        references("payment_method_details_id", "os2bos.core_paymentmethoddetails", severity=WARN),
    ),
    "core_activity": _ids(
        row_count_at_least(1, why=MARTS_CHAIN),
        *not_null("appropriation_id", "details_id", "status", "activity_type"),
        in_set("status", ["DRAFT", "EXPECTED", "GRANTED"], why="only GRANTED activities are costs"),
        in_set("activity_type", ["MAIN_ACTIVITY", "SUPPL_ACTIVITY"]),
        references("appropriation_id", "os2bos.core_appropriation", why=MARTS_CHAIN),
        references("details_id", "os2bos.core_activitydetails", why="the intervention category of the cost"),
        references("service_provider_id", "os2bos.core_serviceprovider", severity=WARN,
                   why="provider breakdowns lose the row, cost totals do not"),
        references("modifies_id", "os2bos.core_activity", severity=WARN),
        references("approval_level_id", "os2bos.core_approvallevel", severity=WARN),
        date_order("start_date", "end_date", why="placement spells and planned cost use the interval"),
        date_order("appropriation_date", "start_date", severity=WARN,
                   why="appropriated after the start happens (retroactive grants): look at it"),
        date_window("start_date", days_ahead=5 * 366),
    ),
    "core_appropriation": _ids(
        row_count_at_least(1, why=MARTS_CHAIN),
        *not_null("case_id"),
        references("case_id", "os2bos.core_case", why=MARTS_CHAIN),
        references("section_id", "os2bos.core_section", severity=WARN, why="paragraph breakdowns only"),
    ),
    "core_case": _ids(
        row_count_at_least(1, why="no cases means no clients"),
        *not_null("person_id", "case_worker_id", "paying_municipality_id",
                  why="the client, the caseworker and the paying municipality are mart keys"),
        *not_null("birth_date", "pseudonym_key_version", severity=WARN,
                  why="an invalid CPR number gives no birth date: the child drops out of age groups"),
        in_set("sex", ["M", "F"], WARN),
        between("scaling_step", 1, 10, why="the scaling step is 1–10 by definition"),
        references("case_worker_id", "os2bos.core_user", why="caseworker load counts cases per caseworker"),
        references("paying_municipality_id", "os2bos.core_municipality", why="cost is per paying municipality"),
        references("acting_municipality_id", "os2bos.core_municipality", severity=WARN),
        references("residence_municipality_id", "os2bos.core_municipality", severity=WARN),
        references("district_id", "os2bos.core_schooldistrict", severity=WARN, why="a breakdown only"),
        references("effort_step_id", "os2bos.core_effortstep", severity=WARN),
        references("target_group_id", "os2bos.core_targetgroup", severity=WARN),
        date_window("birth_date", "1990-01-01", 0),
        ONE_PSEUDONYM_KEY_VERSION,
    ),
    "core_relatedperson": _ids(
        *not_null("main_case_id"),
        references("main_case_id", "os2bos.core_case", severity=WARN),
        ONE_PSEUDONYM_KEY_VERSION,
    ),
    "core_user": _ids(
        row_count_at_least(1),
        *not_null("username"),
        unique("username", why="events are attributed to caseworkers by username"),
        references("team_id", "os2bos.core_team", severity=WARN),
    ),
    "core_team": _ids(references("leader_id", "os2bos.core_user", severity=WARN)),
    "core_serviceprovider": _ids(
        between("vat_factor", 0, 100, why="prices are divided by the VAT factor (a percentage)"),
    ),
    "core_effortstep": _ids(between("number", 1, 6, why="the staircase (indsatstrappen) has steps 1–6")),
    "core_rateperdate": _ids(
        between("rate", 0, 1_000_000, WARN),
        date_order("start_date", "end_date", severity=WARN),
        references("main_rate_id", "os2bos.core_variablerate", severity=WARN),
    ),
    "core_price": (
        *not_null("variablerate_ptr_id"), unique("variablerate_ptr_id"),
        references("payment_schedule_id", "os2bos.core_paymentschedule", severity=WARN),
    ),
    "core_rate": (*not_null("variablerate_ptr_id"), unique("variablerate_ptr_id")),
    "core_sectioninfo": _ids(
        references("activity_details_id", "os2bos.core_activitydetails", severity=WARN),
        references("section_id", "os2bos.core_section", severity=WARN),
    ),
    "core_case_efforts": _ids(
        references("case_id", "os2bos.core_case", severity=WARN),
        references("effort_id", "os2bos.core_effort", severity=WARN),
    ),
    "core_historicalcase": (*_HISTORY, _HISTORY_DATE, between("scaling_step", 1, 10, WARN)),
    "core_historicalpayment": (*_HISTORY, _HISTORY_DATE, between("paid_amount", 0, 1_000_000, WARN)),
    "core_historicalrateperdate": _HISTORY,
}


def _os2bos_suite(table: str) -> SuiteSpec:
    return SuiteSpec(
        name=f"raw_os2bos_{table}",
        layer=Layer.RAW, schema="os2bos", table=table,
        expectations=OS2BOS_EXPECTATIONS.get(table) or _ids(),
        columns_present=OS2BOS_COLUMNS[table], volume=Volume(),
    )


OS2BOS_SUITES: tuple[SuiteSpec, ...] = tuple(_os2bos_suite(t) for t in OS2BOS_COLUMNS)
RAW_PAYMENTS = next(s for s in OS2BOS_SUITES if s.table == "core_payment")

# ---------------------------------------------------------------------------------------------
# Raw layer: case events (docs/case_events_api.md). Tombstones carry only id, type, updated_at
# and deleted, so the envelope's required fields are checked on live events only.

EVENT_TYPES = ["notification_received", "notification_assessed", "investigation_started",
               "investigation_finished", "decision_made", "plan_created", "follow_up_held", "outcome_assessed",
               "case_closed", "decision_executed", "non_execution_reported", "immediate_effort_started"]

RAW_EVENTS = SuiteSpec(
    name="raw_case_events_events", layer=Layer.RAW, schema="case_events", table="events",
    columns_present=("id", "type", "person_id", "birth_date", "sex", "pseudonym_key_version", "case_reference",
                     "jurisdiction", "municipality_code", "caseworker", "team", "occurred_at", "updated_at",
                     "deleted"),
    optional_columns=("details__reporter", "details__urgent", "details__outcome", "details__related_event_id",
                      "details__staircase_step", "details__scaling_step", "details__goal_reached",
                      "details__plan_type", "details__follow_up_number", "details__reason"),
    volume=Volume(),
    expectations=(
        *not_null("id", "updated_at", "deleted", why="the merge key, the cursor and the tombstone flag"),
        unique("id", why="events are merged on id"),
        *not_null("type", "person_id", "occurred_at", "jurisdiction", live_only="deleted",
                  why="deadlines count from occurred_at per child and jurisdiction"),
        *not_null("caseworker", "municipality_code", live_only="deleted", severity=WARN),
        in_set("type", EVENT_TYPES, WARN, why="new types are additive in the contract: report, do not block"),
        in_set("jurisdiction", ["DK", "SE"], why="deadline rules are chosen by jurisdiction"),
        between("details__staircase_step", 1, 6, why="the staircase has steps 1–6"),
        ONE_PSEUDONYM_KEY_VERSION,
        between("details__scaling_step", 1, 10, why="the scaling step is 1–10"),
        between("details__follow_up_number", 1, 100, WARN),
        in_set("details__goal_reached", ["yes", "partly", "no"], WARN),
        in_set("details__plan_type", ["handleplan", "vardplan", "genomforandeplan"], WARN),
        date_order("occurred_at", "updated_at", severity=WARN,
                   why="a record cannot change before it happened: a clock error in the source"),
        date_window("occurred_at", days_ahead=1, where="NOT deleted"),
        references("caseworker", "os2bos.core_user", "username", WARN, where="NOT deleted",
                   why="events by an unknown username drop out of caseworker load only"),
        freshness("updated_at", 7, why="the feed changes every working day"),
    ),
)

# ---------------------------------------------------------------------------------------------
# Raw layer: finance files (docs/finance_files.md).

RAW_LEDGER = SuiteSpec(
    name="raw_finance_ledger_postings", layer=Layer.RAW, schema="finance", table="ledger_postings",
    columns_present=("posting_id", "voucher_number", "posting_date", "account_string", "activity_code",
                     "posting_text", "amount", "municipality_code", "period", "source_file", "source_sha256",
                     "source_line"),
    volume=Volume(),
    expectations=(
        row_count_at_least(1, why="the ledger reconciliation needs postings"),
        *not_null("posting_id", "posting_date", "account_string", "amount", "period"),
        unique("posting_id", severity=WARN, why="staging keeps the latest load per posting_id"),
        between("amount", -50_000_000, 50_000_000, WARN),
        count_where("period_matches_date", "period <> strftime(posting_date, '%Y-%m')",
                    "period = the posting month", why="period is the replacement key of re-exports"),
        date_window("posting_date", days_ahead=1),
        freshness("posting_date", 45, why="ledger exports arrive at least monthly"),
    ),
)

RAW_BUDGETS = SuiteSpec(
    name="raw_finance_budgets", layer=Layer.RAW, schema="finance", table="budgets",
    columns_present=("account_string", "activity_code", "budget_year", "budget_month", "amount",
                     "municipality_code", "source_file", "source_sha256", "source_line"),
    volume=Volume(),
    expectations=(
        *not_null("account_string", "budget_year", "budget_month", "amount"),
        between("budget_month", 1, 12),
        between("budget_year", 2000, 2100, WARN),
        between("amount", -1_000_000_000, 1_000_000_000, WARN),
        unique("account_string", "activity_code", "budget_year", "budget_month", "municipality_code",
               why="a duplicate budget line doubles the budget"),
    ),
)

RAW_SUITES: tuple[SuiteSpec, ...] = (*OS2BOS_SUITES, RAW_EVENTS, RAW_LEDGER, RAW_BUDGETS)


def __getattr__(name: str) -> Any:
    """MART_SUITES and SUITES (raw + marts), built on first use by expectations/marts.py from the
    marts' dbt YAML (imported lazily: marts.py builds on the helpers above)."""
    if name == "MART_SUITES":
        from expectations.marts import MART_SUITES

        return MART_SUITES
    if name == "SUITES":
        from expectations.marts import MART_SUITES

        return (*RAW_SUITES, *MART_SUITES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def asset_key_path(spec: SuiteSpec) -> list[str]:
    """The Dagster asset a suite validates: raw tables [dataset, table], dbt models [schema, model]."""
    return [spec.schema, spec.table]
