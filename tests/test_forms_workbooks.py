"""Issued workbooks read back with openpyxl: locking, validation ranges, text IDs, literal
formula-like text, the hidden form sheet, the share prefilled, and governance in a real run."""


import duckdb
import openpyxl
import pytest

import assets.forms
from onceonly.forms.catalogue import catalogue, parse_form
from onceonly.workbooks import (
    LISTS_SHEET,
    META_SHEET,
    FormColumn,
    FormWorkbook,
    write_form_workbook,
)
from tests.forms_fixtures import (
    ALONE,
    OLD,
    SUB_A,
    SUB_B,
    YOUNG,
    land_month,
    new_district,
    run_forms,
)

pytestmark = pytest.mark.xdist_group("forms_workbooks")

EMERGENCY = parse_form({
    "id": "heat_wave_check", "version": "1.0", "title": "高温天气独居老人走访表",
    "department": "区民政局", "basis": "区防汛防台指挥部应急通知", "status": "emergency",
    "approved_on": "2025-10-20", "period": "monthly",
    "rows": {"scope": "subdistrict", "group": "subdistricts", "key": "subdistrict_code"},
    "fields": [
        {"id": "subdistrict_code", "label": "街道代码", "text": True,
         "prefill": {"feed": "household_register", "column": "subdistrict_code"}},
        {"id": "visited", "label": "已走访人数", "entry": {"integer": True, "min": 0}},
    ],
})


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    folder = new_district(tmp_path_factory.mktemp("forms_issue"))
    land_month(folder, "2026-01")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(assets.forms, "catalogue", lambda: (*catalogue(), EMERGENCY))
        jan = run_forms(folder, "2026-01")
        land_month(folder, "2026-02")
        feb = run_forms(folder, "2026-02")
    assert jan.success and feb.success
    return folder, jan, feb


def _book(folder, form_title, sub, period="2026-01"):
    name = f"{form_title}_{sub.name}_{period.replace('-', '')}.xlsx"
    path = folder.exports / period / sub.name / name
    return openpyxl.load_workbook(path)


def _rows(sheet, first=5):
    return [r for r in sheet.iter_rows(min_row=first) if any(c.value is not None for c in r)]


def test_prefilled_cells_are_locked_and_entry_cells_including_blanks_are_not(issued):
    folder, *_ = issued
    sheet = _book(folder, "帮困对象统计表", SUB_A).worksheets[0]
    assert sheet.protection.sheet is True
    rows = _rows(sheet)
    assert [r[0].value for r in rows] == ["JZ0001", "JZ0002"]
    for row in rows:
        assert all(c.protection.locked for c in row[:7])
        assert row[0].fill.fgColor.rgb.endswith("E7E6E6")
        # columns H..L are the worker's, every one of them empty and editable
        assert all(c.value is None and c.protection.locked is False for c in row[7:12])
    sources = [sheet.cell(3, c).value for c in range(1, 13)]
    assert sources[1] == "来源：公安户籍 截至2026-01-31"
    assert sources[4] == "来源：民政救助 截至2026-01-31"
    assert sources[7].startswith("由社区填写")


def test_validations_cover_every_entry_row_and_long_lists_sit_on_a_hidden_sheet(issued):
    folder, *_ = issued
    book = _book(folder, "独居高龄老人关爱名册", SUB_A)
    sheet = book.worksheets[0]
    assert [r[0].value for r in _rows(sheet)] == [OLD, ALONE]  # oldest first
    found = {str(v.sqref): (v.type, v.formula1) for v in sheet.data_validations.dataValidation}
    assert found["L5:L6"][0] == "date"
    assert found["M5:M6"] == ("list", '"良好,一般,较差,卧床,住院"')
    assert found["N5:N6"] == ("list", f"'{LISTS_SHEET}'!$A$1:$A$12")
    lists = book[LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    assert [lists.cell(r, 1).value for r in (1, 12)] == ["无", "其他需求"]

    labour = _book(folder, "劳动力资源街道档案库存量汇总分析表", SUB_B).worksheets[0]
    rules = {str(v.sqref): v for v in labour.data_validations.dataValidation}
    d5 = rules["D5"]
    assert (d5.type, d5.formula1, d5.formula2) == ("whole", "0", "100000")
    first = [c.value for c in _rows(labour)[0][:6]]
    assert first == [SUB_B.code, SUB_B.name, 1001, None, None, None]


def test_ids_are_text_and_come_back_exactly(issued):
    folder, *_ = issued
    sheet = _book(folder, "帮困对象统计表", SUB_A).worksheets[0]
    cells = [r[2] for r in _rows(sheet)]
    assert [c.value for c in cells] == [YOUNG, ALONE]
    assert all(c.data_type == "s" and c.number_format == "@" for c in cells)
    amounts = [r[6] for r in _rows(sheet)]
    assert [(c.value, c.data_type) for c in amounts] == [(1200, "n"), (-200, "n")]


def test_formula_like_text_is_written_as_literal_text(tmp_path):
    columns = [FormColumn("id_number", "公民身份号码", True, text=True, width=21, source="x"),
               FormColumn("remarks", "备注", True, source="x"),
               FormColumn("amount", "救助金额", True, source="x"),
               FormColumn("note", "说明", False)]
    texts = ["=联系不上", "+86 138 0000 0000", "-已迁出", "@张三", "＝核实中"]
    rows = [{"id_number": YOUNG, "remarks": t, "amount": -200.0, "note": t} for t in texts]
    written = write_form_workbook(tmp_path / "t.xlsx", FormWorkbook(
        "测试表", "说明", columns, rows, row_key="id_number",
        meta={"form_id": "t", "form_version": "1"}))
    book = openpyxl.load_workbook(written.path)
    sheet = book.worksheets[0]
    got = [(r[1].value, r[1].data_type, r[3].value, r[3].data_type, r[2].value, r[2].data_type)
           for r in sheet.iter_rows(min_row=5)]
    assert got == [(t, "s", t, "s", -200, "n") for t in texts]
    assert not [c for s in book.worksheets for r in s.iter_rows() for c in r if c.data_type == "f"]
    again = write_form_workbook(tmp_path / "u.xlsx", FormWorkbook(
        "测试表", "说明", columns, rows, row_key="id_number",
        meta={"form_id": "t", "form_version": "1"}))
    assert again.sha256 == written.sha256  # same content, same bytes


def test_hidden_sheet_names_form_version_subdistrict_period_and_rows(issued):
    folder, *_ = issued
    book = _book(folder, "帮困对象统计表", SUB_A)
    meta = book[META_SHEET]
    assert meta.sheet_state == "hidden"
    pairs = {r[0]: r[1] for r in meta.iter_rows(values_only=True) if r[0]}
    assert (pairs["form_id"], pairs["form_version"], pairs["subdistrict_code"],
            pairs["period"], pairs["row_key"]) == ("aid_recipient_roster", "2.0", SUB_A.code,
                                                   "2026-01", "case_no")
    keys = [r[0] for r in meta.iter_rows(values_only=True)]
    assert keys[keys.index("row_keys") + 1:] == ["JZ0001", "JZ0002"]


def test_share_prefilled_is_reported_per_form_and_overall(issued):
    folder, jan, _ = issued
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        shares = dict(conn.execute("SELECT form_id, share FROM forms.prefill_share "
                                   "WHERE period = '2026-01'").fetchall())
    assert shares == {"aid_recipient_roster": 0.5833, "elderly_care_facilities": 0.2941,
                      "elderly_care_list": 0.5294, "labour_archive_stock": 0.5,
                      "heat_wave_check": 0.5}
    meta = jan.asset_materializations_for_node("forms__issued_workbooks")[0].metadata
    assert meta["prefilled_share_overall"].value == round(25 / 54, 4)
    report = openpyxl.load_workbook(folder.reports / "forms" / "表单下发与预填比例_2026-01.xlsx")
    last = list(report["预填比例"].iter_rows(values_only=True))[-1]
    assert last[0] == "合计" and last[2:4] == (54, 25)


def test_retired_and_lapsed_forms_are_reported_not_issued(issued):
    folder, *_ = issued
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        decisions = dict(conn.execute(
            "SELECT period || ' ' || form_id, decision FROM forms.issue_decisions").fetchall())
        logged = set(conn.execute("SELECT DISTINCT period || ' ' || form_id "
                                  "FROM exports.export_log").fetchall())
    retired = ["care_beds", "day_care_centres", "elder_canteens", "meal_points",
               "nursing_homes_basic"]
    for form_id in retired:
        assert decisions[f"2026-01 {form_id}"] == "retired"
        assert (f"2026-01 {form_id}",) not in logged
    assert decisions["2026-01 heat_wave_check"] == "issue"
    assert decisions["2026-02 heat_wave_check"] == "lapsed"  # 90 days after 2025-10-20
    assert ("2026-01 heat_wave_check",) in logged
    assert ("2026-02 heat_wave_check",) not in logged
    assert not list((folder.exports / "2026-02").rglob("高温天气独居老人走访表_*"))
    assert len(list((folder.exports / "2026-02").rglob("*.xlsx"))) == 4 * 12
