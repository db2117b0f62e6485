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
from onceonly.export_log import Export, record_exports
from onceonly.extracts.normalise import NormalisedTable, Problem, normalise_table
from onceonly.extracts.reading import (
    ExtractRejected,
    HeaderReport,
    decode_text,
    read_table,
    sha256_of,
)
from onceonly.inbox import inbox_files
from warehouse.schema import landing_columns, landing_table

log = logging.getLogger("onceonly.ingest")

_PERIOD_IN_NAME = re.compile(r"(?<!\d)(20\d{2})[-_]?(0[1-9]|1[0-2])(?!\d)")
OPENING = "opening"
# ingest.quarantine's columns in table order (warehouse/schema.sql).
_QUARANTINE_SCHEMA = {
    "file_sha256": pl.Utf8, "file_name": pl.Utf8, "feed": pl.Utf8, "table_name": pl.Utf8,
    "period": pl.Utf8, "sheet": pl.Utf8, "row_number": pl.Int32, "column_name": pl.Utf8,
    "business_name": pl.Utf8, "rule": pl.Utf8, "severity": pl.Utf8, "masked_value": pl.Utf8,
    "detail": pl.Utf8,
}


def period_of_file(name: str) -> str | None:
    """The month a file covers, from its name ('死亡登记_202603.xlsx' -> '2026-03')."""
    match = _PERIOD_IN_NAME.search(name)
    return f"{match.group(1)}-{match.group(2)}" if match else None


def months_in_inbox(inbox: Path) -> list[str]:
    """Every month for which the inbox holds at least one extract, oldest first."""
    accepted, _ = inbox_files(inbox)
    found = {period_of_file(p.name) for p in accepted}
    return sorted(m for m in found if m)


@dataclass(slots=True)
class FileOutcome:
    """What happened to one table of one file: loaded (with counts) or rejected (with why)."""

    file_name: str
    sha256: str
    table: str
    sheet: str | None = None
    encoding: str = "unknown"
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_for_review: int = 0
    cells_changed: int = 0
    header_row: int | None = None
    aliases_used: dict[str, str] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    rejection: str | None = None
    replaces_sha256: str | None = None
    duplicate_of: str | None = None  # another inbox file with the same content, loaded instead
    unchanged: bool = False  # the same content was already loaded: nothing was done
    normalised: NormalisedTable | None = None

    @property
    def problems(self) -> list[Problem]:
        return self.normalised.problems if self.normalised is not None else []


def inspect_table(path: Path, table: TableContract, sha: str,
                  staged: Path | None = None) -> FileOutcome:
    """Read, check and normalise one table of a file without loading anything.

    `staged` is the file's UTF-8 copy, when there is one, read instead of decoding again.
    """
    outcome = FileOutcome(path.name, sha, table.name, sheet=table.sheet_name)
    try:
        raw = read_table(path, table, staged)
        normalised = normalise_table(raw)
    except ExtractRejected as err:
        outcome.rejection = str(err)
        if err.header is not None:
            _fill_header(outcome, err.header, table)
        return outcome
    outcome.encoding = raw.encoding
    _fill_outcome(outcome, normalised)
    if not normalised.reconciles():
        raise RuntimeError(
            f"{path.name}: {normalised.rows_read} rows were read but {normalised.rows_loaded} "
            f"loaded and {normalised.rows_quarantined} quarantined. This is a defect in "
            f"onceonly, not in the file: report it with the file's SHA-256 {sha[:12]}."
        )
    return outcome


def inspect_file(path: Path, feed: FeedContract) -> list[FileOutcome]:
    """Every table of a feed that this file holds, checked against the contract, not loaded."""
    sha = sha256_of(path)
    tables = [t for t in feed.tables if t.matches_file(path.name)] or list(feed.tables)
    return [inspect_table(path, table, sha) for table in tables]


def files_for(feed: FeedContract, table: TableContract, inbox: Path, period: str) -> list[Path]:
    """The inbox files of one feed table for a month; an opening balance file has no month."""
    chosen = []
    accepted, _ = inbox_files(inbox)  # plain files with ordinary names only: no links, no dirs
    for path in accepted:
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
        # Written aside and renamed, so an interrupted run never leaves half a copy that later
        # runs would read as the whole file; bytes, so no newline is translated.
        partial = staged.with_name(f"{sha}.partial")
        partial.write_bytes(text.encode("utf-8"))
        partial.replace(staged)
    return encoding


def land_feed(conn: duckdb.DuckDBPyConnection, feed: FeedContract, inbox: Path, staging: Path,
              period: str, reports: Path | None = None) -> list[FileOutcome]:
    """Land every table of a feed for a month and write one validation report per file."""
    outcomes: list[FileOutcome] = []
    for table in feed.tables:
        outcomes += land_table(conn, feed, table, inbox, staging, period)
    if reports is not None:
        from onceonly.extracts.report import write_validation_report

        by_file: dict[str, list[FileOutcome]] = {}
        for o in outcomes:
            if not o.unchanged and o.duplicate_of is None:
                by_file.setdefault(o.file_name, []).append(o)
        written = []
        for file_name, file_outcomes in by_file.items():
            path = write_validation_report(report_path(reports, period, file_name), feed,
                                           file_outcomes)
            problems = sum(len(o.normalised.problems) for o in file_outcomes if o.normalised)
            written.append(Export(path, "validation_report", "1.0", None, period, problems))
        record_exports(conn, reports.parent, written)
    return outcomes


def report_path(reports: Path, period: str, file_name: str) -> Path:
    """Where a file's validation report goes: reports/validation/<month>/<name>_校验报告.xlsx."""
    return reports / "validation" / period / f"{Path(file_name).stem}_校验报告.xlsx"


def land_table(conn: duckdb.DuckDBPyConnection, feed: FeedContract, table: TableContract,
               inbox: Path, staging: Path, period: str) -> list[FileOutcome]:
    """Load every file of one feed table for a month, replacing what that month held before.

    When exactly the files already loaded for the month are in the inbox again (same content),
    nothing is read or written: that is logged as a no-op. A second inbox file with the same
    content as another is not loaded twice.
    """
    paths = files_for(feed, table, inbox, period)
    hashes = {path: sha256_of(path) for path in paths}
    if paths and _already_loaded(conn, table, period, set(hashes.values())):
        log.info("%s for %s: the same %d file(s) were already loaded; nothing to do.",
                 table.name, period, len(paths))
        return [FileOutcome(p.name, sha, table.name, unchanged=True) for p, sha in hashes.items()]
    outcomes: list[FileOutcome] = []
    read: list[tuple[Path, FileOutcome]] = []  # the files actually read, for ingest.files
    frames: list[pl.DataFrame] = []
    first_name_of: dict[str, str] = {}
    for path, sha in hashes.items():
        if sha in first_name_of:
            log.info("%s has the same content as %s; it is not loaded twice.", path.name,
                     first_name_of[sha])
            outcomes.append(FileOutcome(path.name, sha, table.name,
                                        duplicate_of=first_name_of[sha]))
            continue
        first_name_of[sha] = path.name
        replaces = _earlier_version(conn, path.name, sha)
        try:
            encoding = stage_copy(path, sha, staging)
        except ExtractRejected as err:
            outcome = FileOutcome(path.name, sha, table.name, rejection=str(err))
        else:
            outcome = inspect_table(path, table, sha, staging / f"{sha}.csv")
            outcome.encoding = encoding
        outcome.replaces_sha256 = replaces
        if outcome.normalised is not None:
            frames.append(_landing_frame(outcome.normalised, table, period, sha, path.name))
        outcomes.append(outcome)
        read.append((path, outcome))
    if any(o.rejection for o in outcomes):
        # A file of the month was refused: the month keeps what it held before, so a bad resend
        # never wipes good rows. The asset fails and the report says which file to fix.
        log.warning("A %s file for %s was rejected; the month's earlier rows are kept as they "
                    "were.", table.name, period)
    else:
        _replace_period(conn, table, period, frames, outcomes)
    for path, outcome in read:
        _record_file(conn, feed, table, outcome, period, path)
    return outcomes


def _already_loaded(conn, table: TableContract, period: str, hashes: set[str]) -> bool:
    file_period = OPENING if table.name.endswith("_opening") else period
    rows = conn.execute(
        "SELECT file_sha256, status FROM ingest.file_tables WHERE table_name = ? AND period = ? "
        "AND status <> 'superseded'", [table.name, file_period],
    ).fetchall()
    return bool(rows) and {sha for sha, _ in rows} == hashes and all(
        status == "loaded" for _, status in rows)


def _fill_header(outcome: FileOutcome, header: HeaderReport, table: TableContract) -> None:
    outcome.header_row = header.header_row
    outcome.aliases_used = dict(header.aliases_used)
    outcome.extra_columns = list(header.extra_columns)
    outcome.missing_columns = [table.column(n).business_name for n in header.missing_required]


def _fill_outcome(outcome: FileOutcome, normalised: NormalisedTable) -> None:
    raw = normalised.raw
    outcome.sheet = raw.sheet
    outcome.rows_read = normalised.rows_read
    outcome.rows_loaded = normalised.rows_loaded
    outcome.rows_quarantined = normalised.rows_quarantined
    outcome.rows_for_review = len({p.row_number for p in normalised.problems
                                   if p.severity == "review"})
    outcome.cells_changed = normalised.cells_changed
    _fill_header(outcome, raw.header, raw.table)
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
            (o.sha256, o.file_name, table.feed, table.name, file_period, o.sheet,
             p.row_number, p.column, p.business_name, p.rule, p.severity, p.masked_value, p.detail)
            for o in outcomes if o.normalised is not None for p in o.normalised.problems
        ]
        if rows:
            # One columnar insert: executemany runs a statement per row, which at a district's
            # thousands of problems a month takes longer than landing the million good rows.
            quarantined = pl.DataFrame(
                [list(column) for column in zip(*rows, strict=True)],
                schema=_QUARANTINE_SCHEMA, orient="col",
            )
            conn.register("quarantined", quarantined.to_arrow())
            conn.execute("INSERT INTO ingest.quarantine SELECT * FROM quarantined")
            conn.unregister("quarantined")
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise


def _earlier_version(conn, file_name: str, sha: str) -> str | None:
    row = conn.execute(
        "SELECT sha256 FROM ingest.files WHERE file_name = ? AND sha256 <> ? "
        "AND status <> 'superseded' ORDER BY first_seen_at DESC LIMIT 1",
        [file_name, sha],
    ).fetchone()
    return row[0] if row else None


def _record_file(conn, feed: FeedContract, table: TableContract, outcome: FileOutcome,
                 period: str, path: Path) -> None:
    """Record one table of a file in ingest.file_tables, then the file's totals in ingest.files.

    A workbook with two sheets is one file holding two tables, so its counts in ingest.files
    are the sums over ingest.file_tables, and it is 'rejected' when any of its tables is.
    """
    now = dt.datetime.now().replace(microsecond=0)
    status = "rejected" if outcome.rejection else "loaded"
    file_period = OPENING if table.name.endswith("_opening") else period
    conn.execute(
        "INSERT OR REPLACE INTO ingest.file_tables VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [outcome.sha256, outcome.file_name, feed.id, table.name, outcome.sheet, file_period,
         outcome.header_row, outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined,
         outcome.rows_for_review, outcome.cells_changed,
         json.dumps(outcome.aliases_used, ensure_ascii=False),
         json.dumps(outcome.extra_columns, ensure_ascii=False), status, outcome.rejection, now],
    )
    existing = conn.execute(
        "SELECT first_seen_at FROM ingest.files WHERE sha256 = ?", [outcome.sha256]
    ).fetchone()
    if existing is None:
        conn.execute(
            "INSERT INTO ingest.files VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?, ?, ?)",
            [outcome.sha256, outcome.file_name, feed.id, period, outcome.encoding,
             path.stat().st_size, now, now, status, outcome.rejection, outcome.replaces_sha256],
        )
    conn.execute(
        """
        UPDATE ingest.files f SET
          loaded_at = $1,
          rows_read = t.rows_read, rows_loaded = t.rows_loaded,
          rows_quarantined = t.rows_quarantined, cells_changed = t.cells_changed,
          status = CASE WHEN t.rejected > 0 THEN 'rejected' ELSE 'loaded' END,
          rejection = t.rejection,
          replaces_sha256 = coalesce(f.replaces_sha256, $2)
        FROM (
          SELECT file_sha256, sum(rows_read) AS rows_read, sum(rows_loaded) AS rows_loaded,
                 sum(rows_quarantined) AS rows_quarantined, sum(cells_changed) AS cells_changed,
                 count(*) FILTER (WHERE status = 'rejected') AS rejected,
                 string_agg(rejection, ' ') AS rejection
          FROM ingest.file_tables WHERE file_sha256 = $3 GROUP BY file_sha256
        ) t
        WHERE f.sha256 = t.file_sha256
        """,
        [now, outcome.replaces_sha256, outcome.sha256],
    )
    if outcome.replaces_sha256 and not outcome.rejection:
        log.info("%s is a corrected version of an earlier file with the same name (%s...); "
                 "its rows replace the earlier ones.", outcome.file_name,
                 outcome.replaces_sha256[:12])
        conn.execute("UPDATE ingest.files SET status = 'superseded' WHERE sha256 = ?",
                     [outcome.replaces_sha256])
        conn.execute("UPDATE ingest.file_tables SET status = 'superseded' WHERE file_sha256 = ?",
                     [outcome.replaces_sha256])
