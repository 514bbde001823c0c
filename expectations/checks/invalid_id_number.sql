-- INVALID_ID_NUMBER: one of P's employees whose id_number is not 17 digits and a digit or X, has a wrong
-- GB 11643 check digit, an impossible birth date (no calendar date, before 1900, after P) or a first two
-- digits that are no province-level code. The rule itself is the macro quality.id_number_problem.
-- insured_as: the valid number under which the entity insures the same name in R (quality.insured_as,
-- HIRED_NOT_ENROLLED's mistyped-ID exception), masked: the number to correct to.
WITH scope AS (SELECT period FROM {batch}),
rows AS (
    SELECT r.*, quality.id_number_problem(r.id_number, (SELECT period FROM scope)) AS problem,
           (CASE r.kind WHEN 'payroll' THEN 0 ELSE 1 END) * 1000000000 + r.row_number AS pick
    FROM quality.employee_rows((SELECT period FROM scope)) r
    WHERE coalesce(r.id_number, '') <> ''
),
emp AS (SELECT * FROM quality.employees((SELECT period FROM scope))),
insured AS (SELECT * FROM quality.insured_as((SELECT period FROM scope)))
SELECT (SELECT period FROM scope) AS period,
       r.entity, r.employee_id,
       arg_min(r.id_number, r.pick) AS id_number,
       any_value(e.region) AS region,
       NULL AS insurance_type, NULL AS transfer_id,
       json_object(
           'id_problem', arg_min(r.problem, r.pick),
           'id_number_raw', arg_min(r.id_number_raw, r.pick),
           'name', arg_min(r.name, r.pick),
           -- a valid number is 18 characters: the mask of transforms.common.privacy.mask_id (6 kept, 8 hidden, 4 kept)
           'insured_as', any_value(left(m.insured_as, 6) || '********' || right(m.insured_as, 4)),
           'source', arg_min_null(struct_pack(kind := r.kind, file := r.source_file, sheet := r.sheet, "row" := r.row_number), r.pick)
       ) AS details
FROM rows r
LEFT JOIN emp e ON e.entity = r.entity AND e.employee_id = r.employee_id
LEFT JOIN insured m ON m.entity = r.entity AND m.employee_id = r.employee_id
WHERE r.problem IS NOT NULL
GROUP BY r.entity, r.employee_id
