"""The form catalogue as data: definitions checked on load, the life cycle that decides what is
issued, and the admission review that measures the merge of the five facility forms."""

import datetime as dt

import pytest
from typer.testing import CliRunner

from onceonly.forms.assessment import assess
from onceonly.forms.catalogue import (
    FORMS_DIR,
    FormDefinitionError,
    catalogue,
    load_form,
    parse_form,
)
from onceonly.forms.formulas import FormulaError, evaluate_formula, parse_formula
from onceonly.forms.governance import decide
from pipelines.cli import app

RETIRED = ["care_beds", "day_care_centres", "elder_canteens", "meal_points",
           "nursing_homes_basic"]


def _form(**changes):
    doc = {"id": "f", "version": "1", "title": "测试表", "department": "区民政局",
           "basis": "某规定", "status": "approved", "approved_on": "2026-01-01",
           "review_by": "2026-12-31", "period": "monthly",
           "rows": {"scope": "subdistrict", "group": "subdistricts", "key": "code"},
           "fields": [{"id": "code", "label": "街道代码",
                       "prefill": {"feed": "household_register", "column": "subdistrict_code"}},
                      {"id": "n", "label": "人数", "entry": {"integer": True, "min": 0}}]}
    doc.update(changes)
    return parse_form(doc)


def test_the_shipped_catalogue_holds_the_four_forms_and_the_five_retired_ones():
    forms = {f.id: f for f in catalogue()}
    assert {f for f, d in forms.items() if d.status == "approved"} == {
        "aid_recipient_roster", "elderly_care_facilities", "labour_archive_stock",
        "elderly_care_list"}
    assert sorted(f for f, d in forms.items() if d.status == "retired") == RETIRED
    assert set(forms["elderly_care_facilities"].replaces) == set(RETIRED)
    labour = forms["labour_archive_stock"]
    assert [f.id for f in labour.entered] == ["received", "transferred_out"]
    assert labour.field("closing_stock").formula == "opening_stock + received - transferred_out"
    address = forms["aid_recipient_roster"].field("registered_address").source
    assert (address.department, address.table, address.record_key_column) == (
        "公安户籍", "household_register", "id_number")


def test_a_broken_definition_lists_every_problem_in_one_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: bad\nversion: '1'\ntitle: 坏表\ndepartment: x\nbasis: y\n"
                    "status: proposed\nperiod: daily\nrows: {scope: person, key: nope}\n"
                    "fields:\n  - {id: a, label: 甲, prefill: {feed: no_such_feed}}\n"
                    "  - {id: b, label: 乙, derive: 'a + __import__'}\n", encoding="utf-8")
    with pytest.raises(FormDefinitionError) as err:
        load_form(path)
    text = str(err.value)
    for part in ("status 'proposed'", "period 'daily'", "no_such_feed", "'nope' as row key"):
        assert part in text


def test_formulas_are_arithmetic_only():
    assert evaluate_formula("a + b - c", {"a": 100, "b": 20, "c": 5}) == 115
    assert evaluate_formula("a + b", {"a": 1, "b": None}) is None
    with pytest.raises(FormulaError):
        parse_formula("__import__('os').system('x')")


@pytest.mark.parametrize(("changes", "on", "decision"), [
    ({}, "2026-03-01", "issue"),
    ({"status": "retired"}, "2026-03-01", "retired"),
    ({"status": "draft"}, "2026-03-01", "draft"),
    ({}, "2027-01-01", "overdue_review"),
    ({}, "2025-12-31", "not_yet_approved"),
    ({"status": "emergency", "review_by": None}, "2026-03-31", "issue"),  # day 89
    ({"status": "emergency", "review_by": None}, "2026-04-01", "lapsed"),  # day 90
])
def test_only_approved_forms_in_force_are_issued(changes, on, decision):
    result = decide(_form(**changes), dt.date.fromisoformat(on))
    assert result.decision == decision
    assert result.issue == (decision == "issue")


def test_assessing_the_five_facility_forms_proposes_the_merged_form():
    proposals = [load_form(p) for p in sorted(FORMS_DIR.glob("retired_*.yaml"))]
    result = assess(proposals, catalogue())
    m = result.merge
    assert (m.fields_before, m.fields_after, m.fields_saved, m.reduction) == (37, 16, 21, 0.5676)
    assert (m.entered_before, m.entered_after) == (37, 12)
    assert m.covered_by == ("elderly_care_facilities",)
    fillable = {r.form_id: r.pool_fillable for r in result.reviews}
    assert fillable["elder_canteens"] == ("subdistrict_name", "elderly_80_plus", "living_alone")
    assert fillable["nursing_homes_basic"] == ("subdistrict_name", "elderly_60_plus")
    first = {r.form_id: r.overlaps[0] for r in result.reviews}
    assert {o.form_id for o in first.values()} == {"elderly_care_facilities"}
    assert all(o.share == 1.0 for o in first.values())


def test_a_single_proposal_is_merged_with_the_active_form_it_overlaps():
    result = assess([load_form(FORMS_DIR / "retired_meal_points.yaml")], catalogue())
    m = result.merge
    assert m.forms == ("meal_points", "elderly_care_facilities")
    assert (m.fields_before, m.fields_after, m.fields_saved) == (24, 17, 7)


def test_the_assess_command_reports_the_field_reduction():
    files = [str(p) for p in sorted(FORMS_DIR.glob("retired_*.yaml"))]
    result = CliRunner().invoke(app, ["forms", "assess", *files])
    assert result.exit_code == 0, result.output
    assert "fields: 37 -> 16 (21 fewer, 56.8% reduction)" in result.output
    assert "typed by workers: 37 -> 12" in result.output
    assert "《养老服务设施情况表》(elderly_care_facilities)" in result.output
    missing = CliRunner().invoke(app, ["forms", "assess", "/no/such.yaml"])
    assert missing.exit_code == 1
