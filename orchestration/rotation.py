"""`python -m orchestration rotate-pseudonym-key`: re-key the raw layer's pseudonyms in one step.

Holds the writer lock, so no refresh writes meanwhile. Reads the configured (old) key from the
settings and the new one from a file, pairs the pseudonyms through the sources' national ids and
rewrites the raw file all or nothing (ingestion/key_rotation.py). The procedure around it (switch
the configuration, refresh, prune the old versions, destroy the old key) is in docs/operations.md.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import requests
import sqlalchemy as sa

from ingestion.case_events import CaseEventsApiError
from ingestion.key_rotation import (
    RotationError,
    case_event_national_ids,
    crosswalk,
    drop_copies_with_old_pseudonyms,
    os2bos_national_ids,
    rewrite_raw,
)
from ingestion.pseudonymise import PseudonymKey
from orchestration.resources import settings
from orchestration.writer_lock import writer_lock

# Reading the national ids failed: the rotation stops before the raw file is opened.
SOURCE_ERRORS = (sa.exc.SQLAlchemyError, requests.RequestException, CaseEventsApiError)


def rotate_pseudonym_key(new_key_file: Path, new_version: str) -> int:
    s = settings()
    try:
        new = PseudonymKey(new_key_file.read_text(encoding="utf-8").strip().encode("utf-8"), new_version)
    except (OSError, ValueError) as error:
        print(f"[rotate] cannot use the new key in {new_key_file}: {error}", file=sys.stderr)
        return 2
    old = s.pseudonym_key()
    with writer_lock(s.writer_lock_path, s.writer_lock_timeout_seconds, holder="the pseudonym key rotation"):
        print(f"[rotate] reading national ids from OS2bos and the case-events API ({s.case_events_url})")
        national_ids = itertools.chain(
            os2bos_national_ids(s.os2bos_url), case_event_national_ids(s.case_events_url, s.case_events_token())
        )
        try:
            pairs = crosswalk(old, new, national_ids)
            print(f"[rotate] {pairs.num_rows} persons; rewriting {s.raw_path} from key {old.version} to {new.version}")
            report = rewrite_raw(s.raw_path, pairs, old.version, new.version, s.duckdb_config())
        except RotationError as error:
            print(f"[rotate] nothing was changed: {error}", file=sys.stderr)
            return 1
        except SOURCE_ERRORS as error:
            print(f"[rotate] nothing was changed: a source could not be read ({type(error).__name__}: {error})",
                  file=sys.stderr)
            return 1
        copies = drop_copies_with_old_pseudonyms(s.dlt_dir, s.quality_dir)
    for column, rows in report.rewritten.items():
        print(f"[rotate]   {column}: {rows} rows re-keyed")
    print(f"[rotate]   dlt staging rows dropped: {report.staging_rows_dropped}; "
          f"files with old pseudonyms deleted (dlt load archives, validation results): {copies}")
    print(
        "[rotate] done. Next: point WAREHOUSE_PSEUDONYM_KEY_FILE at the new key and set "
        f"WAREHOUSE_PSEUDONYM_KEY_VERSION={new.version}, run `python -m orchestration refresh`, then "
        "`python -m orchestration prune --keep 1` and destroy the old key (docs/operations.md)."
    )
    return 0
