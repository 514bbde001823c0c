-- SPEC §6: the actions the findings of validation run $run_id call for (actions_findings.sql prepared them),
-- one row per problem, grouped one part at a time ($part of $parts, by the findings' part_hash).
-- action_id = type prefix + a digest of the type and the problem's key (never the month), so a problem that
-- persists keeps its id from run to run.
-- candidate_actions also holds the STOP_ORIGIN_RECORD actions of ACTIVE_ELSEWHERE that a transfer makes moot
-- (suppressed_by: the transfer's own findings cover it); actions_not_suppressed.sql makes found_actions from it.
-- The grouping's list and JSON aggregates cannot spill and cost about 30 KB per action while it runs: a part of
-- bounded size keeps them within DuckDB's memory however many findings a run has.
CREATE OR REPLACE TEMP TABLE candidate_actions_part AS
WITH per_type AS (
    -- the details' text fields parsed once per finding here, not once per field read below (and not kept
    -- in action_findings: the part's findings only)
    SELECT * EXCLUDE (part_hash), json_transform(d, '{
            "arrears_employee": "VARCHAR", "arrears_employer": "VARCHAR", "base": "VARCHAR",
            "base_ceiling": "VARCHAR", "base_floor": "VARCHAR", "billed_base": "VARCHAR",
            "billed_employee_amount": "VARCHAR", "billed_employer_amount": "VARCHAR",
            "difference": "VARCHAR", "earlier_employer": "VARCHAR", "earlier_region": "VARCHAR",
            "earlier_start_month": "VARCHAR", "expected_employee_amount": "VARCHAR",
            "from_employer": "VARCHAR", "from_region": "VARCHAR", "from_start_month": "VARCHAR", "from_status": "VARCHAR",
            "hire_date": "VARCHAR", "hukou_region": "VARCHAR", "hukou_unknown": "VARCHAR",
            "id_problem": "VARCHAR", "insured_as": "VARCHAR", "interim_account_check": "VARCHAR",
            "late_fee": "VARCHAR", "late_fee_until": "VARCHAR", "registration_due": "VARCHAR", "overdue": "VARCHAR",
            "arrears_before_data": "VARCHAR",
            "leave_date": "VARCHAR", "ledger_base": "VARCHAR", "ledger_employee_amount": "VARCHAR",
            "ledger_employer_amount": "VARCHAR", "limit_days": "VARCHAR", "name": "VARCHAR",
            "other_employer": "VARCHAR", "other_region": "VARCHAR", "other_start_month": "VARCHAR",
            "record_employer": "VARCHAR", "si_withheld": "VARCHAR", "stage": "VARCHAR",
            "retirement_month": "VARCHAR", "retirement_age": "VARCHAR", "months_paid": "INTEGER",
            "min_contribution_months": "INTEGER", "short_of_minimum": "BOOLEAN", "basis": "VARCHAR",
            "basis_assumed": "BOOLEAN",
            "stage_on": "VARCHAR", "stop_month": "VARCHAR", "to_region": "VARCHAR",
            "working_days_waited": "VARCHAR"}') AS x
    FROM action_findings WHERE part_hash % $parts = $part
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
        'name', min(x.name),
        'people', list_sort(list(DISTINCT struct_pack(entity := entity, employee_id := employee_id,
                                                      name := x.name, id_number := id_number))
                            FILTER (WHERE employee_id IS NOT NULL OR id_number IS NOT NULL)),
        'findings', list(json_object('code', code, 'severity', severity, 'entity', entity, 'employee_id', employee_id,
                                     'id_number', id_number, 'insurance_type', insurance_type, 'region', region,
                                     'transfer_id', transfer_id, 'evidence', evidence)
                         ORDER BY code, entity, employee_id, insurance_type),
        'insurance_types', list(DISTINCT insurance_type ORDER BY insurance_type) FILTER (WHERE insurance_type IS NOT NULL),
        'expected_base', CASE WHEN action_type = 'ADJUST_BASE' THEN map_from_entries(
            list(DISTINCT struct_pack(k := insurance_type, v := CAST(type_expected_base AS VARCHAR))
                 ORDER BY struct_pack(k := insurance_type, v := CAST(type_expected_base AS VARCHAR)))
                FILTER (WHERE insurance_type IS NOT NULL)) END,
        'current_base', CASE WHEN action_type = 'ADJUST_BASE' THEN map_from_entries(
            list(DISTINCT struct_pack(k := insurance_type, v := x.base)
                 ORDER BY struct_pack(k := insurance_type, v := x.base))
                FILTER (WHERE insurance_type IS NOT NULL)) END,
        'policy_floor', min(x.base_floor),
        'policy_ceiling', min(x.base_ceiling),
        'region', min(region),
        'other_region', min(x.other_region),
        'other_employer', min(x.other_employer),
        'other_start_month', min(x.other_start_month),
        'transfer_id', min(transfer_id),
        'stage', min(x.stage),
        'stage_on', min(x.stage_on),
        'working_days_waited', max(TRY_CAST(x.working_days_waited AS INTEGER)),
        'limit_days', min(TRY_CAST(x.limit_days AS INTEGER)),
        'from_region', min(x.from_region),
        'from_employer', min(x.from_employer),
        'from_start_month', min(x.from_start_month),
        'from_status', min(x.from_status),
        'origins', min(d -> '$.origins'),
        'hukou_region', min(x.hukou_region),
        'interim_account_check', bool_or(TRY_CAST(x.interim_account_check AS BOOLEAN)),
        'hukou_unknown', bool_or(TRY_CAST(x.hukou_unknown AS BOOLEAN)),
        'to_region', min(x.to_region),
        'record_employer', min(x.record_employer),
        'hire_date', min(x.hire_date),
        'leave_date', min(x.leave_date),
        'stop_month', min(x.stop_month),
        'withholding_difference', min(x.difference),
        'si_withheld', min(x.si_withheld),
        'expected_employee_amount', min(x.expected_employee_amount),
        'earlier_region', min(x.earlier_region),
        'earlier_employer', min(x.earlier_employer),
        'earlier_start_month', min(x.earlier_start_month),
        'id_problem', min(x.id_problem),
        -- FIX_ID_NUMBER of a mistyped ID: the (masked) number the entity insures the person under
        'insured_as', min(x.insured_as),
        -- RECONCILE_BILL: per insurance type, both amounts and both bases (billed and the ledger's)
        'bill', list(json_object('insurance_type', insurance_type, 'region', region,
                                 'billed_employer_amount', x.billed_employer_amount,
                                 'ledger_employer_amount', x.ledger_employer_amount,
                                 'billed_employee_amount', x.billed_employee_amount,
                                 'ledger_employee_amount', x.ledger_employee_amount,
                                 'billed_base', x.billed_base, 'ledger_base', x.ledger_base)
                     ORDER BY insurance_type) FILTER (WHERE action_type = 'RECONCILE_BILL'),
        -- the arrears of its findings (HIRED_NOT_ENROLLED's, SPEC §5) ride on ENROLL_EMPLOYEE for the 补缴 declaration
        'arrears_months', any_value(d -> '$.arrears_months') FILTER (WHERE action_type = 'ENROLL_EMPLOYEE'),
        'arrears_employer', min(x.arrears_employer),
        'arrears_employee', min(x.arrears_employee),
        'late_fee', min(x.late_fee),
        'late_fee_until', min(x.late_fee_until),
        'registration_due', min(x.registration_due),
        'overdue', bool_or(TRY_CAST(x.overdue AS BOOLEAN)),
        'arrears_before_data', bool_or(TRY_CAST(x.arrears_before_data AS BOOLEAN)),
        'arrears_by_month', any_value(d -> '$.arrears_by_month') FILTER (WHERE action_type = 'ENROLL_EMPLOYEE'),
        -- RETIREMENT_DUE's statutory month and contribution months (SPEC §5) ride on PREPARE_RETIREMENT
        'retirement_month', min(x.retirement_month),
        'retirement_age', min(x.retirement_age),
        'retirement_basis', min(x.basis),
        'basis_assumed', bool_or(x.basis_assumed),
        'months_paid', max(x.months_paid),
        'min_contribution_months', max(x.min_contribution_months),
        'short_of_minimum', bool_or(x.short_of_minimum),
        'sources', list(DISTINCT (d -> '$.source') ORDER BY (d -> '$.source')) FILTER (WHERE (d -> '$.source') IS NOT NULL)
    ) AS details,
    min(open_transfer) AS suppressed_by
FROM per_type
GROUP BY action_type, prefix, problem_key
)
SELECT g.* REPLACE (coalesce(g.entity, pe.entity) AS entity)
FROM grouped g
-- a plain equi-join (one payroll entity per person): the entity is taken from it only where the findings name none
LEFT JOIN action_payroll_entities pe ON pe.id_number = g.id_number;

CREATE TEMP TABLE IF NOT EXISTS candidate_actions AS SELECT * FROM candidate_actions_part WITH NO DATA;
INSERT INTO candidate_actions SELECT * FROM candidate_actions_part;
