"""The resource catalogue report (资源目录): each department feed is one catalogue; its fields
are the columns of its contract; its records are the rows the pool holds for it. Feeds whose
latest extract is older than their freshness promise are flagged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import xlsxwriter

from onceonly.contracts import feeds
from onceonly.periods import month_end
from onceonly.pool.registry import field_registry

CATALOGUE_TITLE = "资源目录统计"
# Fixed so that the same catalogue always gives the same bytes.
FIXED_CREATED = dt.datetime(2000, 1, 1)


def report_day(period: str, today: dt.date | None = None) -> dt.date:
    """The day the catalogue is reported for: the month's last day, or today if earlier."""
    today = today or dt.date.today()
    return min(month_end(period), today)


def build_catalogue(conn: duckdb.DuckDBPyConnection, period: str,
                    today: dt.date | None = None) -> pl.DataFrame:
    """Replace the month's rows of pool.catalogue and return them, one row per catalogue."""
    day = report_day(period, today)
    authority_counts: dict[str, int] = {}
    for f in field_registry():
        authority_counts[f.authority.feed] = authority_counts.get(f.authority.feed, 0) + 1

    rows = []
    for contract in feeds():
        tables = [t.name for t in contract.tables]
        records = 0
        periods: list[str] = []
        for table in tables:
            n, last = conn.execute(
                f"""
                SELECT count(*), max(_period) FILTER (_period <> 'opening')
                FROM landing.{table} WHERE _period <= ? OR _period = 'opening'
                """,
                [period],
            ).fetchone()
            records += n
            if last:
                periods.append(last)
        rejected = conn.execute(
            """
            SELECT count(DISTINCT (file_sha256, sheet, row_number)) FROM ingest.quarantine
            WHERE feed = ? AND severity = 'reject' AND (period <= ? OR period = 'opening')
            """,
            [contract.id, period],
        ).fetchone()[0]
        latest = max(periods) if periods else None
        latest_as_of = month_end(latest) if latest else None
        days_old = (day - latest_as_of).days if latest_as_of else None
        rows.append({
            "period": period, "catalogue": contract.name, "feed": contract.id,
            "department": contract.department, "extract_kind": contract.extract_kind,
            "tables": len(tables), "fields": sum(len(t.columns) for t in contract.tables),
            "pool_fields": authority_counts.get(contract.id, 0), "records": records,
            "rows_received": records + rejected, "rows_rejected": rejected,
            "latest_period": latest, "latest_as_of": latest_as_of,
            "freshness_days": contract.freshness_days, "days_old": days_old,
            "stale": days_old is None or days_old > contract.freshness_days,
        })
    frame = pl.DataFrame(rows, schema_overrides={"latest_period": pl.Utf8,
                                                 "latest_as_of": pl.Date,
                                                 "days_old": pl.Int32})
    conn.execute("BEGIN TRANSACTION")
    conn.execute("DELETE FROM pool.catalogue WHERE period = ?", [period])
    conn.register("catalogue_rows", frame)
    conn.execute("INSERT INTO pool.catalogue BY NAME SELECT * FROM catalogue_rows")
    conn.unregister("catalogue_rows")
    conn.execute("COMMIT")
    return frame


def write_catalogue_workbook(frame: pl.DataFrame, period: str, reports: Path) -> Path:
    """The catalogue as an .xlsx for the bureau: a summary sheet and the field list."""
    path = reports / "catalogue" / f"{CATALOGUE_TITLE}_{period.replace('-', '')}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_numbers": False,
                                           "strings_to_urls": False})
    book.set_properties({"created": FIXED_CREATED, "author": "onceonly"})
    bold = book.add_format({"bold": True})
    stale = book.add_format({"bg_color": "#F8CBAD"})
    date = book.add_format({"num_format": "yyyy-mm-dd"})

    sheet = book.add_worksheet("资源目录")
    sheet.write_string(0, 0, f"{CATALOGUE_TITLE}（{period}）", bold)
    headers = ("资源目录", "数据源", "提供部门", "抽取方式", "表数", "字段数", "权威字段数",
               "记录数", "接收行数", "拒收行数", "最新数据期", "数据截至", "更新承诺(天)",
               "已过天数", "是否超期")
    for c, text in enumerate(headers):
        sheet.write_string(2, c, text, bold)
    keys = ("catalogue", "feed", "department", "extract_kind", "tables", "fields",
            "pool_fields", "records", "rows_received", "rows_rejected", "latest_period",
            "latest_as_of", "freshness_days", "days_old")
    r = 3
    for r, row in enumerate(frame.iter_rows(named=True), start=3):
        style = stale if row["stale"] else None
        for c, key in enumerate(keys):
            value = row[key]
            if value is None:
                sheet.write_blank(r, c, None, style)
            elif isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date)
            elif isinstance(value, int):
                sheet.write_number(r, c, value, style)
            else:
                sheet.write_string(r, c, str(value), style)
        sheet.write_string(r, len(keys), "超期" if row["stale"] else "正常", style)
    total = r + 1
    sheet.write_string(total, 0, "合计", bold)
    for c, key in enumerate(keys):
        if key in ("tables", "fields", "pool_fields", "records", "rows_received",
                   "rows_rejected"):
            sheet.write_number(total, c, int(frame[key].sum()), bold)
    sheet.write_number(total, 1, frame.height, bold)  # the number of catalogues
    sheet.set_column(0, 2, 18)
    sheet.set_column(3, len(headers), 11)

    fields = book.add_worksheet("字段")
    field_headers = ("资源目录", "表", "字段", "中文名", "数据类型", "分级", "是否权威来源",
                     "池字段")
    for c, text in enumerate(field_headers):
        fields.write_string(0, c, text, bold)
    authority = {(f.authority.feed, f.authority.table, f.authority.column): f.name
                 for f in field_registry()}
    r = 1
    for contract in feeds():
        for table in contract.tables:
            for column in table.columns:
                pool_field = authority.get((contract.id, table.name, column.name), "")
                for c, text in enumerate((contract.name, table.business_name, column.name,
                                          column.business_name, column.logical_type,
                                          column.pii, "是" if pool_field else "否",
                                          pool_field)):
                    fields.write_string(r, c, text)
                r += 1
    fields.set_column(0, 7, 16)
    book.close()
    return path
