"""Returned alert lists: what each subdistrict found, and the registries' correction lists.

A returned list is recognised by its hidden form sheet (form_id 'aid_alert_list'), never by its
file name. Each row's 核实结果 becomes a disposition of its alert: confirmed (a valid warning),
false alarm, or registry error; a registry error puts the registry record on that registry's
correction list. A row whose 核实结果 is not one of the choices, or whose alert is unknown, is
quarantined with its reason; the other rows of the file still count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import openpyxl
import xlsxwriter

from onceonly.identity import mask_id
from onceonly.inbox import inbox_files
from onceonly.sentinel.alert_lists import (
    ALERT_LIST_FORM_ID,
    DISPOSITIONS,
    REGISTRY_LABELS,
    RULE_LABELS,
    alert_list_columns,
)
from onceonly.workbooks import read_form_meta

log = logging.getLogger("onceonly.sentinel")

QUARANTINE_FEED = ALERT_LIST_FORM_ID
QUARANTINE_TABLE = "sentinel.dispositions"


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One row of a returned list that could not be taken, and why (no name or ID in it)."""

    row_number: int
    column: str
    rule: str  # not_a_choice, unknown_alert
    value: str
    detail: str


@dataclass(slots=True)
class ReturnedList:
    """One returned alert list as read: its dispositions and its problems."""

    path: Path
    sha256: str
    subdistrict_code: str
    period: str
    rows_read: int = 0
    dispositions: list[tuple[str, str, str, str]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    rejection: str | None = None  # the whole file could not be read


def read_alert_list_meta(path: Path) -> dict[str, str] | None:
    """The hidden sheet of a returned alert list, or None when the file is not one."""
    meta = read_form_meta(path)
    return meta if meta is not None and meta.get("form_id") == ALERT_LIST_FORM_ID else None


def _text(value: object) -> str:
    return "" if value is None else str(value).replace("\u3000", " ").strip()


def read_returned_list(path: Path, meta: dict[str, str], known_alerts: set[str]) -> ReturnedList:
    """Read the dispositions of one returned list; every problem is collected, none raised."""
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    result = ReturnedList(path, sha, meta.get("subdistrict_code", ""), meta.get("period", ""))
    keys = meta.get("columns", "").split(",")
    expected = {c.key: c.header for c in alert_list_columns(result.period)}
    missing = [k for k in ("alert_id", "disposition", "note") if k not in keys]
    if missing:
        result.rejection = (f"The hidden sheet of {path.name} lists no column for "
                            f"{', '.join(missing)}; send back the list exactly as it was issued.")
        return result
    header_row = int(meta.get("header_row", "4"))
    first_row = int(meta.get("first_data_row", "5"))
    issued = set(meta.get("row_keys", "").split("\n")) - {""}
    col = {k: keys.index(k) + 1 for k in ("alert_id", "disposition", "note")}

    book = openpyxl.load_workbook(path, data_only=False)
    try:
        sheet = book.worksheets[0]
        for key, c in col.items():
            header = _text(sheet.cell(header_row, c).value)
            if header != expected[key]:
                result.rejection = (
                    f"In {path.name} the header of column {c} should be '{expected[key]}' but "
                    f"is '{header}'; columns were moved or renamed. Fill in the list as issued "
                    "and send it again.")
                return result
        for r in range(first_row, sheet.max_row + 1):
            alert_id = _text(sheet.cell(r, col["alert_id"]).value)
            choice = _text(sheet.cell(r, col["disposition"]).value)
            note = _text(sheet.cell(r, col["note"]).value)
            if not alert_id and not choice and not note:
                continue
            result.rows_read += 1
            if alert_id not in issued or alert_id not in known_alerts:
                result.problems.append(RowProblem(
                    r, "预警编号", "unknown_alert", alert_id[:24],
                    f"Row {r} of {path.name} names alert '{alert_id}', which this list did not "
                    "issue; do not add or change 预警编号."))
                continue
            if not choice:
                continue  # not verified yet: the alert stays awaiting a disposition
            if choice not in DISPOSITIONS:
                result.problems.append(RowProblem(
                    r, "核实结果", "not_a_choice", choice[:20],
                    f"Row {r} of {path.name}: 核实结果 is '{choice[:20]}', which is not one of "
                    f"{'、'.join(DISPOSITIONS)}; pick one from the drop-down list."))
                continue
            result.dispositions.append((alert_id, DISPOSITIONS[choice], choice, note))
    finally:
        book.close()
    return result


@dataclass(frozen=True, slots=True)
class DispositionOutcome:
    """Counts of one load of returned lists (for logs and Dagster metadata)."""

    files_read: int
    files_rejected: int
    dispositions: int
    rows_rejected: int
    by_disposition: dict[str, int]


def load_returned_lists(conn: duckdb.DuckDBPyConnection, inbox: Path, up_to_period: str,
                        now: dt.datetime | None = None) -> DispositionOutcome:
    """Read every returned alert list in the inbox for a month up to ``up_to_period``.

    A file already read (same content) is skipped, so a rerun changes nothing. New files are
    read in name order; for an alert in two returned lists, the later one wins.
    """
    now = now or dt.datetime.now().replace(microsecond=0)
    seen = {s for (s,) in conn.execute("SELECT sha256 FROM sentinel.returned_lists").fetchall()}
    known = {a for (a,) in conn.execute("SELECT alert_id FROM sentinel.alerts").fetchall()}
    accepted, _ = inbox_files(inbox)
    files = rejected = taken = bad_rows = 0
    for path in accepted:
        meta = read_alert_list_meta(path)
        if meta is None or meta.get("period", "") > up_to_period:
            continue
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        if sha in seen:
            continue
        returned = read_returned_list(path, meta, known)
        files += 1
        _record(conn, returned, now)
        seen.add(sha)
        if returned.rejection:
            rejected += 1
            log.warning("Returned alert list %s was not read: %s", path.name, returned.rejection)
            continue
        taken += len(returned.dispositions)
        bad_rows += len(returned.problems)
        log.info("Returned alert list %s: %d rows, %d dispositions, %d rows quarantined.",
                 path.name, returned.rows_read, len(returned.dispositions),
                 len(returned.problems))
    by = dict(conn.execute("SELECT disposition, count(*) FROM sentinel.dispositions "
                           "GROUP BY 1 ORDER BY 1").fetchall())
    return DispositionOutcome(files, rejected, taken, bad_rows, by)


def _record(conn: duckdb.DuckDBPyConnection, returned: ReturnedList, now: dt.datetime) -> None:
    """Store one returned list, its dispositions and its problems in one transaction."""
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(
            "INSERT INTO sentinel.returned_lists VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [returned.sha256, returned.path.name, returned.subdistrict_code, returned.period,
             now, returned.rows_read, len(returned.dispositions), len(returned.problems),
             "rejected" if returned.rejection else "loaded", returned.rejection])
        if returned.dispositions:
            ids = [d[0] for d in returned.dispositions]
            conn.execute("DELETE FROM sentinel.dispositions WHERE alert_id IN (SELECT unnest(?))",
                         [ids])
            conn.executemany(
                "INSERT INTO sentinel.dispositions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(alert_id, code, label, note, returned.subdistrict_code, returned.period,
                  returned.sha256, returned.path.name, now)
                 for alert_id, code, label, note in returned.dispositions])
        conn.executemany(
            "INSERT INTO ingest.quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(returned.sha256, returned.path.name, QUARANTINE_FEED, QUARANTINE_TABLE,
              returned.period, None, p.row_number, p.column, p.column, p.rule, "reject",
              p.value, p.detail) for p in returned.problems])
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise


@dataclass(frozen=True, slots=True)
class CorrectionList:
    registry: str
    path: Path
    rows: int


def rebuild_registry_corrections(conn: duckdb.DuckDBPyConnection,
                                 reports: Path) -> list[CorrectionList]:
    """Rebuild sentinel.registry_corrections from the 'registry error' dispositions, and write
    one workbook per registry under reports/corrections/aid_sentinel/ (IDs masked)."""
    conn.execute("BEGIN TRANSACTION")
    conn.execute("DELETE FROM sentinel.registry_corrections")
    conn.execute(
        """
        INSERT INTO sentinel.registry_corrections
        SELECT a.registry, a.record_id, a.alert_id, a.rule, a.event_date, a.subdistrict_code,
               a.period, d.note, d.returned_file_sha256, d.returned_at
        FROM sentinel.dispositions d JOIN sentinel.alerts a USING (alert_id)
        WHERE d.disposition = 'registry_error'
        """)
    conn.execute("COMMIT")
    folder = reports / "corrections" / "aid_sentinel"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.xlsx"):
        old.unlink()  # a registry whose errors were all withdrawn must not keep an old list
    written = []
    for registry, label in REGISTRY_LABELS.items():
        rows = conn.execute(
            """
            SELECT c.record_id, c.rule, c.event_date, a.person_id_number, c.subdistrict_code,
                   c.period, c.note, c.alert_id
            FROM sentinel.registry_corrections c JOIN sentinel.alerts a USING (alert_id)
            WHERE c.registry = ? ORDER BY c.period, c.record_id, c.alert_id
            """, [registry]).fetchall()
        if not rows:
            continue
        path = folder / f"{label}_登记错误更正清单.xlsx"
        _write_correction_list(path, label, rows)
        written.append(CorrectionList(registry, path, len(rows)))
    return written


def _write_correction_list(path: Path, label: str, rows: list[tuple]) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_numbers": False, "strings_to_urls": False})
    book.set_properties({"created": dt.datetime(2000, 1, 1), "author": "onceonly"})
    sheet = book.add_worksheet("更正清单")
    bold = book.add_format({"bold": True, "bg_color": "#D9D9D9", "border": 1})
    text = book.add_format({"num_format": "@"})
    sheet.write_string(0, 0, f"{label}：街道核实为登记错误的记录（请核对并更正登记）", bold)
    headers = ("登记记录号", "预警类型", "事件日期", "公民身份号码（脱敏）", "街道代码", "预警月份",
               "街道备注", "预警编号")
    for c, h in enumerate(headers):
        sheet.write_string(2, c, h, bold)
    for r, (record_id, rule, event_date, id_number, sub, period, note, alert_id) in enumerate(
            rows, start=3):
        values = (record_id, RULE_LABELS.get(rule, rule),
                  event_date.isoformat() if event_date else "", mask_id(id_number), sub, period,
                  note or "", alert_id)
        for c, v in enumerate(values):
            sheet.write_string(r, c, str(v), text)
    sheet.set_column(0, len(headers) - 1, 18)
    book.close()
