"""The labour-resource archive stock (劳动力资源街道档案库存量): carried forward month by month."""

from onceonly.labour.stock import (
    ArchiveChanges,
    NegativeStockError,
    OpeningBalance,
    StockError,
    StockLine,
    district_total,
    first_stock_month,
    roll_forward,
)

__all__ = [
    "ArchiveChanges",
    "NegativeStockError",
    "OpeningBalance",
    "StockError",
    "StockLine",
    "district_total",
    "first_stock_month",
    "roll_forward",
]
