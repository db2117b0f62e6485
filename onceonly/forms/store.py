"""The warehouse tables of the forms domain (schema ``forms``).

Created on first use by the forms code itself, so the fixed warehouse schema needs no change
when the forms domain grows.
"""

from __future__ import annotations

import duckdb

FORMS_DDL = """
CREATE SCHEMA IF NOT EXISTS forms;

-- What each workbook said when it was issued: one row per prefilled or derived cell. A return
-- is compared with this, never with the pool as it is later.
CREATE TABLE IF NOT EXISTS forms.issued_cells (
  form_id VARCHAR NOT NULL,
  form_version VARCHAR NOT NULL,
  subdistrict_code VARCHAR NOT NULL,
  period VARCHAR NOT NULL,
  row_key VARCHAR NOT NULL,
  field_id VARCHAR NOT NULL,
  value VARCHAR            -- canonical text: numbers without trailing zeros, dates ISO
);

-- Which forms were issued for a month, and why the others were not.
CREATE TABLE IF NOT EXISTS forms.issue_decisions (
  period VARCHAR NOT NULL,
  form_id VARCHAR NOT NULL,
  form_version VARCHAR,
  title VARCHAR,
  status VARCHAR,
  decision VARCHAR,         -- issue, retired, draft, lapsed, overdue_review, ...
  issued BOOLEAN,
  reason VARCHAR,
  decided_on DATE
);

-- The share of fields prefilled, per issued form and month.
CREATE TABLE IF NOT EXISTS forms.prefill_share (
  period VARCHAR NOT NULL,
  form_id VARCHAR NOT NULL,
  form_version VARCHAR,
  title VARCHAR,
  fields INTEGER,
  prefilled INTEGER,
  derived INTEGER,
  entered INTEGER,
  share DOUBLE
);

-- Every returned workbook seen in the inbox, known by the SHA-256 of its content.
CREATE TABLE IF NOT EXISTS forms.returns (
  file_sha256 VARCHAR PRIMARY KEY,
  file_name VARCHAR NOT NULL,
  form_id VARCHAR,
  form_version VARCHAR,
  subdistrict_code VARCHAR,
  period VARCHAR,
  received_at TIMESTAMP,
  status VARCHAR,           -- loaded, rejected, superseded
  problems INTEGER,
  corrections INTEGER,
  rows_returned INTEGER,
  report_path VARCHAR
);

-- What workers entered, one row per filled cell of a loaded return (derived cells included).
CREATE TABLE IF NOT EXISTS forms.entered_values (
  form_id VARCHAR NOT NULL,
  form_version VARCHAR NOT NULL,
  subdistrict_code VARCHAR NOT NULL,
  period VARCHAR NOT NULL,
  row_key VARCHAR NOT NULL,
  subject_key VARCHAR,
  field_id VARCHAR NOT NULL,
  concept VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,    -- entry or derived
  value VARCHAR,
  number DOUBLE,
  file_sha256 VARCHAR NOT NULL,
  loaded_at TIMESTAMP
);

-- A worker's change to a prefilled value: a request to the field's authoritative department,
-- open until the department's next extract confirms or contradicts it.
CREATE TABLE IF NOT EXISTS forms.correction_requests (
  request_id VARCHAR PRIMARY KEY,
  raised_period VARCHAR NOT NULL,
  form_id VARCHAR NOT NULL,
  form_version VARCHAR,
  subdistrict_code VARCHAR NOT NULL,
  row_key VARCHAR NOT NULL,
  field_id VARCHAR NOT NULL,
  field_label VARCHAR,
  department VARCHAR NOT NULL,
  feed VARCHAR NOT NULL,
  source_table VARCHAR,     -- landing table and column the department's value comes from
  source_column VARCHAR,
  record_key_column VARCHAR,
  record_key VARCHAR,
  issued_value VARCHAR,
  requested_value VARCHAR,
  status VARCHAR NOT NULL,  -- open, confirmed, contradicted
  raised_at TIMESTAMP,
  file_sha256 VARCHAR,
  resolved_period VARCHAR,
  resolved_value VARCHAR,
  resolved_at TIMESTAMP
);
"""


def ensure_forms_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the forms schema and tables that do not exist yet."""
    conn.execute(FORMS_DDL)
