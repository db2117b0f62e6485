"""Per subdistrict and month, the aid recipient roster (帮困对象统计表), prefilled."""


import datetime as dt

import dagster as dg

from assets.extracts import landing_key
from assets.partitions import month_bounds, monthly
from assets.pool import person
from onceonly.reference import subdistricts
from onceonly.workbooks import FormColumn, FormWorkbook, write_form_workbook
from pipelines.resources import Warehouse
from warehouse.connection import WAREHOUSE_POOL

ROSTER_FORM_ID = "aid_recipient_roster"
ROSTER_FORM_VERSION = "1.0"
ROSTER_TITLE = "帮困对象统计表"
SITUATIONS = ("正常", "住院", "外出务工", "入住养老机构", "失联", "已死亡", "已迁出", "其他")
RESULTS = ("属实", "信息有误", "需复核")


def roster_columns(hukou_as_of: str, aid_as_of: str) -> list[FormColumn]:
    hukou = f"公安户籍 截至{hukou_as_of}"
    aid = f"民政救助 截至{aid_as_of}"
    return [
        FormColumn("case_no", "救助证编号", True, text=True, width=14, source=aid),
        FormColumn("name", "姓名", True, width=10, source=hukou),
        FormColumn("id_number", "公民身份号码", True, text=True, width=21, source=hukou),
        FormColumn("registered_address", "户籍地址", True, width=36, source=hukou),
        FormColumn("aid_type", "救助类别", True, width=10, source=aid),
        FormColumn("counted_size", "保障人数", True, width=9, source=aid),
        FormColumn("monthly_amount", "月救助金额（元）", True, width=12, source=aid),
        FormColumn("visit_date", "走访日期", False, width=12, date=True),
        FormColumn("situation", "当前情况", False, width=14, choices=SITUATIONS),
        FormColumn("verification", "核实结果", False, width=10, choices=RESULTS),
        FormColumn("remarks", "备注", False, width=24),
    ]


@dg.asset(
    key_prefix=["forms"],
    group_name="forms",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    deps=[landing_key("social_aid"), person],
    kinds={"excel"},
    description="帮困对象统计表: one prefilled workbook per subdistrict for the month's active "
    "aid cases; name, ID and address from household registration.",
)
def aid_recipient_rosters(context: dg.AssetExecutionContext,
                          warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    _, month_end = month_bounds(period)
    folder = warehouse.folder
    with warehouse.writer() as conn:
        cases = conn.execute(
            """
            SELECT h.case_no, coalesce(p.name, h.applicant_name) AS name,
                   h.applicant_id_number AS id_number, p.registered_address, h.aid_type,
                   h.counted_size, h.monthly_amount, h.subdistrict_code
            FROM landing.aid_households h
            LEFT JOIN pool.person p ON p.id_number = h.applicant_id_number
            WHERE h._period = ? AND h.status = '在保'
            ORDER BY h.subdistrict_code, h.case_no
            """,
            [period],
        ).pl()
        hukou_period = conn.execute(
            "SELECT max(_period) FROM landing.household_register WHERE _period <= ?", [period]
        ).fetchone()[0]
        hukou_as_of = month_bounds(hukou_period)[1].isoformat() if hukou_period else "无数据"
        columns = roster_columns(hukou_as_of, month_end.isoformat())
        written = []
        for sub in subdistricts():
            rows = cases.filter(cases["subdistrict_code"] == sub.code).to_dicts()
            for row in rows:
                row["monthly_amount"] = float(row["monthly_amount"] or 0)
            path = (folder.exports / period / sub.name /
                    f"{ROSTER_TITLE}_{sub.name}_{period.replace('-', '')}.xlsx")
            form = FormWorkbook(
                title=f"{sub.name}{ROSTER_TITLE}（{period}）",
                subtitle=f"填报单位：{sub.name}    统计期：{period}    "
                         "灰色单元格为系统预填，请核对；黄色表头列由社区填写。",
                columns=columns, rows=rows, row_key="case_no",
                meta={"form_id": ROSTER_FORM_ID, "form_version": ROSTER_FORM_VERSION,
                      "subdistrict_code": sub.code, "period": period},
            )
            result = write_form_workbook(path, form)
            written.append((sub, result))
        conn.execute("DELETE FROM exports.export_log WHERE form_id = ? AND period = ?",
                     [ROSTER_FORM_ID, period])
        now = dt.datetime.now().replace(microsecond=0)
        conn.executemany(
            "INSERT INTO exports.export_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(str(w.path.relative_to(folder.root)), ROSTER_FORM_ID, ROSTER_FORM_VERSION, sub.code,
              period, w.rows, w.sha256, now) for sub, w in written],
        )
    context.log.info(f"{len(written)} rosters written for {period} under exports/{period}.")
    return dg.MaterializeResult(
        metadata={
            "workbooks": len(written),
            "rows": sum(w.rows for _, w in written),
            "folder": dg.MetadataValue.path(str(folder.exports / period)),
        }
    )
