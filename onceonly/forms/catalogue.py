"""The form catalogue: every report form defined as data in contracts/forms/*.yaml.

A form states who issues it and on what legal or policy basis, its life-cycle status, the
period it covers, what one row is (a person of a target group, or a subdistrict), and each field:
prefilled from the pool (naming the authoritative department's feed and column), derived from
other fields by a stated formula, or entered by hand under a rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from onceonly.contracts import CONTRACTS_DIR, FeedContract, TableContract, feeds
from onceonly.forms.formulas import FormulaError, formula_inputs, parse_formula

FORMS_DIR = CONTRACTS_DIR / "forms"

STATUSES = ("draft", "approved", "emergency", "retired")
PERIODS = ("monthly", "weekly")
SCOPES = ("person", "subdistrict")
KINDS = ("prefilled", "derived", "entry")


class FormDefinitionError(ValueError):
    """A form definition file is incomplete or contradicts itself; every problem is listed."""


@dataclass(frozen=True, slots=True)
class EntryRule:
    """What a worker may type into a hand-entry field."""

    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    date: bool = False
    text: bool = False  # phone numbers and codes: kept as text, never a number
    required: bool = False
    reuse: bool = False  # what was entered once is offered again next period, on any form

    @property
    def numeric(self) -> bool:
        return self.minimum is not None or self.maximum is not None or self.integer

    def describe(self) -> str:
        """The rule in the words a worker reads in the report."""
        if self.choices:
            return "从下拉列表选择：" + "、".join(self.choices)
        if self.date:
            return "填写日期，例如2026-03-05"
        if self.numeric:
            kind = "整数" if self.integer else "数字"
            low = "" if self.minimum is None else f"{self.minimum:g}"
            high = "" if self.maximum is None else f"{self.maximum:g}"
            return f"填写{kind}，范围{low}到{high}"
        return "填写文字"


@dataclass(frozen=True, slots=True)
class PrefillSource:
    """Where a prefilled field comes from: a feed (its department) and a column or a measure."""

    feed: str
    department: str
    table: str | None  # the landing table holding the column, None for a computed measure
    column: str | None  # the landing column, None for a measure (a count, a carried stock)
    record_key: str | None  # the form field whose value finds the record in that table
    record_key_column: str | None  # the landing column that record key is compared with
    group_column: str  # the column of the target group's rows that holds the value


@dataclass(frozen=True, slots=True)
class FormField:
    """One column of a form."""

    id: str
    label: str
    concept: str  # what the field means, shared by every form that asks for the same thing
    kind: str  # prefilled, derived or entry
    source: PrefillSource | None = None
    formula: str | None = None
    rule: EntryRule | None = None
    text: bool = False  # written with the text format '@' (IDs, codes, phone numbers)
    date: bool = False
    width: int = 14
    note: str = ""

    @property
    def correctable(self) -> bool:
        """A changed value can be checked against the department's next extract."""
        return bool(self.source and self.source.column and self.source.record_key)


@dataclass(frozen=True, slots=True)
class FormDefinition:
    """A report form, as its definition file states it."""

    id: str
    version: str
    title: str
    department: str
    basis: str
    status: str
    approved_on: dt.date | None
    review_by: dt.date | None
    period: str
    scope: str
    group: str
    row_key: str
    subject: str  # the field identifying the person or subdistrict a row is about
    fields: tuple[FormField, ...]
    replaces: tuple[str, ...] = ()
    replaced_by: str | None = None
    # A row the worker adds is accepted only when this entry field holds this choice (e.g. the
    # care list's 名册调整 = 添加入册); otherwise added rows are refused.
    addition: tuple[str, str] | None = None
    path: Path | None = field(default=None, compare=False)

    def field(self, field_id: str) -> FormField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(f"Form {self.id} has no field named {field_id!r}.")

    @property
    def prefilled(self) -> tuple[FormField, ...]:
        return tuple(f for f in self.fields if f.kind == "prefilled")

    @property
    def entered(self) -> tuple[FormField, ...]:
        return tuple(f for f in self.fields if f.kind == "entry")

    @property
    def derived(self) -> tuple[FormField, ...]:
        return tuple(f for f in self.fields if f.kind == "derived")

    @property
    def prefilled_share(self) -> float:
        """Prefilled fields as a share of all fields."""
        return len(self.prefilled) / len(self.fields) if self.fields else 0.0


def _date(value: object, where: str, problems: list[str]) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where} is {value!r}, which is not a date; write it as YYYY-MM-DD.")
        return None


def _table_with(feed: FeedContract, column: str) -> TableContract | None:
    for table in feed.tables:
        if any(c.name == column for c in table.columns):
            return table
    return None


def _record_key_column(table: TableContract) -> str | None:
    """The column that identifies a record: the person's ID if there is one, else the key."""
    for c in table.columns:
        if c.semantic == "id_number" and (c.primary_key or not table.primary_key):
            return c.name
    keys = table.primary_key
    return keys[0] if len(keys) == 1 else None


def _field(raw: dict, where: str, known_feeds: dict[str, FeedContract],
           problems: list[str]) -> FormField | None:
    fid, label = raw.get("id"), raw.get("label")
    if not fid or not label:
        problems.append(f"{where} needs both an id and a label.")
        return None
    where = f"{where} ({fid})"
    kinds = [k for k, key in (("prefilled", "prefill"), ("derived", "derive"), ("entry", "entry"))
             if key in raw]
    if len(kinds) != 1:
        problems.append(f"{where} must have exactly one of prefill, derive or entry.")
        return None
    kind = kinds[0]
    source = rule = formula = None
    text = bool(raw.get("text", False))
    date = bool(raw.get("date", False))
    if kind == "prefilled":
        spec = raw["prefill"] or {}
        feed = known_feeds.get(spec.get("feed", ""))
        if feed is None:
            problems.append(f"{where} is prefilled from feed {spec.get('feed')!r}, which has no "
                            "contract in contracts/feeds; name one of: "
                            + ", ".join(sorted(known_feeds)) + ".")
            return None
        column = spec.get("column")
        table = _table_with(feed, column) if column else None
        if column and table is None:
            problems.append(f"{where} names column {column!r}, which feed {feed.id} does not "
                            "have.")
            return None
        source = PrefillSource(
            feed=feed.id, department=feed.department,
            table=table.name if table else None, column=column,
            record_key=spec.get("key") if column else None,
            record_key_column=(spec.get("key_column") or _record_key_column(table))
            if table and spec.get("key") else None,
            group_column=spec.get("from", column or fid),
        )
    elif kind == "derived":
        formula = str(raw["derive"])
        try:
            parse_formula(formula)
        except FormulaError as err:
            problems.append(f"{where}: {err}")
            return None
    else:
        spec = raw["entry"] or {}
        rule = EntryRule(
            choices=tuple(str(c) for c in spec.get("choices", ()) or ()),
            minimum=spec.get("min"), maximum=spec.get("max"),
            integer=bool(spec.get("integer", False)), date=bool(spec.get("date", False)),
            text=bool(spec.get("text", False)), required=bool(spec.get("required", False)),
            reuse=bool(spec.get("reuse", False)),
        )
        text = text or rule.text
        date = date or rule.date
    return FormField(id=str(fid), label=str(label), concept=str(raw.get("concept", fid)),
                     kind=kind, source=source, formula=formula, rule=rule, text=text, date=date,
                     width=int(raw.get("width", 14)), note=str(raw.get("note", "")))


def parse_form(doc: dict, path: Path | None = None) -> FormDefinition:
    """Build a form from its parsed YAML; raise FormDefinitionError listing every problem."""
    name = path.name if path else doc.get("id", "the form")
    problems: list[str] = []
    for key in ("id", "version", "title", "department", "basis", "status", "period", "rows",
                "fields"):
        if not doc.get(key):
            problems.append(f"{name} has no {key}.")
    if problems:
        raise FormDefinitionError(" ".join(problems))
    if doc["status"] not in STATUSES:
        problems.append(f"{name} has status {doc['status']!r}; use one of {', '.join(STATUSES)}.")
    if doc["period"] not in PERIODS:
        problems.append(f"{name} has period {doc['period']!r}; use monthly or weekly.")
    rows = doc["rows"]
    if rows.get("scope") not in SCOPES:
        problems.append(f"{name} has row scope {rows.get('scope')!r}; use person or subdistrict.")
    approved_on = _date(doc.get("approved_on"), f"{name} approved_on", problems)
    review_by = _date(doc.get("review_by"), f"{name} review_by", problems)
    if doc["status"] in ("approved", "emergency") and approved_on is None:
        problems.append(f"{name} is {doc['status']} but states no approved_on date.")
    known = {f.id: f for f in feeds()}
    fields = [f for i, raw in enumerate(doc["fields"], start=1)
              if (f := _field(raw, f"{name} field {i}", known, problems)) is not None]
    ids = [f.id for f in fields]
    for fid in {i for i in ids if ids.count(i) > 1}:
        problems.append(f"{name} defines field {fid!r} more than once.")
    for role in ("key", "subject"):
        if rows.get(role, rows.get("key")) not in ids:
            problems.append(f"{name} uses {rows.get(role)!r} as row {role}, but has no such field.")
    for f in fields:
        if f.formula:
            missing = [i for i in formula_inputs(f.formula) if i not in ids]
            if missing:
                problems.append(f"{name} field {f.id} derives from {', '.join(missing)}, which "
                                "the form does not have.")
        if f.source and f.source.record_key and f.source.record_key not in ids:
            problems.append(f"{name} field {f.id} finds its record by {f.source.record_key!r}, "
                            "which the form does not have.")
    addition = None
    if rows.get("additions"):
        add = rows["additions"]
        by_id = {f.id: f for f in fields}
        entry = by_id.get(add.get("field"))
        if entry is None or entry.kind != "entry" or add.get("choice") not in entry.rule.choices:
            problems.append(f"{name} allows added rows through {add.get('field')!r} = "
                            f"{add.get('choice')!r}, which is not a choice of an entry field.")
        else:
            addition = (entry.id, str(add["choice"]))
    if problems:
        raise FormDefinitionError(" ".join(problems))
    return FormDefinition(
        id=str(doc["id"]), version=str(doc["version"]), title=str(doc["title"]),
        department=str(doc["department"]), basis=str(doc["basis"]), status=str(doc["status"]),
        approved_on=approved_on, review_by=review_by, period=str(doc["period"]),
        scope=str(rows["scope"]), group=str(rows.get("group", "")), row_key=str(rows["key"]),
        subject=str(rows.get("subject", rows["key"])), fields=tuple(fields),
        replaces=tuple(doc.get("replaces", ()) or ()), replaced_by=doc.get("replaced_by"),
        path=path, addition=addition,
    )


def load_form(path: Path) -> FormDefinition:
    """Read one form definition file."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise FormDefinitionError(f"{path.name} is not valid YAML: {err}") from None
    if not isinstance(doc, dict):
        raise FormDefinitionError(f"{path.name} does not hold a form definition (a mapping).")
    return parse_form(doc, path)


def load_catalogue(folder: Path) -> tuple[FormDefinition, ...]:
    """Every form defined in a folder, in file-name order; duplicate ids are an error."""
    forms = tuple(load_form(p) for p in sorted(folder.glob("*.yaml")))
    _no_duplicates(forms)
    return forms


def _no_duplicates(forms: Iterable[FormDefinition]) -> None:
    seen: dict[str, str] = {}
    for f in forms:
        here = f.path.name if f.path else f.id
        if f.id in seen:
            raise FormDefinitionError(f"Form id {f.id!r} is defined twice, in {seen[f.id]} and "
                                      f"{here}; give one of them another id.")
        seen[f.id] = here


@cache
def catalogue() -> tuple[FormDefinition, ...]:
    """The shipped catalogue under contracts/forms."""
    return load_catalogue(FORMS_DIR)


def form(form_id: str, forms: Iterable[FormDefinition] | None = None) -> FormDefinition:
    """One form of the catalogue by id."""
    pool = tuple(forms) if forms is not None else catalogue()
    for f in pool:
        if f.id == form_id:
            return f
    raise KeyError(f"There is no form {form_id!r} in the catalogue; the forms are: "
                   + ", ".join(f.id for f in pool) + ".")
