-- SPEC §5 HIRED_NOT_ENROLLED's exception, a mistyped ID: someone of P's ledger population whose payroll
-- id_number is invalid (quality.id_number_problem, the rule of INVALID_ID_NUMBER) while an active pension
-- record covering P of the entity in R carries the same name and a valid id_number. That person is insured
-- (under the real number): HIRED_NOT_ENROLLED leaves them out, and INVALID_ID_NUMBER names the record's
-- number (insured_as, masked there) so that FIX_ID_NUMBER says which number to correct to.
CREATE OR REPLACE MACRO quality.insured_as(p) AS TABLE
WITH population AS (
    SELECT entity, employee_id, id_number, name, region FROM ledger.population(p)
),
pension AS (
    SELECT id_number, name, region, employer
    FROM quality.insurance_snapshot(p)
    WHERE insurance_type = 'pension' AND active_covering
),
mistyped AS (
    SELECT * FROM population WHERE quality.id_number_problem(id_number, p) IS NOT NULL
),
insured_as AS (
    -- of two such records (rare), the lowest number: either shows the person is insured
    SELECT m.entity, m.employee_id, min(i.id_number) AS insured_as
    FROM mistyped m
    JOIN pension i ON i.employer = m.entity AND i.region = m.region AND i.name = m.name
    WHERE quality.id_number_problem(i.id_number, p) IS NULL
    GROUP BY m.entity, m.employee_id
)
SELECT * FROM insured_as;
