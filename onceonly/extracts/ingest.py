"""Landing a department's extract for one month: read, normalise, quarantine, reconcile, load.

Loading a month replaces that month's rows for the feed in one transaction, so running the same
month again (a rerun, a backfill, a corrected file) never duplicates anything.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from onceonly.contracts import FeedContract, TableContract
from onceonly.extracts.normalise import NormalisedTable, normalise_table
from onceonly.extracts.reading import ExtractRejected, decode_text, read_table, sha256_of
from warehouse.schema import landing_columns, landing_table

log = logging.getLogger("onceonly.ingest")

_PERIOD_IN_NAME = re.compile(r"(?<!\d)(20\d{2})[-_]?(0[1-9]|1[0-2])(?!\d)")
OPENING = "opening"


def period_of_file(name: str) -> str | None:
    """The month a file covers, from its name ('死亡登记_202603.xlsx' -> '2026-03')."""
    match = _PERIOD_IN_NAME.search(name)
    return f"{match.group(1)}-{match.group(2)}" if match else None


def months_in_inbox(inbox: Path) -> list[str]:
    """Every month for which the inbox holds at least one extract, oldest first."""
    found = {period_of_file(p.name) for p in inbox.iterdir() if p.is_file()} if inbox.exists() else set()
    return sorted(m for m in found if m)


@dataclass(slots=True)
class FileOutcome:
    """What happened to one file: loaded (with counts) or rejected (with the reason)."""

    file_name: str
    sha256: str
    table: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_for_review: int = 0
    cells_changed: int = 0
    aliases_used: dict[str, str] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    rejection: str | None = None
    replaces_sha256: str | None = None
    normalised: NormalisedTable | None = None


def files_for(feed: FeedContract, table: TableContract, inbox: Path, period: str) -> list[Path]:
    """The inbox files of one feed table for a month; an opening balance file has no month."""
    if not inbox.exists():
        return []
    chosen = []
    for path in sorted(inbox.iterdir()):
        if not path.is_file() or path.name.startswith((".", "~$")):
            continue
        if not table.matches_file(path.name):
            continue
        file_period = period_of_file(path.name)
        if file_period == period or (file_period is None and table.name.endswith("_opening")):
            chosen.append(path)
    return chosen


def stage_copy(path: Path, sha: str, staging: Path) -> str:
    """Keep a UTF-8 copy of a CSV extract under its content hash; return the source encoding.

    DuckDB and Polars can only scan UTF-8, so anything that reads the file again reads this
    copy; the original encoding is recorded with the file.
    """
    if path.suffix.lower() != ".csv":
        return "xlsx"
    text, encoding = decode_text(path.read_bytes(), path.name)
    staged = staging / f"{sha}.csv"
    if not staged.exists():
        staging.mkdir(parents=True, exist_ok=True)
        staged.write_text(text, encoding="utf-8")
    return encoding


def land_table(conn: duckdb.DuckDBPyConnection, feed: FeedContract, table: TableContract,
               inbox: Path, staging: Path, period: str) -> list[FileOutcome]:
    """Load every file of one feed table for a month, replacing what that month held before."""
    outcomes: list[FileOutcome] = []
    frames: list[pl.DataFrame] = []
    for path in files_for(feed, table, inbox, period):
        sha = sha256_of(path)
        outcome = FileOutcome(path.name, sha, table.name)
        outcome.replaces_sha256 = _earlier_version(conn, path.name, sha)
        try:
            encoding = stage_copy(path, sha, staging)
            normalised = normalise_table(read_table(path, table))
        except ExtractRejected as err:
            outcome.rejection = str(err)
            _record_file(conn, feed, outcome, period, path, encoding="unknown")
            outcomes.append(outcome)
            continue
        _fill_outcome(outcome, normalised)
        if not normalised.reconciles():
            raise RuntimeError(
                f"{path.name}: {normalised.rows_read} rows were read but {normalised.rows_loaded} "
                f"loaded and {normalised.rows_quarantined} quarantined. This is a defect in "
                "onceonly, not in the file: report it with the file's SHA-256 "
                f"{sha[:12]}."
            )
        frames.append(_landing_frame(normalised, table, period, sha, path.name))
        _record_file(conn, feed, outcome, period, path, encoding)
        outcomes.append(outcome)
    _replace_period(conn, table, period, frames, outcomes)
    return outcomes


def _fill_outcome(outcome: FileOutcome, normalised: NormalisedTable) -> None:
    outcome.rows_read = normalised.rows_read
    outcome.rows_loaded = normalised.rows_loaded
    outcome.rows_quarantined = normalised.rows_quarantined
    outcome.rows_for_review = len({p.row_number for p in normalised.problems
                                   if p.severity == "review"})
    outcome.cells_changed = normalised.cells_changed
    outcome.aliases_used = dict(normalised.raw.header.aliases_used)
    outcome.extra_columns = list(normalised.raw.header.extra_columns)
    outcome.normalised = normalised


def _landing_frame(normalised: NormalisedTable, table: TableContract, period: str, sha: str,
                   file_name: str) -> pl.DataFrame:
    frame = normalised.loaded
    extras = [c for c in frame.columns if c.startswith("extra:")]
    if extras:
        extra_json = frame.select(
            pl.struct([pl.col(c).alias(c.removeprefix("extra:")) for c in extras])
            .map_elements(lambda s: json.dumps(s, ensure_ascii=False), return_dtype=pl.Utf8)
        ).to_series()
    else:
        extra_json = pl.Series([None] * frame.height, dtype=pl.Utf8)
    file_period = OPENING if table.name.endswith("_opening") else period
    lineage = {
        "_extra": extra_json,
        "_period": pl.Series([file_period] * frame.height, dtype=pl.Utf8),
        "_file_sha256": pl.Series([sha] * frame.height, dtype=pl.Utf8),
        "_file_name": pl.Series([file_name] * frame.height, dtype=pl.Utf8),
        "_sheet": pl.Series([normalised.raw.sheet] * frame.height, dtype=pl.Utf8),
    }
    columns = []
    for name, _ in landing_columns(table):
        if name in lineage:
            columns.append(lineage[name].alias(name))
        elif name in frame.columns:
            columns.append(frame[name])
        else:
            columns.append(pl.Series(name, [None] * frame.height, dtype=pl.Utf8))
    return pl.DataFrame(columns)


def _replace_period(conn, table: TableContract, period: str, frames: list[pl.DataFrame],
                    outcomes: list[FileOutcome]) -> None:
    target = landing_table(table)
    file_period = OPENING if table.name.endswith("_opening") else period
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(f"DELETE FROM {target} WHERE _period = ?", [file_period])
        conn.execute("DELETE FROM ingest.quarantine WHERE table_name = ? AND period = ?",
                     [table.name, file_period])
        for frame in frames:
            if frame.height:
                conn.register("incoming", frame.to_arrow())
                names = ", ".join(f'"{c}"' for c in frame.columns)
                conn.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM incoming")
                conn.unregister("incoming")
        rows = [
            (o.sha256, o.file_name, table.feed, table.name, file_period, o.normalised.raw.sheet,
             p.row_number, p.column, p.business_name, p.rule, p.severity, p.masked_value, p.detail)
            for o in outcomes if o.normalised is not None for p in o.normalised.problems
        ]
        if rows:
            conn.executemany(
                "INSERT INTO ingest.quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise


def _earlier_version(conn, file_name: str, sha: str) -> str | None:
    row = conn.execute(
        "SELECT sha256 FROM ingest.files WHERE file_name = ? AND sha256 <> ? "
        "ORDER BY first_seen_at DESC LIMIT 1",
        [file_name, sha],
    ).fetchone()
    return row[0] if row else None


def _record_file(conn, feed: FeedContract, outcome: FileOutcome, period: str, path: Path,
                 encoding: str) -> None:
    now = dt.datetime.now().replace(microsecond=0)
    status = "rejected" if outcome.rejection else "loaded"
    existing = conn.execute(
        "SELECT rows_read FROM ingest.files WHERE sha256 = ?", [outcome.sha256]
    ).fetchone()
    if existing is None:
        conn.execute(
            "INSERT INTO ingest.files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [outcome.sha256, outcome.file_name, feed.id, period, encoding, path.stat().st_size,
             now, now, outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined,
             outcome.cells_changed, status, outcome.rejection, outcome.replaces_sha256],
        )
    else:
        # A multi-sheet workbook is one file holding several tables: counts add up per file.
        conn.execute(
            "UPDATE ingest.files SET loaded_at = ?, status = ?, rejection = ? WHERE sha256 = ?",
            [now, status, outcome.rejection, outcome.sha256],
        )
    if outcome.replaces_sha256:
        conn.execute("UPDATE ingest.files SET status = 'superseded' WHERE sha256 = ?",
                     [outcome.replaces_sha256])
