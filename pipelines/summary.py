"""The summary printed after a run: rows per table, alerts, workbooks written."""

from __future__ import annotations

import os
from pathlib import Path

from onceonly.reference import subdistrict_names
from onceonly.settings import DataFolder
from warehouse.connection import open_warehouse


def summary_lines(folder: DataFolder, periods: list[str]) -> list[str]:
    names = subdistrict_names()
    lines = ["", "Rows per table"]
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        tables = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('landing', 'ingest', 'pool', 'sentinel', 'exports') "
            "ORDER BY 1"
        ).fetchall()
        for (table,) in tables:
            count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            lines.append(f"  {table:<36} {count:>10,}")
        placeholders = ", ".join("?" for _ in periods)
        alerts = conn.execute(
            f"SELECT period, rule, subdistrict_code, count(*) FROM sentinel.alerts "
            f"WHERE period IN ({placeholders}) GROUP BY ALL ORDER BY ALL", periods
        ).fetchall()
        by_rule: dict[tuple[str, str], int] = {}
        by_sub: dict[str, int] = {}
        for period, rule, sub, n in alerts:
            by_rule[(period, rule)] = by_rule.get((period, rule), 0) + n
            by_sub[sub] = by_sub.get(sub, 0) + n
        lines += ["", "Aid alerts by month and rule"]
        lines += [f"  {p}  {r:<10} {n:>6}" for (p, r), n in sorted(by_rule.items())]
        lines += ["", "Aid alerts by subdistrict"]
        lines += [f"  {names.get(s, s):<10} {n:>6}" for s, n in sorted(by_sub.items())]
        exports = conn.execute(
            f"SELECT period, form_id, count(*), sum(row_count), list(path) "
            f"FROM exports.export_log WHERE period IN ({placeholders}) "
            f"GROUP BY ALL ORDER BY ALL", periods
        ).fetchall()
    lines += ["", "Files written (workbooks for subdistricts, reports for departments)"]
    for period, form_id, n, rows, paths in exports:
        folder_of = os.path.commonpath([str(Path(p).parent) for p in paths])
        lines.append(f"  {period}  {form_id:<24} {n:>3} files, {rows:>6,} rows, in "
                     f"{folder.root / folder_of}")
    return lines
