"""Suites for every mart: the dbt contract as GX expectations, plus checks dbt does not make.

Every model in `dbt_project/models/marts/**/*.yml` whose name starts with `fct_`, `dim_` or `agg_`
gets a suite `marts_<model>` on `marts.<model>` in the build file, built from two parts:

1. **The contract** (generic, read from the YAML): every documented column must exist (schema);
   `not_null`, `unique`, `unique_combination_of_columns`, `accepted_values`, `accepted_range` and
   `relationships` become the matching GX expectation, with the dbt test's `where` and severity.
   A new mart (e.g. `fct_case_steps` in `marts/case_processing/`) is validated as soon as its YAML
   exists: nothing to register.
2. **Checks per mart** (`MART_CHECKS`, hand-written): arithmetic identities between columns,
   references from facts to the dims, date order, dates against the reference date, freshness and
   reconciliations against the raw layer (catalog `raw`, attached read-only), most importantly the
   ledger reconciliation.

Every mart also gets a volume check against the previous validated run (a warning).

Severity (docs/data_quality.md, "Choosing the severity"): an **error** when the mart would be
*wrong*: keys, identities that define a column, reconciliations, references along which joins
lose rows, dates that contradict the reference date. A **warning** when the cause may be real or
only a breakdown suffers: freshness, volume, amounts outside the usual range.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from expectations.suites import (
    ERROR,
    WARN,
    Expect,
    Layer,
    Metric,
    SuiteSpec,
    Volume,
    between,
    count_where,
    date_order,
    freshness,
    in_set,
    not_null,
    references,
    row_count_at_least,
    sums_equal,
    unique,
)

MARTS_DIR = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "marts"
MART_PREFIXES = ("fct_", "dim_", "agg_")
MART_SCHEMA = "marts"
CONTRACT = "the mart's contract in the dbt YAML"

# Where the target of a dbt `ref()` lives in the build file (dbt_project.yml: schemas by folder).
_SCHEMA_BY_PREFIX = (("stg_", "staging"), ("int_", "intermediate"), ("fct_", "marts"), ("dim_", "marts"),
                     ("agg_", "marts"), ("snap_", "snapshots"))
SEED_SCHEMA = "reference"

TODAY = "{today}"  # the run's reference date as a DATE literal (Metric placeholders)


def _ref_table(target: str) -> str | None:
    """"ref('dim_client')" → "marts.dim_client"; None for anything else (sources are not mirrored)."""
    match = re.fullmatch(r"\s*ref\(\s*['\"]([A-Za-z0-9_]+)['\"]\s*\)\s*", target)
    if not match:
        return None
    name = match.group(1)
    schema = next((s for prefix, s in _SCHEMA_BY_PREFIX if name.startswith(prefix)), SEED_SCHEMA)
    return f"{schema}.{name}"


def _test_parts(test: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A dbt data test entry → (name without package, arguments, config)."""
    if isinstance(test, str):
        return test.split(".")[-1], {}, {}
    (name, body), = test.items()
    body = body or {}
    arguments = dict(body.get("arguments") or {})
    arguments.update({k: v for k, v in body.items() if k not in ("arguments", "config")})  # old style
    return name.split(".")[-1], arguments, dict(body.get("config") or {})


def _q(column: str) -> str:
    return f'"{column}"'


def _column_test(column: str, test: Any) -> tuple[Expect | Metric, ...]:
    """One dbt column test as GX expectations (empty when it is not one we mirror)."""
    name, arguments, config = _test_parts(test)
    severity = WARN if str(config.get("severity", "error")).lower() == "warn" else ERROR
    where = config.get("where")
    why = CONTRACT
    if name == "not_null":
        if where:
            return (count_where(f"null__{column}", f"{_q(column)} IS NULL AND ({where})",
                                f"{column} not null where {where}", severity, why),)
        return not_null(column, severity=severity, why=why)
    if name == "unique":
        return (unique(column, severity=severity, why=why),)
    if name == "accepted_values":
        values = [str(v) for v in arguments.get("values", [])]
        if where:
            listed = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
            return (count_where(f"values__{column}", f"{_q(column)} NOT IN ({listed}) AND ({where})",
                                f"{column} in {{{', '.join(values)}}} where {where}", severity, why),)
        return (in_set(column, values, severity, why),)
    if name == "accepted_range":
        low, high = arguments.get("min_value"), arguments.get("max_value")
        if arguments.get("inclusive", True) is False or where:
            strict = arguments.get("inclusive", True) is False
            outside = []
            if low is not None:
                outside.append(f"{_q(column)} {'<=' if strict else '<'} {low}")
            if high is not None:
                outside.append(f"{_q(column)} {'>=' if strict else '>'} {high}")
            condition = f"({' OR '.join(outside)})" + (f" AND ({where})" if where else "")
            return (count_where(f"range__{column}", condition, f"{column} within {low}..{high}", severity, why),)
        return (between(column, low, high, severity, why),)
    if name == "relationships":
        target = _ref_table(str(arguments.get("to", "")))
        if target is None:
            return ()
        return (references(column, target, str(arguments.get("field", "id")), severity, why, where=where),)
    return ()


def contract_suite(model: dict[str, Any], extra: tuple[Expect | Metric, ...] = ()) -> SuiteSpec:
    """The suite of one mart from its YAML entry, plus `extra` checks."""
    columns = [c["name"] for c in model.get("columns") or []]
    expectations: list[Expect | Metric] = [row_count_at_least(1, why="publishing an empty mart blanks its "
                                                                      "dashboards")]
    for test in model.get("data_tests") or model.get("tests") or []:
        name, arguments, config = _test_parts(test)
        if name == "unique_combination_of_columns":
            severity = WARN if str(config.get("severity", "error")).lower() == "warn" else ERROR
            expectations.append(unique(*arguments["combination_of_columns"], severity=severity,
                                       why="the grain of the mart: a duplicate doubles its figures"))
    for column in model.get("columns") or []:
        for test in column.get("data_tests") or column.get("tests") or []:
            expectations.extend(_column_test(column["name"], test))
    names: set[str] = set()
    unique_expectations: list[Expect | Metric] = []
    for expectation in [*expectations, *extra]:  # a metric name must be unique within a suite
        key = expectation.name if isinstance(expectation, Metric) else repr(expectation)
        if key not in names:
            names.add(key)
            unique_expectations.append(expectation)
    return SuiteSpec(
        name=f"marts_{model['name']}", layer=Layer.BUILD, schema=MART_SCHEMA, table=model["name"],
        expectations=tuple(unique_expectations), columns_present=tuple(columns),
        volume=Volume(),
    )


@cache
def mart_models(marts_dir: Path = MARTS_DIR) -> tuple[dict[str, Any], ...]:
    """Every mart model documented in the YAML files under `marts_dir`, sorted by name."""
    models: dict[str, dict[str, Any]] = {}
    for path in sorted(marts_dir.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models") or []:
            if str(model.get("name", "")).startswith(MART_PREFIXES):
                models[model["name"]] = model
    return tuple(models[name] for name in sorted(models))


# ---------------------------------------------------------------------------------------------
# Checks per mart, beyond the contract.


def _refers(column: str, dim: str, dim_column: str | None = None, severity: str = ERROR, why: str = "",
            where: str | None = None) -> Metric:
    """A fact's column found in a dim (marts.<dim>); named after the dim so that it does not clash
    with the contract's relationship test on the same column."""
    why = why or f"a row whose {column} is missing from {dim} drops out of every breakdown by {dim}"
    metric = references(column, f"marts.{dim}", dim_column or column, severity, why, where)
    return Metric(f"in_{dim}__{column}", metric.sql, metric.severity, description=metric.description, why=why)


def _year_of(year: str, date: str) -> Metric:
    return count_where(f"year_of__{date}", f"{_q(year)} <> CAST(extract(year FROM {_q(date)}) AS INTEGER)",
                       f"{year} = the year of {date}", why="year filters and month filters must agree")


def _month_start(column: str) -> Metric:
    return count_where(f"month_start__{column}", f"{_q(column)} <> CAST(date_trunc('month', {_q(column)}) AS DATE)",
                       f"{column} is the first day of a month", why="monthly grain: joins are on the month start")


def _not_after_reference(column: str, severity: str = ERROR, why: str = "") -> Metric:
    return count_where(f"after_reference__{column}", f"CAST({_q(column)} AS DATE) > {TODAY}",
                       f"{column} not after the reference date",
                       severity, why or "stocks and costs are as of the reference date: a later date is from the future")


def _identity(name: str, left: str, right: str, description: str, tolerance: float = 0.0,
              where: str | None = None, why: str = "the column is defined by this identity") -> Metric:
    condition = f"abs(({left}) - ({right})) > {tolerance}" if tolerance else f"({left}) <> ({right})"
    if where:
        condition = f"({condition}) AND ({where})"
    return count_where(name, condition, description, why=why)





# The raw ledger with identical re-deliveries of a posting counted once. Two *different* postings
# sharing a posting_id both count here, while staging keeps only one of them: the reconciliation
# then fails, because the marts lost a posting's amount (the raw suite only warns about the id).
RAW_LEDGER_ONCE = (
    "SELECT DISTINCT posting_id, municipality_code, account_string, posting_date, amount "
    "FROM raw.finance.ledger_postings"
)
RECONCILE_WHY = ("KPB step 5: client cost + unattributed = the ledger, to the øre; a difference means cost was "
                 "dropped or counted twice")

MART_CHECKS: dict[str, tuple[Expect | Metric, ...]] = {
    "fct_ledger_reconciliation": (
        _identity("ledger_equals_attributed_plus_unattributed", '"ledger_total_dkk"',
                  '"attributed_dkk" + "unattributed_dkk"', "ledger_total_dkk = attributed_dkk + unattributed_dkk",
                  why=RECONCILE_WHY),
        _identity("attributed_equals_its_parts", '"attributed_dkk"',
                  '"attributed_payment_dkk" + "attributed_in_house_dkk"',
                  "attributed_dkk = attributed_payment_dkk + attributed_in_house_dkk"),
        _identity("unattributed_equals_its_parts", '"unattributed_dkk"',
                  '"duplicate_posting_dkk" + "credit_note_dkk" + "unknown_account_dkk" + "overhead_dkk" + '
                  '"unmatched_payment_voucher_dkk" + "in_house_without_volume_dkk" + "other_unattributed_dkk"',
                  "unattributed_dkk = the sum of its categories", why="unattributed cost is reported by category"),
        _identity("client_cost_difference", '"client_cost_difference_dkk"', '"attributed_dkk" - "client_cost_dkk"',
                  "client_cost_difference_dkk = attributed_dkk − client_cost_dkk"),
        sums_equal("Σ ledger_total_dkk per municipality × account × month = Σ raw ledger postings",
                   "SELECT municipality_code, account_string, reconciliation_month, sum(ledger_total_dkk) AS total "
                   "FROM {table} GROUP BY ALL",
                   "SELECT coalesce(municipality_code, 'unknown') AS municipality_code, coalesce(account_string, "
                   "'unknown') AS account_string, CAST(date_trunc('month', posting_date) AS DATE) AS "
                   f"reconciliation_month, sum(amount) AS total FROM ({RAW_LEDGER_ONCE}) GROUP BY ALL",
                   keys=("municipality_code", "account_string", "reconciliation_month"), tolerance=0.005,
                   why=RECONCILE_WHY, name="reconciles_to_raw_ledger_by_cell"),
        sums_equal("Σ ledger_total_dkk over the mart = Σ raw ledger postings",
                   "SELECT sum(ledger_total_dkk) AS total FROM {table}",
                   f"SELECT sum(amount) AS total FROM ({RAW_LEDGER_ONCE})", tolerance=0.005,
                   why=RECONCILE_WHY, name="reconciles_to_raw_ledger_total"),
        sums_equal("Σ posting_count = the number of raw ledger postings",
                   "SELECT sum(posting_count) AS total FROM {table}",
                   "SELECT count(DISTINCT posting_id) AS total FROM raw.finance.ledger_postings", tolerance=0,
                   why="every posting is in exactly one cell", name="posting_count_matches_raw"),
        _year_of("reconciliation_year", "reconciliation_month"),
        _month_start("reconciliation_month"),
        _not_after_reference("reconciliation_month"),
        _refers("municipality_code", "dim_municipality", where="municipality_code <> 'unknown'", severity=WARN,
                why="postings without a known municipality stay in the totals as 'unknown'"),
        freshness("reconciliation_month", 62, why="the ledger is exported at least monthly"),
    ),
    "fct_client_cost": (
        _identity("cost_is_purchased_plus_in_house", '"cost_dkk"', '"purchased_cost_dkk" + "in_house_cost_dkk"',
                  "cost_dkk = purchased_cost_dkk + in_house_cost_dkk", why="KPB: purchased + in-house"),
        sums_equal("Σ purchased_cost_dkk per month = Σ paid raw OS2bos payments in the paid month",
                   "SELECT cost_month, sum(purchased_cost_dkk) AS total FROM {table} GROUP BY ALL",
                   "SELECT CAST(date_trunc('month', paid_date) AS DATE) AS cost_month, sum(paid_amount) AS total "
                   "FROM raw.os2bos.core_payment WHERE paid AND _source_deleted IS NULL GROUP BY ALL",
                   keys=("cost_month",), tolerance=0.005, name="purchased_reconciles_to_raw_payments",
                   why="KPB: every paid krone reaches a client exactly once"),
        _refers("client_id", "dim_client", why="cost per client joins the client dimension"),
        _refers("intervention_category", "dim_intervention", why="every cost has an intervention"),
        _refers("municipality_code", "dim_municipality", severity=WARN, why="a breakdown only"),
        _year_of("cost_year", "cost_month"),
        _month_start("cost_month"),
        _not_after_reference("cost_month", why="cost is paid cost: a paid month after the reference date is an "
                                               "error in the payments"),
        between("cost_dkk", -1_000_000, 1_000_000, WARN, why="a client-month above 1 M kr. is possible but rare"),
        freshness("cost_month", 62, why="payments are paid at least monthly"),
    ),
    "fct_unit_cost": (
        _identity("unit_cost_is_cost_per_volume", '"unit_cost_dkk"', '"cost_dkk" / "volume"',
                  "unit_cost_dkk = cost_dkk / volume (±0.01)", tolerance=0.01, where='"volume" > 0',
                  why="KPB p_k = C_k / V_k"),
        _year_of("cost_year", "cost_month"),
        _month_start("cost_month"),
        _not_after_reference("cost_month"),
        between("unit_cost_dkk", 0, 100_000, WARN, why="a unit (care day, hour, week) above 100,000 kr. is "
                                                       "suspicious"),
        freshness("cost_month", 62),
    ),
    "fct_budget": (
        _identity("forecast_definition", '"forecast_dkk"',
                  '"actual_dkk" + "remaining_granted_dkk" + "expected_adjustment_dkk"',
                  "forecast_dkk = actual_dkk + remaining_granted_dkk + expected_adjustment_dkk"),
        _identity("variance_definition", '"forecast_variance_dkk"', '"forecast_dkk" - "budget_dkk"',
                  "forecast_variance_dkk = forecast_dkk − budget_dkk"),
        _year_of("budget_year", "budget_month"),
        _month_start("budget_month"),
        count_where("future_month_flag", f'"is_future_month" <> ("budget_month" > {TODAY})',
                    "is_future_month = budget_month after the reference date",
                    why="the forecast adds remaining payments from the future months only"),
        sums_equal("Σ budget_dkk = Σ raw budgets", "SELECT sum(budget_dkk) AS total FROM {table}",
                   "SELECT sum(amount) AS total FROM raw.finance.budgets", tolerance=0.005,
                   name="budget_reconciles_to_raw", why="every budget line is in the mart once"),
        sums_equal("Σ actual_dkk = Σ ledger_total_dkk of fct_ledger_reconciliation",
                   "SELECT sum(actual_dkk) AS total FROM {table}",
                   "SELECT sum(ledger_total_dkk) AS total FROM marts.fct_ledger_reconciliation", tolerance=0.005,
                   name="actual_reconciles_to_ledger", why="budget and reconciliation read the same ledger"),
        _refers("municipality_code", "dim_municipality", where="municipality_code <> 'unknown'", severity=WARN),
    ),
    "fct_grant_costs": (
        _identity("total_cost_definition", '"total_cost_dkk"',
                  '"paid_cost_dkk" + "in_house_cost_dkk" + "planned_cost_dkk"',
                  "total_cost_dkk = paid + in-house + planned cost"),
        count_where("grant_xor_unmatched_posting",
                    '"is_posting_without_grant" = ("appropriation_id" IS NOT NULL) '
                    'OR ("is_posting_without_grant" AND "is_grant_without_postings")',
                    "a row is either a grant or an unmatched posting, never both",
                    why="postings without a grant must not be added to a grant's cost"),
        _refers("client_id", "dim_client", why="grant cost per client"),
        _refers("intervention_category", "dim_intervention"),
        _refers("provider_key", "dim_provider", severity=WARN, why="a provider breakdown only"),
        between("cost_year", 2000, 2100, why="a year outside this is a date error in the grant"),
    ),
    "fct_provider_prices": (
        date_order("valid_from", "valid_to", why="a price interval ends after it starts"),
        _identity("price_includes_vat", '"price_dkk"', '"base_price_dkk" * "vat_factor" / 100',
                  "price_dkk = base_price_dkk × vat_factor / 100 (±0.01)", tolerance=0.01,
                  why="OS2bos: amount = base × vat_factor / 100"),
        _refers("intervention_category", "dim_intervention"),
        between("price_dkk", 0, 1_000_000, WARN, why="a unit price above 1 M kr. is suspicious"),
    ),
    "fct_placements": (
        date_order("start_date", "end_date", why="a placement spell ends after it starts"),
        date_order("observed_end_date", "end_date", why="observed_end_date is end_date capped at the reference date"),
        _not_after_reference("observed_end_date", why="observed_end_date is capped at the reference date"),
        _identity("placement_days_definition", '"placement_days"',
                  'date_diff(\'day\', "start_date", "observed_end_date") + 1',
                  "placement_days = observed_end_date − start_date + 1", why="care days count both ends"),
        count_where("active_flag", f'"is_active_at_reference_date" <> ("start_date" <= {TODAY} AND '
                                   f'coalesce("end_date" >= {TODAY}, TRUE))',
                    "is_active_at_reference_date agrees with start_date and end_date",
                    why="the stock at the reference date counts the active placements"),
        _refers("intervention_category", "dim_intervention"),
        _refers("provider_key", "dim_provider", why="cost per care day by provider"),
        _refers("municipality_code", "dim_municipality", severity=WARN),
    ),
    "fct_placement_month_ends": (
        count_where("is_month_end", '"month_end" <> last_day("month_end")', "month_end is the last day of a month",
                    why="the stock is counted on month ends"),
        _not_after_reference("month_end"),
        _year_of("stock_year", "month_end"),
        count_where("within_spell",
                    'EXISTS (SELECT 1 FROM marts.fct_placements AS p WHERE p.placement_id = {table}.placement_id '
                    'AND ({table}.month_end < p.start_date OR {table}.month_end > p.observed_end_date))',
                    "month_end lies within the placement's spell", why="a stock row outside the spell counts a "
                    "child who was not placed"),
        _refers("client_id", "dim_client"),
        freshness("month_end", 62, why="the latest month end before the reference date is always there"),
    ),
    "fct_caseworker_load": (
        _not_after_reference("load_date"),
        _refers("case_worker_user_id", "dim_caseworker"),
        between("open_cases", 0, 200, WARN, why="more than 200 open cases for one caseworker is implausible"),
        freshness("load_date", 1, why="the load is computed up to the reference date"),
    ),
    "fct_population": (
        count_where("age_group_parts", '"population_0_17" > "population" OR "population_0_22" > "population" '
                    'OR "population" < 0', "0 ≤ population_0_17, population_0_22 ≤ population",
                    why="denominators of cost per inhabitant"),
        _refers("municipality_code", "dim_municipality", why="denominators only for the warehouse's municipalities"),
    ),
    "agg_cost_per_client_leader": (
        count_where("small_cells_suppressed", '(NOT "is_suppressed" AND "clients" < 5) OR ("is_suppressed" AND '
                    '("clients" IS NOT NULL OR "cost_dkk" IS NOT NULL OR "cost_per_client_dkk" IS NOT NULL))',
                    "cells under 5 children are suppressed, and suppressed cells show no figure",
                    why="small numbers identify children: publishing one is a data-protection breach"),
        count_where("suppression_reason_iff_suppressed", '"is_suppressed" <> ("suppression_reason" IS NOT NULL)',
                    "suppression_reason is set exactly on suppressed cells",
                    why="dashboards explain a suppressed cell by its reason"),
        _identity("cost_per_client_definition", '"cost_per_client_dkk"', '"cost_dkk" / "clients"',
                  "cost_per_client_dkk = cost_dkk / clients (±0.01)", tolerance=0.01, where='NOT "is_suppressed"'),
    ),
    "agg_placements_leader": (
        count_where("small_cells_suppressed", '(NOT "is_suppressed" AND ("children_placed" IS NULL OR '
                    '"children_placed" < 5)) OR ("is_suppressed" AND "children_placed" IS NOT NULL)',
                    "cells under 5 children are suppressed, and suppressed cells show no figure",
                    why="small numbers identify children: publishing one is a data-protection breach"),
        count_where("suppression_reason_iff_suppressed", '"is_suppressed" <> ("suppression_reason" IS NOT NULL)',
                    "suppression_reason is set exactly on suppressed cells",
                    why="dashboards explain a suppressed cell by its reason"),
        _not_after_reference("stock_date"),
        _year_of("stock_year", "stock_date"),
    ),
    # Case processing (marts/case_processing/_case_processing.yml): deadlines per step instance.
    "fct_case_steps": (
        count_where("is_done_definition", '"is_done" <> ("step_status" IN (\'done_on_time\', \'done_late\'))',
                    "is_done = step_status is done_on_time or done_late",
                    why="deadline compliance counts done steps by this flag"),
        count_where("on_time_definition", '"is_done" AND "on_time" <> ("step_status" = \'done_on_time\')',
                    "on_time agrees with step_status for done steps", why="compliance = on-time share of done steps"),
        count_where("deadline_missed_definition", '"is_deadline_missed" <> ("step_status" IN (\'done_late\', '
                    '\'open_overdue\', \'not_done_case_closed\'))',
                    "is_deadline_missed = done_late, open_overdue or not_done_case_closed",
                    why="missed deadlines (and SE's IVO reports) are counted by this flag"),
        count_where("days_late_only_when_late", 'NOT "is_deadline_missed" AND "days_late" <> 0',
                    "days_late is 0 when the deadline was not missed", why="average lateness would be inflated"),
        date_order("started_at", "due_at", why="a deadline ends after it starts (deadline values are ≥ 0)"),
        date_order("started_at", "done_at", severity=WARN,
                   why="done before the deadline started: a mis-linked event or a clock error in the source"),
        _not_after_reference("started_at", why="only deadlines started by the end of the reference date count"),
        _not_after_reference("done_at", why="only events up to the end of the reference date count"),
        _refers("client_id", "dim_client", why="deadline compliance per child joins the client dimension"),
        _refers("caseworker", "dim_caseworker", "username", WARN,
                why="steps by a username OS2bos does not know drop out of the caseworker breakdown only"),
        _refers("municipality_code", "dim_municipality", severity=WARN),
        Metric("reference_date_is_the_runs", f"SELECT count(*) FROM {{table}} WHERE reference_date <> {TODAY}", WARN,
               description="reference_date = the run's reference date",
               why="open and overdue steps are judged as of another day"),
        freshness("started_at", 30, why="the child-case system registers events every working day"),
    ),
    # Effect per outcome assessment.
    "fct_outcomes": (
        unique("case_reference", "assessment_sequence", why="one baseline and one number per assessment of a case"),
        count_where("baseline_definition", '"is_baseline" <> ("assessment_sequence" = 0)',
                    "is_baseline = (assessment_sequence = 0)", why="effect is measured against the baseline"),
        count_where("baseline_has_no_previous", '"is_baseline" AND ("previous_staircase_step" IS NOT NULL OR '
                    '"previous_scaling_step" IS NOT NULL)', "the baseline has no previous assessment",
                    why="a change against a previous baseline would be counted twice"),
        _identity("staircase_change_vs_baseline_definition", '"staircase_change_vs_baseline"',
                  '"staircase_step" - "baseline_staircase_step"',
                  "staircase_change_vs_baseline = staircase_step − baseline_staircase_step"),
        _identity("scaling_change_vs_baseline_definition", '"scaling_change_vs_baseline"',
                  '"scaling_step" - "baseline_scaling_step"', "scaling_change_vs_baseline = scaling_step − baseline_scaling_step"),
        _identity("staircase_change_vs_previous_definition", '"staircase_change_vs_previous"',
                  '"staircase_step" - "previous_staircase_step"',
                  "staircase_change_vs_previous = staircase_step − previous_staircase_step",
                  where='"previous_staircase_step" IS NOT NULL'),
        count_where("moved_down_definition", '"moved_down_vs_baseline" <> ("staircase_step" < "baseline_staircase_step") '
                    'OR "moved_up_vs_baseline" <> ("staircase_step" > "baseline_staircase_step")',
                    "moved_down/up_vs_baseline agree with the staircase steps",
                    why="'moved down the staircase' is the effect leaders ask for"),
        Metric("one_latest_assessment_per_case",
               'SELECT count(*) FROM (SELECT case_reference FROM {table} GROUP BY case_reference '
               'HAVING count(*) FILTER (WHERE is_latest_assessment) <> 1)', ERROR,
               description="every case has exactly one latest assessment",
               why="the current effect per case is read from its latest assessment", unit="cases"),
        _not_after_reference("assessed_at", why="assessments after the end of the reference date are left out"),
        _refers("client_id", "dim_client", why="effect per child joins the client dimension"),
        _refers("intervention_category", "dim_intervention", why="effect per intervention type"),
        _refers("provider_key", "dim_provider", severity=WARN, where="provider_key <> 'unknown-provider'",
                why="effect per provider: an unknown provider drops out of that breakdown only"),
        _refers("caseworker", "dim_caseworker", "username", WARN),
    ),
    "dim_date": (
        Metric("calendar_gaps", "SELECT date_diff('day', min(date_day), max(date_day)) + 1 - count(*) FROM {table}",
               ERROR, description="one row per day between the first and the last date, no gaps",
               why="time-series joins on the calendar lose days with gaps", unit="missing days"),
        Metric("covers_reference_date", f"SELECT count(*) FROM {{table}} WHERE date_day = {TODAY}", ERROR, 1, 1,
               "the calendar contains the reference date", why="'as of' figures join the calendar", unit="rows"),
        count_where("reference_flag", f'"is_on_or_before_reference_date" <> ("date_day" <= {TODAY})',
                    "is_on_or_before_reference_date agrees with the reference date",
                    why="dashboards filter the calendar up to the reference date"),
    ),
    "dim_client": (
        Metric("reference_date_is_the_runs", f"SELECT count(*) FROM {{table}} WHERE reference_date <> {TODAY}", WARN,
               description="reference_date = the run's reference date",
               why="the build was made as of another day: ages and stocks describe that day"),
        _refers("municipality_code", "dim_municipality", severity=WARN),
    ),
    "dim_team": (
        count_where("caseworker_count_matches", '"caseworker_count" <> (SELECT count(*) FROM marts.dim_caseworker '
                    'AS c WHERE c.team_id = {table}.team_id)', "caseworker_count = the team's rows in dim_caseworker",
                    severity=WARN, why="team size is shown beside the load"),
    ),
    "dim_account": (
        _refers("intervention_category", "dim_intervention"),
    ),
}


def mart_suites(marts_dir: Path = MARTS_DIR) -> tuple[SuiteSpec, ...]:
    """One suite per mart documented under `marts_dir` (contract + MART_CHECKS)."""
    return tuple(contract_suite(model, MART_CHECKS.get(model["name"], ())) for model in mart_models(marts_dir))


MART_SUITES: tuple[SuiteSpec, ...] = mart_suites()
