"""The validation report of one extract file, in Chinese, as an Excel workbook.

The bureau sends it back to the department that made the file: a summary, the header findings
(missing, unexpected and renamed columns together) and every problem with its sheet, row,
column, rule, the value masked and what to fix. Every cell is written as a literal string or
number, never a formula, so a value such as '=联系不上' cannot run when the sender opens it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import xlsxwriter

from onceonly.contracts import FeedContract

if TYPE_CHECKING:
    from onceonly.extracts.ingest import FileOutcome

SEVERITY_NAMES = {
    "reject": "未入库（已隔离）",
    "review": "已入库，待核查",
    "warning": "已入库，仅提示",
}
PROBLEM_HEADERS = ("工作表", "行号", "列名", "规则", "问题说明", "处理结果", "值（已脱敏）",
                   "处理建议")


def verdict(outcomes: Sequence[FileOutcome]) -> str:
    """'rejected', 'quarantine' (some rows would not load) or 'clean'."""
    if any(o.rejection for o in outcomes):
        return "rejected"
    if any(o.rows_quarantined for o in outcomes):
        return "quarantine"
    return "clean"


VERDICT_NAMES = {
    "rejected": "文件被退回：请按下列说明修改后重新报送",
    "quarantine": "部分行未入库：请按问题清单更正这些行后重新报送",
    "clean": "全部入库",
}


def write_validation_report(path: Path, feed: FeedContract,
                            outcomes: Sequence[FileOutcome]) -> Path:
    """Write the report for the tables of one file; returns the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_numbers": False,
                                           "strings_to_urls": False})
    try:
        bold = book.add_format({"bold": True})
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        _summary_sheet(book.add_worksheet("概要"), feed, outcomes, bold, wrap)
        _header_sheet(book.add_worksheet("表头检查"), outcomes, bold, wrap)
        _problem_sheet(book.add_worksheet("问题清单"), outcomes, bold, wrap)
    finally:
        book.close()
    return path


def _summary_sheet(sheet, feed, outcomes, bold, wrap) -> None:
    first = outcomes[0]
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 90)
    lines: list[tuple[str, object]] = [
        ("文件名", first.file_name),
        ("文件指纹（SHA-256）", first.sha256),
        ("数据来源", f"{feed.name}（{feed.team}）"),
        ("契约版本", feed.version),
        ("结论", VERDICT_NAMES[verdict(outcomes)]),
    ]
    for o in outcomes:
        prefix = f"[{o.sheet or o.table}] "
        if o.rejection:
            lines.append((prefix + "退回原因", o.rejection))
            continue
        lines += [
            (prefix + "表头所在行", o.header_row or 0),
            (prefix + "读取行数", o.rows_read),
            (prefix + "入库行数", o.rows_loaded),
            (prefix + "隔离行数", o.rows_quarantined),
            (prefix + "待核查行数", o.rows_for_review),
            (prefix + "已规范的单元格数", o.cells_changed),
        ]
    for row, (label, value) in enumerate(lines):
        sheet.write_string(row, 0, label, bold)
        if isinstance(value, int):
            sheet.write_number(row, 1, value)
        else:
            sheet.write_string(row, 1, str(value), wrap)


def _header_sheet(sheet, outcomes, bold, wrap) -> None:
    headers = ("工作表", "类别", "列名", "说明")
    sheet.set_column(0, 1, 16)
    sheet.set_column(2, 2, 24)
    sheet.set_column(3, 3, 60)
    for col, text in enumerate(headers):
        sheet.write_string(0, col, text, bold)
    row = 1
    for o in outcomes:
        where = o.sheet or o.table
        findings = [("缺少必填列", name, "请补充该列（或其常用名称）后重新报送")
                    for name in o.missing_columns]
        kept = "契约中没有该列，数据已原样保留；如需长期报送请告知数据局"
        findings += [("未知列（已保留）", name, kept) for name in o.extra_columns]
        findings += [("使用了别名", alias, f"已按“{canonical}”读取，无需处理")
                     for canonical, alias in _alias_pairs(o)]
        for kind, name, note in findings:
            for col, text in enumerate((where, kind, name, note)):
                sheet.write_string(row, col, text, wrap)
            row += 1
    if row == 1:
        sheet.write_string(1, 0, "表头与契约一致", wrap)


def _alias_pairs(outcome: FileOutcome) -> list[tuple[str, str]]:
    if outcome.normalised is not None:
        table = outcome.normalised.raw.table
        return [(table.column(c).business_name, alias)
                for c, alias in outcome.aliases_used.items()]
    return [(c, alias) for c, alias in outcome.aliases_used.items()]


def _problem_sheet(sheet, outcomes, bold, wrap) -> None:
    widths = (12, 8, 18, 26, 40, 18, 24, 60)
    for col, (text, width) in enumerate(zip(PROBLEM_HEADERS, widths, strict=True)):
        sheet.write_string(0, col, text, bold)
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    row = 1
    for o in outcomes:
        if o.rejection:
            sheet.write_string(row, 0, o.sheet or o.table, wrap)
            sheet.write_string(row, 3, "file_rejected", wrap)
            sheet.write_string(row, 4, "整个文件（或工作表）无法读取", wrap)
            sheet.write_string(row, 5, "未入库（已退回）", wrap)
            sheet.write_string(row, 7, o.rejection, wrap)
            row += 1
            continue
        for p in o.problems:
            sheet.write_string(row, 0, o.sheet or o.table, wrap)
            sheet.write_number(row, 1, p.row_number)
            sheet.write_string(row, 2, p.business_name, wrap)
            sheet.write_string(row, 3, p.rule, wrap)
            sheet.write_string(row, 4, p.rule_name, wrap)
            sheet.write_string(row, 5, SEVERITY_NAMES.get(p.severity, p.severity), wrap)
            sheet.write_string(row, 6, p.masked_value, wrap)
            fix = p.fix + (f"（{p.detail}）" if p.detail else "")
            sheet.write_string(row, 7, fix, wrap)
            row += 1
    if len(outcomes) and row > 1:
        sheet.autofilter(0, 0, row - 1, len(PROBLEM_HEADERS) - 1)
