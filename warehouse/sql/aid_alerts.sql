-- Aid verification alerts for one month ($period, from $month_start to $month_end).
--
-- Monthly check: registry records registered inside the check's window ($window_start to
-- $cutoff: after the previous completed check, up to this one) against every recipient and
-- counted household member of an active case in the month's roster.
-- Enrolment check: the month's new cases against everything the registries registered before
-- the window. A case is new when it was enrolled during the month, or when it first appears in
-- this month's roster although an earlier roster had landed (a late-recorded enrolment).
-- With $only_listed, only the enrolment check runs, and only for the cases in $case_nos (the
-- enrolment sensor's immediate check); it finds exactly what the month's full check would.
-- Matching: the exact 18-digit ID; the 18-digit form of a legacy 15-digit ID; or, only where
-- the roster's ID fails its check digit, name plus birth date (a lower certainty).
WITH events AS (
  SELECT DISTINCT ON (rule, record_id, person_id) * FROM (
    SELECT 'death' AS rule, 'DEATH_REGISTERED' AS reason_code, 'death_registry' AS registry,
           record_id, id_number AS person_id, name AS person_name, death_date AS event_date,
           CAST(registered_at AS DATE) AS registered_on, id_number_status AS id_status
    FROM landing.death_registry
    UNION ALL
    SELECT CASE event_type WHEN '结婚登记' THEN 'marriage' ELSE 'divorce' END,
           CASE event_type WHEN '结婚登记' THEN 'MARRIAGE_REGISTERED' ELSE 'DIVORCE_REGISTERED' END,
           'marriage_registry', record_id, male_id_number, male_name, registration_date,
           registration_date, male_id_number_status
    FROM landing.marriage_registry
    UNION ALL
    SELECT CASE event_type WHEN '结婚登记' THEN 'marriage' ELSE 'divorce' END,
           CASE event_type WHEN '结婚登记' THEN 'MARRIAGE_REGISTERED' ELSE 'DIVORCE_REGISTERED' END,
           'marriage_registry', record_id, female_id_number, female_name, registration_date,
           registration_date, female_id_number_status
    FROM landing.marriage_registry
    UNION ALL
    SELECT 'moved_out', 'HUKOU_MOVED_OUT', 'household_moves', record_id, id_number, name,
           move_date, registration_date, id_number_status
    FROM landing.household_moves
    WHERE move_type = '迁出' AND other_place_code <> $district_code
  )
  WHERE id_status IN ('valid', 'unknown_county', 'upgraded_from_15')
    AND registered_on <= $cutoff
  ORDER BY rule, record_id, person_id, registered_on
),
event_people AS (
  SELECT *, strptime(substr(person_id, 7, 8), '%Y%m%d')::DATE AS person_birth_date FROM events
),
earlier_roster AS (
  SELECT DISTINCT case_no FROM landing.aid_households WHERE _period < $period
),
members AS (
  SELECT m.case_no, m.member_id_number, m.member_id_number_status AS id_status, m.member_name,
         m.birth_date, m.relation, h.aid_type, h.monthly_amount, h.subdistrict_code,
         h.enrolled_on,
         h.enrolled_on BETWEEN $month_start AND $month_end
           OR (h.case_no NOT IN (SELECT case_no FROM earlier_roster)
               AND EXISTS (SELECT 1 FROM earlier_roster)) AS new_case
  FROM landing.aid_members m
  JOIN landing.aid_households h ON h.case_no = m.case_no AND h._period = m._period
  WHERE m._period = $period AND h.status = '在保' AND m.counted = '是'
    AND h.enrolled_on <= $month_end
    AND (NOT $only_listed OR h.case_no IN (SELECT unnest($case_nos)))
),
matched AS (
  SELECT e.*, m.*,
         CASE m.id_status WHEN 'upgraded_from_15' THEN 'upgraded_15' ELSE 'exact_id' END
           AS match_method
  FROM members m JOIN event_people e ON e.person_id = m.member_id_number
  WHERE m.id_status IN ('valid', 'unknown_county', 'upgraded_from_15')
  UNION ALL
  SELECT e.*, m.*, 'name_birth_date'
  FROM members m
  JOIN event_people e ON e.person_name = m.member_name AND e.person_birth_date = m.birth_date
  WHERE m.id_status = 'bad_check_digit'
),
checked AS (
  SELECT 'monthly' AS check_kind, 1 AS preference, * FROM matched
  WHERE NOT $only_listed AND registered_on BETWEEN $window_start AND $cutoff
  UNION ALL
  SELECT 'enrolment', 2, * FROM matched
  WHERE registered_on < $window_start AND ($only_listed OR new_case)
)
SELECT DISTINCT ON (alert_id)
       substr(sha256(rule || '|' || record_id || '|' || person_id), 1, 20) AS alert_id,
       $period AS period, check_kind, rule, reason_code, registry, record_id, event_date,
       case_no, aid_type, monthly_amount, subdistrict_code, person_id AS person_id_number,
       member_name AS person_name, relation, match_method,
       CASE match_method WHEN 'name_birth_date' THEN 'lower' ELSE 'high' END AS match_certainty
FROM checked
ORDER BY alert_id, preference, case_no
