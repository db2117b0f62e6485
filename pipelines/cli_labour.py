"""Re-rolling the labour-archive stock after a correction: `onceonly labour-reroll`.

A corrected 劳动力档案变动 file for a past month changes that month's closing stock, and with it
the opening of every later month. Re-rolling lands the month's files again and recomputes the
stock for each month from the corrected one on, strictly in order, because each month starts
from the month before. The figures replaced stay on record in labour.archive_stock_versions as
superseded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import dagster as dg
import typer

from onceonly.settings import DataFolder


@dataclass(frozen=True, slots=True)
class RerolledMonth:
    period: str
    run_id: str
    success: bool


def months_between(first: str, last: str) -> list[str]:
    """Every 'YYYY-MM' month from ``first`` to ``last``, inclusive, in order."""
    for month in (first, last):
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
            raise ValueError(f"{month!r} is not a month written as YYYY-MM, e.g. 2026-01.")
    if last < first:
        raise ValueError(f"The last month {last} is before the first month {first}; give --to a "
                         "month on or after --from.")
    year, month = (int(x) for x in first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def last_stock_month(folder: DataFolder) -> str | None:
    """The latest month that has a recorded stock, or None."""
    from warehouse.connection import open_warehouse

    with open_warehouse(folder.warehouse, read_only=True) as conn:
        has_table = conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'labour' "
            "AND table_name = 'archive_stock_versions'").fetchone()[0]
        if not has_table:
            return None
        return conn.execute(
            "SELECT max(period) FROM labour.archive_stock_versions WHERE superseded_at IS NULL"
        ).fetchone()[0]


def reroll_labour_stock(folder: DataFolder, first: str, last: str | None = None, *,
                        instance: dg.DagsterInstance | None = None,
                        log_level: str = "INFO") -> list[RerolledMonth]:
    """Land and recompute the labour-archive stock month by month from ``first`` to ``last``.

    Stops at the first month that fails, because every later month would start from it.

    Args:
        folder: the data folder.
        first: the corrected month, 'YYYY-MM' (the first month after the opening balance to
            start from scratch).
        last: the last month to re-roll; by default the latest month with a recorded stock.
        instance: the Dagster instance; by default the persistent one under the data folder.
        log_level: the console log level of the runs.
    """
    from assets.extracts import landing_key
    from assets.labour_archive import ARCHIVE_STOCK_KEY
    from pipelines.definitions import all_asset_checks, all_assets
    from pipelines.resources import Warehouse
    from pipelines.runner import prepare_dagster_home

    last = last or last_stock_month(folder) or first
    periods = months_between(first, last)
    if instance is None:
        prepare_dagster_home(folder)
        instance = dg.DagsterInstance.get()
    # Only the stock: past months' workbooks are already with the subdistricts, and the
    # current month's are written again by its next run (`onceonly run`).
    selection = dg.AssetSelection.assets(landing_key("labour_archive"), ARCHIVE_STOCK_KEY)
    # Only the selected definitions go into the run: building a job over every asset of the
    # code location for each month costs more than the month's computation.
    keys = selection.resolve([*all_assets, *all_asset_checks])
    chosen = [a for a in all_assets if set(a.keys) & keys]
    outcomes = []
    for period in periods:
        result = dg.materialize(
            chosen,
            partition_key=period,
            instance=instance,
            resources={"warehouse": Warehouse(data_dir=str(folder.root))},
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            raise_on_error=False,
            tags={"onceonly/trigger": "labour-reroll"},
        )
        outcomes.append(RerolledMonth(period, result.run_id, result.success))
        if not result.success:
            break
    return outcomes


def labour_reroll(
    from_month: Annotated[str, typer.Option("--from", help="The corrected month, YYYY-MM.")],
    to_month: Annotated[
        str | None,
        typer.Option("--to", help="The last month to re-roll (default: latest with a stock)."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="The data folder (default: ./data).")
    ] = None,
) -> None:
    """Re-roll the labour-archive stock from a corrected month to the latest, in order."""
    from pipelines.cli import _folder, fail

    folder = _folder(data_dir)
    try:
        outcomes = reroll_labour_stock(folder, from_month, to_month)
    except ValueError as err:
        fail(str(err))
    for outcome in outcomes:
        if not outcome.success:
            fail(f"Re-rolling the labour-archive stock stopped at {outcome.period}; the reason "
                 f"is in the log above and in the Dagster UI (run {outcome.run_id}). Later "
                 "months were not re-rolled: fix the cause and run this command again from "
                 f"{outcome.period}.")
        typer.echo(f"{outcome.period}: labour-archive stock re-rolled.")
