"""The warehouse schema: fixed tables from schema.sql, landing tables from the feed contracts."""

from __future__ import annotations

from importlib import resources

import duckdb

from onceonly.contracts import TableContract, feeds

LINEAGE_COLUMNS = (
    ("_period", "VARCHAR"),  # the month the extract covers, YYYY-MM ('opening' for balances)
    ("_file_sha256", "VARCHAR"),
    ("_file_name", "VARCHAR"),
    ("_sheet", "VARCHAR"),
    ("_row_number", "INTEGER"),  # the row in the original file or sheet, 1-based
)


def landing_table(table: TableContract) -> str:
    return f"landing.{table.name}"


def landing_columns(table: TableContract) -> list[tuple[str, str]]:
    """The landing table's columns: the contract's, the ID bookkeeping, then lineage."""
    columns: list[tuple[str, str]] = []
    for col in table.columns:
        columns.append((col.name, col.sql_type))
        if col.semantic == "id_number":
            columns.append((f"{col.name}_raw", "VARCHAR"))
            columns.append((f"{col.name}_status", "VARCHAR"))
        elif col.semantic in ("name", "address"):
            columns.append((f"{col.name}_raw", "VARCHAR"))  # as sent, where trimming changed it
    columns.append(("_extra", "JSON"))  # columns the contract does not know, kept as sent
    return columns + list(LINEAGE_COLUMNS)


def _landing_ddl(table: TableContract) -> str:
    body = ",\n  ".join(f'"{name}" {sql_type}' for name, sql_type in landing_columns(table))
    return f"CREATE TABLE IF NOT EXISTS {landing_table(table)} (\n  {body}\n)"


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create every schema and table that does not exist yet. Safe to call on every connect."""
    base = resources.files("warehouse")
    conn.execute(base.joinpath("schema.sql").read_text(encoding="utf-8"))
    # The pool's history tables and as-of macros: every domain that places a person in time
    # (forms, the sentinel's alert lists, the privacy checks) reads them.
    conn.execute(base.joinpath("sql/pool_schema.sql").read_text(encoding="utf-8"))
    for feed in feeds():
        for table in feed.tables:
            conn.execute(_landing_ddl(table))
