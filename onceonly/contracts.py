"""Feed contracts: the ODCS v3.1 YAML files in `contracts/feeds/`, read into typed objects.

The YAML files are the single statement of what each department sends. Readers, validators,
warehouse tables and reports are all built from what is loaded here, never declared twice.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "contracts"
FEEDS_DIR = CONTRACTS_DIR / "feeds"

# DuckDB column types for each ODCS logical type.
SQL_TYPES = {
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "number": "DECIMAL(12, 2)",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
}


def _custom(block: dict) -> dict:
    return {cp["property"]: cp["value"] for cp in block.get("customProperties", []) or []}


@dataclass(frozen=True, slots=True)
class QualityRule:
    """A column's ODCS quality rule (`metric: invalidValues`) with its severity.

    `arguments` may hold `minimum`/`maximum` (numbers), `validValues` or `pattern`; `severity`
    is "error" (the row is quarantined) or "warning" (the row loads and the cell is reported).
    """

    name: str
    description: str
    severity: str
    minimum: float | None = None
    maximum: float | None = None
    valid_values: tuple[str, ...] = ()
    pattern: str | None = None


def _quality(block: dict) -> tuple[QualityRule, ...]:
    rules = []
    for q in block.get("quality", []) or []:
        if q.get("metric") != "invalidValues":
            continue  # nullValues and the like restate `required`; rowCount is table-level
        args = q.get("arguments") or {}
        rules.append(QualityRule(
            name=q.get("name", "invalid_values"),
            description=q.get("description", ""),
            severity=q.get("severity", "error"),
            minimum=args.get("minimum"),
            maximum=args.get("maximum"),
            valid_values=tuple(args.get("validValues", ())),
            pattern=args.get("pattern"),
        ))
    return tuple(rules)


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a feed table, as the contract declares it."""

    name: str  # canonical name, used in the warehouse
    business_name: str  # the Chinese header departments write
    logical_type: str
    required: bool
    pii: str  # pii-id, pii-name, pii-address, sensitive, personal, public
    semantic: str  # id_number, name, address, date, timestamp, code, enum, amount, count, ...
    aliases: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    pattern: str | None = None
    primary_key: int = 0  # position in the key, 0 when not part of it
    quality: tuple[QualityRule, ...] = ()

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header under which this column may arrive: business name first, then aliases."""
        return (self.business_name, *self.aliases)

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.logical_type]


@dataclass(frozen=True, slots=True)
class TableContract:
    """One table of a feed: a CSV file, or one sheet of a workbook."""

    feed: str
    name: str
    business_name: str
    file_pattern: str
    sheet_name: str | None
    columns: tuple[Column, ...]

    @property
    def primary_key(self) -> tuple[str, ...]:
        keyed = sorted((c for c in self.columns if c.primary_key), key=lambda c: c.primary_key)
        return tuple(c.name for c in keyed)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"Table {self.name} has no column named {name!r}.")

    def matches_file(self, file_name: str) -> bool:
        suffix = "" if "." in self.file_pattern else ".*"
        return fnmatch.fnmatch(file_name, self.file_pattern + suffix)


@dataclass(frozen=True, slots=True)
class FeedContract:
    """A department's extract: who sends it, how often, and the tables in it."""

    id: str
    name: str
    department: str
    team: str
    extract_kind: str  # "full" (the whole population each time) or "changes"
    freshness_days: int
    version: str
    tables: tuple[TableContract, ...] = field(default_factory=tuple)
    path: Path | None = None

    def table(self, name: str) -> TableContract:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(f"Feed {self.id} has no table named {name!r}.")


def _column(prop: dict) -> Column:
    cps = _custom(prop)
    return Column(
        name=prop["name"],
        business_name=prop["businessName"],
        logical_type=prop.get("logicalType", "string"),
        required=bool(prop.get("required", False)),
        pii=prop.get("classification", "public"),
        semantic=cps.get("semanticType", "text"),
        aliases=tuple(cps.get("aliases", ())),
        allowed=tuple(cps.get("allowedValues", ())),
        pattern=cps.get("pattern"),
        primary_key=int(prop.get("primaryKeyPosition", 1)) if prop.get("primaryKey") else 0,
        quality=_quality(prop),
    )


def load_feed(path: Path) -> FeedContract:
    """Read one ODCS contract file."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    cps = _custom(doc)
    sla = {s["property"]: s for s in doc.get("slaProperties", [])}
    latency = sla.get("latency", {}).get("value", 31)
    frequency = sla.get("frequency", {})
    period_days = {"d": 1, "w": 7, "m": 31, "y": 366}.get(frequency.get("unit", "m"), 31)
    tables = []
    for obj in doc["schema"]:
        ocp = _custom(obj)
        tables.append(
            TableContract(
                feed=doc["id"],
                name=obj["name"],
                business_name=obj.get("businessName", obj["name"]),
                file_pattern=ocp["filePattern"],
                sheet_name=ocp.get("sheetName"),
                columns=tuple(_column(p) for p in obj["properties"]),
            )
        )
    return FeedContract(
        id=doc["id"],
        name=doc.get("name", doc["id"]),
        department=cps.get("department", ""),
        team=(doc.get("team") or {}).get("name", ""),
        extract_kind=cps.get("extractKind", "changes"),
        freshness_days=int(period_days * frequency.get("value", 1) + latency),
        version=doc["version"],
        tables=tuple(tables),
        path=path,
    )


@cache
def feeds() -> tuple[FeedContract, ...]:
    """Every feed contract under contracts/feeds, in file-name order."""
    return tuple(load_feed(p) for p in sorted(FEEDS_DIR.glob("*.yaml")))


def feed(feed_id: str) -> FeedContract:
    for f in feeds():
        if f.id == feed_id:
            return f
    known = ", ".join(f.id for f in feeds())
    raise KeyError(f"There is no feed contract named {feed_id!r}; the feeds are: {known}.")


def feed_for_file(file_name: str) -> FeedContract | None:
    """The feed whose file pattern the name matches, or None."""
    for f in feeds():
        if any(t.matches_file(file_name) for t in f.tables):
            return f
    return None
