"""Target groups: which rows a form has for a month and subdistrict, with the pool's values.

Each group is one query over the pool and landing tables. A form's prefilled fields take their
values from the group's columns (``PrefillSource.group_column``); every group has a
``subdistrict_code`` column so that rows can be split per subdistrict.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import polars as pl

from onceonly.care.care_list import ensure_care_tables
from onceonly.labour.store import ensure_labour_tables
from onceonly.reference import subdistricts

LABOUR_FORM = "labour_archive_stock"


def _month_end(period: str) -> str:
    return f"last_day(DATE '{period}-01')"


def _latest_period(table: str) -> str:
    # Full extracts (the elderly list) are read as of their latest month at or before the period.
    return f"(SELECT max(_period) FROM landing.{table} WHERE _period <= $period)"


def active_aid_households(conn: duckdb.DuckDBPyConnection, period: str) -> pl.DataFrame:
    """Aid households in payment (在保) in the month's civil-affairs roster, with the applicant's
    household-registration fields as they stood at the month's end (so a rerun of an old month
    writes what it wrote then).

    A case goes to the subdistrict where household registration, the authority, has its
    applicant registered; civil affairs' own subdistrict is used only for an applicant the pool
    does not know (an ID that fails its check digit). A subdistrict thus sees only its own
    residents, and a case filed under the wrong subdistrict shows up in the pool's conflicts.
    """
    return conn.execute(
        """
        SELECT h.case_no, coalesce(p.name, h.applicant_name) AS name,
               h.applicant_id_number AS id_number, p.registered_address, h.aid_type,
               h.counted_size, h.monthly_amount,
               coalesce(p.subdistrict_code, h.subdistrict_code) AS subdistrict_code,
               h.subdistrict_code AS case_subdistrict_code
        FROM landing.aid_households h
        LEFT JOIN pool.person_as_of(last_day(CAST($period || '-01' AS DATE))) p
          ON p.id_number = h.applicant_id_number
        WHERE h._period = $period AND h.status = '在保'
        ORDER BY 8, h.case_no
        """,
        {"period": period},
    ).pl()


def elderly_alone_or_80_plus(conn: duckdb.DuckDBPyConnection, period: str) -> pl.DataFrame:
    """The month's care list (care.care_list, built by care/elderly_care_list): residents aged
    80 or over or living alone, with the dead and the moved-away already left out."""
    ensure_care_tables(conn)
    return conn.execute(
        """
        SELECT id_number, name, sex, birth_date, age, registered_address, living_situation,
               care_level, last_visit_date, subdistrict_code, change_mark
        FROM care.care_list WHERE period = $period
        ORDER BY subdistrict_code, birth_date, id_number
        """,
        {"period": period},
    ).pl()


def subdistrict_rows(conn: duckdb.DuckDBPyConnection, period: str) -> pl.DataFrame:
    """One row per subdistrict with the pool's counts and the labour archive's opening stock.

    The opening stock is the month's opening in labour.archive_stock (labour/archive_stock):
    last month's closing stock, or the opening balance in the first month. It is empty where
    last month's stock is unknown because a subdistrict sent nothing for an earlier month.
    """
    ensure_labour_tables(conn)
    codes = pl.DataFrame({"subdistrict_code": [s.code for s in subdistricts()],
                          "subdistrict_name": [s.name for s in subdistricts()]})
    conn.register("_subdistricts", codes.to_arrow())
    try:
        return conn.execute(
            f"""
            WITH people AS (
              SELECT subdistrict_code,
                     count(*) FILTER (date_sub('year', birth_date, {_month_end(period)}) >= 60)
                       AS elderly_60_plus,
                     count(*) FILTER (date_sub('year', birth_date, {_month_end(period)}) >= 80)
                       AS elderly_80_plus
              FROM pool.person WHERE registration_status = '正常' GROUP BY ALL
            ), alone AS (
              SELECT subdistrict_code, count(DISTINCT id_number) AS living_alone
              FROM landing.elderly_services
              WHERE _period = {_latest_period('elderly_services')} AND living_situation = '独居'
              GROUP BY ALL
            ), stock AS (
              SELECT subdistrict_code, opening_stock FROM labour.archive_stock
              WHERE period = $period
            )
            SELECT s.subdistrict_code, s.subdistrict_name,
                   coalesce(p.elderly_60_plus, 0) AS elderly_60_plus,
                   coalesce(p.elderly_80_plus, 0) AS elderly_80_plus,
                   coalesce(a.living_alone, 0) AS living_alone,
                   CAST(k.opening_stock AS BIGINT) AS opening_stock
            FROM _subdistricts s
            LEFT JOIN people p USING (subdistrict_code)
            LEFT JOIN alone a USING (subdistrict_code)
            LEFT JOIN stock k USING (subdistrict_code)
            ORDER BY s.subdistrict_code
            """,
            {"period": period},
        ).pl()
    finally:
        conn.unregister("_subdistricts")


GROUPS: dict[str, Callable[[duckdb.DuckDBPyConnection, str], pl.DataFrame]] = {
    "active_aid_households": active_aid_households,
    "elderly_alone_or_80_plus": elderly_alone_or_80_plus,
    "subdistricts": subdistrict_rows,
}


def group_rows(conn: duckdb.DuckDBPyConnection, group: str, period: str) -> pl.DataFrame:
    """The rows of a target group for a month."""
    if group not in GROUPS:
        raise KeyError(f"There is no target group {group!r}; the groups are: "
                       + ", ".join(GROUPS) + ". Name one of them under rows.group in the form.")
    return GROUPS[group](conn, period)
