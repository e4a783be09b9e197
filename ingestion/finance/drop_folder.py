"""The drop folder: which files are new, which export replaces which, and moving files aside."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ingestion.finance.formats import FILE_SUFFIXES, ExportFile, ExportFormat

PROCESSED = "processed"
REJECTED = "rejected"


def delivered_files(drop_folder: Path) -> list[Path]:
    """Export files lying in the drop folder (not in its subfolders), oldest delivery first."""
    if not drop_folder.is_dir():
        raise FileNotFoundError(f"finance drop folder {drop_folder} does not exist")
    files = [
        path for path in drop_folder.iterdir()
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in FILE_SUFFIXES
    ]
    return sorted(files, key=lambda path: (path.stat().st_mtime_ns, path.name))


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def describe(path: Path, export_format: ExportFormat, period: str, sha256: str) -> ExportFile:
    stat = path.stat()
    return ExportFile(
        path=path, format=export_format, period=period, sha256=sha256, size_bytes=stat.st_size,
        delivered_at=datetime.fromtimestamp(stat.st_mtime, UTC),
    )


def move_aside(path: Path, subfolder: str, sha256: str) -> Path:
    """Move a file into `<drop>/<subfolder>/`, keeping its name unless another file already has it."""
    target_folder = path.parent / subfolder
    target_folder.mkdir(exist_ok=True)
    target = target_folder / path.name
    if target.exists():
        if sha256_of(target) == sha256:
            path.unlink()
            return target
        target = target_folder / f"{path.stem}.{sha256[:12]}{path.suffix}"
    return path.replace(target)


def reject(path: Path, sha256: str, reason: str) -> Path:
    """Move an unreadable file to `<drop>/rejected/` with a `.reason.txt` beside it."""
    target = move_aside(path, REJECTED, sha256)
    target.with_name(f"{target.name}.reason.txt").write_text(
        f"{path.name} (sha256 {sha256}) rejected at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC:\n{reason}\n",
        encoding="utf-8",
    )
    return target


@dataclass
class LoadPlan:
    load: list[ExportFile] = field(default_factory=list)
    superseded: list[tuple[ExportFile, ExportFile]] = field(default_factory=list)  # (file, newer file)
    deferred: list[tuple[ExportFile, ExportFile]] = field(default_factory=list)  # (file, older file it overlaps)


def plan_loads(exports: list[ExportFile]) -> LoadPlan:
    """Decide which new files load in this run; `exports` are ordered oldest delivery first.

    One load may carry each period only once, else a delete-insert merge would insert both files'
    rows. A file whose periods a newer file of the same run covers completely is superseded (never
    read). A file overlapping an older file of this run only partly (a month of a yearly file) is
    deferred to the next run, so that it still replaces that month after the older file loaded.
    """
    plan = LoadPlan()
    claimed: dict[tuple[str, str], ExportFile] = {}
    for position, export in enumerate(exports):
        covering = [
            newer for newer in exports[position + 1:]
            if newer.format is export.format and newer.coverage >= export.coverage
        ]
        if covering:
            plan.superseded.append((export, covering[-1]))
            continue
        keys = {(export.format.kind, key) for key in export.coverage}
        overlapped = [claimed[key] for key in keys if key in claimed]
        if overlapped:
            plan.deferred.append((export, overlapped[0]))
            continue
        claimed.update(dict.fromkeys(keys, export))
        plan.load.append(export)
    return plan
