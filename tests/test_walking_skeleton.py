"""The whole path on a generated district: extracts in, pool, aid alerts and rosters out.

The generator writes the truth it planted to a folder the pipeline never reads; the alerts the
pipeline raises must equal that truth exactly, both ways, month by month.
"""

import csv
from collections import Counter
from pathlib import Path

import duckdb
import openpyxl
import pytest

from onceonly.identity import read_id
from onceonly.reference import subdistricts
from onceonly.sample_district import generate
from onceonly.settings import data_folder
from pipelines.runner import run_month

MONTHS = ["2026-01", "2026-02", "2026-03"]
ALERT_FIELDS = ("month", "check", "rule", "record_id", "case_no", "person_id_number",
                "relation", "match_method", "subdistrict_code", "event_date")


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    root = tmp_path_factory.mktemp("district")
    folder = data_folder(root).ensure()
    generate(folder.inbox, folder.truth, people=3000, months=3, seed=11)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONCEONLY_DATA_DIR", str(root))
        runs = [run_month(folder, m, log_level="WARNING") for m in MONTHS]
        yield folder, runs


def _alerts(folder, month=None) -> set[tuple]:
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        rows = conn.execute(
            "SELECT period, check_kind, rule, record_id, case_no, person_id_number, relation, "
            "match_method, subdistrict_code, CAST(event_date AS VARCHAR) FROM sentinel.alerts "
            "WHERE ? IS NULL OR period = ?", [month, month]).fetchall()
    return set(rows)


def _truth(folder, month) -> set[tuple]:
    with (folder.truth / "alerts.csv").open(encoding="utf-8") as f:
        return {tuple(r[k] for k in ALERT_FIELDS) for r in csv.DictReader(f) if r["month"] == month}


def test_every_month_runs(district):
    _, runs = district
    assert [r.success for r in runs] == [True, True, True]


@pytest.mark.parametrize("month", MONTHS)
def test_alerts_equal_the_planted_truth(district, month):
    folder, _ = district
    truth = _truth(folder, month)
    raised = _alerts(folder, month)
    assert truth, "the generator planted nothing for this month"
    assert raised - truth == set(), "alerts raised that the truth does not hold"
    assert truth - raised == set(), "planted events the sentinel missed"
    assert {r[2] for r in truth} == {"death", "marriage", "divorce", "moved_out"}


def test_alerts_cover_every_match_method_and_both_checks(district):
    folder, _ = district
    raised = _alerts(folder)
    assert {r[7] for r in raised} == {"exact_id", "upgraded_15", "name_birth_date"}
    assert {r[1] for r in raised} == {"monthly", "enrolment"}


def test_no_alert_repeats_across_months(district):
    folder, _ = district
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        repeats = conn.execute(
            "SELECT rule, record_id, person_id_number, count(*) FROM sentinel.alerts "
            "GROUP BY ALL HAVING count(*) > 1").fetchall()
    assert repeats == []


def test_rerunning_a_month_gives_identical_alerts(district):
    folder, _ = district
    before = _alerts(folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONCEONLY_DATA_DIR", str(folder.root))
        assert run_month(folder, "2026-02", log_level="WARNING").success
    assert _alerts(folder) == before


def test_every_file_reconciles(district):
    folder, _ = district
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        files = conn.execute(
            "SELECT file_name, rows_read, rows_loaded, rows_quarantined, status "
            "FROM ingest.files").fetchall()
    assert len(files) == 22
    for name, read, loaded, quarantined, status in files:
        assert status == "loaded", name
        assert read == loaded + quarantined, name


def _registered_subdistricts(inbox: Path, month: str) -> dict[str, str]:
    """ID -> subdistrict in the latest household register extract up to the month."""
    where: dict[str, str] = {}
    for current in MONTHS[: MONTHS.index(month) + 1]:
        path = inbox / f"户籍人口_{current.replace('-', '')}.csv"
        rows = list(csv.reader(path.read_bytes().decode("gb18030").splitlines()))
        header = rows[0]
        id_col = next(i for i, h in enumerate(header) if h in ("公民身份号码", "身份证号"))
        sub_col = header.index("街道代码")
        where.update({read_id(r[id_col]).normalised: r[sub_col] for r in rows[1:] if r})
    return where


def _active_cases_per_subdistrict(inbox: Path, month: str) -> Counter:
    """Active cases per subdistrict, each where its applicant is registered (the authority),
    or where civil affairs files it when household registration does not know the applicant."""
    registered = _registered_subdistricts(inbox, month)
    book = openpyxl.load_workbook(inbox / f"社会救助对象_{month.replace('-', '')}.xlsx",
                                  read_only=True)
    rows = list(book["救助家庭"].iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r and "救助证编号" in r)
    header = rows[header_at]
    code, status = header.index("街道代码"), header.index("救助状态")
    applicant = header.index("申请人身份证号")
    return Counter(registered.get(read_id(r[applicant]).normalised, r[code])
                   for r in rows[header_at + 1:] if r and r[status] == "在保")


@pytest.mark.parametrize("month", MONTHS)
def test_twelve_rosters_per_month_with_every_active_case(district, month):
    folder, _ = district
    expected = _active_cases_per_subdistrict(folder.inbox, month)
    written = sorted((folder.exports / month).rglob("帮困对象统计表_*.xlsx"))
    assert len(written) == 12
    for sub in subdistricts():
        path = folder.exports / month / sub.name / (
            f"帮困对象统计表_{sub.name}_{month.replace('-', '')}.xlsx")
        sheet = openpyxl.load_workbook(path).worksheets[0]
        ids = [sheet.cell(r, 3) for r in range(5, sheet.max_row + 1) if sheet.cell(r, 1).value]
        assert len(ids) == expected.get(sub.code, 0), sub.name
        for cell in ids:
            assert cell.data_type == "s" and cell.number_format == "@"
            assert len(cell.value) == 18
