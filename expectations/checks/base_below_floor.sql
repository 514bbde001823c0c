-- BASE_BELOW_FLOOR: an active record of ours covering P whose base is below the floor of the policy for
-- (its region, its type, P). One row per (id_number, insurance_type).
WITH scope AS (SELECT period FROM {batch}),
policy AS ({policy_in_force}),
staff AS (
    SELECT entity, id_number, min(employee_id) AS employee_id
    FROM core.payroll WHERE period = (SELECT period FROM scope) GROUP BY entity, id_number
),
hits AS (
    SELECT i.*, p.base_floor, p.base_ceiling, p.effective_from
    FROM quality.insurance_snapshot((SELECT period FROM scope)) i
    JOIN policy p ON p.region = i.region AND p.insurance_type = i.insurance_type
    WHERE i.ours AND i.active_covering AND i.base < p.base_floor
)
SELECT (SELECT period FROM scope) AS period,
       arg_min(h.employer, h.base) AS entity,
       arg_min(s.employee_id, h.base) AS employee_id,
       h.id_number,
       arg_min(h.region, h.base) AS region,
       h.insurance_type,
       NULL AS transfer_id,
       json_object(
           'name', arg_min(h.name, h.base),
           'employer', arg_min(h.employer, h.base),
           'base', CAST(min(h.base) AS VARCHAR),
           'base_floor', CAST(arg_min(h.base_floor, h.base) AS VARCHAR),
           'base_ceiling', CAST(arg_min(h.base_ceiling, h.base) AS VARCHAR),
           'expected_base', CAST(arg_min(h.base_floor, h.base) AS VARCHAR),
           'policy_effective_from', arg_min(h.effective_from, h.base),
           'start_month', arg_min(h.start_month, h.base),
           'source', arg_min_null(struct_pack(kind := 'insurance', file := h.source_file, sheet := h.sheet, "row" := h.row_number), h.base)
       ) AS details
FROM hits h
LEFT JOIN staff s ON s.entity = h.employer AND s.id_number = h.id_number
GROUP BY h.id_number, h.insurance_type
