"""Reading the landed archive changes and keeping every version of the stock in DuckDB."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

import duckdb

from onceonly.labour.stock import (
    NEGATIVE,
    ArchiveChanges,
    NegativeStockError,
    OpeningBalance,
    StockError,
    StockLine,
    previous_period,
    roll_forward,
)
from onceonly.reference import Subdistrict, subdistricts

STOCK_FORM_ID = "labour_archive_stock"  # the form subdistricts return their counts on
_LINE_COLUMNS = ("period", "subdistrict_code", "subdistrict_name", "status", "opening_stock",
                 "opening_basis", "received", "transferred_out", "closing_stock",
                 "carried_stock", "known_as_of", "change_entries", "changes_file_name",
                 "changes_file_sha256")


def ensure_labour_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the labour schema's tables and views if they do not exist yet."""
    sql = resources.files("warehouse").joinpath("sql", "labour_schema.sql")
    conn.execute(sql.read_text(encoding="utf-8"))


def opening_balances(conn: duckdb.DuckDBPyConnection) -> dict[str, OpeningBalance]:
    """The landed opening balance per subdistrict (the latest 期初库存 file replaces earlier ones).

    Raises:
        StockError: a subdistrict appears more than once, so its opening is ambiguous.
    """
    rows = conn.execute(
        "SELECT subdistrict_code, as_of, opening_stock, _file_name FROM "
        "landing.labour_archive_opening WHERE _period = 'opening' ORDER BY subdistrict_code"
    ).fetchall()
    balances: dict[str, OpeningBalance] = {}
    repeated = set()
    for code, as_of, stock, _ in rows:
        if code in balances:
            repeated.add(code)
        balances[code] = OpeningBalance(code, as_of, int(stock))
    if repeated:
        raise StockError(
            f"The opening balance file ({rows[0][3]}) lists subdistrict(s) "
            f"{', '.join(sorted(repeated))} more than once, so their opening stock is ambiguous. "
            "Send one row per subdistrict and run again."
        )
    return balances


def reported_changes(conn: duckdb.DuckDBPyConnection, period: str) -> dict[str, ArchiveChanges]:
    """Each subdistrict's landed changes for a month; several (weekly) rows are summed.

    Raises:
        StockError: a row's 统计期 lies outside the month its file was landed for.
    """
    rows = conn.execute(
        "SELECT subdistrict_code, period, received, transferred_out, _file_name, _file_sha256, "
        "_row_number FROM landing.labour_archive_changes WHERE _period = ? "
        "ORDER BY subdistrict_code, _file_name, _row_number",
        [period],
    ).fetchall()
    month_digits = period.replace("-", "")
    outside = [(name, row_number, stated) for _, stated, _, _, name, _, row_number in rows
               if re.sub(r"\D", "", stated or "")[:6] != month_digits]
    if outside:
        where = "; ".join(f"{name} row {row_number} says {stated!r}"
                          for name, row_number, stated in outside[:5])
        raise StockError(
            f"{len(outside)} row(s) of the labour-archive changes for {period} state another "
            f"统计期 ({where}). Each month's changes go in that month's file; correct the "
            "统计期 or move the rows, and resend."
        )
    changes: dict[str, ArchiveChanges] = {}
    for code, _, received, transferred_out, name, sha, _ in rows:
        before = changes.get(code)
        if before is None:
            changes[code] = ArchiveChanges(code, int(received), int(transferred_out), 1, name, sha)
        else:
            changes[code] = ArchiveChanges(
                code, before.received + int(received),
                before.transferred_out + int(transferred_out), before.entries + 1,
                before.file_name, before.file_sha256)
    changes.update(returned_changes(conn, period))
    return changes


def returned_changes(conn: duckdb.DuckDBPyConnection, period: str) -> dict[str, ArchiveChanges]:
    """The counts subdistricts entered on the returned stock form for a month, by code.

    What a subdistrict entered on its own form is its latest word for the month, so it takes
    the place of the extract's row for that subdistrict; the latest loaded return wins.
    """
    has_returns = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'forms' "
        "AND table_name = 'entered_values'").fetchone()[0]
    if not has_returns:
        return {}
    rows = conn.execute(
        """
        WITH latest AS (
          SELECT subdistrict_code, field_id, number, file_sha256 FROM forms.entered_values
          WHERE form_id = ? AND period = ? AND row_key = subdistrict_code
            AND field_id IN ('received', 'transferred_out')
          QUALIFY row_number() OVER (PARTITION BY subdistrict_code, field_id
                                     ORDER BY loaded_at DESC, file_sha256) = 1
        )
        SELECT subdistrict_code, max(number) FILTER (WHERE field_id = 'received'),
               max(number) FILTER (WHERE field_id = 'transferred_out'), max(file_sha256)
        FROM latest GROUP BY subdistrict_code ORDER BY subdistrict_code
        """,
        [STOCK_FORM_ID, period],
    ).fetchall()
    return {code: ArchiveChanges(code, int(received), int(out), 1, "returned stock form", sha)
            for code, received, out, sha in rows if received is not None and out is not None}


def stock_lines(conn: duckdb.DuckDBPyConnection, period: str) -> dict[str, StockLine]:
    """The current stock lines of a month, by subdistrict code."""
    names = ", ".join(_LINE_COLUMNS)
    rows = conn.execute(
        f"SELECT {names} FROM labour.archive_stock WHERE period = ? ORDER BY subdistrict_code",
        [period],
    ).fetchall()
    return {row[1]: StockLine(*row) for row in rows}


@dataclass(frozen=True, slots=True)
class StockRecorded:
    """What recording a month's lines changed in labour.archive_stock_versions."""

    period: str
    lines: list[StockLine]
    new_versions: int
    superseded: int
    unchanged: int


def record_stock(conn: duckdb.DuckDBPyConnection, period: str, lines: Sequence[StockLine], *,
                 run_id: str | None = None, now: dt.datetime | None = None) -> StockRecorded:
    """Make ``lines`` the month's current figures, keeping what they replace as superseded.

    A line whose figures equal the current ones is left alone, so a rerun adds nothing. In one
    transaction, so a failure leaves the month as it was.
    """
    now = now or dt.datetime.now().replace(microsecond=0)
    current = stock_lines(conn, period)
    latest = dict(conn.execute(
        "SELECT subdistrict_code, max(version) FROM labour.archive_stock_versions "
        "WHERE period = ? GROUP BY subdistrict_code", [period]).fetchall())
    new_versions = superseded = unchanged = 0
    conn.execute("BEGIN TRANSACTION")
    try:
        for line in lines:
            before = current.pop(line.subdistrict_code, None)
            if before is not None and before.figures() == line.figures():
                unchanged += 1
                continue
            version = latest.get(line.subdistrict_code, 0) + 1
            if before is not None:
                _supersede(conn, period, line.subdistrict_code, version,
                           _why_superseded(before, line), now)
                superseded += 1
            values = [getattr(line, c) for c in _LINE_COLUMNS]
            conn.execute(
                f"INSERT INTO labour.archive_stock_versions ({', '.join(_LINE_COLUMNS)}, "
                "version, computed_at, run_id) VALUES "
                f"({', '.join('?' * (len(_LINE_COLUMNS) + 3))})",
                [*values, version, now, run_id],
            )
            new_versions += 1
        for code in current:  # a subdistrict whose stock no longer starts this early
            _supersede(conn, period, code, None, "the opening balance now starts later", now)
            superseded += 1
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    return StockRecorded(period, list(lines), new_versions, superseded, unchanged)


def _supersede(conn, period: str, code: str, by_version: int | None, reason: str,
               now: dt.datetime) -> None:
    conn.execute(
        "UPDATE labour.archive_stock_versions SET superseded_at = ?, superseded_by_version = ?, "
        "superseded_reason = ? WHERE period = ? AND subdistrict_code = ? "
        "AND superseded_at IS NULL",
        [now, by_version, reason, period, code],
    )


def _why_superseded(before: StockLine, after: StockLine) -> str:
    if before.changes_file_sha256 != after.changes_file_sha256:
        if after.received is None:
            return "changes withdrawn"
        if after.changes_file_name == "returned stock form":
            return "counts entered on the returned stock form"
        return "corrected changes file"
    if (before.opening_stock, before.opening_basis, before.carried_stock) != (
            after.opening_stock, after.opening_basis, after.carried_stock):
        return "re-rolled: the opening stock changed with an earlier month"
    return "recomputed"


def carry_forward_stock(conn: duckdb.DuckDBPyConnection, period: str, *,
                        district: Iterable[Subdistrict] | None = None,
                        run_id: str | None = None,
                        now: dt.datetime | None = None) -> StockRecorded:
    """Compute and record every subdistrict's stock for ``period`` from what has been landed.

    The first month of a subdistrict starts from the opening balance; later months start from
    the recorded closing stock of the month before, which must have been computed first.

    Raises:
        StockError: the stock cannot be computed (no opening balance, last month not computed,
            impossible counts); nothing is recorded.
        NegativeStockError: a stock came out negative. The lines are recorded first (with
            status ``negative``) so the analyst sees the figures, then this is raised.
    """
    ensure_labour_tables(conn)
    district = list(district or subdistricts())
    balances = opening_balances(conn)
    changes = reported_changes(conn, period)
    if not balances:
        if changes:
            raise StockError(
                f"Labour-archive changes for {period} have been landed, but no opening balance "
                "(劳动力档案期初库存.csv) ever was, so there is no stock to carry them from. Put "
                "the opening balance file in the inbox and run the first month again."
            )
        return record_stock(conn, period, [], run_id=run_id, now=now)
    _reroll_recorded_months_before(conn, period, district, balances, run_id=run_id, now=now)
    previous = stock_lines(conn, previous_period(period))
    lines = roll_forward(period, district, balances, previous, changes)
    recorded = record_stock(conn, period, lines, run_id=run_id, now=now)
    negative = [line for line in lines if line.status == NEGATIVE]
    if negative:
        raise NegativeStockError(negative)
    return recorded


def _reroll_recorded_months_before(conn, period: str, district: list[Subdistrict],
                                   balances: dict[str, OpeningBalance], *, run_id: str | None,
                                   now: dt.datetime | None) -> None:
    """Bring every recorded month before ``period`` up to date with what is landed now.

    A returned stock form for a past month is loaded by a later month's run, and a resent
    file may have been landed without the months after it being re-rolled; either would leave
    this month starting from a stale closing stock. Months whose figures still hold are left
    alone (record_stock adds no version), and a month that now fails stops the re-roll.
    """
    earlier = [p for (p,) in conn.execute(
        "SELECT DISTINCT period FROM labour.archive_stock WHERE period < ? ORDER BY period",
        [period]).fetchall()]
    for month in earlier:
        previous = stock_lines(conn, previous_period(month))
        lines = roll_forward(month, district, balances, previous, reported_changes(conn, month))
        if any(line.status == NEGATIVE for line in lines):
            raise NegativeStockError([line for line in lines if line.status == NEGATIVE])
        record_stock(conn, month, lines, run_id=run_id, now=now)


def stock_history(conn: duckdb.DuckDBPyConnection, period: str,
                  subdistrict_code: str) -> list[tuple]:
    """Every recorded version of one subdistrict's month: (version, closing, carried, status,
    superseded_at, superseded_by_version, superseded_reason), oldest first."""
    return conn.execute(
        "SELECT version, closing_stock, carried_stock, status, superseded_at, "
        "superseded_by_version, superseded_reason FROM labour.archive_stock_versions "
        "WHERE period = ? AND subdistrict_code = ? ORDER BY version",
        [period, subdistrict_code],
    ).fetchall()
