-- SPEC §5 RETIREMENT_DUE: the statutory retirement of someone born in birth_month ('YYYY-MM'), male or not,
-- of position_category ('cadre' 干部/管理/技术, 'worker' 工人, NULL not given) — a pure function, the one
-- statement of the rule (the check and the HR report read it from here or from the check's details).
-- Source: 全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定 (2024-09-13), in force 2025-01-01, and
-- its 附件《国务院关于渐进式延迟法定退休年龄的办法》 with the tables 附件1–3:
--   men 60, born 1965-01 or later one month more per 4 months of birth, at most 63 (table ends 1976-09..12);
--   women cadres 55, born 1970-01 or later one month more per 4 months, at most 58 (table ends 1981-09..12);
--   women workers 50, born 1975-01 or later one month more per 2 months, at most 55 (table ends 1984-11..12).
--   A woman whose category is not given is judged at 50 (basis_assumed: SPEC §5).
-- Retirement month = birth month + that age. Minimum contribution (办法 第三条): 15 years until 2029; from
-- 2030-01-01 six months more each year, 20 years from 2039 — by the year the person reaches the age.
CREATE OR REPLACE MACRO ref.statutory_retirement(birth_month, male, position_category) AS (
WITH
person AS (
    SELECT ref.month_number(birth_month) AS born,
           CASE WHEN male THEN 'male' WHEN position_category = 'cadre' THEN 'female_55' ELSE 'female_50' END AS basis,
           NOT coalesce(male, false) AND position_category IS NULL AS basis_assumed
),
rule AS (   -- original age, the first birth month that retires later, birth months per added month, the cap
    SELECT p.*,
           CASE basis WHEN 'male' THEN 60 * 12 WHEN 'female_55' THEN 55 * 12 ELSE 50 * 12 END AS original_months,
           CASE basis WHEN 'male' THEN ref.month_number('1965-01') WHEN 'female_55' THEN ref.month_number('1970-01')
                ELSE ref.month_number('1975-01') END AS first_born,
           CASE basis WHEN 'female_50' THEN 2 ELSE 4 END AS birth_months_per_step,
           CASE basis WHEN 'female_50' THEN 60 ELSE 36 END AS max_added_months
    FROM person p
),
age AS (
    SELECT *, original_months + CASE WHEN born < first_born THEN 0
                                     ELSE least((born - first_born) // birth_months_per_step + 1, max_added_months)
                                END AS age_months
    FROM rule
),
retirement AS (
    SELECT *, born + age_months AS retirement_no FROM age
)
SELECT CASE WHEN born IS NOT NULL AND male IS NOT NULL THEN struct_pack(
           retirement_month := printf('%04d-%02d', retirement_no // 12, retirement_no % 12 + 1),
           retirement_age := printf('%dy%dm', age_months // 12, age_months % 12),
           age_months := age_months,
           basis := basis,
           basis_assumed := basis_assumed,
           min_contribution_months := 180 + 6 * least(greatest(retirement_no // 12 - 2029, 0), 10)
       ) END
FROM retirement
);
