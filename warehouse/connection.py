"""Opening the DuckDB warehouse file.

DuckDB lets one process at a time open a database file for writing, and no other process may
open it at all meanwhile. Dagster runs every asset that touches the file in one concurrency pool
(see dagster.yaml), so in normal operation nobody waits; a notebook or BI tool holding the file
open is the usual exception, and that is met with retries and then a clear lock error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.schema import ensure_schema

log = logging.getLogger("onceonly.warehouse")

# Dagster concurrency pool shared by every asset that opens the warehouse file.
WAREHOUSE_POOL = "warehouse"


class WarehouseLockedError(RuntimeError):
    """Another process holds the warehouse file; this is a lock problem, not a data problem."""


def _is_lock_error(err: Exception) -> bool:
    text = str(err)
    return "lock" in text.lower() and ("Could not set lock" in text or "Conflicting" in text)


@contextmanager
def open_warehouse(path: Path, *, read_only: bool = False, attempts: int = 8,
                   first_wait: float = 0.25) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse, closed on exit; lock conflicts are retried with backoff."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if read_only and not path.exists():
        with open_warehouse(path, attempts=attempts, first_wait=first_wait):
            pass  # create the file and its schema so that readers find empty tables
    wait = first_wait
    for attempt in range(1, attempts + 1):
        try:
            conn = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as err:
            if not _is_lock_error(err) or attempt == attempts:
                if _is_lock_error(err):
                    raise WarehouseLockedError(
                        f"The warehouse file {path} is held open by another process (a notebook, "
                        f"a BI tool or another run) and stayed locked after {attempts} tries. "
                        "Close the other program, or read the Parquet exports instead, and run "
                        "again."
                    ) from None
                raise
            log.warning("Warehouse file is locked by another process; retrying (attempt %d of %d).",
                        attempt, attempts)
            time.sleep(wait)
            wait = min(wait * 2, 5.0)
    try:
        conn.execute("SET TimeZone = 'Asia/Shanghai'")
        if not read_only:
            ensure_schema(conn)
        yield conn
    finally:
        conn.close()
