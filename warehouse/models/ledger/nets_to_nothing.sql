-- SPEC §4.7: a cell of the append-only ledger whose rows sum to zero in base, month fraction and both
-- amounts nets to nothing (a person a correction removed): finance does not book it, and nothing is owed
-- for it. Given the sums, so that a caller can net only the rows it needs (HIRED_NOT_ENROLLED's arrears
-- sum a few people's rows, not the whole ledger) and still apply the same rule as ledger.net_contributions.
CREATE OR REPLACE MACRO ledger.nets_to_nothing(month_fraction, base, employer_amount, employee_amount) AS
    month_fraction = 0 AND base = 0 AND employer_amount = 0 AND employee_amount = 0;
