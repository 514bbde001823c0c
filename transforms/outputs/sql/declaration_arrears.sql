-- 补缴 (SPEC §7): the arrears (SPEC §5: months before P) of the findings of validation run $run_id that feed it, one
-- row per person, month (费款所属期, YYYYMM) and insurance type with its base and amounts. The month's late fee
-- is split across its types in proportion to their amounts (employer + employee), to the cent, by largest
-- remainder so that the types' fees add up to the month's fee; 滞纳金计算截止日 = the last day of P, the day
-- the fee is estimated as of. Findings whose action HR dismissed are left out (quality.declared_findings).
WITH f AS (
    SELECT f.entity, f.employee_id, f.id_number, f.region, f.d
    FROM quality.declared_findings($run_id, 'arrears') f
),
months AS (
    SELECT f.*, unnest(from_json(f.d -> '$.arrears_by_month',
        '[{"month": "VARCHAR", "late_fee": "VARCHAR",
           "types": [{"insurance_type": "VARCHAR", "base": "VARCHAR", "employer": "VARCHAR", "employee": "VARCHAR"}]}]'))
        AS m
    FROM f
),
types AS (
    SELECT region, entity, employee_id, d ->> '$.name' AS name, id_number, m.month,
           CAST(round(CAST(m.late_fee AS DECIMAL(14, 2)) * 100) AS HUGEINT) AS month_fee_cents,
           unnest(m.types) AS t
    FROM months
),
amounts AS (
    SELECT * EXCLUDE (t), t.insurance_type, CAST(t.base AS DECIMAL(14, 2)) AS base,
           CAST(t.employer AS DECIMAL(14, 2)) AS employer, CAST(t.employee AS DECIMAL(14, 2)) AS employee,
           CAST(round((CAST(t.employer AS DECIMAL(14, 2)) + CAST(t.employee AS DECIMAL(14, 2))) * 100) AS HUGEINT)
               AS type_cents
    FROM types
),
shares AS (   -- exact integer arithmetic in cents: each type's share (truncated) and its remainder
    SELECT *, sum(type_cents) OVER m AS month_cents,
           CASE WHEN sum(type_cents) OVER m = 0 THEN 0
                ELSE (month_fee_cents * type_cents) // sum(type_cents) OVER m END AS floor_cents,
           CASE WHEN sum(type_cents) OVER m = 0 THEN 0
                ELSE (month_fee_cents * type_cents) % sum(type_cents) OVER m END AS remainder
    FROM amounts
    WINDOW m AS (PARTITION BY entity, employee_id, month)
),
ranked AS (
    SELECT *, month_fee_cents - sum(floor_cents) OVER m AS leftover,
           row_number() OVER (PARTITION BY entity, employee_id, month ORDER BY abs(remainder) DESC, insurance_type) AS r,
           count(*) OVER m AS n
    FROM shares
    WINDOW m AS (PARTITION BY entity, employee_id, month)
)
SELECT region, entity, employee_id, name, id_number, replace(month, '-', '') AS month, insurance_type, base,
       employer, employee,
       CAST((floor_cents + CASE WHEN r <= abs(leftover) THEN sign(leftover) ELSE 0 END
             -- a leftover beyond one cent per type (amounts of mixed signs) goes to the first type: the sum holds
             + CASE WHEN r = 1 THEN leftover - sign(leftover) * least(abs(leftover), n) ELSE 0 END) AS DECIMAL(18, 0))
           / 100 AS late_fee,
       strftime(last_day(CAST($period || '-01' AS DATE)), '%Y-%m-%d') AS fee_until
FROM ranked
ORDER BY region, entity, employee_id, month, insurance_type
