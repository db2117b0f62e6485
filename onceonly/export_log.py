"""The export log: every file that leaves the system, with what it is and its content hash.

Workbooks for subdistricts are logged in bulk by the code that issues them; reports sent to
departments (validation reports, correction lists) are logged here one file at a time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True, slots=True)
class Export:
    path: Path
    form_id: str  # what the file is: a form id, 'validation_report', 'correction_list', ...
    version: str
    subdistrict_code: str | None  # None for a file meant for a department
    period: str | None
    rows: int


def record_exports(conn: duckdb.DuckDBPyConnection, data_root: Path,
                   exports: list[Export]) -> None:
    """Log each file (replacing an earlier entry for the same path) with its SHA-256."""
    now = dt.datetime.now().replace(microsecond=0)
    for export in exports:
        relative = str(export.path.resolve().relative_to(data_root.resolve()))
        digest = hashlib.sha256(export.path.read_bytes()).hexdigest()
        conn.execute("DELETE FROM exports.export_log WHERE path = ?", [relative])
        conn.execute(
            "INSERT INTO exports.export_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [relative, export.form_id, export.version, export.subdistrict_code, export.period,
             export.rows, digest, now],
        )
