-- The province of every region name the pipeline knows: the region table's, then every other
-- prefecture-level city of the administrative-division table (ref.cities). Provincial pooling (SPEC §5
-- TRANSFER_NEEDED) and the interim-account rule (§6) compare provinces through this one view.
CREATE OR REPLACE VIEW ref.region_province AS
SELECT region, province FROM ref.regions
UNION ALL
SELECT c.city, c.province FROM ref.cities c
WHERE c.city NOT IN (SELECT region FROM ref.regions);
