-- DUPLICATE_PERSON: two or more of P's employees with the same name and birth date (id digits 7–14)
-- but different normalised id_numbers. One row per (entity, employee_id) involved.
WITH scope AS (SELECT period FROM {batch}),
held AS (
    SELECT DISTINCT entity, employee_id, name, id_number, substr(id_number, 7, 8) AS birth_digits
    FROM quality.employee_rows((SELECT period FROM scope))
    WHERE length(id_number) >= 14
),
groups AS (
    SELECT name, birth_digits FROM held GROUP BY name, birth_digits HAVING count(DISTINCT id_number) >= 2
),
involved AS (
    SELECT h.entity, h.employee_id,
           min(h.birth_digits) AS birth_digits,
           list(DISTINCT o.id_number ORDER BY o.id_number) AS id_numbers,
           list(DISTINCT struct_pack(entity := o.entity, employee_id := o.employee_id, id_number := o.id_number)
                ORDER BY struct_pack(entity := o.entity, employee_id := o.employee_id, id_number := o.id_number))
               FILTER (WHERE NOT (o.entity = h.entity AND o.employee_id = h.employee_id)) AS others
    FROM held h
    JOIN groups g ON g.name = h.name AND g.birth_digits = h.birth_digits
    JOIN held o ON o.name = h.name AND o.birth_digits = h.birth_digits
    GROUP BY h.entity, h.employee_id
),
emp AS (SELECT * FROM quality.employees((SELECT period FROM scope)))
SELECT (SELECT period FROM scope) AS period,
       i.entity, i.employee_id,
       e.id_number,
       e.region,
       NULL AS insurance_type, NULL AS transfer_id,
       json_object(
           'name', e.name,
           'birth_digits', i.birth_digits,
           'id_numbers', i.id_numbers,
           'others', coalesce(i.others, []),
           'source', e.source
       ) AS details
FROM involved i
JOIN emp e ON e.entity = i.entity AND e.employee_id = i.employee_id
