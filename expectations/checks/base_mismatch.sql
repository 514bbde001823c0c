-- BASE_MISMATCH: an active record of ours covering P, base within the policy range, for a person in the
-- ledger population of that entity, differing from the ledger base for that type by 1.00 or more.
-- One row per (id_number, insurance_type).
WITH scope AS (SELECT period FROM {batch}),
policy AS ({policy_in_force}),
population AS ({ledger_population}),
ledger_base AS (
    SELECT c.entity, c.employee_id, c.id_number, c.insurance_type, c.base, c.region AS ledger_region
    FROM ledger.net_contributions((SELECT period FROM scope)) c
    JOIN population lp ON lp.entity = c.entity AND lp.employee_id = c.employee_id
    WHERE c.period = (SELECT period FROM scope)
),
hits AS (
    SELECT i.*, p.base_floor, p.base_ceiling, lb.employee_id, lb.base AS ledger_base, lb.ledger_region,
           abs(i.base - lb.base) AS gap
    FROM quality.insurance_snapshot((SELECT period FROM scope)) i
    JOIN policy p ON p.region = i.region AND p.insurance_type = i.insurance_type
    JOIN ledger_base lb ON lb.entity = i.employer AND lb.id_number = i.id_number
                       AND lb.insurance_type = i.insurance_type
    WHERE i.ours AND i.active_covering
      AND i.base BETWEEN p.base_floor AND p.base_ceiling
      AND abs(i.base - lb.base) >= 1.00
)
SELECT (SELECT period FROM scope) AS period,
       arg_max(employer, gap) AS entity,
       arg_max(employee_id, gap) AS employee_id,
       id_number,
       arg_max(region, gap) AS region,
       insurance_type,
       NULL AS transfer_id,
       json_object(
           'name', arg_max(name, gap),
           'employer', arg_max(employer, gap),
           'base', CAST(arg_max(base, gap) AS VARCHAR),
           'ledger_base', CAST(arg_max(ledger_base, gap) AS VARCHAR),
           'expected_base', CAST(arg_max(ledger_base, gap) AS VARCHAR),
           'difference', CAST(arg_max(base - ledger_base, gap) AS VARCHAR),
           'base_floor', CAST(arg_max(base_floor, gap) AS VARCHAR),
           'base_ceiling', CAST(arg_max(base_ceiling, gap) AS VARCHAR),
           'ledger_region', arg_max(ledger_region, gap),
           'start_month', arg_max(start_month, gap),
           'source', arg_max_null(struct_pack(kind := 'insurance', file := source_file, sheet := sheet, "row" := row_number), gap)
       ) AS details
FROM hits
GROUP BY id_number, insurance_type
