"""Superset configuration for the warehouse, read from the environment.

Loaded by Superset through ``SUPERSET_CONFIG_PATH`` (``manage.py`` sets it).

Environment variables:

- ``SUPERSET_SECRET_KEY`` or ``SUPERSET_SECRET_KEY_FILE`` (required; >= 32 characters)
- ``WAREHOUSE_HOME`` (default ``<repo>/var``)
- ``SUPERSET_METADATA_URI`` (default ``sqlite:///$WAREHOUSE_HOME/superset/superset.db``)
- ``SUPERSET_CACHE_REDIS_URL`` (optional, the production profile: e.g. ``redis://127.0.0.1:6379/0``;
  default is a filesystem cache under ``SUPERSET_CACHE_DIR``, default ``$WAREHOUSE_HOME/superset/cache``)
- ``SUPERSET_CACHE_KEY_PREFIX`` (default ``superset``): keeps several instances apart in one Redis
- ``SUPERSET_DATA_CACHE_TIMEOUT`` (seconds, default 86400): chart data is also cleared after every
  publish (``manage.py import-dashboards``), so this is only the upper bound
- ``SUPERSET_LOG_LEVEL`` (default ``WARNING``)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
WAREHOUSE_HOME = Path(os.environ.get("WAREHOUSE_HOME") or REPO_ROOT / "var").resolve()
SUPERSET_HOME = WAREHOUSE_HOME / "superset"

MIN_SECRET_KEY_LENGTH = 32
# Defaults shipped in Superset's code, docs and docker examples: never accept them.
KNOWN_DEFAULT_SECRET_KEYS = frozenset(
    {
        "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET",
        "CHANGE_ME_SECRET_KEY",
        "thisISaSECRET_1234",
        "TEST_NON_DEV_SECRET",
        "YOUR_OWN_RANDOM_GENERATED_SECRET_KEY",
        "\\2\\1thisismyscretkey\\1\\2\\e\\y\\y\\h",
        "\2\1thisismyscretkey\1\2\\e\\y\\y\\h",
    }
)
# Old Superset example keys, written with and without Python escapes.
KNOWN_DEFAULT_SECRET_KEY_PREFIXES = ("\\2dEDwXy", "\2dEDwXy")


class SupersetConfigError(RuntimeError):
    """Raised when the environment does not describe a safe configuration."""


def read_secret(name: str) -> str | None:
    """Return ``$NAME`` or the stripped contents of the file named by ``$NAME_FILE``."""
    value = os.environ.get(name)
    if value:
        return value.strip()
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SupersetConfigError(f"{name}_FILE={file_name} is unreadable: {exc}") from exc
    return None


def load_secret_key() -> str:
    key = read_secret("SUPERSET_SECRET_KEY")
    if not key:
        raise SupersetConfigError(
            "SUPERSET_SECRET_KEY (or SUPERSET_SECRET_KEY_FILE) is not set; "
            "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if key in KNOWN_DEFAULT_SECRET_KEYS or key.startswith(KNOWN_DEFAULT_SECRET_KEY_PREFIXES):
        raise SupersetConfigError("SUPERSET_SECRET_KEY is a published default; generate a new one")
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise SupersetConfigError(
            f"SUPERSET_SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters"
        )
    return key


def cache_config(name: str, timeout: int) -> dict[str, Any]:
    """Redis if ``SUPERSET_CACHE_REDIS_URL`` is set, otherwise a filesystem cache."""
    redis_url = os.environ.get("SUPERSET_CACHE_REDIS_URL")
    if redis_url:
        return {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": f"{CACHE_KEY_PREFIX}_{name}_",
            "CACHE_DEFAULT_TIMEOUT": timeout,
        }
    return {
        "CACHE_TYPE": "FileSystemCache",
        "CACHE_DIR": str(CACHE_DIR / name),
        "CACHE_DEFAULT_TIMEOUT": timeout,
        "CACHE_THRESHOLD": 5000,
    }


SECRET_KEY = load_secret_key()
CACHE_DIR = Path(os.environ.get("SUPERSET_CACHE_DIR") or SUPERSET_HOME / "cache")
CACHE_KEY_PREFIX = os.environ.get("SUPERSET_CACHE_KEY_PREFIX") or "superset"

SQLALCHEMY_DATABASE_URI = os.environ.get(
    "SUPERSET_METADATA_URI", f"sqlite:///{SUPERSET_HOME / 'superset.db'}"
)
DATA_DIR = str(SUPERSET_HOME)

# Caches. Chart data is keyed on the query, not on the data: `manage.py import-dashboards`, which
# the pipeline runs after every publish, clears it (see README.md, "Fresh after publish").
CACHE_CONFIG = cache_config("metadata", timeout=24 * 3600)
DATA_CACHE_CONFIG = cache_config("data", timeout=int(os.environ.get("SUPERSET_DATA_CACHE_TIMEOUT", 24 * 3600)))
FILTER_STATE_CACHE_CONFIG = {
    **cache_config("filter_state", timeout=90 * 24 * 3600),
    "REFRESH_TIMEOUT_ON_RETRIEVAL": True,
}
EXPLORE_FORM_DATA_CACHE_CONFIG = {
    **cache_config("explore", timeout=7 * 24 * 3600),
    "REFRESH_TIMEOUT_ON_RETRIEVAL": True,
}
RATELIMIT_STORAGE_URI = os.environ.get("SUPERSET_CACHE_REDIS_URL") or "memory://"

# Security
WTF_CSRF_ENABLED = True
PREVENT_UNSAFE_DB_CONNECTIONS = True  # Superset 6.1 blocks sqlite/shillelagh; duckdb is allowed
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
# Behind an HTTPS proxy (production) cookies are sent over HTTPS only and HTTP is redirected;
# the embedded default serves plain HTTP on 127.0.0.1, where a secure cookie would never be sent.
BEHIND_HTTPS = os.environ.get("SUPERSET_HTTPS", "").lower() in ("1", "true", "yes")
SESSION_COOKIE_SECURE = BEHIND_HTTPS
ENABLE_PROXY_FIX = BEHIND_HTTPS
TALISMAN_ENABLED = True
# Superset's default CSP minus every third party (telemetry pixel, map tiles, web fonts):
# the browser talks to this server only.
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": BEHIND_HTTPS,
    "session_cookie_secure": BEHIND_HTTPS,
}

FEATURE_FLAGS = {
    # Render every chart on load (the dashboard is small; also needed for screenshots).
    "DASHBOARD_VIRTUALIZATION": False,
    "ALERT_REPORTS": False,
    "THUMBNAILS": False,
    "ENABLE_TEMPLATE_PROCESSING": False,
}

# Presentation
APP_NAME = "Child services warehouse"
# `$` in a D3 format renders this currency (e.g. "$,.0f" -> "1,234,567 DKK").
D3_FORMAT = {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["", " DKK"]}
CURRENCIES = ["DKK", "EUR", "NOK", "SEK", "USD"]
SUPERSET_WEBSERVER_TIMEOUT = 60
SQLLAB_TIMEOUT = 30
ROW_LIMIT = 50_000

# Logging: warnings and errors only unless asked otherwise.
LOG_LEVEL = getattr(
    logging, os.environ.get("SUPERSET_LOG_LEVEL", "WARNING").upper(), logging.WARNING
)
for _noisy in ("shillelagh", "werkzeug", "flask_appbuilder", "superset.utils.logging_configurator"):
    logging.getLogger(_noisy).setLevel(max(LOG_LEVEL, logging.WARNING))
