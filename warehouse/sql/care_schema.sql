-- The elderly care list (schema care). Created by onceonly.care.care_list before the care-list
-- asset writes; every statement is safe to run again.
CREATE SCHEMA IF NOT EXISTS care;

-- Per month and subdistrict: residents aged 80 or over or living alone, as of the build date.
-- The dead and the moved-away are left out when the list is built. Each row states how current
-- each source was.
CREATE TABLE IF NOT EXISTS care.care_list (
  period VARCHAR NOT NULL,
  subdistrict_code VARCHAR NOT NULL,
  id_number VARCHAR NOT NULL,
  name VARCHAR,
  sex VARCHAR,
  birth_date DATE,
  age INTEGER,                     -- full years on the build date
  registered_address VARCHAR,
  living_situation VARCHAR,        -- from elderly services; NULL when they do not know the person
  care_level VARCHAR,
  last_visit_date DATE,
  criteria VARCHAR NOT NULL,       -- 高龄, 独居, 高龄、独居, or 街道添加
  included_by VARCHAR NOT NULL,    -- rules, or subdistrict (a decision added the person)
  decision_reason VARCHAR,         -- the subdistrict's reason, when a decision added the person
  change_mark VARCHAR NOT NULL,    -- 新增 (not on last month's list), 继续, or 首次建册
  build_date DATE NOT NULL,        -- the list's as-of date
  register_as_of DATE,             -- household registration extract as of
  services_as_of DATE,             -- elderly services extract as of
  deaths_as_of DATE,               -- death registry known up to
  PRIMARY KEY (period, subdistrict_code, id_number)
);

-- Who left the list since last month, and why.
CREATE TABLE IF NOT EXISTS care.care_list_departures (
  period VARCHAR NOT NULL,
  subdistrict_code VARCHAR NOT NULL,
  id_number VARCHAR NOT NULL,
  name VARCHAR,
  reason VARCHAR NOT NULL,         -- 死亡, 迁出, 转至其他街道, 街道移出：..., 不再符合条件
  event_date DATE,                 -- the death or move date, when known
  build_date DATE NOT NULL,
  PRIMARY KEY (period, subdistrict_code, id_number)
);

-- The subdistricts' decisions to add or remove someone, from returned workbooks. A decision
-- holds from valid_from on, until a later decision for the same person and subdistrict.
CREATE TABLE IF NOT EXISTS care.list_decisions (
  id_number VARCHAR NOT NULL,
  subdistrict_code VARCHAR NOT NULL,
  valid_from VARCHAR NOT NULL,     -- YYYY-MM, the first month the decision applies to
  decision VARCHAR NOT NULL,       -- add, remove, or rules (back to the automatic criteria)
  reason VARCHAR,
  source VARCHAR,                  -- the returned workbook's SHA-256, or who recorded it
  decided_at TIMESTAMP NOT NULL,
  PRIMARY KEY (id_number, subdistrict_code, valid_from)
);
