"""The aid sentinel on a generated district: the enrolment sensor, the monthly check, the alert
lists, returned dispositions and the summary.

The stages run in the order a real month sees them: the extracts land, the enrolment sensor
notices the new cases of the latest roster and checks them at once, then the check before
payment runs month by month.
"""

import dagster as dg
import openpyxl
import pytest

from assets.aid_enrolment import ENROLMENT_OP, aid_enrolment_check, aid_enrolment_sensor
from onceonly.identity import has_valid_check_character
from onceonly.reference import subdistricts
from onceonly.sample_district import generate
from onceonly.sentinel.alert_lists import ALERT_LIST_FORM_ID, alert_list_path
from onceonly.settings import data_folder
from pipelines.resources import Warehouse
from tests.sentinel_fixtures import (
    SENTINEL_ASSETS,
    check,
    land,
    materialize,
    planted,
    query,
    raised,
)

pytestmark = pytest.mark.xdist_group("sentinel_checks")

MONTHS = ["2026-01", "2026-02", "2026-03"]
LAST = MONTHS[-1]


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """A 3-month district with every extract landed and no sentinel run yet."""
    folder = data_folder(tmp_path_factory.mktemp("sentinel")).ensure()
    generate(folder.inbox, folder.truth, people=3000, months=3, seed=11)
    for month in MONTHS:
        land(folder, month)
    return folder


@pytest.fixture(scope="module")
def enrolment(landed):
    """The enrolment sensor's first and second look, and the run its request started."""
    folder = landed
    instance = dg.DagsterInstance.ephemeral()
    resources = {"warehouse": Warehouse(data_dir=str(folder.root))}
    first_ctx = dg.build_sensor_context(instance=instance, resources=resources)
    first = aid_enrolment_sensor(first_ctx)
    run = aid_enrolment_check.execute_in_process(
        run_config=first.run_config, instance=instance, resources=resources)
    alerts = raised(folder, LAST)
    second = aid_enrolment_sensor(dg.build_sensor_context(
        instance=instance, resources=resources, cursor=first_ctx.cursor))
    return first, run, alerts, second


@pytest.fixture(scope="module")
def checked(landed, enrolment):
    """Every month checked before payment, in order, after the enrolment check."""
    for month in MONTHS:
        check(landed, month)
    return landed


def test_the_sensor_requests_an_enrolment_check_of_the_new_cases(landed, enrolment):
    first, _, _, second = enrolment
    enrolled = {r[4] for r in planted(landed.truth, LAST) if r[1] == "enrolment"}
    assert isinstance(first, dg.RunRequest)
    listed = first.run_config["ops"][ENROLMENT_OP]["config"]["case_nos"]
    new_in_roster = {c for (c,) in query(
        landed, "SELECT case_no FROM landing.aid_households WHERE _period = ? AND status = '在保' "
        "AND case_no NOT IN (SELECT case_no FROM landing.aid_households WHERE _period < ?)",
        [LAST, LAST])}
    assert set(listed) == new_in_roster
    assert enrolled <= set(listed)
    assert first.run_key.startswith(f"enrolment:{LAST}:")
    assert isinstance(second, dg.SkipReason)  # the same roster is not looked at twice


def test_the_enrolment_check_catches_a_death_from_before_enrolment(landed, enrolment):
    _, run, alerts, _ = enrolment
    assert run.success
    truth = {r for r in planted(landed.truth, LAST) if r[1] == "enrolment"}
    assert alerts == truth  # the enrolment check raised exactly the planted ones, nothing else
    deaths = query(landed, """
        SELECT a.event_date, h.enrolled_on FROM sentinel.alerts a
        JOIN landing.aid_households h ON h.case_no = a.case_no AND h._period = a.period
        WHERE a.period = ? AND a.check_kind = 'enrolment' AND a.rule = 'death'""", [LAST])
    assert deaths and all(died < enrolled for died, enrolled in deaths)
    listed = enrolment[0].run_config["ops"][ENROLMENT_OP]["config"]["case_nos"]
    checked = {c for (c,) in query(landed, "SELECT case_no FROM sentinel.enrolment_checked")}
    assert checked == set(listed)
    assert run.output_for_node(ENROLMENT_OP) == len(truth)


def test_the_monthly_check_keeps_what_the_enrolment_check_raised(checked, enrolment):
    _, _, by_sensor, _ = enrolment
    assert by_sensor <= raised(checked, LAST)


@pytest.mark.parametrize("month", MONTHS)
def test_alerts_equal_the_planted_truth(checked, month):
    truth = planted(checked.truth, month)
    assert truth
    assert raised(checked, month) == truth


def test_no_alert_repeats_across_months(checked):
    repeats = query(checked, "SELECT rule, record_id, person_id_number, count(*) "
                             "FROM sentinel.alerts GROUP BY ALL HAVING count(*) > 1")
    assert repeats == []
    ids = query(checked, "SELECT count(*), count(DISTINCT alert_id) FROM sentinel.alerts")[0]
    assert ids[0] == ids[1] == len(planted(checked.truth))


def test_every_alert_carries_its_case_registry_record_and_amount(checked):
    rows = query(checked, """
        SELECT a.alert_id, a.reason_code, a.aid_type, a.monthly_amount, h.aid_type,
               h.monthly_amount, a.subdistrict_code, h.subdistrict_code, a.registry,
               a.record_id, a.relation,
               substr(sha256(a.rule || '|' || a.record_id || '|' || a.person_id_number), 1, 20)
        FROM sentinel.alerts a
        JOIN landing.aid_households h ON h.case_no = a.case_no AND h._period = a.period""")
    assert len(rows) == len(planted(checked.truth))
    reasons = {"DEATH_REGISTERED", "MARRIAGE_REGISTERED", "DIVORCE_REGISTERED",
               "HUKOU_MOVED_OUT"}
    for (alert_id, reason, aid_type, amount, case_type, case_amount, sub, case_sub, registry,
         record_id, relation, stable_id) in rows:
        assert alert_id == stable_id
        assert reason in reasons
        assert (aid_type, amount, sub) == (case_type, case_amount, case_sub)
        assert amount > 0 and relation
        table = {"death_registry": "death_registry", "marriage_registry": "marriage_registry",
                 "household_moves": "household_moves"}[registry]
        assert query(checked, f"SELECT count(*) FROM landing.{table} WHERE record_id = ?",
                     [record_id])[0][0] >= 1


def test_a_member_known_only_by_a_15_digit_id_is_matched_with_that_reason(checked):
    rows = query(checked, """
        SELECT a.alert_id, a.match_certainty, m.member_id_number_raw,
               m.member_id_number_status, a.person_id_number
        FROM sentinel.alerts a JOIN landing.aid_members m
          ON m.case_no = a.case_no AND m._period = a.period
         AND m.member_id_number = a.person_id_number
        WHERE a.match_method = 'upgraded_15'""")
    assert len(rows) == len({r for r in planted(checked.truth) if r[7] == "upgraded_15"})
    for _, certainty, raw, status, id18 in rows:
        assert (certainty, status, len(raw)) == ("high", "upgraded_from_15", 15)
        assert id18[:6] + id18[8:17] == raw  # the same person: '19' inserted, check digit added


def test_a_check_digit_typo_is_matched_at_lower_certainty(checked):
    rows = query(checked, """
        SELECT a.alert_id, a.match_certainty, m.member_id_number_raw,
               m.member_id_number_status, a.person_id_number, a.person_name = m.member_name
        FROM sentinel.alerts a JOIN landing.aid_members m
          ON m.case_no = a.case_no AND m._period = a.period AND m.member_name = a.person_name
        WHERE a.match_method = 'name_birth_date'""")
    assert len(rows) == len({r for r in planted(checked.truth) if r[7] == "name_birth_date"})
    for _, certainty, raw, status, registry_id, same_name in rows:
        assert (certainty, status, same_name) == ("lower", "bad_check_digit", True)
        assert not has_valid_check_character(raw) and raw != registry_id
        assert raw[6:14] == registry_id[6:14]  # same birth date


def test_each_completed_check_is_recorded_with_its_window(checked):
    rows = query(checked, "SELECT period, previous_period, CAST(window_start AS VARCHAR), "
                          "CAST(cutoff AS VARCHAR), alerts_new FROM sentinel.checks "
                          "WHERE kind = 'monthly' ORDER BY period")
    assert rows == [
        ("2026-01", None, "2026-01-01", "2026-01-31", len(planted(checked.truth, "2026-01"))),
        ("2026-02", "2026-01", "2026-02-01", "2026-02-28",
         len(planted(checked.truth, "2026-02"))),
        ("2026-03", "2026-02", "2026-03-01", "2026-03-31",
         len(planted(checked.truth, "2026-03"))),
    ]
    enrolment = query(checked, "SELECT period, cases_checked FROM sentinel.checks "
                               "WHERE kind = 'enrolment'")
    assert [p for p, _ in enrolment] == [LAST]


def _all_alert_columns(folder) -> list[tuple]:
    return query(folder, "SELECT * FROM sentinel.alerts ORDER BY alert_id")


def test_rerunning_a_month_or_the_range_backwards_gives_identical_alerts(checked):
    before = _all_alert_columns(checked)
    windows = query(checked, "SELECT period, window_start, cutoff FROM sentinel.checks "
                             "ORDER BY check_id")
    check(checked, "2026-02")
    assert _all_alert_columns(checked) == before
    for month in reversed(MONTHS):
        check(checked, month)
    assert _all_alert_columns(checked) == before
    assert query(checked, "SELECT period, window_start, cutoff FROM sentinel.checks "
                          "ORDER BY check_id") == windows


def test_one_alert_list_per_subdistrict_and_month(checked):
    logged = query(checked, "SELECT period, subdistrict_code, row_count FROM exports.export_log "
                            "WHERE form_id = ? ORDER BY 1, 2", [ALERT_LIST_FORM_ID])
    assert len(logged) == 12 * len(MONTHS)
    per_sub = dict(((p, s), n) for p, s, n in query(
        checked, "SELECT period, subdistrict_code, count(*) FROM sentinel.alerts GROUP BY ALL"))
    for period, sub_code, rows in logged:
        assert rows == per_sub.get((period, sub_code), 0)
    for sub in subdistricts():
        path = alert_list_path(checked.exports, "2026-02", sub)
        book = openpyxl.load_workbook(path)
        sheet = book.worksheets[0]
        headers = [sheet.cell(4, c).value for c in range(1, sheet.max_column + 1)]
        assert headers[-2:] == ["核实结果", "备注"]
        ids = [sheet.cell(r, 1).value for r in range(5, sheet.max_row + 1)
               if sheet.cell(r, 1).value]
        expected = {a for (a,) in query(checked, "SELECT alert_id FROM sentinel.alerts WHERE "
                                                 "period = '2026-02' AND subdistrict_code = ?",
                                        [sub.code])}
        assert set(ids) == expected
        id_col = headers.index("公民身份号码") + 1
        for r in range(5, 5 + len(ids)):
            cell = sheet.cell(r, id_col)
            assert cell.data_type == "s" and cell.number_format == "@" and len(cell.value) == 18
            assert cell.protection.locked
            assert not sheet.cell(r, len(headers) - 1).protection.locked  # 核实结果 is open
        assert sheet.protection.sheet
        meta = {row[0]: row[1] for row in book["_表单信息"].iter_rows(values_only=True)
                if row[0]}
        assert meta["form_id"] == ALERT_LIST_FORM_ID and meta["period"] == "2026-02"
        assert meta["subdistrict_code"] == sub.code


def _fill(path, choices: dict[str, tuple[str, str]], out):
    """Fill 核实结果 and 备注 of a list as a worker would, and save it into the inbox."""
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    headers = [sheet.cell(4, c).value for c in range(1, sheet.max_column + 1)]
    result_col, note_col = headers.index("核实结果") + 1, headers.index("备注") + 1
    for r in range(5, sheet.max_row + 1):
        alert_id = sheet.cell(r, 1).value
        if alert_id in choices:
            sheet.cell(r, result_col).value, sheet.cell(r, note_col).value = choices[alert_id]
    book.save(out)


def test_returned_dispositions_are_stored_and_confirmed_ones_counted(checked):
    period = "2026-02"
    sub_code, count = query(checked, "SELECT subdistrict_code, count(*) FROM sentinel.alerts "
                                     "WHERE period = ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
                            [period])[0]
    sub = next(s for s in subdistricts() if s.code == sub_code)
    alerts = query(checked, "SELECT alert_id, rule, registry, record_id FROM sentinel.alerts "
                            "WHERE period = ? AND subdistrict_code = ? ORDER BY alert_id",
                   [period, sub_code])
    assert count >= 3
    confirmed, registry_error = alerts[0], alerts[1]
    choices = {confirmed[0]: ("确认属实", "已上门核实"),
               registry_error[0]: ("登记错误", "=本人仍在世，登记有误")}
    choices[alerts[2][0]] = ("已核实", "")  # not one of the choices: quarantined
    returned = checked.inbox / f"{sub.name}_预警核实清单_202602_已核实.xlsx"
    _fill(alert_list_path(checked.exports, period, sub), choices, returned)

    materialize(checked, SENTINEL_ASSETS[2:], LAST)

    stored = query(checked, "SELECT alert_id, disposition, note, period, subdistrict_code "
                            "FROM sentinel.dispositions ORDER BY alert_id")
    assert stored == sorted([
        (confirmed[0], "confirmed", "已上门核实", period, sub_code),
        (registry_error[0], "registry_error", "=本人仍在世，登记有误", period, sub_code)])
    corrections = query(checked, "SELECT registry, record_id, alert_id "
                                 "FROM sentinel.registry_corrections")
    assert corrections == [(registry_error[2], registry_error[3], registry_error[0])]
    folder = checked.reports / "corrections" / "aid_sentinel"
    (listed,) = list(folder.glob("*.xlsx"))
    sheet = openpyxl.load_workbook(listed).worksheets[0]
    assert sheet.cell(4, 1).value == registry_error[3]
    assert sheet.cell(4, 7).value == "=本人仍在世，登记有误" and sheet.cell(4, 7).data_type == "s"

    summary = query(checked, "SELECT rule, alerts, confirmed, registry_errors, awaiting, "
                             "cumulative_alerts, cumulative_confirmed FROM sentinel.alert_summary "
                             "WHERE period = ? AND subdistrict_code = ?", [period, sub_code])
    by_rule = {r[0]: r[1:] for r in summary}
    c_rule = confirmed[1]
    assert by_rule[c_rule][1] == 1
    assert sum(r[2] for r in summary) == 1 and sum(r[3] for r in summary) == 1
    assert sum(r[4] for r in summary) == count - 2
    total = query(checked, "SELECT sum(confirmed), sum(alerts) FROM sentinel.alert_summary")[0]
    assert total == (1, len(planted(checked.truth)))
    march = query(checked, "SELECT cumulative_alerts, cumulative_confirmed FROM "
                           "sentinel.alert_summary WHERE period <= ? AND rule = ? AND "
                           "subdistrict_code = ? ORDER BY period DESC LIMIT 1",
                  [LAST, c_rule, sub_code])[0]
    assert march[1] == 1
    book = openpyxl.load_workbook(
        checked.reports / "aid_sentinel" / f"救助预警汇总_{LAST.replace('-', '')}.xlsx")
    rows = list(book.worksheets[0].iter_rows(min_row=4, values_only=True))
    assert sum(r[4] for r in rows) == 1 and sum(r[3] for r in rows) == total[1]

    bad = query(checked, "SELECT rule, masked_value, detail FROM ingest.quarantine "
                         "WHERE feed = ?", [ALERT_LIST_FORM_ID])
    assert [b[:2] for b in bad] == [("not_a_choice", "已核实")]
    assert "pick one from the drop-down list" in bad[0][2]

    # Reading the inbox again changes nothing: the returned list is known by its content.
    materialize(checked, SENTINEL_ASSETS[2:], LAST)
    assert query(checked, "SELECT alert_id, disposition, note, period, subdistrict_code "
                          "FROM sentinel.dispositions ORDER BY alert_id") == stored
    assert query(checked, "SELECT count(*) FROM sentinel.returned_lists")[0][0] == 1


def test_no_name_or_id_number_in_dagster_metadata(checked):
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(checked, SENTINEL_ASSETS, "2026-02", instance=instance)
    text = " ".join(str(e) for e in result.all_events)
    ids = [i for (i,) in query(checked, "SELECT person_id_number FROM sentinel.alerts")]
    names = [n for (n,) in query(checked, "SELECT person_name FROM sentinel.alerts") if n]
    assert ids and not any(i in text for i in ids)
    assert not any(n in text for n in names)
