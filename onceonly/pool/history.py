"""The person master and its history, rebuilt from every landed month of household registration.

Household registration sends a full extract every month. The history is rebuilt from all of
them at once rather than patched month by month, so that rerunning a month, or landing months
out of order (a resent January after March), always gives the same answer.

How a month's extract becomes versions:

- one row per person and month (a person listed twice, an old and a new address, keeps the row
  with the latest change date, then the later row in the file);
- a person who was registered (正常) in one extract and is absent from the next full extract
  gets a ``missing_from_extract`` version: never deleted, and their last known fields kept;
- a version starts on the record's change date when that date falls after the extract that
  still showed the old state, and otherwise on the first day of the month whose extract first
  shows it (all we know is that the change happened before that month ended);
- consecutive months with identical fields are one version, so a move out and a move back are
  two changes and the months in between answer "moved out".
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

import duckdb
import polars as pl

from onceonly.contracts import feeds
from onceonly.pool.registry import USABLE_ID_SQL, person_fields
from warehouse.tables import empty_table

AUTHORITY_TABLE = "landing.household_register"
ACTIVE_STATUS = "正常"
HEAD_OF_HOUSEHOLD = "户主"
PERSON_COLUMNS = (
    "id_number", "name", "sex", "birth_date", "household_no", "relation_to_head",
    "registered_address", "subdistrict_code", "registration_status", "status_date",
)


def ensure_pool_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the pool tables that schema.sql does not have; safe to call every run."""
    sql = resources.files("warehouse").joinpath("sql/pool_schema.sql").read_text("utf-8")
    conn.execute(sql)


def _field_select() -> str:
    """The authority's columns under their pool names, straight from the field registry."""
    fields = person_fields()
    missing = set(PERSON_COLUMNS[1:]) - {f.name for f in fields}
    if missing:
        raise ValueError(
            f"The field registry gives no authority for pool.person column(s) {sorted(missing)}; "
            "add them to contracts/field_registry.yaml with poolTable pool.person."
        )
    return ", ".join(f'r."{f.authority.column}" AS {f.name}' for f in fields
                     if f.name in PERSON_COLUMNS)


def rebuild_person_history(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rebuild pool.person_history, pool.person, pool.household_member and
    pool.person_identifier in one transaction; return counts for run metadata."""
    fields = [c for c in PERSON_COLUMNS[1:]]
    field_list = ", ".join(fields)
    # Versions are told apart by comparing every field and the presence exactly, as one struct.
    state = "struct_pack(" + ", ".join(fields) + ", presence)"

    conn.execute("BEGIN TRANSACTION")
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE hukou_periods AS
        SELECT period, row_number() OVER (ORDER BY period)::INTEGER AS idx,
               CAST(period || '-01' AS DATE) AS month_start,
               last_day(CAST(period || '-01' AS DATE)) AS month_end
        FROM (SELECT DISTINCT _period AS period FROM {AUTHORITY_TABLE}
              WHERE _period SIMILAR TO '[0-9]{{4}}-[0-9]{{2}}')
    """)
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE hukou_snapshot AS
        SELECT r.id_number, {_field_select()}, p.idx, p.period, p.month_start, p.month_end,
               r._file_name AS source_file_name, r._row_number AS source_row_number,
               count(*) OVER (PARTITION BY r.id_number, r._period) AS listed
        FROM {AUTHORITY_TABLE} r JOIN hukou_periods p ON p.period = r._period
        WHERE r.id_number_status IN {USABLE_ID_SQL}
        QUALIFY row_number() OVER (PARTITION BY r.id_number, r._period
                                   ORDER BY r.change_date DESC NULLS LAST,
                                            r._row_number DESC) = 1
    """)
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE hukou_observed AS
        SELECT id_number, {field_list}, 'present' AS presence, idx, period, month_start,
               month_end, source_file_name, source_row_number
        FROM hukou_snapshot
        UNION ALL
        -- registered last time, absent now: the disappearance is a version of its own
        SELECT s.id_number, {", ".join("s." + f for f in fields)}, 'missing_from_extract',
               p.idx, p.period, p.month_start, p.month_end, NULL, NULL
        FROM (SELECT *, lead(idx) OVER (PARTITION BY id_number ORDER BY idx) AS next_idx
              FROM hukou_snapshot) s
        JOIN hukou_periods p ON p.idx = s.idx + 1
        WHERE s.registration_status = '{ACTIVE_STATUS}'
          AND (s.next_idx IS NULL OR s.next_idx > s.idx + 1)
    """)
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE hukou_versions AS
        WITH flagged AS (
            SELECT *, lag(month_end) OVER w AS previous_end,
                   CASE WHEN state IS DISTINCT FROM lag(state) OVER w
                        THEN 1 ELSE 0 END AS is_change
            FROM (SELECT *, {state} AS state FROM hukou_observed)
            WINDOW w AS (PARTITION BY id_number ORDER BY idx)
        ), numbered AS (
            SELECT *, sum(is_change) OVER (PARTITION BY id_number ORDER BY idx
                                           ROWS UNBOUNDED PRECEDING)::INTEGER AS version
            FROM flagged
        ), confirmed AS (
            SELECT id_number, version, max(idx) AS last_idx
            FROM numbered GROUP BY id_number, version
        )
        SELECT n.id_number, n.version, {", ".join("n." + f for f in fields)}, n.presence,
               CASE WHEN n.presence = 'present' AND n.status_date IS NOT NULL
                         AND n.status_date <= n.month_end
                         AND (n.previous_end IS NULL OR n.status_date > n.previous_end)
                    THEN n.status_date ELSE n.month_start END AS valid_from,
               n.period AS first_period, n.idx AS first_idx, c.last_idx, n.source_file_name,
               n.source_row_number
        FROM numbered n JOIN confirmed c USING (id_number, version)
        WHERE n.is_change = 1
    """)
    empty_table(conn, "pool.person_history")
    conn.execute(f"""
        INSERT INTO pool.person_history
        WITH chained AS (
            SELECT *, lead(valid_from) OVER w AS valid_to,
                   -- an absence is confirmed by every later extract until the person returns
                   CASE WHEN presence = 'missing_from_extract'
                        THEN coalesce(lead(first_idx) OVER w - 1,
                                      (SELECT max(idx) FROM hukou_periods))
                        ELSE last_idx END AS confirmed_idx
            FROM hukou_versions
            WINDOW w AS (PARTITION BY id_number ORDER BY version)
        )
        SELECT c.id_number, c.version, {", ".join("c." + f for f in fields)}, c.presence,
               c.valid_from, c.valid_to, c.first_period, p.period, c.source_file_name,
               c.source_row_number
        FROM chained c JOIN hukou_periods p ON p.idx = c.confirmed_idx
    """)
    _rebuild_identifiers(conn)
    _rebuild_person(conn)
    _rebuild_household_members(conn)
    _rebuild_unmatched(conn)
    conn.execute("COMMIT")

    counts = conn.execute("""
        SELECT (SELECT count(*) FROM pool.person),
               (SELECT count(*) FROM pool.person_history),
               (SELECT count(*) FROM pool.person WHERE presence = 'missing_from_extract'),
               (SELECT count(*) FROM pool.person WHERE legacy_id_number IS NOT NULL),
               (SELECT count(*) FROM hukou_snapshot WHERE listed > 1),
               (SELECT count(*) FROM hukou_periods),
               (SELECT count(*) FROM pool.unmatched_person)
    """).fetchone()
    keys = ("persons", "versions", "missing_from_extract", "with_legacy_id",
            "listed_twice_in_a_month", "months_of_history", "unmatched_people")
    return dict(zip(keys, counts, strict=True))


def _id_columns() -> list[tuple[str, str, str]]:
    """(feed, table, column) for every ID-number column of every contract."""
    return [(f.id, t.name, c.name) for f in feeds() for t in f.tables for c in t.columns
            if c.semantic == "id_number"]


def _rebuild_identifiers(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("DELETE FROM pool.person_identifier")
    for feed_id, table, column in _id_columns():
        # A legacy ID is recorded in its clean 15-digit form (the 18-digit one without the
        # century and the check character), whatever spaces or full-width digits it came with.
        conn.execute(f"""
            INSERT INTO pool.person_identifier
            SELECT "{column}",
                   CASE WHEN "{column}_status" = 'upgraded_from_15'
                        THEN substr("{column}", 1, 6) || substr("{column}", 9, 9)
                        ELSE "{column}" END AS identifier,
                   CASE WHEN "{column}_status" = 'upgraded_from_15' THEN 'legacy_15'
                        ELSE 'id_18' END,
                   '{feed_id}', '{table}', '{column}', min(_period), max(_period), count(*)
            FROM landing.{table}
            WHERE "{column}_status" IN {USABLE_ID_SQL}
            GROUP BY ALL
        """)


def _rebuild_person(conn: duckdb.DuckDBPyConnection) -> None:
    empty_table(conn, "pool.person")
    conn.execute(f"""
        INSERT INTO pool.person BY NAME
        SELECT h.id_number, {", ".join("h." + f for f in PERSON_COLUMNS[1:])},
               h.last_period AS as_of_period, h.presence,
               legacy.identifier AS legacy_id_number, seen.first_period, seen.last_seen_period
        FROM pool.person_history h
        JOIN (SELECT id_number, min(first_period) AS first_period,
                     max(last_period) FILTER (presence = 'present') AS last_seen_period
              FROM pool.person_history GROUP BY id_number) seen USING (id_number)
        LEFT JOIN (SELECT id_number, min(identifier) AS identifier FROM pool.person_identifier
                   WHERE kind = 'legacy_15' GROUP BY id_number) legacy USING (id_number)
        WHERE h.valid_to IS NULL
    """)


def _rebuild_household_members(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("DELETE FROM pool.household_member")
    conn.execute(f"""
        INSERT INTO pool.household_member
        WITH v AS (
            SELECT *, presence = 'present' AND registration_status = '{ACTIVE_STATUS}' AS active
            FROM pool.person_history
        ), flagged AS (
            SELECT *, CASE WHEN struct_pack(active, household_no, relation_to_head)
                                IS DISTINCT FROM lag(struct_pack(active, household_no,
                                                                 relation_to_head)) OVER w
                           THEN 1 ELSE 0 END AS is_change
            FROM v WINDOW w AS (PARTITION BY id_number ORDER BY version)
        ), stretches AS (
            SELECT *, sum(is_change) OVER (PARTITION BY id_number ORDER BY version
                                           ROWS UNBOUNDED PRECEDING) AS stretch
            FROM flagged
        )
        SELECT household_no, id_number, relation_to_head, arg_max(subdistrict_code, version),
               min(valid_from),
               CASE WHEN count(*) FILTER (valid_to IS NULL) > 0 THEN NULL
                    ELSE max(valid_to) END
        FROM stretches WHERE active
        GROUP BY id_number, stretch, household_no, relation_to_head
    """)


def _rebuild_unmatched(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("DELETE FROM pool.unmatched_person")
    for feed_id, table, column in _id_columns():
        if f"landing.{table}" == AUTHORITY_TABLE:
            continue
        conn.execute(f"""
            INSERT INTO pool.unmatched_person
            SELECT '{feed_id}', '{table}', '{column}', o."{column}", o._period, count(*)
            FROM landing.{table} o
            WHERE o."{column}_status" IN {USABLE_ID_SQL}
              AND NOT EXISTS (SELECT 1 FROM pool.person p WHERE p.id_number = o."{column}")
            GROUP BY ALL
        """)


def person_as_of(conn: duckdb.DuckDBPyConnection, day: dt.date) -> pl.DataFrame:
    """Every person's pool fields as they stood on ``day`` (people not yet known are absent)."""
    return conn.execute("SELECT * FROM pool.person_as_of(?) ORDER BY id_number", [day]).pl()


def household_as_of(conn: duckdb.DuckDBPyConnection, day: dt.date) -> pl.DataFrame:
    """Households as they stood on ``day``: members, the head, and the subdistrict."""
    return conn.execute(
        f"""
        SELECT household_no, count(*) AS members,
               min(id_number) FILTER (relation_to_head = '{HEAD_OF_HOUSEHOLD}') AS head_id_number,
               count(*) FILTER (relation_to_head = '{HEAD_OF_HOUSEHOLD}') AS heads,
               min(subdistrict_code) AS subdistrict_code,
               list(struct_pack(id_number, relation_to_head) ORDER BY id_number) AS member_list
        FROM pool.household_member_as_of(?)
        GROUP BY household_no ORDER BY household_no
        """,
        [day],
    ).pl()
