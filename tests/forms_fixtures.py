"""A tiny district for the forms tests: landing rows and pool persons written straight into a
real DuckDB file, so that every prefilled value is known in advance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from onceonly.pool.history import ensure_pool_tables, rebuild_person_history
from onceonly.reference import subdistricts
from onceonly.settings import DataFolder, data_folder
from pipelines.resources import Warehouse
from warehouse.connection import open_warehouse

SUB_A, SUB_B = subdistricts()[0], subdistricts()[1]
YOUNG = "310110198001011236"       # aid applicant, 46
ALONE = "11010519491231002X"       # lives alone (elderly services), aid applicant too
OLD = "310110193802020025"         # aged 88, in the care list
OTHER = "11010119900307803X"       # aid applicant in subdistrict B
FORMULA_LIKE = ("=联系不上", "+86 138 0000 0000", "-已迁出", "@张三", "＝核实中")

PEOPLE = [  # id, name, sex, birth, address, subdistrict
    (YOUNG, "张三", "男", dt.date(1980, 1, 1), "上海市杨浦区控江路1号", SUB_A.code),
    (ALONE, "李四", "女", dt.date(1949, 12, 31), "上海市杨浦区平凉路2号", SUB_A.code),
    (OLD, "王五", "女", dt.date(1938, 2, 2), "上海市杨浦区长阳路3号", SUB_A.code),
    (OTHER, "赵六", "男", dt.date(1990, 3, 7), "上海市杨浦区大连路4号", SUB_B.code),
]
# case, applicant, type, amount, counted size, subdistrict
CASES = [
    ("JZ0001", YOUNG, "低保", 1200.0, 2, SUB_A.code),
    ("JZ0002", ALONE, "特困供养", -200.0, 1, SUB_A.code),
    ("JZ0003", OTHER, "低收入", 800.5, 3, SUB_B.code),
]


def _lineage(period: str, name: str) -> dict:
    return {"_period": period, "_file_sha256": "f" * 64, "_file_name": name, "_sheet": None,
            "_row_number": 2}


def _insert(conn, table: str, rows: list[dict]) -> None:
    for row in rows:
        cols = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(row.values()))


def land_month(folder: DataFolder, period: str, *, address_of_young: str | None = None,
               aid_type_of_alone: str = "特困供养") -> None:
    """Replace one month's landing rows and refresh the pool persons."""
    people = [list(p) for p in PEOPLE]
    if address_of_young:
        people[0][4] = address_of_young
    with open_warehouse(folder.warehouse) as conn:
        for table in ("household_register", "aid_households", "elderly_services",
                      "labour_archive_changes"):
            conn.execute(f"DELETE FROM landing.{table} WHERE _period = ?", [period])
        _insert(conn, "landing.household_register", [
            {"id_number": i, "id_number_status": "valid", "name": n, "sex": s, "birth_date": b,
             "household_no": f"{h:09d}", "relation_to_head": "户主",
             "registered_address": a, "subdistrict_code": c, "registration_status": "正常",
             **_lineage(period, f"户籍人口_{period}.csv")}
            for h, (i, n, s, b, a, c) in enumerate(people, start=1)])
        _insert(conn, "landing.aid_households", [
            {"case_no": k, "applicant_id_number": i, "applicant_id_number_status": "valid",
             "applicant_name": "x", "aid_type": aid_type_of_alone if i == ALONE else t,
             "monthly_amount": m, "counted_size": z, "subdistrict_code": c, "status": "在保",
             "enrolled_on": dt.date(2024, 1, 1), **_lineage(period, "社会救助对象.xlsx")}
            for k, i, t, m, z, c in CASES])
        _insert(conn, "landing.elderly_services", [
            {"id_number": ALONE, "id_number_status": "valid", "name": "李四",
             "living_situation": "独居", "care_level": "二级",
             "last_visit_date": dt.date(2025, 12, 1), "subdistrict_code": SUB_A.code,
             **_lineage(period, "养老服务对象.xlsx")}])
        _insert(conn, "landing.labour_archive_changes", [
            {"subdistrict_code": s.code, "period": period, "received": 10, "transferred_out": 4,
             **_lineage(period, "劳动力档案变动.csv")} for s in subdistricts()])
        if not conn.execute("SELECT count(*) FROM landing.labour_archive_opening").fetchone()[0]:
            _insert(conn, "landing.labour_archive_opening", [
                {"subdistrict_code": s.code, "as_of": dt.date(2025, 12, 31),
                 "opening_stock": 1000 + n, **_lineage("opening", "劳动力档案期初库存.csv")}
                for n, s in enumerate(subdistricts())])
        # The pool is rebuilt from the landed registers, as the pool/person asset does.
        ensure_pool_tables(conn)
        rebuild_person_history(conn)


def new_district(root: Path) -> DataFolder:
    return data_folder(root).ensure()


def run_forms(folder: DataFolder, period: str) -> dg.ExecuteInProcessResult:
    """Materialise the forms assets for a month, with the labour stock and care list that two
    forms are issued from, as the monthly job does."""
    from assets.elderly_care import elderly_care_list
    from assets.forms import issued_workbooks, returned_workbooks
    from assets.labour_archive import archive_stock

    return dg.materialize([returned_workbooks, archive_stock, elderly_care_list,
                           issued_workbooks], partition_key=period,
                          resources={"warehouse": Warehouse(data_dir=str(folder.root))})
