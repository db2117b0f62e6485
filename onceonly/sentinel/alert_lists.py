"""The alert list (预警核实清单) each subdistrict receives for a month, and returns verified.

Prefilled alert facts are locked; the worker picks 核实结果 (确认属实, 误报 or 登记错误) and may
write a 备注. The hidden sheet names the form, version, subdistrict, period and the alert ids,
so a returned list is recognised and each row traced to its alert.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from onceonly.identity import mask_id
from onceonly.reference import Subdistrict, subdistrict_names, subdistricts
from onceonly.workbooks import FormColumn, FormWorkbook, WrittenWorkbook, write_form_workbook

ALERT_LIST_FORM_ID = "aid_alert_list"
ALERT_LIST_VERSION = "1.0"
ALERT_LIST_TITLE = "救助对象预警核实清单"

# What a worker may write in 核实结果, and what it means.
DISPOSITIONS = {"确认属实": "confirmed", "误报": "false_alarm", "登记错误": "registry_error"}

RULE_LABELS = {"death": "死亡", "marriage": "结婚", "divorce": "离婚", "moved_out": "户籍迁出"}
REGISTRY_LABELS = {"death_registry": "死亡登记", "marriage_registry": "婚姻登记",
                   "household_moves": "户籍迁移"}
MATCH_LABELS = {"exact_id": "身份证号一致", "upgraded_15": "15位证号升18位后一致",
                "name_birth_date": "姓名和出生日期一致（证号校验位错误）"}
CERTAINTY_LABELS = {"high": "高", "lower": "较低，请重点核实"}
CHECK_LABELS = {"monthly": "发放前核查", "enrolment": "纳入时核查"}


def alert_list_columns(period: str) -> list[FormColumn]:
    """The columns of the alert list; everything but the last two is prefilled and locked."""
    source = f"电子哨兵 {period}"
    return [
        FormColumn("alert_id", "预警编号", True, text=True, width=22, source=source),
        FormColumn("check_kind", "核查类型", True, width=11, source=source),
        FormColumn("rule", "预警类型", True, width=9, source=source),
        FormColumn("reason_code", "原因代码", True, width=20, source=source),
        FormColumn("case_no", "救助证编号", True, text=True, width=14, source="民政救助"),
        FormColumn("aid_type", "救助类别", True, width=9, source="民政救助"),
        FormColumn("monthly_amount", "月救助金额（元）", True, width=11, source="民政救助"),
        FormColumn("person_name", "姓名", True, width=10, source="民政救助"),
        FormColumn("person_id_number", "公民身份号码", True, text=True, width=21,
                   source="登记机关"),
        FormColumn("relation", "与申请人关系", True, width=10, source="民政救助"),
        FormColumn("event_date", "事件日期", True, width=12, date=True, source="登记机关"),
        FormColumn("registry", "登记来源", True, width=10, source="登记机关"),
        FormColumn("record_id", "登记记录号", True, text=True, width=18, source="登记机关"),
        FormColumn("match_method", "匹配方式", True, width=24, source=source),
        FormColumn("match_certainty", "匹配可信度", True, width=12, source=source),
        FormColumn("disposition", "核实结果", False, width=12, choices=tuple(DISPOSITIONS)),
        FormColumn("note", "备注", False, width=30),
    ]


@dataclass(frozen=True, slots=True)
class WrittenAlertList:
    subdistrict: Subdistrict
    workbook: WrittenWorkbook


def alert_list_path(exports: Path, period: str, sub: Subdistrict) -> Path:
    """Where a subdistrict's alert list for a month is written."""
    return exports / period / sub.name / (
        f"{ALERT_LIST_TITLE}_{sub.name}_{period.replace('-', '')}.xlsx")


def _row(alert: dict) -> dict:
    """An alerts-table row as the worker reads it, with the codes spelled out in Chinese.

    The list goes to the subdistrict that administers the case. A household member registered
    in another subdistrict is shown by relation and masked ID only: a subdistrict sees its own
    residents in full, nobody else's.
    """
    row = dict(alert)
    elsewhere = alert.get("registered_subdistrict_code")
    if elsewhere and elsewhere != alert["subdistrict_code"]:
        row["person_id_number"] = mask_id(alert["person_id_number"])
        row["person_name"] = f"（户籍在{subdistrict_names().get(elsewhere, '外街道')}）"
    row["check_kind"] = CHECK_LABELS.get(alert["check_kind"], alert["check_kind"])
    row["rule"] = RULE_LABELS.get(alert["rule"], alert["rule"])
    row["registry"] = REGISTRY_LABELS.get(alert["registry"], alert["registry"])
    row["match_method"] = MATCH_LABELS.get(alert["match_method"], alert["match_method"])
    row["match_certainty"] = CERTAINTY_LABELS.get(alert["match_certainty"],
                                                  alert["match_certainty"])
    row["monthly_amount"] = float(alert["monthly_amount"] or 0)
    return row


def write_alert_lists(conn: duckdb.DuckDBPyConnection, exports: Path, data_root: Path,
                      period: str) -> list[WrittenAlertList]:
    """Write one alert list per subdistrict for ``period`` and log each in exports.export_log.

    Every subdistrict gets a list, an empty one included, so that 'no alerts this month' is
    something a worker can see rather than a missing file.
    """
    alerts = conn.execute(
        """
        SELECT a.*, p.subdistrict_code AS registered_subdistrict_code
        FROM sentinel.alerts a
        LEFT JOIN pool.person_as_of(last_day(CAST(a.period || '-01' AS DATE))) p
          ON p.id_number = a.person_id_number
        WHERE a.period = ?
        ORDER BY a.subdistrict_code, a.case_no, a.rule, a.alert_id
        """, [period]).pl()
    columns = alert_list_columns(period)
    written: list[WrittenAlertList] = []
    for sub in subdistricts():
        rows = [_row(a) for a in alerts.filter(alerts["subdistrict_code"] == sub.code).to_dicts()]
        form = FormWorkbook(
            title=f"{sub.name}{ALERT_LIST_TITLE}（{period}）",
            subtitle=f"核查单位：{sub.name}    核查月份：{period}    请逐条核实后在“核实结果”列选择"
                     "确认属实、误报或登记错误，必要时填写备注，核实后将本表交回。",
            columns=columns, rows=rows, row_key="alert_id",
            meta={"form_id": ALERT_LIST_FORM_ID, "form_version": ALERT_LIST_VERSION,
                  "subdistrict_code": sub.code, "period": period},
        )
        result = write_form_workbook(alert_list_path(exports, period, sub), form)
        written.append(WrittenAlertList(sub, result))

    conn.execute("DELETE FROM exports.export_log WHERE form_id = ? AND period = ?",
                 [ALERT_LIST_FORM_ID, period])
    now = dt.datetime.now().replace(microsecond=0)
    conn.executemany(
        "INSERT INTO exports.export_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(str(w.workbook.path.relative_to(data_root)), ALERT_LIST_FORM_ID, ALERT_LIST_VERSION,
          w.subdistrict.code, period, w.workbook.rows, w.workbook.sha256, now) for w in written])
    return written
