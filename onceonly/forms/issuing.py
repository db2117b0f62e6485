"""Issuing forms with data (带数下发): one prefilled workbook per form, subdistrict and month.

Prefilled cells come from the form's target group (the pool and landing tables, each column from
its authoritative department, with the as-of date of that department's latest extract). A
hand-entry field that a worker already answered in an earlier month, on any form asking for the
same thing, is offered again with that answer. What each workbook said is kept in
``forms.issued_cells`` so that a return can be compared with what was issued.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from onceonly.contracts import feed_for_file, feeds
from onceonly.forms.catalogue import FormDefinition, FormField
from onceonly.forms.formulas import evaluate_formula
from onceonly.forms.groups import group_rows
from onceonly.forms.store import ensure_forms_tables
from onceonly.forms.values import as_number, canonical_text
from onceonly.periods import month_end
from onceonly.reference import subdistricts
from onceonly.settings import DataFolder
from onceonly.workbooks import FormColumn, FormWorkbook, WrittenWorkbook, write_form_workbook

log = logging.getLogger("onceonly.forms")

# Open bounds for a numeric rule that states only one side.
NUMBER_FLOOR, NUMBER_CEILING = -1e12, 1e12
# A prefix that keeps an issued file from ever matching a department's extract pattern.
SAFE_PREFIX = "带数下发_"


@dataclass(frozen=True, slots=True)
class IssuedWorkbook:
    """One workbook written for a subdistrict."""

    form_id: str
    subdistrict_code: str
    written: WrittenWorkbook


def feed_as_of(conn: duckdb.DuckDBPyConnection, period: str) -> dict[str, dt.date | None]:
    """Per feed, the last day of its latest landed month at or before ``period``."""
    as_of: dict[str, dt.date | None] = {}
    for feed in feeds():
        latest = None
        for table in feed.tables:
            found = conn.execute(
                f"SELECT max(_period) FROM landing.{table.name} "
                "WHERE _period <= ? AND _period LIKE '____-__'", [period]).fetchone()[0]
            latest = max(filter(None, (latest, found)), default=None)
        as_of[feed.id] = month_end(latest) if latest else None
    return as_of


def form_columns(form: FormDefinition, as_of: dict[str, dt.date | None]) -> list[FormColumn]:
    """The workbook columns of a form, each prefilled one naming its department and date."""
    columns = []
    for f in form.fields:
        if f.kind == "prefilled":
            when = as_of.get(f.source.feed)
            source = f"{f.source.department} 截至{when.isoformat() if when else '（尚无数据）'}"
            columns.append(FormColumn(f.id, f.label, True, text=f.text, width=f.width,
                                      source=source, date=f.date, note=f.note))
        elif f.kind == "derived":
            columns.append(FormColumn(f.id, f.label, True, text=f.text, width=f.width,
                                      source=f"系统计算：{f.formula}", date=f.date, note=f.note))
        else:
            rule = f.rule
            number_range = None
            if rule.numeric:
                number_range = (NUMBER_FLOOR if rule.minimum is None else rule.minimum,
                                NUMBER_CEILING if rule.maximum is None else rule.maximum)
            note = "必填" if rule.required else ""
            if rule.reuse:
                note = "；".join(filter(None, (note, "已填过的沿用上期，如有变化请修改")))
            columns.append(FormColumn(f.id, f.label, False, text=f.text, width=f.width,
                                      choices=rule.choices, date=f.date,
                                      number_range=number_range, integer=rule.integer,
                                      note="；".join(filter(None, (note, f.note)))))
    return columns


def reused_answers(conn: duckdb.DuckDBPyConnection, form: FormDefinition,
                   period: str) -> dict[tuple[str, str], object]:
    """(subject, concept) -> the latest answer a worker gave before ``period``, on any form."""
    concepts = [f.concept for f in form.entered if f.rule.reuse]
    if not concepts:
        return {}
    rows = conn.execute(
        """
        SELECT subject_key, concept, arg_max(value, period || loaded_at::VARCHAR) AS value
        FROM forms.entered_values
        WHERE period < ? AND concept IN (SELECT unnest(?)) AND subject_key IS NOT NULL
          AND value IS NOT NULL
        GROUP BY ALL
        """,
        [period, concepts],
    ).fetchall()
    return {(subject, concept): value for subject, concept, value in rows}


def _plain(value: object) -> object:
    """Group values as the workbook writer takes them: Decimals become numbers."""
    if isinstance(value, Decimal):
        return as_number(value)
    return value


def form_rows(form: FormDefinition, group: Sequence[dict], reused: dict) -> list[dict]:
    """The rows of one workbook: prefilled values, answers offered again, derived values."""
    rows = []
    for source_row in group:
        row: dict[str, object] = {}
        for f in form.prefilled:
            row[f.id] = _plain(source_row.get(f.source.group_column))
        subject = canonical_text(row.get(form.subject))
        for f in form.entered:
            if f.rule.reuse and subject is not None:
                row[f.id] = reused.get((subject, f.concept))
        for f in form.derived:
            row[f.id] = evaluate_formula(f.formula, row)
        rows.append(row)
    return rows


def issued_file_name(form: FormDefinition, subdistrict_name: str, period: str) -> str:
    """A name a person recognises, that never matches a department extract's file pattern."""
    name = f"{form.title}_{subdistrict_name}_{period.replace('-', '')}.xlsx"
    return name if feed_for_file(name) is None else SAFE_PREFIX + name


def issue_form(conn: duckdb.DuckDBPyConnection, folder: DataFolder, form: FormDefinition,
               period: str, *, as_of: dict[str, dt.date | None] | None = None
               ) -> list[IssuedWorkbook]:
    """Write the form's workbooks for every subdistrict and record what they said."""
    ensure_forms_tables(conn)
    as_of = as_of if as_of is not None else feed_as_of(conn, period)
    group = group_rows(conn, form.group, period)
    reused = reused_answers(conn, form, period)
    columns = form_columns(form, as_of)
    kept = [f for f in form.fields if f.kind in ("prefilled", "derived")]
    issued: list[IssuedWorkbook] = []
    cells: list[tuple] = []
    for sub in subdistricts():
        in_sub = group.filter(group["subdistrict_code"] == sub.code).to_dicts()
        rows = form_rows(form, in_sub, reused)
        path = folder.exports / period / sub.name / issued_file_name(form, sub.name, period)
        book = FormWorkbook(
            title=f"{sub.name}{form.title}（{period}）",
            subtitle=f"填报单位：{sub.name}    统计期：{period}    发文部门：{form.department}    "
                     "灰色单元格为系统预填，请核对，如有错误请在备注说明或直接修改（将转为更正申请）；"
                     "黄色表头列由社区填写。",
            columns=columns, rows=rows, row_key=form.row_key, sheet=form.title,
            meta={"form_id": form.id, "form_version": form.version, "form_title": form.title,
                  "subdistrict_code": sub.code, "subdistrict_name": sub.name, "period": period},
        )
        written = write_form_workbook(path, book)
        issued.append(IssuedWorkbook(form.id, sub.code, written))
        for row in rows:
            key = canonical_text(row.get(form.row_key))
            cells += [(form.id, form.version, sub.code, period, key, f.id,
                       canonical_text(row.get(f.id))) for f in kept]

    conn.execute("BEGIN TRANSACTION")
    conn.execute("DELETE FROM forms.issued_cells WHERE form_id = ? AND period = ?",
                 [form.id, period])
    if cells:
        # One columnar insert: executemany runs a statement per cell, minutes at district scale.
        names = ("form_id", "form_version", "subdistrict_code", "period", "row_key", "field_id",
                 "value")
        frame = pl.DataFrame([list(c) for c in zip(*cells, strict=True)],
                             schema=dict.fromkeys(names, pl.Utf8), orient="col")
        conn.register("issued_cells_incoming", frame.to_arrow())
        conn.execute("INSERT INTO forms.issued_cells SELECT * FROM issued_cells_incoming")
        conn.unregister("issued_cells_incoming")
    conn.execute("DELETE FROM exports.export_log WHERE form_id = ? AND period = ?",
                 [form.id, period])
    now = dt.datetime.now().replace(microsecond=0)
    conn.executemany(
        "INSERT INTO exports.export_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(str(i.written.path.relative_to(folder.root)), form.id, form.version,
          i.subdistrict_code, period, i.written.rows, i.written.sha256, now) for i in issued],
    )
    conn.execute("COMMIT")
    return issued


def prefill_share(forms: Iterable[FormDefinition]) -> tuple[list[dict], float]:
    """Per form the counts of fields by kind and the share prefilled, and the overall share."""
    rows = []
    for f in forms:
        rows.append({"form_id": f.id, "form_version": f.version, "title": f.title,
                     "fields": len(f.fields), "prefilled": len(f.prefilled),
                     "derived": len(f.derived), "entered": len(f.entered),
                     "share": round(f.prefilled_share, 4)})
    total = sum(r["fields"] for r in rows)
    overall = sum(r["prefilled"] for r in rows) / total if total else 0.0
    return rows, round(overall, 4)


def field_kind_label(f: FormField) -> str:
    return {"prefilled": "预填", "derived": "计算", "entry": "填报"}[f.kind]


def write_catalogue_report(path: Path, period: str, decisions: Sequence, share_rows: list[dict],
                           overall: float) -> Path:
    """A small Chinese .xlsx: which forms were issued and why not, and the share prefilled."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_numbers": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True, "bg_color": "#D9D9D9", "border": 1})
    pct = book.add_format({"num_format": "0.0%"})
    sheet = book.add_worksheet("下发决定")
    sheet.write_row(0, 0, ["统计期", "表单编号", "版本", "表单名称", "状态", "是否下发", "说明"],
                    bold)
    for r, d in enumerate(decisions, start=1):
        sheet.write_row(r, 0, [period, d.form_id, d.version, d.title, d.status,
                               "下发" if d.issue else "不下发", d.reason])
    sheet.set_column(0, 2, 10)
    sheet.set_column(3, 3, 34)
    sheet.set_column(6, 6, 60)
    share = book.add_worksheet("预填比例")
    share.write_row(0, 0, ["表单编号", "表单名称", "字段数", "预填", "计算", "填报", "预填比例"],
                    bold)
    for r, row in enumerate(share_rows, start=1):
        share.write_row(r, 0, [row["form_id"], row["title"], row["fields"], row["prefilled"],
                               row["derived"], row["entered"]])
        share.write_number(r, 6, row["share"], pct)
    last = len(share_rows) + 1
    share.write_string(last, 0, "合计")
    share.write_number(last, 2, sum(r["fields"] for r in share_rows))
    share.write_number(last, 3, sum(r["prefilled"] for r in share_rows))
    share.write_number(last, 6, overall, pct)
    share.set_column(0, 1, 30)
    book.close()
    return path
