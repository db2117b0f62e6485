"""Calendar months of the simulation and the date formats the departments use."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """One calendar month, e.g. ``Month(2026, 1)``."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """Read 'YYYY-MM' (or 'YYYYMM')."""
        digits = text.replace("-", "")
        if len(digits) != 6 or not digits.isdigit() or not 1 <= int(digits[4:]) <= 12:
            raise ValueError(f"The month {text!r} is not of the form 'YYYY-MM', e.g. '2026-01'.")
        return cls(int(digits[:4]), int(digits[4:]))

    @property
    def first(self) -> dt.date:
        """The first day of the month."""
        return dt.date(self.year, self.month, 1)

    @property
    def last(self) -> dt.date:
        """The last day of the month."""
        return self.next().first - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        """How many days the month has."""
        return self.last.day

    @property
    def tag(self) -> str:
        """'YYYYMM', as in the extracts' file names."""
        return f"{self.year:04d}{self.month:02d}"

    @property
    def label(self) -> str:
        """'YYYY-MM', as in the labour archive's 统计期 and the truth files."""
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        """The following month."""
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def plus(self, months: int) -> Month:
        """The month ``months`` later."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def contains(self, day: dt.date) -> bool:
        """True when ``day`` falls inside this month."""
        return day.year == self.year and day.month == self.month


def chinese_date(day: dt.date) -> str:
    """'2026年1月5日', as the marriage registry and hand-made sheets write dates."""
    return f"{day.year}年{day.month}月{day.day}日"


def compact_date(day: dt.date) -> str:
    """'20260105', a form some household-register exports use."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"
