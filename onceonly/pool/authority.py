"""Authority resolution: where another department's extract carries a pool field with a value
that differs from the authority's, the pool keeps the authority's value, records the
disagreement in pool.field_conflicts, and tells the other department in a correction list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from onceonly.contracts import feed
from onceonly.identity import mask_id
from onceonly.periods import month_end
from onceonly.pool.registry import USABLE_ID_SQL, PoolField, field_registry
from onceonly.workbooks import FormColumn, FormWorkbook, write_form_workbook

CORRECTION_FORM_ID = "pool_correction_list"
CORRECTION_FORM_VERSION = "1.0"
CORRECTION_TITLE = "数据更正清单"
VERIFY_CHOICES = ("已更正", "本部门数据无误，请权威部门核实", "待核实")


@dataclass(frozen=True, slots=True)
class CorrectionList:
    department: str
    path: Path
    rows: int


def find_conflicts(conn: duckdb.DuckDBPyConnection, period: str) -> int:
    """Replace the month's rows of pool.field_conflicts; return how many were found.

    Compared: every person-level field with other carriers in the registry, for records of the
    month whose ID is usable, against the authority's version valid on the month's last day.
    A blank in the other extract is not a disagreement; the authority's blank is, since the
    other department then holds a value the authority lacks.
    """
    last_day = month_end(period)
    conn.execute("BEGIN TRANSACTION")
    conn.execute("DELETE FROM pool.field_conflicts WHERE period = ?", [period])
    for f in field_registry():
        if f.pool_table != "pool.person":
            continue
        for source in f.also_in:
            conn.execute(_conflict_sql(f, source), {"period": period, "month_end": last_day})
    conn.execute("COMMIT")
    return conn.execute("SELECT count(*) FROM pool.field_conflicts WHERE period = ?",
                        [period]).fetchone()[0]


def _conflict_sql(f: PoolField, source) -> str:
    other = feed(source.feed)
    return f"""
        INSERT INTO pool.field_conflicts
        SELECT $period, '{f.name}', '{f.business_name}', o."{source.id_column}",
               CAST(h.{f.name} AS VARCHAR), CAST(o."{source.column}" AS VARCHAR),
               '{f.department}', '{f.authority.feed}', h.source_file_name, h.first_period,
               h.valid_from, '{other.department}', '{source.feed}', '{source.table}',
               '{source.column}', o._file_name, o._row_number, $month_end,
               current_localtimestamp()
        FROM landing.{source.table} o
        JOIN pool.person_history h
          ON h.id_number = o."{source.id_column}"
         AND h.valid_from <= $month_end AND (h.valid_to IS NULL OR h.valid_to > $month_end)
        WHERE o._period = $period
          AND o."{source.id_column}_status" IN {USABLE_ID_SQL}
          AND o."{source.column}" IS NOT NULL
          AND CAST(h.{f.name} AS VARCHAR) IS DISTINCT FROM CAST(o."{source.column}" AS VARCHAR)
    """


def _file_safe(text: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\s]+", "_", text)


def correction_columns(authority_as_of: str) -> list[FormColumn]:
    """The columns of a correction list: what the department holds, what the authority says,
    and two columns for the department to fill in."""
    return [
        FormColumn("field_name", "字段", prefilled=True, width=12),
        # Masked like every report: the file and row name the department's own record.
        FormColumn("masked_id", "公民身份号码（脱敏）", prefilled=True, text=True, width=22),
        FormColumn("other_value", "本部门数据", prefilled=True, width=28),
        FormColumn("authority_value", "权威数据", prefilled=True, width=28,
                   source=f"权威部门 截至{authority_as_of}"),
        FormColumn("authority_department", "权威部门", prefilled=True, width=12),
        FormColumn("other_table", "本部门表", prefilled=True, width=16),
        FormColumn("other_file", "来源文件", prefilled=True, width=28),
        FormColumn("other_row_number", "文件行号", prefilled=True, width=10),
        FormColumn("verdict", "核实结果", prefilled=False, width=24, choices=VERIFY_CHOICES),
        FormColumn("remark", "备注", prefilled=False, width=30),
    ]


def write_correction_lists(conn: duckdb.DuckDBPyConnection, period: str,
                           reports: Path) -> list[CorrectionList]:
    """One workbook per department holding values that disagree with the authority, under
    reports/corrections/<period>/; the month's earlier lists are replaced.

    Like every report, the lists show IDs masked; each row names the department's own file and
    row, which is how the department finds the record to correct.
    """
    folder = reports / "corrections" / period
    if folder.exists():
        for old in folder.glob("*.xlsx"):
            old.unlink()  # a department whose conflicts are gone must not keep an old list
    rows = conn.execute(
        """
        SELECT other_department, business_name AS field_name, id_number, other_value,
               coalesce(authority_value, '（权威部门无此项）') AS authority_value,
               authority_department, other_table, other_file, other_row_number, other_as_of,
               other_table || '#' || other_row_number || '#' || field AS conflict_ref
        FROM pool.field_conflicts WHERE period = ?
        ORDER BY other_department, other_table, other_row_number, field_name
        """,
        [period],
    ).pl()
    written = []
    for (department,), group in rows.group_by(["other_department"], maintain_order=True):
        as_of = group["other_as_of"][0].isoformat()
        name = f"{_file_safe(department)}_{CORRECTION_TITLE}_{period.replace('-', '')}.xlsx"
        path = folder / name
        form = FormWorkbook(
            title=f"{department}{CORRECTION_TITLE}（{period}）",
            subtitle=f"以下数据与权威部门（一数一源）不一致，请核对本部门数据并填写核实结果。"
                     f"统计期：{period}",
            columns=correction_columns(as_of),
            rows=[{**row, "masked_id": mask_id(row.pop("id_number"))}
                  for row in group.drop("other_department", "other_as_of").to_dicts()],
            meta={"form_id": CORRECTION_FORM_ID, "form_version": CORRECTION_FORM_VERSION,
                  "department": department, "period": period},
            row_key="conflict_ref",
        )
        result = write_form_workbook(path, form)
        written.append(CorrectionList(department, path, result.rows))
    return written
