-- SPEC §3/§4.6 a region's rounding of an exact amount: 'cent_half_up' (the default) half-up to 0.01,
-- 'jiao_up' up to the next 0.10 (as Shanghai does). The ledger's cells and POLICY_CONFLICTS_BILL's expected
-- amounts both round through it.
CREATE OR REPLACE MACRO ref.round_amount(exact, rounding) AS
CASE rounding
    WHEN 'jiao_up' THEN CAST(ceil(exact * 10) AS DECIMAL(20, 0)) * CAST(0.1 AS DECIMAL(2, 1))
    ELSE round(exact, 2)
END;
