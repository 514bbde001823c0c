-- The province of every region name the pipeline knows: the region table's, then (where the
-- administrative-division table has it) every other prefecture-level city. Provincial pooling (SPEC §5
-- TRANSFER_NEEDED) and the interim-account rule (§6) compare provinces through this one view.
CREATE OR REPLACE VIEW ref.region_province AS
SELECT region, province FROM ref.regions;
