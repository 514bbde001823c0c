-- SPEC §6: the actions the findings of validation run $run_id call for, one row per problem.
-- action_map (code -> action_type, prefix): the codes' registry rows (quality.checks) with the types' prefixes,
-- registered by transforms/actions.py.
-- action_id = type prefix + a digest of the type and the problem's key (never the month), so a problem that
-- persists keeps its id from run to run.
-- candidate_actions also holds the STOP_ORIGIN_RECORD actions of ACTIVE_ELSEWHERE that a transfer makes moot
-- (suppressed_by: the transfer's own findings cover it); actions_not_suppressed.sql makes found_actions from it.
-- Every action names an entity (SPEC §6): the findings' one entity, else the entity whose payroll holds the
-- person's id_number in P, else that of the person's latest payroll row up to P.
-- The findings are grouped one part at a time ($part of $parts, by a hash of the action's key, so each action's
-- findings fall in one part): the grouping's list and JSON aggregates cannot spill, and a part of bounded size
-- keeps them within DuckDB's memory however many findings a run has.
CREATE OR REPLACE TEMP TABLE candidate_actions_part AS
WITH findings AS (
    SELECT f.*, CAST(f.details AS JSON) AS d, m.action_type, m.prefix
    FROM quality.findings f
    JOIN action_map m ON m.code = f.code
    WHERE f.run_id = $run_id
),
keyed AS (
    SELECT f.*,
        -- the problem's key: who (and, for merges, which shared number or which name + birth date); each
        -- code's expression is its registry row (expectations/registry.py, via quality.checks)
        {problem_key} AS problem_key
    FROM findings f
),
part AS (
    SELECT * FROM keyed WHERE hash(action_type, problem_key) % $parts = $part
),
-- SPEC §6: a transfer of that person from that region, any stage but rejected, in any transfers snapshot up
-- to P makes STOP_ORIGIN_RECORD of ACTIVE_ELSEWHERE moot (the transfer's own findings cover it).
known_transfers AS (
    SELECT id_number, from_region, max(transfer_id) AS transfer_id
    FROM core.transfers
    WHERE period <= $period
      AND stage <> 'rejected'
      AND coalesce(insurance_type, 'pension') = 'pension'
    GROUP BY id_number, from_region
),
-- The ledger base of the month per (entity, person, type): what ADJUST_BASE asks the record to carry.
ledger_base AS (
    SELECT entity, id_number, insurance_type, min(base) AS base
    FROM ledger.current_contributions
    WHERE period = $period
    GROUP BY entity, id_number, insurance_type
),
-- Plain equi-joins (both right sides are unique on their keys) with the action type tested after: a type
-- test inside ON turns them into nested-loop joins, minutes at 200,000 employees.
evidenced AS (
    SELECT k.*,
           CASE WHEN k.action_type = 'ADJUST_BASE' THEN lb.base END AS ledger_base,
           CASE WHEN k.code = 'ACTIVE_ELSEWHERE' THEN t.transfer_id END AS open_transfer
    FROM part k
    LEFT JOIN ledger_base lb
      ON lb.entity = k.entity AND lb.id_number = k.id_number AND lb.insurance_type = k.insurance_type
    LEFT JOIN known_transfers t
      ON t.id_number = k.id_number AND t.from_region = (k.d ->> '$.other_region')
),
per_type AS (
    -- one expected base per insurance type of an action: the ledger's, else the floor or ceiling the finding
    -- names (a person without ledger rows), the lowest where findings differ
    SELECT e.*,
           coalesce(min(e.ledger_base) OVER w, min(TRY_CAST(e.d ->> '$.expected_base' AS DECIMAL(14, 2))) OVER w)
               AS type_expected_base
    FROM evidenced e
    WINDOW w AS (PARTITION BY e.action_type, e.problem_key, e.insurance_type)
),
grouped AS (
SELECT
    prefix || '-' || left(sha256(action_type || '|' || problem_key), 12) AS action_id,
    action_type,
    problem_key,
    CASE WHEN count(DISTINCT entity) = 1 THEN min(entity) END AS entity,
    CASE WHEN count(DISTINCT employee_id) = 1 THEN min(employee_id) END AS employee_id,
    CASE WHEN count(DISTINCT id_number) = 1 THEN min(id_number) END AS id_number,
    list(DISTINCT code ORDER BY code) AS finding_codes,
    CASE WHEN bool_or(severity = 'error') THEN 'error' ELSE 'warning' END AS severity,
    json_object(
        'name', min(d ->> '$.name'),
        'people', list_sort(list(DISTINCT struct_pack(entity := entity, employee_id := employee_id,
                                                      name := d ->> '$.name', id_number := id_number))
                            FILTER (WHERE employee_id IS NOT NULL OR id_number IS NOT NULL)),
        'findings', list(json_object('code', code, 'severity', severity, 'entity', entity, 'employee_id', employee_id,
                                     'id_number', id_number, 'insurance_type', insurance_type, 'region', region,
                                     'transfer_id', transfer_id, 'evidence', d)
                         ORDER BY code, entity, employee_id, insurance_type),
        'insurance_types', list(DISTINCT insurance_type ORDER BY insurance_type) FILTER (WHERE insurance_type IS NOT NULL),
        'expected_base', CASE WHEN action_type = 'ADJUST_BASE' THEN map_from_entries(
            list(DISTINCT struct_pack(k := insurance_type, v := CAST(type_expected_base AS VARCHAR))
                 ORDER BY struct_pack(k := insurance_type, v := CAST(type_expected_base AS VARCHAR)))
                FILTER (WHERE insurance_type IS NOT NULL)) END,
        'current_base', CASE WHEN action_type = 'ADJUST_BASE' THEN map_from_entries(
            list(DISTINCT struct_pack(k := insurance_type, v := d ->> '$.base')
                 ORDER BY struct_pack(k := insurance_type, v := d ->> '$.base'))
                FILTER (WHERE insurance_type IS NOT NULL)) END,
        'policy_floor', min(d ->> '$.base_floor'),
        'policy_ceiling', min(d ->> '$.base_ceiling'),
        'region', min(region),
        'other_region', min(d ->> '$.other_region'),
        'other_employer', min(d ->> '$.other_employer'),
        'other_start_month', min(d ->> '$.other_start_month'),
        'transfer_id', min(transfer_id),
        'stage', min(d ->> '$.stage'),
        'stage_on', min(d ->> '$.stage_on'),
        'working_days_waited', max(TRY_CAST(d ->> '$.working_days_waited' AS INTEGER)),
        'limit_days', min(TRY_CAST(d ->> '$.limit_days' AS INTEGER)),
        'from_region', min(d ->> '$.from_region'),
        'from_employer', min(d ->> '$.from_employer'),
        'from_status', min(d ->> '$.from_status'),
        'origins', min(d -> '$.origins'),
        'hukou_region', min(d ->> '$.hukou_region'),
        'interim_account_check', bool_or(TRY_CAST(d ->> '$.interim_account_check' AS BOOLEAN)),
        'hukou_unknown', bool_or(TRY_CAST(d ->> '$.hukou_unknown' AS BOOLEAN)),
        'to_region', min(d ->> '$.to_region'),
        'record_employer', min(d ->> '$.record_employer'),
        'hire_date', min(d ->> '$.hire_date'),
        'leave_date', min(d ->> '$.leave_date'),
        'withholding_difference', min(d ->> '$.difference'),
        'si_withheld', min(d ->> '$.si_withheld'),
        'expected_employee_amount', min(d ->> '$.expected_employee_amount'),
        'earlier_region', min(d ->> '$.earlier_region'),
        'earlier_employer', min(d ->> '$.earlier_employer'),
        'earlier_start_month', min(d ->> '$.earlier_start_month'),
        'id_problem', min(d ->> '$.id_problem'),
        -- RECONCILE_BILL: per insurance type, both amounts and both bases (billed and the ledger's)
        'bill', list(json_object('insurance_type', insurance_type, 'region', region,
                                 'billed_employer_amount', d ->> '$.billed_employer_amount',
                                 'ledger_employer_amount', d ->> '$.ledger_employer_amount',
                                 'billed_employee_amount', d ->> '$.billed_employee_amount',
                                 'ledger_employee_amount', d ->> '$.ledger_employee_amount',
                                 'billed_base', d ->> '$.billed_base', 'ledger_base', d ->> '$.ledger_base')
                     ORDER BY insurance_type) FILTER (WHERE code = 'BILL_MISMATCH'),
        -- HIRED_NOT_ENROLLED's arrears (SPEC §5) ride on ENROLL_EMPLOYEE for the 补缴 declaration
        'arrears_months', any_value(d -> '$.arrears_months') FILTER (WHERE code = 'HIRED_NOT_ENROLLED'),
        'arrears_employer', min(d ->> '$.arrears_employer'),
        'arrears_employee', min(d ->> '$.arrears_employee'),
        'late_fee', min(d ->> '$.late_fee'),
        'arrears_by_month', any_value(d -> '$.arrears_by_month') FILTER (WHERE code = 'HIRED_NOT_ENROLLED'),
        'sources', list(DISTINCT (d -> '$.source') ORDER BY (d -> '$.source')) FILTER (WHERE (d -> '$.source') IS NOT NULL)
    ) AS details,
    min(open_transfer) AS suppressed_by
FROM per_type
GROUP BY action_type, prefix, problem_key
),
payroll_entity AS (
    SELECT y.id_number, max_by(y.entity, (y.period, y.entity)) AS entity
    FROM core.payroll y
    WHERE y.period <= $period
      AND y.id_number IN (SELECT id_number FROM grouped WHERE entity IS NULL)
    GROUP BY y.id_number
)
SELECT g.* REPLACE (coalesce(g.entity, pe.entity) AS entity)
FROM grouped g
LEFT JOIN payroll_entity pe ON g.entity IS NULL AND pe.id_number = g.id_number;

CREATE TEMP TABLE IF NOT EXISTS candidate_actions AS SELECT * FROM candidate_actions_part WITH NO DATA;
INSERT INTO candidate_actions SELECT * FROM candidate_actions_part;
