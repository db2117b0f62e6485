"""Great Expectations 1.x suites for the tables that leave the system, run on in-memory batches.

GE cannot validate DuckDB through SQLAlchemy (its metric code fails with an IndexError), so the
table is read into pandas first. The GE context is a file context rooted under the data folder's
reports/data_docs, so every run also refreshes the Data Docs HTML there. GE is slow to import,
so it is imported only when a suite runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ID_PATTERN = r"^[0-9]{17}[0-9X]$"


@dataclass(frozen=True, slots=True)
class SuiteOutcome:
    suite: str
    success: bool
    evaluated: int
    failed: list[str]  # expectation types that failed, no values
    docs_index: Path | None


def _expectations(suite: str):
    import great_expectations as gx

    e = gx.expectations
    if suite == "pool_person":
        return [e.ExpectColumnValuesToNotBeNull(column="id_number"),
                e.ExpectColumnValuesToBeUnique(column="id_number"),
                e.ExpectColumnValuesToMatchRegex(column="id_number", regex=ID_PATTERN),
                e.ExpectColumnValuesToBeInSet(column="sex", value_set=["男", "女"]),
                e.ExpectColumnValuesToNotBeNull(column="name")]
    if suite == "sentinel_alerts":
        return [e.ExpectColumnValuesToBeUnique(column="alert_id"),
                e.ExpectColumnValuesToNotBeNull(column="person_id_number"),
                e.ExpectColumnValuesToMatchRegex(column="person_id_number", regex=ID_PATTERN),
                e.ExpectColumnValuesToBeInSet(column="rule", value_set=[
                    "death", "marriage", "divorce", "moved_out"]),
                e.ExpectColumnValuesToBeInSet(column="match_certainty",
                                              value_set=["high", "lower"])]
    if suite == "workbook_rows":
        from onceonly.forms.catalogue import catalogue
        from onceonly.reference import subdistricts

        return [e.ExpectColumnValuesToNotBeNull(column="row_key"),
                e.ExpectColumnValuesToBeInSet(column="form_id",
                                              value_set=[f.id for f in catalogue()]),
                e.ExpectColumnValuesToBeInSet(column="subdistrict_code",
                                              value_set=[s.code for s in subdistricts()]),
                e.ExpectCompoundColumnsToBeUnique(
                    column_list=["form_id", "subdistrict_code", "row_key", "field_id"]),
                e.ExpectColumnValuesToNotBeNull(column="exported_path")]
    raise KeyError(f"There is no quality suite named {suite!r}.")


def run_suite(suite: str, frame: pd.DataFrame, docs_root: Path) -> SuiteOutcome:
    """Validate `frame` with the named suite and rebuild the Data Docs under `docs_root`."""
    import great_expectations as gx

    docs_root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(docs_root))
    source = context.data_sources.add_or_update_pandas("onceonly")
    try:
        asset = source.get_asset(suite)
    except LookupError:
        asset = source.add_dataframe_asset(suite)
    try:
        batch = asset.get_batch_definition("whole")
    except KeyError:
        batch = asset.add_batch_definition_whole_dataframe("whole")
    expectation_suite = context.suites.add_or_update(
        gx.ExpectationSuite(name=suite, expectations=_expectations(suite)))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite, data=batch, suite=expectation_suite))
    # BOOLEAN_ONLY keeps failing values (ID numbers, names) out of the results and Data Docs.
    result = definition.run(batch_parameters={"dataframe": frame}, result_format="BOOLEAN_ONLY")
    context.build_data_docs()
    failed = [r.expectation_config.type for r in result.results if not r.success]
    index = next(iter(docs_root.rglob("index.html")), None)
    return SuiteOutcome(suite, bool(result.success), len(result.results), failed, index)
