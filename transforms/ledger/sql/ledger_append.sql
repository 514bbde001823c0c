-- SPEC §4.7 append-only: add the rows that make every cell of $period net to ledger_cells (ledger.cells($period),
-- materialised once by transforms/ledger/book.py).
-- A cell never booked gets an 'original' row; a changed or vanished cell an 'adjustment' of the difference.
INSERT INTO ledger.contributions (period, entity, employee_id, id_number, name, region, insurance_type, base,
                                  month_fraction, employer_rate, employee_rate, employer_amount, employee_amount,
                                  entry_type, run_id, created_at, policy_verified)
WITH booked AS (SELECT * FROM ledger.booked_cells($period)),
diff AS (
    SELECT coalesce(c.period, b.period) AS period, coalesce(c.entity, b.entity) AS entity,
           coalesce(c.employee_id, b.employee_id) AS employee_id,
           coalesce(c.id_number, b.id_number) AS id_number, coalesce(c.name, b.name) AS name,
           coalesce(c.region, b.region) AS region,
           coalesce(c.insurance_type, b.insurance_type) AS insurance_type,
           coalesce(c.base, 0) - coalesce(b.base, 0) AS base,
           coalesce(c.month_fraction, 0) - coalesce(b.month_fraction, 0) AS month_fraction,
           coalesce(c.employer_rate, b.employer_rate) AS employer_rate,
           coalesce(c.employee_rate, b.employee_rate) AS employee_rate,
           coalesce(c.employer_amount, 0) - coalesce(b.employer_amount, 0) AS employer_amount,
           coalesce(c.employee_amount, 0) - coalesce(b.employee_amount, 0) AS employee_amount,
           coalesce(c.policy_verified, b.policy_verified) AS policy_verified,
           CASE WHEN b.entity IS NULL THEN 'original' ELSE 'adjustment' END AS entry_type,
           c.entity IS NOT NULL AND b.entity IS NOT NULL
               AND ((c.id_number, c.name, c.region, c.employer_rate, c.employee_rate)
                        IS DISTINCT FROM (b.id_number, b.name, b.region, b.employer_rate, b.employee_rate)
                    -- a changed mark is news to finance; a cell booked before the mark was recorded (NULL) is not
                    OR (b.policy_verified IS NOT NULL AND c.policy_verified IS DISTINCT FROM b.policy_verified))
               AS attributes_changed
    FROM ledger_cells c
    FULL OUTER JOIN booked b
      ON b.entity = c.entity AND b.employee_id = c.employee_id AND b.insurance_type = c.insurance_type
)
SELECT period, entity, employee_id, id_number, name, region, insurance_type, base, month_fraction,
       employer_rate, employee_rate, employer_amount, employee_amount, entry_type,
       $run_id AS run_id, $created_at AS created_at, policy_verified
FROM diff
WHERE NOT ledger.nets_to_nothing(month_fraction, base, employer_amount, employee_amount)  -- a difference: a row
   -- same amounts but a corrected name/ID/region or a rate change that rounds to the same cents: a zero
   -- adjustment carries the current values, which ledger.current_contributions takes from the latest run
   OR attributes_changed;
