"""The field registry (contracts/field_registry.yaml): which department is the authority for
each pool field, and which other feeds carry the same field."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from onceonly.contracts import CONTRACTS_DIR, TableContract, feed, feeds

FIELD_REGISTRY_PATH = CONTRACTS_DIR / "field_registry.yaml"
USABLE_ID_STATUSES = ("valid", "unknown_county", "upgraded_from_15")
USABLE_ID_SQL = "(" + ", ".join(f"'{s}'" for s in USABLE_ID_STATUSES) + ")"


@dataclass(frozen=True, slots=True)
class FieldSource:
    """A column of one feed table that carries a pool field, and the ID that names the person."""

    feed: str
    table: str
    column: str
    id_column: str

    @property
    def label(self) -> str:
        return f"{self.feed}.{self.table}.{self.column}"


@dataclass(frozen=True, slots=True)
class PoolField:
    """One pool field: its names, catalogue, PII class, authority and other carriers."""

    name: str
    business_name: str
    catalogue: str
    department: str
    classification: str
    pool_table: str
    authority: FieldSource
    also_in: tuple[FieldSource, ...]


def _only_id_column(table: TableContract) -> str | None:
    ids = [c.name for c in table.columns if c.semantic == "id_number"]
    return ids[0] if len(ids) == 1 else None


def _source(entry: dict, where: str) -> FieldSource:
    try:
        contract = feed(entry["feed"]).table(entry["table"])
    except KeyError as err:
        raise ValueError(f"{where} names a feed or table that has no contract: {err}") from None
    id_column = entry.get("idColumn") or _only_id_column(contract)
    if id_column is None:
        raise ValueError(
            f"{where} ({entry['feed']}.{entry['table']}) has more than one ID column; add "
            "idColumn to say which one identifies the person."
        )
    return FieldSource(entry["feed"], entry["table"], entry["column"], id_column)


def load_field_registry(path: Path = FIELD_REGISTRY_PATH) -> tuple[PoolField, ...]:
    """Read the registry; raise ValueError naming the entry when one cannot be resolved."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    fields = []
    for i, entry in enumerate(doc["fields"], start=1):
        where = f"Field {entry.get('name', f'#{i}')} in {path.name}"
        fields.append(PoolField(
            name=entry["name"],
            business_name=entry["businessName"],
            catalogue=entry["catalogue"],
            department=entry["department"],
            classification=entry["classification"],
            pool_table=entry["poolTable"],
            authority=_source(entry["authority"], where + " (authority)"),
            also_in=tuple(_source(e, where + " (alsoIn)") for e in entry.get("alsoIn", ())),
        ))
    return tuple(fields)


@cache
def field_registry() -> tuple[PoolField, ...]:
    """The registry, read once per process."""
    return load_field_registry()


def person_fields() -> tuple[PoolField, ...]:
    """The fields of pool.person, in registry order."""
    return tuple(f for f in field_registry() if f.pool_table == "pool.person")


def registry_problems(registry: tuple[PoolField, ...]) -> list[str]:
    """Every way the registry disagrees with the feed contracts, as sentences; empty when sound.

    Checked: each referenced feed, table, column and ID column exists; the ID column is an ID;
    the field's department is its authority feed's department; its PII class is the authority
    column's; its catalogue is the authority feed's resource catalogue; a field has one entry.
    """
    problems: list[str] = []
    seen: set[str] = set()
    by_id = {f.id: f for f in feeds()}
    for f in registry:
        if f.name in seen:
            problems.append(f"Field {f.name} is listed twice; a field has exactly one authority.")
        seen.add(f.name)
        for role, source in [("authority", f.authority)] + [("alsoIn", s) for s in f.also_in]:
            table = by_id[source.feed].table(source.table)
            names = {c.name for c in table.columns}
            if source.column not in names:
                problems.append(f"Field {f.name}: {role} column {source.label} is not in the "
                                "contract; fix the column name in field_registry.yaml.")
            if source.id_column not in names or table.column(source.id_column).semantic != (
                    "id_number"):
                problems.append(f"Field {f.name}: {role} ID column {source.feed}.{source.table}."
                                f"{source.id_column} is not an ID-number column of the contract.")
        authority_feed = by_id[f.authority.feed]
        if f.department != authority_feed.department:
            problems.append(f"Field {f.name} names department {f.department}, but its authority "
                            f"feed {authority_feed.id} belongs to {authority_feed.department}.")
        if f.catalogue != authority_feed.name:
            problems.append(f"Field {f.name} is filed under catalogue {f.catalogue}, but its "
                            f"authority feed publishes catalogue {authority_feed.name}.")
        table = authority_feed.table(f.authority.table)
        if f.authority.column in {c.name for c in table.columns}:
            pii = table.column(f.authority.column).pii
            if pii != f.classification:
                problems.append(f"Field {f.name} is classed {f.classification}, but its "
                                f"authority column {f.authority.label} is classed {pii}.")
    return problems
