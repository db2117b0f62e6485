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
    places += [("ingest.quarantine", masked.encode()),
               ("ingest.files", (rejections or "").encode())]
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


def test_every_exported_workbook_holds_only_its_own_subdistricts_residents(demo_run):
    root, _ = demo_run
    from onceonly.privacy import check_isolation

    with duckdb.connect(str(root / "warehouse" / "onceonly.duckdb"), read_only=True) as conn:
        periods = [r[0] for r in conn.execute(
            "SELECT DISTINCT period FROM exports.export_log ORDER BY 1").fetchall()]
        reports = [check_isolation(conn, root, p) for p in periods]
    assert periods == ["2026-01", "2026-02"]
    for report in reports:
        assert len(report.workbooks) >= 36  # rosters, care lists, stock forms, alert lists...
        assert report.people > 50
        assert report.foreign == 0, [w.path for w in report.workbooks if w.foreign]


def test_the_isolation_check_catches_a_workbook_sent_to_the_wrong_subdistrict(demo_run, tmp_path):
    root, _ = demo_run
    from onceonly.privacy import ids_in_workbook
    from onceonly.workbooks import META_SHEET

    roster = next(p for p in (root / "exports" / "2026-01").rglob("帮困对象统计表_*.xlsx")
                  if ids_in_workbook(p)[1])
    book = openpyxl.load_workbook(roster)
    meta = book[META_SHEET]
    for row in meta.iter_rows():
        if row[0].value == "subdistrict_code":
            original = row[1].value
            row[1].value = "310110009" if original != "310110009" else "310110001"
    moved = tmp_path / roster.name
    book.save(moved)
    subdistrict, ids = ids_in_workbook(moved)
    assert subdistrict != original and ids
    with duckdb.connect(str(root / "warehouse" / "onceonly.duckdb"), read_only=True) as conn:
        placed = dict(conn.execute(
            "SELECT id_number, subdistrict_code FROM pool.person_as_of(DATE '2026-01-31') "
            "WHERE id_number IN (SELECT unnest(?))", [sorted(ids)]).fetchall())
    assert placed and all(code == original for code in placed.values())


def test_trail_lists_the_exports_and_alerts_of_a_person_without_printing_the_id(demo_run):
    root, _ = demo_run
    with duckdb.connect(str(root / "warehouse" / "onceonly.duckdb"), read_only=True) as conn:
        person, case_no, period = conn.execute(
            "SELECT a.person_id_number, a.case_no, a.period FROM sentinel.alerts a "
            "JOIN landing.aid_households h ON h.case_no = a.case_no AND h._period = a.period "
            "WHERE h.applicant_id_number = a.person_id_number AND h.status = '在保' "
            "ORDER BY a.alert_id LIMIT 1").fetchone()
    result = subprocess.run([str(ONCEONLY), "trail", person, "--data-dir", str(root)],
                            capture_output=True, timeout=120, check=False)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert person not in out and person[:6] in out
    lines = out.splitlines()
    assert any(" export " in line and "帮困对象统计表" in line and period in line
               for line in lines)
    assert any(" alert " in line and "救助对象预警核实清单" in line for line in lines)

    refused = subprocess.run([str(ONCEONLY), "trail", person[:17] + "0" if person[-1] != "0"
                              else person[:17] + "1", "--data-dir", str(root)],
                             capture_output=True, timeout=120, check=False)
    assert refused.returncode == 1
    assert b"not usable" in refused.stderr


def test_every_file_sent_out_is_in_the_export_log_with_its_hash(demo_run):
    root, _ = demo_run
    import hashlib

    sent = [p for p in (root / "exports").rglob("*.xlsx")]
    sent += [p for folder in ("validation", "corrections")
             for p in (root / "reports" / folder).rglob("*.xlsx")]
    with duckdb.connect(str(root / "warehouse" / "onceonly.duckdb"), read_only=True) as conn:
        logged = dict(conn.execute("SELECT path, sha256 FROM exports.export_log").fetchall())
        incomplete = conn.execute(
            "SELECT count(*) FROM exports.export_log WHERE form_id IS NULL OR row_count IS NULL "
            "OR written_at IS NULL").fetchone()[0]
    assert len(sent) > 60
    assert any("validation" in str(p) for p in sent)
    for path in sent:
        relative = str(path.relative_to(root))
        assert relative in logged, relative
        assert logged[relative] == hashlib.sha256(path.read_bytes()).hexdigest(), relative
    assert incomplete == 0
