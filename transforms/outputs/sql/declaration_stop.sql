-- 减员 (SPEC §7): the findings of validation run $run_id that feed it, one row per person and region of the
-- person's active records with the entity; 停保年月 = the first month the ledger does not charge (the
-- finding's stop_month, ledger.stop_month: SPEC §4.3) as YYYYMM; 需退费 when that month is before P (the
-- months between are refunded, not stopped). Findings whose action HR dismissed are left out (quality.declared_findings).
WITH f AS (
    SELECT f.entity, f.employee_id, f.id_number, f.d
    FROM quality.declared_findings($run_id, 'stop') f
),
regions AS (
    SELECT DISTINCT entity, employee_id, id_number, d,
           unnest(from_json(d -> '$.records', '[{"region": "VARCHAR"}]')).region AS region
    FROM f
)
SELECT region, entity, employee_id, d ->> '$.name' AS name, id_number,
       d ->> '$.leave_date' AS leave_date,
       replace(d ->> '$.stop_month', '-', '') AS stop_month,
       (d ->> '$.stop_month') < $period AS refund
FROM regions
ORDER BY region, entity, employee_id
