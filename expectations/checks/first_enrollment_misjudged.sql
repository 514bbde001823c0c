-- FIRST_ENROLLMENT_MISJUDGED: a pension record of ours marked first_enrollment = yes, while the same
-- person has a pension record (any region, any employer) with an earlier start_month. Records are read
-- from P's snapshot and every earlier one. One row per id_number.
WITH scope AS (SELECT period FROM {batch}),
marked AS (
    SELECT * FROM quality.insurance_snapshot((SELECT period FROM scope))
    WHERE ours AND insurance_type = 'pension' AND first_enrollment
),
history AS (
    SELECT i.id_number, i.region, i.employer, i.start_month, i.period
    FROM core.insurance i
    WHERE i.insurance_type = 'pension' AND i.period <= (SELECT period FROM scope)
),
staff AS (
    SELECT entity, id_number, min(employee_id) AS employee_id
    FROM core.payroll WHERE period = (SELECT period FROM scope) GROUP BY entity, id_number
),
hits AS (
    SELECT m.id_number, m.name, m.employer, m.region, m.start_month, m.source_file, m.sheet, m.row_number,
           min(h.start_month) AS earliest_start_month,
           arg_min(h.region, h.start_month) AS earliest_region,
           arg_min(h.employer, h.start_month) AS earliest_employer
    FROM marked m
    JOIN history h ON h.id_number = m.id_number AND h.start_month < m.start_month
    GROUP BY ALL
)
SELECT (SELECT period FROM scope) AS period,
       arg_min(h.employer, h.start_month) AS entity,
       arg_min(s.employee_id, h.start_month) AS employee_id,
       h.id_number,
       arg_min(h.region, h.start_month) AS region,
       'pension' AS insurance_type, NULL AS transfer_id,
       json_object(
           'name', any_value(h.name),
           'employer', arg_min(h.employer, h.start_month),
           'start_month', min(h.start_month),
           'earlier_start_month', min(h.earliest_start_month),
           'earlier_region', arg_min(h.earliest_region, h.earliest_start_month),
           'earlier_employer', arg_min(h.earliest_employer, h.earliest_start_month),
           'source', arg_min_null(struct_pack(kind := 'insurance', file := h.source_file, sheet := h.sheet, "row" := h.row_number), h.start_month)
       ) AS details
FROM hits h
LEFT JOIN staff s ON s.entity = h.employer AND s.id_number = h.id_number
GROUP BY h.id_number
