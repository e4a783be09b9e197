"""Roles, users and row-level security from configuration (``SUPERSET_ACCESS_FILE``).

Three roles:

- ``Leader``: dashboards only. Superset's Gamma role minus SQL Lab (Gamma has none), minus every
  export of row-level data (CSV/XLSX of chart data, dataset samples, drill to detail, "view
  query") and minus editing charts, dashboards and datasets; read access to the warehouse database's datasets.
- ``Analyst``: Gamma plus SQL Lab on the warehouse database, which Superset opens read-only with
  DuckDB's external access disabled (no files, no ATTACH, no extensions).
- ``Admin``: Superset's own (the administrator from ``SUPERSET_ADMIN_*``).

A leader may be scoped to one organisation unit (a school district). Then an extra role
``Leader: <district>`` carries row-level security filters on every warehouse dataset:

- a dataset with the district column: ``<column> = '<district>'``;
- a dataset with a key column listed under ``via``: ``<key> IN (SELECT <key> FROM <table> WHERE
  <column> = '<district>')`` (e.g. client_id through marts.dim_client);
- any other dataset (organisation-wide figures such as the ledger): ``1 = 0``, no rows.

The configuration (YAML) holds no passwords: each user names a file or environment variable::

    row_level_security:
      district:
        column: school_district_name
        via:
          - {key: client_id, table: marts.dim_client}
    users:
      - username: leader_nord
        role: leader
        district: Nordby Nord
        password_file: /run/secrets/leader_nord
      - username: analyst
        role: analyst
        password_env: ANALYST_PASSWORD
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LEADER_ROLE = "Leader"
ANALYST_ROLE = "Analyst"
ADMIN_ROLE = "Admin"
ROLE_NAMES = {"leader": LEADER_ROLE, "analyst": ANALYST_ROLE, "admin": ADMIN_ROLE}
DISTRICT_ROLE_PREFIX = "Leader: "
RLS_NAME_PREFIX = "district "
MIN_PASSWORD_LENGTH = 12
WEAK_PASSWORDS = frozenset({"admin", "password", "changeme", "change_me", "superset", "secret"})

# What a leader must not do, by (permission, view) or by permission on any view.
LEADER_DENIED = {
    ("can_csv", "Superset"),  # CSV/XLSX of chart data (result_format csv/xlsx)
    ("can_samples", "Datasource"),  # row-level samples of a dataset
    ("can_drill", "Dashboard"),  # drill to detail: the rows behind a chart
    ("can_view_query", "Dashboard"),
    ("can_get_drill_info", "Dataset"),
}
LEADER_DENIED_PERMISSIONS = {"can_export", "can_export_csv", "muldelete"}
# Leaders do not edit content; they keep can_write on their own filter state, permalinks and logs.
LEADER_READ_ONLY_VIEWS = {
    "Annotation", "Chart", "CssTemplate", "Dashboard", "Database", "Dataset", "ReportSchedule",
    "Row Level Security", "SavedQuery", "Tag", "Theme",
}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")


class AccessConfigError(ValueError):
    """The access configuration is incomplete or unsafe."""


@dataclass(frozen=True)
class Via:
    key: str
    table: str


@dataclass(frozen=True)
class DistrictRule:
    column: str
    via: tuple[Via, ...]


@dataclass(frozen=True)
class User:
    username: str
    role: str  # a key of ROLE_NAMES
    password: str
    district: str | None
    first_name: str
    last_name: str
    email: str


@dataclass(frozen=True)
class AccessConfig:
    district: DistrictRule
    users: tuple[User, ...]

    @property
    def districts(self) -> list[str]:
        return sorted({user.district for user in self.users if user.district})


DEFAULT_RULE = DistrictRule("school_district_name", (Via("client_id", "marts.dim_client"),))


def _identifier(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise AccessConfigError(f"{what} must be a plain SQL identifier, got {value!r}")
    return value


def _password(entry: dict[str, Any], username: str) -> str:
    if "password" in entry:
        raise AccessConfigError(f"user {username}: put the password in password_file or password_env, not the file")
    password: str | None = None
    if entry.get("password_file"):
        path = Path(str(entry["password_file"]))
        try:
            password = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AccessConfigError(f"user {username}: password_file {path} is unreadable: {exc}") from exc
    elif entry.get("password_env"):
        password = (os.environ.get(str(entry["password_env"])) or "").strip()
    if not password:
        raise AccessConfigError(f"user {username}: no password (password_file or password_env)")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccessConfigError(f"user {username}: password shorter than {MIN_PASSWORD_LENGTH} characters")
    if password.lower() in WEAK_PASSWORDS or password.lower() == username.lower():
        raise AccessConfigError(f"user {username}: password is a default or the user name")
    return password


def parse(document: dict[str, Any] | None) -> AccessConfig:
    document = document or {}
    rule = DEFAULT_RULE
    district = (document.get("row_level_security") or {}).get("district")
    if district:
        rule = DistrictRule(
            column=_identifier(district.get("column"), "row_level_security.district.column"),
            via=tuple(
                Via(_identifier(item.get("key"), "via.key"), str(item.get("table")))
                for item in district.get("via") or []
            ),
        )
        for via in rule.via:
            if not _TABLE.match(via.table):
                raise AccessConfigError(f"via.table must be schema.table, got {via.table!r}")
    users = []
    seen: set[str] = set()
    for entry in document.get("users") or []:
        username = str(entry.get("username") or "")
        if not re.fullmatch(r"[A-Za-z0-9_.@-]{2,64}", username):
            raise AccessConfigError(f"invalid username {username!r}")
        if username in seen:
            raise AccessConfigError(f"user {username} is listed twice")
        seen.add(username)
        role = str(entry.get("role") or "")
        if role not in ROLE_NAMES:
            raise AccessConfigError(f"user {username}: role must be one of {sorted(ROLE_NAMES)}, got {role!r}")
        district_name = entry.get("district")
        if district_name is not None and role != "leader":
            raise AccessConfigError(f"user {username}: only leaders are scoped to a district")
        users.append(
            User(
                username=username,
                role=role,
                password=_password(entry, username),
                district=str(district_name) if district_name else None,
                first_name=str(entry.get("first_name") or username),
                last_name=str(entry.get("last_name") or ROLE_NAMES[role]),
                email=str(entry.get("email") or f"{username}@warehouse.invalid"),
            )
        )
    return AccessConfig(rule, tuple(users))


def load(path: Path | None) -> AccessConfig:
    """The access configuration from ``path`` (``None``: no configured users, default rule)."""
    if path is None:
        return parse(None)
    try:
        return parse(yaml.safe_load(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise AccessConfigError(f"SUPERSET_ACCESS_FILE {path} is unreadable: {exc}") from exc


def access_file() -> Path | None:
    value = os.environ.get("SUPERSET_ACCESS_FILE")
    return Path(value) if value else None


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def district_clause(rule: DistrictRule, columns: set[str], district: str) -> tuple[str, str]:
    """(kind, SQL clause) restricting a dataset with ``columns`` to one district."""
    if rule.column in columns:
        return "column", f"{rule.column} = {_quote(district)}"
    for via in rule.via:
        if via.key in columns:
            return (
                f"via {via.key}",
                f"{via.key} IN (SELECT {via.key} FROM {via.table} WHERE {rule.column} = {_quote(district)})",
            )
    return "none", "1 = 0"


# ---------------------------------------------------------------- applying it to Superset


def _leader_permissions(gamma: list[Any]) -> list[Any]:
    return [
        pvm
        for pvm in gamma
        if (pvm.permission.name, pvm.view_menu.name) not in LEADER_DENIED
        and pvm.permission.name not in LEADER_DENIED_PERMISSIONS
        and not (pvm.permission.name == "can_write" and pvm.view_menu.name in LEADER_READ_ONLY_VIEWS)
    ]


def sync(config: AccessConfig, database_name: str, log: Any) -> None:
    """Create or update roles, users and RLS filters (call inside an app context)."""
    from superset import db, security_manager
    from superset.connectors.sqla.models import RowLevelSecurityFilter, SqlaTable
    from superset.models.core import Database
    from superset.utils.core import RowLevelSecurityFilterType

    database = db.session.query(Database).filter_by(database_name=database_name).one_or_none()
    if database is None:
        raise AccessConfigError(f"database {database_name!r} is not imported")
    gamma = security_manager.find_role("Gamma")
    sql_lab = security_manager.find_role("sql_lab")
    if gamma is None or sql_lab is None:
        raise AccessConfigError("Superset's Gamma/sql_lab roles are missing; run setup")
    database_access = security_manager.add_permission_view_menu("database_access", database.perm)
    schema_access = security_manager.add_permission_view_menu(
        "schema_access", security_manager.get_schema_perm(database.database_name, None, "marts")
    )

    leader = security_manager.add_role(LEADER_ROLE)
    leader.permissions = _leader_permissions(list(gamma.permissions)) + [database_access, schema_access]
    analyst = security_manager.add_role(ANALYST_ROLE)
    analyst_permissions = {pvm.id: pvm for pvm in [*gamma.permissions, *sql_lab.permissions]}
    analyst.permissions = [*analyst_permissions.values(), database_access, schema_access]
    db.session.commit()

    # Row-level security: one filter per district and kind of clause, on every warehouse dataset.
    datasets = db.session.query(SqlaTable).filter_by(database_id=database.id).all()
    # Districts of this configuration and of every district role already in Superset: a run
    # without the access file (or with fewer users) still covers new datasets for those roles.
    districts = set(config.districts) | {
        role.name.removeprefix(DISTRICT_ROLE_PREFIX)
        for role in security_manager.get_all_roles()
        if role.name.startswith(DISTRICT_ROLE_PREFIX)
    }
    wanted: dict[str, tuple[str, str, list[Any]]] = {}
    for district in sorted(districts):
        role = security_manager.add_role(f"{DISTRICT_ROLE_PREFIX}{district}")
        role.permissions = []
        for dataset in datasets:
            columns = {column.column_name for column in dataset.columns}
            kind, clause = district_clause(config.district, columns, district)
            name = f"{RLS_NAME_PREFIX}{district}: {kind}"
            wanted.setdefault(name, (clause, district, []))[2].append(dataset)
    existing = {
        rls.name: rls
        for rls in db.session.query(RowLevelSecurityFilter).all()
        if rls.name.startswith(RLS_NAME_PREFIX)
    }
    for name, rls in existing.items():
        if name not in wanted:
            db.session.delete(rls)
    for name, (clause, district, tables) in wanted.items():
        rls = existing.get(name) or RowLevelSecurityFilter(name=name)
        rls.filter_type = RowLevelSecurityFilterType.REGULAR.value
        rls.group_key = "district"
        rls.clause = clause
        rls.description = f"Leaders of {district} see only {district} (managed by manage.py)"
        rls.tables = tables
        rls.roles = [security_manager.find_role(f"{DISTRICT_ROLE_PREFIX}{district}")]
        db.session.add(rls)
    db.session.commit()

    for user in config.users:
        roles = [security_manager.find_role(ROLE_NAMES[user.role])]
        if user.district:
            roles.append(security_manager.find_role(f"{DISTRICT_ROLE_PREFIX}{user.district}"))
        existing_user = security_manager.find_user(username=user.username)
        if existing_user is None:
            created = security_manager.add_user(
                username=user.username,
                first_name=user.first_name,
                last_name=user.last_name,
                email=user.email,
                role=roles,
                password=user.password,
            )
            if not created:
                raise AccessConfigError(f"could not create user {user.username}")
            log(f"created user {user.username!r} ({', '.join(r.name for r in roles)})")
            continue
        existing_user.roles = roles
        existing_user.active = True
        existing_user.first_name, existing_user.last_name = user.first_name, user.last_name
        security_manager.update_user(existing_user)
        security_manager.reset_password(existing_user.id, user.password)
        log(f"updated user {user.username!r} ({', '.join(r.name for r in roles)})")
    db.session.commit()
    log(f"access: {len(config.users)} configured users, RLS for {len(districts)} districts "
        f"on {len(datasets)} datasets")
