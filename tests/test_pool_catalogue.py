"""The catalogue report on a generated district, checked against the generator's own counts."""

import json

import dagster as dg
import openpyxl
import polars as pl
import pytest
import yaml

from assets.extracts import landing_assets
from assets.pool import catalogue, field_conflicts, parquet_publication, person
from onceonly.contracts import FEEDS_DIR, feeds
from onceonly.sample_district import generate
from onceonly.settings import data_folder
from pipelines.resources import Warehouse
from warehouse.connection import open_warehouse

pytestmark = pytest.mark.xdist_group("pool_catalogue")

MONTHS = ("2026-01", "2026-02")


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool_catalogue")
    folder = data_folder(root).ensure()
    generate(folder.inbox, folder.truth, people=600, months=len(MONTHS), seed=11,
             start=MONTHS[0])
    for month in MONTHS:
        dg.materialize(
            [*landing_assets, person, field_conflicts, catalogue, parquet_publication],
            partition_key=month,
            resources={"warehouse": Warehouse(data_dir=str(root))},
        )
    counts = json.loads((folder.truth / "counts.json").read_text(encoding="utf-8"))
    return folder, root, counts


def _generator_rows_per_feed(counts: dict) -> dict[str, int]:
    """The generator counts rows per feed, per feed/sheet or per table; sum them per feed."""
    feed_of_table = {t.name: f.id for f in feeds() for t in f.tables}
    feed_ids = {f.id for f in feeds()}
    totals: dict[str, int] = {}
    for key, by_period in counts["rows"].items():
        head = key.split("/")[0]
        feed_id = head if head in feed_ids else feed_of_table[head]
        totals[feed_id] = totals.get(feed_id, 0) + sum(by_period.values())
    return totals


def _contract_fields() -> dict[str, int]:
    """Columns per feed, read from the YAML files directly rather than through the loader."""
    fields = {}
    for path in FEEDS_DIR.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        fields[doc["id"]] = sum(len(obj["properties"]) for obj in doc["schema"])
    return fields


def test_catalogue_records_match_the_generator(district):
    folder, _, counts = district
    expected = _generator_rows_per_feed(counts)
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        rows = conn.execute(
            "SELECT feed, catalogue, fields, records, rows_received, rows_rejected, "
            "latest_period, stale FROM pool.catalogue WHERE period = '2026-02'").pl()
    by_feed = {r["feed"]: r for r in rows.iter_rows(named=True)}
    assert set(by_feed) == set(expected)
    for feed_id, received in expected.items():
        row = by_feed[feed_id]
        assert row["rows_received"] == received, feed_id
        assert row["records"] == received - row["rows_rejected"], feed_id
        assert row["latest_period"] == "2026-02" and not row["stale"], feed_id
    assert {f: r["fields"] for f, r in by_feed.items()} == _contract_fields()
    assert by_feed["household_register"]["records"] == sum(
        counts["rows"]["household_register"].values())


def test_catalogue_workbook_totals(district):
    folder, _, counts = district
    path = folder.reports / "catalogue" / "资源目录统计_202602.xlsx"
    sheet = openpyxl.load_workbook(path)["资源目录"]
    header = [c.value for c in sheet[3]]
    rows = [dict(zip(header, [c.value for c in r], strict=False))
            for r in sheet.iter_rows(min_row=4)]
    total = rows[-1]
    assert total["资源目录"] == "合计"
    assert total["数据源"] == len(feeds()) == len(rows) - 1
    assert total["字段数"] == sum(_contract_fields().values())
    assert total["接收行数"] == sum(_generator_rows_per_feed(counts).values())
    assert total["记录数"] == sum(r["记录数"] for r in rows[:-1])
    assert {r["是否超期"] for r in rows[:-1]} == {"正常"}
    fields = openpyxl.load_workbook(path)["字段"]
    assert fields.max_row - 1 == total["字段数"]


def test_feeds_older_than_their_promise_are_flagged(district):
    folder, root, _ = district
    dg.materialize([catalogue], partition_key="2026-05",
                   resources={"warehouse": Warehouse(data_dir=str(root))})
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        rows = conn.execute(
            "SELECT feed, latest_period, days_old, freshness_days, stale FROM pool.catalogue "
            "WHERE period = '2026-05'").fetchall()
    assert len(rows) == len(feeds())
    for feed_id, latest, days_old, freshness, stale in rows:
        assert latest == "2026-02", feed_id
        assert days_old == 92 and days_old > freshness and stale, feed_id  # Feb 28 to May 31


def test_catalogue_is_published_as_parquet(district):
    folder, _, _ = district
    frame = pl.read_parquet(folder.parquet / "catalogue" / "**" / "*.parquet",
                            hive_partitioning=True)
    assert sorted(set(frame["period"])) == list(MONTHS)
    assert frame.filter(pl.col("period") == "2026-01").height == len(feeds())
