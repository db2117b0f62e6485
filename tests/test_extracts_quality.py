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
