-- Fixed warehouse tables. Landing tables are created from the feed contracts (schema.py).
CREATE SCHEMA IF NOT EXISTS landing;
CREATE SCHEMA IF NOT EXISTS ingest;
CREATE SCHEMA IF NOT EXISTS pool;
CREATE SCHEMA IF NOT EXISTS sentinel;
CREATE SCHEMA IF NOT EXISTS exports;

-- Every extract file ever seen, known by the SHA-256 of its content.
CREATE TABLE IF NOT EXISTS ingest.files (
  sha256 VARCHAR PRIMARY KEY,
  file_name VARCHAR NOT NULL,
  feed VARCHAR NOT NULL,
  period VARCHAR,
  encoding VARCHAR,
  size_bytes BIGINT,
  first_seen_at TIMESTAMP,
  loaded_at TIMESTAMP,
  rows_read INTEGER,
  rows_loaded INTEGER,
  rows_quarantined INTEGER,
  cells_changed INTEGER,
  status VARCHAR,            -- loaded, rejected, superseded
  rejection VARCHAR,         -- the reason a whole file was rejected
  replaces_sha256 VARCHAR    -- the earlier version of the same file name, when this corrects it
);

-- Each table read from a file (a workbook may hold several): its own counts and header findings.
-- ingest.files holds the per-file sums of these rows.
CREATE TABLE IF NOT EXISTS ingest.file_tables (
  file_sha256 VARCHAR NOT NULL,
  file_name VARCHAR NOT NULL,
  feed VARCHAR NOT NULL,
  table_name VARCHAR NOT NULL,
  sheet VARCHAR,
  period VARCHAR,
  header_row INTEGER,
  rows_read INTEGER,
  rows_loaded INTEGER,
  rows_quarantined INTEGER,
  rows_for_review INTEGER,
  cells_changed INTEGER,
  aliases_used JSON,         -- canonical column -> the header name the file used
  extra_columns JSON,        -- headers the contract does not know (kept in _extra)
  status VARCHAR,            -- loaded, rejected, superseded
  rejection VARCHAR,
  loaded_at TIMESTAMP,
  PRIMARY KEY (file_sha256, table_name)
);

-- Every problem found in a loaded file, one row per cell; values masked by PII class.
CREATE TABLE IF NOT EXISTS ingest.quarantine (
  file_sha256 VARCHAR NOT NULL,
  file_name VARCHAR NOT NULL,
  feed VARCHAR NOT NULL,
  table_name VARCHAR NOT NULL,
  period VARCHAR,
  sheet VARCHAR,
  row_number INTEGER,
  column_name VARCHAR,
  business_name VARCHAR,
  rule VARCHAR NOT NULL,
  severity VARCHAR NOT NULL, -- reject (row not loaded), review (loaded, to check), warning
  masked_value VARCHAR,
  detail VARCHAR
);

-- The person master: one row per resident, keyed by the normalised 18-digit ID.
CREATE TABLE IF NOT EXISTS pool.person (
  id_number VARCHAR PRIMARY KEY,
  name VARCHAR,
  sex VARCHAR,
  birth_date DATE,
  household_no VARCHAR,
  relation_to_head VARCHAR,
  registered_address VARCHAR,
  subdistrict_code VARCHAR,
  registration_status VARCHAR,
  status_date DATE,
  as_of_period VARCHAR
);

-- Monthly aid verification alerts; alert_id is stable for a rule, registry record and person.
CREATE TABLE IF NOT EXISTS sentinel.alerts (
  alert_id VARCHAR PRIMARY KEY,
  period VARCHAR NOT NULL,
  check_kind VARCHAR NOT NULL,      -- monthly or enrolment
  rule VARCHAR NOT NULL,            -- death, marriage, divorce, moved_out
  reason_code VARCHAR NOT NULL,
  registry VARCHAR NOT NULL,        -- the feed the event came from
  record_id VARCHAR NOT NULL,
  event_date DATE,
  case_no VARCHAR NOT NULL,
  aid_type VARCHAR,
  monthly_amount DECIMAL(12, 2),
  subdistrict_code VARCHAR NOT NULL,
  person_id_number VARCHAR NOT NULL,
  person_name VARCHAR,
  relation VARCHAR,
  match_method VARCHAR NOT NULL,    -- exact_id, upgraded_15, name_birth_date
  match_certainty VARCHAR NOT NULL  -- high, lower
);

-- Every file sent out of the system.
CREATE TABLE IF NOT EXISTS exports.export_log (
  path VARCHAR NOT NULL,
  form_id VARCHAR NOT NULL,
  form_version VARCHAR,
  subdistrict_code VARCHAR,
  period VARCHAR,
  row_count INTEGER,
  sha256 VARCHAR,
  written_at TIMESTAMP
);

-- Every completed sentinel check: the monthly check before payment, and each enrolment check of
-- newly enrolled cases. The monthly window runs from the day after the previous check's cutoff
-- to this check's cutoff (both derived from the partition, so a rerun uses the same window).
CREATE TABLE IF NOT EXISTS sentinel.checks (
  check_id VARCHAR PRIMARY KEY,     -- 'monthly|2026-02' or 'enrolment|2026-02|<hash of cases>'
  period VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,            -- monthly or enrolment
  previous_period VARCHAR,          -- the completed check this one follows; NULL for the first
  window_start DATE NOT NULL,       -- registry records registered from this day ...
  cutoff DATE NOT NULL,             -- ... up to and including this day
  cases_checked INTEGER,
  people_checked INTEGER,
  alerts_found INTEGER,             -- everything the check matched
  alerts_new INTEGER,               -- of which no earlier month had raised
  completed_at TIMESTAMP
);

-- Cases whose enrolment check has run, so the enrolment sensor never checks a case twice.
CREATE TABLE IF NOT EXISTS sentinel.enrolment_checked (
  case_no VARCHAR PRIMARY KEY,
  period VARCHAR NOT NULL,
  check_id VARCHAR NOT NULL,
  checked_at TIMESTAMP
);

-- Alert lists returned by the subdistricts, one row per file (known by content hash).
CREATE TABLE IF NOT EXISTS sentinel.returned_lists (
  sha256 VARCHAR PRIMARY KEY,
  file_name VARCHAR NOT NULL,
  subdistrict_code VARCHAR,
  period VARCHAR,
  first_seen_at TIMESTAMP,
  rows_read INTEGER,
  dispositions INTEGER,             -- rows with a valid 核实结果
  rows_rejected INTEGER,            -- rows with a problem (in ingest.quarantine)
  status VARCHAR,                   -- loaded or rejected
  rejection VARCHAR
);

-- What the subdistrict found for each alert; the latest returned list wins.
CREATE TABLE IF NOT EXISTS sentinel.dispositions (
  alert_id VARCHAR PRIMARY KEY,
  disposition VARCHAR NOT NULL,     -- confirmed, false_alarm, registry_error
  disposition_label VARCHAR,        -- as written: 确认属实, 误报, 登记错误
  note VARCHAR,
  subdistrict_code VARCHAR,
  period VARCHAR,
  returned_file_sha256 VARCHAR NOT NULL,
  returned_file_name VARCHAR,
  returned_at TIMESTAMP
);

-- Registry records a subdistrict reported as wrong, for the registry that owns them.
CREATE TABLE IF NOT EXISTS sentinel.registry_corrections (
  registry VARCHAR NOT NULL,
  record_id VARCHAR NOT NULL,
  alert_id VARCHAR NOT NULL,
  rule VARCHAR,
  event_date DATE,
  subdistrict_code VARCHAR,
  period VARCHAR,
  note VARCHAR,
  returned_file_sha256 VARCHAR,
  reported_at TIMESTAMP
);

-- Alerts by month, rule and subdistrict, with running totals and what was confirmed.
CREATE TABLE IF NOT EXISTS sentinel.alert_summary (
  period VARCHAR NOT NULL,
  rule VARCHAR NOT NULL,
  subdistrict_code VARCHAR NOT NULL,
  alerts INTEGER,
  confirmed INTEGER,                -- valid warnings
  false_alarms INTEGER,
  registry_errors INTEGER,
  awaiting INTEGER,                 -- no disposition returned yet
  cumulative_alerts INTEGER,
  cumulative_confirmed INTEGER,
  monthly_amount_at_stake DECIMAL(14, 2)
);
