"""Start a finance load when a new file lands in the drop folder and has stopped growing."""

import json
import time
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from orchestration.resources import settings

DROP_EXTENSIONS = (".csv", ".xlsx")


def _candidates(folder: Path) -> dict[str, list[float]]:
    """Files directly in the drop folder (not processed/ or rejected/) with their size and mtime."""
    if not folder.exists():
        return {}
    found = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in DROP_EXTENSIONS and not path.name.startswith("."):
            stat = path.stat()
            found[path.name] = [stat.st_size, stat.st_mtime]
    return found


def stable_new_files(folder: Path, cursor: str | None, stable_seconds: float, now: float) -> tuple[list[str], str]:
    """The files that are new and have kept their size and mtime since the last look and for
    at least `stable_seconds` (a file still being written is left for a later tick)."""
    state = json.loads(cursor) if cursor else {"seen": {}, "requested": {}}
    current = _candidates(folder)
    ready = [
        name for name, (size, mtime) in current.items()
        if state["seen"].get(name) == [size, mtime]
        and now - mtime >= stable_seconds
        and state["requested"].get(name) != [size, mtime]
    ]
    state["seen"] = current
    still_there = {name: value for name, value in state["requested"].items() if name in current}
    state["requested"] = still_there | {name: current[name] for name in ready}
    return ready, json.dumps(state, sort_keys=True)


def build_finance_drop_sensor(job_name: str):
    @sensor(
        name="finance_drop_sensor",
        job_name=job_name,
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING,
        description="Loads finance files as soon as they land in the drop folder and are complete.",
    )
    def finance_drop_sensor(context: SensorEvaluationContext):
        s = settings()
        ready, cursor = stable_new_files(s.finance_drop, context.cursor, s.drop_stable_seconds, time.time())
        context.update_cursor(cursor)
        if not ready:
            return SkipReason(f"no new, complete file in {s.finance_drop}")
        context.log.info(f"new finance files: {', '.join(ready)}")
        return RunRequest(run_key=f"finance:{cursor}", tags={"warehouse/trigger": "finance-drop"})

    return finance_drop_sensor
