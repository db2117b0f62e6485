"""Every feed contract is valid ODCS v3.1 and its quality rules become pandera checks."""

import json
from pathlib import Path

import jsonschema
import polars as pl
import pytest
import yaml

from onceonly.contracts import FEEDS_DIR, feed
from onceonly.extracts.schemas import validate_rows

SCHEMA = Path(__file__).resolve().parent.parent / "onceonly/reference/odcs-json-schema-v3.1.0.json"
CONTRACTS = sorted(FEEDS_DIR.glob("*.yaml"))


def test_there_are_seven_feed_contracts():
    assert [p.stem for p in CONTRACTS] == [
        "death_registry", "elderly_services", "household_moves", "household_register",
        "labour_archive", "marriage_registry", "social_aid"]


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.stem)
def test_contract_is_valid_odcs_3_1(path):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]


def test_amount_rule_from_the_contract_rejects_negative_and_large_amounts():
    table = feed("social_aid").table("aid_households")
    assert [r.name for r in table.column("monthly_amount").quality] == ["value_out_of_range"]
    frame = pl.DataFrame({
        "case_no": ["A1", "A2", "A3"],
        "applicant_id_number": ["11010119900307803X"] * 3,
        "applicant_name": ["张三"] * 3,
        "aid_type": ["低保", "低保", "特困"],
        "monthly_amount": [800.0, -200.0, 20000.0],
        "counted_size": [1, 1, 1],
        "subdistrict_code": ["310110001"] * 3,
        "subdistrict_name": [None, None, None],
        "enrolled_on": [None, None, None],
        "status": ["在保"] * 3,
    }, schema_overrides={"subdistrict_name": pl.Utf8, "enrolled_on": pl.Date})
    found = {(f.index, f.column, f.rule, f.severity) for f in validate_rows(frame, table)}
    assert found == {
        (1, "monthly_amount", "value_out_of_range", "reject"),
        (2, "monthly_amount", "value_out_of_range", "reject"),
        (2, "aid_type", "value_not_allowed", "reject"),
        (0, "enrolled_on", "required_missing", "reject"),
        (1, "enrolled_on", "required_missing", "reject"),
        (2, "enrolled_on", "required_missing", "reject"),
    }
