"""The corpus of bad extracts: one small file per kind of trouble, each with its exact outcome.

Every file is built here from code, so each case reads on its own: which rows load (by their
row number in the file), which are quarantined under which rule, which files are rejected with
which message, and that rows read = rows loaded + rows quarantined. No full ID number may
appear in a quarantine row, a report cell, a log line or an error message.
"""

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from onceonly.contracts import Column, FeedContract, TableContract, feed
from onceonly.extracts.ingest import inspect_file, land_table, report_path
from onceonly.extracts.normalise import normalise_table
from onceonly.extracts.reading import ExtractRejected, read_table
from onceonly.extracts.report import write_validation_report
from warehouse.connection import open_warehouse

PROJECT = Path(__file__).resolve().parent.parent
# IDs that pass the GB 11643 check (from the cases file), and one per kind of trouble.
VALID = ["11010119900307803X", "310110198001011236", "440304198506120019", "510107197602030410",
         "11010519491231002X"]
BAD_CHECK = "310110198001011237"  # 310110198001011236 with its last digit mistyped
OLD_COUNTY = "11010319900101123X"  # 110103 (北京崇文区, merged in 2010) is no longer a county
LEGACY_15 = "310110800101123"  # the 15-digit form of 310110198001011236
YANGPU = "310110001"  # 定海路街道


def people_table(*extra: Column, name="people", sheet=None, id_required=True) -> TableContract:
    """A small contract for the reading cases: 姓名 and 身份证号 (also 公民身份号码)."""
    columns = (
        Column("name", "姓名", "string", True, "pii-name", "name"),
        Column("id_number", "身份证号", "string", id_required, "pii-id", "id_number",
               aliases=("公民身份号码", "证件号码"), primary_key=1),
        *extra,
    )
    return TableContract("test_feed", name, "测试名单", f"{name}_*", sheet, columns)


def make_feed(*tables: TableContract) -> FeedContract:
    return FeedContract("test_feed", "测试数据", "测试部门", "测试科", "full", 40, "1.0.0", tables)


def write_csv(path: Path, lines: list[str], encoding="utf-8") -> Path:
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]],
               merges: dict[str, list[str]] | None = None, text_columns=()) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for ref in (merges or {}).get(title, []):
            sheet.merge_cells(ref)
        for letter in text_columns:
            for cell in sheet[letter]:
                cell.number_format = "@"
    book.save(path)
    return path


def outcome_of(path: Path, table: TableContract):
    normalised = normalise_table(read_table(path, table))
    assert normalised.rows_read == normalised.rows_loaded + normalised.rows_quarantined
    return normalised


def rules_by_row(normalised) -> dict[int, list[tuple[str, str, str]]]:
    found: dict[int, list[tuple[str, str, str]]] = {}
    for p in normalised.problems:
        found.setdefault(p.row_number, []).append((p.column, p.rule, p.severity))
    return found


def assert_no_full_id(*texts: object) -> None:
    every_id = VALID + [BAD_CHECK, OLD_COUNTY, LEGACY_15, "110101199013078030"]
    for text in texts:
        for full in every_id:
            assert full not in str(text), f"a full ID number leaked into: {str(text)[:80]}"


# --- Case 1: GB18030 with characters outside GBK and GB2312 -------------------------------------

def test_gb18030_file_keeps_rare_name_characters(tmp_path):
    path = write_csv(tmp_path / "people_202303.csv",
                     ["姓名,身份证号", f"刘䶮,{VALID[0]}", f"王喆,{VALID[1]}"], "gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("gbk")  # the file really is beyond GBK
    normalised = outcome_of(path, people_table())
    assert normalised.raw.encoding == "gb18030"
    assert normalised.loaded["name"].to_list() == ["刘䶮", "王喆"]
    assert normalised.loaded["_row_number"].to_list() == [2, 3]


# --- Case 2: UTF-8 without a BOM must not be read as GB18030 ------------------------------------

def test_utf8_without_bom_is_read_as_utf8(tmp_path):
    path = write_csv(tmp_path / "people_202303.csv", ["姓名,身份证号", f"张三,{VALID[0]}"])
    normalised = outcome_of(path, people_table())
    assert normalised.raw.encoding == "utf-8"
    assert normalised.raw.header.mapping == {0: "name", 1: "id_number"}
    assert normalised.loaded["name"].to_list() == ["张三"]


def test_file_in_neither_encoding_is_rejected_with_byte_offset(tmp_path):
    path = tmp_path / "people_202303.csv"
    # 姓名 in GBK (4 bytes), ",id\n" (4 bytes), then 0xFF, which no encoding here accepts.
    path.write_bytes("姓名".encode("gbk") + b",id\n" + b"\xff\xfe\n")
    with pytest.raises(ExtractRejected) as err:
        read_table(path, people_table())
    assert "people_202303.csv is neither UTF-8 nor GB18030" in str(err.value)
    assert "offset 8" in str(err.value)


def test_garbled_header_is_rejected_not_loaded(tmp_path):
    # UTF-8 text that was re-saved through the wrong code page: the header is mojibake.
    garbled = "姓名,身份证号".encode().decode("gb18030", errors="strict")
    path = write_csv(tmp_path / "people_202303.csv", [garbled, f"张三,{VALID[0]}"])
    with pytest.raises(ExtractRejected, match="no header row was found in the first 30 rows"):
        read_table(path, people_table())


# --- Case 4: a BOM glued to the first header ----------------------------------------------------

def test_bom_is_stripped_and_first_column_resolves_by_plain_name(tmp_path):
    street = Column("subdistrict_name", "街道", "string", False, "public", "text")
    path = tmp_path / "people_202303.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f"姓名,身份证号,街道\n张三,{VALID[0]},定海路街道\n".encode())
    normalised = outcome_of(path, people_table(street))
    assert normalised.raw.encoding == "utf-8-sig"
    assert normalised.raw.header.mapping[0] == "name"
    assert normalised.loaded.row(0, named=True)["name"] == "张三"


# --- Case 5: stray and full-width spaces, full-width digits, lower-case x ------------------------

def test_spaces_full_width_digits_and_lower_case_x_are_normalised(tmp_path):
    path = write_csv(tmp_path / "people_202303.csv", [
        "姓名 ,身份证号\u3000",
        "张三 ,１１０１０１１９９００３０７８０３Ｘ",
        f"李四,{VALID[1]} ",
        f"王五\u00a0,{VALID[4].lower()}",
    ])
    normalised = outcome_of(path, people_table())
    loaded = normalised.loaded
    assert loaded["name"].to_list() == ["张三", "李四", "王五"]
    assert loaded["name_raw"].to_list() == ["张三 ", None, "王五\u00a0"]
    assert loaded["id_number"].to_list() == [VALID[0], VALID[1], VALID[4]]
    assert loaded["id_number_status"].to_list() == ["valid"] * 3
    assert loaded["id_number_raw"].to_list()[0] == "１１０１０１１９９００３０７８０３Ｘ"
    assert normalised.problems == []
    assert normalised.cells_changed == 5  # two names, three IDs


# --- Case 6: leading zeros in 户号 --------------------------------------------------------------

def household_lines(rows: list[tuple[str, str, str, str]]) -> list[str]:
    """Household-register rows: (ID, 户号, 户籍地址, 变更日期)."""
    header = "公民身份号码,姓名,性别,出生日期,户号,与户主关系,户籍地址,街道代码,户籍状态,变更日期"
    lines = [header]
    for id_number, household, address, changed in rows:
        lines.append(f"{id_number},张三,男,1980-01-01,{household},户主,{address},{YANGPU},正常,"
                     f"{changed}")
    return lines


def test_household_numbers_keep_leading_zeros_csv_and_excel(tmp_path):
    register = feed("household_register").tables[0]
    path = write_csv(tmp_path / "户籍人口_202303.csv", household_lines([
        (VALID[0], "000123456", "控江路1号", ""),
        (VALID[1], "004560000", "控江路2号", ""),
        (VALID[2], "000123", "控江路3号", ""),  # six digits: the zeros at the end were lost
    ]))
    normalised = outcome_of(path, register)
    assert normalised.loaded["household_no"].to_list() == ["000123456", "004560000"]
    assert rules_by_row(normalised) == {4: [("household_no", "pattern_mismatch", "reject")]}

    book = tmp_path / "people_202303.xlsx"
    table = people_table(Column("household_no", "户号", "string", True, "personal", "code"))
    write_xlsx(book, {"Sheet1": [["姓名", "身份证号", "户号"], ["张三", VALID[0], "000123"],
                                 ["李四", VALID[1], "004560"]]}, text_columns="C")
    assert outcome_of(book, table).loaded["household_no"].to_list() == ["000123", "004560"]


# --- Case 7: title rows, a 填报单位 row and blank rows above the header --------------------------

def test_title_rows_above_header_keep_original_row_numbers(tmp_path):
    title = ["XX街道2023年低保对象花名册", None, None, None]
    unit = ["填报单位：XX社区  填报日期：2023年3月", None, None, None]
    header = ["序号", "姓名", "身份证号", "地址"]
    address = Column("address", "地址", "string", False, "pii-address", "address")
    path = write_xlsx(tmp_path / "people_202303.xlsx", {
        "一社区": [title, unit, [None] * 4, header, [1, "张三", VALID[0], "控江路1号"],
                  [None] * 4, [2, "李四", VALID[1], "控江路2号"]],
        "二社区": [title, ["（续表）"], unit, [None] * 4, header,
                  [1, "王五", VALID[2], "长阳路3号"]],
        "无表头": [title, ["没有表头的说明文字"], ["张三", VALID[0]]],
    }, merges={"一社区": ["A1:D1"], "二社区": ["A1:D1"]})
    first = outcome_of(path, people_table(address, sheet="一社区"))
    assert first.raw.header.header_row == 4
    assert first.loaded["_row_number"].to_list() == [5, 7]  # the blank row 6 carries no record
    assert first.raw.blank_rows == 1
    assert first.raw.header.extra_columns == ["序号"]
    second = outcome_of(path, people_table(address, sheet="二社区"))
    assert second.loaded["_row_number"].to_list() == [6]
    with pytest.raises(ExtractRejected) as err:
        read_table(path, people_table(address, sheet="无表头"))
    assert str(err.value).startswith("people_202303.xlsx, sheet 无表头: no header row was found")


# --- Case 8: two-row headers with merged group cells ---------------------------------------------

def family_table(sheet: str) -> TableContract:
    def col(name, business, pii, semantic, required=False):
        return Column(name, business, "string", required, pii, semantic)

    return TableContract("test_feed", "families", "家庭", "families_*", sheet, (
        col("case_no", "救助证编号", "public", "code", True),
        col("head_name", "户主信息_姓名", "pii-name", "name", True),
        col("head_id", "户主信息_身份证号", "pii-id", "id_number", True),
        col("member_name", "家庭成员_姓名", "pii-name", "name"),
        col("member_id", "家庭成员_身份证号", "pii-id", "id_number"),
        col("member_relation", "家庭成员_与户主关系", "personal", "text"),
    ))


def test_two_row_merged_header_builds_group_names(tmp_path):
    group = ["序号", "救助证编号", "户主信息", None, "家庭成员", None, None]
    sub = [None, None, "姓名", "身份证号", "姓名", "身份证号", "与户主关系"]
    path = write_xlsx(tmp_path / "families_202303.xlsx", {
        "合并表头": [group, sub, [1, "A001", "张三", VALID[0], "李四", VALID[1], "配偶"],
                     [2, "A002", "王五", VALID[2], None, None, None]],
        "重名表头": [["序号", "救助证编号", "户主信息", None, "家庭成员", None, None], sub,
                     [1, "A001", "张三", VALID[0], "李四", VALID[1], "配偶"]],
    }, merges={"合并表头": ["A1:A2", "B1:B2", "C1:D1", "E1:G1"]})
    normalised = outcome_of(path, family_table("合并表头"))
    assert normalised.raw.header.header_row == 2
    loaded = normalised.loaded
    assert loaded["head_id"].to_list() == [VALID[0], VALID[2]]
    assert loaded["member_id"].to_list() == [VALID[1], None]  # never filled from the row above
    assert loaded["member_relation"].to_list() == ["配偶", None]
    assert normalised.raw.header.extra_columns == ["序号"]
    assert normalised.problems == []
    # Without the merges the second row names 姓名 and 身份证号 twice: that is refused.
    with pytest.raises(ExtractRejected, match="names the column 姓名 twice"):
        read_table(path, people_table(sheet="重名表头"))


# --- Case 9: a date column mixing Excel serials and Chinese text dates ---------------------------

def test_mixed_date_column_and_ambiguous_number(tmp_path):
    born = Column("birth_date", "出生日期", "date", False, "personal", "date")
    values = [44990, "2023年3月5日", "2023.3.5", "2023/03/05", "20230305", None,
              dt.datetime(2023, 3, 5), 1985.1]
    rows = [["姓名", "身份证号", "出生日期"]]
    rows += [[f"人{i}", VALID[i % 5], v] for i, v in enumerate(values)]
    path = write_xlsx(tmp_path / "people_202303.xlsx", {"Sheet1": rows})
    table = TableContract("test_feed", "people", "测试", "people_*", None,
                          (people_table().columns[0],
                           Column("id_number", "身份证号", "string", True, "pii-id", "id_number"),
                           born))
    normalised = outcome_of(path, table)
    day = dt.date(2023, 3, 5)
    assert normalised.loaded["_row_number"].to_list() == [2, 3, 4, 5, 6, 7, 8]
    assert normalised.loaded["birth_date"].to_list() == [day] * 5 + [None, day]
    assert rules_by_row(normalised) == {9: [("birth_date", "date_ambiguous", "reject")]}


# --- Case 10: an empty column, a renamed column and an unknown extra column ----------------------

def test_empty_and_renamed_columns_and_extra_column_kept(tmp_path):
    deaths = feed("death_registry").tables[0]
    header = "死亡登记编号,姓名,身份证号,死亡日期,登记时间,死亡地点"
    january = write_csv(tmp_path / "死亡登记_202301.csv", [
        header, f"D1,张三,{VALID[0]},2023-01-05,2023-01-06 09:00,医院"])
    february = write_csv(tmp_path / "死亡登记_202302.csv", [
        header, f"D2,李四,{VALID[1]},2023-02-05,2023-02-06 09:00,"])
    march = write_csv(tmp_path / "死亡登记_202303.csv", [
        "死亡登记编号,姓名,公民身份号码,死亡日期,登记时间,备注",
        f"D3,王五,{VALID[2]},2023-03-05,2023-03-06 09:00,家属来电"])
    assert outcome_of(january, deaths).loaded["place_of_death"].to_list() == ["医院"]
    empty = outcome_of(february, deaths).loaded
    assert empty["place_of_death"].to_list() == [None]
    renamed = outcome_of(march, deaths)
    assert renamed.raw.header.aliases_used == {"id_number": "公民身份号码"}
    assert renamed.raw.header.extra_columns == ["备注"]
    assert renamed.loaded["id_number"].to_list() == [VALID[2]]

    with open_warehouse(tmp_path / "w.duckdb") as conn:
        land_table(conn, feed("death_registry"), deaths, tmp_path, tmp_path / "staging", "2023-03")
        row = conn.execute("SELECT id_number, place_of_death, _extra, _row_number "
                           "FROM landing.death_registry").fetchone()
        types = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = 'death_registry'").fetchall())
    assert row[0] == VALID[2] and row[1] is None and row[3] == 2
    assert json.loads(row[2]) == {"备注": "家属来电"}
    assert types["death_date"] == "DATE" and types["registered_at"] == "TIMESTAMP"


def test_missing_required_columns_rejected_listing_all_header_findings(tmp_path):
    deaths = feed("death_registry").tables[0]
    path = write_csv(tmp_path / "死亡登记_202303.csv", [
        "死亡登记编号,死者姓名,公民身份号码,备注", f"D3,王五,{VALID[2]},家属来电"])
    with pytest.raises(ExtractRejected) as err:
        read_table(path, deaths)
    message = str(err.value)
    assert "required columns missing: 死亡日期、登记时间" in message
    assert "columns not in the contract, kept as sent: 备注" in message
    assert "死者姓名 read as 姓名" in message and "公民身份号码 read as 身份证号" in message
    assert err.value.header.missing_required == ["death_date", "registered_at"]


# --- Case 11: alias, two bad IDs and an empty name: one report ------------------------------------

def test_alias_bad_ids_and_empty_name_give_one_report(tmp_path):
    table = people_table()
    path = write_csv(tmp_path / "people_202303.csv", [
        "姓名,公民身份号码",
        f"张三,{VALID[0]}",
        "李四,1101011990030",  # 13 characters
        "王五,110101199013078030",  # month 13
        f",{VALID[1]}",  # no name
    ])
    outcomes = inspect_file(path, make_feed(table))
    (outcome,) = outcomes
    assert outcome.aliases_used == {"id_number": "公民身份号码"}
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (4, 1, 3)
    assert rules_by_row(outcome.normalised) == {
        3: [("id_number", "id_malformed", "reject")],
        4: [("id_number", "id_bad_birth_date", "reject")],
        5: [("name", "required_missing", "reject")],
    }
    report = write_validation_report(tmp_path / "report.xlsx", make_feed(table), outcomes)
    book = openpyxl.load_workbook(report)
    problems = [r for r in book["问题清单"].iter_rows(min_row=2, values_only=True)]
    assert [(r[1], r[2], r[3]) for r in problems] == [
        (3, "身份证号", "id_malformed"), (4, "身份证号", "id_bad_birth_date"),
        (5, "姓名", "required_missing")]
    assert all(r[7] for r in problems)  # every problem says what to fix
    assert problems[1][6] == "110101********8030"
    headers = [r for r in book["表头检查"].iter_rows(min_row=2, values_only=True)]
    assert headers == [("people", "使用了别名", "公民身份号码", "已按“身份证号”读取，无需处理")]
    summary = dict(book["概要"].iter_rows(values_only=True))
    assert summary["[people] 隔离行数"] == 3 and summary["[people] 入库行数"] == 1
    assert not any(c.data_type == "f" for ws in book for row in ws.iter_rows() for c in row)
    assert_no_full_id(*[c for ws in book for row in ws.iter_rows(values_only=True) for c in row])


# --- Case 12: the same person twice in one extract -----------------------------------------------

def test_same_person_twice_latest_change_date_wins(tmp_path, caplog):
    register = feed("household_register")
    write_csv(tmp_path / "户籍人口_202303.csv", household_lines([
        (VALID[1], "000123456", "新地址", "2023-03-20"),
        (VALID[0], "000123457", "控江路2号", ""),
        (VALID[1], "000123456", "旧地址", "2023-03-02"),
    ]))
    caplog.set_level(logging.INFO, logger="onceonly")
    with open_warehouse(tmp_path / "w.duckdb") as conn:
        (first,) = land_table(conn, register, register.tables[0], tmp_path, tmp_path / "s",
                              "2023-03")
        (again,) = land_table(conn, register, register.tables[0], tmp_path, tmp_path / "s",
                              "2023-03")
        rows = conn.execute("SELECT id_number, registered_address, _row_number FROM "
                            "landing.household_register ORDER BY _row_number").fetchall()
        quarantine = conn.execute("SELECT row_number, rule, masked_value, detail "
                                  "FROM ingest.quarantine").fetchall()
    assert rows == [(VALID[1], "新地址", 2), (VALID[0], "控江路2号", 3)]
    assert quarantine == [(4, "duplicate_key", "310110********1236", "已由第2行取代")]
    assert (first.rows_read, first.rows_loaded, first.rows_quarantined) == (3, 2, 1)
    assert again.unchanged and again.rows_read == 0
    assert "already loaded; nothing to do" in caplog.text
    assert_no_full_id(caplog.text, quarantine)


# --- Case 14: a zone-aware timestamp lands as local time whatever the server's zone -------------

LAND_DEATHS = """
import sys
from pathlib import Path
from onceonly.contracts import feed
from onceonly.extracts.ingest import land_table
from warehouse.connection import open_warehouse
folder = Path(sys.argv[1])
deaths = feed("death_registry")
with open_warehouse(folder / "w.duckdb") as conn:
    land_table(conn, deaths, deaths.tables[0], folder, folder / "staging", "2023-03")
    print(conn.execute("SELECT CAST(registered_at AS VARCHAR), CAST(death_date AS VARCHAR) "
                       "FROM landing.death_registry").fetchone())
"""


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
def test_zone_aware_timestamp_is_local_time_under_any_server_zone(tmp_path, zone):
    write_csv(tmp_path / "死亡登记_202303.csv", [
        "死亡登记编号,姓名,身份证号,死亡日期,登记时间",
        f"D1,张三,{VALID[0]},2023-03-05,2023-03-05T23:30:00+08:00"])
    env = {**os.environ, "TZ": zone, "PYTHONPATH": str(PROJECT)}
    result = subprocess.run([sys.executable, "-c", LAND_DEATHS, str(tmp_path)], env=env,
                            capture_output=True, text=True, check=True, cwd=PROJECT)
    assert result.stdout.strip() == "('2023-03-05 23:30:00', '2023-03-05')"


# --- ID numbers: legacy, wrong check digit, old county, corrupted by Excel -----------------------

def test_id_number_kinds_land_with_their_status(tmp_path):
    path = write_xlsx(tmp_path / "people_202303.xlsx", {"Sheet1": [
        ["姓名", "身份证号"],
        ["张三", LEGACY_15],
        ["李四", BAD_CHECK],
        ["王五", OLD_COUNTY],
        ["赵六", 310110198001011236],  # typed as a number: Excel kept only 15 significant digits
        ["钱七", VALID[2]],
    ]})
    normalised = outcome_of(path, people_table())
    loaded = normalised.loaded
    assert loaded["_row_number"].to_list() == [2, 3, 4, 6]
    assert loaded["id_number"].to_list() == [VALID[1], BAD_CHECK, OLD_COUNTY, VALID[2]]
    assert loaded["id_number_raw"].to_list()[0] == LEGACY_15  # the original is kept
    assert loaded["id_number_status"].to_list() == [
        "upgraded_from_15", "bad_check_digit", "unknown_county", "valid"]
    assert rules_by_row(normalised) == {
        3: [("id_number", "id_bad_check_digit", "review")],
        4: [("id_number", "id_unknown_county", "warning")],
        5: [("id_number", "id_corrupted_at_source", "reject")],
    }
    corrupted = next(p for p in normalised.problems if p.row_number == 5)
    assert "resend as text" in corrupted.fix
    assert_no_full_id(*(p.masked_value for p in normalised.problems))


# --- Reconciliation, arrival and idempotence -----------------------------------------------------

def aid_workbook(path: Path, amount: object) -> Path:
    households = [["救助证编号", "申请人身份证号", "申请人姓名", "救助类别", "月救助金额",
                   "保障人数", "街道代码", "纳入日期", "救助状态"],
                  ["C001", VALID[0], "张三", "低保", amount, 2, YANGPU, "2022-05-01", "在保"],
                  ["C002", VALID[1], "李四", "低保", 900, 1, YANGPU, "2022-06-01", "在保"]]
    members = [["救助证编号", "成员身份证号", "成员姓名", "与申请人关系", "是否计入保障",
                "出生日期"],
               ["C001", VALID[0], "张三", "本人", "是", "1990-03-07"],
               ["C001", VALID[2], "王五", "配偶", "是", "1985-06-12"],
               ["C002", VALID[1], "李四", "本人", "是", "1980-01-01"]]
    return write_xlsx(path, {"救助家庭": households, "家庭成员": members})


def land_aid(conn, inbox: Path) -> list:
    aid = feed("social_aid")
    return [o for t in aid.tables for o in land_table(conn, aid, t, inbox, inbox / "s", "2023-03")]


def test_workbook_counts_per_sheet_and_corrected_file_supersedes(tmp_path, caplog):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    caplog.set_level(logging.INFO, logger="onceonly")
    path = aid_workbook(inbox / "社会救助对象_202303.xlsx", "八百")  # not a number
    with open_warehouse(tmp_path / "w.duckdb") as conn:
        land_aid(conn, inbox)
        old_sha = conn.execute("SELECT sha256 FROM ingest.files").fetchone()[0]
        per_table = conn.execute("SELECT table_name, rows_read, rows_loaded, rows_quarantined "
                                 "FROM ingest.file_tables ORDER BY table_name").fetchall()
        per_file = conn.execute("SELECT rows_read, rows_loaded, rows_quarantined, status "
                                "FROM ingest.files").fetchone()
        quarantined = conn.execute("SELECT sheet, row_number, column_name, rule "
                                   "FROM ingest.quarantine").fetchall()
        assert per_table == [("aid_households", 2, 1, 1), ("aid_members", 3, 3, 0)]
        assert per_file == (5, 4, 1, "loaded")
        assert quarantined == [("救助家庭", 2, "monthly_amount", "number_unreadable")]

        aid_workbook(path, 800)  # the department resends the file, corrected, same name
        os.utime(path, (0, 0))
        outcomes = land_aid(conn, inbox)
        files = conn.execute("SELECT sha256, status, replaces_sha256, rows_loaded "
                             "FROM ingest.files ORDER BY first_seen_at, status").fetchall()
        amounts = conn.execute("SELECT case_no, monthly_amount FROM landing.aid_households "
                               "ORDER BY case_no").fetchall()
        members = conn.execute("SELECT count(*) FROM landing.aid_members").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM ingest.quarantine").fetchone()[0] == 0
    new_sha = outcomes[0].sha256
    assert {(s, st, r) for s, st, r, _ in files} == {(old_sha, "superseded", None),
                                                     (new_sha, "loaded", old_sha)}
    assert [float(a) for _, a in amounts] == [800.0, 900.0] and members == 3
    assert "corrected version of an earlier file" in caplog.text


def test_a_rejected_resend_keeps_the_months_earlier_rows(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = aid_workbook(inbox / "社会救助对象_202303.xlsx", 800)
    with open_warehouse(tmp_path / "w.duckdb") as conn:
        land_aid(conn, inbox)
        good_sha = conn.execute("SELECT sha256 FROM ingest.files").fetchone()[0]
        path.write_bytes(b"PK\x03\x04 not really a workbook")  # a broken resend, same name
        outcomes = land_aid(conn, inbox)
        households = conn.execute("SELECT count(*) FROM landing.aid_households").fetchone()[0]
        members = conn.execute("SELECT count(*) FROM landing.aid_members").fetchone()[0]
        statuses = dict(conn.execute("SELECT sha256, status FROM ingest.files").fetchall())
    assert all(o.rejection for o in outcomes)
    assert "cannot be opened as an Excel workbook" in outcomes[0].rejection
    assert (households, members) == (2, 3)
    assert statuses[good_sha] == "loaded"
    assert sorted(statuses.values()) == ["loaded", "rejected"]


def test_same_content_under_two_names_loads_once(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first = aid_workbook(inbox / "社会救助对象_202303.xlsx", 800)
    (inbox / "社会救助对象_202303(1).xlsx").write_bytes(first.read_bytes())
    with open_warehouse(tmp_path / "w.duckdb") as conn:
        outcomes = land_aid(conn, inbox)
        count = conn.execute("SELECT count(*) FROM landing.aid_households").fetchone()[0]
    assert count == 2
    # Files are taken in name order, so the copy "(1)" came first and the original is the repeat.
    assert [(o.file_name, o.duplicate_of) for o in outcomes if o.duplicate_of] == [
        ("社会救助对象_202303.xlsx", "社会救助对象_202303(1).xlsx")] * 2


def test_rejected_file_is_recorded_with_its_message_and_report(tmp_path):
    from onceonly.extracts.ingest import land_feed

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "死亡登记_202303.csv").write_bytes(b"\xff\xfe\x00\x01")
    with open_warehouse(tmp_path / "w.duckdb") as conn:
        (outcome,) = land_feed(conn, feed("death_registry"), inbox, tmp_path / "s", "2023-03",
                               tmp_path / "reports")
        status, rejection = conn.execute("SELECT status, rejection FROM ingest.files").fetchone()
    assert status == "rejected"
    assert rejection == outcome.rejection and "offset 0" in rejection
    report = report_path(tmp_path / "reports", "2023-03", "死亡登记_202303.csv")
    book = openpyxl.load_workbook(report)
    assert dict(book["概要"].iter_rows(values_only=True))["结论"].startswith("文件被退回")
    assert list(book["问题清单"].iter_rows(min_row=2, values_only=True))[0][3] == "file_rejected"
