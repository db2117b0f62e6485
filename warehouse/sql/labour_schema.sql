-- The labour-resource archive stock (schema labour). Created by onceonly.labour.store before the
-- stock asset writes; every statement is safe to run again.
CREATE SCHEMA IF NOT EXISTS labour;

-- Every computation of a subdistrict's stock for a month that changed a figure. The current
-- figures have superseded_at NULL; a correction or a re-roll adds a version and marks the one
-- it replaces as superseded, so earlier figures stay on record.
CREATE TABLE IF NOT EXISTS labour.archive_stock_versions (
  period VARCHAR NOT NULL,              -- YYYY-MM
  subdistrict_code VARCHAR NOT NULL,
  version INTEGER NOT NULL,             -- 1, 2, ... per period and subdistrict
  subdistrict_name VARCHAR,
  status VARCHAR NOT NULL,              -- reported, missing, opening_unknown, negative
  opening_stock INTEGER,                -- NULL when last month's closing stock is unknown
  opening_basis VARCHAR NOT NULL,       -- opening_balance, previous_month, previous_month_unknown,
                                        -- no_opening_balance
  received INTEGER,                     -- 入库数; NULL when the subdistrict sent nothing
  transferred_out INTEGER,              -- 出库数; NULL when the subdistrict sent nothing
  closing_stock INTEGER,                -- NULL unless opening and changes are both known
  carried_stock INTEGER,                -- when closing is unknown: last known stock + changes since
  known_as_of DATE,                     -- the day carried_stock was last actually known
  change_entries INTEGER,               -- rows sent (weekly entries are summed)
  changes_file_name VARCHAR,
  changes_file_sha256 VARCHAR,
  computed_at TIMESTAMP NOT NULL,
  run_id VARCHAR,                       -- the Dagster run that computed it
  superseded_at TIMESTAMP,
  superseded_by_version INTEGER,
  superseded_reason VARCHAR,
  PRIMARY KEY (period, subdistrict_code, version)
);

-- The current figures.
CREATE VIEW IF NOT EXISTS labour.archive_stock AS
SELECT * EXCLUDE (superseded_at, superseded_by_version, superseded_reason)
FROM labour.archive_stock_versions
WHERE superseded_at IS NULL;

-- The district per month: the sum of its subdistricts. closing_stock is NULL (and complete
-- false) unless every subdistrict's closing stock is known; a missing report is never zero.
CREATE VIEW IF NOT EXISTS labour.archive_stock_district AS
SELECT
  period,
  count(*) AS subdistricts,
  count(*) FILTER (WHERE received IS NOT NULL) AS subdistricts_reported,
  count(*) FILTER (WHERE status = 'missing') AS subdistricts_missing,
  count(*) FILTER (WHERE status = 'reported') = count(*) AS complete,
  sum(coalesce(received, 0)) AS received,
  sum(coalesce(transferred_out, 0)) AS transferred_out,
  CASE WHEN count(*) FILTER (WHERE status = 'reported') = count(*)
       THEN sum(closing_stock) END AS closing_stock,
  sum(closing_stock) FILTER (WHERE status = 'reported') AS known_closing_stock
FROM labour.archive_stock
GROUP BY period;
