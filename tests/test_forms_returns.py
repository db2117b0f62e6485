"""The return path in real Dagster runs: workbooks filled with openpyxl, dropped into the inbox,
checked, reported in Chinese, loaded; correction requests raised and settled by the next
extract; answers offered again next month on every form that asks for them."""

import datetime as dt
import shutil

import duckdb
import openpyxl
import pytest

from onceonly.contracts import feed_for_file
from onceonly.forms.returns import read_meta
from onceonly.workbooks import META_SHEET
from tests.forms_fixtures import ALONE, SUB_A, SUB_B, YOUNG, land_month, new_district, run_forms

pytestmark = pytest.mark.xdist_group("forms_returns")

NEW_ADDRESS = "上海市杨浦区控江路100号"


def _issued(folder, title, sub, period="2026-01"):
    name = f"{title}_{sub.name}_{period.replace('-', '')}.xlsx"
    return folder.exports / period / sub.name / name


def _sheet(folder, title, sub, period):
    return openpyxl.load_workbook(_issued(folder, title, sub, period)).worksheets[0]


def _fill(source, target, edits: dict[str, object], *, meta: dict | None = None):
    shutil.copyfile(source, target)
    book = openpyxl.load_workbook(target)
    sheet = book.worksheets[0]
    for cell, value in edits.items():
        sheet[cell] = value
    if meta:
        for row in book[META_SHEET].iter_rows():
            if row[0].value in meta:
                row[1].value = meta[row[0].value]
    book.save(target)


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    folder = new_district(tmp_path_factory.mktemp("forms_returns"))
    land_month(folder, "2026-01")
    assert run_forms(folder, "2026-01").success
    inbox = folder.inbox
    roster = _issued(folder, "帮困对象统计表", SUB_A)
    _fill(roster, inbox / roster.name, {
        "H5": dt.datetime(2026, 1, 20), "I5": "正常", "J5": "属实", "K5": "13800138000",
        "L5": "=联系不上", "D5": NEW_ADDRESS,
        "H6": dt.datetime(2026, 1, 21), "I6": "住院", "J6": "信息有误", "K6": "13900139000",
        "E6": "低保",
    })
    labour_a = _issued(folder, "劳动力资源街道档案库存量汇总分析表", SUB_A)
    _fill(labour_a, inbox / labour_a.name, {"D5": 20, "E5": 5})
    _fill(labour_a, inbox / f"旧版_{labour_a.name}", {"D5": 20, "E5": 5},
          meta={"form_version": "0.9"})
    labour_b = _issued(folder, "劳动力资源街道档案库存量汇总分析表", SUB_B)
    _fill(labour_b, inbox / labour_b.name, {"D5": -5, "A6": "310110999", "D6": 3, "E6": 1})
    land_month(folder, "2026-02", address_of_young=NEW_ADDRESS)
    feb = run_forms(folder, "2026-02")
    assert feb.success
    return folder, feb


def _query(folder, sql, params=()):
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        return conn.execute(sql, list(params)).fetchall()


def test_returns_are_recognised_by_their_hidden_sheet_not_their_name(district, tmp_path):
    folder, _ = district
    extract = openpyxl.Workbook()
    extract.active.append(["姓名", "身份证号"])
    extract.save(tmp_path / "死亡登记_202601.xlsx")
    assert read_meta(tmp_path / "死亡登记_202601.xlsx") is None
    issued = list(folder.exports.rglob("*.xlsx"))
    assert len(issued) == 2 * 4 * 12
    assert all(feed_for_file(p.name) is None for p in issued)
    assert read_meta(issued[0])["period"] in ("2026-01", "2026-02")


def test_each_return_is_loaded_or_rejected_with_its_reason(district):
    folder, feb = district
    returns = {(name, status, problems, corrections) for name, status, problems, corrections in
               _query(folder, "SELECT file_name, status, problems, corrections "
                              "FROM forms.returns")}
    assert returns == {
        (f"帮困对象统计表_{SUB_A.name}_202601.xlsx", "loaded", 0, 2),
        (f"劳动力资源街道档案库存量汇总分析表_{SUB_A.name}_202601.xlsx", "loaded", 0, 0),
        (f"旧版_劳动力资源街道档案库存量汇总分析表_{SUB_A.name}_202601.xlsx", "rejected", 1, 0),
        (f"劳动力资源街道档案库存量汇总分析表_{SUB_B.name}_202601.xlsx", "rejected", 3, 0),
    }
    meta = feb.asset_materializations_for_node("forms__returned_workbooks")[0].metadata
    assert (meta["returns_loaded"].value, meta["returns_rejected"].value) == (2, 2)


def test_what_workers_entered_is_loaded_with_derived_values(district):
    folder, _ = district
    entered = dict(((k, f), v) for k, f, v in _query(
        folder, "SELECT row_key, field_id, value FROM forms.entered_values "
                "WHERE form_id = 'aid_recipient_roster'"))
    assert entered[("JZ0001", "visit_date")] == "2026-01-20"
    assert entered[("JZ0001", "remarks")] == "=联系不上"
    assert entered[("JZ0002", "situation")] == "住院"
    assert len(entered) == 9  # remarks left empty on the second row is not stored
    labour = dict(_query(folder, "SELECT field_id, number FROM forms.entered_values "
                                 "WHERE form_id = 'labour_archive_stock'"))
    assert labour == {"received": 20, "transferred_out": 5, "closing_stock": 1015}


def test_the_chinese_report_lists_every_problem(district):
    folder, _ = district
    path = (folder.reports / "returns" / "2026-01" /
            f"劳动力资源街道档案库存量汇总分析表_{SUB_B.name}_202601_核对结果.xlsx")
    rows = list(openpyxl.load_workbook(path)["核对结果"].iter_rows(values_only=True))
    assert rows[4][:2] == ("结论", "未接收：有3处问题须修改后重新报送")
    problems = [(r[1], r[3], r[4], r[6]) for r in rows[8:]]
    assert problems == [(5, "本期入库数", "填写不符合规则", "是"),
                        (5, "本期出库数", "必填项未填", "是"), (6, None, "新增了行", "是")]
    assert "范围0到100000" in rows[8][5]
    old = (folder.reports / "returns" / "2026-01" /
           f"旧版_劳动力资源街道档案库存量汇总分析表_{SUB_A.name}_202601_核对结果.xlsx")
    old_rows = list(openpyxl.load_workbook(old)["核对结果"].iter_rows(values_only=True))
    assert old_rows[8][4] == "表单版本不符" and "第0.9版" in old_rows[8][5]
    aid = (folder.reports / "returns" / "2026-01" /
           f"帮困对象统计表_{SUB_A.name}_202601_核对结果.xlsx")
    text = "".join(str(v) for r in openpyxl.load_workbook(aid).active.iter_rows(values_only=True)
                   for v in r if v is not None)
    assert "已接收入库" in text and "预填值被修改（已转更正申请）" in text
    assert YOUNG not in text and NEW_ADDRESS not in text  # no ID or address in the report


def test_changed_prefilled_values_become_correction_requests_settled_by_the_next_extract(
        district):
    folder, _ = district
    requests = _query(folder, "SELECT field_id, department, issued_value, requested_value, "
                              "record_key, status, resolved_period FROM forms.correction_requests "
                              "ORDER BY field_id")
    assert requests == [
        ("aid_type", "民政救助", "特困供养", "低保", "JZ0002", "contradicted", "2026-02"),
        ("registered_address", "公安户籍", "上海市杨浦区控江路1号", NEW_ADDRESS, YOUNG,
         "confirmed", "2026-02"),
    ]
    # the worker's value never replaced the pool's: February still says 特困供养
    sheet = _sheet(folder, "帮困对象统计表", SUB_A, "2026-02")
    assert sheet["E6"].value == "特困供养"


def test_answers_are_offered_again_next_month_on_every_form_asking(district):
    folder, _ = district
    roster = _sheet(folder, "帮困对象统计表", SUB_A, "2026-02")
    assert (roster["K5"].value, roster["K5"].protection.locked) == ("13800138000", False)
    assert roster["H5"].value is None  # a visit date is asked again every month
    care = openpyxl.load_workbook(_issued(folder, "独居高龄老人关爱名册", SUB_A, "2026-02"))
    row = next(r for r in care.worksheets[0].iter_rows(min_row=5) if r[0].value == ALONE)
    assert (row[9].value, row[9].data_type) == ("13900139000", "s")


def test_stock_is_carried_from_the_returned_form_or_else_the_extract(district):
    folder, _ = district
    a = openpyxl.load_workbook(
        _issued(folder, "劳动力资源街道档案库存量汇总分析表", SUB_A, "2026-02")).worksheets[0]
    b = openpyxl.load_workbook(
        _issued(folder, "劳动力资源街道档案库存量汇总分析表", SUB_B, "2026-02")).worksheets[0]
    assert a["C5"].value == 1000 + 20 - 5  # the loaded return
    assert b["C5"].value == 1001 + 10 - 4  # the rejected return is not used; the extract is


def test_rerunning_a_month_reads_no_return_twice(district):
    folder, _ = district
    before = _query(folder, "SELECT count(*) FROM forms.entered_values")
    again = run_forms(folder, "2026-02")
    meta = again.asset_materializations_for_node("forms__returned_workbooks")[0].metadata
    assert meta["returns_already_seen"].value == 4
    assert meta["returns_loaded"].value == 0
    assert _query(folder, "SELECT count(*) FROM forms.entered_values") == before
    assert _query(folder, "SELECT count(*) FROM forms.correction_requests") == [(2,)]
