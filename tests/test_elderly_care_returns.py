"""A subdistrict removes someone from its care list, and adds someone, through the returned
workbook, through the forms return path in real Dagster runs; the decisions hold after."""

import shutil

import duckdb
import openpyxl
import pytest

from tests.forms_fixtures import (
    ALONE,
    OLD,
    SUB_A,
    YOUNG,
    land_month,
    new_district,
    run_forms,
)

# One worker runs the whole module: the tests share one warehouse and Dagster instance.
pytestmark = pytest.mark.xdist_group("elderly_care_returns")
TITLE = "独居高龄老人关爱名册"
REASON = "已长期入住子女家（外区）"
ADD_REASON = "独自照护失能配偶，需定期探访"


def _issued(folder, period):
    name = f"{TITLE}_{SUB_A.name}_{period.replace('-', '')}.xlsx"
    return folder.exports / period / SUB_A.name / name


def _listed(folder, period) -> dict[str, str]:
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        return dict(conn.execute(
            "SELECT id_number, change_mark FROM care.care_list WHERE period = ? "
            "AND subdistrict_code = ?", [period, SUB_A.code]).fetchall())


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    folder = new_district(tmp_path_factory.mktemp("care_returns"))
    land_month(folder, "2026-01")
    assert run_forms(folder, "2026-01").success
    issued = _issued(folder, "2026-01")
    returned = folder.inbox / issued.name
    shutil.copyfile(issued, returned)
    book = openpyxl.load_workbook(returned)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[4]]
    column = {label: i + 1 for i, label in enumerate(header)}
    for row in sheet.iter_rows(min_row=5):
        if row[0].value is None:
            continue
        sheet.cell(row[0].row, column["本月探访日期"], "2026-01-20")
        sheet.cell(row[0].row, column["健康状况"], "一般")
        if row[0].value == OLD:
            sheet.cell(row[0].row, column["名册调整"], "移出名册")
            sheet.cell(row[0].row, column["调整原因"], REASON)
    # A person the rules leave off, added by the subdistrict in a new row at the bottom.
    added = sheet.max_row + 1
    sheet.cell(added, column["公民身份号码"], YOUNG)
    sheet.cell(added, column["名册调整"], "添加入册")
    sheet.cell(added, column["调整原因"], ADD_REASON)
    book.save(returned)
    runs = {}
    for period in ("2026-02", "2026-03"):
        land_month(folder, period)
        runs[period] = run_forms(folder, period)
    return folder, runs


def test_the_returned_decision_takes_the_person_off_from_the_next_month(district):
    folder, runs = district
    assert all(r.success for r in runs.values())
    assert set(_listed(folder, "2026-01")) == {ALONE, OLD}
    assert _listed(folder, "2026-02") == {ALONE: "继续", YOUNG: "新增"}
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        departures = conn.execute(
            "SELECT period, id_number, reason FROM care.care_list_departures").fetchall()
        decision = conn.execute(
            "SELECT subdistrict_code, valid_from, decision, reason FROM care.list_decisions"
        ).fetchall()
    assert departures == [("2026-02", OLD, f"街道移出：{REASON}")]
    assert sorted(decision) == [(SUB_A.code, "2026-02", "add", ADD_REASON),
                                (SUB_A.code, "2026-02", "remove", REASON)]
    meta = runs["2026-02"].asset_materializations_for_node("care__elderly_care_list")[0].metadata
    assert meta["returned_decisions_recorded"].value == 2


def test_the_decision_holds_in_later_months_and_the_issued_form_follows_the_list(district):
    folder, _ = district
    assert _listed(folder, "2026-03") == {ALONE: "继续", YOUNG: "继续"}
    sheet = openpyxl.load_workbook(_issued(folder, "2026-03")).worksheets[0]
    ids = [r[0].value for r in sheet.iter_rows(min_row=5) if r[0].value]
    assert sorted(ids) == sorted([ALONE, YOUNG])
