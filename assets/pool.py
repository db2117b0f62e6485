"""The person pool: one row per resident, taken from the authority for each field."""


import dagster as dg

from assets.extracts import landing_key
from assets.partitions import monthly
from pipelines.resources import Warehouse
from warehouse.connection import WAREHOUSE_POOL

USABLE_ID = "('valid', 'unknown_county', 'upgraded_from_15')"


@dg.asset(
    key_prefix=["pool"],
    group_name="pool",
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    deps=[landing_key("household_register")],
    kinds={"duckdb"},
    description="Person master keyed by the 18-digit ID: name, sex, birth date, household and "
    "registered address from household registration, as of the month's extract.",
)
def person(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    period = context.partition_key
    with warehouse.writer() as conn:
        conn.execute("BEGIN TRANSACTION")
        conn.execute(
            f"""
            INSERT INTO pool.person
            SELECT id_number, name, sex, birth_date, household_no, relation_to_head,
                   registered_address, subdistrict_code, registration_status, change_date, _period
            FROM landing.household_register
            WHERE _period = ? AND id_number_status IN {USABLE_ID}
            ON CONFLICT (id_number) DO UPDATE SET
              name = excluded.name, sex = excluded.sex, birth_date = excluded.birth_date,
              household_no = excluded.household_no,
              relation_to_head = excluded.relation_to_head,
              registered_address = excluded.registered_address,
              subdistrict_code = excluded.subdistrict_code,
              registration_status = excluded.registration_status,
              status_date = excluded.status_date, as_of_period = excluded.as_of_period
            -- rerunning an old month never overwrites what a later month said
            WHERE excluded.as_of_period >= pool.person.as_of_period
            """,
            [period],
        )
        conn.execute("COMMIT")
        persons, registered = conn.execute(
            "SELECT count(*), count(*) FILTER (registration_status = '正常') FROM pool.person"
        ).fetchone()
    return dg.MaterializeResult(metadata={"persons": persons, "registered_now": registered})
