-- SPEC §4.3 C: day `hire_cutoff_day` (default 15) of month p; a cutoff beyond the month's length is its
-- last day. The ledger's month fraction and the explanation of 未入账人员 both read it.
CREATE OR REPLACE MACRO ref.hire_cutoff(cutoff_day, p) AS
    least(CAST(p || '-01' AS DATE) + INTERVAL (coalesce(cutoff_day, 15) - 1) DAY,
          last_day(CAST(p || '-01' AS DATE)))::DATE;
