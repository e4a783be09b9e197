"""The Dagster graph loads with its job, nightly schedule in local time, and quality checks."""

from __future__ import annotations

import os
import subprocess
import sys

from dagster import AssetKey, DefaultScheduleStatus

from tests.conftest import REPO_ROOT


def _ancestors(graph, key: AssetKey) -> set[AssetKey]:
    found: set[AssetKey] = set()
    pending = [key]
    while pending:
        for parent in graph.get(pending.pop()).parent_keys:
            if parent not in found:
                found.add(parent)
                pending.append(parent)
    return found


def test_graph_has_job_schedule_and_checks() -> None:
    from orchestration.definitions import defs

    job = defs.resolve_job_def("nightly_refresh")
    schedule = defs.resolve_schedule_def("nightly_refresh_schedule")
    assert schedule.job_name == job.name
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/Copenhagen"
    assert schedule.default_status == DefaultScheduleStatus.RUNNING

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    for key in (["os2bos", "core_payment"], ["finance", "ledger_postings"], ["marts", "fct_client_cost"],
                ["serving_warehouse"]):
        assert AssetKey(key) in keys
    # dbt sources are wired to the dlt assets: the serving file descends from the raw payments.
    assert AssetKey(["os2bos", "core_payment"]) in _ancestors(graph, AssetKey(["serving_warehouse"]))
    check_names = {key.name for key in graph.asset_check_keys}
    assert {"gx_raw_os2bos_core_payment", "gx_marts_fct_client_cost", "gx_marts_fct_ledger_reconciliation",
            "gx_marts_dim_client", "gx_marts_agg_cost_per_client_leader"} <= check_names
    # every mart's suite gates the serving file: its check is blocking and the mart is published
    serving_parents = graph.get(AssetKey(["serving_warehouse"])).parent_keys
    for key in graph.asset_check_keys:
        if key.name.startswith("gx_marts_"):
            assert key.asset_key in serving_parents, key
            assert graph.get_check_spec(key).blocking, key


def test_every_asset_has_the_nightly_freshness_policy() -> None:
    from dagster._core.definitions.freshness import CronFreshnessPolicy  # the type FreshnessPolicy.cron returns

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    policies = {key: graph.get(key).freshness_policy for key in keys}
    assert all(isinstance(p, CronFreshnessPolicy) for p in policies.values()), [k for k, p in policies.items() if p is None]
    policy = policies[AssetKey(["serving_warehouse"])]
    # the nightly run starts 02:00 local; by 06:00 every asset must have materialised since 02:00
    assert (policy.deadline_cron, policy.lower_bound_delta.total_seconds(), policy.timezone) == (
        "0 6 * * *", 4 * 3600, "Europe/Copenhagen")
    assert policies[AssetKey(["os2bos", "core_payment"])] == policy == policies[AssetKey(["marts", "fct_client_cost"])]


def test_schedule_timezone_is_configurable() -> None:
    code = (
        "from orchestration.definitions import defs;"
        "print(defs.resolve_schedule_def('nightly_refresh_schedule').execution_timezone)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "WAREHOUSE_TIMEZONE": "Europe/Stockholm"},
    )
    assert result.stdout.strip().splitlines()[-1] == "Europe/Stockholm"
