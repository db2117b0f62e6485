"""Alerts and valid warnings by month, rule and subdistrict, with running totals.

A valid warning is an alert the subdistrict confirmed (确认属实). The table is rebuilt whole from
the alerts and the dispositions each time, so it never drifts from them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import xlsxwriter

from onceonly.reference import subdistricts
from onceonly.sentinel.alert_lists import RULE_LABELS

SUMMARY_SQL = """
WITH counted AS (
  SELECT a.period, a.rule, a.subdistrict_code,
         count(*) AS alerts,
         count(*) FILTER (WHERE d.disposition = 'confirmed') AS confirmed,
         count(*) FILTER (WHERE d.disposition = 'false_alarm') AS false_alarms,
         count(*) FILTER (WHERE d.disposition = 'registry_error') AS registry_errors,
         count(*) FILTER (WHERE d.disposition IS NULL) AS awaiting
  FROM sentinel.alerts a LEFT JOIN sentinel.dispositions d USING (alert_id)
  GROUP BY ALL
),
at_stake AS (
  -- A case with several alerts in a month is one payment at stake.
  SELECT period, rule, subdistrict_code, sum(monthly_amount) AS amount
  FROM (SELECT DISTINCT period, rule, subdistrict_code, case_no, monthly_amount
        FROM sentinel.alerts)
  GROUP BY ALL
)
SELECT c.period, c.rule, c.subdistrict_code, c.alerts, c.confirmed, c.false_alarms,
       c.registry_errors, c.awaiting,
       sum(c.alerts) OVER w AS cumulative_alerts,
       sum(c.confirmed) OVER w AS cumulative_confirmed,
       s.amount AS monthly_amount_at_stake
FROM counted c JOIN at_stake s USING (period, rule, subdistrict_code)
WINDOW w AS (PARTITION BY c.rule, c.subdistrict_code ORDER BY c.period
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY c.period, c.rule, c.subdistrict_code
"""

_HEADERS = ("月份", "预警类型", "街道", "预警数", "确认属实（有效预警）", "误报", "登记错误",
            "待核实", "累计预警数", "累计有效预警", "涉及月救助金额（元）")


def rebuild_alert_summary(conn: duckdb.DuckDBPyConnection) -> int:
    """Rebuild sentinel.alert_summary; returns its row count."""
    conn.execute("BEGIN TRANSACTION")
    conn.execute("DELETE FROM sentinel.alert_summary")
    conn.execute(f"INSERT INTO sentinel.alert_summary {SUMMARY_SQL}")
    conn.execute("COMMIT")
    return conn.execute("SELECT count(*) FROM sentinel.alert_summary").fetchone()[0]


def write_alert_summary(conn: duckdb.DuckDBPyConnection, reports: Path, period: str) -> Path:
    """The summary up to ``period`` as a workbook under reports/aid_sentinel/."""
    names = {s.code: s.name for s in subdistricts()}
    rows = conn.execute(
        "SELECT * FROM sentinel.alert_summary WHERE period <= ? "
        "ORDER BY period, rule, subdistrict_code", [period]).fetchall()
    path = reports / "aid_sentinel" / f"救助预警汇总_{period.replace('-', '')}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_numbers": False, "strings_to_urls": False})
    book.set_properties({"created": dt.datetime(2000, 1, 1), "author": "onceonly"})
    sheet = book.add_worksheet("按月按类型按街道")
    bold = book.add_format({"bold": True, "bg_color": "#D9D9D9", "border": 1, "text_wrap": True})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet.write_string(0, 0, f"救助对象电子哨兵预警汇总（截至{period}）", bold)
    for c, h in enumerate(_HEADERS):
        sheet.write_string(2, c, h, bold)
    for r, row in enumerate(rows, start=3):
        month, rule, sub, *counts, amount = row
        sheet.write_string(r, 0, month)
        sheet.write_string(r, 1, RULE_LABELS.get(rule, rule))
        sheet.write_string(r, 2, names.get(sub, sub))
        for c, n in enumerate(counts, start=3):
            sheet.write_number(r, c, int(n))
        sheet.write_number(r, len(_HEADERS) - 1, float(amount or 0), money)
    sheet.set_column(0, len(_HEADERS) - 1, 12)
    sheet.freeze_panes(3, 0)
    book.close()
    return path
