"""Prefilled Excel workbooks for subdistrict workers (Excel and WPS).

What a worker receives: prefilled cells locked and shaded, each prefilled column naming its
source department and as-of date; hand-entry cells (empty ones included) unlocked, with
drop-down lists and range checks; IDs as text so they never turn into 3.1E+17; every text cell
written as a literal string, so a remark such as '=联系不上' is never a formula; and a hidden
sheet identifying the form, version, subdistrict, period and row keys for the return path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

META_SHEET = "_表单信息"
LISTS_SHEET = "_下拉选项"
TITLE_ROW, SUBTITLE_ROW, SOURCE_ROW, HEADER_ROW = 0, 1, 2, 3  # zero-based
FIRST_DATA_ROW = 4
# Excel drops an inline list validation longer than 255 characters (counted in characters,
# not bytes); longer lists, and long ones in general, go to a hidden sheet instead.
INLINE_LIST_LIMIT = 255
INLINE_LIST_MAX_ITEMS = 8
# Fixed so that the same content always gives the same bytes (and the same SHA-256).
FIXED_CREATED = dt.datetime(2000, 1, 1)


@dataclass(frozen=True, slots=True)
class FormColumn:
    """One column of a prefilled form."""

    key: str
    header: str
    prefilled: bool
    text: bool = False  # IDs and codes: text format '@', never a number
    width: int = 14
    source: str = ""  # for prefilled columns: '公安户籍 截至2026-01-31'
    choices: tuple[str, ...] = ()
    date: bool = False
    number_range: tuple[float, float] | None = None
    integer: bool = False  # with number_range: whole numbers only
    note: str = ""


@dataclass(frozen=True, slots=True)
class WrittenWorkbook:
    path: Path
    rows: int
    sha256: str


@dataclass(slots=True)
class FormWorkbook:
    """Everything needed to write one form workbook."""

    title: str
    subtitle: str
    columns: Sequence[FormColumn]
    rows: Sequence[dict[str, object]]
    meta: dict[str, str] = field(default_factory=dict)
    row_key: str = ""  # the column whose values identify each row on return
    sheet: str = ""  # the data sheet's name (Excel allows 31 characters); default: the title


def list_reference(choices: Sequence[str], list_column: int) -> tuple[str, bool]:
    """Return the validation source for a list: inline when short enough, else a sheet range."""
    inline = ",".join(choices)
    if len(choices) <= INLINE_LIST_MAX_ITEMS and len(inline) <= INLINE_LIST_LIMIT:
        return inline, True
    col = xl_col_to_name(list_column)
    return f"='{LISTS_SHEET}'!${col}$1:${col}${len(choices)}", False


def write_form_workbook(path: Path, form: FormWorkbook) -> WrittenWorkbook:
    """Write the workbook and return its row count and content hash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"strings_to_formulas": False, "strings_to_numbers": False,
               "strings_to_urls": False}
    book = xlsxwriter.Workbook(str(path), options)
    book.set_properties({"created": FIXED_CREATED, "author": "onceonly"})
    styles = _styles(book)
    sheet_name = form.sheet or form.title
    sheet_name = sheet_name if len(sheet_name) <= 31 else "表单"
    sheet = book.add_worksheet(sheet_name)
    lists = None
    n_cols = len(form.columns)
    last_row = FIRST_DATA_ROW + max(len(form.rows), 1) - 1

    sheet.merge_range(TITLE_ROW, 0, TITLE_ROW, n_cols - 1, form.title, styles["title"])
    sheet.merge_range(SUBTITLE_ROW, 0, SUBTITLE_ROW, n_cols - 1, form.subtitle, styles["subtitle"])
    sheet.set_row(SOURCE_ROW, 30)
    list_column = 0
    for c, column in enumerate(form.columns):
        sheet.set_column(c, c, column.width, styles["text"] if column.text else None)
        note = (f"来源：{column.source}" if column.prefilled else "由社区填写") + (
            f"；{column.note}" if column.note else "")
        sheet.write_string(SOURCE_ROW, c, note, styles["source"])
        sheet.write_string(HEADER_ROW, c, column.header,
                           styles["header_prefilled" if column.prefilled else "header_entry"])
        if column.prefilled:
            continue
        if column.choices:
            source, inline = list_reference(column.choices, list_column)
            if not inline:
                if lists is None:
                    lists = book.add_worksheet(LISTS_SHEET)
                for r, choice in enumerate(column.choices):
                    lists.write_string(r, list_column, choice)
                list_column += 1
            sheet.data_validation(FIRST_DATA_ROW, c, last_row, c, {
                "validate": "list",
                "source": list(column.choices) if inline else source,
                "error_title": "请从下拉列表中选择",
                "error_message": f"{column.header}只能填写下拉列表中的选项。",
            })
        elif column.date:
            sheet.data_validation(FIRST_DATA_ROW, c, last_row, c, {
                "validate": "date", "criteria": "between",
                "minimum": dt.date(2000, 1, 1), "maximum": dt.date(2099, 12, 31),
                "error_title": "日期格式不对",
                "error_message": f"{column.header}请填写日期，例如2026-03-05。",
            })
        elif column.number_range:
            low, high = column.number_range
            sheet.data_validation(FIRST_DATA_ROW, c, last_row, c, {
                "validate": "integer" if column.integer else "decimal",
                "criteria": "between", "minimum": low, "maximum": high,
                "error_title": "数值超出范围",
                "error_message": f"{column.header}应为{'整数' if column.integer else '数字'}，"
                                 f"在{low:g}到{high:g}之间。",
            })

    for r, row in enumerate(form.rows, start=FIRST_DATA_ROW):
        for c, column in enumerate(form.columns):
            value = row.get(column.key)
            _write_cell(sheet, r, c, value, column, styles)
    if not form.rows:
        for c, column in enumerate(form.columns):
            _write_cell(sheet, FIRST_DATA_ROW, c, None, column, styles)

    sheet.freeze_panes(FIRST_DATA_ROW, 0)
    text_cols = [c for c, col in enumerate(form.columns) if col.text]
    for c in text_cols:
        sheet.ignore_errors({"number_stored_as_text": xl_rowcol_to_cell(FIRST_DATA_ROW, c) + ":"
                             + xl_rowcol_to_cell(last_row, c)})
    sheet.protect("", {"format_columns": True, "format_rows": True, "sort": False,
                       "autofilter": True, "select_locked_cells": True,
                       "select_unlocked_cells": True})
    _write_meta(book, form, sheet_name, styles)
    if lists is not None:
        lists.hide()
        lists.protect()
    book.close()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return WrittenWorkbook(path, len(form.rows), digest)


def _write_cell(sheet, r: int, c: int, value, column: FormColumn, styles) -> None:
    if column.prefilled:
        style = styles["locked_text"] if column.text else styles["locked"]
        if column.date and isinstance(value, dt.date):
            sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), styles["locked_date"])
        elif value is None:
            sheet.write_blank(r, c, None, style)
        elif isinstance(value, bool) or not isinstance(value, int | float) or column.text:
            sheet.write_string(r, c, str(value), style)
        else:
            sheet.write_number(r, c, value, style)
        return
    style = styles["entry_date" if column.date else "entry_text" if column.text else "entry"]
    if value is None or value == "":
        sheet.write_blank(r, c, None, style)  # a blank that stays editable on a protected sheet
    elif column.date and isinstance(value, dt.date):
        sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), style)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        sheet.write_number(r, c, value, style)
    else:
        sheet.write_string(r, c, str(value), style)


def _write_meta(book, form: FormWorkbook, sheet_name: str, styles) -> None:
    meta = book.add_worksheet(META_SHEET)
    items = list(form.meta.items()) + [("sheet", sheet_name),
                                       ("header_row", str(HEADER_ROW + 1)),
                                       ("first_data_row", str(FIRST_DATA_ROW + 1)),
                                       ("row_key", form.row_key),
                                       ("columns", ",".join(c.key for c in form.columns)),
                                       ("prefilled", ",".join(c.key for c in form.columns
                                                               if c.prefilled))]
    for r, (key, value) in enumerate(items):
        meta.write_string(r, 0, key)
        meta.write_string(r, 1, value)
    start = len(items) + 1
    meta.write_string(start, 0, "row_keys")
    for r, row in enumerate(form.rows, start=start + 1):
        meta.write_string(r, 0, str(row.get(form.row_key, "")), styles["text"])
    meta.hide()
    meta.protect()


def _styles(book) -> dict:
    def fmt(**kw):
        return book.add_format(kw)

    shade = "#E7E6E6"
    return {
        "title": fmt(bold=True, font_size=14, align="center", valign="vcenter"),
        "subtitle": fmt(font_size=10, align="left"),
        "source": fmt(font_size=8, italic=True, text_wrap=True, font_color="#595959",
                      valign="top"),
        "header_prefilled": fmt(bold=True, bg_color="#D9D9D9", border=1, text_wrap=True,
                                align="center", valign="vcenter"),
        "header_entry": fmt(bold=True, bg_color="#FFF2CC", border=1, text_wrap=True,
                            align="center", valign="vcenter"),
        "locked": fmt(locked=True, bg_color=shade, border=1),
        "locked_text": fmt(locked=True, bg_color=shade, border=1, num_format="@"),
        "locked_date": fmt(locked=True, bg_color=shade, border=1, num_format="yyyy-mm-dd"),
        "entry": fmt(locked=False, border=1),
        "entry_date": fmt(locked=False, border=1, num_format="yyyy-mm-dd"),
        "entry_text": fmt(locked=False, border=1, num_format="@"),
        "text": fmt(num_format="@"),
    }


def read_form_meta(path: Path) -> dict[str, str] | None:
    """The hidden form sheet of a workbook this module wrote, as a dict, or None.

    The row keys come back newline-joined under 'row_keys'. None means the file is not one of
    ours (a department extract, or not a workbook at all).
    """
    import zipfile

    import openpyxl

    if path.suffix.lower() != ".xlsx" or path.name.startswith(("~$", ".")):
        return None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return None
    try:
        if META_SHEET not in book.sheetnames:
            return None
        meta: dict[str, str] = {}
        keys: list[str] = []
        in_keys = False
        for key, value, *_ in book[META_SHEET].iter_rows(values_only=True, max_col=2):
            if in_keys:
                if key is not None:
                    keys.append(str(key))
            elif key == "row_keys":
                in_keys = True
            elif key is not None:
                meta[str(key)] = "" if value is None else str(value)
        meta["row_keys"] = "\n".join(keys)
        return meta
    finally:
        book.close()
