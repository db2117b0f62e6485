-- Pool tables beyond pool.person (schema.sql). Created by onceonly.pool.history.ensure_pool_tables
-- before any pool asset writes; every statement is safe to run again.

-- pool.person is the current state; these say where each person stands in the history.
ALTER TABLE pool.person ADD COLUMN IF NOT EXISTS presence VARCHAR;          -- present, missing_from_extract
ALTER TABLE pool.person ADD COLUMN IF NOT EXISTS legacy_id_number VARCHAR;  -- a 15-digit ID seen for them
ALTER TABLE pool.person ADD COLUMN IF NOT EXISTS first_period VARCHAR;      -- first extract listing them
ALTER TABLE pool.person ADD COLUMN IF NOT EXISTS last_seen_period VARCHAR;  -- last extract listing them

-- Every version of a person's pool fields (SCD type 2). valid_to is exclusive; NULL = current.
CREATE TABLE IF NOT EXISTS pool.person_history (
  id_number VARCHAR NOT NULL,
  version INTEGER NOT NULL,
  name VARCHAR,
  sex VARCHAR,
  birth_date DATE,
  household_no VARCHAR,
  relation_to_head VARCHAR,
  registered_address VARCHAR,
  subdistrict_code VARCHAR,
  registration_status VARCHAR,
  status_date DATE,
  presence VARCHAR NOT NULL,       -- present, or missing_from_extract (absent from a full extract)
  valid_from DATE NOT NULL,
  valid_to DATE,
  first_period VARCHAR NOT NULL,   -- the extract that first showed this version
  last_period VARCHAR NOT NULL,    -- the last extract that still showed it
  source_file_name VARCHAR,
  source_row_number INTEGER,
  PRIMARY KEY (id_number, version)
);

-- Every form under which an ID reached the pool: an 18-digit ID and the legacy 15-digit ID it
-- was upgraded from are two identifiers of one person.
CREATE TABLE IF NOT EXISTS pool.person_identifier (
  id_number VARCHAR NOT NULL,      -- the normalised 18-digit form: the person key
  identifier VARCHAR NOT NULL,     -- as sent, after trimming and NFKC
  kind VARCHAR NOT NULL,           -- id_18 or legacy_15
  feed VARCHAR NOT NULL,
  table_name VARCHAR NOT NULL,
  column_name VARCHAR NOT NULL,
  first_period VARCHAR,
  last_period VARCHAR,
  records INTEGER
);

-- Household membership over time: one row per stretch of a person in a household with one
-- relation to its head, while registered (户籍状态 正常) and present in the extract.
CREATE TABLE IF NOT EXISTS pool.household_member (
  household_no VARCHAR NOT NULL,
  id_number VARCHAR NOT NULL,
  relation_to_head VARCHAR,
  subdistrict_code VARCHAR,
  valid_from DATE NOT NULL,
  valid_to DATE
);

-- People named by a non-authority feed with a usable ID who are not in the person master.
CREATE TABLE IF NOT EXISTS pool.unmatched_person (
  feed VARCHAR NOT NULL,
  table_name VARCHAR NOT NULL,
  column_name VARCHAR NOT NULL,
  id_number VARCHAR NOT NULL,
  period VARCHAR NOT NULL,
  records INTEGER NOT NULL
);

-- A non-authority feed disagrees with the authority about a field of one person.
CREATE TABLE IF NOT EXISTS pool.field_conflicts (
  period VARCHAR NOT NULL,               -- the month of the non-authority extract
  field VARCHAR NOT NULL,
  business_name VARCHAR NOT NULL,
  id_number VARCHAR NOT NULL,
  authority_value VARCHAR,
  other_value VARCHAR NOT NULL,
  authority_department VARCHAR NOT NULL,
  authority_feed VARCHAR NOT NULL,
  authority_file VARCHAR,
  authority_period VARCHAR,              -- the extract that first stated the authority's value
  authority_valid_from DATE,
  other_department VARCHAR NOT NULL,
  other_feed VARCHAR NOT NULL,
  other_table VARCHAR NOT NULL,
  other_column VARCHAR NOT NULL,
  other_file VARCHAR,
  other_row_number INTEGER,
  other_as_of DATE NOT NULL,             -- the last day of the non-authority extract's month
  detected_at TIMESTAMP NOT NULL
);

-- The resource catalogue (资源目录) as reported for a month.
CREATE TABLE IF NOT EXISTS pool.catalogue (
  period VARCHAR NOT NULL,
  catalogue VARCHAR NOT NULL,
  feed VARCHAR NOT NULL,
  department VARCHAR NOT NULL,
  extract_kind VARCHAR NOT NULL,
  tables INTEGER NOT NULL,
  fields INTEGER NOT NULL,
  pool_fields INTEGER NOT NULL,          -- fields this catalogue is the authority for
  records BIGINT NOT NULL,               -- rows in the pool (landed), all months up to period
  rows_received BIGINT NOT NULL,         -- rows in the files, landed or quarantined
  rows_rejected BIGINT NOT NULL,
  latest_period VARCHAR,
  latest_as_of DATE,
  freshness_days INTEGER NOT NULL,
  days_old INTEGER,
  stale BOOLEAN NOT NULL,
  PRIMARY KEY (period, feed)
);

-- "As of this date" questions in plain SQL: SELECT * FROM pool.person_as_of(DATE '2026-03-15').
CREATE OR REPLACE MACRO pool.person_as_of(day) AS TABLE
  SELECT * EXCLUDE (version) FROM pool.person_history
  WHERE valid_from <= day AND (valid_to IS NULL OR valid_to > day);

CREATE OR REPLACE MACRO pool.household_member_as_of(day) AS TABLE
  SELECT * FROM pool.household_member
  WHERE valid_from <= day AND (valid_to IS NULL OR valid_to > day);
