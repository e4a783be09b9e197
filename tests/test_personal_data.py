"""No CPR number, personnummer or name from the sample reaches the warehouse files, any file or log
the refresh writes, or anything Superset stores or exports."""

from __future__ import annotations

import gzip
import io
import re
import sqlite3
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO_ROOT, Warehouse
from tests.superset_helpers import SupersetServer, api_session, dataset_ids

pytest_plugins = ["tests.superset_helpers"]

CPR = r"\b[0-3]\d[01]\d\d{2}-?\d{4}\b"
PERSONNUMMER = r"\b(19|20)\d{2}[01]\d[0-3]\d-?\d{4}\b"


def text_columns(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every text column of a table stored in the connected file."""
    return connection.sql(
        "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
        "WHERE c.data_type = 'VARCHAR' AND c.table_catalog = current_database() AND t.table_type = 'BASE TABLE' "
        "ORDER BY ALL"  # views are scanned in the tables they read (a build view may read the raw file)
    ).fetchall()


def _names(warehouse: Warehouse) -> list[str]:
    names = {row["name"] for table in ("core_case", "core_relatedperson") for row in warehouse.sample.rows(table)}
    return sorted(names)


def _findings(path: Path, names: list[str]) -> list[str]:
    names_pattern = "|".join(re.escape(name) for name in names)
    found = []
    with duckdb.connect(str(path), read_only=True) as connection:
        for schema, table, column in text_columns(connection):
            for label, pattern in (("CPR", CPR), ("personnummer", PERSONNUMMER), ("name", names_pattern)):
                (hits,) = connection.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" WHERE regexp_matches("{column}", ?)', [pattern]
                ).fetchone()
                if hits:
                    found.append(f"{path.name}: {schema}.{table}.{column}: {hits} values look like a {label}")
    return found


@pytest.mark.parametrize("file_name", ["raw.duckdb", "serving.duckdb"])
def test_no_personal_identifiers_in_the_warehouse(published_warehouse: Warehouse, file_name: str) -> None:
    names = _names(published_warehouse)
    assert len(names) > 50
    path = published_warehouse.home / "warehouse" / file_name
    assert not _findings(path, names)


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The scanner itself must catch a clear-text CPR, personnummer and name."""
    path = tmp_path / "leaky.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE TABLE leak (note VARCHAR, other VARCHAR)")
        connection.execute("INSERT INTO leak VALUES ('barn 0103264757', 'x'), ('20120304-1234', 'Freja Nielsen')")
    findings = _findings(path, ["Freja Nielsen"])
    assert any("CPR" in f for f in findings)
    assert any("personnummer" in f for f in findings)
    assert any("name" in f for f in findings)


# ------------------------------------------------------------ every file, every log, every export
# The sample's own national ids (CPR numbers, personnummer) and names, read from its source
# systems; a file is scanned for these exact values, so a run id or an amount cannot be mistaken
# for one. Digit runs are compared with dashes removed ("010326-4757" and "0103264757" alike).
ID_CANDIDATE = re.compile(r"(?<!\d)(\d{6}-?\d{4}|\d{8}-?\d{4})(?!\d)")
SOURCE_IDS = {
    "os2bos.sqlite": (
        "SELECT cpr_number FROM core_case UNION SELECT cpr_number FROM core_relatedperson "
        "UNION SELECT recipient_id FROM core_payment WHERE recipient_type = 'PERSON'"
    ),
    "case_events.sqlite": "SELECT DISTINCT national_id FROM events",
}


@dataclass(frozen=True)
class Identities:
    national_ids: frozenset[str]
    name_list: tuple[str, ...]

    @cached_property
    def names(self) -> re.Pattern[str]:
        return re.compile("|".join(re.escape(name) for name in self.name_list))

    def in_text(self, text: str) -> list[str]:
        found = [f"national id {m}" for m in {c.replace("-", "") for c in ID_CANDIDATE.findall(text)} & self.national_ids]
        found += [f"name {m.group(0)!r}" for m in [self.names.search(text)] if m]
        return found


def sample_identities(warehouse: Warehouse) -> Identities:
    national_ids: set[str] = set()
    for file_name, query in SOURCE_IDS.items():
        with sqlite3.connect(warehouse.sources / file_name) as connection:
            national_ids |= {row[0].replace("-", "") for row in connection.execute(query) if row[0]}
    names = _names(warehouse)
    assert len(national_ids) > 100 and len(names) > 50
    return Identities(frozenset(national_ids), tuple(names))


def _parquet_text(path: Path) -> str:
    table = pq.read_table(path)
    return "\n".join(str(value) for column in table.columns if pa.types.is_string(column.type)
                     for value in column.to_pylist() if value is not None)


def file_findings(path: Path, identities: Identities) -> list[str]:
    """What of the sample's identities ``path`` holds: DuckDB columns, Parquet text columns, the
    members of a zip archive, or the bytes of any other file (logs, SQLite, JSON, pickles)."""
    if path.suffix == ".duckdb":
        return _findings(path, list(identities.name_list))
    if path.suffix == ".parquet":
        return [f"{path}: {hit}" for hit in identities.in_text(_parquet_text(path))]
    data = path.read_bytes()
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [f"{path}!{member}: {hit}" for member in archive.namelist()
                    for hit in identities.in_text(archive.read(member).decode("utf-8", "ignore"))]
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return [f"{path}: {hit}" for hit in identities.in_text(data.decode("utf-8", "ignore"))]


def scanned_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file() and not path.name.endswith(".lock"))


def test_no_personal_identifiers_in_any_file_or_log_of_the_run(published_warehouse: Warehouse) -> None:
    """Everything the refresh wrote (warehouse files, dlt's packages and state, Dagster's run and
    compute logs, GX results and Data Docs, the Superset bundle) and dbt's own log, but not the
    sample's source systems, which hold the identities by design."""
    identities = sample_identities(published_warehouse)
    files = [path for path in scanned_files(published_warehouse.home)
             if published_warehouse.sources not in path.parents]
    files += scanned_files(REPO_ROOT / "dbt_project" / "logs")
    assert any(path.suffix == ".parquet" for path in files) and any("compute_logs" in str(path) for path in files)
    findings = [hit for path in files for hit in file_findings(path, identities)]
    assert not findings, findings[:20]


def test_no_personal_identifiers_in_superset_exports_or_logs(published_warehouse: Warehouse,
                                                            superset_server: SupersetServer) -> None:
    """The dashboards' export bundle, a CSV export of every dataset's rows, and everything
    Superset wrote (its metadata database with the query log, caches, server logs)."""
    identities = sample_identities(published_warehouse)
    session = api_session(superset_server)
    dashboards = session.get(f"{superset_server.base_url}/api/v1/dashboard/", timeout=60).json()["result"]
    bundle = session.get(f"{superset_server.base_url}/api/v1/dashboard/export/",
                         params={"q": f"!({','.join(str(d['id']) for d in dashboards)})"}, timeout=120)
    assert bundle.status_code == 200 and len(dashboards) == 6
    exports = {"dashboards.zip": bundle.content}
    for name, dataset_id in dataset_ids(superset_server).items():
        columns = session.get(f"{superset_server.base_url}/api/v1/dataset/{dataset_id}", timeout=60).json()
        column_names = [column["column_name"] for column in columns["result"]["columns"]]
        response = session.post(f"{superset_server.base_url}/api/v1/chart/data", timeout=180, json={
            "datasource": {"id": dataset_id, "type": "table"},
            "queries": [{"columns": column_names, "metrics": [], "orderby": [], "row_limit": 100_000}],
            "result_format": "csv", "result_type": "full",
        })
        assert response.status_code == 200, f"{name}: {response.text[:300]}"
        exports[f"{name}.csv"] = response.content
    assert len(exports) > 10
    work_dir = Path(superset_server.env["SUPERSET_CACHE_DIR"]).parent.parent
    findings = []
    for export_name, content in exports.items():
        path = work_dir / "exports" / export_name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
    for path in scanned_files(work_dir):
        findings += file_findings(path, identities)
    assert not findings, findings[:20]


def test_the_file_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    identities = Identities(frozenset({"0103264757", "201203041234"}), ("Freja Nielsen",))
    (tmp_path / "run.log").write_text("loaded child 010326-4757 for Freja Nielsen; run 1795431095\n")
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        archive.writestr("chart.csv", "id;person\n1;20120304-1234\n")
    pq.write_table(pa.table({"note": ["ok", "barn 0103264757"]}), tmp_path / "package.parquet")
    (tmp_path / "clean.log").write_text("run 1795431095 took 0103264758 ms, amount 20120304123.5\n")
    found = {path.name: file_findings(path, identities) for path in scanned_files(tmp_path)}
    assert len(found["run.log"]) == 2
    assert found["export.zip"] and found["package.parquet"]
    assert found["clean.log"] == []
