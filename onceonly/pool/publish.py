"""Publishing pool tables as Parquet under <data>/parquet, so that any engine or notebook can
read the pool without opening (and locking) the DuckDB file.

Layout: <data>/parquet/<table>/period=YYYY-MM/data_0.parquet (Hive partitioning). Month
snapshots (person, household_member, field_conflicts, catalogue) replace only their own month;
person_history, which a late extract can change in any month, is rewritten whole.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from onceonly.periods import month_end

# table -> the month's rows, with the month as column `period`
MONTH_SNAPSHOTS = {
    "person": """
        SELECT * EXCLUDE (version), $period AS period FROM pool.person_history
        WHERE valid_from <= $month_end AND (valid_to IS NULL OR valid_to > $month_end)
    """,
    "household_member": """
        SELECT *, $period AS period FROM pool.household_member
        WHERE valid_from <= $month_end AND (valid_to IS NULL OR valid_to > $month_end)
    """,
    "field_conflicts": "SELECT * FROM pool.field_conflicts WHERE period = $period",
    "catalogue": "SELECT * FROM pool.catalogue WHERE period = $period",
}


def _copy(conn: duckdb.DuckDBPyConnection, query: str, target: Path, params: dict) -> None:
    target.mkdir(parents=True, exist_ok=True)
    conn.execute(
        f"COPY ({query}) TO '{target.as_posix()}' "
        "(FORMAT parquet, PARTITION_BY (period), OVERWRITE_OR_IGNORE, FILENAME_PATTERN 'data_{i}')",
        params,
    )


def publish_month(conn: duckdb.DuckDBPyConnection, parquet: Path, period: str) -> dict[str, int]:
    """Write the month's pool snapshots and the whole person history; return rows per table."""
    params = {"period": period, "month_end": month_end(period)}
    written: dict[str, int] = {}
    for table, query in MONTH_SNAPSHOTS.items():
        shutil.rmtree(parquet / table / f"period={period}", ignore_errors=True)
        used = {k: v for k, v in params.items() if f"${k}" in query}
        rows = conn.execute(f"SELECT count(*) FROM ({query})", used).fetchone()[0]
        if rows:
            _copy(conn, query, parquet / table, used)
        written[table] = rows

    history = parquet / "person_history"
    shutil.rmtree(history, ignore_errors=True)
    query = "SELECT *, first_period AS period FROM pool.person_history"
    written["person_history"] = conn.execute(
        "SELECT count(*) FROM pool.person_history").fetchone()[0]
    if written["person_history"]:
        _copy(conn, query, history, {})
    return written
