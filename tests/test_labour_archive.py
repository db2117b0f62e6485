"""The labour-archive stock: carried forward by real Dagster runs on a real DuckDB file.

Each test writes the subdistricts' change files (劳动力档案变动_YYYYMM.csv) and the opening
balance (劳动力档案期初库存.csv) into a fresh inbox, then materialises the landing asset and the
stock month by month, as `onceonly labour-reroll` and a backfill do.
"""

import csv
import datetime as dt

import dagster as dg
import duckdb
import pytest

from assets.labour_archive import ARCHIVE_STOCK_KEY, PREVIOUS_MONTH, archive_stock
from assets.partitions import monthly
from onceonly.labour.stock import (
    ArchiveChanges,
    OpeningBalance,
    StockError,
    district_total,
    roll_forward,
)
from onceonly.reference import subdistricts
from onceonly.settings import data_folder
from pipelines.cli_labour import months_between, reroll_labour_stock

SUBS = subdistricts()
OPENING = {s.code: 1000 + 100 * i for i, s in enumerate(SUBS)}
MONTHS = ["2026-01", "2026-02", "2026-03"]


def changes_for(period: str, *, skip: str | None = None, override: dict | None = None) -> dict:
    """Received and transferred-out counts per subdistrict that differ by month and code."""
    m = int(period[-2:])
    figures = {s.code: (10 * m + i, 5 * m + 2 * i) for i, s in enumerate(SUBS) if s.code != skip}
    figures.update(override or {})
    return figures


def write_opening(inbox, as_of="2025-12-31", stock=None):
    with (inbox / "劳动力档案期初库存.csv").open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["街道代码", "街道名称", "截至日期", "期初库存"])
        for s in SUBS:
            w.writerow([s.code, s.name, as_of, (stock or OPENING)[s.code]])


def write_changes(inbox, period, figures):
    path = inbox / f"劳动力档案变动_{period.replace('-', '')}.csv"
    names = {s.code: s.name for s in SUBS}
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["街道代码", "街道名称", "统计期", "入库数", "出库数"])
        for code, (received, out) in figures.items():
            w.writerow([code, names[code], period, received, out])


@pytest.fixture
def folder(tmp_path, monkeypatch):
    folder = data_folder(tmp_path).ensure()
    monkeypatch.setenv("ONCEONLY_DATA_DIR", str(tmp_path))
    write_opening(folder.inbox)
    return folder


@pytest.fixture(scope="module")
def instance():
    # In memory: the runs are real, and the SQLite event log would only add disk time.
    return dg.DagsterInstance.ephemeral()


def stock(folder, period) -> dict[str, tuple]:
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        rows = conn.execute(
            "SELECT subdistrict_code, status, opening_stock, opening_basis, received, "
            "transferred_out, closing_stock, carried_stock, known_as_of "
            "FROM labour.archive_stock WHERE period = ?", [period]).fetchall()
    return {r[0]: r[1:] for r in rows}


def district(folder, period) -> tuple:
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        return conn.execute(
            "SELECT subdistricts, subdistricts_reported, subdistricts_missing, complete, "
            "closing_stock, known_closing_stock FROM labour.archive_stock_district "
            "WHERE period = ?", [period]).fetchone()


def expected_closings(months, skip=None, corrected=None) -> dict[str, dict[str, int | None]]:
    """The closing stock each month should have, computed independently of the code."""
    closing = dict(OPENING)
    result = {}
    for period in months:
        figures = (corrected or {}).get(period) or changes_for(period)
        month = {}
        for code in closing:
            if skip and skip == (period, code):
                closing[code] = None
            elif closing[code] is not None:
                received, out = figures[code]
                closing[code] = closing[code] + received - out
            month[code] = closing[code]
        result[period] = month
    return result


def test_first_month_starts_from_the_opening_balance_and_earlier_months_have_none(
        folder, instance):
    write_changes(folder.inbox, "2026-01", changes_for("2026-01"))

    runs = reroll_labour_stock(folder, "2025-12", "2026-01", instance=instance,
                               log_level="WARNING")

    assert [(r.period, r.success) for r in runs] == [("2025-12", True), ("2026-01", True)]
    assert stock(folder, "2025-12") == {}
    january = stock(folder, "2026-01")
    assert len(january) == 12
    for i, s in enumerate(SUBS):
        status, opening, basis, received, out, closing, carried, _ = january[s.code]
        assert (status, opening, basis) == ("reported", OPENING[s.code], "opening_balance")
        assert (received, out) == (10 + i, 5 + 2 * i)
        assert closing == OPENING[s.code] + 10 + i - 5 - 2 * i
        assert carried is None
    total = district(folder, "2026-01")
    assert total[:4] == (12, 12, 0, True)
    assert total[4] == sum(expected_closings(["2026-01"])["2026-01"].values())


def test_roll_forward_over_three_months_with_a_correction_in_the_first(folder, instance):
    for period in MONTHS:
        write_changes(folder.inbox, period, changes_for(period))
    assert all(r.success for r in reroll_labour_stock(folder, MONTHS[0], MONTHS[-1],
                                                      instance=instance, log_level="WARNING"))
    before = expected_closings(MONTHS)
    for period in MONTHS:
        assert {c: v[5] for c, v in stock(folder, period).items()} == before[period]
        assert district(folder, period)[4] == sum(before[period].values())

    # The employment centre resends January: one subdistrict had 40 more archives transferred.
    first = SUBS[3].code
    january = changes_for("2026-01")
    january[first] = (january[first][0], january[first][1] + 40)
    write_changes(folder.inbox, "2026-01", january)
    result = dg.materialize([*_landing_and_stock()], partition_key="2026-01", instance=instance,
                            resources=_resources(folder))
    assert result.success
    assert stock(folder, "2026-01")[first][5] == before["2026-01"][first] - 40
    # February has not been re-rolled yet: Dagster sees it as stale, the figures are the old ones.
    assert stock(folder, "2026-02")[first][5] == before["2026-02"][first]

    runs = reroll_labour_stock(folder, "2026-02", instance=instance, log_level="WARNING")

    assert [r.period for r in runs] == ["2026-02", "2026-03"]
    after = expected_closings(MONTHS, corrected={"2026-01": january})
    for period in MONTHS:
        assert {c: v[5] for c, v in stock(folder, period).items()} == after[period]
        assert district(folder, period)[4] == sum(after[period].values())
    assert after["2026-03"][first] == before["2026-03"][first] - 40
    # Only the corrected subdistrict changed; its earlier figures are kept as superseded.
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        history = conn.execute(
            "SELECT period, version, closing_stock, superseded_by_version, superseded_reason "
            "FROM labour.archive_stock_versions WHERE superseded_at IS NOT NULL "
            "ORDER BY period").fetchall()
        versions = conn.execute("SELECT count(*) FROM labour.archive_stock_versions").fetchone()
    assert history == [
        ("2026-01", 1, before["2026-01"][first], 2, "corrected changes file"),
        ("2026-02", 1, before["2026-02"][first], 2,
         "re-rolled: the opening stock changed with an earlier month"),
        ("2026-03", 1, before["2026-03"][first], 2,
         "re-rolled: the opening stock changed with an earlier month"),
    ]
    assert versions == (36 + 3,)


def test_a_subdistrict_that_sent_nothing_is_missing_never_zero(folder, instance):
    gone = SUBS[5].code
    write_changes(folder.inbox, "2026-01", changes_for("2026-01"))
    write_changes(folder.inbox, "2026-02", changes_for("2026-02", skip=gone))
    write_changes(folder.inbox, "2026-03", changes_for("2026-03"))

    runs = reroll_labour_stock(folder, "2026-01", "2026-03", instance=instance,
                               log_level="WARNING")

    assert all(r.success for r in runs)
    january_closing = stock(folder, "2026-01")[gone][5]
    february = stock(folder, "2026-02")[gone]
    assert february == ("missing", january_closing, "previous_month", None, None, None,
                        january_closing, dt.date(2026, 1, 31))
    subs, reported, missing, complete, closing, known = district(folder, "2026-02")
    assert (subs, reported, missing, complete, closing) == (12, 11, 1, False, None)
    others = expected_closings(["2026-01", "2026-02"], skip=("2026-02", gone))["2026-02"]
    assert known == sum(v for v in others.values() if v is not None)

    # March's opening is unknown until February is sent; the carried figure says so.
    received, out = changes_for("2026-03")[gone]
    march = stock(folder, "2026-03")[gone]
    assert march == ("opening_unknown", None, "previous_month_unknown", received, out, None,
                     january_closing + received - out, dt.date(2026, 1, 31))
    assert district(folder, "2026-03")[3:5] == (False, None)

    # The subdistrict sends February late: re-rolling from February makes everything known.
    write_changes(folder.inbox, "2026-02", changes_for("2026-02"))
    assert all(r.success for r in reroll_labour_stock(folder, "2026-02", instance=instance,
                                                      log_level="WARNING"))
    full = expected_closings(MONTHS)
    assert stock(folder, "2026-03")[gone][5] == full["2026-03"][gone]
    assert district(folder, "2026-03")[3:5] == (True, sum(full["2026-03"].values()))


def test_a_negative_stock_fails_the_month_naming_the_subdistrict(folder, instance):
    sub = SUBS[2]
    write_changes(folder.inbox, "2026-01", changes_for("2026-01"))
    write_changes(folder.inbox, "2026-02",
                  changes_for("2026-02", override={sub.code: (3, OPENING[sub.code] + 500)}))
    reroll_labour_stock(folder, "2026-01", instance=instance, log_level="WARNING")

    result = dg.materialize([*_landing_and_stock()], partition_key="2026-02", instance=instance,
                            resources=_resources(folder), raise_on_error=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.message
    assert f"{sub.name} ({sub.code})" in message and "2026-02" in message
    assert "negative" in message and "resend 劳动力档案变动_202602" in message
    recorded = stock(folder, "2026-02")[sub.code]
    january_closing = stock(folder, "2026-01")[sub.code][5]
    assert recorded[0] == "negative"
    assert recorded[5] == january_closing + 3 - (OPENING[sub.code] + 500) < 0
    assert district(folder, "2026-02")[3:5] == (False, None)


def test_backfill_of_the_self_dependent_range_runs_in_order_from_its_first_month(
        folder, instance):
    # The first partition of the definition has no previous month at all, and Dagster accepts it.
    first = monthly.get_first_partition_key()
    upstream = PREVIOUS_MONTH.get_upstream_mapped_partitions_result_for_partitions(
        monthly.subset_with_partition_keys([first]), monthly, monthly)
    assert list(upstream.partitions_subset.get_partition_keys()) == []
    upstream = PREVIOUS_MONTH.get_upstream_mapped_partitions_result_for_partitions(
        monthly.subset_with_partition_keys(["2026-02"]), monthly, monthly)
    assert list(upstream.partitions_subset.get_partition_keys()) == ["2026-01"]
    dep = next(d for d in archive_stock.specs_by_key[ARCHIVE_STOCK_KEY].deps
               if d.asset_key == ARCHIVE_STOCK_KEY)
    assert dep.partition_mapping == PREVIOUS_MONTH

    for period in MONTHS:
        write_changes(folder.inbox, period, changes_for(period))
    # Run out of order, a later month refuses to start from a month never computed.
    early = dg.materialize([*_landing_and_stock()], partition_key="2026-02", instance=instance,
                           resources=_resources(folder), raise_on_error=False)
    assert not early.success
    failure = next(e for e in early.all_events if e.event_type_value == "STEP_FAILURE")
    assert "needs the closing stock of 2026-01" in failure.event_specific_data.error.message

    runs = reroll_labour_stock(folder, "2025-11", "2026-03", instance=instance,
                               log_level="WARNING")

    assert [(r.period, r.success) for r in runs] == [
        ("2025-11", True), ("2025-12", True), ("2026-01", True), ("2026-02", True),
        ("2026-03", True)]
    expected = expected_closings(MONTHS)
    for period in MONTHS:
        assert {c: v[5] for c, v in stock(folder, period).items()} == expected[period]
    assert {v[2] for v in stock(folder, "2026-01").values()} == {"opening_balance"}
    assert {v[2] for v in stock(folder, "2026-03").values()} == {"previous_month"}
    materialised = instance.get_materialized_partitions(ARCHIVE_STOCK_KEY)
    assert {"2025-11", "2025-12", *MONTHS} <= set(materialised)
    # Rerunning the whole range changes nothing: no new versions.
    reroll_labour_stock(folder, "2026-01", instance=instance, log_level="WARNING")
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM labour.archive_stock_versions").fetchone() \
            == (36,)


def test_roll_forward_rejects_an_opening_balance_not_on_a_month_end():
    balances = {SUBS[0].code: OpeningBalance(SUBS[0].code, dt.date(2026, 1, 15), 100)}
    with pytest.raises(StockError, match="not the last day of a month"):
        roll_forward("2026-02", SUBS[:1], balances, {}, {})


def test_weekly_entries_are_summed_and_unknown_codes_refused():
    balances = {s.code: OpeningBalance(s.code, dt.date(2026, 1, 31), 50) for s in SUBS[:2]}
    changes = {SUBS[0].code: ArchiveChanges(SUBS[0].code, 7, 2, entries=4)}
    lines = roll_forward("2026-02", SUBS[:2], balances, {}, changes)
    assert [(x.status, x.closing_stock, x.change_entries) for x in lines] == [
        ("reported", 55, 4), ("missing", None, 0)]
    total = district_total("2026-02", lines)
    assert (total.complete, total.closing_stock, total.known_closing_stock) == (False, None, 55)
    with pytest.raises(StockError, match="310110999, which is not one of"):
        roll_forward("2026-02", SUBS[:2], balances, {},
                     {"310110999": ArchiveChanges("310110999", 1, 1)})


def test_months_between_crosses_a_year():
    assert months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_the_reroll_command_refuses_a_range_that_runs_backwards(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["labour-reroll", "--from", "2026-03", "--to", "2026-01",
                                      "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "The last month 2026-01 is before the first month 2026-03" in result.output


def _landing_and_stock():
    from assets.extracts import landing_assets

    return [a for a in landing_assets if a.key == dg.AssetKey(["landing", "labour_archive"])] + [
        archive_stock]


def _resources(folder):
    from pipelines.resources import Warehouse

    return {"warehouse": Warehouse(data_dir=str(folder.root))}


def test_counts_on_a_returned_form_replace_the_extract_and_reroll_that_month(folder, instance):
    from onceonly.forms.store import ensure_forms_tables
    from warehouse.connection import open_warehouse

    sub = SUBS[7].code
    for period in MONTHS[:2]:
        write_changes(folder.inbox, period, changes_for(period))
    reroll_labour_stock(folder, "2026-01", "2026-01", instance=instance, log_level="WARNING")
    january_closing = stock(folder, "2026-01")[sub][5]
    # The subdistrict's January form comes back, loaded during February's run.
    with open_warehouse(folder.warehouse) as conn:
        ensure_forms_tables(conn)
        for field_id, number in (("received", 99), ("transferred_out", 1)):
            conn.execute(
                "INSERT INTO forms.entered_values (form_id, form_version, subdistrict_code, "
                "period, row_key, field_id, concept, kind, value, number, file_sha256, "
                "loaded_at) VALUES ('labour_archive_stock', '1.0', ?, '2026-01', ?, ?, ?, "
                "'entry', ?, ?, 'return-sha', TIMESTAMP '2026-02-03 09:00:00')",
                [sub, sub, field_id, field_id, str(number), number])

    runs = reroll_labour_stock(folder, "2026-02", "2026-02", instance=instance,
                               log_level="WARNING")

    assert runs[0].success
    corrected = OPENING[sub] + 99 - 1
    assert stock(folder, "2026-01")[sub][3:6] == (99, 1, corrected)
    assert stock(folder, "2026-02")[sub][1] == corrected
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        kept = conn.execute(
            "SELECT closing_stock, superseded_reason FROM labour.archive_stock_versions "
            "WHERE period = '2026-01' AND subdistrict_code = ? AND superseded_at IS NOT NULL",
            [sub]).fetchall()
    assert kept == [(january_closing, "counts entered on the returned stock form")]
