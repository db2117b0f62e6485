"""The labour-archive stock and the care list on a generated sample district: the real files
(CSV with a BOM, Excel with title rows, a GB18030 register) land and carry through Dagster runs.
"""

import csv
import datetime as dt

import dagster as dg
import duckdb
import openpyxl
import pytest

from assets.elderly_care import elderly_care_list
from assets.extracts import landing_assets
from assets.labour_archive import archive_stock
from onceonly.sample_district import generate
from onceonly.settings import data_folder
from pipelines.resources import Warehouse

MONTHS = ["2026-01", "2026-02", "2026-03"]
# One worker runs the whole module: the tests share one warehouse and Dagster instance.
pytestmark = pytest.mark.xdist_group("labour_district")
FEEDS = ("labour_archive", "household_register", "elderly_services", "death_registry")


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    root = tmp_path_factory.mktemp("labour_district")
    folder = data_folder(root).ensure()
    generate(folder.inbox, folder.truth, people=800, months=3, seed=5)
    chosen = [a for a in landing_assets if a.key.path[-1] in FEEDS]
    instance = dg.DagsterInstance.ephemeral()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONCEONLY_DATA_DIR", str(root))
        runs = [dg.materialize([*chosen, archive_stock, elderly_care_list], partition_key=m,
                               instance=instance,
                               resources={"warehouse": Warehouse(data_dir=str(root))})
                for m in MONTHS]
    return folder, runs


def _csv(path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_the_generated_stock_carries_forward_and_the_left_out_subdistrict_is_missing(district):
    folder, runs = district
    assert [r.success for r in runs] == [True, True, True]
    opening = _csv(folder.inbox / "劳动力档案期初库存.csv")
    stock = {r["街道代码"]: int(r["期初库存"]) for r in opening}
    sent = {m: {r["街道代码"]: (int(r["入库数"]), int(r["出库数"]))
                for r in _csv(folder.inbox / f"劳动力档案变动_{m.replace('-', '')}.csv")}
            for m in MONTHS}
    left_out = set(stock) - set(sent["2026-02"])
    assert len(left_out) == 1
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        rows = {(p, c): (s, closing) for p, c, s, closing in conn.execute(
            "SELECT period, subdistrict_code, status, closing_stock FROM labour.archive_stock"
        ).fetchall()}
        totals = dict(conn.execute(
            "SELECT period, closing_stock FROM labour.archive_stock_district").fetchall())
    for month in MONTHS:
        for code in list(stock):
            if stock[code] is None or code not in sent[month]:
                stock[code] = None
            else:
                received, out = sent[month][code]
                stock[code] += received - out
            expected_status = ("missing" if code not in sent[month] else
                               "reported" if stock[code] is not None else "opening_unknown")
            assert rows[(month, code)] == (expected_status, stock[code])
    assert totals["2026-01"] == sum(
        v for (p, _), (_, v) in rows.items() if p == "2026-01")
    assert totals["2026-02"] is None and totals["2026-03"] is None
    meta = runs[1].asset_materializations_for_node("labour__archive_stock")[0].metadata
    assert meta["missing"].value == sorted(left_out)
    assert meta["complete"].value is False


def test_nobody_known_dead_by_the_build_date_is_on_the_care_list(district):
    folder, _ = district
    registered = {}  # the month whose death file reports the death: id -> (month, death date)
    for month in MONTHS:
        book = openpyxl.load_workbook(folder.inbox / f"死亡登记_{month.replace('-', '')}.xlsx",
                                      read_only=True)
        rows = list(book.worksheets[0].iter_rows(values_only=True))
        at = next(i for i, r in enumerate(rows) if r and "身份证号" in r)
        id_col, date_col = rows[at].index("身份证号"), rows[at].index("死亡日期")
        for r in rows[at + 1:]:
            if r and r[id_col]:
                died = r[date_col].date() if isinstance(r[date_col], dt.datetime) else r[date_col]
                registered[r[id_col]] = (month, died)
    assert registered
    with duckdb.connect(str(folder.warehouse), read_only=True) as conn:
        listed = conn.execute(
            "SELECT period, id_number, build_date FROM care.care_list").fetchall()
        per_month = dict(conn.execute(
            "SELECT period, count(*) FROM care.care_list GROUP BY period").fetchall())
        departed = {(p, i): r for p, i, r in conn.execute(
            "SELECT period, id_number, reason FROM care.care_list_departures").fetchall()}
    assert all(per_month.get(m, 0) > 0 for m in MONTHS)
    on_list = {(p, i) for p, i, _ in listed}
    for period, id_number, build_date in listed:
        if id_number in registered:
            month, died = registered[id_number]
            # When the list was built, deaths up to this month's file had been landed.
            assert not (month <= period and died <= build_date), period
    # Whoever was on a list and then reported dead leaves the next list marked 死亡.
    late = [(m, i) for i, (m, _) in registered.items()
            if m > MONTHS[0] and (MONTHS[MONTHS.index(m) - 1], i) in on_list]
    assert late, "the sample district planted no death of a listed resident"
    for month, id_number in late:
        assert departed[(month, id_number)] == "死亡"
