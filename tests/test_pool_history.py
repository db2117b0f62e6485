"""The pool on a small hand-made district: authority resolution, a 15/18-digit pair, a move
out and back, a vanished person, households, idempotent reruns and the Parquet publication.

Four months of household registration (full extracts) and one marriage registration are
written as real CSV files, landed by the real landing assets and pooled by a real Dagster run
on a temporary DuckDB file.
"""

import csv
import datetime as dt
from pathlib import Path

import dagster as dg
import openpyxl
import polars as pl
import pytest

from assets.extracts import landing_assets, landing_key
from assets.pool import (
    catalogue,
    field_conflicts,
    household_membership_consistent,
    parquet_publication,
    people_known_to_master,
    person,
    person_keys_unique,
)
from onceonly.contracts import feed
from onceonly.identity import check_character, downgrade_18_to_15, mask_id
from onceonly.pool.history import household_as_of, person_as_of
from onceonly.settings import data_folder
from pipelines.resources import Warehouse
from warehouse.connection import open_warehouse

pytestmark = pytest.mark.xdist_group("pool_history")

MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04")


def make_id(county: str, birth: str, order: str) -> str:
    first17 = county + birth + order
    return first17 + check_character(first17)


MOVER = make_id("310110", "19800101", "123")         # moves out in Feb, back in Apr
LEGACY = make_id("310110", "19520315", "041")        # sent as 15 digits in Jan, 18 in Feb on
VANISHED = make_id("310110", "19700707", "062")      # silently absent from March on
HEAD = make_id("310110", "19750505", "011")          # head of the mover's household
GROOM = make_id("110101", "19900307", "803")         # marries in Feb; the registry misspells him
BRIDE_OUTSIDER = make_id("440304", "19850612", "001")  # not registered in the district


def _register_row(id_number, name, sex, birth, household, relation, address, status,
                  change_date=""):
    return [id_number, name, sex, birth, household, relation, address, "310110012",
            "平凉路街道", status, change_date]


def household_register(month: str) -> list[list[str]]:
    """The month's full extract: who is listed, with what."""
    rows = [
        _register_row(HEAD, "王建国", "男", "1975-05-05", "000123456", "户主",
                      "杨浦区平凉路1号", "正常"),
        _register_row(GROOM, "张三", "男", "1990-03-07", "000223344", "户主",
                      "杨浦区平凉路3号", "正常"),
    ]
    legacy_id = downgrade_18_to_15(LEGACY) if month == "2026-01" else LEGACY
    rows.append(_register_row(legacy_id, "李淑芬", "女", "1952-03-15", "000555666", "户主",
                              "杨浦区平凉路5号", "正常"))
    if month in ("2026-01", "2026-02"):
        rows.append(_register_row(VANISHED, "赵六", "男", "1970-07-07", "000777888", "户主",
                                  "杨浦区平凉路7号", "正常"))
    if month == "2026-01":
        rows.append(_register_row(MOVER, "刘洋", "男", "1980-01-01", "000123456", "子",
                                  "杨浦区平凉路1号", "正常"))
    elif month == "2026-02":
        rows.append(_register_row(MOVER, "刘洋", "男", "1980-01-01", "000123456", "子",
                                  "杨浦区平凉路1号", "迁出", "2026-02-10"))
    elif month == "2026-04":
        rows.append(_register_row(MOVER, "刘洋", "男", "1980-01-01", "000999000", "户主",
                                  "杨浦区控江路9号", "正常", "2026-04-05"))
    return rows


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def write_inbox(inbox: Path) -> None:
    hukou = feed("household_register").table("household_register")
    for month in MONTHS:
        _write_csv(inbox / f"户籍人口_{month.replace('-', '')}.csv",
                   [c.business_name for c in hukou.columns], household_register(month))
    marriages = feed("marriage_registry").table("marriage_registry")
    _write_csv(inbox / "婚姻登记_202602.csv", [c.business_name for c in marriages.columns],
               [["JH2026020001", "结婚登记", "2026-02-14", "张叁", GROOM, "陈红",
                 BRIDE_OUTSIDER]])


POOL_ASSETS = [*landing_assets, person, field_conflicts, catalogue, parquet_publication]
POOL_CHECKS = [person_keys_unique, people_known_to_master, household_membership_consistent]


def run_month(root: Path, month: str, selection=None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*POOL_ASSETS, *POOL_CHECKS],
        selection=selection,
        partition_key=month,
        resources={"warehouse": Warehouse(data_dir=str(root))},
        raise_on_error=True,
    )


@pytest.fixture(scope="module")
def pooled(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("pool_history")
    folder = data_folder(root).ensure()
    write_inbox(folder.inbox)
    results = {month: run_month(root, month) for month in MONTHS}
    return {"root": root, "folder": folder, "results": results}


def _as_of(folder, day: str) -> dict[str, dict]:
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        frame = person_as_of(conn, dt.date.fromisoformat(day))
    return {row["id_number"]: row for row in frame.iter_rows(named=True)}


def test_move_out_and_back_is_two_changes_with_as_of_answers(pooled):
    folder = pooled["folder"]
    expected = {
        "2026-01-31": ("正常", "000123456"),
        "2026-02-09": ("正常", "000123456"),
        "2026-02-10": ("迁出", "000123456"),
        "2026-03-15": ("迁出", "000123456"),  # absent from March: moved out, as last said
        "2026-04-04": ("迁出", "000123456"),
        "2026-04-05": ("正常", "000999000"),
    }
    for day, (status, household) in expected.items():
        mover = _as_of(folder, day)[MOVER]
        assert (mover["registration_status"], mover["household_no"]) == (status, household), day

    with open_warehouse(folder.warehouse, read_only=True) as conn:
        versions = conn.execute(
            "SELECT registration_status, valid_from, valid_to, first_period, last_period "
            "FROM pool.person_history WHERE id_number = ? ORDER BY version", [MOVER]).fetchall()
    assert versions == [
        ("正常", dt.date(2026, 1, 1), dt.date(2026, 2, 10), "2026-01", "2026-01"),
        ("迁出", dt.date(2026, 2, 10), dt.date(2026, 4, 5), "2026-02", "2026-02"),
        ("正常", dt.date(2026, 4, 5), None, "2026-04", "2026-04"),
    ]


def test_vanished_person_is_kept_and_their_disappearance_recorded(pooled):
    folder = pooled["folder"]
    assert _as_of(folder, "2026-02-28")[VANISHED]["presence"] == "present"
    march = _as_of(folder, "2026-03-01")[VANISHED]
    assert march["presence"] == "missing_from_extract"
    assert march["name"] == "赵六"  # last known fields kept, not deleted
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        current = conn.execute(
            "SELECT presence, last_seen_period, as_of_period FROM pool.person "
            "WHERE id_number = ?", [VANISHED]).fetchone()
        member = conn.execute(
            "SELECT valid_from, valid_to FROM pool.household_member WHERE id_number = ?",
            [VANISHED]).fetchall()
    assert current == ("missing_from_extract", "2026-02", "2026-04")
    assert member == [(dt.date(2026, 1, 1), dt.date(2026, 3, 1))]
    assert pooled["results"]["2026-04"].asset_materializations_for_node("pool__person")[
        0].metadata["missing_from_extract"].value == 1


def test_legacy_15_digit_id_and_its_18_digit_form_are_one_person(pooled):
    folder = pooled["folder"]
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        people = conn.execute(
            "SELECT id_number, legacy_id_number, first_period FROM pool.person "
            "WHERE name = '李淑芬'").fetchall()
        versions = conn.execute(
            "SELECT count(*) FROM pool.person_history WHERE id_number = ?", [LEGACY]).fetchone()
        identifiers = conn.execute(
            "SELECT kind, identifier, first_period, last_period FROM pool.person_identifier "
            "WHERE id_number = ? ORDER BY kind", [LEGACY]).fetchall()
    assert people == [(LEGACY, downgrade_18_to_15(LEGACY), "2026-01")]
    assert versions == (1,)  # the same fields under two ID forms are not a change
    assert identifiers == [("id_18", LEGACY, "2026-02", "2026-04"),
                           ("legacy_15", downgrade_18_to_15(LEGACY), "2026-01", "2026-01")]


def test_non_authority_value_is_a_conflict_and_goes_on_the_correction_list(pooled):
    folder = pooled["folder"]
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        conflicts = conn.execute(
            "SELECT period, field, id_number, authority_value, other_value, authority_feed, "
            "authority_period, other_feed, other_column, other_file, other_row_number, "
            "other_as_of, other_department FROM pool.field_conflicts").fetchall()
        pooled_name = conn.execute("SELECT name FROM pool.person WHERE id_number = ?",
                                   [GROOM]).fetchone()[0]
    assert conflicts == [(
        "2026-02", "name", GROOM, "张三", "张叁", "household_register", "2026-01",
        "marriage_registry", "male_name", "婚姻登记_202602.csv", 2, dt.date(2026, 2, 28),
        "婚姻登记",
    )]
    assert pooled_name == "张三"  # the pool keeps the authority's value

    lists = sorted((folder.reports / "corrections" / "2026-02").glob("*.xlsx"))
    assert [p.name for p in lists] == ["婚姻登记_数据更正清单_202602.xlsx"]
    sheet = openpyxl.load_workbook(lists[0]).worksheets[0]
    header = [c.value for c in sheet[4]]
    row = dict(zip(header, [c.value for c in sheet[5]], strict=True))
    assert row["字段"] == "姓名"
    assert row["公民身份号码（脱敏）"] == mask_id(GROOM)  # reports never hold a full ID
    assert (row["来源文件"], row["文件行号"]) == ("婚姻登记_202602.csv", 2)
    assert (row["本部门数据"], row["权威数据"], row["权威部门"]) == ("张叁", "张三", "公安户籍")
    assert row["核实结果"] is None and sheet.max_row == 5
    # Other months have no conflicts, so no lists.
    assert not list((folder.reports / "corrections" / "2026-03").glob("*.xlsx"))


def test_outsider_is_flagged_not_matched_and_checks_report_it(pooled):
    result = pooled["results"]["2026-04"]
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["person_keys_unique"].passed
    known = checks["people_known_to_master"]
    assert not known.passed and known.severity == dg.AssetCheckSeverity.WARN
    assert known.metadata["unmatched_people"].value == 1
    assert known.metadata["neither_matched_nor_flagged"].value == 0
    households = checks["household_membership_consistent"]
    assert households.passed, households.metadata


def test_households_as_of_follow_the_mover(pooled):
    folder = pooled["folder"]
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        january = household_as_of(conn, dt.date(2026, 1, 31))
        april = household_as_of(conn, dt.date(2026, 4, 30))
    jan = {r["household_no"]: r for r in january.iter_rows(named=True)}
    apr = {r["household_no"]: r for r in april.iter_rows(named=True)}
    assert jan["000123456"]["members"] == 2 and jan["000123456"]["head_id_number"] == HEAD
    assert apr["000123456"]["members"] == 1
    assert apr["000999000"]["head_id_number"] == MOVER
    assert "000777888" not in apr  # the vanished person's household is no longer current


def test_parquet_is_readable_without_duckdb(pooled):
    parquet = pooled["folder"].parquet
    people = pl.read_parquet(parquet / "person" / "**" / "*.parquet", hive_partitioning=True)
    march = people.filter(pl.col("period") == "2026-03")
    assert set(march["id_number"]) == {HEAD, GROOM, LEGACY, VANISHED, MOVER}
    assert march.filter(pl.col("id_number") == MOVER)["registration_status"].item() == "迁出"
    history = pl.read_parquet(parquet / "person_history" / "**" / "*.parquet",
                              hive_partitioning=True)
    assert history.height == 5 + 2 + 1  # five people, the mover's two changes, one vanishing
    conflicts = pl.read_parquet(parquet / "field_conflicts" / "**" / "*.parquet",
                                hive_partitioning=True)
    assert conflicts["other_value"].to_list() == ["张叁"]


def test_rerunning_a_month_changes_nothing(pooled):
    folder = pooled["folder"]
    query = "SELECT * FROM pool.person_history ORDER BY id_number, version"
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        before = conn.execute(query).fetchall()
        conflicts_before = conn.execute("SELECT count(*) FROM pool.field_conflicts").fetchone()
    run_month(pooled["root"], "2026-02")
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        assert conn.execute(query).fetchall() == before
        assert conn.execute("SELECT count(*) FROM pool.field_conflicts").fetchone() == (
            conflicts_before)


def test_months_landed_out_of_order_give_the_same_history(pooled, tmp_path):
    """A resent January after April, and February last, must not corrupt the history."""
    folder = data_folder(tmp_path).ensure()
    write_inbox(folder.inbox)
    hukou = next(a for a in landing_assets if a.key == landing_key("household_register"))
    for month in ("2026-04", "2026-01", "2026-03", "2026-02"):
        dg.materialize(
            [hukou, person],
            partition_key=month,
            resources={"warehouse": Warehouse(data_dir=str(tmp_path))},
        )
    query = "SELECT * EXCLUDE (source_file_name) FROM pool.person_history ORDER BY ALL"
    with open_warehouse(folder.warehouse, read_only=True) as conn:
        shuffled = conn.execute(query).fetchall()
        in_sql = conn.execute(
            "SELECT registration_status FROM pool.person_as_of(DATE '2026-03-15') "
            "WHERE id_number = ?", [MOVER]).fetchone()
    with open_warehouse(pooled["folder"].warehouse, read_only=True) as conn:
        in_order = conn.execute(query).fetchall()
    assert shuffled == in_order
    assert in_sql == ("迁出",)  # the as-of question answered by the SQL macro too
