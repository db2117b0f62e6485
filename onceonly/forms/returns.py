"""The return path (只报一次): returned workbooks recognised, checked, reported and loaded.

A workbook in the inbox is a return when it carries the hidden form sheet that every issued
workbook has; department extracts never do, so the two never get mixed up. A return is checked
against its form and against what was issued to that subdistrict for that month: wrong form or
version, a changed header, rows added or removed, hand-entered values that break their rule.
Every problem goes into one Chinese .xlsx report for the subdistrict. A return with no problem
is loaded. A changed prefilled value never overwrites the pool: it becomes a correction request
to the field's authoritative department, settled by that department's next extract.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import openpyxl
import xlsxwriter

from onceonly.contracts import feed
from onceonly.extracts.ingest import period_of_file
from onceonly.forms.catalogue import FormDefinition, FormField, catalogue
from onceonly.forms.formulas import evaluate_formula
from onceonly.forms.store import ensure_forms_tables
from onceonly.forms.values import as_number, canonical_text, comparable
from onceonly.identity import mask_id, read_id
from onceonly.inbox import child_path, inbox_files
from onceonly.reference import subdistrict_names
from onceonly.workbooks import read_form_meta

log = logging.getLogger("onceonly.forms")

# Problems that stop a return from being loaded; the others are notices in the report.
BLOCKING = {"unknown_form", "wrong_version", "not_issued", "header_changed", "row_added",
            "row_removed", "duplicate_row", "rule_broken", "required_missing", "unreadable"}
KIND_LABELS = {
    "unknown_form": "表单不在目录中", "wrong_version": "表单版本不符", "not_issued": "未下发过此表",
    "header_changed": "表头被修改", "row_added": "新增了行", "row_removed": "删除了行",
    "duplicate_row": "行重复", "rule_broken": "填写不符合规则", "required_missing": "必填项未填",
    "unreadable": "文件无法读取", "prefilled_changed": "预填值被修改（已转更正申请）",
    "derived_changed": "计算值被修改（已按公式重算）",
}
# Lists issued by other domains with the same workbook writer; their returns are read there
# (the aid sentinel's alert dispositions, the pool's correction lists).
HANDLED_ELSEWHERE = {"aid_alert_list", "pool_correction_list"}
_PERIOD = re.compile(r"20\d{2}-(0[1-9]|1[0-2])")
PII_CLASSES = {"pii-id", "pii-name", "pii-address", "personal", "sensitive"}


@dataclass(frozen=True, slots=True)
class ReturnProblem:
    """One thing wrong with a return, located by Excel row and column header."""

    kind: str
    message: str  # a full Chinese sentence saying what to fix; never holds a name, ID or address
    row: int | None = None
    row_label: str = ""
    column: str = ""

    @property
    def blocking(self) -> bool:
        return self.kind in BLOCKING


@dataclass(frozen=True, slots=True)
class CorrectionRequest:
    """A worker's change to a prefilled value, for the field's authoritative department."""

    row_key: str
    field: FormField
    issued_value: str | None
    requested_value: str | None


@dataclass(slots=True)
class ReturnCheck:
    """Everything learnt from one returned workbook."""

    path: Path
    sha256: str
    meta: dict[str, str]
    form: FormDefinition | None = None
    problems: list[ReturnProblem] = field(default_factory=list)
    corrections: list[CorrectionRequest] = field(default_factory=list)
    rows: list[dict[str, object]] = field(default_factory=list)

    @property
    def loadable(self) -> bool:
        return self.form is not None and not any(p.blocking for p in self.problems)

    @property
    def period(self) -> str:
        return self.meta.get("period", "")

    @property
    def subdistrict_code(self) -> str:
        return self.meta.get("subdistrict_code", "")


def read_meta(path: Path) -> dict[str, str] | None:
    """The hidden form sheet of a workbook (row keys under 'row_keys'), or None when the file
    is not a returned form."""
    return read_form_meta(path)


def returned_workbooks(inbox: Path) -> list[tuple[Path, dict[str, str]]]:
    """Every returned form in the inbox with its hidden metadata, in file-name order."""
    accepted, _ = inbox_files(inbox)  # the extract side reports what it skips
    return [(path, meta) for path in accepted if (meta := read_meta(path)) is not None]


def _row_label(form: FormDefinition, key: str | None) -> str:
    """How a row is named in the report: its key, masked when the key is an ID number."""
    if key is None:
        return "（无行标识）"
    return mask_id(key) if form.field(form.row_key).concept == "id_number" else key


def _is_personal(f: FormField) -> bool:
    if f.concept == "id_number":
        return True
    if f.source and f.source.column:
        table = feed(f.source.feed).table(f.source.table)
        return table.column(f.source.column).pii in PII_CLASSES
    return f.kind == "entry" and not (f.rule.choices or f.rule.numeric or f.rule.date)


def _shown(f: FormField, value: object) -> str:
    """A value as the report may show it: personal text is never repeated."""
    if value is None:
        return "（空）"
    if _is_personal(f):
        return "（个人信息，不显示）"
    return str(canonical_text(value))


def check_entry(f: FormField, value: object) -> tuple[object, str | None]:
    """The stored value of a hand-entered cell and, if it breaks its rule, what is wrong."""
    rule = f.rule
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, ("required_missing" if rule.required else None)
    if rule.choices:
        text = canonical_text(value)
        return text, (None if text in rule.choices else "rule_broken")
    if rule.date:
        if isinstance(value, dt.datetime):
            return value.date(), None
        if isinstance(value, dt.date):
            return value, None
        try:
            return dt.date.fromisoformat(str(value).strip()), None
        except ValueError:
            return value, "rule_broken"
    if rule.numeric:
        number = as_number(value)
        if number is None or (rule.integer and number != int(number)):
            return value, "rule_broken"
        if rule.minimum is not None and number < rule.minimum:
            return number, "rule_broken"
        if rule.maximum is not None and number > rule.maximum:
            return number, "rule_broken"
        return (int(number) if rule.integer else number), None
    return canonical_text(value), None


def _issued(conn: duckdb.DuckDBPyConnection, form_id: str, sub: str, period: str
            ) -> tuple[set[str], dict[tuple[str, str], str | None]]:
    rows = conn.execute(
        "SELECT form_version, row_key, field_id, value FROM forms.issued_cells "
        "WHERE form_id = ? AND subdistrict_code = ? AND period = ?", [form_id, sub, period]
    ).fetchall()
    versions = {v for v, *_ in rows}
    return versions, {(k, f): v for _, k, f, v in rows}


def check_return(conn: duckdb.DuckDBPyConnection, path: Path, meta: dict[str, str],
                 forms: Sequence[FormDefinition] | None = None) -> ReturnCheck:
    """Check one returned workbook against its form and against what was issued."""
    ensure_forms_tables(conn)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    check = ReturnCheck(path, sha, meta)
    problems = check.problems
    known = {f.id: f for f in (forms if forms is not None else catalogue())}
    form_id, version = meta.get("form_id", ""), meta.get("form_version", "")
    form = known.get(form_id)
    if form is None:
        problems.append(ReturnProblem(
            "unknown_form", f"表单编号“{form_id}”不在表单目录中，请确认是否为本系统下发的表格。"))
        return check
    check.form = form
    sub, period = check.subdistrict_code, check.period
    versions, issued = _issued(conn, form.id, sub, period)
    if not versions:
        versions = _logged_versions(conn, form.id, sub, period)
    if not versions:
        problems.append(ReturnProblem(
            "not_issued", f"系统没有向该街道下发过{period}的《{form.title}》，"
                          "请使用下发的表格填报。"))
        return check
    if version not in versions:
        problems.append(ReturnProblem(
            "wrong_version", f"这份《{form.title}》是第{version}版，但{period}下发的是第"
                             f"{'、'.join(sorted(versions))}版，请在下发的表格上填报。"))
        return check

    try:
        rows = _read_rows(path, meta, form, problems)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as err:
        problems.append(ReturnProblem("unreadable", f"文件无法按表格读取（{type(err).__name__}），"
                                                    "请用Excel或WPS另存为.xlsx后重新报送。"))
        return check
    if rows is None:
        return check

    issued_keys = {k for k, _ in issued}
    seen: dict[str, int] = {}
    for excel_row, values in rows:
        key = canonical_text(values.get(form.row_key))
        label = _row_label(form, key)
        if key is not None and key not in issued_keys and _is_addition(form, values):
            check.rows.append(_added_row(form, key, excel_row, label, values, check))
            continue
        if key is None or key not in issued_keys:
            problems.append(ReturnProblem(
                "row_added", f"第{excel_row}行不是下发的行，请删除该行；新增对象请向"
                             f"{form.department}报告，由其下次数据更新后带出。",
                excel_row, label))
            continue
        if key in seen:
            problems.append(ReturnProblem(
                "duplicate_row", f"第{excel_row}行与第{seen[key]}行是同一对象，请只保留一行。",
                excel_row, label))
            continue
        seen[key] = excel_row
        stored = _check_row(form, key, excel_row, label, values, issued, check)
        check.rows.append(stored)
    for key in sorted(issued_keys - set(seen)):
        problems.append(ReturnProblem(
            "row_removed", "下发的一行在退回的表格中找不到，请恢复该行；对象情况有变请在“备注”"
                           "或相应栏目说明。", None, _row_label(form, key)))
    return check


def _logged_versions(conn, form_id: str, sub: str, period: str) -> set[str]:
    # A form issued with no rows for a subdistrict leaves no issued cells, only its export log.
    rows = conn.execute("SELECT DISTINCT form_version FROM exports.export_log WHERE form_id = ? "
                        "AND subdistrict_code = ? AND period = ?", [form_id, sub, period])
    return {v for (v,) in rows.fetchall()}


def _read_rows(path: Path, meta: dict[str, str], form: FormDefinition,
               problems: list[ReturnProblem]) -> list[tuple[int, dict]] | None:
    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        sheet_name = meta.get("sheet") or book.sheetnames[0]
        if sheet_name not in book.sheetnames:
            problems.append(ReturnProblem("header_changed", f"找不到工作表“{sheet_name}”，请不要"
                                                            "重命名或删除工作表。"))
            return None
        header_row = int(meta.get("header_row", "4"))
        first = int(meta.get("first_data_row", "5"))
        sheet = book[sheet_name]
        labels = [f.label for f in form.fields]
        header = next(sheet.iter_rows(min_row=header_row, max_row=header_row, values_only=True),
                      ())
        found = [canonical_text(v) for v in header[:len(labels)]]
        if found != labels or any(v is not None for v in header[len(labels):]):
            problems.append(ReturnProblem(
                "header_changed", f"第{header_row}行的表头与《{form.title}》不一致，"
                                  "请不要增加、删除或移动列，在下发的表格上重新填写。", header_row))
            return None
        rows = []
        for number, cells in enumerate(
                sheet.iter_rows(min_row=first, max_col=len(labels), values_only=True),
                start=first):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells):
                continue
            rows.append((number, {f.id: v for f, v in zip(form.fields, cells, strict=False)}))
        return rows
    finally:
        book.close()


def _check_row(form: FormDefinition, key: str, excel_row: int, label: str, values: dict,
               issued: dict, check: ReturnCheck) -> dict[str, object]:
    stored: dict[str, object] = {}
    for f in form.prefilled:
        was = issued.get((key, f.id))
        now = canonical_text(values.get(f.id))
        stored[f.id] = _typed(values.get(f.id))
        if comparable(now) != comparable(was):
            check.corrections.append(CorrectionRequest(key, f, was, now))
            check.problems.append(ReturnProblem(
                "prefilled_changed", f"“{f.label}”的预填值被修改为{_shown(f, now)}。预填数据以"
                                     f"{f.source.department}为准，已转为更正申请，由其核实。",
                excel_row, label, f.label))
            stored[f.id] = _typed(was)  # the pool's value stands until the department agrees
    for f in form.entered:
        value, wrong = check_entry(f, values.get(f.id))
        stored[f.id] = value
        if wrong == "required_missing":
            check.problems.append(ReturnProblem(
                wrong, f"第{excel_row}行“{f.label}”为必填项，请填写。", excel_row, label, f.label))
        elif wrong:
            check.problems.append(ReturnProblem(
                wrong, f"第{excel_row}行“{f.label}”填写为{_shown(f, value)}，不符合规则："
                       f"{f.rule.describe()}。", excel_row, label, f.label))
    for f in form.derived:
        value = evaluate_formula(f.formula, stored)
        returned = canonical_text(values.get(f.id))
        if returned is not None and comparable(returned) != comparable(canonical_text(value)):
            check.problems.append(ReturnProblem(
                "derived_changed", f"第{excel_row}行“{f.label}”由系统按公式{f.formula}计算，"
                                   "填写的数值未采用。", excel_row, label, f.label))
        stored[f.id] = value
    return stored


def _is_addition(form: FormDefinition, values: dict) -> bool:
    """A row the worker added on purpose: the form allows it and the row says so."""
    if form.addition is None:
        return False
    field_id, choice = form.addition
    return canonical_text(values.get(field_id)) == choice


def _added_row(form: FormDefinition, key: str, excel_row: int, label: str, values: dict,
               check: ReturnCheck) -> dict[str, object]:
    """An added row keeps only its key and what was entered: nothing was issued to compare with,
    so its other columns are neither prefilled values nor correction requests."""
    if form.row_key in {f.id for f in form.prefilled} and not read_id(key).usable:
        check.problems.append(ReturnProblem(
            "row_added", f"第{excel_row}行新增对象的公民身份号码无效，请核对后重新报送。",
            excel_row, label))
    stored: dict[str, object] = {form.row_key: read_id(key).normalised or key}
    if form.subject != form.row_key:
        stored[form.subject] = _typed(values.get(form.subject))
    for f in form.entered:
        value, wrong = check_entry(f, values.get(f.id))
        stored[f.id] = value
        # Someone added this month is listed from next month: what a visit would have recorded
        # (required on issued rows) cannot be asked of them yet.
        if wrong and wrong != "required_missing":
            check.problems.append(ReturnProblem(
                wrong, f"第{excel_row}行“{f.label}”填写为{_shown(f, value)}，不符合规则："
                       f"{f.rule.describe()}。", excel_row, label, f.label))
    return stored


def _typed(value: object) -> object:
    number = as_number(value) if not isinstance(value, str) else None
    return number if number is not None else canonical_text(value)


def write_return_report(path: Path, check: ReturnCheck) -> Path:
    """The Chinese .xlsx report on one return: conclusion first, then every problem."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_numbers": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "bg_color": "#D9D9D9", "border": 1})
    sheet = book.add_worksheet("核对结果")
    form = check.form
    names = subdistrict_names()
    blocking = [p for p in check.problems if p.blocking]
    conclusion = ("已接收入库" if check.loadable else
                  f"未接收：有{len(blocking)}处问题须修改后重新报送")
    summary = [
        ("文件", check.path.name),
        ("表单", f"{form.title}（{form.id} 第{check.meta.get('form_version', '')}版）"
         if form else check.meta.get("form_id", "")),
        ("街道", names.get(check.subdistrict_code, check.subdistrict_code)),
        ("统计期", check.period),
        ("结论", conclusion),
        ("更正申请", f"{len(check.corrections)}条"),
    ]
    for r, (k, v) in enumerate(summary):
        sheet.write_string(r, 0, k, bold)
        sheet.write_string(r, 1, v)
    start = len(summary) + 1
    columns = ["序号", "行号", "行标识", "栏目", "问题", "说明", "是否须修改"]
    sheet.write_row(start, 0, columns, head)
    for i, p in enumerate(check.problems, start=1):
        r = start + i
        sheet.write_number(r, 0, i)
        if p.row is not None:
            sheet.write_number(r, 1, p.row)
        for c, text in ((2, p.row_label), (3, p.column)):
            if text:
                sheet.write_string(r, c, text)
        sheet.write_string(r, 4, KIND_LABELS.get(p.kind, p.kind))
        sheet.write_string(r, 5, p.message)
        sheet.write_string(r, 6, "是" if p.blocking else "否")
    sheet.set_column(0, 1, 8)
    sheet.set_column(2, 4, 18)
    sheet.set_column(5, 5, 80)
    sheet.set_column(6, 6, 10)
    book.close()
    return path


def _request_id(check: ReturnCheck, c: CorrectionRequest) -> str:
    text = "|".join([check.form.id, check.period, check.subdistrict_code, c.row_key, c.field.id,
                     c.requested_value or ""])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def record_return(conn: duckdb.DuckDBPyConnection, check: ReturnCheck, report: Path,
                  folder_root: Path) -> str:
    """Store a checked return: load it if it is valid, else only note its rejection."""
    status = "loaded" if check.loadable else "rejected"
    now = dt.datetime.now().replace(microsecond=0)
    form = check.form
    conn.execute("BEGIN TRANSACTION")
    if status == "loaded":
        sub, period = check.subdistrict_code, check.period
        conn.execute(
            "UPDATE forms.returns SET status = 'superseded' WHERE form_id = ? AND "
            "subdistrict_code = ? AND period = ? AND status = 'loaded'", [form.id, sub, period])
        conn.execute("DELETE FROM forms.entered_values WHERE form_id = ? AND subdistrict_code = ? "
                     "AND period = ?", [form.id, sub, period])
        values = []
        for row in check.rows:
            key = canonical_text(row.get(form.row_key))
            subject = canonical_text(row.get(form.subject))
            for f in (*form.entered, *form.derived):
                value = row.get(f.id)
                if value is None:
                    continue
                number = as_number(value) if not isinstance(value, dt.date) else None
                values.append((form.id, form.version, sub, period, key, subject, f.id, f.concept,
                               f.kind, canonical_text(value),
                               float(number) if number is not None else None, check.sha256, now))
        if values:
            conn.executemany("INSERT INTO forms.entered_values VALUES "
                             "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
        requests = []
        for c in check.corrections:
            s = c.field.source
            record_key = None
            if s.record_key:
                row = next((r for r in check.rows
                            if canonical_text(r.get(form.row_key)) == c.row_key), {})
                record_key = canonical_text(row.get(s.record_key))
            requests.append((_request_id(check, c), period, form.id, form.version, sub, c.row_key,
                             c.field.id, c.field.label, s.department, s.feed,
                             s.table if s.column else None, s.column, s.record_key_column,
                             record_key, c.issued_value, c.requested_value, "open", now,
                             check.sha256, None, None, None))
        if requests:
            conn.executemany("INSERT INTO forms.correction_requests VALUES (?, ?, ?, ?, ?, ?, ?, "
                             "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                             "ON CONFLICT (request_id) DO NOTHING", requests)
    conn.execute(
        "INSERT OR REPLACE INTO forms.returns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [check.sha256, check.path.name, check.meta.get("form_id"),
         check.meta.get("form_version"), check.subdistrict_code, check.period, now, status,
         sum(p.blocking for p in check.problems), len(check.corrections), len(check.rows),
         str(report.relative_to(folder_root)) if report.is_relative_to(folder_root)
         else str(report)])
    conn.execute("COMMIT")
    return status


@dataclass(frozen=True, slots=True)
class ReturnOutcome:
    """What happened to one returned file (no personal data: safe for logs and metadata)."""

    file_name: str
    form_id: str
    period: str
    subdistrict_code: str
    status: str  # loaded, rejected, already_seen
    problems: int
    corrections: int
    rows: int
    report: Path | None


def load_returns(conn: duckdb.DuckDBPyConnection, inbox: Path, reports: Path, folder_root: Path,
                 up_to_period: str, forms: Sequence[FormDefinition] | None = None
                 ) -> list[ReturnOutcome]:
    """Check and load every return in the inbox for a month up to ``up_to_period``.

    A file already seen (same content) is skipped; a changed file under the same name is a new
    return and, if valid, supersedes the earlier one for its form, subdistrict and month.
    """
    ensure_forms_tables(conn)
    seen = {s for (s,) in conn.execute("SELECT file_sha256 FROM forms.returns").fetchall()}
    outcomes = []
    for path, meta in returned_workbooks(inbox):
        if meta.get("form_id") in HANDLED_ELSEWHERE:
            continue
        period = meta.get("period") or period_of_file(path.name) or ""
        if not _PERIOD.fullmatch(period):
            period = "unknown"
        elif period > up_to_period:
            continue
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        if sha in seen:
            outcomes.append(ReturnOutcome(path.name, meta.get("form_id", ""), period,
                                          meta.get("subdistrict_code", ""), "already_seen", 0, 0,
                                          0, None))
            continue
        check = check_return(conn, path, meta, forms)
        report = child_path(reports, "returns", period, f"{path.stem}_核对结果.xlsx")
        write_return_report(report, check)
        status = record_return(conn, check, report, folder_root)
        seen.add(sha)
        outcomes.append(ReturnOutcome(path.name, meta.get("form_id", ""), period,
                                      check.subdistrict_code, status,
                                      sum(p.blocking for p in check.problems),
                                      len(check.corrections), len(check.rows), report))
    return outcomes


def settle_correction_requests(conn: duckdb.DuckDBPyConnection, up_to_period: str) -> dict:
    """Confirm or contradict open requests with each department's next extract.

    The next extract is the earliest month after the request's month, up to ``up_to_period``,
    in which the department's landing table holds the record: if it now has the worker's value
    the request is confirmed, otherwise contradicted. Requests on a computed measure, or on a
    record the department has not sent again, stay open.
    """
    ensure_forms_tables(conn)
    sources = conn.execute(
        "SELECT DISTINCT source_table, source_column, record_key_column "
        "FROM forms.correction_requests WHERE status = 'open' AND source_column IS NOT NULL "
        "AND record_key_column IS NOT NULL").fetchall()
    for table, column, key_column in sources:
        _known_column(table, column)
        _known_column(table, key_column)
        conn.execute(
            f"""
            UPDATE forms.correction_requests AS r
            SET status = CASE
                  WHEN trim(n.value) = r.requested_value
                    OR TRY_CAST(n.value AS DOUBLE) = TRY_CAST(r.requested_value AS DOUBLE)
                  THEN 'confirmed' ELSE 'contradicted' END,
                resolved_period = n.period, resolved_value = n.value, resolved_at = now()
            FROM (
              SELECT q.request_id, min(l._period) AS period,
                     arg_min(CAST(l."{column}" AS VARCHAR), l._period) AS value
              FROM forms.correction_requests q
              JOIN landing.{table} l
                ON CAST(l."{key_column}" AS VARCHAR) = q.record_key
               AND l._period > q.raised_period AND l._period <= $up_to
               AND l._period LIKE '____-__'
              WHERE q.status = 'open' AND q.source_table = $table AND q.source_column = $column
              GROUP BY q.request_id
            ) AS n
            WHERE r.request_id = n.request_id
            """,
            {"up_to": up_to_period, "table": table, "column": column},
        )
    rows = conn.execute("SELECT status, count(*) FROM forms.correction_requests GROUP BY ALL")
    return dict(rows.fetchall())


def _known_column(table: str, column: str) -> None:
    # Names come from the form catalogue, checked against the feed contracts; checked again here
    # because they are put into SQL text.
    from onceonly.contracts import feeds

    for f in feeds():
        for t in f.tables:
            if t.name == table and any(c.name == column for c in t.columns):
                return
    raise ValueError(f"Correction requests name landing.{table}.{column}, which no feed contract "
                     "declares; fix the form definition that points there.")


def outcome_counts(outcomes: Iterable[ReturnOutcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    return counts
