-- MISSING_EXTRACT: no staged rows of that kind (payroll, attendance, insurance, transfers) for P.
-- One row per kind; details carry the kind and the latest month staged before P.
WITH scope AS (SELECT period FROM {batch}),
kinds AS (SELECT * FROM (VALUES ('payroll'), ('attendance'), ('insurance'), ('transfers')) AS k(kind)),
staged AS (
    SELECT 'payroll' AS kind, period FROM staging.payroll
    UNION ALL SELECT 'attendance', period FROM staging.attendance
    UNION ALL SELECT 'insurance', period FROM staging.insurance
    UNION ALL SELECT 'transfers', period FROM staging.transfers
),
seen AS (
    SELECT kind,
           count(*) FILTER (WHERE period = (SELECT period FROM scope)) AS rows_for_p,
           max(period) FILTER (WHERE period < (SELECT period FROM scope)) AS latest_before_p
    FROM staged GROUP BY kind
)
SELECT (SELECT period FROM scope) AS period,
       NULL AS entity, NULL AS employee_id, NULL AS id_number, NULL AS region,
       NULL AS insurance_type, NULL AS transfer_id,
       json_object('kind', k.kind, 'latest_period_before', s.latest_before_p) AS details
FROM kinds k
LEFT JOIN seen s ON s.kind = k.kind
WHERE coalesce(s.rows_for_p, 0) = 0
