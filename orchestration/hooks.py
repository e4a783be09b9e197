"""Run hooks: on any failed step, alert with the step and the reason, and refresh the Data Docs index."""

from dagster import HookContext, failure_hook

from orchestration.alerts import FailureAlert, send_failure_alert
from orchestration.assets.data_docs import rebuild_data_docs_index


@failure_hook(name="alert_on_failure")
def alert_on_failure(context: HookContext) -> None:
    error = context.op_exception
    reason = f"{type(error).__name__}: {error}" if error else "the step failed (see the run's logs)"
    alert = FailureAlert(job=context.job_name, run_id=context.run_id, step=context.step_key, reason=reason)
    channels = send_failure_alert(alert)
    context.log.info(f"failure alert sent by {', '.join(channels) or 'no channel (none configured)'}")


@failure_hook(name="data_docs_index_on_failure")
def data_docs_index_on_failure(context: HookContext) -> None:
    """A failed run never reaches the data_docs asset: show its results in the index all the same."""
    context.log.info(f"Data Docs index rebuilt: {rebuild_data_docs_index()}")
