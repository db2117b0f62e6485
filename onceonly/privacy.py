"""Privacy: each subdistrict sees only its own residents, and every export can be traced.

Two things live here. `check_isolation` reads written workbooks back and finds every full ID
number in them that household registration places in another subdistrict: the asset checks on
the exporting assets fail on any. `trail` answers "where did this person's data go?": every
exported workbook and every alert that included them, for audits and for answering the person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import openpyxl
import polars as pl

from onceonly.identity import has_valid_check_character, read_id
from onceonly.periods import month_end
from onceonly.workbooks import LISTS_SHEET, META_SHEET

_ID_TEXT = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9X](?![0-9X])")


@dataclass(slots=True)
class WorkbookIsolation:
    """What one exported workbook holds, as far as whose data it is."""

    path: str
    form_id: str
    subdistrict_code: str
    people: int = 0  # distinct full ID numbers found in it
    foreign: int = 0  # of those, registered in another subdistrict
    unknown: int = 0  # of those, unknown to household registration (cannot be placed)


@dataclass(slots=True)
class IsolationReport:
    period: str
    workbooks: list[WorkbookIsolation] = field(default_factory=list)

    @property
    def foreign(self) -> int:
        return sum(w.foreign for w in self.workbooks)

    @property
    def people(self) -> int:
        return sum(w.people for w in self.workbooks)


def ids_in_workbook(path: Path) -> tuple[str | None, set[str]]:
    """The subdistrict a workbook was written for (its hidden sheet) and the full IDs in it."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        subdistrict = None
        if META_SHEET in book.sheetnames:
            for key, value, *_ in book[META_SHEET].iter_rows(values_only=True, max_col=2):
                if key == "subdistrict_code":
                    subdistrict = str(value)
        found: set[str] = set()
        for sheet in book.worksheets:
            if sheet.title in (META_SHEET, LISTS_SHEET):
                continue
            for row in sheet.iter_rows(values_only=True):
                for cell in row:
                    if isinstance(cell, str) and len(cell) >= 18:
                        found |= {m for m in _ID_TEXT.findall(cell.upper())
                                  if has_valid_check_character(m)}
        return subdistrict, found
    finally:
        book.close()


def check_isolation(conn: duckdb.DuckDBPyConnection, data_root: Path, period: str,
                    form_ids: list[str] | None = None) -> IsolationReport:
    """Read back every workbook exported for the month and place each person in it.

    A person is placed by household registration as of the month's end; someone it does not
    know (an ID typed with a wrong check digit never reaches the pool) cannot be placed and is
    counted apart, not as a breach.
    """
    exports = conn.execute(
        "SELECT path, form_id, subdistrict_code FROM exports.export_log WHERE period = ? "
        "AND path LIKE '%.xlsx' AND (? IS NULL OR list_contains(?, form_id)) ORDER BY path",
        [period, form_ids, form_ids]).fetchall()
    report = IsolationReport(period)
    found_per_book: list[tuple[WorkbookIsolation, set[str]]] = []
    for path, form_id, subdistrict in exports:
        written_for, ids = ids_in_workbook(data_root / path)
        book = WorkbookIsolation(path, form_id, written_for or subdistrict or "", len(ids))
        found_per_book.append((book, ids))
    everyone = sorted({i for _, ids in found_per_book for i in ids})
    placed: dict[str, str] = {}
    if everyone:
        last_day = month_end(period)
        conn.register("_isolation_ids", pl.DataFrame({"id_number": everyone}).to_arrow())
        try:
            placed = dict(conn.execute(
                "SELECT p.id_number, p.subdistrict_code FROM pool.person_as_of(?) p "
                "JOIN _isolation_ids USING (id_number)", [last_day]).fetchall())
        finally:
            conn.unregister("_isolation_ids")
    for book, ids in found_per_book:
        book.unknown = sum(1 for i in ids if i not in placed)
        book.foreign = sum(1 for i in ids if i in placed and placed[i] != book.subdistrict_code)
        report.workbooks.append(book)
    return report


@dataclass(frozen=True, slots=True)
class TrailEntry:
    kind: str  # export or alert
    period: str
    subdistrict_code: str
    what: str  # the form, or the alert's rule and registry record
    path: str  # the exported file, when there is one
    written_at: str


def trail(conn: duckdb.DuckDBPyConnection, raw_id: str) -> tuple[str, list[TrailEntry]]:
    """Every export and alert that included the person; returns the normalised ID and entries.

    Exports are found through what each workbook said when it was issued (forms.issued_cells:
    the person's ID as a row key or a prefilled value), alerts through sentinel.alerts (the
    person concerned, or the applicant of the case), with the alert list that carried them.
    """
    reading = read_id(raw_id)
    if not reading.usable:
        raise ValueError(
            f"The ID number given is not usable ({reading.status.value.replace('_', ' ')}); "
            "check it and give the 18-digit number, or the 15-digit legacy one."
        )
    person = reading.normalised
    entries: list[TrailEntry] = []
    tables = {r[0] for r in conn.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()}
    if "forms.issued_cells" in tables:
        rows = conn.execute(
            """
            WITH hits AS (
              SELECT DISTINCT form_id, period, subdistrict_code FROM forms.issued_cells
              WHERE value = $id OR row_key = $id
            )
            SELECT h.period, h.subdistrict_code, h.form_id, coalesce(e.path, ''),
                   coalesce(CAST(e.written_at AS VARCHAR), '')
            FROM hits h LEFT JOIN exports.export_log e
              ON e.form_id = h.form_id AND e.period = h.period
             AND e.subdistrict_code = h.subdistrict_code
            ORDER BY ALL
            """, {"id": person}).fetchall()
        entries += [TrailEntry("export", *r[:2], r[2], r[3], r[4]) for r in rows]
    rows = conn.execute(
        """
        WITH applicant_cases AS (
          SELECT DISTINCT case_no FROM landing.aid_households WHERE applicant_id_number = $id
        ), hits AS (
          SELECT * FROM sentinel.alerts
          WHERE person_id_number = $id OR case_no IN (SELECT case_no FROM applicant_cases)
        )
        SELECT a.period, a.subdistrict_code,
               a.rule || ' ' || a.registry || ' ' || a.record_id || ' (alert ' || a.alert_id
                 || CASE WHEN a.person_id_number = $id THEN ', the person concerned)'
                         ELSE ', a member of their case)' END,
               coalesce(e.path, ''), coalesce(CAST(e.written_at AS VARCHAR), '')
        FROM hits a LEFT JOIN exports.export_log e
          ON e.form_id = 'aid_alert_list' AND e.period = a.period
         AND e.subdistrict_code = a.subdistrict_code
        ORDER BY ALL
        """, {"id": person}).fetchall()
    entries += [TrailEntry("alert", r[0], r[1], r[2], r[3], r[4]) for r in rows]
    return person, sorted(entries, key=lambda e: (e.period, e.kind, e.path, e.what))
