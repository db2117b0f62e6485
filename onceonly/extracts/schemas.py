"""Row-level validation with pandera (Polars), the schemas built from the feed contracts.

The contract is the only place a rule is written: required columns become non-nullable,
allowed values `isin`, patterns `str_matches`, the district's subdistrict codes `isin`, and the
contract's quality rules (`invalidValues` with a minimum, maximum, valid values or pattern) the
matching checks with their severity. Validation is lazy, so every failing cell in a file is
collected before anything is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandera.polars as pa
import polars as pl

from onceonly.contracts import Column, TableContract
from onceonly.reference import subdistrict_names

REJECT, WARNING = "reject", "warning"
POLARS_TYPES = {
    "string": pl.Utf8,
    "date": pl.Date,
    "timestamp": pl.Datetime("us"),
    "number": pl.Float64,
    "integer": pl.Int64,
    "boolean": pl.Boolean,
}


@dataclass(frozen=True, slots=True)
class RowFailure:
    """One failing cell found by the schema: position in the frame, column, rule, severity."""

    index: int
    column: str
    rule: str
    severity: str
    value: object


@dataclass(frozen=True, slots=True)
class ContractSchema:
    """A pandera schema and, per column, the rule code and severity of each of its checks."""

    schema: pa.DataFrameSchema
    rules: dict[str, tuple[tuple[str, str], ...]]


def _checks(column: Column) -> list[tuple[pa.Check, str, str]]:
    checks: list[tuple[pa.Check, str, str]] = []
    if column.allowed:
        checks.append((pa.Check.isin(list(column.allowed)), "value_not_allowed", REJECT))
    if column.pattern:
        checks.append((pa.Check.str_matches(column.pattern), "pattern_mismatch", REJECT))
    if column.semantic == "subdistrict_code":
        checks.append((pa.Check.isin(sorted(subdistrict_names())), "subdistrict_unknown", REJECT))
    for rule in column.quality:
        severity = WARNING if rule.severity == "warning" else REJECT
        if rule.minimum is not None:
            checks.append((pa.Check.ge(rule.minimum), rule.name, severity))
        if rule.maximum is not None:
            checks.append((pa.Check.le(rule.maximum), rule.name, severity))
        if rule.valid_values:
            checks.append((pa.Check.isin(list(rule.valid_values)), rule.name, severity))
        if rule.pattern:
            checks.append((pa.Check.str_matches(rule.pattern), rule.name, severity))
    return checks


@cache
def contract_schema(table: TableContract) -> ContractSchema:
    """The pandera schema of a table's normalised rows, built from its contract."""
    columns: dict[str, pa.Column] = {}
    rules: dict[str, tuple[tuple[str, str], ...]] = {}
    for column in table.columns:
        checks = _checks(column)
        columns[column.name] = pa.Column(
            POLARS_TYPES[column.logical_type],
            nullable=not column.required,
            checks=[c for c, _, _ in checks],
            required=True,  # the normaliser adds absent optional columns as empty ones
        )
        rules[column.name] = tuple((rule, severity) for _, rule, severity in checks)
    schema = pa.DataFrameSchema(columns, strict=False, name=table.name)
    return ContractSchema(schema, rules)


def validate_rows(frame: pl.DataFrame, table: TableContract) -> list[RowFailure]:
    """Every failing cell of the frame, found in one lazy pass."""
    built = contract_schema(table)
    try:
        built.schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return []
    failures: list[RowFailure] = []
    for case in cases.iter_rows(named=True):
        column, index = case["column"], case["index"]
        if case["check"] == "not_nullable":
            rule, severity = "required_missing", REJECT
        elif case["check_number"] is not None and column in built.rules and index is not None:
            rule, severity = built.rules[column][case["check_number"]]
        else:
            # A dtype or missing-column failure means the normaliser built a wrong frame.
            raise RuntimeError(
                f"The normalised {table.name} rows do not have the contract's shape "
                f"({case['schema_context']} {column}: {case['check']}). This is a defect in "
                "onceonly, not in the file."
            )
        failures.append(RowFailure(int(index), column, rule, severity, case["failure_case"]))
    return failures
