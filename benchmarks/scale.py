"""A full refresh at one scale, stage by stage, against raw DuckDB doing the same work.

    .venv/bin/python benchmarks/scale.py --scale national --home /tmp/bench-national

1. Generates the scale's sources into `<home>/sources` (kept: a second call reuses them) and
   serves its case events over the REST API, as the source system does.
2. Runs the product's nightly job, `python -m orchestration refresh` (ingest, transform,
   validate, publish), then a second refresh with nothing new (the floor of an incremental
   nightly run), then writes one day of work into the sources (`ingestion.sample_data.next_day`)
   and runs a third refresh as of that day: the nightly refresh the target is about. Each refresh
   is timed whole, with the peak memory of its process tree and the peak size of its DuckDB temp
   folder; Dagster's step statistics split it into stages.
3. Runs each stage's raw-DuckDB counterpart in a process of its own, with the same memory limit
   and threads: the sources scanned natively (sqlite_scanner, read_csv) into a scratch file, and
   the SQL dbt compiled in the refresh executed in one connection (see transform_overhead.py).

Prints a Markdown table for docs/benchmarks.md and writes `<home>/benchmark.json`. Wall times on
a shared machine vary: compare the ratios measured in one run. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import duckdb
import psutil

from ingestion.sample_data.next_day import advance_one_day
from sample_sources import events_api
from transform_overhead import Settings, run_directly, statements_in_dbt_order

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GIB = 1024 ** 3


@dataclass
class Measured:
    seconds: float
    peak_rss_gib: float
    peak_temp_gib: float = 0.0
    output: str = ""
    completed: bool = True  # False: stopped at the deadline
    returncode: int = 0
    # (unix time, RSS of the process tree in bytes), every half second
    samples: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class Stage:
    name: str
    seconds: float
    rows: int | None = None
    raw_duckdb_seconds: float | None = None
    raw_duckdb_peak_gib: float | None = None
    peak_rss_gib: float | None = None
    stopped: bool = False  # still running when the deadline stopped the refresh
    steps: list[str] = field(default_factory=list)


def _folder_size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass  # a spill file removed while walking
    return total


def run_measured(
    command: list[str], env: dict[str, str], temp_folder: Path | None = None, deadline: float | None = None,
    on_start: Callable[[int], None] | None = None, check: bool = True,
) -> Measured:
    """Run a command; wall time, RSS of its process tree over time, peak size of `temp_folder`.

    At `deadline` (unix time) the process tree is stopped and the measurement marked incomplete.
    With `check`, a failing command raises; without, its return code is recorded.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    peaks = {"temp": 0}
    lines: list[str] = []

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith(("[refresh]", "[sample]", "[raw-duckdb]")):
                print("   ", line.rstrip(), flush=True)

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    if on_start is not None:
        on_start(process.pid)
    root = psutil.Process(process.pid)
    samples: list[tuple[float, int]] = []
    completed = True
    while process.poll() is None:
        if deadline is not None and time.time() > deadline:
            completed = False
            for child in [*root.children(recursive=True), root]:
                child.kill()
            break
        try:
            tree = [root, *root.children(recursive=True)]
            samples.append((time.time(), sum(p.memory_info().rss for p in tree if p.is_running())))
        except psutil.Error:
            pass  # a child ended between listing and reading it
        if temp_folder is not None and temp_folder.exists():
            peaks["temp"] = max(peaks["temp"], _folder_size(temp_folder))
        time.sleep(0.5)
    process.wait()
    reader.join()
    output = "".join(lines)
    if check and completed and process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{output[-5000:]}")
    peak = max((rss for _, rss in samples), default=0)
    return Measured(time.perf_counter() - started, peak / GIB, peaks["temp"] / GIB, output, completed,
                    process.returncode, samples)


# ---------------------------------------------------------------- raw DuckDB counterparts

def raw_connection(database: Path, settings: Settings, temp: Path) -> duckdb.DuckDBPyConnection:
    from ingestion.duckdb_extensions import load_extension

    connection = duckdb.connect(str(database))
    settings.apply(connection, temp)
    for extension in ("sqlite_scanner", "encodings"):
        load_extension(connection, extension)
    return connection


def copy_sqlite(connection: duckdb.DuckDBPyConnection, sqlite_file: Path) -> int:
    """Every table of a SQLite file into the connection's database; rows copied."""
    connection.execute(f"ATTACH '{sqlite_file}' AS source (TYPE sqlite, READ_ONLY)")
    tables = [row[0] for row in connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'source'").fetchall()]
    rows = 0
    for table in tables:
        connection.execute(f'CREATE TABLE "{table}" AS SELECT * FROM source."{table}"')
        rows += connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return rows


def _read_finance_files(connection: duckdb.DuckDBPyConnection, drop_folder: Path) -> int:
    """Ledger (cp1252, `;`, decimal comma) and budget (UTF-8 with BOM) files, as the exports write them."""
    ledger = sorted(str(p) for p in drop_folder.rglob("ledger_postings_*.csv"))
    budgets = sorted(str(p) for p in drop_folder.rglob("budget*.csv"))
    connection.execute(f"CREATE TABLE ledger AS SELECT * FROM read_csv({ledger}, delim=';', decimal_separator=',', "
                       "header=true, encoding='cp1252', union_by_name=true)")
    rows = connection.execute("SELECT count(*) FROM ledger").fetchone()[0]
    if budgets:
        connection.execute(f"CREATE TABLE budgets AS SELECT * FROM read_csv({budgets}, delim=';', "
                           "decimal_separator=',', header=true, union_by_name=true)")
        rows += connection.execute("SELECT count(*) FROM budgets").fetchone()[0]
    return rows


def counterpart(name: str, home: Path, settings: Settings) -> None:
    """One raw-DuckDB stage, run in its own process by `--counterpart` (so its peak RSS is its own)."""
    scratch = Path(tempfile.mkdtemp(prefix=f"raw-duckdb-{name}-", dir=home))
    temp = scratch / "tmp"
    temp.mkdir()
    sources = home / "sources"
    started = time.perf_counter()
    if name == "transform":
        target = Path((home / "dbt_target.txt").read_text().strip())
        build = home / "warehouse" / "build.duckdb"
        (scratch / "direct").mkdir()
        # The compiled SQL names its catalog after the build file: the direct run's file has the same name.
        run_directly(home / "warehouse" / "raw.duckdb", build, scratch / "direct" / build.name, scratch,
                     statements_in_dbt_order(target), settings)
        rows = None
    else:
        connection = raw_connection(scratch / f"{name}.duckdb", settings, temp)
        if name == "os2bos":
            rows = copy_sqlite(connection, sources / "os2bos.sqlite")
        elif name == "case_events":
            rows = copy_sqlite(connection, sources / "case_events.sqlite")
        elif name == "finance":
            rows = _read_finance_files(connection, sources / "finance_drop")
        else:
            raise ValueError(f"no counterpart {name!r}")
        connection.close()
    print(f"[raw-duckdb] {name}: {rows} rows in {time.perf_counter() - started:.1f} s", flush=True)
    shutil.rmtree(scratch)


# ---------------------------------------------------------------- the product's refresh

STAGES = (  # (stage, pattern on Dagster's step key), first match wins
    ("validate raw", re.compile(r"gx_raw_")),
    ("validate marts", re.compile(r"gx_")),
    ("ingest: OS2bos (SQLite)", re.compile(r"os2bos_raw")),
    ("ingest: case events (REST)", re.compile(r"case_events_raw")),
    ("ingest: finance files", re.compile(r"finance_raw")),
    ("transform (dbt build)", re.compile(r"warehouse_models")),
    ("publish", re.compile(r"serving_warehouse|superset_dashboards")),
    ("Data Docs index", re.compile(r"data_docs")),
)
# stage -> (counterpart, raw dataset whose rows the stage moves; None: all raw rows)
COUNTERPARTS = {
    "ingest: OS2bos (SQLite)": ("os2bos", "os2bos"),
    "ingest: case events (REST)": ("case_events", "case_events"),
    "ingest: finance files": ("finance", "finance"),
    "transform (dbt build)": ("transform", None),
}


def stages_of_run(dagster_home: Path, measured: Measured) -> tuple[str, dict[str, Stage]]:
    """The last run's id and its steps grouped into stages, with each stage's peak tree RSS."""
    from dagster import DagsterInstance

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        stats = instance.get_run_step_stats(run.run_id)
    ended = measured.samples[-1][0] if measured.samples else time.time()
    stages: dict[str, Stage] = {}
    for stat in sorted(stats, key=lambda s: s.start_time or 0):
        if stat.start_time is None:
            continue
        name = next((stage for stage, pattern in STAGES if pattern.search(stat.step_key)), "other")
        stage = stages.setdefault(name, Stage(name, 0.0))
        end = stat.end_time or ended
        stage.stopped = stage.stopped or stat.end_time is None
        stage.seconds += end - stat.start_time
        peak = max((rss for at, rss in measured.samples if stat.start_time <= at <= end), default=0) / GIB
        stage.peak_rss_gib = max(stage.peak_rss_gib or 0.0, peak)
        stage.steps.append(stat.step_key)
    return run.run_id, stages


def raw_rows(raw: Path) -> dict[str, int]:
    with duckdb.connect(str(raw), read_only=True) as connection:
        rows = connection.execute(
            "SELECT schema_name, sum(estimated_size) FROM duckdb_tables() WHERE table_name NOT LIKE '\\_dlt%' ESCAPE '\\' "
            "AND schema_name NOT LIKE '%\\_staging' ESCAPE '\\' GROUP BY ALL").fetchall()  # dlt's merge staging left out
    return {schema: int(n) for schema, n in rows}


def newest_dbt_target(since: float) -> Path | None:
    results = [p for p in (REPO_ROOT / "dbt_project" / "target").rglob("run_results.json") if p.stat().st_mtime >= since]
    return max(results, key=lambda p: p.stat().st_mtime).parent if results else None


def dbt_profile(target: Path, top: int = 8) -> list[str]:
    """Where `dbt build`'s time went: execution time by node type, and the slowest nodes."""
    results = json.loads((target / "run_results.json").read_text())
    by_type: dict[str, list[float]] = defaultdict(list)
    for result in results["results"]:
        by_type[result["unique_id"].split(".")[0]].append(result["execution_time"])
    lines = [f"dbt elapsed {results['elapsed_time']:.1f} s (2 threads); execution time summed per node type: "
             + ", ".join(f"{kind} {len(times)} nodes {sum(times):.1f} s" for kind, times in sorted(by_type.items()))]
    slowest = sorted(results["results"], key=lambda r: r["execution_time"], reverse=True)[:top]
    lines += [f"  {r['execution_time']:7.1f} s  {r['unique_id']}" for r in slowest]
    return lines


PROFILE_STAGES = (  # (stage, a frame that is on the stack while the stage runs)
    ("ingest: OS2bos (SQLite)", "os2bos_raw (orchestration/assets/ingestion.py"),
    ("ingest: case events (REST)", "case_events_raw (orchestration/assets/ingestion.py"),
    ("ingest: finance files", "finance_raw (orchestration/assets/ingestion.py"),
    ("validate", "gx_suite (orchestration/checks.py"),
    ("transform: dagster-dbt reading dbt's events", "warehouse_models (orchestration/assets/transformation.py"),
)


def start_profiler(py_spy: Path, output: Path) -> Callable[[int], None]:
    """py-spy sampling the refresh and its subprocesses (dbt) at 20 Hz without pausing them."""
    def attach(pid: int) -> None:
        subprocess.Popen([str(py_spy), "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--rate", "20",
                          "--format", "raw", "--output", str(output)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    return attach


def profile_summary(raw_profile: Path, top: int = 10) -> list[str]:
    """Samples per stage, and the functions the samples were in (self time), from py-spy's raw output."""
    per_stage: dict[str, Counter[str]] = defaultdict(Counter)
    for line in raw_profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        # a subprocess's samples start with its parent's process frame, then its own
        processes = " ".join(frame for frame in frames[:2] if frame.startswith("process "))
        stage = "transform (dbt build)" if "/dbt build" in processes else next(
            (name for name, marker in PROFILE_STAGES if marker in stack), "other")
        leaf = re.sub(r":\d+\)$", ")", frames[-1])  # one entry per function, not per line
        per_stage[stage][leaf] += int(count)
    lines = []
    for stage, leaves in sorted(per_stage.items(), key=lambda item: -sum(item[1].values())):
        total = sum(leaves.values())
        lines.append(f"{stage}: {total} samples ({total / 20:.0f} s of a thread)")
        lines += [f"  {100 * n / total:5.1f} %  {leaf}" for leaf, n in leaves.most_common(top)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="national")
    parser.add_argument("--home", type=Path, required=True, help="a scratch warehouse home (sources are kept)")
    parser.add_argument("--as-of", default="2026-11-20")
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB memory limit for the refresh and the counterparts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--deadline-minutes", type=float, default=None,
                        help="stop the full refresh after this long and report the stages it finished")
    parser.add_argument("--py-spy", type=Path, default=None,
                        help="a py-spy executable: sample the full refresh and summarise where each stage spends its time")
    parser.add_argument("--counterpart", help=argparse.SUPPRESS)
    args = parser.parse_args()
    home = args.home.resolve()
    settings = Settings(args.memory_limit, args.threads)
    if args.counterpart:
        counterpart(args.counterpart, home, settings)
        return

    home.mkdir(parents=True, exist_ok=True)
    secrets_dir = home / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    token_file = secrets_dir / "case_events_token"
    if not token_file.exists():
        token_file.write_text(secrets.token_urlsafe(24))
    port = 18765
    env = {
        **os.environ,
        "WAREHOUSE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
        "WAREHOUSE_PSEUDONYM_KEY": secrets.token_urlsafe(32),
        "WAREHOUSE_CASE_EVENTS_URL": f"http://127.0.0.1:{port}",
        "WAREHOUSE_CASE_EVENTS_TOKEN_FILE": str(token_file),
        "WAREHOUSE_REFERENCE_DATE": args.as_of,
        "WAREHOUSE_DUCKDB_MEMORY_LIMIT": args.memory_limit, "WAREHOUSE_DUCKDB_THREADS": str(args.threads),
        "GX_ANALYTICS_ENABLED": "false", "DAGSTER_DISABLE_TELEMETRY": "true",
    }
    env.pop("WAREHOUSE_DEMO_MODE", None)
    (home / "dagster").mkdir(exist_ok=True)
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    generated = None
    if not (home / "sources" / "os2bos.sqlite").exists():
        print(f"[benchmark] generating the {args.scale} sample ...", flush=True)
        generated = run_measured([PYTHON, "-m", "ingestion.sample_data", "--scale", args.scale, "--as-of", args.as_of,
                                  "--out", str(home / "sources")], env)

    def run_counterpart(name: str) -> Measured:
        print(f"[benchmark] raw DuckDB: {name} ...", flush=True)
        return run_measured([PYTHON, __file__, "--home", str(home), "--counterpart", name,
                             "--memory-limit", args.memory_limit, "--threads", str(args.threads)], env)

    # The sources' counterparts first: they need nothing from the refresh.
    raw_duckdb = {name: run_counterpart(name) for name in ("os2bos", "case_events", "finance")}

    deadline = time.time() + args.deadline_minutes * 60 if args.deadline_minutes else None
    with events_api(home / "sources" / "case_events.sqlite", port, token_file, env):
        print("[benchmark] full refresh ...", flush=True)
        started_at = time.time()
        profiler = start_profiler(args.py_spy, home / "profile.txt") if args.py_spy else None
        full = run_measured([PYTHON, "-m", "orchestration", "refresh"], env, home / "tmp", deadline, profiler,
                            check=False)
        # kept at once: the memory timeline cannot be measured again
        (home / "full_refresh_samples.json").write_text(json.dumps(full.samples))
        (home / "benchmark.log").write_text(full.output)
        run_id, stages = stages_of_run(home / "dagster", full)
        target = newest_dbt_target(started_at)
        again, again_stages, again_target = None, {}, None
        one_day, one_day_stages, one_day_target, day_of_work = None, {}, None, None

        def later_refresh(log_name: str, refresh_env: dict[str, str]) -> tuple[Measured, dict[str, Stage], Path | None]:
            refresh_started_at = time.time()
            measured = run_measured([PYTHON, "-m", "orchestration", "refresh"], refresh_env, home / "tmp", deadline,
                                    check=False)
            (home / log_name).write_text(measured.output)
            return measured, stages_of_run(home / "dagster", measured)[1], newest_dbt_target(refresh_started_at)

        if full.completed and full.returncode == 0:
            print("[benchmark] second refresh, nothing new ...", flush=True)
            again, again_stages, again_target = later_refresh("benchmark_nothing_new.log", env)
        if again is not None and again.completed and again.returncode == 0:
            day = date.fromisoformat(args.as_of) + timedelta(days=1)
            day_of_work = advance_one_day(home / "sources", day)
            print(f"[benchmark] third refresh, after one day of work: {day_of_work} ...", flush=True)
            one_day, one_day_stages, one_day_target = later_refresh(
                "benchmark_one_day.log", {**env, "WAREHOUSE_REFERENCE_DATE": day.isoformat()})

    transform = stages.get("transform (dbt build)")
    if target is not None and transform is not None and not transform.stopped:
        (home / "dbt_target.txt").write_text(str(target))
        raw_duckdb["transform"] = run_counterpart("transform")

    rows = raw_rows(home / "warehouse" / "raw.duckdb") if (home / "warehouse" / "raw.duckdb").exists() else {}
    total_raw = sum(rows.values())
    for stage in stages.values():
        name, dataset = COUNTERPARTS.get(stage.name, (None, None))
        stage.rows = rows.get(dataset, 0) if dataset else total_raw
        if name in raw_duckdb and not stage.stopped:
            stage.raw_duckdb_seconds = raw_duckdb[name].seconds
            stage.raw_duckdb_peak_gib = raw_duckdb[name].peak_rss_gib
    profile = dbt_profile(target) if target is not None and (target / "run_results.json").exists() else []
    if again_target is not None:
        profile += ["", "second refresh, nothing new:", *dbt_profile(again_target)]
    if one_day_target is not None:
        profile += ["", "third refresh, one day of work:", *dbt_profile(one_day_target)]
    if args.py_spy:
        time.sleep(2)  # py-spy writes its file when the sampled process has gone
        profile += ["", "py-spy, full refresh:", *profile_summary(home / "profile.txt")]

    versions = {p: version(p) for p in ("duckdb", "dlt", "dbt-core", "dbt-duckdb", "dagster", "great-expectations")}
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / GIB:.0f} GiB, "
               f"Python {platform.python_version()}")

    def summary(measured: Measured | None) -> dict | None:
        return None if measured is None else {k: v for k, v in asdict(measured).items() if k not in ("output", "samples")}

    report = {
        "scale": args.scale, "measured": datetime.now().isoformat(timespec="minutes"), "machine": machine,
        "versions": versions, "raw_rows": rows, "run_id": run_id,
        "generate": summary(generated), "full_refresh": summary(full), "second_refresh": summary(again),
        "raw_duckdb": {name: summary(m) for name, m in raw_duckdb.items()},
        "stages": [asdict(s) for s in stages.values()],
        "second_refresh_stages": {s.name: round(s.seconds, 1) for s in again_stages.values()},
        "day_of_work": None if day_of_work is None else str(day_of_work), "third_refresh": summary(one_day),
        "third_refresh_stages": {s.name: round(s.seconds, 1) for s in one_day_stages.values()},
        "dbt_profile": profile,
    }
    (home / "benchmark.json").write_text(json.dumps(report, indent=2))

    print(f"\n{args.scale}: {total_raw:,} raw rows; machine {machine}; "
          + ", ".join(f"{k} {v}" for k, v in versions.items()))
    if generated:
        print(f"generate + write the sources: {generated.seconds:.0f} s, peak {generated.peak_rss_gib:.1f} GiB")
    state = (f" (STOPPED at the {args.deadline_minutes:.0f}-minute deadline)" if not full.completed
             else f" (FAILED, exit code {full.returncode}: see the refresh's output in benchmark.log)" if full.returncode
             else "")
    print(f"full refresh{state}: {full.seconds:.0f} s, peak RSS {full.peak_rss_gib:.1f} GiB, "
          f"peak DuckDB temp {full.peak_temp_gib:.1f} GiB")
    if again is not None:
        print(f"second refresh (nothing new): {again.seconds:.0f} s, peak RSS {again.peak_rss_gib:.1f} GiB")
    if one_day is not None:
        state = f" (FAILED, exit code {one_day.returncode}: see benchmark_one_day.log)" if one_day.returncode else ""
        print(f"third refresh (one day of work{state}): {one_day.seconds:.0f} s, "
              f"peak RSS {one_day.peak_rss_gib:.1f} GiB; the day: {day_of_work}")
    print("\n| stage | time | rows | rows/s | peak RSS | raw DuckDB | raw DuckDB peak | ratio | nothing new | one day |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for stage in stages.values():
        time_text = f"≥ {stage.seconds:.0f} s (stopped)" if stage.stopped else f"{stage.seconds:.1f} s"
        rate = f"{stage.rows / stage.seconds:,.0f}" if stage.rows and stage.seconds and not stage.stopped else "–"
        raw = f"{stage.raw_duckdb_seconds:.1f} s" if stage.raw_duckdb_seconds else "–"
        raw_peak = f"{stage.raw_duckdb_peak_gib:.1f} GiB" if stage.raw_duckdb_peak_gib else "–"
        ratio = f"{stage.seconds / stage.raw_duckdb_seconds:.1f}×" if stage.raw_duckdb_seconds else "–"
        later = [report[key].get(stage.name) for key in ("second_refresh_stages", "third_refresh_stages")]
        print(f"| {stage.name} | {time_text} | {f'{stage.rows:,}' if stage.rows else '–'} | {rate} | "
              f"{stage.peak_rss_gib or 0:.1f} GiB | {raw} | {raw_peak} | {ratio} | "
              + " | ".join('–' if seconds is None else f'{seconds:.1f} s' for seconds in later) + " |")
    if profile:
        print("\n" + "\n".join(profile))


if __name__ == "__main__":
    main()
