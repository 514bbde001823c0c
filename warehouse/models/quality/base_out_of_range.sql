-- SPEC §5 BASE_BELOW_FLOOR (above = false) and BASE_ABOVE_CEILING (above = true): an active record of ours
-- covering P whose base is below the floor (above the ceiling) of the policy for (its region, its type, P),
-- one row per (id_number, insurance_type) with the lowest (highest) base's record. Where a region charges by
-- hukou (SPEC §3) its rows are taken together: the lowest floor and the highest ceiling, so a base is out of
-- range only when it is out of range for every hukou (quality.policy_range). The two checks' files call this
-- with their side.
CREATE OR REPLACE MACRO quality.base_out_of_range(p, above) AS TABLE
WITH policy AS (
    SELECT * FROM quality.policy_range(p)
),
staff AS (
    SELECT entity, id_number, min(employee_id) AS employee_id
    FROM core.payroll WHERE period = p GROUP BY entity, id_number
),
hits AS (
    -- far: the base's distance outward, so that arg_min picks the lowest base below a floor and the highest
    -- above a ceiling
    SELECT i.*, pol.base_floor, pol.base_ceiling, pol.effective_from,
           CASE WHEN above THEN -i.base ELSE i.base END AS far
    FROM quality.insurance_snapshot(p) i
    JOIN policy pol ON pol.region = i.region AND pol.insurance_type = i.insurance_type
    WHERE i.ours AND i.active_covering
      AND CASE WHEN above THEN i.base > pol.base_ceiling ELSE i.base < pol.base_floor END
),
out_of_range AS (
    SELECT p AS period,
           arg_min(h.employer, h.far) AS entity,
           arg_min(s.employee_id, h.far) AS employee_id,
           h.id_number,
           arg_min(h.region, h.far) AS region,
           h.insurance_type,
           NULL AS transfer_id,
           json_object(
               'name', arg_min(h.name, h.far),
               'employer', arg_min(h.employer, h.far),
               'base', CAST(arg_min(h.base, h.far) AS VARCHAR),
               'base_floor', CAST(arg_min(h.base_floor, h.far) AS VARCHAR),
               'base_ceiling', CAST(arg_min(h.base_ceiling, h.far) AS VARCHAR),
               'expected_base', CAST(arg_min(CASE WHEN above THEN h.base_ceiling ELSE h.base_floor END, h.far)
                                     AS VARCHAR),
               'policy_effective_from', arg_min(h.effective_from, h.far),
               'start_month', arg_min(h.start_month, h.far),
               'source', arg_min_null(struct_pack(kind := 'insurance', file := h.source_file, sheet := h.sheet,
                                                  "row" := h.row_number), h.far)
           ) AS details
    FROM hits h
    LEFT JOIN staff s ON s.entity = h.employer AND s.id_number = h.id_number
    GROUP BY h.id_number, h.insurance_type
)
SELECT * FROM out_of_range;
