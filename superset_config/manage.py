"""Set up, serve and update the warehouse's Superset.

Run with Superset's own environment::

    superset_config/.venv/bin/python superset_config/manage.py setup
    superset_config/.venv/bin/python superset_config/manage.py serve --host 127.0.0.1 --port 8088
    superset_config/.venv/bin/python superset_config/manage.py import-dashboards
    superset_config/.venv/bin/python superset_config/manage.py clear-cache
    superset_config/.venv/bin/python superset_config/manage.py warm-cache
    superset_config/.venv/bin/python superset_config/manage.py metrics

Environment (see also superset_config.py):

- ``SUPERSET_SECRET_KEY`` / ``SUPERSET_SECRET_KEY_FILE``: required
- ``SUPERSET_ADMIN_USERNAME`` (default ``admin``)
- ``SUPERSET_ADMIN_PASSWORD`` / ``SUPERSET_ADMIN_PASSWORD_FILE``: required by ``setup``
- ``WAREHOUSE_HOME`` (default ``<repo>/var``)
- ``WAREHOUSE_SERVING_PATH`` (default ``$WAREHOUSE_HOME/warehouse/serving.duckdb``)
- ``SUPERSET_ACCESS_FILE``: users, roles and row-level security (see access.py); optional
- ``WAREHOUSE_SEMANTIC_MANIFEST`` (default ``dbt_project/target/semantic_manifest.json``) and
  ``WAREHOUSE_DBT_MANIFEST`` (default ``dbt_project/target/manifest.json``): the dbt semantic layer
  the dataset metrics are generated from
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import access  # noqa: E402  (this folder's modules, importable without Superset)
import semantic_metrics  # noqa: E402

ASSETS_DIR = HERE / "assets"
CONFIG_PATH = HERE / "superset_config.py"
VENV_BIN = Path(sys.executable).parent
BUNDLE_ROOT = "warehouse_dashboards"
DATABASE_NAME = "Warehouse (serving)"
MIN_ADMIN_PASSWORD_LENGTH = 12


def log(message: str) -> None:
    print(f"[superset] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[superset] ERROR: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def configure_environment() -> None:
    """Point Superset (in this process and in child processes) at our configuration."""
    os.environ["SUPERSET_CONFIG_PATH"] = str(CONFIG_PATH)
    os.environ["FLASK_APP"] = "superset.app:create_app()"
    os.environ.setdefault("SUPERSET_LOG_LEVEL", "WARNING")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")


def load_config() -> ModuleType:
    """Execute superset_config.py on its own: fails fast on a missing or unsafe secret key."""
    spec = importlib.util.spec_from_file_location("warehouse_superset_config", CONFIG_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except module.SupersetConfigError as exc:  # type: ignore[attr-defined]
        fail(str(exc))
    return module


def serving_path(config: ModuleType) -> Path:
    default = config.WAREHOUSE_HOME / "warehouse" / "serving.duckdb"
    return Path(os.environ.get("WAREHOUSE_SERVING_PATH") or default).resolve()


def admin_username() -> str:
    return os.environ.get("SUPERSET_ADMIN_USERNAME") or "admin"


def admin_password(config: ModuleType) -> str:
    password = config.read_secret("SUPERSET_ADMIN_PASSWORD")
    if not password:
        fail("SUPERSET_ADMIN_PASSWORD (or SUPERSET_ADMIN_PASSWORD_FILE) is not set")
    if len(password) < MIN_ADMIN_PASSWORD_LENGTH:
        fail(f"SUPERSET_ADMIN_PASSWORD is shorter than {MIN_ADMIN_PASSWORD_LENGTH} characters")
    return password


def run_superset_cli(*args: str) -> None:
    """Run the venv's `superset` CLI; show its output only if it fails."""
    result = subprocess.run(
        [str(VENV_BIN / "superset"), *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        fail(f"`superset {' '.join(args)}` failed with exit code {result.returncode}")


# ---------------------------------------------------------------- dashboard bundle


def substitute(value: Any, replacements: dict[str, str]) -> Any:
    """Replace ``${NAME}`` placeholders in every string of a loaded YAML document."""
    if isinstance(value, str):
        for name, replacement in replacements.items():
            value = value.replace(f"${{{name}}}", replacement)
        return value
    if isinstance(value, dict):
        return {key: substitute(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, replacements) for item in value]
    return value


def physical_columns(serving: Path, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, type) of a published table, read from the serving file (read-only)."""
    import duckdb

    if not serving.exists():
        return []
    config = {"enable_external_access": False}
    with duckdb.connect(str(serving), read_only=True, config=config) as connection:
        rows = connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
    return [(str(name), str(data_type)) for name, data_type in rows]


def documented_columns(dbt_manifest: dict[str, Any] | None, table: str) -> list[tuple[str, str]]:
    """(name, type) from dbt's manifest: the fallback before the first publish."""
    return [
        (name, str(column.get("data_type") or "VARCHAR").upper())
        for name, column in semantic_metrics.dbt_columns(dbt_manifest, table).items()
    ]


def load_dbt_manifest() -> dict[str, Any] | None:
    path = semantic_metrics.dbt_manifest_path()
    if not path.exists():
        log(f"warning: {path} does not exist; dataset columns carry no descriptions")
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def generated_datasets(config: ModuleType, database_uuid: str, bases: dict[str, dict[str, Any]]) -> tuple[
    dict[str, dict[str, Any]], semantic_metrics.Translation
]:
    """Dataset documents (by relative path) for every semantic model with translatable metrics."""
    try:
        semantic_manifest = semantic_metrics.load_manifest()
    except FileNotFoundError as exc:
        fail(str(exc))
    translation = semantic_metrics.translate(semantic_manifest)
    dbt_manifest = load_dbt_manifest()
    serving = serving_path(config)
    documents: dict[str, dict[str, Any]] = {}
    for dataset in translation.datasets:
        key = f"{dataset.schema}.{dataset.table}"
        physical = physical_columns(serving, dataset.schema, dataset.table) or documented_columns(
            dbt_manifest, dataset.table
        )
        columns = semantic_metrics.column_entries(
            physical,
            semantic_metrics.dbt_columns(dbt_manifest, dataset.table),
            semantic_metrics.dimension_labels(semantic_manifest, dataset.semantic_model),
        )
        try:
            document = semantic_metrics.dataset_document(dataset, database_uuid, bases.pop(key, None), columns)
        except ValueError as exc:
            fail(str(exc))
        documents[f"datasets/warehouse/{dataset.table}.yaml"] = document
    for key, base in bases.items():  # hand-written datasets without semantic-layer metrics
        if base.get("metrics"):
            fail(f"{key}: metrics are typed by hand; define them in the dbt semantic layer instead")
        documents[f"datasets/warehouse/{base['table_name']}.yaml"] = base
    return documents, translation


def render_bundle(config: ModuleType) -> bytes:
    """Render assets/ plus the generated datasets into a Superset import zip (deterministic)."""
    replacements = {
        "WAREHOUSE_SERVING_PATH": str(serving_path(config)),
        "SUPERSET_HOME": str(config.SUPERSET_HOME),
    }
    documents: dict[str, dict[str, Any]] = {}
    bases: dict[str, dict[str, Any]] = {}
    for source in sorted(ASSETS_DIR.rglob("*.yaml")):
        document = substitute(yaml.safe_load(source.read_text(encoding="utf-8")), replacements)
        relative = source.relative_to(ASSETS_DIR).as_posix()
        if relative.startswith("datasets/"):
            bases[f"{document['schema']}.{document['table_name']}"] = document
        else:
            documents[relative] = document
    database_uuid = str(documents["databases/warehouse.yaml"]["uuid"])
    datasets, _ = generated_datasets(config, database_uuid, bases)
    documents.update(datasets)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for relative in sorted(documents):
            info = zipfile.ZipInfo(f"{BUNDLE_ROOT}/{relative}", date_time=(2025, 1, 1, 0, 0, 0))
            text = yaml.safe_dump(documents[relative], sort_keys=False, allow_unicode=True)
            bundle.writestr(info, text)
    return buffer.getvalue()


def write_bundle(config: ModuleType) -> Path:
    path = config.SUPERSET_HOME / "dashboards_bundle.zip"
    path.write_bytes(render_bundle(config))
    return path


# ---------------------------------------------------------------- in-process steps


def create_app() -> Any:
    from sqlalchemy.exc import SAWarning
    from superset.app import create_app as superset_create_app

    # The importer triggers harmless SQLAlchemy flush warnings; keep the output readable.
    warnings.filterwarnings("ignore", category=SAWarning)
    return superset_create_app()


def sync_roles_and_permissions(app: Any) -> None:
    """What `superset init` does, without starting another Superset process."""
    from superset import appbuilder, db, security_manager

    with app.app_context():
        appbuilder.add_permissions(update_perms=True)
        security_manager.sync_role_definitions()
        db.session.commit()


def ensure_admin(app: Any, username: str, password: str) -> None:
    from superset import security_manager

    with app.app_context():
        role = security_manager.find_role("Admin")
        if role is None:
            fail("the Admin role does not exist; did `superset init` run?")
        user = security_manager.find_user(username=username)
        if user is None:
            created = security_manager.add_user(
                username=username,
                first_name="Warehouse",
                last_name="Administrator",
                email=f"{username}@warehouse.invalid",
                role=role,
                password=password,
            )
            if not created:
                fail(f"could not create the admin user {username!r}")
            log(f"created admin user {username!r}")
            return
        if role not in user.roles:
            user.roles.append(role)
        user.active = True
        security_manager.update_user(user)
        security_manager.reset_password(user.id, password)
        log(f"updated admin user {username!r}")


def import_bundle(app: Any, bundle_path: Path, username: str) -> None:
    from superset import security_manager
    from superset.commands.exceptions import CommandInvalidError
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.commands.importers.v1.utils import get_contents_from_bundle
    from superset.utils.core import override_user

    with app.app_context():
        user = security_manager.find_user(username=username)
        if user is None:
            fail(f"user {username!r} does not exist; run `manage.py setup` first")
        with zipfile.ZipFile(bundle_path) as bundle:
            contents = get_contents_from_bundle(bundle)
        # Unlike ImportDashboardsCommand, this overwrites the database, dataset and charts too.
        command = ImportAssetsCommand(contents)
        with override_user(user):
            try:
                command.validate()
            except CommandInvalidError as exc:
                fail(f"dashboard bundle is invalid: {exc.normalized_messages()}")
            command.run()


def clear_caches(app: Any) -> None:
    """Drop cached chart data and query results: the serving file may have been replaced.

    The data cache (chart data, filter values) is keyed on the query, not on the data, so a
    new publish must clear it. With Redis only this instance's keys (its key prefix) go.
    """
    from superset.extensions import cache_manager

    with app.app_context():
        cache_manager.data_cache.clear()
        cache_manager.cache.clear()  # metadata cache: dataset columns, table lists
    log("chart data cache cleared")


def sync_access(app: Any) -> None:
    try:
        config = access.load(access.access_file())
    except access.AccessConfigError as exc:
        fail(str(exc))
    with app.app_context():
        try:
            access.sync(config, DATABASE_NAME, log)
        except access.AccessConfigError as exc:
            fail(str(exc))


# ---------------------------------------------------------------- commands


def cmd_setup(_: argparse.Namespace) -> None:
    config = load_config()
    username, password = admin_username(), admin_password(config)
    try:
        access.load(access.access_file())  # refuse a bad access file before changing anything
    except access.AccessConfigError as exc:
        fail(str(exc))
    started = time.monotonic()
    config.SUPERSET_HOME.mkdir(parents=True, exist_ok=True)
    (config.SUPERSET_HOME / "duckdb_tmp").mkdir(exist_ok=True)
    log("upgrading metadata DB...")
    run_superset_cli("db", "upgrade")
    app = create_app()
    log("initialising roles and permissions...")
    sync_roles_and_permissions(app)
    log(f"ensuring admin user {username!r}...")
    ensure_admin(app, username, password)
    do_import(config, app, username)
    sync_access(app)
    clear_caches(app)
    log(f"setup done in {time.monotonic() - started:.0f}s")


def do_import(config: ModuleType, app: Any, username: str) -> None:
    serving = serving_path(config)
    if not serving.exists():
        log(f"warning: serving file {serving} does not exist yet; charts will fail until published")
    bundle = write_bundle(config)
    log(f"importing dashboards from {bundle} (database: {serving})...")
    import_bundle(app, bundle, username)
    log("dashboards imported")


def cmd_import_dashboards(_: argparse.Namespace) -> None:
    """After a publish: regenerate metrics, re-import, re-apply access, clear cached chart data."""
    config = load_config()
    (config.SUPERSET_HOME / "duckdb_tmp").mkdir(parents=True, exist_ok=True)
    app = create_app()
    try:
        do_import(config, app, admin_username())
        sync_access(app)
    finally:
        clear_caches(app)  # even if the import failed: never serve the previous file's numbers


def cmd_clear_cache(_: argparse.Namespace) -> None:
    load_config()
    clear_caches(create_app())


def cmd_warm_cache(_: argparse.Namespace) -> None:
    """Open every dashboard once per row-level-security scope, so leaders are served from the cache."""
    import cache_warmup  # Playwright: only this command needs it
    import local_server

    config = load_config()
    try:
        users = access.load(access.access_file())
    except access.AccessConfigError as exc:
        fail(str(exc))
    chosen = cache_warmup.viewers(users, admin_username(), admin_password(config))
    started = time.monotonic()
    with local_server.served(Path(__file__).resolve(), config.SUPERSET_HOME / "warm_cache_serve.log") as (base_url, _):
        warmed = cache_warmup.warm(base_url, chosen, log)
    failures = [(scope.scope, slug, answer) for scope in warmed for slug, answer in scope.failures]
    for scope, slug, answer in failures:
        log(f"chart failed for {scope}: dashboard {slug}, chart {answer.slice_id or 'native filter values'}: "
            f"HTTP {answer.status} {answer.error}")
    requests = sum(len(scope.answers) for scope in warmed)
    if failures:
        fail(f"{len(failures)} of {requests} chart requests failed while warming the cache")
    log(f"chart cache warmed: {requests} chart requests for {len(warmed)} scopes in {time.monotonic() - started:.1f} s")


def cmd_metrics(args: argparse.Namespace) -> None:
    """Print the generated metrics (Markdown, or JSON with --json) without touching Superset."""
    translation = semantic_metrics.translate(semantic_metrics.load_manifest())
    if args.json:
        print(json.dumps({
            "metrics": [
                {"dataset": f"{d.schema}.{d.table}", **m.superset()} for d in translation.datasets for m in d.metrics
            ],
            "skipped": [vars(item) for item in translation.skipped],
        }, indent=2))
    else:
        print(semantic_metrics.render_markdown(translation), end="")


def cmd_render_bundle(args: argparse.Namespace) -> None:
    config = load_config()
    output = Path(args.output).resolve()
    output.write_bytes(render_bundle(config))
    log(f"wrote {output}")


def cmd_serve(args: argparse.Namespace) -> None:
    config = load_config()
    if not config.SUPERSET_HOME.exists():
        fail(f"{config.SUPERSET_HOME} does not exist; run `manage.py setup` first")
    log(f"serving on http://{args.host}:{args.port} ({args.workers} workers x {args.threads} threads)")
    argv = [
        str(VENV_BIN / "gunicorn"),
        "--bind", f"{args.host}:{args.port}",
        "--workers", str(args.workers),
        "--worker-class", "gthread",
        "--threads", str(args.threads),
        "--timeout", "120",
        "--limit-request-line", "0",
        "--limit-request-field_size", "0",
        "--log-level", "warning",
        "superset.app:create_app()",
    ]  # fmt: skip
    os.execv(argv[0], argv)  # replace this process: the caller's PID is gunicorn's master


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup", help="upgrade the metadata DB, ensure the admin, import dashboards")
    commands.add_parser(
        "import-dashboards", help="after a publish: regenerate metrics, re-import, apply access, clear caches"
    )
    commands.add_parser("clear-cache", help="drop cached chart data")
    commands.add_parser(
        "warm-cache", help="after a publish: open every dashboard once per access scope, filling the chart cache"
    )
    metrics = commands.add_parser("metrics", help="print the metrics generated from the semantic layer")
    metrics.add_argument("--json", action="store_true")
    render = commands.add_parser("render-bundle", help="write the rendered import zip")
    render.add_argument("--output", required=True)
    serve = commands.add_parser("serve", help="serve Superset with gunicorn (foreground)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8088)
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--threads", type=int, default=4)
    return parser.parse_args(argv)


HANDLERS = {
    "setup": cmd_setup,
    "import-dashboards": cmd_import_dashboards,
    "render-bundle": cmd_render_bundle,
    "clear-cache": cmd_clear_cache,
    "warm-cache": cmd_warm_cache,
    "metrics": cmd_metrics,
    "serve": cmd_serve,
}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_environment()
    HANDLERS[args.command](args)


if __name__ == "__main__":
    main()
