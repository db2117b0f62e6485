"""Great Expectations suites run on in-memory batches and write Data Docs without values."""

import pandas as pd

from onceonly.quality import run_suite


def test_person_suite_fails_on_a_bad_id_and_docs_hold_no_id(tmp_path):
    good = pd.DataFrame({"id_number": ["11010119900307803X", "310110198001011236"],
                         "sex": ["男", "女"], "name": ["张三", "李四"]})
    assert run_suite("pool_person", good, tmp_path).success
    bad = pd.DataFrame({"id_number": ["11010119900307803X", "31011019800101123"],
                        "sex": ["男", "女"], "name": ["张三", None]})
    outcome = run_suite("pool_person", bad, tmp_path)
    assert not outcome.success
    assert sorted(outcome.failed) == ["expect_column_values_to_match_regex",
                                      "expect_column_values_to_not_be_null"]
    assert outcome.docs_index is not None and outcome.docs_index.exists()
    html = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.html"))
    assert "31011019800101123" not in html and "张三" not in html


def test_workbook_rows_suite_catches_a_duplicate_cell_and_an_unlogged_workbook(tmp_path):
    rows = {"form_id": ["aid_recipient_roster"] * 2, "subdistrict_code": ["310110001"] * 2,
            "row_key": ["YP00000001", "YP00000002"], "field_id": ["name", "name"],
            "exported_path": ["exports/2026-01/a.xlsx"] * 2}
    assert run_suite("workbook_rows", pd.DataFrame(rows), tmp_path).success
    bad = pd.DataFrame({**rows, "row_key": ["YP00000001"] * 2,
                        "exported_path": ["exports/2026-01/a.xlsx", None]})
    outcome = run_suite("workbook_rows", bad, tmp_path)
    assert sorted(outcome.failed) == ["expect_column_values_to_not_be_null",
                                      "expect_compound_columns_to_be_unique"]
