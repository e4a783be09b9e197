"""Superset dataset metrics generated from the dbt semantic layer (one definition per metric).

Reads dbt's ``semantic_manifest.json`` (MetricFlow semantic models and metrics) and translates
every metric that can be computed on ONE mart table into Superset metric SQL on a dataset for
that table (one dataset per semantic model). Label and description become ``verbose_name`` and
``description``. Metrics that need more than one table (for example a ratio across two semantic
models) or a MetricFlow feature without a plain-aggregate equivalent are returned as skipped,
with the reason; ``docs/analysts.md`` lists them.

Translation rules (MetricFlow -> SQL over the dataset's rows, per Superset group):

- simple: ``AGG(expr)`` of its measure; a metric or measure ``filter`` becomes
  ``AGG(CASE WHEN <filter> THEN expr END)``;
- ratio: ``CAST(numerator AS DOUBLE) / CAST(NULLIF(denominator, 0) AS DOUBLE)`` as MetricFlow renders it;
- derived: its ``expr`` with each input metric replaced by the input's SQL (no offsets);
- semi-additive measures (``non_additive_dimension``, e.g. a stock at period end): the aggregate
  over the rows at ``MAX``/``MIN`` of that dimension within the group. DuckDB-specific: list
  aggregation with a lambda (the serving file is DuckDB), isolated in ``semi_additive_sql``.

Pure Python (stdlib + PyYAML): imported by ``manage.py`` (Superset's environment) and by the tests
(the pipeline's environment).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEMANTIC_MANIFEST = REPO_ROOT / "dbt_project" / "target" / "semantic_manifest.json"
DEFAULT_DBT_MANIFEST = REPO_ROOT / "dbt_project" / "target" / "manifest.json"
DATASET_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://warehouse.invalid/superset/dataset")

# Superset number formats by MetricFlow aggregation / metric kind.
AMOUNT_FORMAT = "$,.0f"
COUNT_FORMAT = ",d"
RATIO_FORMAT = ",.2f"
SHARE_FORMAT = ".1%"


class UntranslatableMetric(Exception):
    """The metric cannot be expressed as SQL over one dataset; the message says why."""


@dataclass(frozen=True)
class GeneratedMetric:
    name: str
    expression: str
    verbose_name: str | None
    description: str | None
    metric_type: str  # the MetricFlow metric type
    semantic_model: str
    time_dimension: str  # the column MetricFlow's metric_time maps to for this metric
    d3format: str | None

    def superset(self) -> dict[str, Any]:
        """The metric as an entry of a Superset dataset export's ``metrics`` list."""
        return {
            "metric_name": self.name,
            "verbose_name": self.verbose_name,
            "description": self.description,
            "expression": self.expression,
            "metric_type": None,
            "d3format": self.d3format,
            "currency": None,
            "warning_text": None,
            "extra": {
                "warehouse": {
                    "generated_from": "dbt semantic layer",
                    "metricflow_type": self.metric_type,
                    "semantic_model": self.semantic_model,
                    "time_dimension": self.time_dimension,
                }
            },
        }


@dataclass(frozen=True)
class SkippedMetric:
    name: str
    metric_type: str
    reason: str


@dataclass
class GeneratedDataset:
    semantic_model: str
    schema: str
    table: str
    description: str | None
    time_dimension: str | None
    metrics: list[GeneratedMetric] = field(default_factory=list)

    @property
    def uuid(self) -> str:
        return str(uuid.uuid5(DATASET_UUID_NAMESPACE, f"{self.schema}.{self.table}"))


@dataclass(frozen=True)
class Translation:
    datasets: list[GeneratedDataset]
    skipped: list[SkippedMetric]

    def metrics(self) -> list[GeneratedMetric]:
        return [metric for dataset in self.datasets for metric in dataset.metrics]


@dataclass(frozen=True)
class _Measure:
    semantic_model: dict[str, Any]
    spec: dict[str, Any]

    @property
    def model_name(self) -> str:
        return str(self.semantic_model["name"])

    @property
    def time_dimension(self) -> str:
        own = self.spec.get("agg_time_dimension")
        defaults = self.semantic_model.get("defaults") or {}
        name = own or defaults.get("agg_time_dimension")
        if not name:
            raise UntranslatableMetric(f"measure {self.spec['name']} has no aggregation time dimension")
        return _dimension_sql(self.semantic_model, str(name))


@dataclass(frozen=True)
class _Sql:
    """A translated metric: its SQL, the semantic model it reads and its time column."""

    sql: str
    semantic_model: str
    time_dimension: str


def semantic_manifest_path() -> Path:
    return Path(os.environ.get("WAREHOUSE_SEMANTIC_MANIFEST") or DEFAULT_SEMANTIC_MANIFEST)


def dbt_manifest_path() -> Path:
    return Path(os.environ.get("WAREHOUSE_DBT_MANIFEST") or DEFAULT_DBT_MANIFEST)


def load_manifest(path: Path | None = None) -> dict[str, Any]:
    path = path or semantic_manifest_path()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"{path} does not exist: run `dbt parse` in dbt_project/ (or set WAREHOUSE_SEMANTIC_MANIFEST)"
        ) from exc


def _dimension_sql(semantic_model: dict[str, Any], name: str) -> str:
    for dimension in semantic_model.get("dimensions") or []:
        if dimension["name"] == name:
            return str(dimension.get("expr") or dimension["name"])
    raise UntranslatableMetric(f"dimension {name} is not in semantic model {semantic_model['name']}")


def _entity_sql(semantic_model: dict[str, Any], name: str) -> str:
    for entity in semantic_model.get("entities") or []:
        if entity["name"] == name:
            return str(entity.get("expr") or entity["name"])
    raise UntranslatableMetric(f"entity {name} is not in semantic model {semantic_model['name']}")


_JINJA = re.compile(r"\{\{\s*(Dimension|TimeDimension|Entity)\(\s*'([^']+)'\s*(?:,\s*'([^']+)'\s*)?\)\s*\}\}")
_TIME_GRAINS = {"day", "week", "month", "quarter", "year"}


def translate_filter(where: str, semantic_model: dict[str, Any]) -> str:
    """MetricFlow's ``{{ Dimension('entity__name') }}`` filter syntax as SQL over the model's table."""
    own_entities = {entity["name"] for entity in semantic_model.get("entities") or []}

    def column(reference: str) -> str:
        *path, name = reference.split("__")
        if len(path) != 1 or path[0] not in own_entities:
            raise UntranslatableMetric(f"filter {reference!r} needs a join outside {semantic_model['name']}")
        return name

    def replace(match: re.Match[str]) -> str:
        kind, reference, grain = match.group(1), match.group(2), match.group(3)
        if kind == "Entity":
            return _entity_sql(semantic_model, reference)
        sql = _dimension_sql(semantic_model, column(reference))
        if kind == "TimeDimension" and grain:
            if grain not in _TIME_GRAINS:
                raise UntranslatableMetric(f"time grain {grain!r} in a filter")
            return f"DATE_TRUNC('{grain}', {sql})"
        return sql

    translated = _JINJA.sub(replace, where)
    if "{{" in translated or "{%" in translated:
        raise UntranslatableMetric(f"filter {where!r} uses MetricFlow syntax without a SQL equivalent here")
    return translated


def _filters(*filters: Any) -> list[str]:
    """The ``where_filters`` strings of any number of MetricFlow filter objects (None allowed)."""
    result: list[str] = []
    for item in filters:
        if not item:
            continue
        for where in item.get("where_filters") or []:
            result.append(str(where["where_sql_template"]))
    return result


def _aggregate(agg: str, expr: str, agg_params: dict[str, Any] | None) -> str:
    match agg:
        case "sum":
            return f"SUM({expr})"
        case "sum_boolean":
            return f"SUM(CAST({expr} AS INTEGER))"
        case "count":
            return f"COUNT({expr})"
        case "count_distinct":
            return f"COUNT(DISTINCT {expr})"
        case "min":
            return f"MIN({expr})"
        case "max":
            return f"MAX({expr})"
        case "average":
            return f"AVG({expr})"
        case "median":
            return f"PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY {expr})"
        case "percentile":
            params = agg_params or {}
            if params.get("use_approximate_percentile"):
                raise UntranslatableMetric("approximate percentile")
            function = "PERCENTILE_DISC" if params.get("use_discrete_percentile") else "PERCENTILE_CONT"
            return f"{function}({float(params['percentile'])}) WITHIN GROUP (ORDER BY {expr})"
    raise UntranslatableMetric(f"aggregation {agg!r}")


# DuckDB list functions equal to each aggregation over the rows kept by the semi-additive rule.
_LIST_AGGREGATES = {
    "sum": "list_sum({values})",
    "sum_boolean": "list_sum(list_transform({values}, v -> CAST(v AS INTEGER)))",
    "count": "len(list_filter({values}, v -> v IS NOT NULL))",
    "count_distinct": "len(list_distinct({values}))",
    "min": "list_min({values})",
    "max": "list_max({values})",
    "average": "list_avg({values})",
}


def semi_additive_sql(agg: str, expr: str, dimension: str, window_choice: str) -> str:
    """The aggregate over the rows at the group's MAX (or MIN) of ``dimension`` (DuckDB only).

    A stock (open cases, placements at month end) must not be summed over days: MetricFlow keeps
    the rows at the last day of each period. Plain SQL cannot do that inside one aggregate, so
    this collects (day, value) pairs per group and keeps those at the extreme day.
    """
    if agg not in _LIST_AGGREGATES or window_choice not in ("max", "min"):
        raise UntranslatableMetric(f"semi-additive {agg} with window choice {window_choice}")
    pairs = f"list(struct_pack(d := {dimension}, v := {expr}))"
    kept = f"list_filter({pairs}, p -> p.d = {window_choice.upper()}({dimension}))"
    values = f"list_transform({kept}, p -> p.v)"
    return _LIST_AGGREGATES[agg].format(values=values)


class _Translator:
    def __init__(self, manifest: dict[str, Any]) -> None:
        self.models = {model["name"]: model for model in manifest.get("semantic_models") or []}
        self.measures: dict[str, _Measure] = {}
        for model in self.models.values():
            for measure in model.get("measures") or []:
                self.measures[measure["name"]] = _Measure(model, measure)
        self.metrics = {metric["name"]: metric for metric in manifest.get("metrics") or []}

    def measure_sql(self, name: str, extra_filters: list[str]) -> _Sql:
        if name not in self.measures:
            raise UntranslatableMetric(f"measure {name} is not defined")
        measure = self.measures[name]
        spec, model = measure.spec, measure.semantic_model
        expr = str(spec.get("expr") or spec["name"])
        conditions = [f"({translate_filter(where, model)})" for where in extra_filters]
        if conditions:
            expr = f"CASE WHEN {' AND '.join(conditions)} THEN {expr} END"
        non_additive = spec.get("non_additive_dimension")
        if non_additive:
            if non_additive.get("window_groupings"):
                raise UntranslatableMetric("semi-additive measure with window groupings")
            sql = semi_additive_sql(
                spec["agg"],
                expr,
                _dimension_sql(model, non_additive["name"]),
                non_additive.get("window_choice") or "max",
            )
        else:
            sql = _aggregate(spec["agg"], expr, spec.get("agg_params"))
        return _Sql(sql, measure.model_name, measure.time_dimension)

    def metric_sql(self, name: str, input_filter: dict[str, Any] | None = None) -> _Sql:
        if name not in self.metrics:
            raise UntranslatableMetric(f"metric {name} is not defined")
        metric = self.metrics[name]
        params = metric["type_params"]
        filters = _filters(metric.get("filter"), input_filter)
        kind = metric["type"]
        if kind == "simple":
            measure = params["measure"]
            if measure.get("fill_nulls_with") is not None or measure.get("join_to_timespine"):
                raise UntranslatableMetric("fill_nulls_with / join_to_timespine need a time spine")
            return self.measure_sql(measure["name"], filters + _filters(measure.get("filter")))
        if kind == "ratio":
            parts = []
            for side in ("numerator", "denominator"):
                reference = params[side]
                if reference.get("offset_window") or reference.get("offset_to_grain"):
                    raise UntranslatableMetric("offset windows need a time spine")
                part = self.metric_sql(reference["name"], reference.get("filter"))
                if filters:
                    raise UntranslatableMetric("a filter on a ratio metric")
                parts.append(part)
            numerator, denominator = parts
            self._same_model(name, parts)
            return _Sql(
                f"CAST({numerator.sql} AS DOUBLE) / CAST(NULLIF({denominator.sql}, 0) AS DOUBLE)",
                numerator.semantic_model,
                numerator.time_dimension,
            )
        if kind == "derived":
            if filters:
                raise UntranslatableMetric("a filter on a derived metric")
            inputs: dict[str, _Sql] = {}
            for reference in params.get("metrics") or []:
                if reference.get("offset_window") or reference.get("offset_to_grain"):
                    raise UntranslatableMetric("offset windows need a time spine")
                inputs[reference.get("alias") or reference["name"]] = self.metric_sql(
                    reference["name"], reference.get("filter")
                )
            self._same_model(name, list(inputs.values()))
            expression = str(params["expr"])
            for alias in sorted(inputs, key=len, reverse=True):
                expression = re.sub(rf"\b{re.escape(alias)}\b", f"({inputs[alias].sql})", expression)
            first = next(iter(inputs.values()))
            return _Sql(expression, first.semantic_model, first.time_dimension)
        raise UntranslatableMetric(f"{kind} metrics need MetricFlow's time spine or cohort logic")

    @staticmethod
    def _same_model(name: str, parts: list[_Sql]) -> None:
        models = sorted({part.semantic_model for part in parts})
        if len(models) > 1:
            raise UntranslatableMetric(f"its inputs come from different semantic models: {', '.join(models)}")
        times = sorted({part.time_dimension for part in parts})
        if len(times) > 1:
            raise UntranslatableMetric(f"its inputs use different time dimensions: {', '.join(times)}")


def _d3format(metric: dict[str, Any]) -> str:
    """A readable default number format from the metric's kind and name."""
    name, kind = metric["name"], metric["type"]
    if "share" in name:
        return SHARE_FORMAT
    if any(token in name for token in _AMOUNT_WORDS):
        return AMOUNT_FORMAT
    return RATIO_FORMAT if kind == "ratio" else COUNT_FORMAT


_AMOUNT_WORDS = ("cost", "budget", "actual", "forecast", "ledger", "variance")


def translate(manifest: dict[str, Any]) -> Translation:
    """Every metric of the semantic manifest, translated or skipped with a reason."""
    translator = _Translator(manifest)
    datasets: dict[str, GeneratedDataset] = {}
    skipped: list[SkippedMetric] = []
    for name in sorted(translator.metrics):
        metric = translator.metrics[name]
        try:
            result = translator.metric_sql(name)
        except UntranslatableMetric as exc:
            skipped.append(SkippedMetric(name, metric["type"], str(exc)))
            continue
        model = translator.models[result.semantic_model]
        relation = model["node_relation"]
        key = f"{relation['schema_name']}.{relation['alias']}"
        if key not in datasets:
            defaults = model.get("defaults") or {}
            default_time = defaults.get("agg_time_dimension")
            datasets[key] = GeneratedDataset(
                semantic_model=model["name"],
                schema=relation["schema_name"],
                table=relation["alias"],
                description=(model.get("description") or "").strip() or None,
                time_dimension=_dimension_sql(model, default_time) if default_time else None,
            )
        datasets[key].metrics.append(
            GeneratedMetric(
                name=name,
                expression=result.sql,
                verbose_name=metric.get("label"),
                description=(metric.get("description") or "").strip() or None,
                metric_type=metric["type"],
                semantic_model=result.semantic_model,
                time_dimension=result.time_dimension,
                d3format=_d3format(metric),
            )
        )
    return Translation(sorted(datasets.values(), key=lambda d: (d.schema, d.table)), skipped)


# ---------------------------------------------------------------- dataset documents


def dbt_columns(dbt_manifest: dict[str, Any] | None, table: str) -> dict[str, dict[str, Any]]:
    """The documented columns of the dbt model materialised as ``table`` (name -> column)."""
    if not dbt_manifest:
        return {}
    for node in (dbt_manifest.get("nodes") or {}).values():
        if node.get("resource_type") == "model" and (node.get("alias") or node["name"]) == table:
            return dict(node.get("columns") or {})
    return {}


def dimension_labels(manifest: dict[str, Any], semantic_model: str) -> dict[str, str]:
    for model in manifest.get("semantic_models") or []:
        if model["name"] == semantic_model:
            return {
                str(d.get("expr") or d["name"]): str(d["label"])
                for d in model.get("dimensions") or []
                if d.get("label") and re.fullmatch(r"\w+", str(d.get("expr") or d["name"]))
            }
    return {}


_TEMPORAL_TYPES = ("DATE", "TIMESTAMP", "DATETIME")


def column_entries(
    physical: list[tuple[str, str]],
    documented: dict[str, dict[str, Any]],
    labels: dict[str, str],
) -> list[dict[str, Any]]:
    """Superset column entries for the table's physical columns (name, DuckDB type)."""
    entries = []
    for name, data_type in physical:
        temporal = data_type.upper().startswith(_TEMPORAL_TYPES)
        numeric_measure = data_type.upper().startswith(("DECIMAL", "DOUBLE", "FLOAT", "REAL"))
        description = (documented.get(name, {}).get("description") or "").strip() or None
        entries.append(
            {
                "column_name": name,
                "verbose_name": labels.get(name),
                "description": description,
                "type": data_type,
                "is_dttm": temporal,
                "groupby": not numeric_measure,
                "filterable": True,
                "is_active": True,
                "expression": None,
                "python_date_format": None,
                "advanced_data_type": None,
                "extra": None,
            }
        )
    return entries


def merge_columns(generated: list[dict[str, Any]], overrides: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Generated column entries with hand-written presentation (verbose names ...) laid over them."""
    by_name = {entry["column_name"]: entry for entry in overrides}
    merged = [{**entry, **by_name.pop(entry["column_name"], {})} for entry in generated]
    return merged + list(by_name.values())  # calculated columns defined only by hand


def dataset_document(
    dataset: GeneratedDataset,
    database_uuid: str,
    base: dict[str, Any] | None,
    columns: list[dict[str, Any]],
) -> dict[str, Any]:
    """A Superset dataset export document: generated columns and metrics, with the hand-written
    ``base`` (presentation only: description, column labels, the dataset's uuid) laid over them.

    A base must not define metrics: every metric comes from the semantic layer.
    """
    base = dict(base or {})
    if base.get("metrics"):
        names = [metric.get("metric_name") for metric in base["metrics"]]
        raise ValueError(
            f"{dataset.schema}.{dataset.table}: metrics {names} are typed by hand; "
            "define them in the dbt semantic layer instead"
        )
    document: dict[str, Any] = {
        "table_name": dataset.table,
        "schema": dataset.schema,
        "catalog": None,
        "description": dataset.description,
        "main_dttm_col": dataset.time_dimension,
        "always_filter_main_dttm": False,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "sql": None,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "uuid": dataset.uuid,
        "database_uuid": database_uuid,
        "version": "1.0.0",
    }
    overrides = base.pop("columns", None) or []
    base.pop("metrics", None)
    document.update(base)
    document["columns"] = merge_columns(columns, overrides)
    if not document["columns"]:
        raise ValueError(
            f"{dataset.schema}.{dataset.table}: no columns known (is the serving file published?)"
        )
    document["metrics"] = [metric.superset() for metric in dataset.metrics]
    return document


def render_markdown(translation: Translation) -> str:
    """The generated metrics and the skipped ones, as Markdown (for docs and `manage.py metrics`)."""
    lines = ["| metric | dataset | Superset SQL |", "|---|---|---|"]
    for dataset in translation.datasets:
        for metric in dataset.metrics:
            sql = metric.expression.replace("|", "\\|")
            lines.append(f"| `{metric.name}` | `{dataset.schema}.{dataset.table}` | `{sql}` |")
    if translation.skipped:
        lines += ["", "Not generated (need more than one dataset or MetricFlow-only features):", ""]
        lines += [f"- `{item.name}` ({item.metric_type}): {item.reason}" for item in translation.skipped]
    return "\n".join(lines) + "\n"
