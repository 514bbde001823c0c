-- SPEC §5 "ours": the entities seen in payroll up to month p (an insurance record or a bill row is ours when its
-- employer is one). Read from the keys of the current payroll loads: a load's keys are the keys of its staged
-- rows (ingest.staged_keys), so these are the entities core.payroll has rows of up to p, without reading the
-- payroll history (2.6 million rows at 200,000 employees, once for each check that asks; issue 28).
CREATE OR REPLACE MACRO quality.our_entities(p) AS TABLE
WITH current_payroll_loads AS (
    SELECT period, entity FROM ingest.current_loads WHERE kind = 'payroll'
),
our_entities AS (
    SELECT DISTINCT entity FROM current_payroll_loads WHERE period <= p
)
SELECT * FROM our_entities;
