-- SPEC §6: the actions the findings of validation run $run_id call for, one row per problem.
-- action_id = type prefix + a digest of the problem's key (never the month), so a problem keeps its id.
CREATE OR REPLACE TEMP TABLE found_actions AS
WITH findings AS (
    SELECT f.*, CAST(f.details AS JSON) AS d
    FROM quality.findings f
    WHERE f.run_id = $run_id
),
-- P's transfers snapshot (or the latest before it): an open transfer makes INITIATE_TRANSFER moot.
snapshot AS (
    SELECT * FROM core.transfers
    WHERE period = (SELECT max(period) FROM core.transfers WHERE period <= $period)
),
mapped AS (
    SELECT f.*,
        CASE f.code
            WHEN 'DUPLICATE_ID_NUMBER' THEN 'MERGE_RECORDS'
            WHEN 'DUPLICATE_PERSON' THEN 'MERGE_RECORDS'
            WHEN 'INVALID_ID_NUMBER' THEN 'FIX_ID_NUMBER'
            WHEN 'BASE_BELOW_FLOOR' THEN 'ADJUST_BASE'
            WHEN 'BASE_ABOVE_CEILING' THEN 'ADJUST_BASE'
            WHEN 'BASE_MISMATCH' THEN 'ADJUST_BASE'
            WHEN 'WITHHOLDING_MISMATCH' THEN 'CORRECT_WITHHOLDING'
            WHEN 'HIRED_NOT_ENROLLED' THEN 'ENROLL_EMPLOYEE'
            WHEN 'DEPARTED_STILL_CONTRIBUTING' THEN 'STOP_CONTRIBUTION'
            WHEN 'ACTIVE_ELSEWHERE' THEN 'INITIATE_TRANSFER'
            WHEN 'FIRST_ENROLLMENT_MISJUDGED' THEN 'LINK_PRIOR_HISTORY'
            WHEN 'STALE_TRANSFER' THEN 'CHASE_TRANSFER'
            WHEN 'TRANSFER_NOT_REFLECTED' THEN 'UPDATE_TRANSFER_STATUS'
        END AS action_type,
        -- the problem's key: who (and, for merges, which shared number or name + birth date)
        CASE f.code
            WHEN 'DUPLICATE_ID_NUMBER' THEN concat_ws('|', 'id', f.id_number)
            WHEN 'DUPLICATE_PERSON' THEN concat_ws('|', 'person', f.d ->> '$.name', f.d ->> '$.birth_digits')
            WHEN 'BASE_BELOW_FLOOR' THEN concat_ws('|', f.entity, f.id_number)
            WHEN 'BASE_ABOVE_CEILING' THEN concat_ws('|', f.entity, f.id_number)
            WHEN 'BASE_MISMATCH' THEN concat_ws('|', f.entity, f.id_number)
            WHEN 'FIRST_ENROLLMENT_MISJUDGED' THEN f.id_number
            WHEN 'STALE_TRANSFER' THEN f.transfer_id
            WHEN 'TRANSFER_NOT_REFLECTED' THEN f.transfer_id
            WHEN 'ACTIVE_ELSEWHERE' THEN concat_ws('|', f.entity, f.employee_id, f.d ->> '$.other_region')
            ELSE concat_ws('|', f.entity, f.employee_id)
        END AS problem_key
    FROM findings f
),
kept AS (
    SELECT m.*,
           -- one expected base per insurance type of an action (the lowest where findings differ)
           min(m.d ->> '$.expected_base') OVER (PARTITION BY m.action_type, m.problem_key, m.insurance_type)
               AS type_expected_base
    FROM mapped m
    WHERE m.action_type IS NOT NULL
      AND NOT (m.action_type = 'INITIATE_TRANSFER' AND EXISTS (
          SELECT 1 FROM snapshot t
          WHERE t.id_number = m.id_number AND t.from_region = (m.d ->> '$.other_region')
            AND t.stage NOT IN ('completed', 'rejected')))
)
SELECT
    CASE action_type
        WHEN 'MERGE_RECORDS' THEN 'MRG' WHEN 'FIX_ID_NUMBER' THEN 'FIX' WHEN 'ADJUST_BASE' THEN 'ADJ'
        WHEN 'CORRECT_WITHHOLDING' THEN 'WHD' WHEN 'ENROLL_EMPLOYEE' THEN 'ENR' WHEN 'STOP_CONTRIBUTION' THEN 'STP'
        WHEN 'INITIATE_TRANSFER' THEN 'TRF' WHEN 'LINK_PRIOR_HISTORY' THEN 'LNK' WHEN 'CHASE_TRANSFER' THEN 'CHS'
        ELSE 'UPD' END || '-' || left(sha256(action_type || '|' || problem_key), 12) AS action_id,
    action_type, problem_key,
    min(entity) AS entity,
    CASE WHEN count(DISTINCT employee_id) = 1 THEN min(employee_id) END AS employee_id,
    CASE WHEN count(DISTINCT id_number) = 1 THEN min(id_number) END AS id_number,
    list(DISTINCT code ORDER BY code) AS finding_codes,
    CASE WHEN bool_or(severity = 'error') THEN 'error' ELSE 'warning' END AS severity,
    json_object(
        'findings', list(json_object('code', code, 'entity', entity, 'employee_id', employee_id,
                                     'insurance_type', insurance_type, 'region', region,
                                     'transfer_id', transfer_id, 'evidence', d)
                         ORDER BY code, entity, employee_id, insurance_type),
        'insurance_types', list(DISTINCT insurance_type ORDER BY insurance_type) FILTER (WHERE insurance_type IS NOT NULL),
        'people', list(DISTINCT struct_pack(entity := entity, employee_id := employee_id))
                  FILTER (WHERE employee_id IS NOT NULL),
        'expected_base', CASE WHEN action_type = 'ADJUST_BASE' THEN map_from_entries(
            list(DISTINCT struct_pack(k := insurance_type, v := type_expected_base))
                FILTER (WHERE insurance_type IS NOT NULL)) END,
        'other_region', any_value(d ->> '$.other_region'),
        'other_employer', any_value(d ->> '$.other_employer'),
        'stage', any_value(d ->> '$.stage'),
        'working_days_waited', any_value(d ->> '$.working_days_waited'),
        'name', any_value(d ->> '$.name')
    ) AS details
FROM kept
GROUP BY action_type, problem_key;
