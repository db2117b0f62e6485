"""The elderly care list (独居高龄老人关爱名册): who the subdistrict should visit this month.

Per subdistrict and month: registered residents aged 80 or over on the build date, or living
alone according to elderly services. The dead (a death registered on or before the build date,
or a registration cancelled for death) and the moved-away (registration moved out) are left out
while the list is built, so no worker is sent to visit someone who has died. Each row states how
current each source was, and each person is marked new (新增) when last month's list did not have
them; those who left are listed with the reason.

Subdistrict staff may add or remove a person with a reason (through the returned workbook). The
decision holds from its month on, until they make another for the same person and subdistrict;
a death or a move out always takes the person off, whatever was decided.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from importlib import resources

import duckdb
import polars as pl

from onceonly.identity import mask_id, read_id
from onceonly.periods import month_end, previous_period

USABLE_ID = "('valid', 'unknown_county', 'upgraded_from_15')"
DECISIONS = ("add", "remove", "rules")
ADVANCED_AGE = 80


class CareDecisionError(ValueError):
    """A subdistrict's decision cannot be recorded; the message says what to correct."""


@dataclass(frozen=True, slots=True)
class SourcesAsOf:
    """How current each source of a month's list was."""

    build_date: dt.date
    register_as_of: dt.date | None
    services_as_of: dt.date | None
    deaths_as_of: dt.date | None


@dataclass(frozen=True, slots=True)
class CareList:
    """A month's list and its departures, not yet recorded."""

    period: str
    sources: SourcesAsOf
    entries: pl.DataFrame
    departures: pl.DataFrame
    first_list: bool  # no list was recorded for the month before


def ensure_care_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the care schema's tables if they do not exist yet."""
    sql = resources.files("warehouse").joinpath("sql", "care_schema.sql")
    conn.execute(sql.read_text(encoding="utf-8"))


def record_care_decision(conn: duckdb.DuckDBPyConnection, *, id_number: str,
                         subdistrict_code: str, decision: str, reason: str | None,
                         valid_from: str, source: str | None = None,
                         decided_at: dt.datetime | None = None) -> None:
    """Record a subdistrict's decision to add a person to its list or remove them.

    The return path calls this for each decision in a returned workbook. A second decision for
    the same person, subdistrict and month replaces the first (a corrected return).

    Args:
        id_number: the person's 18-digit ID (a 15-digit one is upgraded).
        subdistrict_code: the subdistrict whose list it is.
        decision: 'add', 'remove', or 'rules' (drop an earlier decision: the automatic
            criteria apply again).
        reason: why; required for 'add' and 'remove'.
        valid_from: the first month it applies to, 'YYYY-MM'.
        source: the returned workbook's SHA-256, or who recorded it.
        decided_at: when; now by default.

    Raises:
        CareDecisionError: the ID, decision, reason or month is not usable.
    """
    ensure_care_tables(conn)
    problems = []
    reading = read_id(id_number)
    if not reading.usable:
        problems.append(f"the ID number {mask_id(str(id_number))} is not a valid resident ID "
                        f"({reading.status}); copy it again from the list")
    if decision not in DECISIONS:
        problems.append(f"the decision {decision!r} is not one of add, remove or rules")
    if decision in ("add", "remove") and not (reason or "").strip():
        problems.append("a reason is required to add or remove someone; write it in 原因")
    if not re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", valid_from or ""):
        problems.append(f"the month {valid_from!r} is not a month written as YYYY-MM")
    if problems:
        raise CareDecisionError(
            f"The care-list decision of subdistrict {subdistrict_code} cannot be recorded: "
            + "; ".join(problems) + ".")
    conn.execute(
        "INSERT OR REPLACE INTO care.list_decisions VALUES (?, ?, ?, ?, ?, ?, ?)",
        [reading.normalised, subdistrict_code, valid_from, decision, (reason or "").strip() or None,
         source, decided_at or dt.datetime.now().replace(microsecond=0)],
    )


CARE_FORM_ID = "elderly_care_list"  # the form the list is issued on and returned with
# What a worker picks under 名册调整 on the returned form, and the decision it records.
RETURNED_DECISIONS = {"移出名册": "remove", "添加入册": "add", "恢复按条件纳入": "rules"}


@dataclass(frozen=True, slots=True)
class ReturnedDecisions:
    """What picking up the decisions on returned care-list forms did."""

    recorded: int
    refused: list[str]  # full sentences, IDs masked


def decisions_from_returns(conn: duckdb.DuckDBPyConnection, period: str) -> ReturnedDecisions:
    """Record the decisions entered on returned care-list forms of the months before ``period``.

    A decision on the form of month M takes effect from the month after M, the first list not
    yet issued; the latest return for a form wins. Safe to repeat.
    """
    has_returns = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'forms' "
        "AND table_name = 'entered_values'").fetchone()[0]
    if not has_returns:
        return ReturnedDecisions(0, [])
    rows = conn.execute(
        """
        WITH latest AS (
          SELECT subdistrict_code, period, row_key, field_id, value, file_sha256, loaded_at
          FROM forms.entered_values
          WHERE form_id = ? AND period < ? AND field_id IN ('list_decision', 'decision_reason')
          QUALIFY row_number() OVER (PARTITION BY subdistrict_code, period, row_key, field_id
                                     ORDER BY loaded_at DESC, file_sha256) = 1
        )
        SELECT subdistrict_code, period, row_key,
               max(value) FILTER (WHERE field_id = 'list_decision') AS decision,
               max(value) FILTER (WHERE field_id = 'decision_reason') AS reason,
               max(file_sha256), max(loaded_at)
        FROM latest GROUP BY ALL HAVING decision IS NOT NULL
        ORDER BY period, subdistrict_code, row_key
        """,
        [CARE_FORM_ID, period],
    ).fetchall()
    recorded, refused = 0, []
    for sub, form_period, id_number, choice, reason, sha, loaded_at in rows:
        decision = RETURNED_DECISIONS.get(choice)
        following = (dt.date.fromisoformat(form_period + "-01") + dt.timedelta(days=31)
                     ).strftime("%Y-%m")
        try:
            if decision is None:
                raise CareDecisionError(f"{choice!r} is not a choice of 名册调整")
            record_care_decision(conn, id_number=id_number, subdistrict_code=sub,
                                 decision=decision, reason=reason, valid_from=following,
                                 source=f"returned form {sha}", decided_at=loaded_at)
            recorded += 1
        except CareDecisionError as err:
            refused.append(
                f"The 名册调整 for {mask_id(id_number)} on the {form_period} care list of "
                f"subdistrict {sub} was not applied: {err} Ask the subdistrict to fill in "
                "调整原因 and return the form again.")
    return ReturnedDecisions(recorded, refused)


def _sources(conn: duckdb.DuckDBPyConnection, period: str, build_date: dt.date) -> tuple:
    register, services = (
        conn.execute(f"SELECT max(_period) FROM landing.{t} WHERE _period <= ?",
                     [period]).fetchone()[0]
        for t in ("household_register", "elderly_services"))
    deaths = conn.execute("SELECT max(_period) FROM landing.death_registry").fetchone()[0]
    as_of = SourcesAsOf(
        build_date,
        month_end(register) if register else None,
        month_end(services) if services else None,
        month_end(deaths) if deaths else None,
    )
    return register, services, as_of


_LIST_SQL = """
WITH register AS (
  -- One row per person: a death or move-out line wins over a normal one, then the last line.
  SELECT * FROM landing.household_register
  WHERE _period = $register AND id_number_status IN {usable}
  QUALIFY row_number() OVER (
    PARTITION BY id_number
    ORDER BY CASE registration_status WHEN '死亡注销' THEN 0 WHEN '迁出' THEN 1 ELSE 2 END,
             _row_number DESC) = 1
), services AS (
  SELECT id_number, any_value(living_situation ORDER BY _row_number DESC) AS living_situation,
         any_value(care_level ORDER BY _row_number DESC) AS care_level,
         max(last_visit_date) AS last_visit_date
  FROM landing.elderly_services
  WHERE _period = $services AND id_number_status IN {usable}
  GROUP BY id_number
), deaths AS (
  SELECT id_number, min(death_date) AS death_date FROM landing.death_registry
  WHERE id_number_status IN {usable} AND death_date <= $build_date
  GROUP BY id_number
), decisions AS (
  SELECT * FROM care.list_decisions WHERE valid_from <= $period
  QUALIFY row_number() OVER (PARTITION BY id_number, subdistrict_code
                             ORDER BY valid_from DESC, decided_at DESC) = 1
), people AS (
  SELECT r.id_number, r.name, r.sex, r.birth_date, r.registered_address,
         r.subdistrict_code, s.living_situation, s.care_level, s.last_visit_date,
         date_sub('year', r.birth_date, $build_date) AS age
  FROM register r
  LEFT JOIN services s USING (id_number)
  WHERE r.registration_status = '正常'
    AND r.id_number NOT IN (SELECT id_number FROM deaths)
), by_rules AS (
  SELECT p.*, p.subdistrict_code AS list_subdistrict,
         concat_ws('、', CASE WHEN p.age >= {age} THEN '高龄' END,
                   CASE WHEN p.living_situation = '独居' THEN '独居' END) AS criteria,
         'rules' AS included_by, CAST(NULL AS VARCHAR) AS decision_reason
  FROM people p
  WHERE p.age >= {age} OR p.living_situation = '独居'
), added AS (
  SELECT p.*, d.subdistrict_code AS list_subdistrict, '街道添加' AS criteria,
         'subdistrict' AS included_by, d.reason AS decision_reason
  FROM decisions d JOIN people p USING (id_number)
  WHERE d.decision = 'add'
)
SELECT * EXCLUDE (subdistrict_code) FROM (
  SELECT * FROM by_rules
  WHERE NOT EXISTS (SELECT 1 FROM decisions d WHERE d.id_number = by_rules.id_number
                    AND d.subdistrict_code = by_rules.list_subdistrict)
  UNION ALL BY NAME
  SELECT * FROM by_rules b
  WHERE EXISTS (SELECT 1 FROM decisions d WHERE d.id_number = b.id_number
                AND d.subdistrict_code = b.list_subdistrict AND d.decision = 'rules')
  UNION ALL BY NAME
  SELECT * FROM added
)
ORDER BY list_subdistrict, id_number
"""

_DEPARTURE_SQL = """
WITH register AS (
  SELECT id_number, subdistrict_code, registration_status, change_date
  FROM landing.household_register
  WHERE _period = $register AND id_number_status IN {usable}
  QUALIFY row_number() OVER (
    PARTITION BY id_number
    ORDER BY CASE registration_status WHEN '死亡注销' THEN 0 WHEN '迁出' THEN 1 ELSE 2 END,
             _row_number DESC) = 1
), deaths AS (
  SELECT id_number, min(death_date) AS death_date FROM landing.death_registry
  WHERE id_number_status IN {usable} AND death_date <= $build_date
  GROUP BY id_number
), decisions AS (
  SELECT * FROM care.list_decisions WHERE valid_from <= $period
  QUALIFY row_number() OVER (PARTITION BY id_number, subdistrict_code
                             ORDER BY valid_from DESC, decided_at DESC) = 1
)
SELECT l.subdistrict_code, l.id_number, l.name,
       CASE
         WHEN x.death_date IS NOT NULL OR r.registration_status = '死亡注销' THEN '死亡'
         WHEN r.registration_status = '迁出' THEN '迁出'
         WHEN r.id_number IS NULL THEN '不在本月户籍库'
         WHEN d.decision = 'remove' THEN '街道移出：' || d.reason
         WHEN r.subdistrict_code <> l.subdistrict_code THEN '转至其他街道'
         ELSE '不再符合条件（未满80周岁且非独居）'
       END AS reason,
       coalesce(x.death_date, r.change_date) AS event_date
FROM care.care_list l
LEFT JOIN register r USING (id_number)
LEFT JOIN deaths x USING (id_number)
LEFT JOIN decisions d ON d.id_number = l.id_number AND d.subdistrict_code = l.subdistrict_code
WHERE l.period = $previous AND l.id_number || '/' || l.subdistrict_code NOT IN (
  SELECT id_number || '/' || subdistrict_code FROM current_list)
ORDER BY l.subdistrict_code, l.id_number
"""


def build_care_list(conn: duckdb.DuckDBPyConnection, period: str,
                    build_date: dt.date | None = None) -> CareList:
    """Build a month's care list from what has been landed, as of ``build_date``.

    Args:
        conn: a warehouse connection.
        period: the month, 'YYYY-MM'.
        build_date: the list's as-of date (default: the month's last day). Ages are counted on
            it, and a death registered on or before it takes the person off.

    Returns:
        The list (one row per person and subdistrict) and last month's departures, unrecorded.
    """
    ensure_care_tables(conn)
    build_date = build_date or month_end(period)
    register, services, as_of = _sources(conn, period, build_date)
    params = {"period": period, "register": register, "services": services,
              "build_date": build_date}
    entries = conn.execute(
        _LIST_SQL.format(usable=USABLE_ID, age=ADVANCED_AGE), params).pl()
    entries = entries.rename({"list_subdistrict": "subdistrict_code"})

    previous = previous_period(period)
    earlier = conn.execute(
        "SELECT id_number, subdistrict_code FROM care.care_list WHERE period = ?",
        [previous]).fetchall()
    first_list = not earlier
    on_last_list = {f"{i}/{s}" for i, s in earlier}
    keys = (entries["id_number"] + "/" + entries["subdistrict_code"]).to_list()
    marks = ["首次建册" if first_list else ("继续" if k in on_last_list else "新增")
             for k in keys]
    entries = entries.with_columns(pl.Series("change_mark", marks, pl.Utf8))

    conn.register("current_list", entries.select("id_number", "subdistrict_code").to_arrow())
    try:
        departures = conn.execute(
            _DEPARTURE_SQL.format(usable=USABLE_ID),
            {"period": period, "register": register, "build_date": build_date,
             "previous": previous}).pl()
    finally:
        conn.unregister("current_list")
    return CareList(period, as_of, entries, departures, first_list)


_ENTRY_COLUMNS = ("subdistrict_code", "id_number", "name", "sex", "birth_date", "age",
                  "registered_address", "living_situation", "care_level", "last_visit_date",
                  "criteria", "included_by", "decision_reason", "change_mark")


def record_care_list(conn: duckdb.DuckDBPyConnection, care_list: CareList) -> None:
    """Replace the month's list and departures in one transaction."""
    ensure_care_tables(conn)
    s = care_list.sources
    entries = care_list.entries.select(_ENTRY_COLUMNS).with_columns(
        pl.lit(s.build_date).alias("build_date"),
        pl.lit(s.register_as_of, pl.Date).alias("register_as_of"),
        pl.lit(s.services_as_of, pl.Date).alias("services_as_of"),
        pl.lit(s.deaths_as_of, pl.Date).alias("deaths_as_of"),
    )
    departures = care_list.departures.with_columns(pl.lit(s.build_date).alias("build_date"))
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute("DELETE FROM care.care_list WHERE period = ?", [care_list.period])
        conn.execute("DELETE FROM care.care_list_departures WHERE period = ?",
                     [care_list.period])
        conn.register("incoming_list", entries.to_arrow())
        conn.execute(
            f"INSERT INTO care.care_list (period, {', '.join(entries.columns)}) "
            f"SELECT ?, {', '.join(entries.columns)} FROM incoming_list", [care_list.period])
        conn.unregister("incoming_list")
        conn.register("incoming_departures", departures.to_arrow())
        conn.execute(
            f"INSERT INTO care.care_list_departures (period, {', '.join(departures.columns)}) "
            f"SELECT ?, {', '.join(departures.columns)} FROM incoming_departures",
            [care_list.period])
        conn.unregister("incoming_departures")
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
