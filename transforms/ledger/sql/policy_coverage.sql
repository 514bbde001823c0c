-- `shebao policy check`: for each required region (SPEC §3) and each month $first..$last, whether a pension
-- row is in force and how it is verified (with hukou rows, the least verified of them), and each region's
-- count of `assumed` rows (any type, any period).
WITH months AS (
    SELECT strftime(m, '%Y-%m') AS month
    FROM range(CAST($first || '-01' AS DATE), CAST($last || '-01' AS DATE) + INTERVAL 1 MONTH, INTERVAL 1 MONTH) t(m)
),
required AS (
    SELECT unnest(CAST($regions AS VARCHAR[])) AS region
),
pension AS (
    SELECT region, effective_from, effective_to, verified FROM ref.policy WHERE insurance_type = 'pension'
),
cells AS (
    SELECT r.region, m.month, count(p.region) > 0 AS covered,
           count(p.region) > 0 AND bool_and(p.verified IN ('official', 'secondary')) AS sourced
    FROM required r
    CROSS JOIN months m
    LEFT JOIN pension p
      ON p.region = r.region AND p.effective_from <= m.month AND (p.effective_to IS NULL OR p.effective_to >= m.month)
    GROUP BY r.region, m.month
),
assumed AS (
    SELECT region, count(*) AS assumed_rows FROM ref.policy WHERE verified = 'assumed' GROUP BY region
),
coverage AS (
    SELECT c.region,
           list(c.month ORDER BY c.month) FILTER (WHERE NOT c.covered) AS missing_months,
           count(*) FILTER (WHERE c.sourced) AS sourced_months,
           count(*) AS months,
           coalesce(any_value(a.assumed_rows), 0) AS assumed_rows
    FROM cells c
    LEFT JOIN assumed a ON a.region = c.region
    GROUP BY c.region
)
SELECT * FROM coverage
ORDER BY list_position(CAST($regions AS VARCHAR[]), region)
