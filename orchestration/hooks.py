"""Run hooks: alert on any failed step, with the step and the reason."""

from dagster import HookContext, failure_hook

from orchestration.alerts import FailureAlert, send_failure_alert


@failure_hook(name="alert_on_failure")
def alert_on_failure(context: HookContext) -> None:
    error = context.op_exception
    reason = f"{type(error).__name__}: {error}" if error else "the step failed (see the run's logs)"
    alert = FailureAlert(job=context.job_name, run_id=context.run_id, step=context.step_key, reason=reason)
    channels = send_failure_alert(alert)
    context.log.info(f"failure alert sent by {', '.join(channels) or 'no channel (none configured)'}")
