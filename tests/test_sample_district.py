"""The built-in sample district: determinism, realistic extracts, and a truth worth testing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
import yaml

from onceonly.identity import IdStatus, birth_date_of, read_id, sex_of
from onceonly.sample_district import generate

PEOPLE, MONTHS, SEED = 3000, 3, 7
TAGS = ("202601", "202602", "202603")
LABELS = ("2026-01", "2026-02", "2026-03")
RULES = ("death", "marriage", "divorce", "moved_out")
CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "feeds"


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """One generated district shared by the tests of this module."""
    root = tmp_path_factory.mktemp("district")
    summary = generate(root / "out", root / "truth", people=PEOPLE, months=MONTHS, seed=SEED)
    return root, summary


def _read_csv(path: Path, encoding: str) -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as f:
        return list(csv.DictReader(f))


def _alerts(root: Path) -> list[dict[str, str]]:
    return _read_csv(root / "truth" / "alerts.csv", "utf-8")


def _headers(feed: str, schema: str | None = None) -> list[str]:
    contract = yaml.safe_load((CONTRACTS / f"{feed}.yaml").read_text(encoding="utf-8"))
    chosen = next(o for o in contract["schema"] if schema is None or o["name"] == schema)
    return [p["businessName"] for p in chosen["properties"]]


def _sheet_rows(path: Path, sheet: str | None = None) -> list[tuple]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    ws = workbook[sheet] if sheet else workbook.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    workbook.close()
    return rows


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(district, tmp_path):
    root, summary = district
    again = generate(
        tmp_path / "a" / "out", tmp_path / "a" / "truth", people=PEOPLE, months=MONTHS, seed=SEED
    )
    assert [p.name for p in again.files] == [p.name for p in summary.files]
    for first, second in zip(
        summary.files + summary.truth_files, again.files + again.truth_files, strict=True
    ):
        assert first.read_bytes() == second.read_bytes(), first.name

    generate(
        tmp_path / "b" / "out",
        tmp_path / "b" / "truth",
        people=PEOPLE,
        months=MONTHS,
        seed=SEED + 1,
    )
    register = f"户籍人口_{TAGS[0]}.csv"
    assert (root / "out" / register).read_bytes() != (
        tmp_path / "b" / "out" / register
    ).read_bytes()


def test_out_dir_holds_only_the_extracts(district):
    root, summary = district
    expected = {"劳动力档案期初库存.csv"}
    for tag in TAGS:
        expected |= {
            f"户籍人口_{tag}.csv",
            f"户籍迁移_{tag}.csv",
            f"婚姻登记_{tag}.csv",
            f"死亡登记_{tag}.xlsx",
            f"社会救助对象_{tag}.xlsx",
            f"养老服务对象_{tag}.xlsx",
            f"劳动力档案变动_{tag}.csv",
        }
    assert {p.name for p in (root / "out").iterdir()} == expected
    assert {p.name for p in summary.files} == expected
    assert {p.name for p in (root / "truth").iterdir()} >= {"alerts.csv", "counts.json"}
    counts = json.loads((root / "truth" / "counts.json").read_text(encoding="utf-8"))
    assert counts["seed"] == SEED and counts["people"] == PEOPLE and counts["months"] == MONTHS
    assert (
        counts["rows"]["household_register"]["2026-01"]
        == summary.row_counts["household_register"]["2026-01"]
    )


def test_household_register_ids_are_valid_and_agree_with_sex_and_birth_date(district):
    root, _ = district
    rows = _read_csv(root / "out" / f"户籍人口_{TAGS[0]}.csv", "gb18030")
    assert len(rows) >= PEOPLE
    ids = [r["公民身份号码"] for r in rows]
    assert len(set(ids)) == len(ids)
    statuses = Counter()
    for row in rows:
        reading = read_id(row["公民身份号码"])
        statuses[reading.status] += 1
        assert reading.status in (IdStatus.VALID, IdStatus.UNKNOWN_COUNTY), row["公民身份号码"]
        assert sex_of(reading.normalised) == row["性别"]
        birth = row["出生日期"].replace("-", "")
        assert birth_date_of(reading.normalised).strftime("%Y%m%d") == birth
        assert len(row["户号"]) == 9 and row["户号"].isdigit()
    assert statuses[IdStatus.UNKNOWN_COUNTY] > 0  # abolished county codes are present
    assert sum(r["公民身份号码"].startswith("31") for r in rows) / len(rows) == pytest.approx(
        0.45, abs=0.06
    )
    assert any(r["户号"].startswith("00") for r in rows)
    assert any(len(r["出生日期"]) == 8 for r in rows)


def test_about_thirty_percent_are_sixty_or_older(district):
    root, _ = district
    rows = _read_csv(root / "out" / f"户籍人口_{TAGS[0]}.csv", "gb18030")
    start = dt.date(2026, 1, 1)

    def age(text: str) -> int:
        born = dt.datetime.strptime(text.replace("-", ""), "%Y%m%d").date()
        return start.year - born.year - ((start.month, start.day) < (born.month, born.day))

    ages = [age(r["出生日期"]) for r in rows]
    assert 0.25 <= sum(a >= 60 for a in ages) / len(ages) <= 0.35
    assert sum(a >= 80 for a in ages) >= 30


def test_encodings_are_the_ones_departments_use(district):
    root, _ = district
    register = (root / "out" / f"户籍人口_{TAGS[0]}.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        register.decode("utf-8", errors="strict")
    text = register.decode("gb18030", errors="strict")
    assert "䶮" in text
    assert text.split("\n")[0].endswith("\r")

    for name in (
        f"婚姻登记_{TAGS[0]}.csv",
        f"劳动力档案变动_{TAGS[0]}.csv",
        "劳动力档案期初库存.csv",
    ):
        assert (root / "out" / name).read_bytes().startswith(b"\xef\xbb\xbf"), name
    moves = (root / "out" / f"户籍迁移_{TAGS[0]}.csv").read_bytes()
    assert not moves.startswith(b"\xef\xbb\xbf")
    moves.decode("utf-8", errors="strict")


def test_headers_follow_the_contracts_with_the_last_month_alias(district):
    root, _ = district
    out = root / "out"

    def header(path: Path, encoding: str) -> list[str]:
        return next(csv.reader(io.StringIO(path.read_text(encoding=encoding))))

    assert header(out / f"户籍人口_{TAGS[0]}.csv", "gb18030") == _headers("household_register")
    drifted = header(out / f"户籍人口_{TAGS[-1]}.csv", "gb18030")
    assert drifted == ["身份证号"] + _headers("household_register")[1:]
    assert header(out / f"户籍迁移_{TAGS[0]}.csv", "utf-8") == _headers("household_moves")
    assert header(out / f"婚姻登记_{TAGS[0]}.csv", "utf-8-sig") == _headers("marriage_registry")
    assert header(out / f"劳动力档案变动_{TAGS[0]}.csv", "utf-8-sig") == _headers(
        "labour_archive", "labour_archive_changes"
    )
    households = _sheet_rows(out / f"社会救助对象_{TAGS[0]}.xlsx", "救助家庭")
    assert households[1] == (None,) * len(households[1])  # blank row above the header
    assert list(households[2]) == _headers("social_aid", "aid_households")
    members = _sheet_rows(out / f"社会救助对象_{TAGS[0]}.xlsx", "家庭成员")
    assert list(members[2]) == _headers("social_aid", "aid_members")
    assert list(_sheet_rows(out / f"养老服务对象_{TAGS[0]}.xlsx")[0]) == _headers(
        "elderly_services"
    )


def test_death_workbook_has_its_header_on_row_four(district):
    root, _ = district
    workbook = openpyxl.load_workbook(root / "out" / f"死亡登记_{TAGS[0]}.xlsx")
    ws = workbook.worksheets[0]
    assert "死亡登记信息" in ws.cell(1, 1).value
    assert ws.cell(2, 1).value.startswith("填报单位：")
    assert [c.value for c in ws[4]] == _headers("death_registry")
    assert ws.max_row >= 5
    assert isinstance(ws.cell(5, 5).value, dt.datetime)  # 死亡日期 is a true date
    assert isinstance(ws.cell(5, 3).value, str)  # IDs are text
    dt.datetime.strptime(ws.cell(5, 6).value, "%Y-%m-%d %H:%M:%S")


def test_labour_archive_misses_one_report_in_the_second_month(district):
    root, _ = district
    counts = [len(_read_csv(root / "out" / f"劳动力档案变动_{t}.csv", "utf-8-sig")) for t in TAGS]
    assert counts == [12, 11, 12]


def test_truth_has_every_rule_every_month_and_the_hard_matches(district):
    root, _ = district
    alerts = _alerts(root)
    monthly = Counter((a["month"], a["rule"]) for a in alerts if a["check"] == "monthly")
    for label in LABELS:
        for rule in RULES:
            assert monthly[(label, rule)] > 0, (label, rule)
    methods = Counter(a["match_method"] for a in alerts)
    assert methods["upgraded_15"] >= 2
    assert methods["name_birth_date"] >= 2
    assert any(a["check"] == "enrolment" for a in alerts)
    assert all(a["month"] != LABELS[0] for a in alerts if a["check"] == "enrolment")
    keys = [(a["rule"], a["record_id"], a["person_id_number"]) for a in alerts]
    assert len(keys) == len(set(keys))
    for a in alerts:
        assert read_id(a["person_id_number"]).status in (IdStatus.VALID, IdStatus.UNKNOWN_COUNTY)


def _registry_ids_by_month(root: Path) -> dict[str, set[tuple[str, str]]]:
    """(record_id, 18-digit ID) of every person in each month's death, marriage and move files."""
    found: dict[str, set[tuple[str, str]]] = {}
    for tag, label in zip(TAGS, LABELS, strict=True):
        pairs = set()
        for row in _sheet_rows(root / "out" / f"死亡登记_{tag}.xlsx")[4:]:
            pairs.add((row[0], row[2]))
        for row in _read_csv(root / "out" / f"婚姻登记_{tag}.csv", "utf-8-sig"):
            pairs.add((row["登记编号"], row["男方身份证号"]))
            pairs.add((row["登记编号"], row["女方身份证号"]))
        for row in _read_csv(root / "out" / f"户籍迁移_{tag}.csv", "utf-8"):
            pairs.add((row["业务编号"], row["公民身份号码"]))
        found[label] = pairs
    return found


def test_every_alert_points_at_a_real_registry_record(district):
    root, _ = district
    registry = _registry_ids_by_month(root)
    everything = set().union(*registry.values())
    for a in _alerts(root):
        pair = (a["record_id"], a["person_id_number"])
        if a["check"] == "monthly":
            assert pair in registry[a["month"]]
        else:
            assert pair in everything and pair not in registry[a["month"]]


def test_hard_matches_are_really_hard_in_the_roster(district):
    root, _ = district
    alerts = _alerts(root)
    members = _sheet_rows(root / "out" / f"社会救助对象_{TAGS[-1]}.xlsx", "家庭成员")[3:]
    recorded = {(r[0], r[1]) for r in members}
    for a in alerts:
        if a["match_method"] == "upgraded_15":
            legacy = a["person_id_number"][:6] + a["person_id_number"][8:17]
            assert (a["case_no"], legacy) in recorded
        if a["match_method"] == "name_birth_date":
            ids = [r[1] for r in members if r[0] == a["case_no"]]
            typo = [i for i in ids if i[:17] == a["person_id_number"][:17]]
            assert typo and read_id(typo[0]).status == IdStatus.BAD_CHECK_DIGIT


def test_decoys_on_not_counted_members_are_not_alerts(district):
    root, _ = district
    alerted = {a["person_id_number"] for a in _alerts(root)}
    registry = _registry_ids_by_month(root)
    registry_ids = {i for pairs in registry.values() for _, i in pairs}
    counted, not_counted = set(), set()
    for row in _sheet_rows(root / "out" / f"社会救助对象_{TAGS[-1]}.xlsx", "家庭成员")[3:]:
        reading = read_id(row[1])
        if reading.usable:
            (counted if row[4] == "是" else not_counted).add(reading.normalised)
    decoys = (not_counted - counted) & registry_ids
    assert decoys
    assert not decoys & alerted


def test_aid_roster_carries_light_dirt_but_keeps_ids_as_text(district):
    root, _ = district
    members = _sheet_rows(root / "out" / f"社会救助对象_{TAGS[-1]}.xlsx", "家庭成员")[3:]
    assert all(isinstance(r[1], str) for r in members)
    statuses = Counter(read_id(r[1]).status for r in members)
    assert statuses[IdStatus.UPGRADED_FROM_15] > 0
    assert statuses[IdStatus.BAD_CHECK_DIGIT] > 0
    households = _sheet_rows(root / "out" / f"社会救助对象_{TAGS[-1]}.xlsx", "救助家庭")[3:]
    assert all(isinstance(r[4], float | int) for r in households)
    assert {r[9] for r in households} == {"在保", "停保"}
