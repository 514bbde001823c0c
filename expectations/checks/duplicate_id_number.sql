-- DUPLICATE_ID_NUMBER: one normalised id_number held by two or more of P's employees.
-- One row per (entity, employee_id) involved; details name the other holders.
WITH scope AS (SELECT period FROM {batch}),
held AS (
    SELECT DISTINCT entity, employee_id, id_number
    FROM quality.employee_rows((SELECT period FROM scope))
    WHERE coalesce(id_number, '') <> ''
),
shared_ids AS (
    SELECT id_number FROM held GROUP BY id_number HAVING count(*) >= 2
),
involved AS (
    SELECT h.entity, h.employee_id,
           list(DISTINCT h.id_number ORDER BY h.id_number) AS id_numbers,
           list(DISTINCT struct_pack(entity := o.entity, employee_id := o.employee_id)
                ORDER BY struct_pack(entity := o.entity, employee_id := o.employee_id)) AS others
    FROM held h
    JOIN shared_ids USING (id_number)
    JOIN held o ON o.id_number = h.id_number AND NOT (o.entity = h.entity AND o.employee_id = h.employee_id)
    GROUP BY h.entity, h.employee_id
),
emp AS (SELECT * FROM quality.employees((SELECT period FROM scope)))
SELECT (SELECT period FROM scope) AS period,
       i.entity, i.employee_id,
       i.id_numbers[1] AS id_number,
       e.region,
       NULL AS insurance_type, NULL AS transfer_id,
       json_object(
           'name', e.name,
           'id_number_raw', e.id_number_raw,
           'shared_id_numbers', i.id_numbers,
           'others', i.others,
           'source', e.source
       ) AS details
FROM involved i
JOIN emp e ON e.entity = i.entity AND e.employee_id = i.employee_id
