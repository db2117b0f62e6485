"""No full ID number leaves the system except in a workbook meant for its own subdistrict.

A full demo run is made in a separate process, as a user would run it; then every line it
printed, every Dagster event and compute log, every report and every quarantine value is
searched for every ID number of the generated district.
"""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest

from onceonly.identity import downgrade_18_to_15

ID_PATTERN = re.compile(rb"(?<![0-9])[1-9][0-9]{14}(?:[0-9]{2}[0-9Xx])?(?![0-9Xx])")
ONCEONLY = Path(sys.executable).parent / "onceonly"


def _ids_in_extracts(inbox: Path) -> set[bytes]:
    """Every ID-shaped value the district's extracts hold, with its legacy 15-digit form."""
    found: set[bytes] = set()
    for path in inbox.iterdir():
        if path.suffix == ".csv":
            raw = path.read_bytes()
            text = raw.decode("utf-8-sig") if not path.name.startswith("户籍人口") else raw.decode(
                "gb18030")
            found |= set(ID_PATTERN.findall(text.encode()))
        elif path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path, read_only=True)
            for sheet in book.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    for cell in row:
                        if isinstance(cell, str):
                            found |= set(ID_PATTERN.findall(cell.encode()))
            book.close()
    for value in list(found):
        text = value.decode()
        if len(text) == 18 and text[6:8] == "19":
            found.add(downgrade_18_to_15(text).encode())
    return {v.upper() for v in found}


def _texts_of(path: Path) -> list[bytes]:
    """The searchable text of a file: xlsx parts unzipped, anything else as bytes."""
    if path.suffix in (".xlsx", ".xlsm"):
        with zipfile.ZipFile(path) as z:
            return [z.read(n) for n in z.namelist() if n.endswith(".xml")]
    return [path.read_bytes()]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy")
    result = subprocess.run(
        [str(ONCEONLY), "demo", "--people", "2000", "--months", "2", "--data-dir", str(root)],
        capture_output=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return root, result.stdout + result.stderr


def test_the_district_has_ids_to_look_for(demo_run):
    root, _ = demo_run
    assert len(_ids_in_extracts(root / "inbox")) > 2000


def test_no_full_id_in_printed_output_logs_events_or_reports(demo_run):
    root, output = demo_run
    ids = _ids_in_extracts(root / "inbox")
    places: list[tuple[str, bytes]] = [("command output", output)]
    for folder in ("dagster", "reports"):
        for path in (root / folder).rglob("*"):
            if path.is_file():
                places += [(str(path.relative_to(root)), t) for t in _texts_of(path)]
    with duckdb.connect(str(root / "warehouse" / "onceonly.duckdb"), read_only=True) as conn:
        masked = conn.execute(
            "SELECT string_agg(coalesce(masked_value, '') || ' ' || coalesce(detail, ''), '\n') "
            "FROM ingest.quarantine").fetchone()[0] or ""
        rejections = conn.execute(
            "SELECT string_agg(coalesce(rejection, ''), '\n') FROM ingest.files").fetchone()[0]
    places += [("ingest.quarantine", masked.encode()), ("ingest.files", (rejections or "").encode())]
    leaks = {
        where for where, text in places
        for token in ID_PATTERN.findall(text) if token.upper() in ids
    }
    assert leaks == set(), f"full ID numbers found in: {sorted(leaks)}"
    assert len(places) > 10


def test_no_workbook_holds_a_formula(demo_run):
    root, _ = demo_run
    books = list((root / "exports").rglob("*.xlsx"))
    assert books
    for path in books:
        for xml in _texts_of(path):
            assert b"<f>" not in xml and b"<f " not in xml, path.name
