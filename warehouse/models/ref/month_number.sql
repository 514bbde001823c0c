-- A month YYYY-MM as a running month count (year * 12 + month - 1), so that "12 or more months before P"
-- and month ranges are plain integer arithmetic in every rule that needs them.
CREATE OR REPLACE MACRO ref.month_number(p) AS
    CAST(left(p, 4) AS INTEGER) * 12 + CAST(substr(p, 6, 2) AS INTEGER) - 1;
