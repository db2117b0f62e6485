"""Emptying a warehouse table quickly, keeping its definition."""

from __future__ import annotations

import duckdb


def empty_table(conn: duckdb.DuckDBPyConnection, qualified_name: str) -> None:
    """Empty `schema.table` by recreating it from its own definition, constraints included.

    A table rebuilt in full every run (the person master and its history) would otherwise be
    emptied with DELETE, which in DuckDB updates the primary-key index row by row and then
    rewrites it at commit: at a district's 1.2 million people that alone takes minutes, where
    dropping and recreating the table takes milliseconds. Inside a transaction, readers still
    see the old rows until the commit, as with DELETE.
    """
    schema, table = qualified_name.split(".")
    row = conn.execute(
        "SELECT sql FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    if row is None:
        raise ValueError(f"The warehouse has no table {qualified_name} to empty; create the "
                         "schema first (ensure_schema and the domain's schema SQL).")
    conn.execute(f"DROP TABLE {qualified_name}")
    conn.execute(row[0])
