-- INVALID_ID_NUMBER: one of P's employees whose id_number is not 17 digits and a digit or X, has a wrong
-- GB 11643 check digit, an impossible birth date (no calendar date, before 1900, after P) or a first two
-- digits that are no province-level code. The rule itself is the macro quality.id_number_problem.
WITH scope AS (SELECT period FROM {batch}),
rows AS (
    SELECT r.*, quality.id_number_problem(r.id_number, (SELECT period FROM scope)) AS problem,
           (CASE r.kind WHEN 'payroll' THEN 0 ELSE 1 END) * 1000000000 + r.row_number AS pick
    FROM quality.employee_rows((SELECT period FROM scope)) r
    WHERE coalesce(r.id_number, '') <> ''
),
emp AS (SELECT * FROM quality.employees((SELECT period FROM scope)))
SELECT (SELECT period FROM scope) AS period,
       r.entity, r.employee_id,
       arg_min(r.id_number, r.pick) AS id_number,
       any_value(e.region) AS region,
       NULL AS insurance_type, NULL AS transfer_id,
       json_object(
           'id_problem', arg_min(r.problem, r.pick),
           'id_number_raw', arg_min(r.id_number_raw, r.pick),
           'name', arg_min(r.name, r.pick),
           'source', arg_min_null(struct_pack(kind := r.kind, file := r.source_file, sheet := r.sheet, "row" := r.row_number), r.pick)
       ) AS details
FROM rows r
LEFT JOIN emp e ON e.entity = r.entity AND e.employee_id = r.employee_id
WHERE r.problem IS NOT NULL
GROUP BY r.entity, r.employee_id
