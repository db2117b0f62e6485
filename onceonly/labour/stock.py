"""Carrying the labour-resource archive stock forward, one month at a time.

Subdistricts send only what changed in a month: archives received (入库数) and transferred out
(出库数). The stock is carried: a subdistrict's opening stock is its closing stock of the month
before, and its closing stock is opening + received - transferred out. The first month of a
subdistrict starts from the opening-balance file (期初库存), which states the stock as of the last
day of the month before.

A subdistrict that sent nothing for a month is *missing*, never zero: its closing stock is
unknown, and so is every later opening until the gap is filled, because the archives it received
or sent away that month are not known. So that workers and analysts still see a working figure,
each unknown line carries a *carried stock* (the last known stock plus the changes sent since,
leaving out the missing months) together with the date on which the stock was last known. The
carried stock is never added into the district total, which is marked incomplete instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from onceonly.periods import month_end, previous_period
from onceonly.reference import Subdistrict

# Line statuses.
REPORTED = "reported"  # opening known, changes sent: the closing stock is known
MISSING = "missing"  # the subdistrict sent nothing for the month
OPENING_UNKNOWN = "opening_unknown"  # changes sent, but an earlier month is missing
NEGATIVE = "negative"  # the figures sent make the stock negative: an error to fix at source

# Where the opening stock came from.
FROM_OPENING_BALANCE = "opening_balance"
FROM_PREVIOUS_MONTH = "previous_month"
PREVIOUS_MONTH_UNKNOWN = "previous_month_unknown"
NO_OPENING_BALANCE = "no_opening_balance"


class StockError(ValueError):
    """The stock cannot be computed for a month; the message says what to send or run."""


class NegativeStockError(StockError):
    """The figures sent make one or more subdistricts' stock negative."""

    def __init__(self, lines: Sequence[StockLine]):
        self.lines = list(lines)
        super().__init__(" ".join(negative_stock_message(line) for line in self.lines))


@dataclass(frozen=True, slots=True)
class OpeningBalance:
    """A subdistrict's archive stock as of the last day of the month before its first month."""

    subdistrict_code: str
    as_of: dt.date
    stock: int


@dataclass(frozen=True, slots=True)
class ArchiveChanges:
    """What one subdistrict sent for one month; weekly entries are already summed."""

    subdistrict_code: str
    received: int
    transferred_out: int
    entries: int = 1
    file_name: str | None = None
    file_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class StockLine:
    """One subdistrict's stock for one month."""

    period: str
    subdistrict_code: str
    subdistrict_name: str
    status: str
    opening_stock: int | None
    opening_basis: str
    received: int | None
    transferred_out: int | None
    closing_stock: int | None
    # When the closing stock is unknown: the last known stock plus the changes sent since, and
    # the day the stock was last known. Never counted as the stock itself.
    carried_stock: int | None
    known_as_of: dt.date | None
    change_entries: int = 0
    changes_file_name: str | None = None
    changes_file_sha256: str | None = None

    def figures(self) -> tuple:
        """What makes two computations of the same line differ (not the file it came from)."""
        return (self.status, self.opening_stock, self.opening_basis, self.received,
                self.transferred_out, self.closing_stock, self.carried_stock, self.known_as_of,
                self.change_entries)


@dataclass(frozen=True, slots=True)
class DistrictTotal:
    """The district's stock for a month: the sum of the subdistricts, when all are known."""

    period: str
    subdistricts: int
    reported: int
    missing: tuple[str, ...]  # subdistrict codes that sent nothing
    unknown: tuple[str, ...]  # subdistrict codes whose closing stock is unknown for any reason
    received: int
    transferred_out: int
    closing_stock: int | None  # None unless every subdistrict's closing stock is known
    known_closing_stock: int  # the sum over the subdistricts whose closing stock is known

    @property
    def complete(self) -> bool:
        return self.closing_stock is not None


def first_stock_month(balance: OpeningBalance) -> str:
    """The first month carried from an opening balance: the month after its as-of date.

    Raises:
        StockError: the balance is not dated on a month end, so part of a month would be
            counted twice or not at all.
    """
    following = balance.as_of + dt.timedelta(days=1)
    if following.day != 1:
        raise StockError(
            f"The opening balance of subdistrict {balance.subdistrict_code} is dated "
            f"{balance.as_of.isoformat()}, which is not the last day of a month. The stock is "
            "carried by whole months, so send the opening balance (劳动力档案期初库存) as of a "
            "month end."
        )
    return following.strftime("%Y-%m")


def negative_stock_message(line: StockLine) -> str:
    """The error a negative stock raises, in words an analyst can pass on to the subdistrict."""
    figure = line.closing_stock if line.closing_stock is not None else line.carried_stock
    opening = line.opening_stock if line.opening_stock is not None else line.carried_stock
    return (
        f"The labour-archive stock of {line.subdistrict_name} ({line.subdistrict_code}) for "
        f"{line.period} comes out negative ({figure}): opening {opening} + received "
        f"{line.received} - transferred out {line.transferred_out}. A stock cannot be negative; "
        f"check the 入库数 and 出库数 sent for {line.period} (and the opening stock) with the "
        f"subdistrict, and resend 劳动力档案变动_{line.period.replace('-', '')}."
    )


def roll_forward(
    period: str,
    subdistricts: Iterable[Subdistrict],
    balances: Mapping[str, OpeningBalance],
    previous: Mapping[str, StockLine],
    changes: Mapping[str, ArchiveChanges],
) -> list[StockLine]:
    """Every subdistrict's stock for ``period`` from last month's lines and this month's changes.

    Args:
        period: the month, 'YYYY-MM'.
        subdistricts: the district's subdistricts; each gets one line once its stock has started.
        balances: opening balances by subdistrict code.
        previous: last month's lines by subdistrict code (empty before anything was computed).
        changes: this month's reported changes by subdistrict code.

    Returns:
        One line per subdistrict whose stock has started by ``period``, in the given order. A
        subdistrict whose opening balance lies after ``period`` has no line yet. Lines whose
        stock comes out negative have status ``negative``; the caller records and refuses them.

    Raises:
        StockError: changes name a subdistrict that does not exist, a count is negative, or
            last month's stock is needed but was never computed.
    """
    subdistricts = list(subdistricts)
    known = {s.code for s in subdistricts}
    problems = [
        f"The changes for {period} name subdistrict code {code}, which is not one of the "
        "district's subdistricts; correct the 街道代码 in the file and resend it."
        for code in sorted(set(changes) - known)
    ]
    problems += [
        f"The changes of subdistrict {c.subdistrict_code} for {period} have a negative count "
        f"(入库数 {c.received}, 出库数 {c.transferred_out}); counts of archives cannot be "
        "negative, so correct the file and resend it."
        for c in changes.values() if c.received < 0 or c.transferred_out < 0
    ]
    if problems:
        raise StockError(" ".join(problems))

    lines = []
    needs_previous = []
    for sub in subdistricts:
        balance = balances.get(sub.code)
        start = first_stock_month(balance) if balance is not None else None
        if start is not None and period < start:
            continue  # this subdistrict's stock starts later
        if start == period:
            opening, basis = balance.stock, FROM_OPENING_BALANCE
            carried, known_as_of = balance.stock, balance.as_of
        elif sub.code in previous:
            before = previous[sub.code]
            if before.status == REPORTED:
                opening, basis = before.closing_stock, FROM_PREVIOUS_MONTH
                carried, known_as_of = before.closing_stock, month_end(before.period)
            else:
                opening, basis = None, PREVIOUS_MONTH_UNKNOWN
                carried, known_as_of = before.carried_stock, before.known_as_of
        elif balance is None and not previous:
            opening, basis, carried, known_as_of = None, NO_OPENING_BALANCE, None, None
        else:
            needs_previous.append(sub)
            continue
        lines.append(_line(period, sub, opening, basis, carried, known_as_of,
                           changes.get(sub.code)))

    if needs_previous:
        names = "、".join(f"{s.name} ({s.code})" for s in needs_previous)
        raise StockError(
            f"The labour-archive stock for {period} needs the closing stock of "
            f"{previous_period(period)} for {names}, which has not been computed. Materialise "
            f"{previous_period(period)} first, or backfill the months in order from the first "
            "month after the opening balance (`onceonly labour-reroll --from <month>`)."
        )
    return lines


def _line(period: str, sub: Subdistrict, opening: int | None, basis: str, carried: int | None,
          known_as_of: dt.date | None, sent: ArchiveChanges | None) -> StockLine:
    if sent is None:
        # Nothing sent: the month's changes are unknown, so the stock is unknown too.
        return StockLine(period, sub.code, sub.name, MISSING, opening, basis, None, None, None,
                         carried, known_as_of)
    net = sent.received - sent.transferred_out
    if opening is not None:
        closing, status = opening + net, REPORTED
        carried, known_as_of = None, None
    else:
        closing, status = None, OPENING_UNKNOWN
        carried = carried + net if carried is not None else None
    if (closing is not None and closing < 0) or (carried is not None and carried < 0):
        status = NEGATIVE
    return StockLine(period, sub.code, sub.name, status, opening, basis, sent.received,
                     sent.transferred_out, closing, carried, known_as_of, sent.entries,
                     sent.file_name, sent.file_sha256)


def district_total(period: str, lines: Sequence[StockLine]) -> DistrictTotal:
    """Sum the subdistricts; the total is only a total when every closing stock is known."""
    known = [line for line in lines if line.status == REPORTED]
    unknown = tuple(line.subdistrict_code for line in lines if line.status != REPORTED)
    return DistrictTotal(
        period=period,
        subdistricts=len(lines),
        reported=sum(line.received is not None for line in lines),
        missing=tuple(line.subdistrict_code for line in lines if line.status == MISSING),
        unknown=unknown,
        received=sum(line.received or 0 for line in lines),
        transferred_out=sum(line.transferred_out or 0 for line in lines),
        closing_stock=sum(line.closing_stock for line in known) if lines and not unknown
        else None,
        known_closing_stock=sum(line.closing_stock for line in known),
    )
