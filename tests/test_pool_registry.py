"""The field registry agrees with the feed contracts, and its mistakes are reported plainly."""

from pathlib import Path

import pytest
import yaml

from onceonly.contracts import feed
from onceonly.pool.history import PERSON_COLUMNS
from onceonly.pool.registry import (
    FIELD_REGISTRY_PATH,
    field_registry,
    load_field_registry,
    registry_problems,
)


def test_registry_matches_the_contracts():
    registry = field_registry()
    assert registry_problems(registry) == []
    for f in registry:
        for source in (f.authority, *f.also_in):
            table = feed(source.feed).table(source.table)
            assert table.column(source.column).name == source.column
            assert table.column(source.id_column).semantic == "id_number"


def test_every_person_column_has_exactly_one_authority_in_household_registration():
    person = {f.name: f for f in field_registry() if f.pool_table == "pool.person"}
    assert set(person) == set(PERSON_COLUMNS[1:])
    assert {f.authority.feed for f in person.values()} == {"household_register"}
    assert person["status_date"].authority.column == "change_date"
    name_carriers = {s.label for s in person["name"].also_in}
    assert {"death_registry.death_registry.name", "social_aid.aid_members.member_name",
            "elderly_services.elderly_services.name",
            "marriage_registry.marriage_registry.male_name",
            "marriage_registry.marriage_registry.female_name"} <= name_carriers
    assert [s.label for s in person["birth_date"].also_in] == [
        "social_aid.aid_members.birth_date"]


def _broken_copy(tmp_path: Path, change) -> Path:
    doc = yaml.safe_load(FIELD_REGISTRY_PATH.read_text(encoding="utf-8"))
    change(doc["fields"])
    path = tmp_path / "field_registry.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_a_misspelt_column_wrong_department_and_duplicate_are_each_reported(tmp_path):
    def spoil(fields):
        fields[0]["alsoIn"][0]["column"] = "nmae"
        fields[1]["department"] = "民政救助"
        fields.append(dict(fields[2]))

    problems = registry_problems(load_field_registry(_broken_copy(tmp_path, spoil)))
    assert len(problems) == 3
    assert "death_registry.death_registry.nmae is not in the contract" in problems[0]
    assert "names department 民政救助" in problems[1] and "公安户籍" in problems[1]
    assert problems[2] == "Field birth_date is listed twice; a field has exactly one authority."


def test_a_table_with_two_id_columns_needs_id_column(tmp_path):
    def spoil(fields):
        del fields[0]["alsoIn"][-1]["idColumn"]

    with pytest.raises(ValueError, match="more than one ID column; add idColumn"):
        load_field_registry(_broken_copy(tmp_path, spoil))
