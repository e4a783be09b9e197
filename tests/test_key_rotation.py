"""Rotating the pseudonymisation key keeps every child's history linked (docs/operations.md).

A copy of the refreshed sample (old key), `python -m orchestration rotate-pseudonym-key`, a refresh
with the new key: every raw pseudonym is the new key's HMAC of the same national id, rows that shared a
person still share one, no old pseudonym is left in any warehouse file after pruning, and the marts
equal those of the old key. A pseudonym the sources no longer deliver stops the rotation unchanged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from ingestion.pseudonymise import PseudonymKey, person_id
from tests.conftest import REPO_ROOT, TEST_PSEUDONYM_KEY, Warehouse, assert_refreshed
from tests.fault_harness import copy_home
from tests.test_personal_data import text_columns

NEW_KEY = "rotated-test-key-fedcba9876543210-0123456789abcdef"
NEW_VERSION = "v2"
# (table, row key, pseudonym column, rows holding a person)
LINKS = (
    ("os2bos.core_case", "id", "person_id", "true"),
    ("os2bos.core_relatedperson", "id", "person_id", "true"),
    ("os2bos.core_payment", "id", "recipient_id", "recipient_type = 'PERSON'"),
    ("case_events.events", "id", "person_id", "person_id IS NOT NULL"),
)


def orchestration(warehouse: Warehouse, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestration", *args], cwd=REPO_ROOT, env=env or warehouse.env,
                          capture_output=True, text=True, timeout=1800)


def pseudonyms(raw: Path) -> dict[tuple[str, str], str]:
    """(table, row key) → pseudonym, for every row holding a person."""
    found = {}
    with duckdb.connect(str(raw), read_only=True) as connection:
        for table, key, column, rows in LINKS:
            for row_key, value in connection.execute(f"SELECT {key}::VARCHAR, {column} FROM {table} WHERE {rows}").fetchall():
                found[(table, row_key)] = value
    return found


def mart_totals(serving: Path) -> tuple:
    with duckdb.connect(str(serving), read_only=True) as connection:
        return connection.execute(
            "SELECT (SELECT count(*) FROM marts.dim_client), (SELECT round(sum(cost_dkk), 2) FROM marts.fct_client_cost),"
            " (SELECT count(DISTINCT client_id) FROM marts.fct_client_cost), (SELECT count(*) FROM marts.fct_case_steps)"
        ).fetchone()


def old_pseudonyms_in(path: Path, old: set[str]) -> list[str]:
    """Every text column of every table in ``path`` that still holds one of the ``old`` pseudonyms."""
    found = []
    with duckdb.connect(str(path), read_only=True) as connection:
        connection.execute("CREATE TEMP TABLE old_ids (id VARCHAR)")
        connection.executemany("INSERT INTO old_ids VALUES (?)", [(value,) for value in old])
        for schema, table, column in text_columns(connection):
            (hits,) = connection.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}" IN (SELECT id FROM old_ids)'
            ).fetchone()
            if hits:
                found.append(f"{path.name}: {schema}.{table}.{column} ({hits})")
    return found


def test_rotation_keeps_history_linked_and_leaves_no_old_pseudonym(published_warehouse: Warehouse,
                                                                  tmp_path: Path) -> None:
    home = copy_home(published_warehouse.home, tmp_path / "home")  # a private copy of the refreshed sample
    env = {**published_warehouse.env, "WAREHOUSE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    warehouse = Warehouse(home=home, env=env, sample=published_warehouse.sample)
    raw = warehouse.home / "warehouse" / "raw.duckdb"
    before = pseudonyms(raw)
    totals_before = mart_totals(warehouse.serving_path)
    assert len(before) > 1000
    key_file = tmp_path / "new_key"
    key_file.write_text(NEW_KEY, encoding="utf-8")
    rotate = ("rotate-pseudonym-key", "--new-key-file", str(key_file), "--new-version", NEW_VERSION)

    # A stored pseudonym no source delivers any more: the rotation refuses and changes nothing.
    with duckdb.connect(str(raw)) as connection:
        connection.execute("CREATE TEMP TABLE stray AS SELECT * FROM case_events.events LIMIT 1")
        connection.execute("UPDATE stray SET id = 'stray-event', person_id = repeat('f', 64)")
        connection.execute("INSERT INTO case_events.events SELECT * FROM stray")
    refused = orchestration(warehouse, *rotate)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "nothing was changed" in refused.stderr and "split their history" in refused.stderr
    with duckdb.connect(str(raw)) as connection:
        connection.execute("DELETE FROM case_events.events WHERE id = 'stray-event'")
    assert pseudonyms(raw) == before

    rotated = orchestration(warehouse, *rotate)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    after = pseudonyms(raw)
    assert after.keys() == before.keys()
    # Linked exactly as before: old → new is a one-to-one renaming of persons.
    renaming = {before[row]: after[row] for row in before}
    assert len(set(renaming.values())) == len(renaming)
    assert all(renaming[before[row]] == after[row] for row in before)
    # ... and each new pseudonym is the new key's HMAC of the child's national id.
    new_key, old_key = PseudonymKey(NEW_KEY.encode(), NEW_VERSION), PseudonymKey(TEST_PSEUDONYM_KEY.encode(), "v1")
    for case in warehouse.sample.rows("core_case"):
        assert after[("os2bos.core_case", str(case["id"]))] == person_id(new_key, case["cpr_number"])
        assert before[("os2bos.core_case", str(case["id"]))] == person_id(old_key, case["cpr_number"])
    with duckdb.connect(str(raw), read_only=True) as connection:
        versions = connection.execute(
            "SELECT DISTINCT pseudonym_key_version FROM os2bos.core_case UNION "
            "SELECT DISTINCT pseudonym_key_version FROM case_events.events WHERE person_id IS NOT NULL"
        ).fetchall()
    assert versions == [(NEW_VERSION,)]

    # The next refresh runs with the new key; the marts are the same, only the pseudonyms changed.
    env = {**warehouse.env, "WAREHOUSE_PSEUDONYM_KEY": NEW_KEY, "WAREHOUSE_PSEUDONYM_KEY_VERSION": NEW_VERSION}
    assert_refreshed(orchestration(warehouse, "refresh", env=env))
    assert mart_totals(warehouse.serving_path) == totals_before
    pruned = orchestration(warehouse, "prune", "--keep", "1", env=env)
    assert pruned.returncode == 0, pruned.stderr
    old = set(before.values())
    leftovers = [hit for path in sorted((warehouse.home / "warehouse").rglob("*.duckdb"))
                 for hit in old_pseudonyms_in(path, old)]
    assert not leftovers, leftovers


def test_rotation_stops_unchanged_when_a_source_is_unreachable_or_the_key_is_not_new(tmp_path: Path) -> None:
    key_file = tmp_path / "new_key"
    key_file.write_text(NEW_KEY, encoding="utf-8")
    env = {**os.environ, "WAREHOUSE_HOME": str(tmp_path / "home"), "WAREHOUSE_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
           "WAREHOUSE_CASE_EVENTS_TOKEN": "unused", "WAREHOUSE_OS2BOS_URL": "postgresql+psycopg2://nobody@127.0.0.1:1/os2bos"}
    raw = tmp_path / "home" / "warehouse" / "raw.duckdb"
    raw.parent.mkdir(parents=True)
    duckdb.connect(str(raw)).close()
    untouched = raw.read_bytes()

    def rotate(new_version: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "orchestration", "rotate-pseudonym-key", "--new-key-file",
                               str(key_file), "--new-version", new_version],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)

    unreachable = rotate(NEW_VERSION)
    assert unreachable.returncode == 1, unreachable.stderr
    assert "nothing was changed: a source could not be read (OperationalError" in unreachable.stderr
    env["WAREHOUSE_OS2BOS_URL"] = "sqlite:///" + str(tmp_path / "empty.sqlite")  # readable, no tables
    env["WAREHOUSE_CASE_EVENTS_URL"] = "http://127.0.0.1:1"
    same_version = rotate("v1")
    assert same_version.returncode == 1, same_version.stderr
    assert "nothing was changed: the new key must have a new version" in same_version.stderr
    assert raw.read_bytes() == untouched
