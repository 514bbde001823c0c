-- SPEC §5 "covers P": start_month <= P and (no end_month or end_month >= P). Months are YYYY-MM text, which
-- sorts as time.
CREATE OR REPLACE MACRO quality.covers(start_month, end_month, p) AS
    start_month <= p AND (end_month IS NULL OR end_month >= p);
