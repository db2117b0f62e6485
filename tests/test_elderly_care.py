"""The elderly care list on a real DuckDB file: who is on it, who left and why, and the
subdistricts' decisions holding from month to month."""

import datetime as dt

import dagster as dg
import duckdb
import pytest

from assets.elderly_care import CARE_LIST_KEY, elderly_care_list, list_build_date
from onceonly.care.care_list import (
    CareDecisionError,
    build_care_list,
    record_care_decision,
    record_care_list,
)
from onceonly.identity import check_character
from onceonly.reference import subdistricts
from onceonly.settings import data_folder
from pipelines.resources import Warehouse
from warehouse.connection import open_warehouse

# One worker runs the whole module: the tests share one warehouse and Dagster instance.
pytestmark = pytest.mark.xdist_group("elderly_care")
SUB1, SUB2 = subdistricts()[0].code, subdistricts()[1].code


def make_id(birth: str, seq: int) -> str:
    first17 = f"310110{birth.replace('-', '')}{seq:03d}"
    return first17 + check_character(first17)


# name: (birth date, subdistrict, elderly-services living situation or None)
PEOPLE = {
    "高龄甲": ("1940-05-01", SUB1, None),
    "独居乙": ("1950-01-01", SUB1, "独居"),
    "去世丙": ("1944-03-01", SUB1, "与子女同住"),
    "迁出丁": ("1941-07-01", SUB2, "与配偶同住"),
    "同住戊": ("1960-06-01", SUB2, "与配偶同住"),
    "移出己": ("1930-09-09", SUB2, "与子女同住"),
    "满八十庚": ("1946-02-15", SUB1, None),
}
IDS = {name: make_id(birth, i + 1) for i, (name, (birth, _, _)) in enumerate(PEOPLE.items())}


def land_month(conn, period, *, moved=(), gone=(), deaths=()):
    """A month's full register and elderly-services extracts, and its death registrations.

    Those who moved out are listed once with 迁出, and are ``gone`` from later extracts.
    """
    for i, (name, (birth, sub, living)) in enumerate(PEOPLE.items(), start=2):
        if name in gone:
            continue
        status, changed = ("迁出", f"{period}-10") if name in moved else ("正常", None)
        conn.execute(
            "INSERT INTO landing.household_register (id_number, id_number_status, name, sex, "
            "birth_date, registered_address, subdistrict_code, registration_status, "
            "change_date, _period, _file_name, _row_number) "
            "VALUES (?, 'valid', ?, '女', ?, ?, ?, ?, ?, ?, ?, ?)",
            [IDS[name], name, birth, f"上海市杨浦区某路{i}号", sub, status, changed, period,
             f"户籍人口_{period.replace('-', '')}.csv", i])
        if living:
            conn.execute(
                "INSERT INTO landing.elderly_services (id_number, id_number_status, name, "
                "living_situation, care_level, last_visit_date, subdistrict_code, _period, "
                "_row_number) VALUES (?, 'valid', ?, ?, '二级', ?, ?, ?, ?)",
                [IDS[name], name, living, f"{period}-20", sub, period, i])
    for name, death_date in deaths:
        conn.execute(
            "INSERT INTO landing.death_registry (record_id, id_number, id_number_status, name, "
            "death_date, _period, _row_number) VALUES (?, ?, 'valid', ?, ?, ?, 2)",
            [f"SW{period}{name}", IDS[name], name, death_date, period])


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    folder = data_folder(tmp_path_factory.mktemp("care")).ensure()
    with open_warehouse(folder.warehouse) as conn:
        land_month(conn, "2026-01", deaths=[("去世丙", "2026-01-30")])
        land_month(conn, "2026-02", moved=["迁出丁"])
        land_month(conn, "2026-03", gone=["迁出丁"])
    return folder


def on_list(care_list) -> dict[str, tuple]:
    names = {v: k for k, v in IDS.items()}
    return {names[r["id_number"]]: (r["subdistrict_code"], r["criteria"], r["change_mark"])
            for r in care_list.entries.iter_rows(named=True)}


def test_a_resident_who_died_the_day_before_the_list_was_built_is_not_on_it(warehouse):
    with open_warehouse(warehouse.warehouse) as conn:
        built_after = build_care_list(conn, "2026-01", dt.date(2026, 1, 31))
        built_before = build_care_list(conn, "2026-01", dt.date(2026, 1, 29))

    assert "去世丙" not in on_list(built_after)
    assert on_list(built_before)["去世丙"] == (SUB1, "高龄", "首次建册")
    assert on_list(built_after) == {
        "高龄甲": (SUB1, "高龄", "首次建册"),
        "独居乙": (SUB1, "独居", "首次建册"),
        "迁出丁": (SUB2, "高龄", "首次建册"),
        "移出己": (SUB2, "高龄", "首次建册"),
    }
    row = built_after.entries.filter(built_after.entries["id_number"] == IDS["独居乙"]).row(
        0, named=True)
    assert (row["age"], row["living_situation"], row["care_level"], row["last_visit_date"]) == (
        76, "独居", "二级", dt.date(2026, 1, 20))
    s = built_after.sources
    assert (s.build_date, s.register_as_of, s.services_as_of, s.deaths_as_of) == (
        dt.date(2026, 1, 31), dt.date(2026, 1, 31), dt.date(2026, 1, 31), dt.date(2026, 1, 31))


def test_new_entries_departures_and_decisions_that_hold(warehouse):
    with open_warehouse(warehouse.warehouse) as conn:
        record_care_list(conn, build_care_list(conn, "2026-01"))
        record_care_decision(conn, id_number=IDS["同住戊"], subdistrict_code=SUB2,
                             decision="add", reason="配偶住院，独自在家", valid_from="2026-02",
                             source="returned-workbook-sha")
        record_care_decision(conn, id_number=IDS["移出己"], subdistrict_code=SUB2,
                             decision="remove", reason="已入住外区养老院", valid_from="2026-02")
        february = build_care_list(conn, "2026-02")
        record_care_list(conn, february)
        march = build_care_list(conn, "2026-03")
        record_care_list(conn, march)
        stored = conn.execute(
            "SELECT count(*), min(build_date), min(register_as_of), min(deaths_as_of) "
            "FROM care.care_list WHERE period = '2026-03'").fetchone()

    assert on_list(february) == {
        "高龄甲": (SUB1, "高龄", "继续"),
        "独居乙": (SUB1, "独居", "继续"),
        "满八十庚": (SUB1, "高龄", "新增"),  # turned 80 on 2026-02-15
        "同住戊": (SUB2, "街道添加", "新增"),
    }
    departures = {r["id_number"]: (r["reason"], r["event_date"])
                  for r in february.departures.iter_rows(named=True)}
    assert departures == {
        IDS["迁出丁"]: ("迁出", dt.date(2026, 2, 10)),
        IDS["移出己"]: ("街道移出：已入住外区养老院", None),
    }
    # The decisions hold in March without being sent again; nobody new, nobody left.
    assert {k: v[:2] for k, v in on_list(march).items()} == {
        k: v[:2] for k, v in on_list(february).items()}
    assert {v[2] for v in on_list(march).values()} == {"继续"}
    assert march.departures.height == 0
    assert stored == (4, dt.date(2026, 3, 31), dt.date(2026, 3, 31), dt.date(2026, 1, 31))


def test_a_decision_needs_a_valid_id_and_a_reason(warehouse):
    with open_warehouse(warehouse.warehouse) as conn:
        with pytest.raises(CareDecisionError) as err:
            record_care_decision(conn, id_number="310110194005010011", subdistrict_code=SUB1,
                                 decision="remove", reason=" ", valid_from="2026-13")
    message = str(err.value)
    assert "310110********0011" in message and "310110194005010011" not in message
    assert "a reason is required" in message and "'2026-13' is not a month" in message


def test_the_asset_builds_the_month_in_a_dagster_run(warehouse, monkeypatch):
    monkeypatch.setenv("ONCEONLY_DATA_DIR", str(warehouse.root))
    result = dg.materialize([elderly_care_list], partition_key="2026-03",
                            instance=dg.DagsterInstance.ephemeral(),
                            resources={"warehouse": Warehouse(data_dir=str(warehouse.root))})

    assert result.success
    meta = result.asset_materializations_for_node("care__elderly_care_list")[0].metadata
    assert meta["build_date"].value == "2026-03-31"
    assert meta["on_list"].value == 4
    assert result.asset_materializations_for_node("care__elderly_care_list")[0].asset_key \
        == CARE_LIST_KEY
    with duckdb.connect(str(warehouse.warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM care.care_list WHERE period = '2026-03'"
                            ).fetchone() == (4,)
    assert list_build_date("2026-03", today=dt.date(2026, 3, 12)) == dt.date(2026, 3, 12)
