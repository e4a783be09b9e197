"""Set up, serve and update the warehouse's Superset.

Run with Superset's own environment::

    superset_config/.venv/bin/python superset_config/manage.py setup
    superset_config/.venv/bin/python superset_config/manage.py serve --host 127.0.0.1 --port 8088
    superset_config/.venv/bin/python superset_config/manage.py import-dashboards

Environment (see also superset_config.py):

- ``SUPERSET_SECRET_KEY`` / ``SUPERSET_SECRET_KEY_FILE``: required
- ``SUPERSET_ADMIN_USERNAME`` (default ``admin``)
- ``SUPERSET_ADMIN_PASSWORD`` / ``SUPERSET_ADMIN_PASSWORD_FILE``: required by ``setup``
- ``WAREHOUSE_HOME`` (default ``<repo>/var``)
- ``WAREHOUSE_SERVING_PATH`` (default ``$WAREHOUSE_HOME/warehouse/serving.duckdb``)
"""

from __future__ import annotations

import argparse
import importlib.util
import io
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
ASSETS_DIR = HERE / "assets"
CONFIG_PATH = HERE / "superset_config.py"
VENV_BIN = Path(sys.executable).parent
BUNDLE_ROOT = "warehouse_dashboards"
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


def render_bundle(config: ModuleType) -> bytes:
    """Render assets/ into a Superset import zip (deterministic order and content)."""
    replacements = {
        "WAREHOUSE_SERVING_PATH": str(serving_path(config)),
        "SUPERSET_HOME": str(config.SUPERSET_HOME),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for source in sorted(ASSETS_DIR.rglob("*.yaml")):
            document = substitute(yaml.safe_load(source.read_text(encoding="utf-8")), replacements)
            name = f"{BUNDLE_ROOT}/{source.relative_to(ASSETS_DIR).as_posix()}"
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            bundle.writestr(info, yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
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
    from superset.extensions import cache_manager
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
        # The serving file may have been replaced: drop cached chart data.
        cache_manager.data_cache.clear()


# ---------------------------------------------------------------- commands


def cmd_setup(_: argparse.Namespace) -> None:
    config = load_config()
    username, password = admin_username(), admin_password(config)
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
    config = load_config()
    (config.SUPERSET_HOME / "duckdb_tmp").mkdir(parents=True, exist_ok=True)
    do_import(config, create_app(), admin_username())


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
    commands.add_parser("import-dashboards", help="(re)import the dashboard bundle")
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
    "serve": cmd_serve,
}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_environment()
    HANDLERS[args.command](args)


if __name__ == "__main__":
    main()
